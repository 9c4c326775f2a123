//! The command on an Azure cache, against Azurite (`CHECKPOINTER_TEST_AZURE_*` and the
//! `AZURE_*`/`AZURITE_*` variables from scripts/azure-server, started by scripts/test): the
//! program stores through `CHECKPOINTER_STORAGE=az://…`, the command reads and maintains it
//! with `--storage az://…`, and refuses to modify it as `ro:az://…`.

use crate::support::{cli, function, json, program};

fn fresh_url() -> String {
    for name in [
        "CHECKPOINTER_TEST_AZURE_ENDPOINT",
        "AZURITE_BLOB_STORAGE_URL",
    ] {
        if std::env::var(name).is_err() {
            panic!("{name} is not set: run the tests through scripts/test, which starts Azurite (scripts/azure-server), or point it at one");
        }
    }
    let container = std::env::var("CHECKPOINTER_TEST_AZURE_CONTAINER")
        .expect("CHECKPOINTER_TEST_AZURE_CONTAINER is set with CHECKPOINTER_TEST_AZURE_ENDPOINT");
    format!(
        "az://{container}/cli-tests/{}-{:08x}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    )
}

#[test]
fn the_command_works_on_an_azure_cache_and_refuses_to_modify_it_read_only() {
    let url = fresh_url();
    let ro = format!("ro:{url}");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("unused-fs-dir");
    let on = |spec: &str| {
        let mut c = cli(&dir);
        c.args(["--storage", spec]);
        c
    };
    assert_eq!(json(on(&url).arg("stats"))["total"]["entries"], 0);

    let storage = ("CHECKPOINTER_STORAGE", url.as_str());
    program("basic", &dir, &[storage]);
    // Two versions of one function: the first is invalidated, so `cleanup` has work to do.
    for (version, n) in [("v1", "3"), ("v2", "2")] {
        program(
            "versioned",
            &dir,
            &[storage, ("CLI_TEST_VERSION", version), ("CLI_TEST_N", n)],
        );
    }
    assert!(!dir.exists(), "the program used the fs store");
    let stats = json(on(&url).arg("stats"));
    let entries = stats["total"]["entries"].as_u64().unwrap();
    assert!(entries > 0, "{stats}");
    assert_eq!(function(&stats, "square")["entries"], 5, "{stats}");
    assert_eq!(
        function(&stats, "versioned")["invalidated"]["entries"],
        3,
        "{stats}"
    );
    on(&url).arg("verify").assert().success();

    // Read-only: reading works, every modification is refused naming the tier, nothing changes.
    assert_eq!(json(on(&ro).arg("stats"))["total"]["entries"], entries);
    for args in [
        &["rm", "square"][..],
        &["cleanup"][..],
        &["prune", "--max-size", "1B"][..],
    ] {
        let out = on(&ro).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded on {ro}");
        assert!(stderr.contains("read-only"), "{args:?}: {stderr}");
    }
    assert_eq!(json(on(&url).arg("stats"))["total"]["entries"], entries);

    // Writable: maintenance empties it.
    let removed = json(on(&url).args(["prune", "--max-size", "1B"]));
    assert_eq!(removed["removed"]["entries"], entries);
    assert_eq!(json(on(&url).arg("stats"))["total"]["entries"], 0);
}
