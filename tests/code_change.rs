//! Code-aware invalidation, end to end: a scratch workspace (the binary `app` using the
//! facade by path, with several modules, and the library `mylib`, a second member) is
//! copied from `tests/scratch/` to a temporary directory, built and run with cargo, edited,
//! rebuilt and rerun. After every edit the suite checks which cached functions ran, that the
//! cached output equals the output of the same build with `CHECKPOINTER_DISABLE=1`, and that
//! a second run remembers everything.
//!
//! The scratch builds share one target directory under this repository's target directory
//! (`target/scratch-code-change`), so the dependencies are compiled once and CI's target
//! cache keeps them; the workspace itself is rewritten at a fixed place under
//! `CARGO_TARGET_TMPDIR`, so its crates keep their package ids and the target directory does
//! not grow from run to run. Edits are applied in sequence to one workspace to keep the
//! whole suite within a few minutes on two cores.

mod scratch_support;

use scratch_support::{cargo_build_with, copy_dir, edit, shared_target, write};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every cached function of the scratch binary.
const ALL: &[&str] = &[
    "layout",
    "two_down",
    "uses_config",
    "method_value",
    "generic_trait",
    "with_macro",
    "from_lib",
    "returns_struct",
    "pinned",
    "captured",
    "env_watch",
    "files_watch",
];

struct Scratch {
    _tmp: tempfile::TempDir,
    ws: PathBuf,
    cache: PathBuf,
    target: PathBuf,
    env: BTreeMap<&'static str, String>,
    /// Every cached function of the binary.
    all: &'static [&'static str],
    /// Cargo features the binary is built with.
    features: Vec<&'static str>,
    /// The binary's package name (scratch workspaces share a target directory, so their
    /// packages must not share names).
    app: String,
}

/// What one run of the binary printed.
struct Run {
    ran: BTreeSet<String>,
    out: Vec<String>,
    items: Vec<String>,
}

impl Scratch {
    /// A copy of `tests/<template>` (members `app` and `mylib`); `app_extra` is appended to
    /// the app's manifest.
    fn new(template: &str, all: &'static [&'static str], app_extra: &str) -> Scratch {
        let prefix = if template == "scratch" {
            String::new()
        } else {
            format!("{template}_")
        };
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let tmp = tempfile::tempdir().expect("temp dir");
        let ws = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{template}-ws"));
        if ws.exists() {
            std::fs::remove_dir_all(&ws).expect("remove the previous scratch workspace");
        }
        copy_dir(&repo.join("tests").join(template), &ws);
        let repo_path = repo.display().to_string().replace('\\', "/");
        write(
            &ws.join("Cargo.toml"),
            "[workspace]\nmembers = [\"app\", \"mylib\"]\nresolver = \"2\"\n\n[profile.dev]\ndebug = false\n",
        );
        write(
            &ws.join("app/Cargo.toml"),
            &format!(
                "[package]\nname = \"{prefix}app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\ncheckpointer = {{ path = \"{repo_path}\" }}\nmylib = {{ path = \"../mylib\", package = \"{prefix}mylib\" }}\nserde = {{ version = \"1\", features = [\"derive\"] }}\n{app_extra}"
            ),
        );
        write(
            &ws.join("mylib/Cargo.toml"),
            &format!("[package]\nname = \"{prefix}mylib\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[lib]\nname = \"mylib\"\n"),
        );
        // The repository's lock file: every version is already resolved and downloaded.
        std::fs::copy(repo.join("Cargo.lock"), ws.join("Cargo.lock")).expect("copy Cargo.lock");
        write(&ws.join("data.txt"), "first contents\n");
        let target = shared_target();
        let cache = tmp.path().join("cache");
        let mut env = BTreeMap::new();
        env.insert("APP_MODE", "alpha".to_string());
        env.insert("APP_THRESHOLD", "1".to_string());
        Scratch {
            _tmp: tmp,
            ws,
            cache,
            target,
            env,
            all,
            features: Vec::new(),
            app: format!("{prefix}app"),
        }
    }

    /// Replaces `from` by `to` in `file` (which must contain `from` exactly once).
    fn edit(&self, file: &str, from: &str, to: &str) {
        edit(&self.ws.join(file), from, to);
    }

    fn build(&self) {
        let features = format!("--features={}", self.features.join(","));
        cargo_build_with(&self.ws, &self.target, &self.app, &[features]);
    }

    fn run(&self, disabled: bool) -> Run {
        let mut cmd = Command::new(self.target.join("debug").join(format!(
            "{}{}",
            self.app,
            std::env::consts::EXE_SUFFIX
        )));
        cmd.current_dir(&self.ws)
            .env("CHECKPOINTER_DIR", &self.cache)
            .env("NO_COLOR", "1")
            .env("CHECKPOINTER_VERBOSITY", "0");
        cmd.env_remove("CHECKPOINTER_STORAGE")
            .env_remove("CHECKPOINTER_DISABLE");
        if disabled {
            cmd.env("CHECKPOINTER_DISABLE", "1");
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run the scratch binary");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "scratch binary failed\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ran = stdout
            .lines()
            .filter_map(|l| l.strip_prefix("RAN "))
            .map(String::from)
            .collect();
        let lines = |prefix: &str| {
            stdout
                .lines()
                .filter(|l| l.starts_with(prefix))
                .map(String::from)
                .collect()
        };
        Run {
            ran,
            out: lines("OUT "),
            items: lines("ITEM "),
        }
    }

    /// Builds, runs, and checks that exactly `expect_ran` computed, that the output equals
    /// an uncached run's, and that a second run computes nothing.
    fn step(&self, what: &str, expect_ran: &[&str]) -> Run {
        self.build();
        let cached = self.run(false);
        let expected: BTreeSet<String> = expect_ran.iter().map(|s| s.to_string()).collect();
        assert_eq!(cached.ran, expected, "{what}: these functions computed");
        let fresh = self.run(true);
        assert_eq!(
            fresh.ran.len(),
            self.all.len(),
            "{what}: CHECKPOINTER_DISABLE=1 runs every body"
        );
        assert_eq!(
            cached.out, fresh.out,
            "{what}: cached output differs from an uncached run"
        );
        let again = self.run(false);
        assert!(
            again.ran.is_empty(),
            "{what}: the second run computed {:?}",
            again.ran
        );
        assert_eq!(again.out, fresh.out, "{what}: the second run's output");
        cached
    }
}

#[test]
fn edits_invalidate_exactly_the_functions_that_depend_on_them() {
    let mut s = Scratch::new("scratch", ALL, "");

    let first = s.step("first build", ALL);
    // `identity_items()` explains the identity: the function, then its dependencies.
    let items = first.items.join("\n");
    for item in [
        "app::two_down",
        "app::calc::first",
        "app::calc::deep::second",
    ] {
        assert!(
            first
                .items
                .iter()
                .any(|l| l.split(' ').nth(2) == Some(item)),
            "{item} missing from\n{items}"
        );
    }
    assert!(
        !items.contains("sibling"),
        "an unused function is not a dependency:\n{items}"
    );
    s.step("nothing changed", &[]);

    // Layout, comments and doc comments do not count.
    s.edit(
        "app/src/main.rs",
        "/// Reformatted, commented and documented by the suite: never recomputed.",
        "/// Documented differently.\n/// Twice.",
    );
    s.edit(
        "app/src/main.rs",
        "    println!(\"RAN layout\");",
        "    //! An inner doc comment.\n    println!(\"RAN layout\");",
    );
    s.edit(
        "app/src/main.rs",
        "    let y = x + 1;\n    y * 2",
        "    let y =\n        x + 1; // a comment\n    /* a block comment */ y*2",
    );
    s.edit(
        "app/src/main.rs",
        "fn layout(x: u64) -> u64 {",
        "fn layout(\n    x: u64,\n) -> u64 {",
    );
    s.step(
        "reformatting, a comment, a doc comment inside and on the function",
        &[],
    );

    // Moving an item within its file, and editing unrelated code in the binary and the library.
    s.edit(
        "app/src/calc/deep.rs",
        "pub fn second(x: u64) -> u64 {\n    x * 10\n}\n",
        "",
    );
    s.edit(
        "app/src/calc/deep.rs",
        "    3\n}\n",
        "    3\n}\n\npub fn second(x: u64) -> u64 {\n    x * 10\n}\n",
    );
    s.edit(
        "app/src/main.rs",
        "fn unrelated() -> u64 {\n    42",
        "fn unrelated() -> u64 {\n    43",
    );
    s.edit("app/src/calc/deep.rs", "    3\n}", "    4\n}");
    s.edit(
        "mylib/src/lib.rs",
        "pub fn unused_in_app() -> u64 {\n    1",
        "pub fn unused_in_app() -> u64 {\n    2",
    );
    s.step(
        "an item moved within its file, unrelated functions edited",
        &[],
    );

    s.edit("app/src/calc/deep.rs", "x * 10", "x * 11");
    s.step("a helper two calls down, in another module", &["two_down"]);

    s.edit(
        "app/src/config.rs",
        "pub const LIMIT: u64 = 10;",
        "pub const LIMIT: u64 = 20;",
    );
    s.step("a const in another module", &["uses_config"]);

    s.edit(
        "app/src/config.rs",
        "pub static START: &str = \"abc\";",
        "pub static START: &str = \"abcd\";",
    );
    s.step("a static initializer in another module", &["uses_config"]);

    s.edit("app/src/counter.rs", "self.n + 1", "self.n + 2");
    s.step("a method called through a value", &["method_value"]);

    s.edit(
        "app/src/shapes.rs",
        "self.side * self.side",
        "self.side * self.side + 1.0",
    );
    s.step("a trait impl reached through a generic", &["generic_trait"]);

    s.edit("app/src/macros.rs", "$e * 3", "$e * 3 + 1");
    s.step("a macro_rules! used", &["with_macro"]);

    s.edit(
        "mylib/src/lib.rs",
        "    pub fn factor() -> u64 {\n        4",
        "    pub fn factor() -> u64 {\n        5",
    );
    s.step("a helper in the workspace library", &["from_lib"]);

    // A new field whose serde default would let an old entry decode "successfully" with the
    // wrong value: the identity changes, so the old entry is never read into the new type.
    s.edit(
        "app/src/types.rs",
        "    pub total: u64,\n}",
        "    pub total: u64,\n    #[serde(default)]\n    pub extra: u64,\n}",
    );
    s.edit(
        "app/src/types.rs",
        "Report { total: n * 2 }",
        "Report { total: n * 2, extra: 7 }",
    );
    // `captured` recomputes too: its static is built with `AtomicU64::new`, and a qualified
    // path never narrows (`T::new` may be any `new`), so it reaches `Report::new`.
    let after = s.step(
        "a struct in the return type gains a field",
        &["captured", "returns_struct"],
    );
    assert!(
        after.out.iter().any(|l| l.contains("extra: 7")),
        "{:?}",
        after.out
    );

    // fn_hash_from: body edits are remembered until the declared value changes. (The edit
    // keeps the result, so the cached output still equals the uncached one.)
    s.edit(
        "app/src/main.rs",
        "    x + 100\n",
        "    let base = 100;\n    x + base\n",
    );
    s.step("fn_hash_from = \"v1\" with an edited body", &[]);
    s.edit(
        "app/src/main.rs",
        "fn_hash_from = \"v1\"",
        "fn_hash_from = \"v2\"",
    );
    s.step("fn_hash_from changed to \"v2\"", &["pinned"]);

    // Runtime inputs: a captured static's value, a watched env var, a watched file.
    s.env.insert("APP_THRESHOLD", "2".into());
    s.step("a captured static's value", &["captured"]);
    s.env.insert("APP_MODE", "beta".into());
    s.step("a watched environment variable", &["env_watch"]);
    write(&s.ws.join("data.txt"), "second, longer contents\n");
    s.step("a watched file's contents", &["files_watch"]);
}

/// Every cached function of the classes scratch binary.
const CLASSES: &[&str] = &[
    "a_into",
    "b_variant",
    "c_use",
    "d_chain",
    "e_alias",
    "g_macro",
    "helper1",
    "helper2",
    "i_include",
    "j_data",
    "j_feature",
    "j_env",
    "k_line",
    "callee",
    "caller",
    "watched",
    "watches_through",
];

/// One real build per route by which code or a build input reaches a cached function (the
/// resolver's unit tests attack each route more finely, `fingerprint::tests::adversarial`).
/// Where a set names more than the edited function, the extra ones are documented
/// over-approximations: they reach the same names.
#[test]
fn classes_of_edits_never_hit_stale() {
    let mut s = Scratch::new("scratch_classes", CLASSES, "\n[features]\nfast = []\n");
    s.env.insert("APP_WATCHED", "one".into());
    s.step("first build", CLASSES);

    // A: `impl From<Money> for u64`, used by `.into()`; e_alias reaches `Money` too.
    s.edit("app/src/money.rs", "m.0 * 100", "m.0 * 101");
    s.step(
        "an impl whose self type is not the user type",
        &["a_into", "e_alias"],
    );

    // B: a variant used bare through a glob; C: a `use` line alone switches the function;
    // D: a body behind a rename in the workspace library.
    s.edit("app/src/money.rs", "High = 5", "High = 6");
    s.edit(
        "app/src/main.rs",
        "use picks::a::pick;",
        "use picks::b::pick;",
    );
    s.edit(
        "mylib/src/lib.rs",
        "    pub fn f() -> u64 {\n        1",
        "    pub fn f() -> u64 {\n        2",
    );
    s.step(
        "a discriminant, a use line, a renamed library function",
        &["b_variant", "c_use", "d_chain"],
    );

    // E: Display written on an alias; G: a macro invocation's argument; H: a local const
    // of the function around a nested #[checkpoint] (both nested helpers name `local`).
    s.edit("app/src/money.rs", "\"${}\"", "\"USD {}\"");
    s.edit(
        "app/src/gen.rs",
        "make_fn!(seven, 7);",
        "make_fn!(seven, 8);",
    );
    s.edit(
        "app/src/nested.rs",
        "const K: u64 = 1;",
        "const K: u64 = 3;",
    );
    s.step(
        "an impl on an alias, a macro argument, a local const",
        &["a_into", "e_alias", "g_macro", "helper1", "helper2"],
    );

    // I and J: an include!d file outside src/, include_str! data, a build script's
    // rustc-env value.
    s.edit("shared/x.rs", "    10", "    11");
    s.edit("app/data.txt", "first", "second");
    s.edit("app/stamp.txt", "one", "two");
    s.step(
        "an included file, included data, an env! value",
        &["i_include", "j_data", "j_env"],
    );

    // J: a Cargo feature.
    s.features.push("fast");
    s.step("a feature enabled", &["j_feature"]);

    // K: a line inserted above line!(); harmless: a callee's non-identity option, an
    // unrelated function, an unrelated library function.
    s.edit(
        "app/src/main.rs",
        "#[checkpoint]\nfn k_line",
        "\n#[checkpoint]\nfn k_line",
    );
    s.edit(
        "app/src/main.rs",
        "#[checkpoint(verbosity = 0)]",
        "#[checkpoint(verbosity = 2)]",
    );
    s.edit(
        "app/src/main.rs",
        "fn unrelated() -> u64 {\n    1",
        "fn unrelated() -> u64 {\n    2",
    );
    s.edit(
        "mylib/src/lib.rs",
        "pub fn unrelated_in_lib() -> u64 {\n    1",
        "pub fn unrelated_in_lib() -> u64 {\n    2",
    );
    s.step(
        "a line above line!(), a callee's verbosity, unrelated functions",
        &["k_line"],
    );

    // A runtime input of a called #[checkpoint] function: its caller watches it too.
    s.env.insert("APP_WATCHED", "two".into());
    s.step(
        "a variable a called function watches",
        &["watched", "watches_through"],
    );
}
