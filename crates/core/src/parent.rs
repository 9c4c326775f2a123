//! The call being computed, so a cached call made inside another one knows its parent.
//!
//! A thread-local slot, set while the computing function's body runs: around the call that
//! creates its future (a sync body runs right there) and around every poll of that future (an
//! async body may move between threads between polls). A nested `#[checkpoint]` call runs
//! inside one of those windows, on that thread, so it reads its parent there; work handed to
//! another task (`tokio::spawn`) or thread has no parent recorded.

use crate::Key;
use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;

thread_local! {
    static CURRENT: RefCell<Option<Key>> = const { RefCell::new(None) };
}

/// The call whose body is running on this thread, if any.
pub(crate) fn current() -> Option<Key> {
    // `try_with`: nothing is current during thread teardown.
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}

/// Restores the previous slot on drop (also when the body panics).
pub(crate) struct Enter {
    previous: Option<Key>,
}

/// Makes `key` the current call until the guard drops.
pub(crate) fn enter(key: &Key) -> Enter {
    let previous = CURRENT
        .try_with(|c| c.replace(Some(key.clone())))
        .ok()
        .flatten();
    Enter { previous }
}

impl Drop for Enter {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = previous);
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
            assert_eq!(seen, Some(b));
            assert_eq!(current(), Some(a));
        }
        assert!(current().is_none());
    }
}
