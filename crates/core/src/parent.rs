//! The call being computed, so a cached call made inside another one knows its parent.
//!
//! A thread-local slot, set while the computing function's body runs: around the call that
//! creates its future (a sync body runs right there) and around every poll of that future (an
//! async body may move between threads between polls). A nested `#[checkpoint]` call runs
//! inside one of those windows, on that thread, so it reads its parent there; work handed to
//! another task (`tokio::spawn`) or thread has no parent recorded.

use crate::Key;
use std::cell::Cell;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::pin;

thread_local! {
    /// The key of the innermost [`Enter`] guard alive on this thread, or null. A pointer, not
    /// a clone: entering is on every miss, twice, and a clone bumps a shared count each time.
    static CURRENT: Cell<*const Key> = const { Cell::new(std::ptr::null()) };
}

/// The call whose body is running on this thread, if any.
pub(crate) fn current() -> Option<Key> {
    // `try_with`: nothing is current during thread teardown.
    let p = CURRENT.try_with(Cell::get).ok()?;
    // SAFETY: a non-null pointer was set by a live `Enter` (guards restore the previous
    // pointer when they drop, innermost first: each is a local of a scope nested in the
    // previous one's), which borrows its key for as long as it lives.
    unsafe { p.as_ref() }.cloned()
}

/// Restores the previous slot on drop (also when the body panics).
///
/// Never hold one across an `.await` (nor leak one): [`current`]'s `unsafe` dereference
/// relies on guards dropping innermost first, on the thread that made them, while the key
/// they borrow is alive. Today they live only in strict scopes: a sync body's call, and one
/// poll in [`within`].
pub(crate) struct Enter<'a> {
    previous: *const Key,
    _key: PhantomData<&'a Key>,
}

/// Makes `key` the current call until the guard drops.
pub(crate) fn enter(key: &Key) -> Enter<'_> {
    let previous = CURRENT
        .try_with(|c| c.replace(key))
        .unwrap_or(std::ptr::null());
    Enter {
        previous,
        _key: PhantomData,
    }
}

impl Drop for Enter<'_> {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.set(self.previous));
    }
}

/// Runs `fut` with `key` as the current call during each of its polls.
pub(crate) async fn within<F: Future>(key: &Key, fut: F) -> F::Output {
    let mut fut = pin!(fut);
    std::future::poll_fn(|cx| {
        let _enter = enter(key);
        fut.as_mut().poll(cx)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Digest, FnPath};
    use std::sync::Arc;

    fn key(n: &str) -> Key {
        Key {
            function: Arc::new(FnPath::from_module_path("c", n)),
            identity: Digest::of_bytes(b"i"),
            call: Digest::of_bytes(n.as_bytes()),
        }
    }

    #[test]
    fn nested_enters_restore_the_outer_call() {
        assert!(current().is_none());
        let (a, b) = (key("a"), key("b"));
        {
            let _a = enter(&a);
            {
                let _b = enter(&b);
                assert_eq!(current(), Some(b.clone()));
            }
            assert_eq!(current(), Some(a.clone()));
            let seen = crate::block_on(within(&b, async { current() }));
            assert_eq!(seen, Some(b.clone()));
            assert_eq!(current(), Some(a.clone()));
        }
        assert!(current().is_none());
    }

    #[test]
    fn a_panicking_body_restores_the_outer_call() {
        let (a, b) = (key("a"), key("b"));
        let _a = enter(&a);
        let caught = std::panic::catch_unwind(|| {
            let _b = enter(&b);
            assert_eq!(current(), Some(b.clone()));
            panic!("the body panics");
        });
        assert!(caught.is_err());
        assert_eq!(current(), Some(a.clone()));
        let caught = std::panic::catch_unwind(|| {
            crate::block_on(within(&b, async {
                assert_eq!(current(), Some(b.clone()));
                panic!("the async body panics")
            }))
        });
        assert!(caught.is_err());
        assert_eq!(current(), Some(a.clone()));
    }
}
