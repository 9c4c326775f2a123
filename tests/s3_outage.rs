//! The S3 tier's server stops mid-run: calls keep returning right values with one warning;
//! when it is back, caching in S3 resumes. Uses a private SeaweedFS server (`scripts/s3-server`)
//! so stopping it disturbs no other test.

mod s3_support;

use checkpointer::backend::{FsStore, Key, Layered};
use checkpointer::{checkpoint, Storage};
use s3_support::{spawn_child, start_private_server, stop_private_server, store};
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

struct Tiers {
    _dir: tempfile::TempDir,
    s3: Arc<dyn Storage>,
    layered: Arc<dyn Storage>,
}

/// fs over the private server given by the parent (`OUTAGE_S3_ENDPOINT`).
static TIERS: LazyLock<Tiers> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = std::env::var("OUTAGE_S3_ENDPOINT").unwrap();
    let bucket = std::env::var("CHECKPOINTER_TEST_S3_BUCKET").unwrap();
    let s3: Arc<dyn Storage> = Arc::new(store(&format!("s3://{bucket}/outage"), &endpoint, |o| {
        o.max_cooldown = Duration::from_secs(1)
    }));
    let fs: Arc<dyn Storage> = Arc::new(FsStore::new(dir.path().to_path_buf()));
    let layered: Arc<dyn Storage> = Arc::new(Layered::new(vec![fs, s3.clone()]));
    Tiers {
        _dir: dir,
        s3,
        layered,
    }
});

#[checkpoint(storage = TIERS.layered.clone(), verbosity = 0)]
fn double(x: u64) -> u64 {
    println!("BODY {x}");
    2 * x
}

fn in_s3(x: u64) -> Result<bool, checkpointer::CheckpointError> {
    let h = double::handle();
    let key = Key {
        function: h.path(),
        identity: h.identity(),
        call: double::call_hash(x),
    };
    checkpointer::backend::block_on(TIERS.s3.exists(&key))
}

#[test]
fn child_outage() {
    if std::env::var("CHECKPOINTER_TEST_CHILD").as_deref() != Ok("child_outage") {
        return;
    }
    let server = PathBuf::from(std::env::var("OUTAGE_S3_DIR").unwrap());
    assert_eq!(double(1), 2);
    assert!(in_s3(1).unwrap(), "stored in S3 while it was up");

    stop_private_server(&server);
    println!("STOPPED");
    // Right values throughout: from the fs tier, or computed.
    for round in 0..3 {
        assert_eq!(double(1), 2, "round {round}");
        assert_eq!(double(2), 4, "round {round}");
        assert_eq!(double(3), 6, "round {round}");
    }

    start_private_server(&server);
    println!("RESTARTED");
    // Caching in S3 resumes by itself once the cool-down ends.
    let t = Instant::now();
    while in_s3(1).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the S3 tier did not come back"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(double(4), 8);
    assert!(
        in_s3(4).unwrap(),
        "a value computed after the restart is stored in S3 again"
    );
    println!("DONE");
}

#[test]
fn a_stopped_s3_server_degrades_to_misses_with_one_warning_and_caching_resumes() {
    let server = tempfile::tempdir().unwrap();
    let endpoint = start_private_server(server.path());
    let env = vec![
        ("OUTAGE_S3_ENDPOINT".to_string(), endpoint),
        (
            "OUTAGE_S3_DIR".to_string(),
            server.path().to_string_lossy().into_owned(),
        ),
    ];
    let cache = tempfile::tempdir().unwrap();
    let out = spawn_child("child_outage", cache.path(), &env)
        .wait_with_output()
        .unwrap();
    stop_private_server(server.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed\n{stdout}\n{stderr}");
    assert!(stdout.contains("DONE"), "{stdout}");
    // Each value computed once: 1 before the outage, 2 and 3 during it (then from fs), 4 after.
    for x in 1..=4 {
        assert_eq!(
            stdout
                .lines()
                .filter(|l| l.trim_end().ends_with(&format!("BODY {x}")))
                .count(),
            1,
            "{stdout}"
        );
    }
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(
        warnings.len(),
        1,
        "expected one warning for the outage, got:\n{stderr}"
    );
    assert!(warnings[0].contains("s3"), "{}", warnings[0]);
}
