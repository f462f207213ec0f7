#![allow(clippy::unwrap_used)] // a test helper that fails is a failed test

use std::path::Path;

use super::*;
use crate::cache::CacheState;
use crate::probe::Phase::{self, AfterAccess, AfterFirst, AfterOpen, BeforeOpen};
use crate::spec::{LoadedSpec, Status};

fn fixture() -> Results {
    Results::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/small-results.json")).unwrap()
}

fn tutorial_specs() -> Vec<LoadedSpec> {
    crate::spec::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments")).unwrap()
}

fn value(q: &str, r: &Results) -> Value {
    Quantity::parse(q).unwrap().resolve(r).unwrap()
}

#[test]
fn every_form_parses_and_prints_back_the_same() {
    for text in [
        "dataset.npy_header_bytes",
        "machine.page_size",
        "step.npy_memmap_default.warm.dtype",
        "step.sharing_mapped_k4.warm.total_pss_bytes",
        "ratio(step.a.cold.time_access_ns, step.a.warm.time_access_ns)",
        "difference(dataset.npy_bytes, dataset.raw_bytes)",
        "ratio(difference(dataset.npy_bytes, dataset.raw_bytes), machine.page_size)",
    ] {
        assert_eq!(Quantity::parse(text).unwrap().to_string(), text);
    }
    // Spaces around the parts do not matter.
    let q = Quantity::parse(" ratio( dataset.npy_bytes ,dataset.raw_bytes ) ").unwrap();
    assert_eq!(q.to_string(), "ratio(dataset.npy_bytes, dataset.raw_bytes)");
}

#[test]
fn a_quantity_that_does_not_exist_is_refused_with_the_reason() {
    let cases = [
        ("dataset.header", "dataset.header does not exist"),
        ("machine.speed", "machine.speed does not exist"),
        ("step.npy_load.warm.rss", "a step has no field 'rss'"),
        ("step.npy_load.hot.object_bytes", "use warm or cold"),
        ("step.npy_load.object_bytes", "step.<id>.<warm|cold>.<field>"),
        ("results.steps", "is not a quantity"),
        ("ratio(dataset.npy_bytes)", "two quantities"),
        ("ratio(dataset.npy_bytes, dataset.raw_bytes", "closing parenthesis"),
        ("ratio(dataset.dtype, dataset.raw_bytes)", "needs two numbers"),
        ("difference(dataset.npy_bytes, machine.cores)", "same kind"),
    ];
    for (text, says) in cases {
        let err = Quantity::parse(text).unwrap_err();
        assert!(err.contains(says), "{text}: {err}");
    }
}

#[test]
fn dimensions_follow_the_fields_and_the_functions() {
    let dim = |t: &str| Quantity::parse(t).unwrap().dimension().unwrap();
    assert_eq!(dim("dataset.npy_bytes"), Dimension::Bytes);
    assert_eq!(dim("step.x.warm.time_access_ns"), Dimension::Nanos);
    assert_eq!(dim("step.x.warm.dtype"), Dimension::Text);
    assert_eq!(dim("step.x.warm.matches_original"), Dimension::Bool);
    assert_eq!(dim("ratio(dataset.npy_bytes, machine.page_size)"), Dimension::Ratio);
    assert_eq!(dim("difference(dataset.npy_bytes, dataset.raw_bytes)"), Dimension::Bytes);
}

#[test]
fn the_tutorial_facts_resolve_from_a_real_run() {
    let r = fixture();
    let n = |q: &str| match value(q, &r) {
        Value::Number(n) => n,
        other => panic!("{q}: {other:?}"),
    };
    assert_eq!(n("dataset.npy_header_bytes"), 128.0);
    assert_eq!(n("difference(dataset.npy_bytes, dataset.raw_bytes)"), 128.0);
    assert_eq!(value("step.npy_memmap_default.warm.dtype", &r), Value::Text("uint8".to_owned()));
    assert_eq!(n("step.npy_memmap_default.warm.ndim"), 1.0);
    assert_eq!(n("step.npy_memmap_default.warm.first_value"), 147.0);
    assert_eq!(n("ratio(step.npy_memmap_default.warm.elements, dataset.npy_bytes)"), 1.0);
    assert_eq!(n("step.npy_memmap_float64.warm.original_at_element"), 16.0);
    assert_eq!(
        n("difference(step.npy_memmap_float64.cold.elements, step.raw_memmap_shape.cold.elements)"),
        16.0
    );
    assert_eq!(value("step.npy_memmap_offset.warm.matches_original", &r), Value::Bool(true));
    assert_eq!(value("step.npy_load.warm.status", &r), Value::Text("ok".to_owned()));
    assert_eq!(value("step.npy_load.warm.signal_name", &r), Value::Text("none".to_owned()));
    // The pass spans the data's pages; the loaded array owns its data.
    let pages = (r.dataset.raw_bytes).div_ceil(r.machine.page_size) as f64;
    assert_eq!(n("step.raw_memmap_shape.warm.pages_touched"), pages);
    assert!(n("step.npy_load.warm.object_bytes") >= r.dataset.raw_bytes as f64);
    assert_eq!(n("step.npy_load_mmap.cold.resident_before"), 0.0);
}

#[test]
fn phase_differences_are_the_snapshots_differences() {
    let r = fixture();
    let s = r.step("npy_load_mmap", CacheState::Cold).unwrap();
    let at = |p: Phase| s.snapshot(p).unwrap().clone();
    let n = |q: &str| match value(q, &r) {
        Value::Number(n) => n,
        other => panic!("{q}: {other:?}"),
    };
    let (before, open, first, access) = (at(BeforeOpen), at(AfterOpen), at(AfterFirst), at(AfterAccess));
    assert_eq!(
        n("step.npy_load_mmap.cold.minor_faults_access"),
        access.minor_faults as f64 - first.minor_faults as f64
    );
    assert_eq!(
        n("step.npy_load_mmap.cold.major_faults_total"),
        access.major_faults as f64 - before.major_faults as f64
    );
    assert_eq!(n("step.npy_load_mmap.cold.time_open_ns"), (open.elapsed_ns - before.elapsed_ns) as f64);
    assert_eq!(
        n("step.npy_load_mmap.cold.rss_anon_growth"),
        access.rss_anon_bytes as f64 - before.rss_anon_bytes as f64
    );
    assert_eq!(n("step.npy_load_mmap.cold.rss_file_after"), access.rss_file_bytes as f64);
}

#[test]
fn a_missing_value_says_why() {
    let mut r = fixture();
    // A step killed by SIGBUS after its first element: no after_access snapshot.
    let s = r.steps.iter_mut().find(|s| s.id == "raw_memmap_shape" && s.cache == CacheState::Warm).unwrap();
    s.status = Status::Crashed;
    s.signal = Some(libc::SIGBUS);
    s.error = Some("killed by SIGBUS".to_owned());
    s.snapshots.retain(|x| x.phase != Phase::AfterAccess);
    let err = Quantity::parse("step.raw_memmap_shape.warm.time_access_ns").unwrap().resolve(&r).unwrap_err();
    assert!(err.contains("crashed") && err.contains("after_access"), "{err}");
    assert_eq!(value("step.raw_memmap_shape.warm.signal_name", &r), Value::Text("SIGBUS".to_owned()));
    assert_eq!(value("step.raw_memmap_shape.warm.signal", &r), Value::Number(7.0));

    let err = Quantity::parse("step.not_run.warm.dtype").unwrap().resolve(&r).unwrap_err();
    assert!(err.contains("no step not_run/warm"), "{err}");
    let err = Quantity::parse("step.npy_load.warm.signal").unwrap().resolve(&r).unwrap_err();
    assert!(err.contains("not killed by a signal"), "{err}");
    let err = Quantity::parse("ratio(dataset.npy_bytes, step.npy_load.warm.major_faults_open)")
        .unwrap()
        .resolve(&r)
        .unwrap_err();
    assert!(err.contains("divides by zero"), "{err}");
}

#[test]
fn a_quantity_is_checked_against_the_steps_a_lab_runs() {
    let specs = tutorial_specs();
    let spec = |id: &str| &specs.iter().find(|s| s.spec.id == id).unwrap().spec;
    let steps = vec![
        PlannedStep {
            result_id: "npy_load_mmap".to_owned(),
            cache: CacheState::Warm,
            spec: spec("npy_load_mmap"),
        },
        PlannedStep {
            result_id: "sharing_mapped_k2".to_owned(),
            cache: CacheState::Warm,
            spec: spec("sharing_mapped"),
        },
        PlannedStep {
            result_id: "access_random_batches".to_owned(),
            cache: CacheState::Cold,
            spec: spec("access_random_batches"),
        },
    ];
    let check = |t: &str| Quantity::parse(t).unwrap().check(&steps, None);
    assert!(check("step.npy_load_mmap.warm.time_access_ns").is_ok());
    assert!(check("step.sharing_mapped_k2.warm.total_pss_bytes").is_ok());
    assert!(check("step.access_random_batches.cold.batch_median_ns").is_ok());
    assert!(check("ratio(dataset.npy_bytes, machine.page_size)").is_ok());
    for (text, says) in [
        ("step.npy_load.warm.object_bytes", "does not run"),
        ("step.npy_load_mmap.cold.object_bytes", "only warm, not cold"),
        ("step.npy_load_mmap.warm.total_pss_bytes", "not a sharing step"),
        ("step.sharing_mapped_k2.warm.time_access_ns", "sharing step"),
        ("step.npy_load_mmap.warm.batch_median_ns", "not random_batches"),
        ("ratio(step.npy_load_mmap.warm.sum, step.missing.warm.sum)", "'missing'"),
    ] {
        let err = check(text).unwrap_err();
        assert!(err.contains(says), "{text}: {err}");
    }
}

#[test]
fn access_fields_need_an_access_pattern() {
    let first = crate::spec::ExperimentSpec::parse(
        "id = \"f\"\ntitle = \"t\"\nnumpy_call = \"c\"\nfile = \"npy\"\naccess = \"first\"\n[open]\nmethod = \"load_mmap\"\n",
        Path::new("f.toml"),
    )
    .unwrap();
    let steps = vec![PlannedStep { result_id: "f".to_owned(), cache: CacheState::Warm, spec: &first }];
    assert!(Quantity::parse("step.f.warm.time_first_ns").unwrap().check(&steps, None).is_ok());
    let err = Quantity::parse("step.f.warm.minor_faults_access").unwrap().check(&steps, None).unwrap_err();
    assert!(err.contains("\"first\""), "{err}");
}

#[test]
fn program_quantities_name_a_phase_the_program_marks() {
    let phases = vec!["start".to_owned(), "read".to_owned()];
    let check = |t: &str, p: Option<&[String]>| Quantity::parse(t).unwrap().check(&[], p);
    assert!(check("program.read.file_rss_bytes", Some(&phases)).is_ok());
    assert!(
        check(
            "ratio(difference(program.read.own_bytes, program.start.own_bytes), dataset.npy_bytes)",
            Some(&phases)
        )
        .is_ok()
    );
    let err = check("program.raed.own_bytes", Some(&phases)).unwrap_err();
    assert!(err.contains("no phase 'raed'") && err.contains("did you mean 'read'"), "{err}");
    let err = check("program.read.own_bytes", None).unwrap_err();
    assert!(err.contains("runs none") && err.contains("[program]"), "{err}");
    let err = Quantity::parse("program.read.own_byte").err().unwrap();
    assert!(err.contains("did you mean 'own_bytes'"), "{err}");
    let q = Quantity::parse("ratio(program.read.own_bytes, dataset.npy_bytes)").unwrap();
    assert!(q.reads_program() && !q.reads_time() && q.steps().is_empty());
    // Resolved without a program run: says to measure again.
    let r = fixture();
    let err = Quantity::parse("program.read.own_bytes").unwrap().resolve(&r).unwrap_err();
    assert!(err.contains("no run of the lab's program"), "{err}");
}
