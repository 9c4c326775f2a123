//! The README's first command keeps its promise: `examples/quickstart` (a package of its own)
//! computes on the first run, remembers on the second, and editing `slow_square` recomputes
//! `slow_square` and nothing else — with real builds of a copy of the example, real runs and
//! the default fs store, judged from the verbosity-1 lines (`[checkpointer] computed …`).
//!
//! The copy is built into the target directory every scratch build shares, so the facade is
//! compiled once for this test and `tests/code_change.rs`.

mod scratch_support;

use scratch_support::{cargo_build, copy_dir, edit, shared_target, write};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Quickstart {
    _cache: tempfile::TempDir,
    pkg: PathBuf,
    target: PathBuf,
}

impl Quickstart {
    /// A copy of `examples/quickstart` depending on this repository's facade by absolute path.
    fn new() -> Quickstart {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let pkg = Path::new(env!("CARGO_TARGET_TMPDIR")).join("quickstart-ws");
        if pkg.exists() {
            std::fs::remove_dir_all(&pkg).expect("remove the previous copy");
        }
        let example = repo.join("examples/quickstart");
        std::fs::create_dir_all(&pkg).unwrap();
        copy_dir(&example.join("src"), &pkg.join("src"));
        std::fs::copy(example.join("Cargo.lock"), pkg.join("Cargo.lock")).unwrap();
        let manifest = std::fs::read_to_string(example.join("Cargo.toml")).unwrap();
        let repo_path = repo.display().to_string().replace('\\', "/");
        let from = "checkpointer = { path = \"../..\" }";
        assert!(
            manifest.contains(from),
            "the example depends on the facade by path"
        );
        write(
            &pkg.join("Cargo.toml"),
            &manifest.replace(
                from,
                &format!("checkpointer = {{ path = \"{repo_path}\" }}"),
            ),
        );
        Quickstart {
            _cache: tempfile::tempdir().unwrap(),
            pkg,
            target: shared_target(),
        }
    }

    /// Builds, runs, and returns the names of the functions that computed.
    fn run(&self) -> BTreeSet<String> {
        cargo_build(&self.pkg, &self.target, "quickstart");
        let exe = self
            .target
            .join("debug")
            .join(format!("quickstart{}", std::env::consts::EXE_SUFFIX));
        let out = Command::new(exe)
            .current_dir(&self.pkg)
            .env("CHECKPOINTER_DIR", self._cache.path())
            .env("NO_COLOR", "1")
            .env_remove("CHECKPOINTER_VERBOSITY")
            .env_remove("CHECKPOINTER_STORAGE")
            .env_remove("CHECKPOINTER_DISABLE")
            .output()
            .expect("run the quickstart");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "quickstart failed\n{stdout}\n{stderr}"
        );
        assert!(
            stdout.contains("squares [1, 4, 9, 16]") && stdout.contains("numbers Ok([1, 2, 3])"),
            "the example's values\n{stdout}"
        );
        stderr
            .lines()
            .filter_map(|l| l.strip_prefix("[checkpointer] computed"))
            .filter_map(|l| l.split_whitespace().next())
            .map(|f| f.trim_start_matches("quickstart::").to_string())
            .collect()
    }

    fn edit(&self, from: &str, to: &str) {
        edit(&self.pkg.join("src/main.rs"), from, to);
    }
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn editing_slow_square_recomputes_slow_square_and_nothing_else() {
    let q = Quickstart::new();
    assert_eq!(q.run(), set(&["slow_square", "parse_numbers"]), "first run");
    assert_eq!(q.run(), set(&[]), "second run remembers everything");

    q.edit("    x * x\n", "    x.pow(2)\n");
    assert_eq!(q.run(), set(&["slow_square"]), "after editing slow_square");
    assert_eq!(q.run(), set(&[]), "and remembers it again");

    // `main` and the messages are not part of any cached function's identity.
    q.edit(
        "\"squares {squares:?} in {:?}\"",
        "\"squares {squares:?} took {:?}\"",
    );
    assert_eq!(q.run(), set(&[]), "after editing main");

    q.edit(
        "text.split(',').map(|s| s.trim().parse()).collect()",
        "text.split(',').map(|s| s.trim().parse::<i64>()).collect()",
    );
    assert_eq!(
        q.run(),
        set(&["parse_numbers"]),
        "after editing parse_numbers"
    );
}
