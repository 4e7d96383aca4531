//! The harness of the process-level tests: it runs the real `tern` binary on a temporary
//! directory and a free loopback port, waits for its ready line, and talks to it over raw
//! sockets; for the delivery tests it also runs a sink SMTP server for tern to relay into.
//!
//! - `process`: a test's [`Dir`], the configs written into it, and the [`Tern`] child
//!   process (its stderr, its signals, its exit).
//! - `client`: [`Client`], the raw-socket SMTP client, with exact-byte and reply-class
//!   checks.
//! - `sink`: [`Sink`], an SMTP server on std threads driving `tern_proto::server::Session`,
//!   keeping what it is sent in memory.
//! - `queue`: `tern queue list` / `tern queue show` read back as [`Listed`] / [`Shown`],
//!   and the Received header tern adds.
//!
//! Every wait is on a condition with a deadline (a line on stderr, a reply, the end of the
//! process, a message at the sink), never a bare sleep standing in for a signal, and the
//! deadlines are generous: the suite runs on a shared 2-core machine next to other builds,
//! where a fixed sleep is either too short (a flaky test) or too long (a slow one). The
//! sleeps left in tests only give a wrong outcome (a second delivery) the time to show.
//! A [`Tern`] kills its process and a [`Sink`] stops its thread when dropped, so a failing
//! assertion never leaves a server behind.
// Each test binary uses a different part of the harness.
#![allow(dead_code)]

mod client;
mod process;
mod queue;
mod sink;

use std::time::{Duration, Instant};

// The harness's API, in one place. The same reason as for dead_code above, for the
// re-exports a test binary does not use; a single `use` so that one allow covers it.
#[allow(unused_imports)]
pub use self::{
    client::{dot_stuff, Client},
    process::{
        free_port, tern, Dir, Settings, Tern, EXIT_TIMEOUT, GREETING, HOST, READY_TIMEOUT,
        RELAY_HOST, REPLY_TIMEOUT,
    },
    queue::{
        after_received, queue_list, queue_list_text, queue_show, queued_id, strip_received, Listed,
        Shown,
    },
    sink::{Sink, SinkState},
};

/// How often [`wait_for`] looks again: often enough that a test does not idle long after
/// its condition holds, rarely enough that polling does not compete with the server.
const POLL: Duration = Duration::from_millis(20);

/// The moment a wait gives up.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(Instant);

impl Deadline {
    /// `timeout` from now.
    pub fn after(timeout: Duration) -> Deadline {
        Deadline(Instant::now() + timeout)
    }

    /// The time left, or `None` once the deadline has passed.
    pub fn remaining(self) -> Option<Duration> {
        self.0
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())
    }
}

/// Polls `cond` until it holds (true) or `timeout` passes (false). For conditions nothing
/// announces, such as a message arriving at a sink or a process ending.
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Deadline::after(timeout);
    loop {
        if cond() {
            return true;
        }
        // The last sleep ends at the deadline, so the condition gets one look there too.
        let Some(left) = deadline.remaining() else {
            return false;
        };
        std::thread::sleep(left.min(POLL));
    }
}

/// Where `needle` first occurs in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
