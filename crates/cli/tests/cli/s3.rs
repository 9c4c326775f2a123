//! The same commands against the S3 test server (`CHECKPOINTER_TEST_S3_ENDPOINT`, started by
//! scripts/test): the program stores through `CHECKPOINTER_STORAGE=s3://…`, the command reads
//! with `--storage s3://…`.

use crate::s3_support::{child_env, fresh_url, server, store};
use crate::support::{cli, function, json, program, text};
use checkpointer::backend::{Entry, Scope};
use checkpointer::Storage;

#[test]
fn the_command_works_on_an_s3_cache() {
    let (endpoint, _) = server();
    let url = fresh_url("cli");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("unused-fs-dir");
    let env = child_env();
    let mut program_env: Vec<(&str, &str)> =
        env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    program_env.push(("CHECKPOINTER_STORAGE", url.as_str()));
    let cmd = || {
        let mut c = cli(&dir);
        c.args(["--storage", url.as_str()]);
        for (k, v) in &env {
            c.env(k, v);
        }
        c
    };

    // An empty prefix is an empty cache.
    assert_eq!(json(cmd().arg("stats"))["total"]["entries"], 0);

    program("basic", &dir, &program_env);
    let mut v1 = program_env.clone();
    v1.extend([("CLI_TEST_VERSION", "v1"), ("CLI_TEST_N", "3")]);
    program("versioned", &dir, &v1);
    let mut v2 = program_env.clone();
    v2.extend([("CLI_TEST_VERSION", "v2"), ("CLI_TEST_N", "2")]);
    program("versioned", &dir, &v2);
    assert!(!dir.exists(), "the program used the fs store");

    let stats = json(cmd().arg("stats"));
    assert_eq!(stats["total"]["entries"], 13, "{stats}");
    assert_eq!(function(&stats, "square")["entries"], 5);
    assert_eq!(function(&stats, "versioned")["invalidated"]["entries"], 3);
    cmd().arg("verify").assert().success();

    let tree = json(cmd().arg("graph"));
    assert_eq!(
        tree[0]["children"][0]["children"][0]["function"], "cli::program::inner",
        "{tree}"
    );
    let graph = text(cmd().arg("graph"));
    assert!(
        graph
            .lines()
            .nth(2)
            .unwrap()
            .starts_with("    └── cli::program::inner"),
        "{graph}"
    );

    // Damage one entry on the server: a payload that no longer matches its checksum.
    let s3 = store(&url, &endpoint, |_| {});
    let listed = checkpointer::backend::block_on(s3.list(&Scope::All)).unwrap();
    let victim = listed
        .iter()
        .find(|i| i.key.function.name == "square")
        .unwrap()
        .key
        .clone();
    let good = checkpointer::backend::block_on(s3.load(&victim))
        .unwrap()
        .unwrap();
    let mut payload = good.payload.to_vec();
    payload[0] ^= 0x01;
    let bad = Entry {
        meta: good.meta,
        payload: payload.into(),
    };
    checkpointer::backend::block_on(s3.store(&victim, bad)).unwrap();
    let out = cmd().arg("verify").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let named = format!("cli::program::square [{}]", victim.call.short(16));
    assert!(stderr.contains(&named), "{stderr}");

    let plan = json(cmd().args(["prune", "--max-size", "1B", "--dry-run"]));
    assert_eq!(plan["removed"]["entries"], 13);
    assert_eq!(json(cmd().arg("stats"))["total"]["entries"], 13);

    let cleaned = json(cmd().arg("cleanup"));
    assert_eq!(cleaned["removed"]["entries"], 3, "{cleaned}");
    let removed = json(cmd().args(["rm", "square"]));
    assert_eq!(removed["removed"]["entries"], 5);
    let stats = json(cmd().arg("stats"));
    assert_eq!(stats["total"]["entries"], 5, "{stats}");
    assert_eq!(function(&stats, "versioned")["versions"], 1);
    cmd().arg("verify").assert().success();
    // Clean up the prefix.
    let done = json(cmd().args(["prune", "--max-size", "1B"]));
    assert_eq!(done["removed"]["entries"], 5);
    let left = checkpointer::backend::block_on(s3.list(&Scope::All)).unwrap();
    assert!(left.is_empty(), "{left:?}");
}
