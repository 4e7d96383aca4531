//! Connection limits: per core (a plain counter, the core's own) and per client IP across
//! all cores.
//!
//! The per-IP count has to be shared, because SO_REUSEPORT spreads one client's connections
//! over every core. It is a fixed table of atomic counters indexed by a hash of the address:
//! one `fetch_add` at accept and one `fetch_sub` at close, no lock, no allocation, nothing on
//! the per-message path. Two addresses that share a slot count together, which can only make
//! the limit stricter, never looser; with 65,536 slots that is rare.

use std::cell::Cell;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

const SLOTS: usize = 1 << 16;

/// Per-IP connection counts shared by every core.
#[derive(Debug)]
pub struct IpTable {
    slots: Box<[AtomicU32]>,
    hasher: std::collections::hash_map::RandomState,
    limit: u32,
}

impl IpTable {
    /// A table allowing `limit` connections per address (0: no limit).
    pub fn new(limit: u32) -> IpTable {
        IpTable {
            slots: (0..SLOTS).map(|_| AtomicU32::new(0)).collect(),
            hasher: std::collections::hash_map::RandomState::new(),
            limit,
        }
    }

    fn slot(&self, ip: IpAddr) -> &AtomicU32 {
        &self.slots[(self.hasher.hash_one(ip) as usize) % SLOTS]
    }
}

/// The per-core side: the core's own count and a handle on the shared IP table.
#[derive(Debug)]
pub struct Limits {
    per_core: u32,
    open: Cell<u32>,
    ips: Arc<IpTable>,
}

/// A counted connection; dropping it gives the place back.
#[derive(Debug)]
pub struct Permit {
    limits: Rc<Limits>,
    ip: IpAddr,
}

impl Limits {
    /// Limits for one core.
    pub fn new(per_core: u32, ips: Arc<IpTable>) -> Limits {
        Limits {
            per_core,
            open: Cell::new(0),
            ips,
        }
    }

    /// Connections open on this core.
    pub fn open(&self) -> u32 {
        self.open.get()
    }

    /// Counts a new connection from `ip`, or refuses it when a limit is reached.
    pub fn admit(self: &Rc<Self>, ip: IpAddr) -> Option<Permit> {
        if self.per_core != 0 && self.open.get() >= self.per_core {
            return None;
        }
        let slot = self.ips.slot(ip);
        // Relaxed is enough: the counter is only compared with the limit, it orders nothing.
        let before = slot.fetch_add(1, Ordering::Relaxed);
        if self.ips.limit != 0 && before >= self.ips.limit {
            slot.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        self.open.set(self.open.get() + 1);
        Some(Permit {
            limits: Rc::clone(self),
            ip,
        })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.limits
            .ips
            .slot(self.ip)
            .fetch_sub(1, Ordering::Relaxed);
        self.limits.open.set(self.limits.open.get() - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_ip_and_per_core_limits() {
        let ips = Arc::new(IpTable::new(2));
        let a = Rc::new(Limits::new(3, Arc::clone(&ips)));
        let b = Rc::new(Limits::new(3, Arc::clone(&ips)));
        let ip1: IpAddr = "127.0.0.1".parse().unwrap();
        // Another address in another slot (two addresses share one with odds 1 in 65,536,
        // which would make this test fail by chance).
        let ip2: IpAddr = (2..=255u8)
            .map(|n| IpAddr::from([127, 0, 0, n]))
            .find(|ip| !std::ptr::eq(ips.slot(*ip), ips.slot(ip1)))
            .unwrap();
        let p1 = a.admit(ip1).unwrap();
        let _p2 = b.admit(ip1).unwrap();
        // The third from the same IP is refused, whichever core it lands on.
        assert!(a.admit(ip1).is_none());
        assert!(b.admit(ip1).is_none());
        drop(p1);
        let _p3 = a.admit(ip1).unwrap();
        let _p4 = a.admit(ip2).unwrap();
        let _p5 = a.admit(ip2).unwrap();
        assert_eq!(a.open(), 3);
        // Core `a` is full.
        assert!(a.admit("127.0.0.9".parse().unwrap()).is_none());
    }
}
