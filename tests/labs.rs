//! The coursework labs through the real binary, at a tiny shape: each of labs 1 to 6
//! measures, then grades right answers (derived from the same run's results.json, or facts
//! that cannot vary) as right and wrong ones as wrong, with an explanation naming the
//! measured value. Broken labs and bad answers files are refused before anything runs.

#![allow(clippy::unwrap_used)] // a test helper that fails is a failed test

mod common;

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
    common::lab_spec(n)
}

/// One lab measured once at the tiny shape; answers are then graded against its results.
struct Measured {
    root: tempfile::TempDir,
    number: u32,
    lab: LabSpec,
    results: Results,
    results_path: PathBuf,
    /// Questions this machine and shape cannot grade (not gradable here, or too close to
    /// call), with their verdict: graded the same whatever the answer.
    ungraded: Vec<(String, String)>,
}

impl Measured {
    /// Runs `lab run N` with the empty template as answers: everything measured, nothing
    /// answered, and every question must resolve.
    fn run(number: u32) -> Measured {
        let root = common::disk_tempdir();
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
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let mut ungraded = Vec::new();
        for q in json["questions"].as_array().unwrap() {
            let verdict = q["verdict"].as_str().unwrap();
            assert!(
                ["unanswered", "not_gradable", "too_close"].contains(&verdict),
                "lab {number}: every question resolves: {q:#}"
            );
            if verdict != "unanswered" {
                assert!(q["problem"].as_str().unwrap().contains(verdict.replace('_', " ").as_str()), "{q:#}");
                ungraded.push((q["id"].as_str().unwrap().to_owned(), verdict.to_owned()));
            }
            // Predict first: a blank answers file shows what was measured, not what is right.
            assert!(q["right_answer"].is_null() && q["explain"].is_null(), "lab {number}: {q:#}");
        }
        let not_gradable = ungraded.iter().any(|(_, v)| v == "not_gradable");
        assert_eq!(output.status.code(), Some(if not_gradable { 3 } else { 0 }), "lab {number}: {stderr}");
        let results_path = out.join("results.json");
        let results = Results::read(&results_path).unwrap();
        Measured { root, number, lab: spec(number), results, results_path, ungraded }
    }

    fn recorded_median(&self, question: &str) -> f64 {
        let record: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(self.results_path.with_file_name("lab-record.json")).unwrap(),
        )
        .unwrap();
        let mut runs: Vec<f64> = record["repeats"][question]["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(runs.len(), self.lab.repeats as usize, "{question}: one value per run");
        runs.sort_by(f64::total_cmp);
        let n = runs.len();
        if n % 2 == 1 { runs[n / 2] } else { (runs[n / 2 - 1] + runs[n / 2]) / 2.0 }
    }

    fn step(&self, id: &str, cache: CacheState) -> &StepResult {
        self.results.step(id, cache).unwrap_or_else(|| panic!("no step {id}/{}", cache.name()))
    }

    /// The letter of the choice whose range holds `value` (the test's own computation); for
    /// a timed question, the median of the runs the lab recorded, computed here.
    fn choice_for(&self, question: &str, value: f64) -> String {
        let q = self.lab.questions.iter().find(|q| q.id == question).unwrap();
        let value = if q.timed { self.recorded_median(question) } else { value };
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
    /// The verdict a question gets whatever its answer: right, or what the blank run said.
    fn expected(&self, id: &str, otherwise: &str) -> String {
        self.ungraded.iter().find(|(q, _)| q == id).map_or(otherwise.to_owned(), |(_, v)| v.clone())
    }

    fn check(&self, right: &[(&str, Answer)], measured: &[(&str, f64)]) {
        assert_eq!(right.len(), self.lab.questions.len(), "lab {}: answer every question", self.number);
        let code_expected = if self.ungraded.iter().any(|(_, v)| v == "not_gradable") { 3 } else { 0 };
        let graded = right.len() - self.ungraded.len();
        let (code, out) = self.grade(right, true);
        assert_eq!(code, code_expected, "{out}");
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        for q in json["questions"].as_array().unwrap() {
            assert_eq!(
                q["verdict"],
                self.expected(q["id"].as_str().unwrap(), "right"),
                "lab {}: {q:#}",
                self.number
            );
            // Right answers are explained too: a lucky guess still learns.
            assert!(
                !q["explain"].as_str().unwrap_or("").is_empty() || q["verdict"] == "not_gradable",
                "{q:#}"
            );
        }
        assert_eq!(json["score"]["right"], graded);

        let wrong: Vec<(&str, Answer)> = right.iter().map(|(id, a)| (*id, self.wrong(id, a))).collect();
        let (code, out) = self.grade(&wrong, true);
        assert_eq!(code, code_expected, "{out}");
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        for q in json["questions"].as_array().unwrap() {
            let id = q["id"].as_str().unwrap();
            assert_eq!(q["verdict"], self.expected(id, "wrong"), "lab {}: {q:#}", self.number);
            if q["verdict"] == "wrong" {
                assert!(!q["explain"].as_str().unwrap().is_empty());
            }
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
        for q in json["questions"].as_array().unwrap().iter().filter(|q| q["verdict"] == "wrong") {
            let id = q["id"].as_str().unwrap();
            let block = text.split(&format!(". {id}: ")).nth(1).unwrap().split("\n\n").next().unwrap();
            let block = block.split_whitespace().collect::<Vec<_>>().join(" ");
            let measured = q["measured_text"].as_str().unwrap();
            assert!(block.starts_with("WRONG"), "{id}: {block}");
            assert!(block.contains(&format!("measured {measured}")), "{id} names {measured}: {block}");
            assert!(block.contains("Why: "), "{id}: {block}");
        }
        assert!(text.contains(&format!("Score: 0 of {} right, {graded} wrong", right.len())), "{text}");
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
    if !common::can_evict(m.root.path()) {
        eprintln!("skipping lab 3's grading: its cold steps need a file system that evicts pages");
        return;
    }
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
    let (mapped, loaded) = (workers("sharing_mapped_k2"), workers("sharing_loaded_k2"));
    assert_eq!((mapped.count, loaded.count), (2, 2));
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
        ("type.toml", "[answers]\nheader_bytes = \"lots\"\n", "takes a number"),
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

/// Runs `lab run N` with `answers` (TOML text) at the tiny shape in `root`; returns the exit
/// code, the JSON grade and stderr.
fn run_with(root: &Path, number: u32, answers: &str, data: &Path) -> (i32, serde_json::Value, String) {
    common::lab_run(root, number, answers, data, SHAPE)
}

#[test]
fn on_tmpfs_the_cold_cache_questions_are_not_gradable_here() {
    let shm = Path::new("/dev/shm");
    let machine = mmap_lab::machine::Machine::detect(shm);
    if machine.filesystem.as_deref() != Some("tmpfs") {
        assert!(std::env::var("CI").is_err(), "CI runs on Linux, where /dev/shm is tmpfs");
        eprintln!("skipped: /dev/shm is not tmpfs here ({:?})", machine.filesystem);
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::Builder::new().prefix("mmap-lab-labs-").tempdir_in(shm).unwrap();
    let answers = "lab = \"page_cache\"\n[answers]\ncold_resident_before = 100\n";
    let (code, json, stderr) = run_with(root.path(), 3, answers, data.path());
    assert_eq!(code, 3, "not gradable here, in the exit code: {stderr}");
    let lab = spec(3);
    for q in json["questions"].as_array().unwrap() {
        let question = lab.questions.iter().find(|x| x.id == q["id"]).unwrap();
        let cold = question.needs.contains(&mmap_lab::lab::needs::Need::ColdCache);
        assert_eq!(q["verdict"] == "not_gradable", cold, "{q:#}");
        if cold {
            assert!(q["problem"].as_str().unwrap().contains("tmpfs"), "the reason: {q:#}");
            // Said before anything was measured.
            let said =
                stderr.find(&format!("question {} is not gradable here", q["id"].as_str().unwrap())).unwrap();
            assert!(said < stderr.find("measuring").unwrap(), "{stderr}");
        }
    }
}

#[test]
fn answers_typed_in_are_saved_before_anything_is_measured() {
    let root = tempfile::tempdir().unwrap();
    // A data folder that cannot be made: the run stops at measuring, the answers are kept.
    let output = bin()
        .current_dir(root.path())
        .args(["lab", "run", "1", "--ask", "--data-dir", "/proc/no-such-folder"])
        .write_stdin("128\n\nb\n")
        .output()
        .unwrap();
    assert_ne!(output.status.code(), Some(0));
    let saved = std::fs::read_to_string(root.path().join("lab01-answers.toml")).unwrap();
    assert!(saved.contains("header_bytes = 128.0") && saved.contains("default_dtype = \"b\""), "{saved}");
    assert!(saved.contains("raw_smaller_by = \"\""), "{saved}");
    // The saved file is a valid answers file, and a second session never replaces it.
    bin()
        .current_dir(root.path())
        .args(["lab", "run", "1", "--ask", "--data-dir", "/proc/no-such-folder"])
        .write_stdin("130\n")
        .output()
        .unwrap();
    assert!(std::fs::read_to_string(root.path().join("lab01-answers.toml")).unwrap().contains("= 128.0"));
    assert!(std::fs::read_to_string(root.path().join("lab01-answers-2.toml")).unwrap().contains("= 130.0"));
}

#[test]
fn a_class_is_graded_in_one_measurement_into_a_csv() {
    let root = tempfile::tempdir().unwrap();
    let class = root.path().join("collected");
    std::fs::create_dir(&class).unwrap();
    let lab = spec(1);
    for i in 0..30 {
        // Half the class falls for the float64 default, half knows it is uint8.
        let dtype = if i % 2 == 0 { "uint8" } else { "a" };
        std::fs::write(
            class.join(format!("s{i:02}.toml")),
            format!("lab = \"npy_header\"\nstudent = \"s{i:02}\"\n[answers]\nheader_bytes = 128\ndefault_dtype = \"{dtype}\"\n"),
        )
        .unwrap();
    }
    let csv = root.path().join("grades.csv");
    let output = bin()
        .args(["lab", "grade", "1", "--shape", SHAPE, "--answers"])
        .arg(&class)
        .arg("--csv")
        .arg(&csv)
        .arg("--data-dir")
        .arg(root.path().join("data"))
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr.matches("lab 1: measuring").count(), 1, "one measurement: {stderr}");
    let mut rows = csv::Reader::from_path(&csv).unwrap();
    let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 30 * lab.questions.len(), "a row per student and question");
    let dtype_rows: Vec<&csv::StringRecord> = rows.iter().filter(|r| &r[2] == "default_dtype").collect();
    assert_eq!(dtype_rows.iter().filter(|r| &r[4] == "right").count(), 15);
    assert_eq!(dtype_rows.iter().filter(|r| &r[4] == "wrong").count(), 15);
    assert!(rows.iter().any(|r| &r[0] == "s29"), "the student id from the file");
    let line = stdout.lines().find(|l| l.trim_start().starts_with("default_dtype")).unwrap();
    assert!(line.contains("15 / 15 / 0") && line.contains("most common wrong: a) float64 (15)"), "{stdout}");
}

#[test]
fn results_edited_by_hand_are_refused() {
    let m = Measured::run(1);
    let text = std::fs::read_to_string(&m.results_path).unwrap();
    std::fs::write(
        &m.results_path,
        text.replacen("\"npy_header_bytes\": 128", "\"npy_header_bytes\": 130", 1),
    )
    .unwrap();
    let (code, _) = m.grade(&[("header_bytes", n(130))], true);
    assert_eq!(code, 2, "refused");
}

#[test]
fn export_writes_a_student_edition_without_explanations_or_keys() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("edition");
    bin().args(["lab", "export", "3", "--student"]).arg(&dir).assert().success();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["lab03-answers.toml", "lab03.md"]);
    let all = names.iter().map(|n| std::fs::read_to_string(dir.join(n)).unwrap()).collect::<String>();
    let lab = spec(3);
    for q in &lab.questions {
        assert!(all.contains(&format!("**{}**", q.id)), "the question {} is asked", q.id);
        let first_words: String = q.explain.split_whitespace().take(8).collect::<Vec<_>>().join(" ");
        assert!(!all.contains(&first_words), "{}'s explanation is left out", q.id);
        assert!(!all.contains(&q.quantity.to_string()), "{}'s quantity (the key) is left out", q.id);
    }
    // Never replaces a file.
    let again = bin().args(["lab", "export", "3", "--student"]).arg(&dir).output().unwrap();
    assert_eq!(again.status.code(), Some(2));
}

/// A labs folder with one lab whose question's right answer depends on the shape.
fn shape_dependent_lab(dir: &Path, boundary: u64) {
    std::fs::write(dir.join("01_size.md"), "# Size\n").unwrap();
    std::fs::write(
        dir.join("01_size.toml"),
        format!(
            r#"
id = "size"
title = "How large is the file?"
handout = "01_size.md"
experiments = ["npy_load_mmap"]
cache = ["warm"]
shapes = ["16x24x20x3", "64x24x20x3"]

[[question]]
id = "big"
text = "Is X_train.npy larger than {boundary} bytes?"
quantity = "dataset.npy_bytes"
choices = [{{ text = "smaller", max = {boundary} }}, {{ text = "larger", min = {boundary} }}]
explain = "The file holds the array and its header."
"#
        ),
    )
    .unwrap();
}

#[test]
fn check_fails_on_a_question_whose_answer_depends_on_the_shape() {
    for (boundary, code) in [(500_000, 1), (10_000_000, 0)] {
        let root = tempfile::tempdir().unwrap();
        shape_dependent_lab(root.path(), boundary);
        let output = bin()
            .args(["lab", "check", "--labs"])
            .arg(root.path())
            .arg("--data-dir")
            .arg(root.path().join("data"))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(code), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
        assert!(stdout.contains("at shape (16, 24, 20, 3)") && stdout.contains("at shape (64, 24, 20, 3)"));
        assert_eq!(stdout.contains("depends on the shape"), code == 1, "{stdout}");
        assert!(
            !stdout.contains("larger") && !stdout.contains("smaller"),
            "no answers without --answers-key: {stdout}"
        );
    }
}

#[test]
fn every_problem_of_an_answers_file_is_reported_at_once() {
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("many.toml");
    std::fs::write(
        &file,
        "[answers]\nheader_byte = 128\ndefault_dtype = \"int128\"\ndefault_first_value = \"147\"\nraw_smaller_by = true\n",
    )
    .unwrap();
    let output = bin()
        .args(["lab", "run", "1", "--answers"])
        .arg(&file)
        .arg("--data-dir")
        .arg(root.path().join("d"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("3 problems"), "{stderr}");
    assert!(
        stderr.contains("did you mean 'header_bytes'")
            && stderr.contains("int128")
            && stderr.contains("raw_smaller_by"),
        "{stderr}"
    );
    assert!(!stderr.contains("[answers] default_first_value"), "\"147\" in quotes is a number: {stderr}");
}

#[test]
fn every_shipped_lab_holds_at_its_smallest_and_largest_shape() {
    let root = tempfile::tempdir().unwrap();
    let output = bin().args(["lab", "check", "--data-dir"]).arg(root.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    for entry in lab::load_all(&project().join("experiments/labs"), &project().join("experiments")).unwrap() {
        let l = entry.lab.unwrap();
        assert!(l.shapes.len() >= 2, "lab {} declares the shapes it supports", l.number);
        for shape in [&l.shapes[0], &l.shapes[l.shapes.len() - 1]] {
            let heading = format!("lab {} ({})", l.number, l.id);
            let section = stdout.split(&heading).nth(1).unwrap();
            assert!(section.contains(&format!("at shape {}", shape.python())), "{heading}: {stdout}");
        }
    }
    assert!(!stdout.contains("PROBLEM") && !stdout.contains(" -> "), "no problem, no answer key: {stdout}");
}

#[test]
fn check_fails_on_a_question_whose_right_answer_contradicts_its_own_explanation() {
    // The header is 128 bytes at every shape: an explanation that argues for "more than a
    // page" is contradicted by every measurement, one that argues for "under a page" holds.
    for (explains, code) in [("b", 1), ("a", 0)] {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("01_header.md"), "# Header\n").unwrap();
        std::fs::write(
            root.path().join("01_header.toml"),
            format!(
                r#"
id = "header"
title = "How long is the header?"
handout = "01_header.md"
experiments = ["npy_load_mmap"]
cache = ["warm"]
shapes = ["16x24x20x3", "32x24x20x3"]

[[question]]
id = "header"
text = "How long is the .npy header?"
quantity = "dataset.npy_header_bytes"
choices = [{{ text = "under a page", max = 4096 }}, {{ text = "a page or more", min = 4096 }}]
explains = "{explains}"
explain = "The header is padded to a multiple of 64 bytes and holds a short dict."
"#
            ),
        )
        .unwrap();
        for key in [false, true] {
            let mut cmd = bin();
            cmd.args(["lab", "check", "--labs"])
                .arg(root.path())
                .arg("--data-dir")
                .arg(root.path().join("data"));
            if key {
                cmd.arg("--answers-key");
            }
            let output = cmd.output().unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert_eq!(
                output.status.code(),
                Some(code),
                "{stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            );
            assert_eq!(
                stdout.matches("contradicts the question's own explanation").count(),
                2 * code as usize,
                "{stdout}"
            );
            // The answers only with the key.
            assert_eq!(stdout.contains("under a page"), key, "{stdout}");
        }
    }
    // An explains that names no choice is refused when the lab is loaded.
    let root = tempfile::tempdir().unwrap();
    shape_dependent_lab(root.path(), 500_000);
    let spec = root.path().join("01_size.toml");
    let text = std::fs::read_to_string(&spec).unwrap();
    std::fs::write(&spec, text.replace("explain = ", "explains = \"z\"\nexplain = ")).unwrap();
    let stderr = common::refused(
        &["lab", "list", "--labs", common::s(root.path())],
        &["01_size.toml", "question 'big'", "explains"],
    );
    assert!(stderr.contains("not one of the choices"), "{stderr}");
}
