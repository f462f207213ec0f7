//! The coursework labs through the real binary, at a tiny shape: each of the six labs
//! measures, then grades right answers (derived from the same run's results.json, or facts
//! that cannot vary) as right and wrong ones as wrong, with an explanation naming the
//! measured value. Broken labs and bad answers files are refused before anything runs.

#![allow(clippy::unwrap_used)] // a test helper that fails is a failed test

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use mmap_lab::cache::CacheState::{self, Cold, Warm};
use mmap_lab::lab::spec::QuestionKind;
use mmap_lab::lab::{self, LabSpec};
use mmap_lab::probe::Phase::{AfterAccess, AfterFirst, AfterOpen, BeforeOpen};
use mmap_lab::results::{Results, StepResult};

const SHAPE: &str = "16x24x20x3";

fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> Command {
    Command::cargo_bin("mmap-lab").unwrap()
}

fn spec(n: u32) -> LabSpec {
    let entries = lab::load_all(&project().join("experiments/labs"), &project().join("experiments")).unwrap();
    lab::find(entries, &n.to_string()).unwrap()
}

/// One lab measured once at the tiny shape; answers are then graded against its results.
struct Measured {
    root: tempfile::TempDir,
    number: u32,
    lab: LabSpec,
    results: Results,
    results_path: PathBuf,
}

impl Measured {
    /// Runs `lab run N` with the empty template as answers: everything measured, nothing
    /// answered, and every question must resolve.
    fn run(number: u32) -> Measured {
        let root = tempfile::tempdir().unwrap();
        bin().current_dir(root.path()).args(["lab", "init", &number.to_string()]).assert().success();
        let template = root.path().join(format!("lab{number:02}-answers.toml"));
        let out = root.path().join("report");
        let output = bin()
            .args(["lab", "run", &number.to_string(), "--json", "--shape", SHAPE])
            .arg("--answers")
            .arg(&template)
            .arg("--data-dir")
            .arg(root.path().join("data"))
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "lab {number}: {stderr}");
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        for q in json["questions"].as_array().unwrap() {
            assert_eq!(q["verdict"], "unanswered", "lab {number}: every question resolves: {q:#}");
        }
        let results_path = out.join("results.json");
        let results = Results::read(&results_path).unwrap();
        Measured { root, number, lab: spec(number), results, results_path }
    }

    fn step(&self, id: &str, cache: CacheState) -> &StepResult {
        self.results.step(id, cache).unwrap_or_else(|| panic!("no step {id}/{}", cache.name()))
    }

    /// The letter of the choice whose range holds `value` (the test's own computation).
    fn choice_for(&self, question: &str, value: f64) -> String {
        let q = self.lab.questions.iter().find(|q| q.id == question).unwrap();
        let QuestionKind::Choice { choices } = &q.kind else { panic!("{question} is not a choice question") };
        let c = choices.iter().find(|c| c.range.unwrap().contains(q.unit.from_base(value))).unwrap();
        c.letter.to_string()
    }

    /// Grades `answers` against the measured results; returns exit code and stdout.
    fn grade(&self, answers: &[(&str, Answer)], json: bool) -> (i32, String) {
        let mut text = format!("lab = \"{}\"\n[answers]\n", self.lab.id);
        for (id, a) in answers {
            match a {
                Answer::Number(n) => text.push_str(&format!("{id} = {n:?}\n")),
                Answer::Choice(c) => text.push_str(&format!("{id} = \"{c}\"\n")),
            }
        }
        let file = self.root.path().join(if json { "answers-json.toml" } else { "answers.toml" });
        std::fs::write(&file, text).unwrap();
        let mut cmd = bin();
        cmd.args(["lab", "run", &self.number.to_string(), "--answers"])
            .arg(&file)
            .arg("--results")
            .arg(&self.results_path);
        if json {
            cmd.arg("--json");
        }
        let output = cmd.output().unwrap();
        (output.status.code().unwrap_or(-1), String::from_utf8(output.stdout).unwrap())
    }

    /// Right answers pass; answers far off (another choice, the number plus 1000) are wrong,
    /// and their feedback names the measured value and explains.
    fn check(&self, right: &[(&str, Answer)], measured: &[(&str, f64)]) {
        assert_eq!(right.len(), self.lab.questions.len(), "lab {}: answer every question", self.number);
        let (code, out) = self.grade(right, true);
        assert_eq!(code, 0, "{out}");
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        for q in json["questions"].as_array().unwrap() {
            assert_eq!(q["verdict"], "right", "lab {}: {q:#}", self.number);
        }
        assert_eq!(json["score"]["right"], right.len());

        let wrong: Vec<(&str, Answer)> = right.iter().map(|(id, a)| (*id, self.wrong(id, a))).collect();
        let (code, out) = self.grade(&wrong, true);
        assert_eq!(code, 0, "{out}");
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        for q in json["questions"].as_array().unwrap() {
            assert_eq!(q["verdict"], "wrong", "lab {}: {q:#}", self.number);
            assert!(!q["explain"].as_str().unwrap().is_empty());
        }
        // The measured numbers are the ones the test computes from results.json.
        for (id, value) in measured {
            let q = json["questions"].as_array().unwrap().iter().find(|q| q["id"] == *id).unwrap();
            let question = self.lab.questions.iter().find(|x| x.id == *id).unwrap();
            let shown = q["measured"].as_f64().unwrap();
            let expected = question.unit.from_base(*value);
            assert!(
                (shown - expected).abs() <= 1e-9 * expected.abs().max(1.0),
                "{id}: {shown} vs {expected}"
            );
        }
        let (_, text) = self.grade(&wrong, false);
        for q in json["questions"].as_array().unwrap() {
            let id = q["id"].as_str().unwrap();
            let block = text.split(&format!(". {id}: ")).nth(1).unwrap().split("\n\n").next().unwrap();
            let measured = q["measured_text"].as_str().unwrap();
            assert!(block.starts_with("WRONG"), "{id}: {block}");
            assert!(block.contains(&format!("measured {measured}")), "{id} names {measured}: {block}");
            assert!(block.contains("Why: "), "{id}: {block}");
        }
        assert!(
            text.contains(&format!("Score: 0 of {} right, {} wrong.", right.len(), right.len())),
            "{text}"
        );
    }

    fn wrong(&self, id: &str, right: &Answer) -> Answer {
        match right {
            Answer::Number(n) => Answer::Number(n + 1000.0),
            Answer::Choice(c) => {
                let q = self.lab.questions.iter().find(|q| q.id == id).unwrap();
                let QuestionKind::Choice { choices } = &q.kind else { panic!("{id}") };
                let right_letter =
                    choices.iter().find(|x| x.letter.to_string() == *c || x.text == *c).unwrap().letter;
                Answer::Choice(choices.iter().find(|x| x.letter != right_letter).unwrap().letter.to_string())
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Answer {
    Number(f64),
    Choice(String),
}

fn n(v: impl Into<f64>) -> Answer {
    Answer::Number(v.into())
}

fn c(v: impl Into<String>) -> Answer {
    Answer::Choice(v.into())
}

fn delta(
    s: &StepResult,
    from: mmap_lab::probe::Phase,
    to: mmap_lab::probe::Phase,
    field: fn(&mmap_lab::probe::Snapshot) -> u64,
) -> f64 {
    s.delta(from, to, field).unwrap() as f64
}

fn pages(m: &Measured, s: &StepResult) -> f64 {
    s.bytes_touched.unwrap().div_ceil(m.results.machine.page_size) as f64
}

#[test]
fn lab1_the_npy_header_grades_facts_that_cannot_vary() {
    let m = Measured::run(1);
    m.check(
        &[
            ("header_bytes", n(128)),
            ("raw_smaller_by", n(128)),
            ("default_dtype", c("uint8")),
            ("default_ndim", n(1)),
            ("default_first_value", n(147)),
            ("default_elements_per_byte", n(1)),
            ("float64_extra_elements", n(16)),
            ("float64_shift", n(16)),
            ("offset_matches", c("yes")),
        ],
        &[("header_bytes", 128.0), ("float64_shift", 16.0)],
    );
}

#[test]
fn lab2_object_size_grades_against_the_measured_rss() {
    let m = Measured::run(2);
    let file = m.results.dataset.npy_bytes as f64;
    let raw = m.results.dataset.raw_bytes as f64;
    let (mapped, loaded) = (m.step("npy_load_mmap", Warm), m.step("npy_load", Warm));
    let mapped_object = mapped.object_bytes.unwrap() as f64 / raw;
    let loaded_object = loaded.object_bytes.unwrap() as f64 / raw;
    let at_open = delta(mapped, BeforeOpen, AfterOpen, |x| x.rss_bytes) / file;
    let after_pass = delta(mapped, BeforeOpen, AfterAccess, |x| x.rss_bytes) / file;
    let anon_pass = delta(mapped, BeforeOpen, AfterAccess, |x| x.rss_anon_bytes) / file;
    let loaded_anon = delta(loaded, BeforeOpen, AfterOpen, |x| x.rss_anon_bytes) / file;
    // Whatever the shape, a view's object is smaller than its data and a loaded array's is not.
    assert!(mapped_object < 1.0 && loaded_object >= 1.0);
    m.check(
        &[
            ("mapped_object_size", c(m.choice_for("mapped_object_size", mapped_object))),
            ("loaded_object_size", c(m.choice_for("loaded_object_size", loaded_object))),
            ("mapped_rss_at_open", n(at_open * 100.0)),
            ("mapped_rss_after_pass", n(after_pass * 100.0)),
            ("mapped_anon_after_pass", n(anon_pass * 100.0)),
            ("loaded_anon_at_open", n(loaded_anon * 100.0)),
        ],
        &[("mapped_rss_after_pass", after_pass), ("loaded_anon_at_open", loaded_anon)],
    );
}

#[test]
fn lab3_page_cache_grades_against_the_measured_faults() {
    let m = Measured::run(3);
    let file = m.results.dataset.npy_bytes as f64;
    let (cold, warm) = (m.step("npy_load_mmap", Cold), m.step("npy_load_mmap", Warm));
    let resident_before = cold.snapshot(BeforeOpen).unwrap().resident_bytes as f64 / file;
    assert_eq!(resident_before, 0.0, "a cold step starts with nothing of its file cached");
    let warm_major = delta(warm, BeforeOpen, AfterAccess, |x| x.major_faults);
    let cold_major_per_page = delta(cold, BeforeOpen, AfterAccess, |x| x.major_faults) / pages(&m, cold);
    let time = |s: &StepResult| s.phase_ns(AfterFirst, AfterAccess).unwrap() as f64;
    let cold_over_warm = time(cold) / time(warm);
    let random = m.step("access_random_elements", Cold);
    let cached_per_needed =
        random.snapshot(AfterAccess).unwrap().resident_bytes as f64 / random.bytes_touched.unwrap() as f64;
    let madv = m.step("access_random_elements_madv_random", Cold);
    let madv_per_page = delta(madv, BeforeOpen, AfterAccess, |x| x.major_faults) / pages(&m, madv);
    m.check(
        &[
            ("cold_resident_before", n(resident_before * 100.0)),
            ("warm_major_faults", n(warm_major)),
            ("cold_major_per_page", c(m.choice_for("cold_major_per_page", cold_major_per_page))),
            ("cold_over_warm_time", c(m.choice_for("cold_over_warm_time", cold_over_warm))),
            ("random_cached_per_needed", c(m.choice_for("random_cached_per_needed", cached_per_needed))),
            ("random_madv_major_per_page", n(madv_per_page)),
        ],
        &[("warm_major_faults", warm_major), ("random_madv_major_per_page", madv_per_page)],
    );
}

#[test]
fn lab4_faults_are_not_pages_grades_against_the_measured_faults() {
    let m = Measured::run(4);
    let faults = |id: &str| delta(m.step(id, Warm), AfterFirst, AfterAccess, |x| x.minor_faults);
    let (small, large) = (m.step("faults_small_writes", Warm), m.step("faults_large_writes", Warm));
    let small_per_fault = pages(&m, small) / faults("faults_small_writes");
    let large_per_fault = pages(&m, large) / faults("faults_large_writes");
    assert!(small_per_fault > 1.0, "faults are not pages: {small_per_fault} pages per fault");
    let no_huge_ratio = faults("faults_no_huge_pages") / faults("faults_large_writes");
    let file_growth = |s: &StepResult| delta(s, BeforeOpen, AfterAccess, |x| x.rss_file_bytes);
    let same_memory = file_growth(small) / file_growth(large);
    let time = |s: &StepResult| s.phase_ns(AfterFirst, AfterAccess).unwrap() as f64;
    m.check(
        &[
            ("page_size", n(m.results.machine.page_size as f64)),
            ("small_pages_per_fault", n(small_per_fault)),
            ("large_pages_per_fault", c(m.choice_for("large_pages_per_fault", large_per_fault))),
            ("no_huge_pages_against_large", c(m.choice_for("no_huge_pages_against_large", no_huge_ratio))),
            ("same_memory", n(same_memory)),
            ("small_over_large_time", c(m.choice_for("small_over_large_time", time(small) / time(large)))),
        ],
        &[("small_pages_per_fault", small_per_fault), ("same_memory", same_memory)],
    );
}

#[test]
fn lab5_training_loop_grades_against_the_measured_batches_and_workers() {
    let m = Measured::run(5);
    let file = m.results.dataset.npy_bytes as f64;
    let (load, batches) = (m.step("npy_load", Cold), m.step("access_random_batches", Cold));
    let madv = m.step("access_random_batches_madv_random", Cold);
    let open = |s: &StepResult| s.phase_ns(BeforeOpen, AfterOpen).unwrap() as f64;
    let load_over_map = open(load) / open(batches);
    let load_anon = delta(load, BeforeOpen, AfterOpen, |x| x.rss_anon_bytes) / file;
    let per_page = |s: &StepResult| delta(s, BeforeOpen, AfterAccess, |x| x.major_faults) / pages(&m, s);
    let time = |s: &StepResult| s.phase_ns(AfterFirst, AfterAccess).unwrap() as f64;
    let workers = |id: &str| m.step(id, Warm).workers.clone().unwrap();
    let (mapped, loaded) = (workers("sharing_mapped_k4"), workers("sharing_loaded_k4"));
    assert_eq!((mapped.count, loaded.count), (4, 4));
    let mapped_pss = mapped.total_pss_bytes as f64 / file;
    m.check(
        &[
            ("load_over_map_open", c(m.choice_for("load_over_map_open", load_over_map))),
            ("load_anon_at_open", n(load_anon * 100.0)),
            ("batches_major_per_page", c(m.choice_for("batches_major_per_page", per_page(batches)))),
            ("madv_random_major_per_page", c(m.choice_for("madv_random_major_per_page", per_page(madv)))),
            ("madv_random_time", c(m.choice_for("madv_random_time", time(madv) / time(batches)))),
            ("mapped_workers_pss", n(mapped_pss)),
            ("mapped_workers_rss", n(mapped.total_rss_bytes as f64 / file)),
            ("loaded_workers_pss", n(loaded.total_pss_bytes as f64 / file)),
        ],
        &[("mapped_workers_pss", mapped_pss), ("load_anon_at_open", load_anon)],
    );
}

#[test]
fn lab6_write_modes_grow_and_crash_scratch_copies_only() {
    let m = Measured::run(6);
    m.check(
        &[
            ("too_large_read_only", c("np.memmap raises an error")),
            ("too_large_default_mode", c("a")),
            ("grown_file_bytes", n(4020.0 * 120.0 * 120.0 * 3.0 * 8.0)),
            ("default_call_growth", n(0)),
            ("shrunk_status", c("c")),
            ("shrunk_signal", c("SIGBUS")),
        ],
        &[("grown_file_bytes", 1_389_312_000.0)],
    );
    assert_eq!(m.step("lab_shrink_under_mapping", Warm).signal, Some(libc::SIGBUS));
    // The dataset itself was never written: its files still have their generated sizes.
    let data = m.root.path().join("data");
    let bytes = 16 * 24 * 20 * 3 * 8;
    assert_eq!(std::fs::metadata(data.join("X_train_raw.rbf")).unwrap().len(), bytes);
    assert_eq!(std::fs::metadata(data.join("X_train.npy")).unwrap().len(), bytes + 128);
}

#[test]
fn every_lab_in_the_folder_checks_at_a_tiny_shape() {
    let root = tempfile::tempdir().unwrap();
    let output =
        bin().args(["lab", "check", "--shape", SHAPE, "--data-dir"]).arg(root.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let entries = lab::load_all(&project().join("experiments/labs"), &project().join("experiments")).unwrap();
    for entry in entries {
        let l = entry.lab.unwrap();
        assert!(
            stdout.contains(&format!("lab {} ({})", l.number, l.id)),
            "lab {} checked:\n{stdout}",
            l.number
        );
        for q in &l.questions {
            assert!(stdout.contains(&format!("ok      {}: ", q.id)), "{} resolves:\n{stdout}", q.id);
        }
    }
    assert!(!stdout.contains("PROBLEM"), "{stdout}");
}

/// A labs folder with lab 1 and a lab 7 whose question names a quantity that does not exist.
fn labs_with_a_broken_one(dir: &Path) {
    for name in ["01_npy_header.toml", "01_npy_header.md"] {
        std::fs::copy(project().join("experiments/labs").join(name), dir.join(name)).unwrap();
    }
    std::fs::write(dir.join("07_broken.md"), "# A lab with a typo\n").unwrap();
    std::fs::write(
        dir.join("07_broken.toml"),
        r#"
id = "broken"
title = "A lab with a typo"
handout = "07_broken.md"
experiments = ["npy_load_mmap"]

[[question]]
id = "faults"
text = "How many minor faults?"
quantity = "step.npy_load_mmap.warm.minor_fault_access"
tolerance = { relative = 0.5 }
explain = "..."
"#,
    )
    .unwrap();
}

#[test]
fn a_lab_naming_a_quantity_that_does_not_exist_is_refused_naming_the_file_and_the_question() {
    let root = tempfile::tempdir().unwrap();
    labs_with_a_broken_one(root.path());
    let data = root.path().join("data");
    for args in [
        vec!["lab", "run", "7", "--answers", "whatever.toml"],
        vec!["lab", "run", "broken", "--answers", "whatever.toml"],
        vec!["lab", "check"],
        vec!["lab", "show", "7"],
        vec!["lab", "list"],
    ] {
        let mut cmd = bin();
        cmd.args(&args).arg("--labs").arg(root.path());
        if matches!(args[1], "run" | "check") {
            cmd.arg("--data-dir").arg(&data);
        }
        let output = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("07_broken.toml")
                && stderr.contains("question 'faults'")
                && stderr.contains("minor_fault_access"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    assert!(!data.join("X_train.npy").exists(), "nothing was measured for a broken lab");
    // The other lab still works.
    bin().args(["lab", "show", "1", "--labs"]).arg(root.path()).assert().success();
}

#[test]
fn init_writes_a_template_and_never_replaces_it() {
    let root = tempfile::tempdir().unwrap();
    let output = bin().current_dir(root.path()).args(["lab", "init", "npy_header"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "lab01-answers.toml");
    let path = root.path().join("lab01-answers.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    for q in &spec(1).questions {
        assert!(text.contains(&format!("\n{} = \"\"\n", q.id)), "{}", q.id);
    }
    std::fs::write(&path, "lab = \"npy_header\"\n[answers]\nheader_bytes = 128\n").unwrap();
    let output = bin().current_dir(root.path()).args(["lab", "init", "1"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("already exists"));
    assert!(std::fs::read_to_string(&path).unwrap().contains("header_bytes = 128"), "the answers are kept");
}

#[test]
fn without_answers_or_a_terminal_run_refuses_before_measuring() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let output = bin().args(["lab", "run", "1", "--data-dir"]).arg(&data).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--answers") && stderr.contains("mmap-lab lab init 1"), "{stderr}");
    assert!(!data.exists(), "nothing measured");
}

#[test]
fn bad_answers_files_are_refused_before_measuring() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let cases = [
        ("unknown.toml", "lab = \"npy_header\"\n[answers]\nheader_byte = 128\n", "no question 'header_byte'"),
        ("type.toml", "[answers]\nheader_bytes = \"lots\"\n", "without quotes"),
        ("choice.toml", "[answers]\ndefault_dtype = \"int128\"\n", "not one of the choices"),
        ("other-lab.toml", "lab = \"write_modes\"\n[answers]\n", "not for lab 1"),
    ];
    for (name, text, says) in cases {
        let file = root.path().join(name);
        std::fs::write(&file, text).unwrap();
        let output = bin()
            .args(["lab", "run", "1", "--answers"])
            .arg(&file)
            .arg("--data-dir")
            .arg(&data)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(name) && stderr.contains(says), "{name}: {stderr}");
    }
    let output = bin()
        .args(["lab", "run", "1", "--answers", "/nonexistent/lab01-answers.toml", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/lab01-answers.toml"));
    assert!(!data.exists(), "nothing measured");
}

#[test]
fn the_command_line_is_consistent() {
    use clap::CommandFactory;
    mmap_lab::cli::Cli::command().debug_assert();
}
