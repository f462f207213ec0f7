use super::csv::{COLUMNS, quote};
use super::*;
use crate::cache::CacheState;
use crate::report::Output as _;
use crate::results::{RoundTimes, SideBySide};

/// The fixture run, every step given a NumPy peer that agrees and whose phases each took
/// ten times as long, with the same memory figures.
fn with_peers() -> Results {
    let mut run: Results =
        serde_json::from_str(include_str!("../../../tests/data/small-results.json")).unwrap();
    for step in &mut run.steps {
        let mut snapshots = step.snapshots.clone();
        for s in &mut snapshots {
            s.elapsed_ns *= 10;
        }
        step.peer = Some(PeerResult {
            python_version: "3.11.7".to_owned(),
            numpy_version: "2.4.6".to_owned(),
            call: format!("np.memmap('X_train.npy', dtype='float64', mode='r')  # {}", step.id),
            status: step.status,
            shape: step.shape.clone(),
            dtype: step.dtype,
            first_values: step.first_values.clone(),
            getsizeof_bytes: Some(192),
            snapshots,
            import_ns: Some(90_000_000),
            agrees: true,
            ..PeerResult::default()
        });
    }
    // The fixture's rounds are real NumPy times; these tests use the made-up peers alone.
    run.side_by_side = None;
    run
}

/// The index of the fixture's first step that `is`, described as `what`.
fn step_where(run: &Results, what: &str, is: impl Fn(&StepResult) -> bool) -> usize {
    run.steps.iter().position(is).unwrap_or_else(|| panic!("the fixture has {what}"))
}

#[test]
fn figures_are_phase_differences() {
    let run = with_peers();
    let step = run.step("npy_load_mmap", CacheState::Warm).unwrap();
    let f = Figures::of(&step.snapshots, step.object_bytes);
    let at = |p: Phase| step.snapshot(p).unwrap();
    assert_eq!(f.open, Some(at(Phase::AfterOpen).elapsed_ns - at(Phase::BeforeOpen).elapsed_ns));
    assert_eq!(f.open_first.unwrap(), f.open.unwrap() + f.first.unwrap());
    assert_eq!(f.rss_after, Some(at(Phase::AfterAccess).rss_bytes));
    assert_eq!(
        f.minor_faults,
        Some(at(Phase::AfterAccess).minor_faults - at(Phase::BeforeOpen).minor_faults)
    );
}

#[test]
fn agreeing_peers_show_side_by_side_with_ratios() {
    let run = with_peers();
    let md = markdown(&run);
    assert!(md.contains(&format!("All {} steps with a NumPy peer agree", run.steps.len())), "{md}");
    assert!(md.contains("Python 3.11.7, NumPy 2.4.6"));
    let rows = md.lines().filter(|l| l.starts_with("| `")).count();
    assert_eq!(rows, run.steps.len());
    // Every phase of the peer took ten times as long: the ratios say so.
    let row = md.lines().find(|l| l.starts_with("| `npy_load_mmap` | warm")).unwrap();
    assert!(row.contains("(10×)"), "{row}");
    assert!(row.contains("192 B"), "{row}");
    assert!(md.contains("Rust 10× faster"), "the headline compares the tutorial's first step: {md}");
    assert!(!md.contains("DISAGREES"));
}

#[test]
fn a_disagreement_stands_out() {
    let mut run = with_peers();
    let peer = run.steps[2].peer.as_mut().unwrap();
    peer.agrees = false;
    peer.disagreements = vec!["dtype: Rust <f8, NumPy |u1".to_owned()];
    let key = run.steps[2].key();
    let md = markdown(&run);
    assert!(md.contains("NumPy DISAGREES with 1 of"), "{md}");
    assert!(md.contains(&format!("`{key}`")) && md.contains("dtype: Rust <f8, NumPy |u1"), "{md}");
    assert!(md.contains("**NO**"));
}

#[test]
fn without_peers_the_section_says_how_to_get_them() {
    let mut run: Results =
        serde_json::from_str(include_str!("../../../tests/data/small-results.json")).unwrap();
    for step in &mut run.steps {
        step.peer = None;
    }
    let md = markdown(&run);
    assert!(md.contains("No step ran with a NumPy peer") && md.contains("just venv"), "{md}");
    let csv = String::from_utf8(PeersCsv.render(&[run]).unwrap()).unwrap();
    assert_eq!(csv.lines().count(), 1, "only the header");
}

#[test]
fn csv_has_one_row_per_peer_and_quotes_what_needs_it() {
    let run = with_peers();
    let csv = String::from_utf8(PeersCsv.render(std::slice::from_ref(&run)).unwrap()).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), run.steps.len() + 1);
    assert_eq!(lines[0].split(',').count(), COLUMNS.len());
    // The call holds commas: quoted, so the row still has as many fields as the header.
    assert!(lines[1].contains("\"np.memmap('X_train.npy', dtype='float64', mode='r')"), "{}", lines[1]);
    assert_eq!(quote("a,\"b\""), "\"a,\"\"b\"\"\"");
    assert_eq!(quote("plain"), "plain");
}

#[test]
fn getsizeof_missing_a_loaded_arrays_data_is_pointed_out() {
    let mut run = with_peers();
    let load = run.steps.iter_mut().find(|s| s.open == "load").unwrap();
    let peer = load.peer.as_mut().unwrap();
    peer.getsizeof_bytes = Some(160);
    peer.bytes_touched = Some(23_040);
    let md = markdown(&run);
    assert!(md.contains("`sys.getsizeof` of") && md.contains("is 160 B"), "{md}");
}

#[test]
fn rounds_give_medians_and_the_goals_verdicts() {
    let mut run = with_peers();
    let times = |open_first: u64, pass: u64| RoundTimes {
        open_first_ns: Some(open_first),
        pass_ns: Some(pass),
        open_ns: None,
        reported_bytes: None,
    };
    // Open + first, NumPy ÷ Rust per round: 16.7, 30, 50 (median 30). Pass: 0.9, 0.9, 1.25.
    run.side_by_side = Some(SideBySide {
        step: "npy_load_mmap/warm".to_owned(),
        rust: vec![times(90_000, 40_000_000), times(50_000, 40_000_000), times(40_000, 40_000_000)],
        numpy: vec![times(1_500_000, 36_000_000), times(1_500_000, 36_000_000), times(2_000_000, 50_000_000)],
    });
    let md = markdown(&run);
    assert!(md.contains("`npy_load_mmap/warm` run 3 times"), "{md}");
    assert!(md.contains("Rust `load_mmap` 50.0 µs (40.0 µs–90.0 µs)"), "{md}");
    assert!(md.contains("open plus first element at least 20× faster: **met** (30× ± 13.33×)"), "{md}");
    assert!(md.contains("full pass at least as fast: **not met** (0.90× ± 0.00×)"), "{md}");
    assert!(md.contains("Rust 1.11× slower"), "the medians of each side: 40 ms and 36 ms: {md}");
    // Within a percent or two, both ways: as fast within the rounds' spread.
    let side = run.side_by_side.as_mut().unwrap();
    side.numpy =
        vec![times(1_500_000, 39_200_000), times(1_500_000, 41_200_000), times(2_000_000, 39_600_000)];
    let md = markdown(&run);
    assert!(
        md.contains("full pass at least as fast: **met within the rounds' spread** (0.99× ± 0.01×"),
        "{md}"
    );
    // With one round, the single-run headline is all there is.
    run.side_by_side.as_mut().unwrap().rust.truncate(1);
    assert!(!markdown(&run).contains("run 1 times"));
}

#[test]
fn cold_shares_above_the_sequential_read_are_explained() {
    let mut run = with_peers();
    let cold = step_where(&run, "a cold full pass", |s| {
        s.cache == CacheState::Cold && s.access == "full_pass" && s.open == "load_mmap"
    });
    let bytes = run.steps[cold].bytes_touched.unwrap();
    // The fixture's other cold steps are judged on this step alone.
    for (i, step) in run.steps.iter_mut().enumerate() {
        if step.cache == CacheState::Cold && i != cold {
            step.peer = None;
        }
    }
    let times = |pass: u64| RoundTimes {
        open_first_ns: Some(1_000),
        pass_ns: Some(pass),
        open_ns: Some(500),
        reported_bytes: None,
    };
    let round = |rust_first, rust, numpy| crate::results::PairedRound {
        rust_first,
        rust: times(rust),
        numpy: times(numpy),
        agrees: true,
    };
    let read = [crate::cache::SequentialRead { ns: 1_000_000, bytes }];
    let with = |run: &mut Results, rust: u64, numpy: u64| {
        run.steps[cold].rounds = vec![round(true, rust, numpy), round(false, rust, numpy)];
        run.limits =
            crate::report::limits::measure(&run.steps, Some(std::path::Path::new("X_train.npy")), &read);
        let mut md = String::new();
        paired::paired_section(&mut md, run);
        md
    };
    // Both sides slower than the read: nothing to explain.
    let md = with(&mut run, 2_000_000, 1_500_000);
    assert!(!md.contains("faster than that sequential read"), "{md}");
    // Twice as fast as the read, and NumPy's side at the read's own speed: one side above.
    let md = with(&mut run, 500_000, 1_000_000);
    assert!(md.contains("1 cold pass side ran faster than that sequential read (up to 200% of it;"), "{md}");
    // A mapping populated at open reads memory in its pass: not counted.
    run.steps[cold].open = "load_mmap(populate)".to_owned();
    let md = with(&mut run, 500_000, 1_000_000);
    assert!(!md.contains("faster than that sequential read"), "{md}");
}

#[test]
fn a_load_whose_opens_swing_over_the_rounds_says_so_and_a_steady_one_does_not() {
    let mut run = with_peers();
    let load = step_where(&run, "a load step", |s| s.open == "load" && s.peer.is_some());
    for (i, step) in run.steps.iter_mut().enumerate() {
        if i != load {
            step.peer = None;
        }
    }
    let times = |open: u64| RoundTimes {
        open_first_ns: Some(open + 10),
        pass_ns: Some(1_000),
        open_ns: Some(open),
        reported_bytes: None,
    };
    let with = |run: &mut Results, rust: [u64; 2], numpy: [u64; 2]| {
        run.steps[load].rounds = (0..2)
            .map(|i| crate::results::PairedRound {
                rust_first: i == 0,
                rust: times(rust[i]),
                numpy: times(numpy[i]),
                agrees: true,
            })
            .collect();
        let mut md = String::new();
        paired::paired_section(&mut md, run);
        md
    };
    // Rust's opens 4x apart: the row names both sides' ranges.
    let md = with(&mut run, [1_000_000_000, 4_000_000_000], [900_000_000, 1_000_000_000]);
    assert!(md.contains("opens over the rounds: Rust 1.00 s-4.00 s, NumPy 900.0 ms-1.00 s"), "{md}");
    // Steady opens: nothing said.
    let md = with(&mut run, [1_000_000_000, 1_200_000_000], [900_000_000, 1_000_000_000]);
    assert!(!md.contains("opens over the rounds"), "{md}");
}

#[test]
fn a_step_behind_names_the_memory_the_host_took_back_during_each_side() {
    let mut run = with_peers();
    let cold = step_where(&run, "a cold mapped step", |s| {
        s.cache == crate::cache::CacheState::Cold && s.open != "load" && s.peer.is_some()
    });
    for (i, step) in run.steps.iter_mut().enumerate() {
        if i != cold {
            step.peer = None;
        }
    }
    let times = |pass: u64, reported: Option<u64>| RoundTimes {
        open_first_ns: Some(10),
        pass_ns: Some(pass),
        open_ns: Some(5),
        reported_bytes: reported,
    };
    let with = |run: &mut Results, rust: [(u64, Option<u64>); 2], numpy: [(u64, Option<u64>); 2]| {
        run.steps[cold].rounds = (0..2)
            .map(|i| crate::results::PairedRound {
                rust_first: i == 0,
                rust: times(rust[i].0, rust[i].1),
                numpy: times(numpy[i].0, numpy[i].1),
                agrees: true,
            })
            .collect();
        let mut md = String::new();
        paired::paired_section(&mut md, run);
        md
    };
    let mib = 1u64 << 20;
    // Rust twice as slow, and a pass handed 800 MiB back during one of its sides.
    let md = with(
        &mut run,
        [(2_000_000_000, Some(800 * mib)), (2_000_000_000, Some(0))],
        [(1_000_000_000, Some(0)), (1_000_000_000, Some(0))],
    );
    assert!(
        md.contains("handed back to the host while the sides ran (free page reporting): 800.00 MiB in Rust's, 0 B in NumPy's"),
        "{md}"
    );
    assert!(
        md.contains("in the round where no pass came during either side, Rust ÷ NumPy was 0.50×"),
        "{md}"
    );
    // The pass fell on the round where Rust was slowest: the round without one is told apart.
    let md = with(
        &mut run,
        [(3_000_000_000, Some(600 * mib)), (1_250_000_000, Some(0))],
        [(1_000_000_000, Some(0)), (1_000_000_000, Some(0))],
    );
    assert!(md.contains("600.00 MiB in Rust's"), "{md}");
    assert!(
        md.contains("in the round where no pass came during either side, Rust ÷ NumPy was 0.80×"),
        "{md}"
    );
    // Passes in every round: no round to tell them apart by.
    let md = with(
        &mut run,
        [(2_000_000_000, Some(800 * mib)), (2_000_000_000, Some(0))],
        [(1_000_000_000, Some(0)), (1_000_000_000, Some(100 * mib))],
    );
    assert!(md.contains("800.00 MiB in Rust's, 100.00 MiB in NumPy's"), "{md}");
    assert!(!md.contains("no pass came"), "{md}");
    // No pass during any side, or a kernel that does not count: nothing said.
    let md = with(
        &mut run,
        [(2_000_000_000, Some(0)), (2_000_000_000, Some(0))],
        [(1_000_000_000, Some(0)), (1_000_000_000, Some(0))],
    );
    assert!(!md.contains("handed back to the host"), "{md}");
    let md = with(&mut run, [(2_000_000_000, None); 2], [(1_000_000_000, None); 2]);
    assert!(!md.contains("handed back to the host"), "{md}");
}

#[test]
fn a_warm_pass_under_the_goal_blames_small_folios_only_for_its_own_faults() {
    let run = with_peers();
    let mut step = run.step("npy_load_mmap", CacheState::Warm).unwrap().clone();
    step.bytes_touched = Some(8 << 20);
    step.elements_read = Some(1 << 20);
    let share =
        Some(crate::report::limits::Share { rust: Some(0.5), numpy: Some(0.4), ..Default::default() });
    let set = |step: &mut StepResult, open: u64, pass: u64| {
        for s in &mut step.snapshots {
            s.minor_faults = match s.phase {
                Phase::BeforeOpen => 100,
                Phase::AfterOpen | Phase::AfterFirst => 100 + open,
                _ => 100 + open + pass,
            };
        }
    };
    // 512 faults in a pass over 8 MiB: one per 16 KiB, small folios.
    set(&mut step, 0, 512);
    let text = paired::below_goal(&step, share, 8);
    assert!(text.contains("512 page faults, one per 16.00 KiB"), "{text}");
    // The same faults taken at open (MAP_POPULATE mapping the whole file): not the pass's.
    set(&mut step, 512, 0);
    let text = paired::below_goal(&step, share, 8);
    assert!(text.starts_with("under the 85% goal") && !text.contains("folios"), "{text}");
    // Four faults for 8 MiB: 2 MiB folios, nothing to blame on them; a pass over part of the
    // array says so.
    set(&mut step, 0, 4);
    let text = paired::below_goal(&step, share, 8);
    assert!(!text.contains("folios"), "{text}");
    assert!(text.ends_with("with 4 page faults; the goal is set for full passes"), "{text}");
    assert!(text.contains("a pass over 8.00 MiB of the"), "{text}");
    // The whole array read: no such clause.
    let array = step.shape.as_ref().unwrap().nbytes(step.dtype.unwrap());
    step.bytes_touched = Some(array);
    step.elements_read = Some(array / 8);
    assert!(!paired::below_goal(&step, share, 8).contains("full passes"));
}

#[test]
fn a_full_pass_under_the_goal_within_the_spread_is_not_called_short() {
    let run = with_peers();
    let mut step = run.step("npy_load_mmap", CacheState::Warm).unwrap().clone();
    let array = step.shape.as_ref().unwrap().nbytes(step.dtype.unwrap());
    (step.bytes_touched, step.elements_read) = (Some(array), Some(array / 8));
    // One fault in the pass: 2 MiB folios or larger, nothing to blame on them.
    for s in &mut step.snapshots {
        s.minor_faults = if s.phase == Phase::AfterAccess { 101 } else { 100 };
    }
    let share = |rust, spread| {
        Some(crate::report::limits::Share { rust: Some(rust), rust_spread: spread, ..Default::default() })
    };
    let text = paired::below_goal(&step, share(0.82, Some(0.04)), 8);
    assert!(
        text.starts_with("Rust at 82% ± 4% of the in-memory pass: within the spread of the 85% goal"),
        "{text}"
    );
    for short in [share(0.82, Some(0.02)), share(0.82, None)] {
        let text = paired::below_goal(&step, short, 8);
        assert!(text.starts_with("under the 85% goal, Rust at 82%") && !text.contains("spread"), "{text}");
    }
    assert_eq!(paired::below_goal(&step, share(0.9, Some(0.0)), 8), "", "at the goal: nothing to say");
    assert_eq!(paired::below_goal(&step, share(0.846, None), 8), "", "shown as 85%: at the goal");
}

#[test]
fn a_warm_pass_behind_numpy_says_when_both_read_the_same_pages_within_the_limits_spread() {
    let run = with_peers();
    let mut step = run.step("npy_load_mmap", CacheState::Warm).unwrap().clone();
    let faults = |snaps: &mut [Snapshot], pass: u64| {
        for s in snaps {
            s.minor_faults = if s.phase == Phase::BeforeOpen { 100 } else { 100 + pass };
        }
    };
    faults(&mut step.snapshots, 661);
    faults(&mut step.peer.as_mut().unwrap().snapshots, 667);
    assert_eq!(
        paired::same_pass(&step),
        "the same pass through the same page cache (661 and 667 page faults): "
    );
    // Twice the faults on one side: not the same pass.
    faults(&mut step.peer.as_mut().unwrap().snapshots, 1_400);
    assert_eq!(paired::same_pass(&step), "");
    let bytes = step.bytes_touched.unwrap();
    let limits = |spread_ns| crate::results::Limits {
        in_memory_step: Some("npy_load/warm".to_owned()),
        in_memory_pass_ns: Some(1_000),
        in_memory_bytes: Some(bytes),
        in_memory_spans: vec![crate::results::SpanLimit { bytes, pass_ns: 1_000, spread_ns, passes: 10 }],
        cold_read_file: None,
        cold_read_ns: None,
        cold_reads_ns: Vec::new(),
        cold_read_bytes: None,
    };
    let text = paired::within_limit_spread(&step, 0.95, 0.98, Some(&limits(59)));
    assert_eq!(text, ", 3 points apart, within the in-memory passes' own spread (± 5.9%)");
    assert_eq!(paired::within_limit_spread(&step, 0.90, 0.98, Some(&limits(59))), "", "8 points: beyond it");
    assert_eq!(paired::within_limit_spread(&step, 0.95, 0.98, Some(&limits(0))), "", "no spread recorded");
    faults(&mut step.peer.as_mut().unwrap().snapshots, 667);
    step.cache = CacheState::Cold;
    assert_eq!(paired::within_limit_spread(&step, 0.95, 0.98, Some(&limits(59))), "", "cold: another limit");
    assert_eq!(paired::same_pass(&step), "", "cold: the disk's work, said by its major faults");
}

#[test]
fn a_cold_pass_behind_numpy_counts_what_each_side_brought_into_the_page_cache() {
    let run = with_peers();
    let mut step = run.step("npy_load_mmap", CacheState::Cold).unwrap().clone();
    let set = |snaps: &mut [Snapshot], brought: u64, majors: u64| {
        let last = snaps.len() - 1;
        for (i, s) in snaps.iter_mut().enumerate() {
            (s.resident_bytes, s.major_faults) = if i == last { (brought, majors) } else { (0, 0) };
        }
    };
    let mib = 1u64 << 20;
    // Read-ahead did the reading: few major faults, the same pages brought in.
    set(&mut step.snapshots, 344 * mib, 0);
    set(&mut step.peer.as_mut().unwrap().snapshots, 344 * mib, 3);
    let text = paired::behind_reading(&step, None, None);
    assert!(
        text.contains("the same system work (344.00 MiB and 344.00 MiB of the file brought into the page cache; 0 and 3 major faults)"),
        "{text}"
    );
    // One side read twice as much: no claim of the same work.
    set(&mut step.peer.as_mut().unwrap().snapshots, 688 * mib, 3);
    let text = paired::behind_reading(&step, None, None);
    assert!(text.contains("0 major faults for Rust, 3 for NumPy") && !text.contains("same"), "{text}");
    // Major faults alike and many: they say it.
    set(&mut step.snapshots, 21 * mib, 5_458);
    set(&mut step.peer.as_mut().unwrap().snapshots, 21 * mib, 5_458);
    let text = paired::behind_reading(&step, None, None);
    assert!(text.contains("the same system work (5,458 and 5,458 major faults)"), "{text}");
}
