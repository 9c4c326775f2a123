//! What the facade's S3 tests share: the test server from the environment, unique prefixes,
//! child processes started without waiting, and a private server for outage tests.
#![allow(dead_code)]

use checkpointer::backend::{S3Options, S3Store};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// `(endpoint, bucket)` of the test server. Fails (never skips) when unset.
pub fn server() -> (String, String) {
    let get = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: run the tests through scripts/test, which starts an S3 server, or point it at one")
        })
    };
    (
        get("CHECKPOINTER_TEST_S3_ENDPOINT"),
        get("CHECKPOINTER_TEST_S3_BUCKET"),
    )
}

/// A fresh `s3://bucket/…` URL for one test run.
pub fn fresh_url(test: &str) -> String {
    let (_, bucket) = server();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "s3://{bucket}/facade-tests/{test}-{}-{nanos:08x}",
        std::process::id()
    )
}

/// The store at `url` on `endpoint`.
pub fn store(url: &str, endpoint: &str, tweak: impl FnOnce(&mut S3Options)) -> S3Store {
    let mut o = S3Options::default();
    o.endpoint = Some(endpoint.to_string());
    tweak(&mut o);
    S3Store::open_with(url, o).expect("open the S3 store")
}

/// The environment a child needs to reach the test server through `s3://` specs.
pub fn child_env() -> Vec<(String, String)> {
    let (endpoint, _) = server();
    vec![
        ("AWS_ENDPOINT_URL".into(), endpoint),
        ("AWS_ALLOW_HTTP".into(), "true".into()),
    ]
}

/// Starts the test `test` of this binary as a child process (see `common::run_child`), without
/// waiting for it.
pub fn spawn_child(test: &str, dir: &Path, env: &[(String, String)]) -> Child {
    let mut cmd = Command::new(std::env::current_exe().expect("test binary path"));
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("CHECKPOINTER_TEST_CHILD", test)
        .env("CHECKPOINTER_DIR", dir)
        .env("NO_COLOR", "1")
        .env_remove("CHECKPOINTER_DISABLE")
        .env_remove("CHECKPOINTER_STORAGE")
        .env_remove("CHECKPOINTER_VERBOSITY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn child test process")
}

/// `scripts/s3-server` of this repository.
pub fn server_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/s3-server")
}

/// A private SeaweedFS server (`scripts/s3-server`) whose state lives in `dir`; returns its
/// endpoint. Starting it again after [`stop_private_server`] brings it back at the same address.
pub fn start_private_server(dir: &Path) -> String {
    let out = Command::new(server_script())
        .arg("start")
        .arg(dir)
        .stderr(Stdio::inherit())
        .output()
        .expect("run scripts/s3-server");
    assert!(out.status.success(), "scripts/s3-server start failed");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("export CHECKPOINTER_TEST_S3_ENDPOINT="))
        .expect("the script prints the endpoint")
        .to_string()
}

/// Stops the server started from `dir`.
pub fn stop_private_server(dir: &Path) {
    let status = Command::new(server_script())
        .arg("stop")
        .arg(dir)
        .status()
        .expect("run scripts/s3-server");
    assert!(status.success(), "scripts/s3-server stop failed");
}

/// A racing child's start: says it is ready (a file in the directory `RACE_BARRIER` names)
/// and waits for the parent's `go` there, so racers call at the same instant.
pub fn race_start() {
    let barrier = PathBuf::from(std::env::var("RACE_BARRIER").expect("RACE_BARRIER"));
    std::fs::write(barrier.join(format!("ready-{}", std::process::id())), "").unwrap();
    let go = barrier.join("go");
    let t = std::time::Instant::now();
    while !go.exists() {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(60),
            "timed out waiting for {}",
            go.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// The parent's side of [`race_start`]: waits until `racers` children said they are ready in
/// `barrier`, then lets them all go.
pub fn race_go(barrier: &Path, racers: usize) {
    let t = std::time::Instant::now();
    while std::fs::read_dir(barrier).unwrap().count() < racers {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(60),
            "children did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    std::fs::write(barrier.join("go"), "").unwrap();
}
