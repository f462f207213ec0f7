//! `lab grade`: a class's answers files against one measurement, a row per student and
//! question, and a summary of what the class got wrong most.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

use super::answers::{self, Answers};
use super::args::GradeArgs;
use super::grade::{self, LabGrade, Verdict};
use super::run::{exit_code, measure_or_read};
use super::spec::{LabSpec, QuestionKind};
use crate::error::input;

/// One student's graded file.
#[derive(Debug, Serialize)]
pub struct StudentGrade {
    /// The student's id: `student = "..."` in the file, or the file's name.
    pub student: String,
    /// The answers file.
    pub file: PathBuf,
    /// The grade.
    pub grade: LabGrade,
}

/// One question across the class.
#[derive(Debug, Default, Serialize)]
pub struct QuestionSummary {
    /// The question's id.
    pub id: String,
    /// Counts of each verdict, by name.
    pub verdicts: BTreeMap<&'static str, usize>,
    /// The wrong choice picked most (`b) ...`) and by how many, for choice questions.
    pub most_common_wrong: Option<(String, usize)>,
}

/// Every answers file `paths` name: files as given, folders' *.toml in name order.
fn answer_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut inside = crate::assets::files_in(p, "toml")
                .map_err(|e| input(format!("{}: cannot read the folder: {e}", p.display())))?;
            inside.sort();
            if inside.is_empty() {
                return Err(input(format!("{}: holds no answers file (*.toml)", p.display())));
            }
            out.extend(inside);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn student_of(path: &Path, a: &Answers) -> String {
    a.1.clone()
        .unwrap_or_else(|| path.file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned()))
}

/// Runs `lab grade`; returns the exit code.
pub fn grade_class(lab: &LabSpec, args: &GradeArgs) -> Result<u8> {
    // Every file is read and checked before anything is measured; all problems at once.
    let files = answer_files(&args.answers)?;
    let mut read: Vec<(PathBuf, Answers)> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    for f in files {
        match answers::read(&f, lab) {
            Ok(a) => read.push((f, a)),
            Err(e) => problems.push(format!("{e:#}")),
        }
    }
    let mut seen: BTreeMap<String, &Path> = BTreeMap::new();
    for (f, a) in &read {
        if let Some(other) = seen.insert(student_of(f, a), f) {
            problems.push(format!(
                "{} and {} are both student '{}': give each answers file its own student id",
                other.display(),
                f.display(),
                student_of(f, a)
            ));
        }
    }
    if !problems.is_empty() {
        return Err(input(format!(
            "{} problem(s) in the answers files; nothing was measured:\n  {}",
            problems.len(),
            problems.join("\n  ")
        )));
    }
    if let Some(csv) = &args.csv {
        crate::fsio::regular_or_missing(csv, "--csv")?;
    }
    let Some(m) = measure_or_read(lab, &args.place, None, None)? else {
        return Ok(130);
    };
    let students: Vec<StudentGrade> = read
        .into_iter()
        .map(|(file, a)| StudentGrade {
            student: student_of(&file, &a),
            grade: grade::grade(lab, &m.evidence(), &m.repeats, &a, true),
            file,
        })
        .collect();
    let summary = summarise(lab, &students);
    if let Some(csv) = &args.csv {
        super::record::write_replacing(csv, &to_csv(&students)?)?;
    }
    if args.json {
        #[derive(Serialize)]
        struct ClassJson<'a> {
            lab: u32,
            id: &'a str,
            results: &'a Path,
            students: &'a [StudentGrade],
            summary: &'a [QuestionSummary],
        }
        let json = ClassJson {
            lab: lab.number,
            id: &lab.id,
            results: &m.results_path,
            students: &students,
            summary: &summary,
        };
        crate::outln!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        crate::out!("{}", render_summary(lab, &students, &summary));
        crate::outln!("Measured results: {}", m.results_path.display());
        if let Some(csv) = &args.csv {
            crate::outln!("Grades per student and question: {}", csv.display());
        }
    }
    Ok(students.iter().map(|s| exit_code(&s.grade.score)).max().unwrap_or(0))
}

fn to_csv(students: &[StudentGrade]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["student", "file", "question", "answer", "verdict", "measured", "right_answer"])?;
    for s in students {
        for g in &s.grade.questions {
            w.write_record([
                s.student.as_str(),
                &s.file.display().to_string(),
                &g.id,
                g.answer.as_deref().unwrap_or(""),
                g.verdict.name(),
                g.measured_text.as_deref().unwrap_or(""),
                g.right_answer.as_deref().unwrap_or(""),
            ])?;
        }
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("writing the CSV: {e}"))
}

fn summarise(lab: &LabSpec, students: &[StudentGrade]) -> Vec<QuestionSummary> {
    lab.questions
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let mut s = QuestionSummary { id: q.id.clone(), ..QuestionSummary::default() };
            let mut wrong: BTreeMap<char, usize> = BTreeMap::new();
            for st in students {
                let g = &st.grade.questions[i];
                *s.verdicts.entry(g.verdict.name()).or_default() += 1;
                if let (Verdict::Wrong, Some(c)) = (g.verdict, g.choice) {
                    *wrong.entry(c).or_default() += 1;
                }
            }
            if let (Some((letter, n)), QuestionKind::Choice { choices }) =
                (wrong.iter().max_by_key(|(l, n)| (**n, std::cmp::Reverse(**l))), &q.kind)
            {
                let text =
                    choices.iter().find(|c| c.letter == *letter).map_or(String::new(), |c| c.text.clone());
                s.most_common_wrong = Some((format!("{letter}) {text}"), *n));
            }
            s
        })
        .collect()
}

fn render_summary(lab: &LabSpec, students: &[StudentGrade], summary: &[QuestionSummary]) -> String {
    let mut out =
        format!("Lab {}: {} — {} student(s), one measurement\n\n", lab.number, lab.title, students.len());
    for s in students {
        let sc = &s.grade.score;
        out.push_str(&format!("  {:<20} {} of {} right\n", s.student, sc.right, sc.total));
    }
    out.push_str("\nPer question (right / wrong / not answered / too close / not gradable):\n");
    for q in summary {
        let n = |k: &str| q.verdicts.get(k).copied().unwrap_or(0);
        out.push_str(&format!(
            "  {:<28} {} / {} / {} / {} / {}",
            q.id,
            n("right"),
            n("wrong"),
            n("unanswered"),
            n("too_close"),
            n("not_gradable")
        ));
        if let Some((choice, count)) = &q.most_common_wrong {
            out.push_str(&format!("   most common wrong: {choice} ({count})"));
        }
        out.push('\n');
    }
    out
}
