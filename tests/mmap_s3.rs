//! S3 under the mmap tier, against the test server (`CHECKPOINTER_TEST_S3_ENDPOINT`): a
//! process with an empty local directory finds the array in S3, promotes it into its mmap
//! tier and gets it as a map.

mod common;
mod s3_support;

use checkpointer::{checkpoint, Array};
use common::{entry_files, is_child, run_child};
use s3_support::{child_env, fresh_url};

fn values() -> Array<i64> {
    Array::from_shape_vec([20, 30, 40], (0..24_000).map(|i| i * -3).collect()).unwrap()
}

#[checkpoint]
fn cube() -> Array<i64> {
    println!("\nBODY");
    values()
}

#[test]
fn child_cube() {
    if !is_child("child_cube") {
        return;
    }
    for _ in 0..2 {
        let c = cube();
        assert_eq!(c, values());
        println!("\n{}", if c.is_mapped() { "MAPPED" } else { "HEAP" });
    }
}

#[test]
fn an_array_in_s3_is_promoted_into_mmap_and_mapped_on_another_machine() {
    let url = fresh_url("mmap");
    let mut env = child_env();
    env.push(("CHECKPOINTER_STORAGE".into(), format!("memory,mmap,{url}")));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    let first = run_child("child_cube", a.path(), &env);
    first.assert_ok();
    assert_eq!(first.count("BODY"), 1, "{}", first.stdout);

    let second = run_child("child_cube", b.path(), &env);
    second.assert_ok();
    assert_eq!(
        second.count("BODY"),
        0,
        "{}\n{}",
        second.stdout,
        second.stderr
    );
    assert_eq!(
        second.count("MAPPED"),
        2,
        "{}\n{}",
        second.stdout,
        second.stderr
    );
    assert!(!second.stderr.contains("warning"), "{}", second.stderr);
    assert_eq!(
        entry_files(b.path()).len(),
        1,
        "promoted into the local mmap tier"
    );
}
