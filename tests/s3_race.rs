//! Two processes with separate local directories racing on one new key through S3 leases: the
//! body runs once, and both return the value.

mod s3_support;

use checkpointer::checkpoint;
use s3_support::{child_env, fresh_url, spawn_child};
use std::time::Duration;

#[checkpoint(verbosity = 0)]
fn slow_cube(x: u64) -> u64 {
    println!("BODY");
    std::thread::sleep(Duration::from_secs(2));
    x * x * x
}

#[test]
fn child_race() {
    if std::env::var("CHECKPOINTER_TEST_CHILD").as_deref() != Ok("child_race") {
        return;
    }
    // Start together: say ready, wait for the parent's go.
    s3_support::race_start();
    println!("VALUE={}", slow_cube(5));
}

#[test]
fn two_processes_racing_on_one_key_run_the_body_once() {
    let barrier = tempfile::tempdir().unwrap();
    let mut env = child_env();
    env.push((
        "CHECKPOINTER_STORAGE".into(),
        format!("fs,{}", fresh_url("race")),
    ));
    env.push((
        "RACE_BARRIER".into(),
        barrier.path().to_string_lossy().into_owned(),
    ));
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let children: Vec<_> = dirs
        .iter()
        .map(|d| spawn_child("child_race", d.path(), &env))
        .collect();
    s3_support::race_go(barrier.path(), 2);
    let mut bodies = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "child failed\n{stdout}\n{stderr}");
        assert_eq!(
            stdout
                .lines()
                .filter(|l| l.trim_end().ends_with("VALUE=125"))
                .count(),
            1,
            "{stdout}"
        );
        assert!(!stderr.contains("warning"), "{stderr}");
        bodies += stdout
            .lines()
            .filter(|l| l.trim_end().ends_with("BODY"))
            .count();
    }
    assert_eq!(bodies, 1, "the body ran in both processes");
}
