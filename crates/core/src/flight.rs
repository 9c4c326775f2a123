//! In-process single flight: concurrent callers of one key, threads or tasks, wait for the
//! first one instead of computing again. Waiting is a future, so async callers do not block
//! their executor and sync callers park in `block_on`.

use crate::Digest;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

#[derive(Default)]
struct Flight {
    state: Mutex<(bool, Vec<Waker>)>,
    /// Whether the leader stored a value: waiters that find none compute on their own, all
    /// at once, rather than lead one after another (an `Err` is not cached).
    stored: AtomicBool,
}

/// The set of keys being computed by this process, for one function.
#[derive(Default)]
pub(crate) struct Flights {
    running: Mutex<Vec<(Digest, Arc<Flight>)>>,
}

/// Held by the one caller computing a key; dropping it (also on panic) releases the waiters.
pub(crate) struct Leader<'a> {
    flights: &'a Flights,
    call: Digest,
    flight: Arc<Flight>,
}

pub(crate) enum Role<'a> {
    Leader(Leader<'a>),
    Waiter(Wait),
}

impl Flights {
    pub(crate) const fn new() -> Self {
        Flights {
            running: Mutex::new(Vec::new()),
        }
    }

    /// Joins the flight for `call`: the first caller leads, the others wait.
    pub(crate) fn join(&self, call: Digest) -> Role<'_> {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, f)) = running.iter().find(|(d, _)| *d == call) {
            return Role::Waiter(Wait(f.clone()));
        }
        let flight = Arc::new(Flight::default());
        running.push((call, flight.clone()));
        Role::Leader(Leader {
            flights: self,
            call,
            flight,
        })
    }
}

impl Leader<'_> {
    /// Records that the value was stored, so waiters load it instead of computing.
    pub(crate) fn stored(&self) {
        self.flight.stored.store(true, Ordering::Release);
    }
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        let mut running = self
            .flights
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        running.retain(|(d, f)| !(*d == self.call && Arc::ptr_eq(f, &self.flight)));
        drop(running);
        let mut state = self
            .flight
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        state.0 = true;
        for w in state.1.drain(..) {
            w.wake();
        }
    }
}

/// Resolves when the leader is done, to whether it stored a value.
pub(crate) struct Wait(Arc<Flight>);

impl Future for Wait {
    type Output = bool;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let mut state = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.0 {
            Poll::Ready(self.0.stored.load(Ordering::Acquire))
        } else {
            if !state.1.iter().any(|w| w.will_wake(cx.waker())) {
                state.1.push(cx.waker().clone());
            }
            Poll::Pending
        }
    }
}

thread_local! {
    /// The keys whose computation is being polled on this thread right now, innermost last:
    /// `(flights address, call)`. A call that finds its own key here is inside its own
    /// computation (same thread, same task) and must not wait for it.
    static COMPUTING: RefCell<Vec<(usize, Digest)>> = const { RefCell::new(Vec::new()) };
}

impl Flights {
    fn id(&self) -> usize {
        self as *const Flights as usize
    }

    /// Whether `call` is being computed by the caller itself: this thread is inside a poll
    /// of [`Flights::computing`] for it. Waiting would then wait forever.
    pub(crate) fn reentered(&self, call: Digest) -> bool {
        let id = self.id();
        // `try_with` here and below: during thread teardown (a `Drop` calling a cached
        // function) the marks are gone, and nothing is being computed on this thread.
        COMPUTING
            .try_with(|c| c.borrow().iter().any(|&(f, d)| f == id && d == call))
            .unwrap_or(false)
    }

    /// Runs `f`, the computation of `call`, marking every poll of it so that a nested call
    /// of the same key — sync or async, directly or through other functions — can see that it
    /// is inside its own computation ([`Flights::reentered`]). The mark lives only during a
    /// poll, so it follows the task across threads of any executor.
    pub(crate) async fn computing<Fut: Future>(
        &self,
        call: Digest,
        f: impl FnOnce() -> Fut,
    ) -> Fut::Output {
        let id = self.id();
        // `f` itself runs inside the first marked poll: a sync body runs right there.
        let fut = async move { f().await };
        let mut fut = std::pin::pin!(fut);
        std::future::poll_fn(|cx| {
            let _ = COMPUTING.try_with(|c| c.borrow_mut().push((id, call)));
            let _unmark = Unmark;
            fut.as_mut().poll(cx)
        })
        .await
    }
}

/// Pops the innermost mark, also when the computation panics.
struct Unmark;

impl Drop for Unmark {
    fn drop(&mut self) {
        let _ = COMPUTING.try_with(|c| {
            c.borrow_mut().pop();
        });
    }
}
