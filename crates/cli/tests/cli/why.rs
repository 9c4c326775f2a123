//! `why` on two builds of a scratch crate: the item edited between them is named.

use crate::scratch_support::{cargo_build, edit, shared_target, write};
use crate::support::{cli, json, text};
use std::path::Path;
use std::process::Command;

const MAIN: &str = r#"use checkpointer::checkpoint;

fn helper(x: u64) -> u64 {
    x + 1
}

fn untouched(x: u64) -> u64 {
    x * 3
}

#[checkpoint(verbosity = 0)]
fn compute(x: u64) -> u64 {
    helper(x) + untouched(x)
}

fn main() {
    println!("{}", compute(2));
}
"#;

#[test]
fn why_names_the_helper_edited_between_two_builds() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let repo = repo.canonicalize().unwrap();
    let ws = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-why-ws");
    if ws.exists() {
        std::fs::remove_dir_all(&ws).unwrap();
    }
    let repo_path = repo.display().to_string().replace('\\', "/");
    write(
        &ws.join("Cargo.toml"),
        "[workspace]\nmembers = [\"why_app\"]\nresolver = \"2\"\n\n[profile.dev]\ndebug = false\n",
    );
    write(
        &ws.join("why_app/Cargo.toml"),
        &format!("[package]\nname = \"why_app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\ncheckpointer = {{ path = \"{repo_path}\" }}\n"),
    );
    std::fs::copy(repo.join("Cargo.lock"), ws.join("Cargo.lock")).unwrap();
    let main = ws.join("why_app/src/main.rs");
    write(&main, MAIN);
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let target = shared_target();
    let build_and_run = || {
        cargo_build(&ws, &target, "why_app");
        let out = Command::new(
            target
                .join("debug")
                .join(format!("why_app{}", std::env::consts::EXE_SUFFIX)),
        )
        .env("CHECKPOINTER_DIR", &cache)
        .env_remove("CHECKPOINTER_STORAGE")
        .output()
        .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };

    build_and_run();
    cli(&cache)
        .args(["why", "compute"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("one identity version"));
    edit(&main, "x + 1", "x + 2");
    build_and_run();
    let why = json(cli(&cache).args(["why", "compute"]));
    assert_eq!(why["function"], "why_app::compute");
    assert_eq!(
        why["changed"],
        serde_json::json!(["why_app::helper"]),
        "{why}"
    );
    assert_eq!(why["added"], serde_json::json!([]));
    assert_eq!(why["removed"], serde_json::json!([]));
    assert_eq!(why["new"]["current"], true);
    assert_eq!(
        why["new"]["pinned"], false,
        "the items decided this identity"
    );
    let (first, second) = (
        why["old"]["identity"].as_str().unwrap().to_string(),
        why["new"]["identity"].as_str().unwrap().to_string(),
    );
    let human = text(cli(&cache).args(["why", "comp"]));
    assert!(
        human
            .lines()
            .any(|l| l.starts_with("changed") && l.ends_with("why_app::helper")),
        "{human}"
    );

    // A new helper called from the function: the function changed and the helper was added.
    edit(
        &main,
        "helper(x) + untouched(x)",
        "helper(x) + untouched(x) + extra(x)",
    );
    edit(
        &main,
        "fn main() {",
        "fn extra(x: u64) -> u64 {\n    x\n}\n\nfn main() {",
    );
    build_and_run();
    let why = json(cli(&cache).args(["why", "compute"]));
    assert_eq!(why["old"]["identity"], second.as_str());
    assert_eq!(
        why["changed"],
        serde_json::json!(["why_app::compute"]),
        "{why}"
    );
    assert_eq!(why["added"], serde_json::json!(["why_app::extra"]));
    // Two named versions, by prefix.
    let named = json(cli(&cache).args(["why", "compute", &first[..8], &second[..8]]));
    assert_eq!(
        named["changed"],
        serde_json::json!(["why_app::helper"]),
        "{named}"
    );
}
