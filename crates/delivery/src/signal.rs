//! A single-threaded wake-up flag: the core raises it when it stores a message (or a
//! connection finishes), and the worker sleeping on it wakes at once instead of at its
//! next timer. Not `Send`: it lives on one core, like everything the worker touches.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// A sticky notification: `notify` before `wait` is not lost.
#[derive(Debug, Default)]
pub struct Signal {
    raised: Cell<bool>,
    wakers: RefCell<Vec<Waker>>,
}

impl Signal {
    /// A lowered signal.
    pub fn new() -> Signal {
        Signal::default()
    }

    /// Raises the signal and wakes every waiter.
    pub fn notify(&self) {
        self.raised.set(true);
        let wakers = std::mem::take(&mut *self.wakers.borrow_mut());
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Completes when the signal is raised, and lowers it.
    pub fn wait(&self) -> Wait<'_> {
        Wait { signal: self }
    }
}

/// The future of [`Signal::wait`].
#[derive(Debug)]
pub struct Wait<'a> {
    signal: &'a Signal,
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.signal.raised.replace(false) {
            return Poll::Ready(());
        }
        let mut wakers = self.signal.wakers.borrow_mut();
        if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}
