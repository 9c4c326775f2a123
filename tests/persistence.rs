//! The basic promise, across real processes: the second run loads instead of computing.

mod common;
use checkpointer::checkpoint;
use common::{entry_files, is_child, run_child};

#[checkpoint]
fn square(x: u64) -> u64 {
    println!("BODY");
    x * x
}

#[test]
fn child_square() {
    if !is_child("child_square") {
        return;
    }
    println!("VALUE={}", square(12));
}

#[test]
fn second_process_loads_instead_of_computing() {
    let dir = tempfile::tempdir().unwrap();
    let first = run_child("child_square", dir.path(), &[]);
    first.assert_ok();
    assert_eq!(first.count("BODY"), 1, "{}", first.stdout);
    assert_eq!(first.count("VALUE=144"), 1);
    assert!(
        first.stderr.contains("computed"),
        "verbosity 1 reports computing: {}",
        first.stderr
    );

    let second = run_child("child_square", dir.path(), &[]);
    second.assert_ok();
    assert_eq!(
        second.count("BODY"),
        0,
        "second process recomputed:\n{}",
        second.stdout
    );
    assert_eq!(second.count("VALUE=144"), 1);
    assert!(!second.stderr.contains("computed"), "{}", second.stderr);

    // One entry, under <dir>/<crate>/<fn>/<identity>/<2 hex>/<62 hex>.
    let files = entry_files(dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    let rel = files[0].strip_prefix(dir.path()).unwrap();
    let parts: Vec<_> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    assert_eq!(parts[0], "persistence");
    assert_eq!(parts[1], "square");
    assert_eq!(parts[2].len(), 64);
    assert_eq!(parts[3].len(), 2);
    assert_eq!(parts[4].len(), 62);
}

#[test]
fn disable_env_runs_the_body_every_time() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let run = run_child("child_square", dir.path(), &[("CHECKPOINTER_DISABLE", "1")]);
        run.assert_ok();
        assert_eq!(run.count("BODY"), 1);
        assert_eq!(run.count("VALUE=144"), 1);
    }
    assert!(
        entry_files(dir.path()).is_empty(),
        "disabled caching wrote entries"
    );
}

#[test]
fn verbosity_two_reports_hits_and_zero_is_silent() {
    let dir = tempfile::tempdir().unwrap();
    run_child("child_square", dir.path(), &[]).assert_ok();
    let loud = run_child(
        "child_square",
        dir.path(),
        &[("CHECKPOINTER_VERBOSITY", "2")],
    );
    assert!(
        loud.assert_ok().stderr.contains("remembered"),
        "{}",
        loud.stderr
    );
    let quiet_dir = tempfile::tempdir().unwrap();
    let quiet = run_child(
        "child_square",
        quiet_dir.path(),
        &[("CHECKPOINTER_VERBOSITY", "0")],
    );
    assert_eq!(quiet.assert_ok().count("BODY"), 1);
    assert!(!quiet.stderr.contains("[checkpointer]"), "{}", quiet.stderr);
}
