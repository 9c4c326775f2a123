//! Configuration degrades gracefully: every class of environment value, in real child
//! processes (the environment is global to a process). A valid value takes effect; an invalid
//! one warns once, naming the variable and its valid values, and the default applies —
//! caching never turns off (or on) because of a typo.

mod common;

use common::{is_child, run_child, Child};
use std::path::Path;

#[checkpointer::checkpoint]
fn tripled(x: u64) -> u64 {
    println!("RAN tripled");
    x * 3
}

#[checkpointer::checkpoint]
fn doubled(x: u64) -> u64 {
    println!("RAN doubled");
    x * 2
}

/// The child: two cached functions, each called twice.
#[test]
fn child_env() {
    if !is_child("child_env") {
        return;
    }
    for _ in 0..2 {
        assert_eq!(tripled(5), 15);
        assert_eq!(doubled(5), 10);
    }
    match tripled::handle().config() {
        Ok(config) => {
            println!("VERBOSITY {}", config.verbosity);
            println!("ENABLED {}", config.enabled);
        }
        Err(e) => println!("CONFIG_ERROR {e}"),
    }
}

fn run(dir: &Path, env: &[(&str, &str)]) -> Child {
    let child = run_child("child_env", dir, env);
    assert!(child.ok, "child failed\n{}\n{}", child.stdout, child.stderr);
    child
}

fn line(child: &Child, prefix: &str) -> String {
    child
        .stdout
        .lines()
        .find_map(|l| l.split(prefix).nth(1))
        .unwrap_or_else(|| panic!("no {prefix} line in\n{}", child.stdout))
        .trim()
        .to_string()
}

/// The one warning line the child printed for `value` (fails if there is none or more).
fn one_warning<'c>(child: &'c Child, value: &str) -> &'c str {
    let warnings: Vec<&str> = child
        .stderr
        .lines()
        .filter(|l| l.contains("warning"))
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "{value:?}: one warning\n{}",
        child.stderr
    );
    warnings[0]
}

/// Runs the bodies once per value (cached), and says so at the given verbosity.
fn assert_cached(child: &Child, verbosity: u8, what: &str) {
    assert_eq!(
        child.count("RAN tripled"),
        1,
        "{what}: cached\n{}",
        child.stdout
    );
    assert_eq!(
        child.count("RAN doubled"),
        1,
        "{what}: cached\n{}",
        child.stdout
    );
    assert_eq!(line(child, "VERBOSITY "), verbosity.to_string(), "{what}");
    assert_eq!(line(child, "ENABLED "), "true", "{what}");
    let computed = child.stderr.matches("computed").count();
    assert_eq!(
        computed,
        if verbosity >= 1 { 2 } else { 0 },
        "{what}\n{}",
        child.stderr
    );
}

#[test]
fn valid_verbosity_values_take_effect_silently() {
    for (value, level) in [("0", 0), ("1", 1), ("2", 2), (" 2 ", 2)] {
        let dir = tempfile::tempdir().unwrap();
        let child = run(dir.path(), &[("CHECKPOINTER_VERBOSITY", value)]);
        assert_cached(&child, level, value);
        assert!(
            !child.stderr.contains("warning"),
            "{value:?}\n{}",
            child.stderr
        );
    }
}

#[test]
fn an_invalid_verbosity_warns_once_and_the_default_applies() {
    for value in ["", "5", "two", "-1", "1.5", "256"] {
        let dir = tempfile::tempdir().unwrap();
        let child = run(dir.path(), &[("CHECKPOINTER_VERBOSITY", value)]);
        assert_cached(&child, 1, value);
        let w = one_warning(&child, value);
        assert!(
            w.contains(&format!("CHECKPOINTER_VERBOSITY={value:?}"))
                && w.contains("0, 1 or 2")
                && w.contains("default"),
            "{value:?}: the warning names the variable, the valid values and the default: {w}"
        );
        assert!(
            !child.stderr.contains("invalid configuration"),
            "{}",
            child.stderr
        );
    }
}

#[test]
fn disable_accepts_the_usual_true_spellings_and_announces_once() {
    for value in ["1", "true", "TRUE", "yes", "On", " on "] {
        let dir = tempfile::tempdir().unwrap();
        let child = run(dir.path(), &[("CHECKPOINTER_DISABLE", value)]);
        assert_eq!(child.count("RAN tripled"), 2, "{value:?}: every call runs");
        assert_eq!(child.count("RAN doubled"), 2, "{value:?}: every call runs");
        assert_eq!(line(&child, "ENABLED "), "false", "{value:?}");
        assert_eq!(
            child
                .stderr
                .matches("caching is disabled by CHECKPOINTER_DISABLE")
                .count(),
            1,
            "{value:?}: announced once\n{}",
            child.stderr
        );
        assert!(
            !child.stderr.contains("warning"),
            "{value:?}\n{}",
            child.stderr
        );
        assert!(
            std::fs::read_dir(dir.path()).map_or(true, |mut d| d.next().is_none()),
            "{value:?}: nothing stored"
        );

        let quiet = run(
            dir.path(),
            &[
                ("CHECKPOINTER_DISABLE", value),
                ("CHECKPOINTER_VERBOSITY", "0"),
            ],
        );
        assert_eq!(quiet.count("RAN tripled"), 2, "{value:?}");
        assert!(
            quiet.stderr.trim().is_empty(),
            "verbosity 0 is silent\n{}",
            quiet.stderr
        );
    }
}

#[test]
fn disable_accepts_the_usual_false_spellings() {
    for value in ["0", "false", "No", "OFF"] {
        let dir = tempfile::tempdir().unwrap();
        let child = run(dir.path(), &[("CHECKPOINTER_DISABLE", value)]);
        assert_cached(&child, 1, value);
        assert!(
            !child.stderr.contains("warning"),
            "{value:?}\n{}",
            child.stderr
        );
        assert!(
            !child.stderr.contains("disabled"),
            "{value:?}\n{}",
            child.stderr
        );
        // And the entries persist for the next process.
        let again = run(dir.path(), &[("CHECKPOINTER_DISABLE", value)]);
        assert_eq!(again.count("RAN tripled"), 0, "{value:?}: remembered");
    }
}

#[test]
fn an_invalid_disable_value_warns_once_and_caching_stays_on() {
    for value in ["banana", "", "2", "y", "disable"] {
        let dir = tempfile::tempdir().unwrap();
        let child = run(dir.path(), &[("CHECKPOINTER_DISABLE", value)]);
        assert_cached(&child, 1, value);
        let w = one_warning(&child, value);
        assert!(
            w.contains(&format!("CHECKPOINTER_DISABLE={value:?}"))
                && w.contains("true")
                && w.contains("off")
                && w.contains("caching stays on"),
            "{value:?}: the warning names the variable and the valid values: {w}"
        );
    }
}

#[test]
fn an_invalid_compress_value_warns_once_and_caching_goes_on_uncompressed() {
    for value in ["banana", "zstd:99", "zstd:x", "gzip", ""] {
        let dir = tempfile::tempdir().unwrap();
        let child = run(dir.path(), &[("CHECKPOINTER_COMPRESS", value)]);
        // Not a configuration error: the functions cache as without the variable.
        assert_cached(&child, 1, value);
        let w = one_warning(&child, value);
        assert!(
            w.contains(&format!("CHECKPOINTER_COMPRESS={value:?}"))
                && w.contains("zstd:LEVEL")
                && w.contains("none")
                && w.contains("no compression"),
            "{value:?}: the warning names the variable, the valid values and the default: {w}"
        );
    }
    // A valid value is silent.
    let dir = tempfile::tempdir().unwrap();
    let child = run(dir.path(), &[("CHECKPOINTER_COMPRESS", "zstd:3")]);
    assert_cached(&child, 1, "zstd:3");
    assert!(!child.stderr.contains("warning"), "{}", child.stderr);
}

#[test]
fn an_invalid_storage_spec_is_reported_without_a_doubled_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let child = run(dir.path(), &[("CHECKPOINTER_STORAGE", "memroy")]);
    // The call computes (a broken cache never breaks the program) and says why once per
    // function.
    assert_eq!(child.count("RAN tripled"), 2, "uncached\n{}", child.stdout);
    assert!(child.stderr.contains("memroy"), "{}", child.stderr);
    let error = line(&child, "CONFIG_ERROR ");
    for text in [&child.stderr, &error] {
        assert!(
            !text.contains("invalid configuration: invalid configuration"),
            "{text}"
        );
    }
}
