//! Reading specs: one file, a folder of them, or the files named on the command line,
//! each parsed and checked before anything runs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{ExperimentSpec, LoadedSpec};
use crate::error::input;
use crate::formats::Format;

impl ExperimentSpec {
    /// Parses and checks one spec file's text; errors name `path`, line and column.
    pub fn parse(text: &str, path: &Path) -> Result<ExperimentSpec> {
        let spec: ExperimentSpec = toml::from_str(text)
            .map_err(|e| input(format!("{}: {}", path.display(), e.to_string().trim_end())))?;
        spec.validate()
            .map_err(|why| input(format!("{}: experiment '{}': {why}", path.display(), spec.id)))?;
        Ok(spec)
    }
}

/// Reads one spec file.
pub fn load_file(path: &Path) -> Result<LoadedSpec> {
    let text = crate::assets::read_input_text(path, "the experiment spec", "check the path")?;
    Ok(LoadedSpec { spec: ExperimentSpec::parse(&text, path)?, path: path.to_owned() })
}

/// Reads every `*.toml` directly in `dir`, in file-name order, and checks that ids are unique.
pub fn load_dir(dir: &Path) -> Result<Vec<LoadedSpec>> {
    let paths = crate::assets::files_in(dir, "toml").map_err(|e| {
        input(format!("{}: cannot read the experiments folder: {e}; pass --experiments DIR", dir.display()))
    })?;
    let specs = paths.iter().map(|p| load_file(p)).collect::<Result<Vec<_>>>()?;
    check_unique(&specs)?;
    Ok(specs)
}

/// Loads each argument as a spec file, or, when no such file exists and it looks like an
/// id, as the experiment of that id in `dir`.
pub fn resolve(args: &[PathBuf], dir: &Path) -> Result<Vec<LoadedSpec>> {
    let mut known: Option<Vec<LoadedSpec>> = None;
    let mut specs = Vec::with_capacity(args.len());
    for arg in args {
        let as_id = arg.to_str().filter(|s| !s.contains('/') && !s.ends_with(".toml") && !arg.exists());
        let Some(id) = as_id else {
            specs.push(load_file(arg)?);
            continue;
        };
        if known.is_none() {
            known = Some(load_dir(dir)?);
        }
        let all = known.as_deref().unwrap_or_default();
        match all.iter().find(|s| s.spec.id == id) {
            Some(found) => specs.push(found.clone()),
            None => {
                let ids: Vec<&str> = all.iter().map(|s| s.spec.id.as_str()).collect();
                return Err(input(format!(
                    "unknown experiment '{id}': it is neither a spec file nor an experiment id in {}; known ids: {}",
                    dir.display(),
                    ids.join(", ")
                )));
            }
        }
    }
    Ok(specs)
}

/// Refuses two specs with the same id, naming both files.
pub fn check_unique(specs: &[LoadedSpec]) -> Result<()> {
    let mut seen: HashMap<&str, &Path> = HashMap::new();
    for s in specs {
        if let Some(first) = seen.insert(&s.spec.id, &s.path) {
            return Err(input(format!(
                "duplicate experiment id '{}' in {} and {}; give each experiment its own id",
                s.spec.id,
                first.display(),
                s.path.display()
            )));
        }
    }
    Ok(())
}

/// The formats the specs' `file` keys name, each once, in table order.
pub fn formats_of(specs: &[ExperimentSpec]) -> Vec<Format> {
    let mut formats: Vec<Format> = specs.iter().filter_map(|s| s.file.format()).collect();
    formats.sort();
    formats.dedup();
    formats
}
