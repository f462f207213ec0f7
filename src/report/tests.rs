use super::*;

fn fake_results() -> Results {
    serde_json::from_str(include_str!("../../tests/data/small-results.json")).unwrap()
}

#[test]
fn write_creates_the_report_and_replaces_an_old_one_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports");
    let runs = [fake_results()];
    write(&runs, &out).unwrap();
    assert!(out.join("results.json").exists());
    assert!(out.join("REPORT.md").exists());
    std::fs::write(out.join("stale.txt"), b"old").unwrap();
    write(&runs, &out).unwrap();
    assert!(!out.join("stale.txt").exists(), "the old report is replaced as a whole");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().filter_map(Result::ok).collect();
    assert_eq!(leftovers.len(), 1, "no staging folder is left behind");
}

#[test]
fn a_folder_of_other_files_is_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("thesis.tex"), b"precious").unwrap();
    let err = write(&[fake_results()], dir.path()).unwrap_err();
    assert_eq!(crate::error::exit_code(&err), 2);
    assert!(dir.path().join("thesis.tex").exists());
}

#[test]
fn a_file_as_out_is_refused() {
    let file = tempfile::NamedTempFile::new().unwrap();
    assert!(write(&[fake_results()], file.path()).is_err());
}

fn two_runs() -> [Results; 2] {
    let a = fake_results();
    let mut b = fake_results();
    b.machine.hostname = "ci-xfs".to_owned();
    b.machine.filesystem = Some("xfs".to_owned());
    [a, b]
}

fn rendered(output: &dyn Output, runs: &[Results]) -> String {
    String::from_utf8(output.render(runs).unwrap()).unwrap()
}

#[test]
fn markdown_report_of_one_run() {
    let md = rendered(&markdown::Markdown, &[fake_results()]);
    insta::assert_snapshot!(md);
}

#[test]
fn markdown_report_of_two_runs_side_by_side() {
    let md = rendered(&markdown::Markdown, &two_runs());
    assert!(md.contains("## Runs side by side") && md.contains("## Run 2: ci-xfs"));
    insta::assert_snapshot!(md);
}

#[test]
fn markdown_embeds_every_plot_it_writes_and_names_the_missing_ones() {
    let runs = [fake_results()];
    let md = rendered(&markdown::Markdown, &runs);
    let files: Vec<String> =
        outputs(&runs).iter().map(|o| o.file_name()).filter(|n| n.ends_with(".svg")).collect();
    assert_eq!(files.len(), super::plots::available(&runs).len());
    assert!(files.len() >= 6);
    for file in &files {
        assert!(md.contains(&format!("]({file})")), "{file} is not embedded");
    }
    let mut no_pictures = fake_results();
    for s in &mut no_pictures.steps {
        s.preview = None;
    }
    let md = rendered(&markdown::Markdown, std::slice::from_ref(&no_pictures));
    assert!(!md.contains("](first-sample.svg)"));
    assert!(md.contains("Not measured: no step recorded the data this plot draws."));
}

#[test]
fn csv_of_one_run() {
    let runs = [fake_results()];
    insta::assert_snapshot!("steps_csv", rendered(&self::csv::StepsCsv, &runs));
    insta::assert_snapshot!("snapshots_csv", rendered(&self::csv::SnapshotsCsv, &runs));
}

#[test]
fn csv_rows_and_the_run_column() {
    let one = [fake_results()];
    let steps = rendered(&self::csv::StepsCsv, &one);
    let mut reader = ::csv::Reader::from_reader(steps.as_bytes());
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header[0], "id", "no run column for a single run");
    let rows: Vec<_> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), one[0].steps.len());
    // Per-phase columns are differences of the snapshots.
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let s = &one[0].steps[0];
    let expected = s.snapshots[3].rss_file_bytes as i64 - s.snapshots[2].rss_file_bytes as i64;
    assert_eq!(rows[0][col("rss_file_delta_bytes_access")].parse::<i64>().unwrap(), expected);
    assert_eq!(
        rows[0][col("time_ns_open")].parse::<u64>().unwrap(),
        s.snapshots[1].elapsed_ns - s.snapshots[0].elapsed_ns
    );

    let two = two_runs();
    let snapshots = rendered(&self::csv::SnapshotsCsv, &two);
    let mut reader = ::csv::Reader::from_reader(snapshots.as_bytes());
    assert_eq!(&reader.headers().unwrap()[0], "run");
    let runs: Vec<String> = reader.records().map(|r| r.unwrap()[0].to_owned()).collect();
    let snapshots_per_run: usize = two[0].steps.iter().map(|s| s.snapshots.len()).sum();
    assert_eq!(runs.len(), 2 * snapshots_per_run);
    assert_eq!(runs.iter().filter(|r| *r == "run 2: ci-xfs").count(), snapshots_per_run);
}

#[test]
fn the_report_holds_csv_and_plots_beside_the_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports");
    let written = write(&two_runs(), &out).unwrap();
    let names: Vec<String> =
        written.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    for name in [
        "results-1.json",
        "results-2.json",
        "REPORT.md",
        "steps.csv",
        "snapshots.csv",
        "memory.svg",
        "first-sample.svg",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} missing from {names:?}");
        assert!(out.join(name).exists());
    }
}

#[test]
fn failed_and_missing_steps_are_said_not_measured_never_drawn_empty() {
    let mut run = fake_results();
    run.steps.retain(|s| !(s.id == "npy_load" && s.cache == crate::cache::CacheState::Cold));
    for s in run.steps.iter_mut().filter(|s| s.id == "npy_memmap_float64") {
        s.status = crate::spec::Status::Crashed;
        s.error = Some("killed by SIGBUS".to_owned());
        s.snapshots.truncate(1);
        s.shape = None;
        s.dtype = None;
        s.matches_original = None;
        s.original_at_element = None;
        s.preview = None;
    }
    let runs = [run];
    for output in outputs(&runs) {
        let bytes = output.render(&runs).unwrap();
        assert!(!bytes.is_empty(), "{}", output.file_name());
    }
    let md = rendered(&markdown::Markdown, &runs);
    assert!(md.contains("| not measured |"), "the float64 claim is not measured");
    assert!(md.contains("`npy_memmap_float64/warm`: killed by SIGBUS"));
    let memory = plots::all().into_iter().find(|p| p.file_name() == "memory.svg").unwrap();
    let memory = rendered(&plots::PlotOutput(memory), &runs);
    assert!(memory.contains("not run in this run"), "the missing cold np.load panel says so");
}

#[test]
fn the_np_memmap_steps_run_warm_only_and_the_captions_say_why() {
    use crate::cache::CacheState::Cold;
    let mut run = fake_results();
    run.run.complete = true;
    let warm_only = ["npy_memmap_default", "npy_memmap_float64", "raw_memmap_shape", "npy_memmap_offset"];
    // np.load missing cold (a failed or skipped step) is not a warm-only mapping.
    run.steps.retain(|s| !(s.cache == Cold && (warm_only.contains(&s.id.as_str()) || s.id == "npy_load")));
    let runs = [run];
    assert_eq!(view::warm_only_steps(&runs), warm_only);
    for plot in plots::all()
        .into_iter()
        .filter(|p| ["time.svg", "memory.svg", "residency.svg"].contains(&p.file_name()))
    {
        let caption = plot.caption(&runs);
        assert!(
            caption.contains("`raw_memmap_shape` and `npy_memmap_offset` ran warm only"),
            "{}: {caption}",
            plot.file_name()
        );
        assert!(caption.contains("the read `npy_load_mmap` makes cold"), "{caption}");
    }
    let mut all_cold = fake_results();
    all_cold.run.complete = true;
    assert!(view::warm_only_sentence(&[all_cold]).is_empty());
}

#[test]
fn sharing_steps_are_listed_in_increasing_k_whatever_order_they_ran_in() {
    let mut run = fake_results();
    let ran: Vec<String> = run.steps.iter().filter(|s| s.workers.is_some()).map(|s| s.id.clone()).collect();
    run.steps.reverse();
    let listed: Vec<&str> = view::sharing_steps(&run).iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        listed,
        [
            "sharing_loaded_k1",
            "sharing_loaded_k2",
            "sharing_loaded_k4",
            "sharing_mapped_k1",
            "sharing_mapped_k2",
            "sharing_mapped_k4"
        ],
        "each experiment together (the one that ran first first), K increasing; ran {ran:?}"
    );
    let md = rendered(&markdown::Markdown, std::slice::from_ref(&run));
    let at = |id: &str| md.find(&format!("| `{id}` |")).unwrap();
    assert!(at("sharing_loaded_k1") < at("sharing_loaded_k4"));
}

/// Every warm pass at half the in-memory pass's speed: the row says it is under the goal, and
/// where the numbers explain it (a one-byte dtype sums eight times the elements), says why.
#[test]
fn a_warm_pass_under_the_goal_says_so_and_why_from_its_numbers() {
    use crate::cache::CacheState::Warm;
    use crate::results::{Limits, PairedRound, RoundTimes};
    let with_pass = |per_byte: u64| {
        let mut run = fake_results();
        let bytes = run.dataset.raw_bytes;
        run.limits = Some(Limits {
            in_memory_step: Some("npy_load/warm".to_owned()),
            in_memory_pass_ns: Some(bytes),
            in_memory_bytes: Some(bytes),
            in_memory_spans: Vec::new(),
            cold_read_file: None,
            cold_read_ns: None,
            cold_reads_ns: Vec::new(),
            cold_read_bytes: None,
        });
        for s in run.steps.iter_mut().filter(|s| s.cache == Warm && s.peer.is_some()) {
            let t = RoundTimes {
                open_first_ns: Some(1),
                pass_ns: Some(per_byte * s.bytes_touched.unwrap_or(1)),
                open_ns: Some(1),
                reported_bytes: None,
            };
            let round = |rust_first| PairedRound { rust_first, rust: t, numpy: t, agrees: true };
            s.rounds = vec![round(true), round(false)];
        }
        rendered(&markdown::Markdown, std::slice::from_ref(&run))
    };
    let row = |md: &str, id: &str| {
        md.lines().find(|l| l.starts_with(&format!("| `{id}` | warm | 2, alternating"))).unwrap().to_owned()
    };
    let half = with_pass(2);
    let uint8 = row(&half, "npy_memmap_default");
    assert!(uint8.contains("under the 85% goal, Rust at 50% and NumPy at 50%"), "{uint8}");
    assert!(uint8.contains("it sums 1-byte elements, 8 times as many per byte"), "{uint8}");
    let float64 = row(&half, "npy_memmap_float64");
    assert!(float64.contains("under the 85% goal") && !float64.contains("elements"), "{float64}");
    // At the in-memory pass's speed nothing is said.
    assert!(!with_pass(1).contains("under the 85% goal"));
}

#[test]
fn a_machine_that_pages_out_idle_page_cache_is_said_to_and_one_that_does_not_is_not() {
    let mut run = fake_results();
    let mut md = String::new();
    markdown::machine::section(&mut md, &run, "##");
    assert!(!md.contains("reclaimer that drops page cache"), "results that do not record it");
    run.machine.idle_page_reclaim = Some(crate::machine::NO_RECLAIMER.to_owned());
    let mut md = String::new();
    markdown::machine::section(&mut md, &run, "##");
    assert!(md.contains("| idle page cache paged out | none seen |"));
    assert!(!md.contains("reclaimer that drops page cache"));
    run.machine.idle_page_reclaim = Some("DAMON pageout of pages idle for 60 s or more".to_owned());
    let mut md = String::new();
    markdown::machine::section(&mut md, &run, "##");
    assert!(md.contains("reclaimer that drops page cache nobody has read for a while"));
    assert!(md.contains("(DAMON pageout of pages idle for 60 s or more)"));
}

#[test]
fn a_machine_that_hands_free_memory_to_its_host_says_how_many_sides_met_a_pass() {
    let mut run = fake_results();
    let section = |run: &crate::results::Results| {
        let mut md = String::new();
        markdown::machine::section(&mut md, run, "##");
        md
    };
    assert!(!section(&run).contains("hands free memory back"), "results that do not record it");
    run.machine.free_page_reporting = Some(crate::machine::NO_REPORTING.to_owned());
    let md = section(&run);
    assert!(md.contains("| free memory handed back to the host | none seen |"), "{md}");
    assert!(!md.contains("hands free memory back"));
    run.machine.free_page_reporting = Some("virtio balloon: free blocks handed to the host".to_owned());
    // No side counted: the kernel does not count.
    for step in &mut run.steps {
        for round in &mut step.rounds {
            round.rust.reported_bytes = None;
            round.numpy.reported_bytes = None;
        }
    }
    assert!(section(&run).contains("does not count what it reported"));
    // One side of one round met a pass that handed 300 MiB back.
    use crate::results::{PairedRound, RoundTimes};
    let side = |reported| RoundTimes { reported_bytes: Some(reported), ..RoundTimes::default() };
    let round = |rust_first, rust| PairedRound { rust_first, rust: side(rust), numpy: side(0), agrees: true };
    run.steps[0].rounds = vec![round(true, 300 << 20), round(false, 0)];
    let md = section(&run);
    assert!(
        md.contains("1 of 4 sides of the paired rounds met a pass, which handed 300.00 MiB back"),
        "{md}"
    );
}
