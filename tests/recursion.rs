//! Recursive memoization: a recursive `#[checkpoint]` function caches every sub-problem it
//! reaches (distinct arguments, so no call waits on itself), and `uncached` is how a body
//! recurses without caching its intermediate steps.

use checkpointer::checkpoint;
use std::sync::atomic::{AtomicU64, Ordering};

static FIB_BODIES: AtomicU64 = AtomicU64::new(0);

#[checkpoint(storage = "memory", verbosity = 0)]
fn fib(n: u64) -> u64 {
    FIB_BODIES.fetch_add(1, Ordering::SeqCst);
    if n < 2 {
        n
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

#[test]
fn a_recursive_function_caches_its_sub_problems() {
    // Uncached, fib(60) would run its body about 4e12 times; memoized, once per n.
    assert_eq!(fib(60), 1_548_008_755_920);
    assert_eq!(FIB_BODIES.load(Ordering::SeqCst), 61);
    for n in 0..=60 {
        assert!(fib::exists(n).unwrap(), "fib({n}) was not cached");
    }
    assert_eq!(fib(59), 956_722_026_041);
    assert_eq!(fib(62), 4_052_739_537_881);
    // Two new sub-problems (61 and 62); everything below was a hit.
    assert_eq!(FIB_BODIES.load(Ordering::SeqCst), 63);
}

static STEP_BODIES: AtomicU64 = AtomicU64::new(0);

/// Sum of 1..=n, recursing through `uncached`: only the outermost call is stored.
#[checkpoint(storage = "memory", verbosity = 0)]
fn total(n: u64) -> u64 {
    STEP_BODIES.fetch_add(1, Ordering::SeqCst);
    if n == 0 {
        0
    } else {
        total::uncached(n - 1) + n
    }
}

#[test]
fn uncached_recursion_stores_only_the_outer_call() {
    assert_eq!(total(100), 5050);
    assert_eq!(STEP_BODIES.load(Ordering::SeqCst), 101);
    assert!(total::exists(100).unwrap());
    for n in 0..100 {
        assert!(!total::exists(n).unwrap(), "total({n}) was cached");
    }
    assert_eq!(total(100), 5050);
    assert_eq!(
        STEP_BODIES.load(Ordering::SeqCst),
        101,
        "the second call is a hit"
    );
}

static ASYNC_BODIES: AtomicU64 = AtomicU64::new(0);

/// Async recursion needs a boxed future (as any recursive `async fn` does); the cache works
/// the same. (`+ Send` cannot be proven for a recursive opaque future: box without it.)
#[checkpoint(storage = "memory", verbosity = 0)]
async fn stairs(n: u64) -> u64 {
    ASYNC_BODIES.fetch_add(1, Ordering::SeqCst);
    if n < 2 {
        1
    } else {
        type Boxed = std::pin::Pin<Box<dyn std::future::Future<Output = u64>>>;
        let a: Boxed = Box::pin(stairs(n - 1));
        let b: Boxed = Box::pin(stairs(n - 2));
        a.await + b.await
    }
}

#[test]
fn async_recursion_caches_its_sub_problems() {
    let ways = futures_executor::block_on(stairs(50));
    assert_eq!(ways, 20_365_011_074);
    assert_eq!(ASYNC_BODIES.load(Ordering::SeqCst), 51);
}
