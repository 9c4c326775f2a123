//! In-process single flight: concurrent callers of one key, threads or tasks, wait for the
//! first one instead of computing again. Waiting is a future, so async callers do not block
//! their executor and sync callers park in `block_on`.

use crate::Digest;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

#[derive(Default)]
struct Flight {
    state: Mutex<(bool, Vec<Waker>)>,
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

/// Resolves when the leader is done (successfully or not).
pub(crate) struct Wait(Arc<Flight>);

impl Future for Wait {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.0 {
            Poll::Ready(())
        } else {
            if !state.1.iter().any(|w| w.will_wake(cx.waker())) {
                state.1.push(cx.waker().clone());
            }
            Poll::Pending
        }
    }
}
