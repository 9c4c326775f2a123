//! `files("…")` naming a path that is not a readable file warns once per process and
//! function (the calls are keyed on its absence, rarely what was meant), in a child process
//! whose current directory the test controls.

mod common;

use common::{child_command, is_child, Child};

#[checkpointer::checkpoint(files("inputs/prices.csv"))]
fn total(x: u64) -> u64 {
    println!("RAN total");
    x + 1
}

#[test]
fn child_files() {
    if !is_child("child_files") {
        return;
    }
    for x in 0..3 {
        assert_eq!(total(x), x + 1);
    }
}

fn run(cwd: &std::path::Path, env: &[(&str, &str)]) -> Child {
    let out = child_command("child_files", &cwd.join("cache"), env)
        .current_dir(cwd)
        .output()
        .expect("spawn child");
    let child = Child::from(out);
    assert!(child.ok, "{}\n{}", child.stdout, child.stderr);
    child
}

#[test]
fn a_missing_watched_file_warns_once_and_a_present_one_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let child = run(dir.path(), &[]);
    assert_eq!(child.count("RAN total"), 3, "{}", child.stdout);
    let warnings: Vec<&str> = child
        .stderr
        .lines()
        .filter(|l| l.contains("warning"))
        .collect();
    assert_eq!(warnings.len(), 1, "one warning\n{}", child.stderr);
    assert!(
        warnings[0].contains("files(\"inputs/prices.csv\") is not a readable file")
            && warnings[0].contains(&dir.path().display().to_string()),
        "names the path and where it was looked for: {}",
        warnings[0]
    );

    let quiet = run(dir.path(), &[("CHECKPOINTER_VERBOSITY", "0")]);
    assert!(!quiet.stderr.contains("warning"), "{}", quiet.stderr);

    std::fs::create_dir(dir.path().join("inputs")).unwrap();
    std::fs::write(dir.path().join("inputs/prices.csv"), "a,1\n").unwrap();
    let present = run(dir.path(), &[]);
    assert_eq!(
        present.count("RAN total"),
        3,
        "the file's contents key the calls anew"
    );
    assert!(!present.stderr.contains("warning"), "{}", present.stderr);
}
