//! # tern-delivery: routing, retries, DSN and the per-core delivery worker
//!
//! The pure core decides; the worker acts:
//!
//! - [`route`]: the route table, recipient domain to next hop (first match wins);
//! - [`schedule`]: exponential backoff with jitter and the queue lifetime;
//! - [`outcome`]: the reply stored with each recipient's outcome, and read back;
//! - [`dsn`]: RFC 3464 delivery status notifications (bounces, delay and relay notices);
//! - [`worker`]: one per core, on that core's queue shard: takes what is due, groups it by
//!   next hop, drives `tern_proto::client::ClientSession` over TCP and records each
//!   recipient's outcome.
//!
//! ```
//! use tern_delivery::route::{DomainPattern, Route, RouteAction, RouteTable};
//! let table = RouteTable::new(vec![Route {
//!     domains: vec![DomainPattern::parse("*.example.net").map_err(|e| e.to_string())?],
//!     action: RouteAction::Hold,
//!     tls: Default::default(),
//! }]);
//! assert!(table.lookup("a.example.net").is_some());
//! assert!(table.lookup("example.net").is_none());
//! # Ok::<(), String>(())
//! ```
#![deny(missing_docs)]

mod conn;
mod dns;
pub mod dsn;
pub mod mx;
pub mod outcome;
pub mod route;
pub mod schedule;
pub mod signal;
pub mod tls;
pub mod worker;

#[cfg(test)]
mod dsn_tests;
