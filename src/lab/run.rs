//! Measuring a lab: its experiments through the suite, the steps its timed questions read
//! again until each timed quantity has [`LabSpec::repeats`] runs, its program under
//! `mmap-lab measure` (for a lab with one), and the lab's record.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::args::WhereArgs;
use super::evidence::Evidence;
use super::program::record::ProgramRecord;
use super::record::LabRecord;
use super::spec::LabSpec;
use super::stats::Repeated;
use crate::cache::CacheState;
use crate::dataset::{self, DatasetSpec};
use crate::dtype::Dtype;
use crate::error::input;
use crate::peer::PeerChoice;
use crate::results::Results;
use crate::runner::RunOptions;
use crate::shape::Shape;
use crate::suite::{self, SuiteOptions};

/// Exit code of `lab run` and `lab grade` when a question is not gradable on this machine
/// (its lesson needs what the machine cannot give, as a cold cache on tmpfs); every other
/// question is graded as usual.
pub const EXIT_NOT_GRADABLE: u8 = 3;

/// Where a lab measures, and at what size.
#[derive(Debug, Clone)]
pub struct Placement {
    /// The array's shape.
    pub shape: Shape,
    /// The data folder.
    pub data_dir: PathBuf,
    /// The report folder (results.json and the lab's record).
    pub out: PathBuf,
}

/// A finished measurement.
#[derive(Debug)]
pub struct Measurement {
    /// What the suite measured.
    pub results: Results,
    /// Its results.json.
    pub results_path: PathBuf,
    /// Timed questions' runs, by question id, in base units.
    pub repeats: BTreeMap<String, Repeated>,
    /// The lab's program as run, for a lab with one.
    pub program: Option<ProgramRecord>,
}

impl Measurement {
    /// What its questions are graded against.
    pub fn evidence(&self) -> Evidence<'_> {
        Evidence::with(&self.results, self.program.as_ref())
    }
}

fn run_options(lab: &LabSpec) -> RunOptions {
    RunOptions {
        caches: lab.cache.clone(),
        step_timeout: crate::runner::DEFAULT_STEP_TIMEOUT,
        numpy: crate::peer::PeerChoice::Without("a lab measures with mmap-lab alone".to_owned()),
        rounds: 1,
    }
}

fn dataset_spec(place: &Placement) -> DatasetSpec {
    DatasetSpec { shape: place.shape.clone(), dtype: Dtype::F8, seed: 0 }
}

/// The nearest folder of `dir` that exists, for what its file system tells before anything
/// is written.
pub fn existing_ancestor(dir: &Path) -> PathBuf {
    let mut at = dir.to_path_buf();
    while !at.exists() {
        match at.parent() {
            Some(p) if !p.as_os_str().is_empty() => at = p.to_path_buf(),
            _ => return PathBuf::from("."),
        }
    }
    at
}

/// The questions the machine cannot grade whatever is measured, with the reason, from the
/// data folder's file system and kernel: said before measuring.
pub fn not_gradable_up_front(lab: &LabSpec, data_dir: &Path) -> Vec<(String, String)> {
    let machine = crate::machine::Machine::detect(&existing_ancestor(data_dir));
    lab.questions
        .iter()
        .filter_map(|q| {
            q.needs.iter().find_map(|n| n.unmet_by_machine(&machine)).map(|why| (q.id.clone(), why))
        })
        .collect()
}

/// Runs `lab`'s experiments at `place`, then its timed steps again, then its program with
/// `python`; `None` when interrupted (what was measured is kept beside the report).
pub fn measure(
    lab: &LabSpec,
    place: &Placement,
    command: String,
    python: &PeerChoice,
) -> Result<Option<Measurement>> {
    let options = SuiteOptions {
        dataset: dataset_spec(place),
        data_dir: place.data_dir.clone(),
        out: place.out.clone(),
        specs: lab.experiments.clone(),
        regenerate: false,
        files: dataset::Files::Both,
        run: run_options(lab),
        command,
    };
    crate::errln!(
        "lab {}: measuring {} step(s) on an array of {} float64 in {}",
        lab.number,
        lab.planned_steps().len(),
        place.shape.python(),
        place.data_dir.display()
    );
    let outcome = suite::run(&options, &mut crate::console::Terminal::default())?;
    if !outcome.results.run.complete {
        return Ok(None);
    }
    let repeats = match repeat_timed(lab, place, &outcome.results)? {
        Some(r) => r,
        None => return Ok(None),
    };
    let program = match &lab.program {
        Some(spec) => {
            crate::errln!(
                "lab {}: running its program under `mmap-lab measure` (at most {} s)",
                lab.number,
                spec.timeout.as_secs()
            );
            let _lock = dataset::lock(&place.data_dir)?;
            match super::program::run(spec, python, &place.data_dir, &place.out)? {
                Some(p) => Some(p),
                None => return Ok(None),
            }
        }
        None => None,
    };
    let results_path = place.out.join("results.json");
    Ok(Some(Measurement { results: outcome.results, results_path, repeats, program }))
}

/// The steps timed questions read, measured `lab.repeats - 1` more times; each timed
/// question's quantity resolved in every run (the suite's first). `None` when interrupted.
fn repeat_timed(
    lab: &LabSpec,
    place: &Placement,
    first: &Results,
) -> Result<Option<BTreeMap<String, Repeated>>> {
    let timed: Vec<&super::spec::Question> = lab.questions.iter().filter(|q| q.timed).collect();
    let mut runs: Vec<Results> = vec![first.clone()];
    let wanted: Vec<(String, CacheState)> =
        timed.iter().flat_map(|q| q.quantity.steps().into_iter().map(|(id, c)| (id.to_owned(), c))).collect();
    if !wanted.is_empty() && lab.repeats > 1 {
        let lock = dataset::lock(&place.data_dir)?;
        let (data, _) = dataset::ensure_held(
            &dataset_spec(place),
            &place.data_dir,
            dataset::Files::Both,
            &lock,
            &crate::progress::BytesProgress::default(),
        )?;
        let specs: Vec<crate::spec::ExperimentSpec> =
            lab.experiments.iter().map(|s| s.spec.clone()).collect();
        let options = run_options(lab);
        let mut plans: Vec<crate::step::StepPlan> = crate::runner::plan(&specs, &data, &options)
            .into_iter()
            .filter(|p| wanted.iter().any(|(id, c)| *id == p.result_id() && *c == p.cache))
            .collect();
        // Cold steps first: each warm step then finds the file cached as the cold pass just
        // before it left it, the same in every run. After the suite's random steps and the
        // data check it would find it in smaller folios, and a warm pass over those faults
        // 10-20 times as often and takes 2-3 times as long (docs/labs.md, "Timed questions").
        plans.sort_by_key(|p| p.cache != CacheState::Cold);
        crate::errln!(
            "lab {}: {} more run(s) of the {} step(s) its timed questions read",
            lab.number,
            lab.repeats - 1,
            plans.len()
        );
        let mut reserve = crate::cache::MemoryReserve::new();
        for _ in 1..lab.repeats {
            let (steps, complete) = crate::runner::run_steps(&plans, &options, &mut reserve, |_, _| {})?;
            if !complete {
                return Ok(None);
            }
            let mut again = first.clone();
            for s in steps {
                if let Some(slot) = again.steps.iter_mut().find(|x| x.id == s.id && x.cache == s.cache) {
                    *slot = s;
                }
            }
            runs.push(again);
        }
    }
    let mut out = BTreeMap::new();
    for q in timed {
        let values: Vec<f64> = runs
            .iter()
            .filter_map(|r| match q.quantity.resolve(r) {
                Ok(super::value::Value::Number(n)) => Some(n),
                _ => None,
            })
            .collect();
        if values.len() == runs.len() {
            if let Some(r) = Repeated::of(values) {
                out.insert(q.id.clone(), r);
            }
        }
    }
    Ok(Some(out))
}

/// Writes the lab's record of `m` and its predictions beside its results.json.
pub fn record(
    lab: &LabSpec,
    m: &Measurement,
    answers: Option<&super::answers::Answers>,
    predicted_at: Option<String>,
) -> Result<LabRecord> {
    LabRecord {
        lab: lab.id.clone(),
        shape: m.results.dataset.shape.python(),
        predicted_at,
        predictions: answers.map(|a| super::answers::as_written(lab, a)).unwrap_or_default(),
        student: answers.and_then(|a| a.1.clone()),
        measured_at: now(),
        repeats: m.repeats.clone(),
        program: m.program.clone(),
        checksum: String::new(),
    }
    .write(&m.results_path)
}

/// Reads an earlier measurement of `lab` from `results_path`, refusing results edited by hand.
pub fn earlier(lab: &LabSpec, results_path: &Path) -> Result<Measurement> {
    let record = LabRecord::read_verified(results_path, &lab.id)?;
    Ok(Measurement {
        results: Results::read(results_path)?,
        results_path: results_path.to_owned(),
        repeats: record.repeats,
        program: record.program,
    })
}

/// Now, RFC 3339 in seconds.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The command line as typed, for the report.
pub fn command_line() -> String {
    std::env::args()
        .map(|a| if a.contains(char::is_whitespace) { format!("'{a}'") } else { a })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Steps of the lab that ended otherwise than their spec expects, in words.
pub fn unexpected_steps(lab: &LabSpec, results: &Results) -> Vec<String> {
    lab.planned_steps()
        .iter()
        .filter_map(|p| results.step(&p.result_id, p.cache))
        .filter(|s| s.status != s.expected_status)
        .map(|s| {
            format!(
                "step {} ended {} where its spec expects {}{}",
                s.key(),
                s.status.name(),
                s.expected_status.name(),
                s.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
            )
        })
        .collect()
}

/// Where `lab run` or `lab grade` measures.
pub fn placement(lab: &LabSpec, args: &WhereArgs) -> Result<Placement> {
    let root = Path::new(".");
    let shape = match (&args.shape, args.full) {
        (Some(shape), _) => shape.clone(),
        (None, true) => Shape::tutorial(),
        (None, false) => Shape::parse(super::spec::DEFAULT_SHAPE).map_err(|e| input(e.to_string()))?,
    };
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| if args.full { root.join("data") } else { root.join("data").join("labs") });
    let out = args.out.clone().unwrap_or_else(|| data_dir.join(format!("{}-report", lab.stem())));
    Ok(Placement { shape, data_dir, out })
}

/// Measures `lab` (or reads an earlier, verified measurement), saying first which questions
/// cannot be graded on this machine. `None` when interrupted.
pub fn measure_or_read(
    lab: &LabSpec,
    args: &WhereArgs,
    answers: Option<&super::answers::Answers>,
    predicted_at: Option<String>,
) -> Result<Option<Measurement>> {
    if let Some(path) = &args.results {
        return Ok(Some(earlier(lab, path)?));
    }
    let place = placement(lab, args)?;
    crate::suite::check_paths(&place.data_dir, &place.out)?;
    let (smallest, largest) = (&lab.shapes[0], &lab.shapes[lab.shapes.len() - 1]);
    if place.shape.len() < smallest.len() || place.shape.len() > largest.len() {
        crate::errln!(
            "lab {}: note: it supports shapes from {} to {}; at {} some right answers may not hold",
            lab.number,
            smallest.python(),
            largest.python(),
            place.shape.python()
        );
    }
    let python = match &lab.program {
        Some(_) => super::program::choose_python(args.python.as_deref(), args.no_python)?,
        None => PeerChoice::Without("the lab runs no program".to_owned()),
    };
    let mut up_front = not_gradable_up_front(lab, &place.data_dir);
    if let PeerChoice::Without(why) = &python {
        let program_questions = lab.questions.iter().filter(|q| q.quantity.reads_program());
        up_front.extend(program_questions.map(|q| (q.id.clone(), why.clone())));
    }
    for (id, why) in up_front {
        crate::errln!("lab {}: question {id} is not gradable here: {why}", lab.number);
    }
    let Some(m) = measure(lab, &place, command_line(), &python)? else {
        crate::errln!(
            "interrupted: nothing graded; what was measured is in {}",
            crate::suite::incomplete_dir(&place.out).display()
        );
        return Ok(None);
    };
    record(lab, &m, answers, predicted_at)?;
    Ok(Some(m))
}

/// The exit code for a graded lab.
pub fn exit_code(score: &super::grade::Score) -> u8 {
    if score.not_gradable > 0 {
        EXIT_NOT_GRADABLE
    } else if score.unchecked > 0 {
        1
    } else {
        0
    }
}
