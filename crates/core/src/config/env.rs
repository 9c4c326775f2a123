//! The environment variables, read leniently: an invalid value is a warning naming the
//! variable and its valid values, and the default applies. Configuration must never turn a
//! working program's caching off (or on) by surprise.

use super::{ENV_COMPRESS, ENV_DISABLE, ENV_VERBOSITY};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// `CHECKPOINTER_VERBOSITY`: `Some(0 | 1 | 2)`, or `None` when unset or invalid (warned).
pub(crate) fn verbosity() -> Option<u8> {
    let raw = std::env::var_os(ENV_VERBOSITY)?;
    let value = raw.to_string_lossy();
    match value.trim().parse::<u8>() {
        Ok(level @ 0..=2) => Some(level),
        _ => {
            warn_invalid(ENV_VERBOSITY, &value, "0, 1 or 2", "using the default, 1");
            None
        }
    }
}

/// `CHECKPOINTER_DISABLE`: `Some(bool)`, or `None` when unset or invalid (warned).
pub(crate) fn disabled() -> Option<bool> {
    let raw = std::env::var_os(ENV_DISABLE)?;
    let value = raw.to_string_lossy();
    let parsed = parse_bool(&value);
    if parsed.is_none() {
        warn_invalid(
            ENV_DISABLE,
            &value,
            "1, true, yes or on to disable; 0, false, no or off to cache",
            "caching stays on",
        );
    }
    parsed
}

/// `CHECKPOINTER_COMPRESS`: `Some(setting)` (`Some(None)`: `none`), or `None` when unset or
/// invalid (warned; `checkpointer.toml`'s setting, else no compression, applies).
pub(crate) fn compress() -> Option<Option<crate::compress::Compression>> {
    let raw = std::env::var_os(ENV_COMPRESS)?;
    let value = raw.to_string_lossy();
    match crate::compress::Compression::parse(&value) {
        Ok(setting) => Some(setting),
        Err(_) => {
            warn_invalid(
                ENV_COMPRESS,
                &value,
                "zstd, zstd:LEVEL with LEVEL from -7 to 22, none or off",
                "using checkpointer.toml's compress if set, else no compression",
            );
            None
        }
    }
}

/// The usual boolean spellings, case-insensitive, surrounding spaces ignored.
pub(crate) fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Warns once per process for each variable and value.
fn warn_invalid(var: &str, value: &str, valid: &str, default: &str) {
    static SEEN: Mutex<Option<HashSet<(String, String)>>> = Mutex::new(None);
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    if seen
        .get_or_insert_with(HashSet::new)
        .insert((var.to_string(), value.to_string()))
    {
        let message = format!("ignoring {var}={value:?} (valid values: {valid}); {default}");
        tracing::warn!(target: "checkpointer", "{message}");
        crate::report::warn_line(&message);
    }
}

/// Says once per process, at verbosity ≥ 1, that caching is off and why.
pub(crate) fn announce_disabled(verbosity: u8, by: &str) {
    static SAID: AtomicBool = AtomicBool::new(false);
    if verbosity >= 1 && !SAID.swap(true, Ordering::Relaxed) {
        let message =
            format!("caching is disabled by {by}: every checkpointed function runs uncached");
        tracing::info!(target: "checkpointer", "{message}");
        crate::report::note_line(&message);
    }
}

#[cfg(test)]
mod tests {
    use super::parse_bool;

    #[test]
    fn booleans_take_the_usual_spellings_and_nothing_else() {
        for yes in ["1", "true", "TRUE", "Yes", "on", " On "] {
            assert_eq!(parse_bool(yes), Some(true), "{yes:?}");
        }
        for no in ["0", "false", "False", "NO", "off", "OFF\n"] {
            assert_eq!(parse_bool(no), Some(false), "{no:?}");
        }
        for bad in ["", "banana", "2", "y", "n", "enable", "truee"] {
            assert_eq!(parse_bool(bad), None, "{bad:?}");
        }
    }
}
