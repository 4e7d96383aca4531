//! tern-loadtest: the load generator (`send`) and fast sink (`sink`) bundled with tern.
//!
//! Both sides speak SMTP through tern-proto's state machines (the client session for
//! `send`, the server session for `sink`), so the tool shares the server's grammar and
//! never grows a parser of its own. Each runs one glommio executor per thread, so one
//! process can load a server on the same machine without becoming the bottleneck.
//!
//! - [`args`]: the command line; [`values`]: parsers for sizes, durations, rates,
//!   address patterns and reply rules.
//! - [`message`]: generated headers (with `X-Tern-Loadtest-Sent`) over a filler body.
//! - [`send`] and [`sink`]: the two executors' drivers; [`stats`]: histograms, counters
//!   and the table/JSON reports; [`progress`]: the live line on a terminal.
//! - [`tls`]: STARTTLS for both (`send --starttls`, `sink --tls-*`); `send --auth` and
//!   `sink --auth` add AUTH PLAIN (and LOGIN on the sink).
//!
//! The library exists so the tests can use the same message generator as the binary.

#![deny(missing_docs)]

pub mod args;
pub mod message;
pub mod progress;
pub mod send;
pub mod sink;
pub mod stats;
pub mod tls;
pub mod values;
mod window;
