//! Building and editing scratch crates that use the facade by path: shared by the facade's
//! `tests/code_change.rs` and the command's `crates/cli/tests` (included there by path).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The target directory every scratch build shares (`target/scratch-code-change`), so the
/// facade and its dependencies are compiled once for all of them.
pub fn shared_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("scratch-code-change")
}

/// `cargo build --offline -p <package>` in `ws` into `target`; panics with cargo's output on
/// failure.
pub fn cargo_build(ws: &Path, target: &Path, package: &str) {
    cargo_build_with(ws, target, package, &[]);
}

/// [`cargo_build`] with more arguments (`--features=…`).
pub fn cargo_build_with(ws: &Path, target: &Path, package: &str, args: &[String]) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--offline", "--quiet", "-p", package])
        .args(args)
        .current_dir(ws)
        .env("CARGO_TARGET_DIR", target);
    clean_env(&mut cmd);
    let out = cmd.output().expect("run cargo build");
    assert!(
        out.status.success(),
        "scratch build failed\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Leaves out what the outer cargo set for this test process (its jobserver, its
/// package's variables), so the inner build is a plain one.
pub fn clean_env(cmd: &mut Command) {
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k == "CARGO_MAKEFLAGS"
            || k == "MAKEFLAGS"
            || k == "MFLAGS"
            || k.starts_with("CARGO_PKG_")
            || k == "CARGO_MANIFEST_DIR"
            || k == "CARGO_CRATE_NAME"
            || k == "CARGO_PRIMARY_PACKAGE"
        {
            cmd.env_remove(k.as_ref());
        }
    }
}

/// Replaces `from` by `to` in `path` (which must contain `from` exactly once).
pub fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        text.matches(from).count(),
        1,
        "{} should contain {from:?} once:\n{text}",
        path.display()
    );
    write(path, &text.replacen(from, to, 1));
}

/// Writes `text` to `path`, creating its directory.
pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// A fresh package `name` in `dir` under the test target's temporary directory, depending on
/// the facade by path with its default features, with the quickstart's lock file (the same
/// dependencies, already resolved and downloaded, so it builds offline). Returns its directory.
pub fn new_package(dir: &str, name: &str) -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pkg = Path::new(env!("CARGO_TARGET_TMPDIR")).join(dir);
    if pkg.exists() {
        std::fs::remove_dir_all(&pkg).expect("remove the previous copy");
    }
    let repo_path = repo.display().to_string().replace('\\', "/");
    write(
        &pkg.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\ncheckpointer = {{ path = \"{repo_path}\" }}\n\n[workspace]\n"
        ),
    );
    std::fs::copy(
        repo.join("examples/quickstart/Cargo.lock"),
        pkg.join("Cargo.lock"),
    )
    .expect("copy Cargo.lock");
    pkg
}
