//! Progress bars on a terminal, silence elsewhere (CI logs, pipes, tests).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether progress and chatty status lines should be drawn: stderr is a terminal.
pub fn interactive() -> bool {
    std::io::stderr().is_terminal()
}

/// A bar over `total` bytes, drawn on stderr only when it is a terminal.
pub fn bytes_bar(total: u64, message: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), target());
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>12} [{bar:40.cyan/blue}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(message.to_owned());
    bar
}

/// A bar over `total` items (steps of a run), drawn only on a terminal, with an estimate
/// of the time left (from the items done so far); its message shows the item under way.
pub fn items_bar(total: u64, message: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), target());
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>12} [{bar:30.green/white}] {pos}/{len}, about {eta} left: {wide_msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(message.to_owned());
    bar
}

fn target() -> ProgressDrawTarget {
    if interactive() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() }
}

/// Where long work says how far it got. Threads share one, so it takes `&self`; every
/// method does nothing by default.
pub trait Progress: Sync {
    /// Work of `total` units (bytes) named `what` begins.
    fn start(&self, _what: &str, _total: u64) {}
    /// `done` more units are done.
    fn advance(&self, _done: u64) {}
    /// The work ended, finished or not.
    fn finish(&self) {}
}

/// Progress that says nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Quiet;

impl Progress for Quiet {}

/// Progress as a bar over bytes on stderr, drawn only when stderr is a terminal
/// ([`bytes_bar`]); a new bar at each [`Progress::start`].
#[derive(Debug, Default)]
pub struct BytesProgress(std::sync::Mutex<Option<ProgressBar>>);

impl BytesProgress {
    fn bar(&self) -> Option<ProgressBar> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Progress for BytesProgress {
    fn start(&self, what: &str, total: u64) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(bytes_bar(total, what));
    }

    fn advance(&self, done: u64) {
        if let Some(bar) = self.bar() {
            bar.inc(done);
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.0.lock().unwrap_or_else(|p| p.into_inner()).take() {
            bar.finish_and_clear();
        }
    }
}
