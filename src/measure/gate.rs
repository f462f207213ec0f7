//! The gates for CI: `--max-own` and `--max-pss`, checked at every sample.

use super::record::{GateBreach, Sample};
use crate::probe::tree::ProcessSnapshot;
use crate::units::{Bytes, human_bytes};

/// The gates of one run and what passed them.
pub struct Gates {
    limits: Vec<(&'static str, Bytes)>,
    breaches: Vec<GateBreach>,
}

impl Gates {
    /// Gates for the limits given.
    pub fn new(max_own: Option<Bytes>, max_pss: Option<Bytes>) -> Gates {
        let mut limits = Vec::new();
        if let Some(l) = max_own {
            limits.push(("max_own", l));
        }
        if let Some(l) = max_pss {
            limits.push(("max_pss", l));
        }
        Gates { limits, breaches: Vec::new() }
    }

    /// Checks one sample: the tree's own memory and summed PSS against the limits.
    pub fn check(&mut self, sample: &Sample) {
        for &(gate, limit) in &self.limits {
            let value = match gate {
                "max_own" => sample.tree.sum(ProcessSnapshot::own_bytes),
                _ => sample.tree.sum(|p| p.pss_bytes),
            };
            if value <= limit {
                continue;
            }
            match self.breaches.iter_mut().find(|b| b.gate == gate) {
                Some(b) => b.peak_bytes = b.peak_bytes.max(value),
                None => self.breaches.push(GateBreach {
                    gate: gate.to_owned(),
                    limit_bytes: limit,
                    first_t_ns: sample.t_ns,
                    peak_bytes: value,
                }),
            }
        }
    }

    /// The gates passed.
    pub fn breaches(&self) -> Vec<GateBreach> {
        self.breaches.clone()
    }
}

/// A short table of the gates passed, for the terminal.
pub fn table(breaches: &[GateBreach]) -> String {
    let mut out = String::from("gate      limit        peak         first passed at\n");
    for b in breaches {
        out.push_str(&format!(
            "--{:<7} {:<12} {:<12} {:.2} s\n",
            b.gate.replace('_', "-"),
            human_bytes(b.limit_bytes),
            human_bytes(b.peak_bytes),
            b.first_t_ns as f64 / 1e9
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::tree::TreeSnapshot;

    fn sample(t_ns: u64, anon: Bytes, file: Bytes) -> Sample {
        let p = ProcessSnapshot {
            pss_anon_bytes: anon,
            pss_file_bytes: file,
            pss_bytes: anon + file,
            ..Default::default()
        };
        Sample { t_ns, tree: TreeSnapshot { processes: vec![p], ..Default::default() }, ..Default::default() }
    }

    #[test]
    fn own_memory_passes_the_gate_and_clean_file_pages_do_not() {
        let mut gates = Gates::new(Some(100), Some(1000));
        gates.check(&sample(1, 50, 900));
        assert!(gates.breaches().is_empty(), "file pages are not own memory");
        gates.check(&sample(2, 150, 0));
        gates.check(&sample(3, 120, 2000));
        let b = gates.breaches();
        assert_eq!(b.len(), 2);
        assert_eq!((b[0].gate.as_str(), b[0].first_t_ns, b[0].peak_bytes), ("max_own", 2, 150));
        assert_eq!((b[1].gate.as_str(), b[1].first_t_ns, b[1].peak_bytes), ("max_pss", 3, 2120));
    }
}
