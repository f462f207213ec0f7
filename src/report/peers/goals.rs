//! mmap-lab's goals against NumPy, judged on the headline's paired rounds, and the headline
//! paragraph that states them.

use std::fmt::Write as _;

use super::{faster, ratio, show_ratio};
use crate::results::{PeerResult, RoundTimes, SideBySide, StepResult};
use crate::stats::{median_range, median_spread};
use crate::units::{Nanos, human_nanos};

/// Goals mmap-lab sets itself against NumPy, checked on the medians of the rounds:
/// `(what, NumPy ÷ Rust at least)`.
const GOALS: [(&str, f64); 2] =
    [("open plus first element at least 20× faster", 20.0), ("full pass at least as fast", 1.0)];

/// The headline from the rounds: medians and ranges of both sides, and the goals.
pub(super) fn rounds_headline(md: &mut String, side: &SideBySide, pairs: &[(&StepResult, &PeerResult)]) {
    let call = pairs.iter().find(|(s, _)| s.key() == side.step).map_or("NumPy", |(_, p)| p.call.as_str());
    let summary = |times: &[RoundTimes], pick: fn(&RoundTimes) -> Option<Nanos>| {
        median_range(times.iter().filter_map(pick))
    };
    let show = |m: Option<(u64, u64, u64)>| match m {
        Some((median, lo, hi)) => {
            format!("{} ({}–{})", human_nanos(median), human_nanos(lo), human_nanos(hi))
        }
        None => "–".to_owned(),
    };
    let _ = writeln!(
        md,
        "Headline, `{}` run {} times (the step's own run and {} more rounds, Rust and NumPy taking turns \
         at going first, each in a fresh process after the same cache preparation); medians, with the \
         range in brackets:\n",
        side.step,
        side.rust.len(),
        side.rust.len() - 1
    );
    let mut ratios = Vec::new();
    for (what, pick) in [
        ("Open plus first element", (|t: &RoundTimes| t.open_first_ns) as fn(&RoundTimes) -> Option<Nanos>),
        ("Full pass (`X.sum()`)", |t: &RoundTimes| t.pass_ns),
    ] {
        let (rust, numpy) = (summary(&side.rust, pick), summary(&side.numpy, pick));
        let r = ratio(rust.map(|m| m.0), numpy.map(|m| m.0));
        let (rust_name, numpy_name) = if ratios.is_empty() {
            ("Rust `load_mmap`".to_owned(), format!("NumPy `{call}`"))
        } else {
            ("Rust".to_owned(), "NumPy".to_owned())
        };
        let _ = writeln!(
            md,
            "- {what}: {rust_name} {}, {numpy_name} {}{}",
            show(rust),
            show(numpy),
            r.map_or(String::new(), |r| format!(": Rust {}", faster(r)))
        );
        ratios.push(r);
    }
    md.push_str(
        "\nmmap-lab's goals against NumPy, judged on each round's NumPy ÷ Rust (a round's two runs share the \
         machine's state; the median of the rounds, ± the median distance from it): ",
    );
    let verdicts: Vec<String> = goals(side)
        .into_iter()
        .map(|g| match (g.verdict, g.shown) {
            (GoalVerdict::NotMeasured, _) => format!("{}: not measured", g.what),
            (GoalVerdict::WithinSpread, Some(shown)) => {
                format!("{}: **{}** ({shown}: not measurably short of it)", g.what, g.verdict.name())
            }
            (verdict, shown) => format!("{}: **{}** ({})", g.what, verdict.name(), shown.unwrap_or_default()),
        })
        .collect();
    md.push_str(&verdicts.join("; "));
    md.push_str(
        ". Both sides have their code paged in before the clock starts (mmap-lab's binary as NumPy's import \
         has NumPy's). Rust's open plus first element is then five system calls (open, statx, read, mmap, \
         close), the header parsed, and one page fault; in a fresh process they take several times what the \
         same work takes when repeated in one process (`cargo bench`), while NumPy's is mostly Python running \
         `np.load`'s code for the first time, importing Python's `mmap` module with it (`import numpy` \
         leaves that to the first mapping, as in the tutorial's own script). Both passes read the same \
         pages of the page cache through the same kind of mapping and are bound by memory, so they stay \
         close.\n\n",
    );
}

/// How one of mmap-lab's goals against NumPy fared over the rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoalVerdict {
    /// The median of the rounds' ratios reaches it.
    Met,
    /// Short of it by less than the rounds' spread.
    WithinSpread,
    /// Short of it by more than the spread.
    NotMet,
    /// No round has both times.
    NotMeasured,
}

impl GoalVerdict {
    /// `met`, `met within the rounds' spread`, `not met`, `not measured`.
    pub fn name(self) -> &'static str {
        match self {
            GoalVerdict::Met => "met",
            GoalVerdict::WithinSpread => "met within the rounds' spread",
            GoalVerdict::NotMet => "not met",
            GoalVerdict::NotMeasured => "not measured",
        }
    }
}

/// One goal, judged.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalCheck {
    /// The goal, in words.
    pub what: &'static str,
    /// How it fared.
    pub verdict: GoalVerdict,
    /// The rounds' median NumPy ÷ Rust and its spread, `31× ± 7.92×`.
    pub shown: Option<String>,
}

/// mmap-lab's goals against NumPy, each judged on the rounds' paired ratios.
pub fn goals(side: &SideBySide) -> Vec<GoalCheck> {
    let picks: [fn(&RoundTimes) -> Option<Nanos>; 2] = [|t| t.open_first_ns, |t| t.pass_ns];
    GOALS
        .iter()
        .zip(picks)
        .map(|(&(what, least), pick)| match median_spread(&paired_ratios(side, pick)) {
            Some((r, spread)) => GoalCheck {
                what,
                verdict: if r >= least {
                    GoalVerdict::Met
                } else if r + spread >= least {
                    GoalVerdict::WithinSpread
                } else {
                    GoalVerdict::NotMet
                },
                shown: Some(format!("{} ± {:.2}×", show_ratio(Some(r)), spread)),
            },
            None => GoalCheck { what, verdict: GoalVerdict::NotMeasured, shown: None },
        })
        .collect()
}

/// Each round's NumPy ÷ Rust, for the rounds where both sides have the time.
fn paired_ratios(side: &SideBySide, pick: fn(&RoundTimes) -> Option<Nanos>) -> Vec<f64> {
    side.rust.iter().zip(&side.numpy).filter_map(|(r, n)| ratio(pick(r), pick(n))).collect()
}
