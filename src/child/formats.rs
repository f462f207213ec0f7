//! The `__formats` child: the format files are written and checked in a child process (this
//! binary, re-executed), so the runner's own peak RSS never holds what writing them holds.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::formats::{Format, FormatFile, all_vouched, ensure};

/// What the runner asks of the `__formats` child.
#[derive(Debug, Serialize, Deserialize)]
struct FormatsPlan {
    dir: std::path::PathBuf,
    formats: Vec<Format>,
}

/// [`ensure`] in a child process (this binary, re-executed), so that the runner never holds
/// what writing and checking the files hold (the Arrow writer's encoded batch, the checks'
/// read-back copies): its peak RSS stays the runner's own. Files already vouched for are
/// taken without starting a child; `writing` hears of the formats before a child writes them.
pub fn ensure_in_child(
    dataset: &Dataset,
    formats: &[Format],
    writing: impl FnOnce(&[Format]),
) -> Result<Vec<FormatFile>> {
    if all_vouched(dataset, formats) {
        return ensure(dataset, formats);
    }
    writing(formats);
    let exe = crate::paths::own_exe().context("cannot find mmap-lab's own executable")?;
    let mut command = std::process::Command::new(exe);
    command.arg("__formats");
    let plan = serde_json::to_vec(&FormatsPlan { dir: dataset.dir.clone(), formats: formats.to_vec() })?;
    let out = super::spawn_and_wait(command, &plan, super::DEFAULT_STEP_TIMEOUT)?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        bail!(
            "writing the format files in {} failed ({}): {}",
            dataset.dir.display(),
            out.status,
            stderr.trim()
        );
    }
    serde_json::from_slice(&out.stdout).context("the __formats child gave no valid answer")
}

/// The `__formats` child: reads a [`FormatsPlan`] on stdin, runs [`ensure`], writes the
/// entries as JSON on stdout.
pub fn serve() -> Result<()> {
    use std::io::Read;
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).context("reading the formats plan from stdin")?;
    let plan: FormatsPlan =
        serde_json::from_slice(&input).context("the formats plan on stdin is not valid")?;
    let dataset = match crate::dataset::open_existing(&plan.dir)? {
        Ok(dataset) => dataset,
        Err(why) => bail!("{}: no valid dataset to write the formats from ({why})", plan.dir.display()),
    };
    let files = ensure(&dataset, &plan.formats)?;
    serde_json::to_writer(std::io::stdout().lock(), &files)?;
    Ok(())
}
