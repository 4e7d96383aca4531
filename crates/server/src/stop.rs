//! The per-core stop signal: set once at shutdown, awaited by the accept loop and by every
//! idle session so that they wake at once instead of at their next timeout.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// A one-shot, single-threaded broadcast flag.
#[derive(Debug, Default)]
pub struct Stop {
    stopped: Cell<bool>,
    wakers: RefCell<Vec<Waker>>,
}

impl Stop {
    /// Raises the flag and wakes every waiter.
    pub fn stop(&self) {
        self.stopped.set(true);
        for w in self.wakers.borrow_mut().drain(..) {
            w.wake();
        }
    }

    /// True once [`Stop::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.stopped.get()
    }

    /// A future that completes when the flag is raised.
    pub fn wait(&self) -> Stopped<'_> {
        Stopped { stop: self }
    }
}

/// The future of [`Stop::wait`].
#[derive(Debug)]
pub struct Stopped<'a> {
    stop: &'a Stop,
}

impl Future for Stopped<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.stop.stopped.get() {
            return Poll::Ready(());
        }
        let mut wakers = self.stop.wakers.borrow_mut();
        // A waiter polled many times must not grow the list without bound.
        if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}
