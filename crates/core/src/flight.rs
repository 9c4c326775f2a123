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
    running: Mutex<Running>,
}

#[derive(Default)]
struct Running {
    /// The next leader's number.
    next: u64,
    /// `(call, leader number, flight)`. The flight is made by the first waiter: a call no
    /// one waits for (almost every miss) allocates nothing here.
    keys: Vec<(Digest, u64, Option<Arc<Flight>>)>,
}

/// Held by the one caller computing a key; dropping it (also on panic) releases the waiters.
pub(crate) struct Leader<'a> {
    flights: &'a Flights,
    call: Digest,
    number: u64,
    stored: AtomicBool,
}

pub(crate) enum Role<'a> {
    Leader(Leader<'a>),
    Waiter(Wait),
}

impl Flights {
    pub(crate) const fn new() -> Self {
        Flights {
            running: Mutex::new(Running {
                next: 0,
                keys: Vec::new(),
            }),
        }
    }

    /// Joins the flight for `call`: the first caller leads, the others wait.
    pub(crate) fn join(&self, call: Digest) -> Role<'_> {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, _, f)) = running.keys.iter_mut().find(|(d, _, _)| *d == call) {
            let flight = f.get_or_insert_with(|| Arc::new(Flight::default()));
            return Role::Waiter(Wait(flight.clone()));
        }
        let number = running.next;
        running.next = number.wrapping_add(1);
        running.keys.push((call, number, None));
        Role::Leader(Leader {
            flights: self,
            call,
            number,
            stored: AtomicBool::new(false),
        })
    }
}

impl Leader<'_> {
    /// Records that the value was stored, so waiters load it instead of computing.
    pub(crate) fn stored(&self) {
        self.stored.store(true, Ordering::Release);
    }
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        let mut running = self
            .flights
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mine = running
            .keys
            .iter()
            .position(|(d, n, _)| *d == self.call && *n == self.number);
        // Removed under the lock: a caller joining after this leads anew; one that joined
        // before holds the flight, made then, and is woken below.
        let flight = mine.and_then(|i| running.keys.swap_remove(i).2);
        drop(running);
        let Some(flight) = flight else {
            return;
        };
        // Set before `done`, which waiters read under the same lock as they read this.
        flight
            .stored
            .store(self.stored.load(Ordering::Acquire), Ordering::Release);
        let mut state = flight.state.lock().unwrap_or_else(PoisonError::into_inner);
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
    ///
    /// `None` when this thread can no longer tell: its marks are gone (a `Drop` at thread
    /// exit calling a cached function, after the thread-locals were destroyed). A nested call
    /// of the same key would then wait for itself forever, so such a call must compute
    /// without joining a flight (at worst twice, never wrongly).
    pub(crate) fn reentered(&self, call: Digest) -> Option<bool> {
        let id = self.id();
        COMPUTING
            .try_with(|c| c.borrow().iter().any(|&(f, d)| f == id && d == call))
            .ok()
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    fn call(n: u8) -> Digest {
        Digest([n; 32])
    }

    #[test]
    fn a_waiter_learns_whether_the_leader_stored() {
        let flights = Flights::new();
        for stored in [true, false] {
            let Role::Leader(leader) = flights.join(call(1)) else {
                panic!("the first caller must lead")
            };
            // The flight is made by the first waiter, after the leader began.
            let Role::Waiter(wait) = flights.join(call(1)) else {
                panic!("a second caller must wait")
            };
            let Role::Waiter(second) = flights.join(call(1)) else {
                panic!("a third caller must wait")
            };
            // Another key is not this flight.
            assert!(matches!(flights.join(call(2)), Role::Leader(_)));
            if stored {
                leader.stored();
            }
            drop(leader);
            assert_eq!(crate::block_on(wait), stored);
            assert_eq!(crate::block_on(second), stored);
        }
    }

    #[test]
    fn after_the_leader_the_next_caller_leads() {
        let flights = Flights::new();
        for _ in 0..3 {
            // No waiter: nothing of the flight remains.
            let Role::Leader(leader) = flights.join(call(1)) else {
                panic!("must lead")
            };
            leader.stored();
            drop(leader);
        }
        let Role::Leader(leader) = flights.join(call(1)) else {
            panic!("must lead")
        };
        let Role::Waiter(wait) = flights.join(call(1)) else {
            panic!("must wait")
        };
        drop(leader);
        assert!(matches!(flights.join(call(1)), Role::Leader(_)));
        assert!(!crate::block_on(wait));
        assert!(flights.running.lock().unwrap().keys.is_empty());
    }

    /// Threads join one key over and over; every waiter is released, and no two leaders of
    /// the key ever overlap.
    #[test]
    fn leaders_never_overlap_and_every_waiter_is_released() {
        let flights = Arc::new(Flights::new());
        let leading = Arc::new(AtomicUsize::new(0));
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        for t in 0..6 {
            let (flights, leading, done) = (flights.clone(), leading.clone(), done_tx.clone());
            std::thread::spawn(move || {
                for i in 0..2000 {
                    match flights.join(call(7)) {
                        Role::Leader(leader) => {
                            assert_eq!(leading.fetch_add(1, Ordering::SeqCst), 0, "two leaders");
                            if (i + t) % 3 == 0 {
                                std::thread::yield_now();
                            }
                            if i % 2 == 0 {
                                leader.stored();
                            }
                            leading.fetch_sub(1, Ordering::SeqCst);
                        }
                        Role::Waiter(wait) => {
                            crate::block_on(wait);
                        }
                    }
                }
                done.send(()).unwrap();
            });
        }
        for _ in 0..6 {
            done_rx
                .recv_timeout(Duration::from_secs(120))
                .expect("a waiter was never released");
        }
        assert!(flights.running.lock().unwrap().keys.is_empty());
    }
}
