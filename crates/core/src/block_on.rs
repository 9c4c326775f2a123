//! A minimal executor for driving storage futures from sync code, inside or outside any
//! async runtime (it parks the calling thread; it never needs or touches a runtime).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// Counts its wakes before unparking: a `block_on` nested in a poll of another parks the same
/// thread, and may take the unpark meant for the outer one; the outer one then sees the count
/// moved and polls again instead of parking for good.
struct ThreadWaker {
    thread: Thread,
    wakes: AtomicU64,
}

impl ThreadWaker {
    fn new() -> Arc<Self> {
        Arc::new(ThreadWaker {
            thread: thread::current(),
            wakes: AtomicU64::new(0),
        })
    }
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.thread.unpark();
    }
}

/// Runs `fut` to completion on the current thread.
pub fn block_on<F: Future>(mut fut: F) -> F::Output {
    thread_local! {
        static WAKER: (Arc<ThreadWaker>, Waker) = {
            let w = ThreadWaker::new();
            (w.clone(), Waker::from(w))
        };
    }
    // Pinned where it was passed: `pin!` would first copy it (a call's future is large,
    // and that copy was a measurable part of a memory miss).
    // SAFETY: `fut` is a local of this frame that is never moved again; it is dropped here.
    let mut fut = unsafe { Pin::new_unchecked(&mut fut) };
    let mut run = |(wakes, waker): &(Arc<ThreadWaker>, Waker)| {
        let mut cx = Context::from_waker(waker);
        loop {
            // Read before the poll: a wake during it (or during a nested `block_on` that ate
            // its unpark) moves the count, and the loop polls again.
            let seen = wakes.wakes.load(Ordering::SeqCst);
            match fut.as_mut().poll(&mut cx) {
                Poll::Ready(v) => return v,
                Poll::Pending => {
                    while wakes.wakes.load(Ordering::SeqCst) == seen {
                        thread::park();
                    }
                }
            }
        }
    };
    // The thread's waker, borrowed (no reference count to bump). During thread teardown (a
    // `Drop` calling a cached function) it may be gone: make one for this call.
    match WAKER.try_with(|waker| run(waker)) {
        Ok(v) => v,
        Err(_) => {
            let w = ThreadWaker::new();
            run(&(w.clone(), Waker::from(w)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    /// Ready once another thread, started at its first poll, has slept `ms` and woken it.
    fn woken_after(ms: u64) -> impl Future<Output = ()> {
        let done = Arc::new(AtomicBool::new(false));
        let mut started = false;
        std::future::poll_fn(move |cx| {
            if done.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            if !started {
                started = true;
                let (done, waker) = (done.clone(), cx.waker().clone());
                thread::spawn(move || {
                    thread::sleep(Duration::from_millis(ms));
                    done.store(true, Ordering::SeqCst);
                    waker.wake();
                });
            }
            Poll::Pending
        })
    }

    /// Both futures of a join polled in turn, as `futures::join!` does.
    async fn join(a: impl Future<Output = ()>, b: impl Future<Output = ()>) {
        let (mut a, mut b) = (Box::pin(a), Box::pin(b));
        let (mut a_done, mut b_done) = (false, false);
        std::future::poll_fn(|cx| {
            a_done = a_done || a.as_mut().poll(cx).is_ready();
            b_done = b_done || b.as_mut().poll(cx).is_ready();
            if a_done && b_done {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }

    /// A `block_on` nested in a poll of another (a sync cached call inside a future the outer
    /// one drives) parks the same thread: a wake meant for the outer one that arrives then
    /// must not be lost with the park it ended.
    #[test]
    fn a_wake_during_a_nested_block_on_is_not_lost() {
        let (tx, rx) = std::sync::mpsc::channel();
        thread::spawn(move || {
            block_on(join(woken_after(20), async {
                // Runs inside the outer poll; the outer's wake comes while this parks.
                block_on(woken_after(300));
            }));
            let _ = tx.send(());
        });
        assert!(
            rx.recv_timeout(Duration::from_secs(60)).is_ok(),
            "the outer block_on never woke"
        );
    }
}
