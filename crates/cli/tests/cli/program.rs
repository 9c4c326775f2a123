//! The program whose caches the tests inspect: `run` does nothing in the test harness and,
//! in a child started by [`crate::support::program`], stores what its role asks.

use checkpointer::{checkpoint, Checkpointer};

#[checkpoint(verbosity = 0)]
pub fn square(x: u64) -> u64 {
    x * x
}

#[checkpoint(verbosity = 0)]
pub fn outer(n: u64) -> u64 {
    middle(n) + 1
}

#[checkpoint(verbosity = 0)]
pub fn middle(n: u64) -> u64 {
    inner(n) * 2
}

#[checkpoint(verbosity = 0)]
pub fn inner(n: u64) -> u64 {
    n + 100
}

/// The identity comes from `CLI_TEST_VERSION` (a preset's `fn_hash_from`), so two runs make
/// two identity versions of one function.
fn versioned_preset() -> Checkpointer {
    let version = std::env::var("CLI_TEST_VERSION").unwrap_or_default();
    Checkpointer::new().verbosity(0).fn_hash_from(version)
}

#[checkpoint(using = versioned_preset())]
pub fn versioned(x: u64) -> u64 {
    x + 1
}

/// Returns `Pending` once (waking itself), so what follows runs in a later poll.
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

#[checkpoint(verbosity = 0)]
pub async fn fetch_all(n: u64) -> u64 {
    yield_once().await;
    fetch_one(n).await + 1
}

#[checkpoint(verbosity = 0)]
pub async fn fetch_one(n: u64) -> u64 {
    yield_once().await;
    n * 10
}

#[test]
fn run() {
    let Ok(role) = std::env::var("CLI_TEST_ROLE") else {
        return;
    };
    match role.as_str() {
        // 5 + 3 entries: five squares and a three-level nesting.
        "basic" => {
            for x in 1..=5 {
                assert_eq!(square(x), x * x);
            }
            assert_eq!(outer(1), 203);
        }
        // CLI_TEST_N entries of `versioned` under identity CLI_TEST_VERSION.
        "versioned" => {
            let n: u64 = std::env::var("CLI_TEST_N").unwrap().parse().unwrap();
            for x in 1..=n {
                assert_eq!(versioned(x), x + 1);
            }
        }
        // An async nesting whose inner call starts in a later poll than the outer body's first.
        "async" => assert_eq!(checkpointer::backend::block_on(fetch_all(4)), 41),
        other => panic!("unknown role {other}"),
    }
}
