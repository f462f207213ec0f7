//! The comparison rules on hand-made measurements (a test double: exact numbers are the
//! point here), the baseline file, and measurements read from a results.json.

use super::*;
use crate::dtype::Dtype;
use crate::machine::Machine;
use crate::shape::Shape;

const MIB: u64 = 1 << 20;

fn machine() -> Machine {
    Machine {
        os: "test".into(),
        kernel: "6".into(),
        cpu: "cpu".into(),
        cores: 2,
        memory_bytes: 1 << 30,
        hostname: String::new(),
        page_size: 4096,
        thp_enabled: None,
        read_ahead_kb: None,
        filesystem: None,
        swap_bytes: 0,
        residency_tool: None,
        idle_page_reclaim: None,
        free_page_reporting: None,
    }
}

fn step(kind: MetricKind) -> MetricName {
    MetricName::step("npy_load_mmap", kind)
}

/// A measurement whose reference pass took `reference` ns and whose open took `open` ns.
fn measurement(rss_after_open: u64, open: u64, reference: u64) -> Measurement {
    Measurement {
        dataset: MeasuredDataset { shape: Shape(vec![64, 120, 120, 3]), dtype: Dtype::F8, seed: 0 },
        how: MeasuredHow {
            cache: "warm".into(),
            memory_runs: 5,
            timing: TimingSource::InProcess,
            timing_repeats: 5,
        },
        machine: machine(),
        metrics: vec![
            Metric::bytes(MetricName::run(MetricKind::NpyHeaderBytes), 128),
            Metric::time(MetricName::run(MetricKind::InMemoryPass), &[(reference, reference)]).unwrap(),
            Metric::text(step(MetricKind::Outcome), "ok float64 (64, 120, 120, 3) original"),
            Metric::bytes(step(MetricKind::RssAfterOpen), rss_after_open),
            Metric::time(step(MetricKind::OpenTime), &[(open, reference)]).unwrap(),
        ],
        notes: Vec::new(),
        unexpected: Vec::new(),
    }
}

fn baseline() -> Baseline {
    Baseline::new(measurement(4096, 20_000, 1_000_000), Tolerances::default(), "test".into())
}

fn verdict(c: &Comparison, name: &MetricName) -> Verdict {
    c.rows.iter().find(|r| &r.metric == name).map(|r| r.verdict).unwrap()
}

#[test]
fn metric_names_round_trip_and_unknown_ones_are_refused() {
    for kind in MetricKind::ALL {
        let name = if kind.per_step() { MetricName::step("raw-1_x", kind) } else { MetricName::run(kind) };
        assert_eq!(name.to_string().parse::<MetricName>().unwrap(), name);
    }
    assert!("npy_load_mmap.rss_after_lunch".parse::<MetricName>().is_err());
    assert!("rss_after_open".parse::<MetricName>().is_err(), "a step metric needs its step");
    assert!("x.npy_header_bytes".parse::<MetricName>().is_err(), "a run metric has no step");
}

#[test]
fn median_takes_the_middle_value() {
    assert_eq!(median(&[5, 1, 3]), Some(3));
    assert_eq!(median(&[4, 1, 3, 2]), Some(2), "the mean of 2 and 3, rounded down");
    assert_eq!(median(&[]), None);
}

#[test]
fn a_time_is_its_median_over_the_median_reference() {
    let samples = [(10, 100), (40, 200), (12, 150)];
    let m = Metric::time(step(MetricKind::PassTime), &samples).unwrap();
    assert_eq!(m.value, Value::Time { ns: 12, ratio: 0.08, reference_ns: 150 });
    assert!(Metric::time(step(MetricKind::PassTime), &[]).is_none());
}

#[test]
fn the_same_measurement_holds() {
    let b = baseline();
    let c = compare(&b, &b.measurement, &b.tolerances);
    assert!(c.holds(), "{c:?}");
    assert_eq!(verdict(&c, &MetricName::run(MetricKind::InMemoryPass)), Verdict::Info);
}

#[test]
fn bytes_may_grow_by_their_slack_and_no_more() {
    let b = baseline();
    let slack = b.tolerances.rss_after_open_bytes;
    let at_limit = compare(&b, &measurement(4096 + slack, 20_000, 1_000_000), &b.tolerances);
    assert!(at_limit.holds());
    let over = compare(&b, &measurement(4096 + slack + 1, 20_000, 1_000_000), &b.tolerances);
    assert_eq!(verdict(&over, &step(MetricKind::RssAfterOpen)), Verdict::Regression);
    assert_eq!(over.failures().count(), 1);
    // A populated mapping: the whole file at open.
    let populated = compare(&b, &measurement(21 * MIB, 20_000, 1_000_000), &b.tolerances);
    assert!(!populated.holds());
    // Less is never a regression.
    assert!(compare(&b, &measurement(0, 20_000, 1_000_000), &b.tolerances).holds());
}

#[test]
fn times_scale_with_the_reference_and_ignore_noise_below_the_floor() {
    let b = baseline();
    let open = step(MetricKind::OpenTime);
    // A machine twice as slow: the open and the reference both take twice as long.
    let slow_machine = compare(&b, &measurement(4096, 40_000, 2_000_000), &b.tolerances);
    assert_eq!(verdict(&slow_machine, &open), Verdict::Ok);
    // The same machine, the open four times slower: beyond 3 x expected and the floor.
    let slow_open = compare(&b, &measurement(4096, 80_000, 1_000_000), &b.tolerances);
    assert_eq!(verdict(&slow_open, &open), Verdict::Regression);
    // Three times slower but only 40 µs more: below the 50 µs floor.
    let noise = compare(&b, &measurement(4096, 60_000, 1_000_000), &b.tolerances);
    assert_eq!(verdict(&noise, &open), Verdict::Ok);
    // A faster machine does not hide a regression: half the reference, the same open.
    let hidden = compare(&b, &measurement(4096, 80_000, 500_000), &b.tolerances);
    assert_eq!(verdict(&hidden, &open), Verdict::Regression);
    let row = hidden.rows.iter().find(|r| r.metric == open).unwrap();
    // expected = 0.02 x 500 µs = 10 µs; allowed = max(30 µs, 60 µs).
    assert_eq!(row.allowed, Allowed::MaxNs(60_000));
}

#[test]
fn times_taken_another_way_are_skipped_not_failed() {
    let b = baseline();
    let mut now = measurement(4096, 10_000_000, 1_000_000);
    now.how.timing = TimingSource::ResultsFile;
    let c = compare(&b, &now, &b.tolerances);
    assert_eq!(verdict(&c, &step(MetricKind::OpenTime)), Verdict::Skipped);
    assert!(c.holds());
    assert!(c.notes.iter().any(|n| n.contains("times are not compared")));
}

#[test]
fn a_changed_outcome_or_a_missing_metric_fails_and_a_new_one_does_not() {
    let b = baseline();
    let mut now = b.measurement.clone();
    now.metrics[2] = Metric::text(step(MetricKind::Outcome), "error");
    now.metrics.retain(|m| m.metric.kind != MetricKind::RssAfterOpen);
    now.metrics.push(Metric::bytes(step(MetricKind::ObjectBytes), 64));
    let c = compare(&b, &now, &b.tolerances);
    assert_eq!(verdict(&c, &step(MetricKind::Outcome)), Verdict::Regression);
    assert_eq!(verdict(&c, &step(MetricKind::RssAfterOpen)), Verdict::Missing);
    assert_eq!(verdict(&c, &step(MetricKind::ObjectBytes)), Verdict::New);
    let failing: Vec<String> = c.failures().map(|r| r.metric.to_string()).collect();
    assert_eq!(failing, ["npy_load_mmap.outcome", "npy_load_mmap.rss_after_open"]);
    let text = table(&c, &b, "b.json", &now, &b.tolerances);
    assert!(text.contains("REGRESSION") && text.contains("MISSING"), "{text}");
    assert!(summary(&c).contains("Failing: npy_load_mmap.outcome, npy_load_mmap.rss_after_open"));
}

#[test]
fn a_baseline_survives_a_round_trip_through_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.json");
    let b = baseline();
    b.write(&path).unwrap();
    assert_eq!(Baseline::read(&path).unwrap(), b);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"baseline_version\": 1") && text.contains("\"npy_load_mmap.rss_after_open\""));
    let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, 1, "no temporary file is left behind");
    // The same permissions as any new file (0666 less the umask), not a temporary file's 0600.
    let mode = |p: &std::path::Path| {
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p).unwrap().permissions())
    };
    let plain = dir.path().join("plain");
    std::fs::write(&plain, b"").unwrap();
    assert_eq!(mode(&path), mode(&plain));
}

#[test]
fn bad_baselines_are_input_errors_that_say_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.json");
    let missing = Baseline::read(&path).unwrap_err();
    assert_eq!(crate::error::exit_code(&missing), 2);
    assert!(format!("{missing:#}").contains("mmap-lab check --save-baseline"), "{missing:#}");

    let good = serde_json::to_value(baseline()).unwrap();
    let mut cases: Vec<(&str, Vec<u8>)> =
        vec![("EOF while parsing", b"{\"baseline_version\": 1, \"metr".to_vec())];
    let mut newer = good.clone();
    newer["baseline_version"] = 99.into();
    cases.push(("layout version 99", serde_json::to_vec(&newer).unwrap()));
    let mut wrong_form = good.clone();
    wrong_form["metrics"][3] = serde_json::json!({"metric": "npy_load_mmap.rss_after_open", "text": "many"});
    cases.push(("wrong form", serde_json::to_vec(&wrong_form).unwrap()));
    let mut unknown = good.clone();
    unknown["metrics"][3]["metric"] = "npy_load_mmap.rss_at_noon".into();
    cases.push(("unknown metric", serde_json::to_vec(&unknown).unwrap()));
    let mut factor = good;
    factor["tolerances"]["time_factor"] = 0.5.into();
    cases.push(("time_factor", serde_json::to_vec(&factor).unwrap()));
    for (why, bytes) in cases {
        std::fs::write(&path, bytes).unwrap();
        let e = Baseline::read(&path).unwrap_err();
        let message = format!("{e:#}");
        assert_eq!(crate::error::exit_code(&e), 2, "{why}: {message}");
        assert!(message.contains("not a baseline mmap-lab can read"), "{why}: {message}");
        assert!(message.contains(why), "{why}: {message}");
    }
}

#[test]
fn another_shape_or_dtype_is_refused_naming_both() {
    let b = baseline();
    let path = std::path::Path::new("b.json");
    assert!(check_dataset(&b, path, &b.measurement.dataset, "now").is_ok());
    let mut other = b.measurement.dataset.clone();
    other.shape = Shape(vec![32, 120, 120, 3]);
    let e = check_dataset(&b, path, &other, "this check measures").unwrap_err();
    assert_eq!(crate::error::exit_code(&e), 2);
    let message = e.to_string();
    assert!(message.contains("(64, 120, 120, 3)") && message.contains("(32, 120, 120, 3)"), "{message}");
    assert!(message.contains("--shape 64x120x120x3 --dtype f8"), "{message}");
    let mut other = b.measurement.dataset.clone();
    other.dtype = Dtype::F4;
    assert!(check_dataset(&b, path, &other, "now").unwrap_err().to_string().contains("float32"));
}

#[test]
fn results_give_the_warm_mapping_steps_and_times_relative_to_npy_load() {
    let results: crate::results::Results =
        serde_json::from_str(include_str!("../../tests/data/small-results.json")).unwrap();
    let m = from_results(&results, std::path::Path::new("results.json")).unwrap();
    let get = |name: &str| m.metrics.iter().find(|x| x.metric.to_string() == name).map(|x| x.value.clone());
    assert_eq!(get("npy_header_bytes"), Some(Value::Bytes { bytes: 128 }));
    let text = |name: &str| match get(name) {
        Some(Value::Text { text }) => text,
        other => panic!("{name}: {other:?}"),
    };
    let shape = results.dataset.shape.python();
    assert_eq!(text("npy_load_mmap.outcome"), format!("ok float64 {shape} original"));
    assert_eq!(text("raw_memmap_shape.outcome"), format!("ok float64 {shape} original"));
    assert!(text("npy_memmap_float64.outcome").ends_with("original shifted by 16 elements"));
    assert!(text("npy_memmap_default.outcome").starts_with("ok uint8"));
    assert!(get("npy_load.outcome").is_none(), "load does not map: not a mapping step");
    let reference = results.step("npy_load", crate::cache::CacheState::Warm).unwrap();
    let reference_ns = reference.phase_ns(crate::probe::Phase::AfterFirst, crate::probe::Phase::AfterAccess);
    assert_eq!(get("in_memory_pass").and_then(|v| v.time()).map(|t| t.0), reference_ns);
    for id in
        ["npy_load_mmap", "npy_memmap_default", "npy_memmap_float64", "raw_memmap_shape", "npy_memmap_offset"]
    {
        for kind in MetricKind::ALL.into_iter().filter(|k| k.per_step()) {
            let name = MetricName::step(id, kind);
            assert!(m.metrics.iter().any(|x| x.metric == name), "{name} missing");
        }
    }
    assert_eq!(m.how.timing, TimingSource::ResultsFile);
    // Compared with itself saved as a baseline, everything holds.
    let b = Baseline::new(m.clone(), Tolerances::default(), "test".into());
    assert!(compare(&b, &m, &b.tolerances).holds());
}

#[test]
fn the_table_names_each_metric_with_its_baseline_now_allowance_and_verdict() {
    let mut b = baseline();
    b.created_at = "2026-01-01T00:00:00Z".into();
    let now = measurement(21 * MIB, 90_000, 1_000_000);
    let c = compare(&b, &now, &b.tolerances);
    insta::assert_snapshot!(table(&c, &b, "baselines/ci.json", &now, &b.tolerances));
}
