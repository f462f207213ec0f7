//! What TOML's types cannot check: a spec's id, and options that fit its method, file and
//! access pattern.

use super::{AccessSpec, ExperimentSpec, Method, Mode};

impl ExperimentSpec {
    /// Checks what TOML's types cannot: the id and options that fit the method (the dtype,
    /// offset and shape are parsed into their types as the file is read).
    pub(super) fn validate(&self) -> std::result::Result<(), String> {
        if self.id.is_empty() || !self.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err("id must be letters, digits, '_' or '-' (it names files and table rows)".to_owned());
        }
        if self.cache.is_empty() {
            return Err("cache lists no state: give [\"warm\"], [\"cold\"] or both".to_owned());
        }
        let o = &self.open;
        if (o.method == Method::Library) != self.file.format().is_some() {
            return Err(format!(
                "method = \"library\" goes with the files of other formats (npz_stored, npz_deflated, safetensors, arrow_ipc, arrow_ipc_lz4), and only it opens them; file = {:?} with method {:?} does not fit",
                self.file, o.method
            ));
        }
        if o.method == Method::Library && (o.populate || o.advice.is_some()) {
            return Err(
                "populate and advice apply to np.load and np.memmap, not to method = \"library\"".to_owned()
            );
        }
        if o.method != Method::Memmap && o.method != Method::Library {
            let extra: Vec<&str> = [
                ("dtype", o.dtype.is_some()),
                ("offset", o.offset.is_some()),
                ("shape", o.shape.is_some()),
                ("order", o.order.is_some()),
            ]
            .into_iter()
            .filter_map(|(k, set)| set.then_some(k))
            .collect();
            if !extra.is_empty() {
                return Err(format!(
                    "[open] {} apply to method = \"memmap\" only; {:?} reads them from the .npy header",
                    extra.join(", "),
                    o.method
                ));
            }
            if !self.file.has_header() {
                return Err(format!(
                    "method {:?} reads a .npy header, but file = {:?} has none; use method = \"memmap\" with dtype and shape",
                    o.method, self.file
                ));
            }
        }
        if o.method == Method::Load && (o.populate || o.advice.is_some()) {
            return Err("populate and advice apply to mappings, not to method = \"load\"".to_owned());
        }
        if o.mode == Mode::RPlus && (o.method != Method::Memmap || !self.file.is_scratch()) {
            return Err(
                "mode = \"r+\" opens the file for writing: it is allowed only with method = \"memmap\" on a scratch copy (file = \"npy_copy\" or \"raw_copy\")"
                    .to_owned(),
            );
        }
        if let AccessSpec::ShrinkThenPass { keep_percent } = self.access {
            if !self.file.is_scratch() {
                return Err("shrink_then_pass truncates its file: use it on a scratch copy (file = \"npy_copy\" or \"raw_copy\")".to_owned());
            }
            if keep_percent >= 100 {
                return Err(format!(
                    "keep_percent = {keep_percent}: give the percent of the file kept, 0 to 99"
                ));
            }
        }
        if let Some(workers) = &self.workers {
            if workers.is_empty() || workers.iter().any(|&k| k == 0 || k > 64) {
                return Err("workers must list counts between 1 and 64, e.g. [1, 2, 4]".to_owned());
            }
            if self.access != AccessSpec::FullPass {
                return Err(
                    "a sharing experiment (workers = [...]) reads with access = \"full_pass\"".to_owned()
                );
            }
        }
        match self.access {
            AccessSpec::RandomBatches { batch_size: 0, .. } => {
                Err("batch_size must be at least 1".to_owned())
            }
            AccessSpec::FirstN { samples: 0, .. } => Err("samples must be at least 1".to_owned()),
            AccessSpec::TrackedPass { points: 0 } => Err("points must be at least 1".to_owned()),
            AccessSpec::RandomElements { count: 0, .. } => Err("count must be at least 1".to_owned()),
            _ => Ok(()),
        }
    }
}
