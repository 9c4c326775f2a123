//! The command on fs caches.

use crate::support::{cli, files, function, json, program, text};
use std::path::Path;

/// The directory of the metadata (`-meta`) objects of function `name`, as the stores spell it.
fn meta_dir(cache: &Path, name: &str) -> std::path::PathBuf {
    let dir = checkpointer::backend::sanitize(&format!(
        "{name}{}",
        checkpointer::backend::manifest::META_SUFFIX
    ));
    cache.join("cli/program").join(dir)
}

/// The entry files (not the `-meta` objects) of the function `name` of this test crate.
fn entry_files_of(cache: &Path, name: &str) -> Vec<std::path::PathBuf> {
    files(&cache.join("cli/program").join(name))
}

#[test]
fn a_missing_or_empty_cache_is_not_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("never-created");
    for sub in ["ls", "stats", "graph", "verify", "cleanup"] {
        let out = text(cli(&missing).arg(sub));
        assert!(!out.is_empty(), "{sub} printed nothing");
    }
    assert!(text(cli(&missing).arg("stats")).contains("no cached functions"));
    let stats = json(cli(&missing).arg("stats"));
    assert_eq!(stats["total"]["entries"], 0);
    assert!(!missing.exists(), "reading must not create the cache");
    std::fs::create_dir_all(&missing).unwrap();
    assert_eq!(json(cli(&missing).arg("ls")), serde_json::json!([]));
}

#[test]
fn stats_and_ls_count_what_a_program_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    program("basic", &cache, &[]);
    let stats = json(cli(&cache).arg("stats"));
    assert_eq!(stats["total"]["entries"], 8, "{stats}");
    assert_eq!(function(&stats, "square")["entries"], 5);
    for name in ["outer", "middle", "inner"] {
        assert_eq!(function(&stats, name)["entries"], 1, "{name}");
    }
    let on_disk: u64 = ["square", "outer", "middle", "inner"]
        .iter()
        .flat_map(|n| entry_files_of(&cache, n))
        .map(|f| f.metadata().unwrap().len())
        .sum();
    assert_eq!(stats["total"]["bytes"], on_disk);
    assert_eq!(stats["invalidated"]["entries"], 0);

    let table = text(cli(&cache).arg("stats"));
    let square = table
        .lines()
        .find(|l| l.starts_with("cli::program::square"))
        .expect(&table);
    assert_eq!(square.split_whitespace().nth(2), Some("5"), "{table}");
    assert!(
        table.lines().last().unwrap().starts_with("total"),
        "{table}"
    );

    let ls = text(cli(&cache).arg("ls"));
    let header = ls.lines().next().unwrap();
    for column in [
        "FUNCTION", "VERSION", "STATE", "ENTRIES", "SIZE", "NEWEST", "LAST USE",
    ] {
        assert!(header.contains(column), "{ls}");
    }
    assert!(
        ls.contains("current") && !ls.contains("invalidated"),
        "{ls}"
    );
    assert!(!ls.contains('\x1b'), "no colour when not a terminal:\n{ls}");
    let only = json(cli(&cache).args(["ls", "squ"]));
    assert_eq!(only.as_array().unwrap().len(), 1);
    assert_eq!(only[0]["function"], "cli::program::square");
    assert_eq!(only[0]["versions"][0]["entries"], 5);
}

#[test]
fn verify_passes_then_names_the_entry_with_a_flipped_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    program("basic", &cache, &[]);
    cli(&cache)
        .arg("verify")
        .assert()
        .success()
        .stdout(predicates::str::contains("all sound"));

    let victim = entry_files_of(&cache, "square").remove(2);
    let mut bytes = std::fs::read(&victim).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&victim, bytes).unwrap();
    let call: String = victim
        .iter()
        .rev()
        .take(2)
        .map(|c| c.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();

    let out = cli(&cache).arg("verify").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("cli::program::square") && stdout.contains(&call[..16]),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!("cli::program::square [{}]", &call[..16])),
        "{stderr}"
    );
    assert!(
        stdout.contains("1 damaged, of 8 entries and 6 metadata objects"),
        "{stdout}"
    );

    let report = cli(&cache).args(["verify", "--json"]).output().unwrap();
    assert_eq!(report.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(report["damaged"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["damaged"][0]["call"], call.as_str());
    // Other functions are sound on their own.
    cli(&cache).args(["verify", "outer"]).assert().success();
    // `show` says so too.
    let shown = json(cli(&cache).args(["show", "square", &call[..10]]));
    assert_eq!(shown["sound"], false);
    assert!(
        shown["problem"].as_str().unwrap().contains("checksum"),
        "{shown}"
    );
}

#[test]
fn prune_dry_run_removes_nothing_and_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    program("basic", &cache, &[]);
    let before: Vec<(std::path::PathBuf, Vec<u8>)> = files(&cache)
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(&f).unwrap();
            (f, bytes)
        })
        .collect();

    let plan = json(cli(&cache).args(["prune", "--max-size", "1B", "--dry-run"]));
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["removed"]["entries"], 8, "{plan}");
    assert_eq!(plan["kept"]["entries"], 0);
    let human = text(cli(&cache).args([
        "prune",
        "--older-than",
        "30d",
        "--max-size",
        "10GiB",
        "--dry-run",
    ]));
    assert!(human.contains("nothing to remove"), "{human}");
    let human = text(cli(&cache).args(["prune", "--max-size", "1B", "--dry-run"]));
    assert!(human.contains("would remove 8 entries"), "{human}");
    assert!(human.contains("cli::program::square"), "{human}");
    let after: Vec<(std::path::PathBuf, Vec<u8>)> = files(&cache)
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(&f).unwrap();
            (f, bytes)
        })
        .collect();
    assert_eq!(before, after, "a dry run changed the cache");

    // For real: by size, least recently used first, and the metadata goes with the entries.
    let done = json(cli(&cache).args(["prune", "--max-size", "1B"]));
    assert_eq!(done["removed"]["entries"], 8, "{done}");
    assert_eq!(json(cli(&cache).arg("stats"))["total"]["entries"], 0);
    assert_eq!(
        files(&cache),
        Vec::<std::path::PathBuf>::new(),
        "left behind"
    );
    cli(&cache)
        .args(["prune"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--older-than"));
}

#[test]
fn cleanup_removes_exactly_the_invalidated_versions() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    program("basic", &cache, &[]);
    program(
        "versioned",
        &cache,
        &[("CLI_TEST_VERSION", "v1"), ("CLI_TEST_N", "3")],
    );
    program(
        "versioned",
        &cache,
        &[("CLI_TEST_VERSION", "v2"), ("CLI_TEST_N", "2")],
    );
    let stats = json(cli(&cache).arg("stats"));
    let versioned = function(&stats, "versioned");
    assert_eq!(versioned["versions"], 2);
    assert_eq!(versioned["invalidated"]["entries"], 3, "{stats}");
    assert_eq!(versioned["current"]["entries"], 2);
    let ls = text(cli(&cache).args(["ls", "versioned"]));
    assert!(ls.contains("invalidated") && ls.contains("current"), "{ls}");
    let old = json(cli(&cache).args(["ls", "versioned"]))[0]["versions"][1]["identity"]
        .as_str()
        .unwrap()
        .to_string();
    // Both versions were pinned by fn_hash_from: `why` says the items did not decide.
    let why = json(cli(&cache).args(["why", "versioned"]));
    assert_eq!(why["old"]["identity"], old.as_str());
    assert_eq!(why["new"]["pinned"], true);
    assert_eq!(why["changed"], serde_json::json!([]));

    let plan = json(cli(&cache).args(["cleanup", "--dry-run"]));
    assert_eq!(plan["removed"]["entries"], 3, "{plan}");
    let rows = plan["functions"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["identity"], old.as_str());
    assert_eq!(json(cli(&cache).arg("stats"))["total"]["entries"], 13);
    // Entries created longer ago than --expired-after go too (here: none, then all).
    let fresh = json(cli(&cache).args(["cleanup", "--dry-run", "--expired-after", "1h"]));
    assert_eq!(fresh["removed"]["entries"], 3, "{fresh}");
    let all = json(cli(&cache).args(["cleanup", "--dry-run", "--expired-after", "0s"]));
    assert_eq!(all["removed"]["entries"], 13, "{all}");

    let done = text(cli(&cache).arg("cleanup"));
    assert!(done.contains("removed 3 entries"), "{done}");
    let stats = json(cli(&cache).arg("stats"));
    assert_eq!(stats["total"]["entries"], 10, "{stats}");
    assert_eq!(function(&stats, "versioned")["versions"], 1);
    assert_eq!(function(&stats, "versioned")["entries"], 2);
    assert_eq!(function(&stats, "square")["entries"], 5);
    // The old version's manifest went with it; the current one's stayed.
    let meta = files(&meta_dir(&cache, "versioned"));
    assert_eq!(meta.len(), 1, "{meta:?}");
    assert!(!meta[0].to_string_lossy().contains(&old), "{meta:?}");
    assert!(text(cli(&cache).arg("cleanup")).contains("nothing to remove"));
}

#[test]
fn graph_shows_three_levels_of_nesting_and_show_names_the_parent() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    program("basic", &cache, &[]);
    let out = text(cli(&cache).arg("graph"));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("cli::program::outer ["), "{out}");
    assert!(lines[1].starts_with("└── cli::program::middle ["), "{out}");
    assert!(
        lines[2].starts_with("    └── cli::program::inner ["),
        "{out}"
    );

    let tree = json(cli(&cache).arg("graph"));
    assert_eq!(tree[0]["function"], "cli::program::outer");
    assert_eq!(tree[0]["children"][0]["function"], "cli::program::middle");
    let inner = &tree[0]["children"][0]["children"][0];
    assert_eq!(inner["function"], "cli::program::inner");
    assert_eq!(inner["present"], true);
    // The same tree for any function in it; none for a function never nested.
    assert_eq!(json(cli(&cache).args(["graph", "inner"])), tree);
    assert!(text(cli(&cache).args(["graph", "square"])).contains("no nested cached calls"));

    let call = inner["call"].as_str().unwrap();
    let shown = json(cli(&cache).args(["show", "inner", &call[..8]]));
    assert_eq!(shown["parent"]["function"], "cli::program::middle");
    assert_eq!(shown["parent"]["call"], tree[0]["children"][0]["call"]);
    assert_eq!(shown["codec"], "cbor");
    assert_eq!(shown["sound"], true);
    let human = text(cli(&cache).args(["show", "cli::program::inner", &call[..8]]));
    for field in [
        "created", "last use", "size", "codec", "checksum", "identity", "parent",
    ] {
        assert!(
            human.lines().any(|l| l.starts_with(field)),
            "{field}:\n{human}"
        );
    }
}

#[test]
fn errors_are_one_line_and_rm_removes_one_function() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    program("basic", &cache, &[]);
    let one_line = |args: &[&str], needle: &str| {
        let out = cli(&cache).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    };
    one_line(&["show", "cube"], "no cached function matches \"cube\"");
    one_line(&["rm", "program::"], "ambiguous");
    one_line(&["show", "square", "zz"], "not a hex prefix");
    one_line(&["why", "square"], "one identity version");
    one_line(&["--storage", "ftp://x", "stats"], "invalid storage spec");

    let removed = json(cli(&cache).args(["rm", "cli::program::square"]));
    assert_eq!(removed["removed"]["entries"], 5);
    let stats = json(cli(&cache).arg("stats"));
    assert_eq!(stats["total"]["entries"], 3);
    assert!(files(&cache.join("cli/program/square")).is_empty());
    assert!(meta_dir(&cache, "square").parent().unwrap().is_dir());
    assert!(files(&meta_dir(&cache, "square")).is_empty());
    assert!(!files(&meta_dir(&cache, "inner")).is_empty());
}

#[test]
fn graph_records_async_nesting_across_polls() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    program("async", &cache, &[]);
    let tree = json(cli(&cache).arg("graph"));
    assert_eq!(tree.as_array().unwrap().len(), 1, "{tree}");
    assert_eq!(tree[0]["function"], "cli::program::fetch_all");
    assert_eq!(
        tree[0]["children"][0]["function"],
        "cli::program::fetch_one"
    );
}
