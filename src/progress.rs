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
