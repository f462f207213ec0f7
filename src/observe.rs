//! What a run tells whoever watches it, as it goes. The suite's stages report here and print
//! nothing themselves (as criterion's reports and hyperfine's output module do): the terminal
//! is one observer ([`crate::console::Terminal`]), a test's recorder another, [`Silent`] a
//! third. Every hook does nothing by default, so a new sink overrides only what it shows.

use std::path::Path;

use crate::dataset::Provenance;
use crate::formats::Format;
use crate::peer::PeerChoice;
use crate::progress::{Progress, Quiet};
use crate::results::{SideBySide, StepResult};
use crate::spec::LoadedSpec;
use crate::step::StepPlan;

/// The hooks of a run, in the order the stages call them.
pub trait RunObserver {
    /// Before anything is measured: the experiments, the folders and the Python of the run.
    fn starting(&mut self, _specs: &[LoadedSpec], _data_dir: &Path, _out: &Path, _numpy: &PeerChoice) {}

    /// Where the dataset stage reports the progress of a generation (silent by default).
    fn progress(&self) -> &dyn Progress {
        &Quiet
    }

    /// The dataset is ready: reused, or generated for a reason.
    fn dataset_ready(&mut self, _data_dir: &Path, _provenance: &Provenance) {}

    /// The format files of the formats group are missing or stale and are being written
    /// (seconds: they hold the first 400 samples, [`crate::formats::subset`]).
    fn writing_formats(&mut self, _formats: &[Format]) {}

    /// The steps are planned, in the order they will run.
    fn steps_planned(&mut self, _plans: &[StepPlan]) {}

    /// Step `index` of the plans finished (its NumPy peer and rounds too).
    fn step_finished(&mut self, _index: usize, _step: &StepResult) {}

    /// No step is left to run: all ran, or the run was interrupted.
    fn steps_done(&mut self) {}

    /// The headline comparison's rounds, when NumPy ran beside the headline step.
    fn headline(&mut self, _side: &SideBySide) {}
}

/// An observer that shows nothing (labs run the suite quietly; tests).
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl RunObserver for Silent {}
