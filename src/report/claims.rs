//! The tutorial's claims, checked against the numbers of one run.
//!
//! Every verdict is computed from `results.json`: change a number and the verdict follows.
//! A claim whose steps did not run (or failed) is "not measured", never guessed.

use crate::dtype::Kind;
use crate::probe::{Phase, Snapshot};
use crate::results::{Results, StepResult};
use crate::units::{Bytes, grouped, human_bytes, human_delta};

use super::view::pick;

/// What the numbers say of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The numbers agree with the claim.
    Holds,
    /// The numbers contradict it.
    DoesNotHold,
    /// True as far as it goes, but it leads to a wrong conclusion.
    Misleading,
    /// The steps it needs did not run, or failed.
    NotMeasured,
}

impl Verdict {
    /// How the report writes it.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::DoesNotHold => "does not hold",
            Verdict::Misleading => "misleading",
            Verdict::NotMeasured => "not measured",
        }
    }
}

/// One claim of the tutorial and what this run measured of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimCheck {
    /// The claim, as the tutorial makes it.
    pub claim: &'static str,
    /// The value measured in this run.
    pub measured: String,
    /// Holds, does not hold, misleading, or not measured.
    pub verdict: Verdict,
    /// Why, in a sentence or two.
    pub explanation: String,
}

impl ClaimCheck {
    fn not_measured(claim: &'static str, missing: &str) -> ClaimCheck {
        ClaimCheck {
            claim,
            measured: "–".to_owned(),
            verdict: Verdict::NotMeasured,
            explanation: format!("The step `{missing}` did not run to completion in this run."),
        }
    }
}

/// Every claim, checked, in the tutorial's order.
pub fn check(run: &Results) -> Vec<ClaimCheck> {
    vec![
        load_mmap_reads_nothing(run),
        memmap_is_one_d(run),
        memmap_gives_integers(run),
        float64_still_differs(run),
        raw_is_identical(run),
        raw_is_smaller(run),
        object_is_tiny(run),
        memory_does_not_change(run),
        load_reads_everything(run),
    ]
}

/// Bytes of the array's data: the raw file's size.
fn data_bytes(run: &Results) -> Bytes {
    run.dataset.raw_bytes
}

/// Growth of a byte count from the baseline to the end of the step's access.
fn growth(step: &StepResult, to: Phase, field: fn(&Snapshot) -> u64) -> Option<i64> {
    step.delta(Phase::BeforeOpen, to, field)
}

fn load_mmap_reads_nothing(run: &Results) -> ClaimCheck {
    const CLAIM: &str = "`np.load(mmap_mode='r')` gives the array without reading it into memory.";
    let Some(s) = pick(run, "npy_load_mmap") else { return ClaimCheck::not_measured(CLAIM, "npy_load_mmap") };
    let (Some(anon), Some(rss)) =
        (growth(s, Phase::AfterOpen, |x| x.rss_anon_bytes), growth(s, Phase::AfterOpen, |x| x.rss_bytes))
    else {
        return ClaimCheck::not_measured(CLAIM, "npy_load_mmap");
    };
    let half = (data_bytes(run) / 2) as i64;
    let measured = format!(
        "at open: RSS {}, RssAnon {} (array {})",
        human_delta(rss),
        human_delta(anon),
        human_bytes(data_bytes(run))
    );
    let same = s.matches_original == Some(true);
    let (verdict, explanation) = if same && anon < half {
        (
            Verdict::Holds,
            "The header is parsed and the data mapped; nothing of it is read until an element is touched, so the process's own memory (RssAnon) does not take the array.".to_owned(),
        )
    } else if !same {
        (Verdict::DoesNotHold, "The mapped array is not the original.".to_owned())
    } else {
        (
            Verdict::DoesNotHold,
            "Opening grew the process's own memory (RssAnon) by half the array or more.".to_owned(),
        )
    };
    ClaimCheck { claim: CLAIM, measured, verdict, explanation }
}

fn memmap_is_one_d(run: &Results) -> ClaimCheck {
    const CLAIM: &str = "`np.memmap('X_train.npy')` gives a 1-D array: the shape is lost.";
    let Some(s) = pick(run, "npy_memmap_default") else {
        return ClaimCheck::not_measured(CLAIM, "npy_memmap_default");
    };
    let Some(shape) = &s.shape else { return ClaimCheck::not_measured(CLAIM, "npy_memmap_default") };
    let measured = format!("shape {}", shape.python());
    if shape.ndim() == 1 {
        let per_byte = if shape.len() == run.dataset.npy_bytes && s.dtype.is_some_and(|d| d.itemsize() == 1) {
            format!(
                ": one element per byte of the file ({} bytes), header included",
                grouped(run.dataset.npy_bytes)
            )
        } else {
            String::new()
        };
        ClaimCheck {
            claim: CLAIM,
            measured,
            verdict: Verdict::Holds,
            explanation: format!(
                "np.memmap does not read the .npy header, and without `shape=` it maps everything after the offset as one axis{per_byte}."
            ),
        }
    } else {
        ClaimCheck {
            claim: CLAIM,
            measured,
            verdict: Verdict::DoesNotHold,
            explanation: format!("The array has {} axes.", shape.ndim()),
        }
    }
}

fn memmap_gives_integers(run: &Results) -> ClaimCheck {
    const CLAIM: &str = "`np.memmap('X_train.npy')` gives integers, not the original floats.";
    let Some(s) = pick(run, "npy_memmap_default") else {
        return ClaimCheck::not_measured(CLAIM, "npy_memmap_default");
    };
    let Some(dtype) = s.dtype else { return ClaimCheck::not_measured(CLAIM, "npy_memmap_default") };
    let first: Vec<String> = s.first_values.iter().take(6).map(|v| crate::units::format_value(*v)).collect();
    let measured = format!("dtype {dtype}, first values {}", first.join(" "));
    let integer = matches!(dtype.kind, Kind::UInt | Kind::Int | Kind::Bool);
    let magic = s.first_values.len() >= 6 && s.first_values[..6] == [147.0, 78.0, 85.0, 77.0, 80.0, 89.0];
    let explanation = if integer {
        format!(
            "np.memmap's default dtype is uint8: every byte is one value{}.",
            if magic { ", and the first are the header's magic string `\\x93NUMPY`" } else { "" }
        )
    } else {
        format!("The array's dtype is {dtype}, not an integer type.")
    };
    ClaimCheck {
        claim: CLAIM,
        measured,
        verdict: if integer { Verdict::Holds } else { Verdict::DoesNotHold },
        explanation,
    }
}

fn float64_still_differs(run: &Results) -> ClaimCheck {
    const CLAIM: &str =
        "With `dtype='float64'` the values still differ from the original: you need another format.";
    let Some(f) = pick(run, "npy_memmap_float64") else {
        return ClaimCheck::not_measured(CLAIM, "npy_memmap_float64");
    };
    let Some(matches) = f.matches_original else {
        return ClaimCheck::not_measured(CLAIM, "npy_memmap_float64");
    };
    let itemsize = f.dtype.map_or(8, |d| d.itemsize()).max(1);
    let header_elements = run.dataset.npy_header_bytes / itemsize;
    let shifted_by_header = f.original_at_element == Some(header_elements) && header_elements > 0;
    let offset = pick(run, "npy_memmap_offset").and_then(|o| o.matches_original);
    let at = f
        .original_at_element
        .map_or("not within the first 64 elements".to_owned(), |k| format!("at element {k}"));
    let measured = format!(
        "differs: {}; original {at}; with offset={}: {}",
        if matches { "no" } else { "yes" },
        run.dataset.npy_header_bytes,
        match offset {
            Some(true) => "identical",
            Some(false) => "still differs",
            None => "not measured",
        }
    );
    let (verdict, explanation) = match (matches, shifted_by_header, offset) {
        (true, _, _) => (Verdict::DoesNotHold, "The values equal the original.".to_owned()),
        (false, true, Some(true)) => (
            Verdict::Misleading,
            format!(
                "They differ, but only because the {}-byte header is read as {header_elements} values of garbage and the data follows shifted by {header_elements}. `offset={}` with the shape maps the .npy exactly: no other format is needed.",
                run.dataset.npy_header_bytes, run.dataset.npy_header_bytes
            ),
        ),
        (false, _, None) => (
            Verdict::Holds,
            "The values differ; whether an offset fixes it was not measured (the step `npy_memmap_offset` did not run).".to_owned(),
        ),
        (false, _, Some(_)) => (
            Verdict::Holds,
            "The values differ, and mapping past the header did not give the original either.".to_owned(),
        ),
    };
    ClaimCheck { claim: CLAIM, measured, verdict, explanation }
}

fn raw_is_identical(run: &Results) -> ClaimCheck {
    const CLAIM: &str =
        "Saved with `tofile` and mapped with dtype and shape, the array is identical to the original.";
    let Some(s) = pick(run, "raw_memmap_shape") else {
        return ClaimCheck::not_measured(CLAIM, "raw_memmap_shape");
    };
    let Some(same) = s.matches_original else { return ClaimCheck::not_measured(CLAIM, "raw_memmap_shape") };
    ClaimCheck {
        claim: CLAIM,
        measured: format!(
            "identical: {}; shape {}",
            if same { "yes" } else { "no" },
            s.shape.as_ref().map_or("–".to_owned(), |x| x.python())
        ),
        verdict: if same { Verdict::Holds } else { Verdict::DoesNotHold },
        explanation: if same {
            "The raw file is the data alone. Its dtype and shape are stored nowhere: the reader must know them.".to_owned()
        } else {
            "The mapped array differs from the original.".to_owned()
        },
    }
}

fn raw_is_smaller(run: &Results) -> ClaimCheck {
    const CLAIM: &str = "The raw file is a few hundred megabytes smaller than the .npy.";
    const HUNDREDS_OF_MEGABYTES: Bytes = 100_000_000;
    let d = &run.dataset;
    let measured =
        format!("`X_train.npy` {} B, `X_train_raw.rbf` {} B", grouped(d.npy_bytes), grouped(d.raw_bytes));
    let Some(saved) = d.npy_bytes.checked_sub(d.raw_bytes) else {
        return ClaimCheck {
            claim: CLAIM,
            measured,
            verdict: Verdict::DoesNotHold,
            explanation: "The raw file is the larger one.".to_owned(),
        };
    };
    let (verdict, explanation) = if saved >= HUNDREDS_OF_MEGABYTES {
        (Verdict::Holds, format!("The raw file is {} smaller.", human_bytes(saved)))
    } else if saved == d.npy_header_bytes {
        (
            Verdict::DoesNotHold,
            format!(
                "It is smaller by exactly the .npy header, {saved} bytes: both files hold the same data, byte for byte."
            ),
        )
    } else {
        (Verdict::DoesNotHold, format!("It is smaller by {} bytes only.", grouped(saved)))
    };
    ClaimCheck {
        claim: CLAIM,
        measured: format!("{measured}: {} B smaller", grouped(saved)),
        verdict,
        explanation,
    }
}

/// The tutorial's memory claims concern a mapping read through: the raw memmap, or
/// np.load's mapping when the raw step did not run.
fn mapping_after_full_pass(run: &Results) -> Option<&StepResult> {
    ["raw_memmap_shape", "npy_load_mmap", "npy_memmap_offset"]
        .into_iter()
        .filter_map(|id| pick(run, id))
        .find(|s| s.access == "full_pass" && s.snapshot(Phase::AfterAccess).is_some())
}

fn object_is_tiny(run: &Results) -> ClaimCheck {
    const CLAIM: &str = "The 1.4 GB array occupies only 184 bytes once mapped (`sys.getsizeof`).";
    let Some(s) = mapping_after_full_pass(run) else {
        return ClaimCheck::not_measured(CLAIM, "raw_memmap_shape");
    };
    let (Some(object), Some(rss), Some(file)) = (
        s.object_bytes,
        growth(s, Phase::AfterAccess, |x| x.rss_bytes),
        growth(s, Phase::AfterAccess, |x| x.rss_file_bytes),
    ) else {
        return ClaimCheck::not_measured(CLAIM, &s.id);
    };
    let touched = s.bytes_touched.unwrap_or(data_bytes(run));
    let measured = format!(
        "`{}`: object {} B; after a full pass RSS {}, of which RssFile {}",
        s.id,
        grouped(object),
        human_delta(rss),
        human_delta(file)
    );
    let (verdict, explanation) = if rss > (2 * object) as i64 && rss >= (touched / 2) as i64 {
        (
            Verdict::Misleading,
            format!(
                "That is the size of the array object (the Rust analogue of `sys.getsizeof`), not of its data. Reading it through made the process hold {} more: the file's pages, mapped from the page cache.",
                human_bytes(rss.unsigned_abs())
            ),
        )
    } else {
        (
            Verdict::Holds,
            "Even after a full pass the process's resident memory grew by less than half the data."
                .to_owned(),
        )
    };
    ClaimCheck { claim: CLAIM, measured, verdict, explanation }
}

fn memory_does_not_change(run: &Results) -> ClaimCheck {
    const CLAIM: &str = "Mapping the file causes no change in the amount of memory occupied.";
    let Some(s) = mapping_after_full_pass(run) else {
        return ClaimCheck::not_measured(CLAIM, "raw_memmap_shape");
    };
    let (Some(file), Some(anon), Some(open)) = (
        growth(s, Phase::AfterAccess, |x| x.rss_file_bytes),
        growth(s, Phase::AfterAccess, |x| x.rss_anon_bytes),
        growth(s, Phase::AfterOpen, |x| x.rss_bytes),
    ) else {
        return ClaimCheck::not_measured(CLAIM, &s.id);
    };
    let half = (s.bytes_touched.unwrap_or(data_bytes(run)) / 2) as i64;
    let measured = format!(
        "`{}`: at open RSS {}; after a full pass RssFile {}, RssAnon {}",
        s.id,
        human_delta(open),
        human_delta(file),
        human_delta(anon)
    );
    let (verdict, explanation) = if anon >= half {
        (Verdict::DoesNotHold, "The process's own memory (RssAnon) grew by half the data or more.".to_owned())
    } else if file >= half {
        (
            Verdict::Misleading,
            "True at open, and the process's own memory (RssAnon) stays flat. But every page read is mapped into the process: after a full pass the file sits in the page cache and counts as RssFile. The kernel can reclaim it, so it is cheap memory, not no memory.".to_owned(),
        )
    } else {
        (
            Verdict::Holds,
            "Even after a full pass, neither RssFile nor RssAnon grew by half the data.".to_owned(),
        )
    };
    ClaimCheck { claim: CLAIM, measured, verdict, explanation }
}

fn load_reads_everything(run: &Results) -> ClaimCheck {
    const CLAIM: &str =
        "`np.load` without `mmap_mode` reads the whole array into memory (what mapping avoids).";
    let Some(s) = pick(run, "npy_load") else { return ClaimCheck::not_measured(CLAIM, "npy_load") };
    let Some(anon) = growth(s, Phase::AfterOpen, |x| x.rss_anon_bytes) else {
        return ClaimCheck::not_measured(CLAIM, "npy_load");
    };
    let data = data_bytes(run);
    let measured = format!(
        "at open: RssAnon {} (array {}); object {}",
        human_delta(anon),
        human_bytes(data),
        s.object_bytes.map_or("–".to_owned(), |b| format!("{} B", grouped(b)))
    );
    let all = anon >= (data - data / 10) as i64;
    ClaimCheck {
        claim: CLAIM,
        measured,
        verdict: if all { Verdict::Holds } else { Verdict::DoesNotHold },
        explanation: if all {
            "The array owns a buffer of its full size in the process's own memory (RssAnon), and `sys.getsizeof` counts it.".to_owned()
        } else {
            "Opening grew the process's own memory by less than 90% of the array.".to_owned()
        },
    }
}

#[cfg(test)]
mod tests;
