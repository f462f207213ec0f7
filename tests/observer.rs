//! The suite's stages tell an observer what happens, in the order of the diagram, and print
//! nothing of their own: a recording observer sees the whole run, and a run through the
//! library with the silent observer leaves stderr empty.

#![allow(clippy::unwrap_used)] // a test helper that fails is a failed test

use std::path::{Path, PathBuf};
use std::time::Duration;

use mmap_lab::dataset::{DatasetSpec, Files, Provenance};
use mmap_lab::dtype::Dtype;
use mmap_lab::observe::{RunObserver, Silent};
use mmap_lab::peer::PeerChoice;
use mmap_lab::results::StepResult;
use mmap_lab::runner::RunOptions;
use mmap_lab::shape::Shape;
use mmap_lab::spec::LoadedSpec;
use mmap_lab::step::StepPlan;
use mmap_lab::suite::{SuiteOptions, run};

/// Every hook, in the order it was called.
#[derive(Default)]
struct Recorder {
    events: Vec<String>,
    planned: Vec<String>,
}

impl RunObserver for Recorder {
    fn starting(&mut self, specs: &[LoadedSpec], _: &Path, _: &Path, _: &PeerChoice) {
        self.events.push(format!("starting {}", specs.len()));
    }

    fn dataset_ready(&mut self, _: &Path, provenance: &Provenance) {
        self.events.push(match provenance {
            Provenance::Reused => "dataset reused".to_owned(),
            Provenance::Generated { .. } => "dataset generated".to_owned(),
        });
    }

    fn steps_planned(&mut self, plans: &[StepPlan]) {
        self.planned = plans.iter().map(|p| format!("{}/{}", p.result_id(), p.cache.name())).collect();
        self.events.push(format!("planned {}", plans.len()));
    }

    fn step_finished(&mut self, index: usize, step: &StepResult) {
        self.events.push(format!("finished {index} {}", step.key()));
    }

    fn steps_done(&mut self) {
        self.events.push("steps done".to_owned());
    }

    fn headline(&mut self, _: &mmap_lab::results::SideBySide) {
        self.events.push("headline".to_owned());
    }
}

fn options(root: &Path) -> SuiteOptions {
    let experiments = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let specs: Vec<LoadedSpec> = mmap_lab::spec::load_dir(&experiments)
        .unwrap()
        .into_iter()
        .filter(|l| ["npy_load_mmap", "npy_memmap_default"].contains(&l.spec.id.as_str()))
        .collect();
    assert_eq!(specs.len(), 2);
    SuiteOptions {
        dataset: DatasetSpec { shape: Shape(vec![6, 8, 8, 3]), dtype: Dtype::F8, seed: 3 },
        data_dir: root.join("data"),
        out: root.join("out"),
        specs,
        regenerate: false,
        files: Files::Both,
        run: RunOptions {
            caches: None,
            step_timeout: Duration::from_secs(120),
            numpy: PeerChoice::Without("the observer test compares no NumPy".to_owned()),
            rounds: 1,
        },
        command: "mmap-lab (observer test)".to_owned(),
    }
}

/// The stages call the hooks in the diagram's order; run through the library with the
/// silent observer, the suite writes nothing on stderr. One test in this binary: it sets the
/// environment before any other thread exists.
#[test]
fn the_stages_tell_the_observer_in_order_and_print_nothing_themselves() {
    if let Some(root) = std::env::var_os("OBSERVER_TEST_CHILD") {
        // The silent run, in a child copy of this binary whose stderr the parent reads.
        run(&options(&PathBuf::from(root)), &mut Silent).unwrap();
        return;
    }
    // SAFETY: this binary's only test, before it starts any thread: nothing reads the
    // environment concurrently. The library starts its step processes from $MMAP_LAB_EXE,
    // since this test binary is not mmap-lab.
    unsafe { std::env::set_var(mmap_lab::paths::EXE_ENV, env!("CARGO_BIN_EXE_mmap-lab")) };
    let root = tempfile::tempdir().unwrap();
    let options = options(root.path());
    let mut recorder = Recorder::default();
    let outcome = run(&options, &mut recorder).unwrap();

    let steps = &outcome.results.steps;
    assert_eq!(recorder.planned.len(), steps.len(), "every planned step ran");
    let mut expected = vec!["starting 2".to_owned(), "dataset generated".to_owned()];
    expected.push(format!("planned {}", steps.len()));
    expected.extend(steps.iter().enumerate().map(|(i, s)| format!("finished {i} {}", s.key())));
    expected.push("steps done".to_owned());
    assert_eq!(recorder.events, expected, "no headline without NumPy");
    assert_eq!(recorder.planned, steps.iter().map(StepResult::key).collect::<Vec<_>>());
    assert!(outcome.written.iter().any(|p| p.ends_with("results.json")));

    // The second run finds the data its manifest vouches for.
    let mut again = Recorder::default();
    run(&options, &mut again).unwrap();
    assert_eq!(again.events[1], "dataset reused");

    let quiet = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "the_stages_tell_the_observer_in_order_and_print_nothing_themselves",
            "--nocapture",
        ])
        .env("OBSERVER_TEST_CHILD", quiet.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(quiet.path().join("out/results.json").is_file(), "the child ran the suite");
    // The test harness writes its lines on stdout; the stages wrote nothing on stderr.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim(), "", "the stages printed: {stderr}");
}
