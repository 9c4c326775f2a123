//! Running the program and the command.

use std::path::Path;
use std::process::Command;

/// Runs this test binary as the program with `role`, its cache in `dir` (and `env`).
pub fn program(role: &str, dir: &Path, env: &[(&str, &str)]) {
    let mut cmd = Command::new(std::env::current_exe().expect("test binary path"));
    cmd.args(["program::run", "--exact", "--nocapture", "--test-threads=1"])
        .env("CLI_TEST_ROLE", role)
        .env("CHECKPOINTER_DIR", dir)
        .env("NO_COLOR", "1")
        .env_remove("CHECKPOINTER_DISABLE")
        .env_remove("CHECKPOINTER_STORAGE")
        .env_remove("CHECKPOINTER_VERBOSITY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run the program");
    assert!(
        out.status.success(),
        "program {role} failed\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `checkpointer` command on the fs cache in `dir`, run in `dir`, without colour.
pub fn cli(dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("checkpointer").expect("the checkpointer binary");
    std::fs::create_dir_all(dir.parent().unwrap_or(dir)).unwrap();
    cmd.current_dir(dir.parent().unwrap_or(dir))
        .env("CHECKPOINTER_DIR", dir)
        .env("NO_COLOR", "1")
        .env_remove("CHECKPOINTER_STORAGE");
    cmd
}

/// Runs `cmd` (which must succeed) and parses its stdout as JSON.
pub fn json(cmd: &mut assert_cmd::Command) -> serde_json::Value {
    let out = cmd.arg("--json").output().expect("run checkpointer");
    assert!(
        out.status.success(),
        "checkpointer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", String::from_utf8_lossy(&out.stdout)))
}

/// Runs `cmd` (which must succeed) and returns its stdout.
pub fn text(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.output().expect("run checkpointer");
    assert!(
        out.status.success(),
        "checkpointer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The per-function object of `stats --json` for the function whose name ends with `name`.
pub fn function<'a>(stats: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    stats["functions"]
        .as_array()
        .expect("functions")
        .iter()
        .find(|f| {
            f["function"]
                .as_str()
                .unwrap()
                .ends_with(&format!("::{name}"))
        })
        .unwrap_or_else(|| panic!("no {name} in {stats}"))
}

/// Every file below `dir` but the fs store's lock file.
pub fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            } else if e.file_name() != checkpointer::backend::STORE_LOCK_FILE {
                // (The fs store's lock file is kept for good: not an entry, not a leftover.)
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}
