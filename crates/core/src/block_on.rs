//! A minimal executor for driving storage futures from sync code, inside or outside any
//! async runtime (it parks the calling thread; it never needs or touches a runtime).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `fut` to completion on the current thread.
pub fn block_on<F: Future>(mut fut: F) -> F::Output {
    thread_local! {
        static WAKER: Waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    }
    // Pinned where it was passed: `pin!` would first copy it (a call's future is large,
    // and that copy was a measurable part of a memory miss).
    // SAFETY: `fut` is a local of this frame that is never moved again; it is dropped here.
    let mut fut = unsafe { Pin::new_unchecked(&mut fut) };
    let mut run = |waker: &Waker| {
        let mut cx = Context::from_waker(waker);
        loop {
            match fut.as_mut().poll(&mut cx) {
                Poll::Ready(v) => return v,
                Poll::Pending => thread::park(),
            }
        }
    };
    // The thread's waker, borrowed (no reference count to bump). During thread teardown (a
    // `Drop` calling a cached function) it may be gone: make one for this call.
    match WAKER.try_with(|waker| run(waker)) {
        Ok(v) => v,
        Err(_) => run(&Waker::from(Arc::new(ThreadWaker(thread::current())))),
    }
}
