//! Verbosity lines on stderr (coloured on a terminal unless `NO_COLOR`) and `tracing` events.

use crate::{Digest, FnPath};
use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

/// What happened on a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// The body ran and its value was stored (verbosity ≥ 1).
    Computed,
    /// A stored value was returned (verbosity 2).
    Remembered,
}

fn colour() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal())
}

fn paint(code: &str, text: &str) -> String {
    if colour() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// Whether hits are traced (a `tracing` subscriber takes `debug` events of checkpointer).
#[inline]
pub(crate) fn hits_traced() -> bool {
    tracing::enabled!(target: "checkpointer", tracing::Level::DEBUG)
}

pub(crate) fn event(verbosity: u8, event: Event, function: &FnPath, call: &Digest) {
    match event {
        Event::Computed => {
            tracing::info!(target: "checkpointer", function = %function, call = %call.short(16), "computed")
        }
        Event::Remembered => {
            tracing::debug!(target: "checkpointer", function = %function, call = %call.short(16), "remembered")
        }
    }
    let (min, word, code) = match event {
        Event::Computed => (1, "computed  ", "33"),
        Event::Remembered => (2, "remembered", "32"),
    };
    if verbosity >= min {
        let _ = writeln!(
            std::io::stderr().lock(),
            "[checkpointer] {} {function} [{}]",
            paint(code, word),
            call.short(12)
        );
    }
}

/// A warning: always a `tracing` event, and a stderr line when `print` is set.
pub(crate) fn warn(print: bool, function: &FnPath, message: &str) {
    tracing::warn!(target: "checkpointer", function = %function, "{message}");
    if print {
        warn_line(&format!("{function}: {message}"));
    }
}

/// Prints one warning line on stderr, in the style of every checkpointer message (for
/// backends that must tell the user something once, such as a missing server feature).
pub fn warn_line(message: &str) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "[checkpointer] {} {message}",
        paint("31", "warning")
    );
}

/// Prints one informational line on stderr, in the style of every checkpointer message.
pub(crate) fn note_line(message: &str) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "[checkpointer] {} {message}",
        paint("36", "note")
    );
}

/// Warns, once per process for each function and path, that a `files(...)` path is not a
/// readable file: the calls are then keyed on its absence, which is rarely what was meant.
pub(crate) fn missing_file(print: bool, function: &FnPath, path: &str) {
    static SEEN: std::sync::Mutex<Option<std::collections::HashSet<(String, String)>>> =
        std::sync::Mutex::new(None);
    let first = SEEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get_or_insert_with(Default::default)
        .insert((function.to_string(), path.to_string()));
    if first {
        let base = std::env::current_dir()
            .map(|d| format!(" (relative paths are read from {})", d.display()))
            .unwrap_or_default();
        warn(
            print,
            function,
            &format!("files({path:?}) is not a readable file{base}; calls are keyed on its absence until it exists"),
        );
    }
}
