//! The ready index: which messages are due, and which wait for a given domain.
//!
//! Two views of the same set of messages with pending recipients:
//!
//! - by next attempt time, so a delivery worker takes what is due now and knows how long
//!   to sleep until the next one;
//! - by recipient domain (lowercased, as DNS compares names), so ETRN (RFC 1985) and
//!   ATRN (RFC 2645) can release exactly the messages for a held domain, whatever their
//!   next attempt time.
//!
//! It is pure: the shard tells it about every change, and it never reads the clock.

use crate::id::MessageId;
use std::collections::{BTreeSet, HashMap};

/// The ready index of one shard.
#[derive(Debug, Default, Clone)]
pub struct ReadyIndex {
    by_time: BTreeSet<(u64, MessageId)>,
    entries: HashMap<MessageId, Entry>,
    by_domain: HashMap<String, BTreeSet<MessageId>>,
}

#[derive(Debug, Clone)]
struct Entry {
    next_attempt: u64,
    domains: Vec<String>,
}

impl ReadyIndex {
    /// An empty index.
    pub fn new() -> ReadyIndex {
        ReadyIndex::default()
    }

    /// Adds `id`, or replaces what the index knew about it: due at `next_attempt` (unix
    /// seconds), with pending recipients in `domains` (any case, duplicates allowed).
    pub fn insert<'d>(
        &mut self,
        id: MessageId,
        next_attempt: u64,
        domains: impl IntoIterator<Item = &'d str>,
    ) {
        self.remove(id);
        let mut ds: Vec<String> = domains.into_iter().map(str::to_ascii_lowercase).collect();
        ds.sort_unstable();
        ds.dedup();
        for d in &ds {
            self.by_domain.entry(d.clone()).or_default().insert(id);
        }
        self.by_time.insert((next_attempt, id));
        self.entries.insert(
            id,
            Entry {
                next_attempt,
                domains: ds,
            },
        );
    }

    /// Forgets `id` (no recipient left pending). Returns whether it was there.
    pub fn remove(&mut self, id: MessageId) -> bool {
        let Some(e) = self.entries.remove(&id) else {
            return false;
        };
        self.by_time.remove(&(e.next_attempt, id));
        for d in e.domains {
            if let Some(set) = self.by_domain.get_mut(&d) {
                set.remove(&id);
                if set.is_empty() {
                    self.by_domain.remove(&d);
                }
            }
        }
        true
    }

    /// When `id` is next due, if it is in the index.
    pub fn next_attempt(&self, id: MessageId) -> Option<u64> {
        self.entries.get(&id).map(|e| e.next_attempt)
    }

    /// The messages due at `now` (next attempt at or before it), earliest first.
    pub fn due(&self, now: u64) -> impl Iterator<Item = MessageId> + '_ {
        self.by_time
            .iter()
            .take_while(move |(t, _)| *t <= now)
            .map(|&(_, id)| id)
    }

    /// The earliest entry, for a worker that wants to know how long to sleep.
    pub fn earliest(&self) -> Option<(u64, MessageId)> {
        self.by_time.first().copied()
    }

    /// The messages with a pending recipient in `domain` (compared case-insensitively),
    /// in id order.
    pub fn for_domain(&self, domain: &str) -> impl Iterator<Item = MessageId> + '_ {
        self.by_domain
            .get(&domain.to_ascii_lowercase())
            .into_iter()
            .flat_map(|set| set.iter().copied())
    }

    /// How many messages the index holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no message is waiting.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::id;

    #[test]
    fn due_in_time_order_and_replace() {
        let mut ix = ReadyIndex::new();
        ix.insert(id(1), 30, ["a.ex"]);
        ix.insert(id(2), 10, ["b.ex"]);
        ix.insert(id(3), 20, ["a.ex", "B.EX"]);
        let table: &[(u64, &[u64])] = &[
            (0, &[]),
            (10, &[2]),
            (25, &[2, 3]),
            (30, &[2, 3, 1]),
            (99, &[2, 3, 1]),
        ];
        for (now, want) in table {
            let got: Vec<u64> = ix.due(*now).map(|i| i.seq).collect();
            assert_eq!(&got, want, "now={now}");
        }
        assert_eq!(ix.earliest(), Some((10, id(2))));
        // Deferral moves a message later; the old time entry must not linger.
        ix.insert(id(2), 40, ["b.ex"]);
        assert_eq!(ix.due(30).map(|i| i.seq).collect::<Vec<_>>(), [3, 1]);
        assert_eq!(ix.next_attempt(id(2)), Some(40));
        assert_eq!(ix.len(), 3);
    }

    #[test]
    fn by_domain_is_case_insensitive_and_follows_removal() {
        let mut ix = ReadyIndex::new();
        ix.insert(id(1), 5, ["Held.EX", "held.ex", "other.ex"]);
        ix.insert(id(2), 5, ["held.ex"]);
        assert_eq!(
            ix.for_domain("HELD.ex").map(|i| i.seq).collect::<Vec<_>>(),
            [1, 2]
        );
        // The recipient for held.ex was delivered: the message stays for other.ex only.
        ix.insert(id(1), 5, ["other.ex"]);
        assert_eq!(
            ix.for_domain("held.ex").map(|i| i.seq).collect::<Vec<_>>(),
            [2]
        );
        assert!(ix.remove(id(2)));
        assert!(!ix.remove(id(2)));
        assert_eq!(ix.for_domain("held.ex").count(), 0);
        assert!(
            !ix.by_domain.contains_key("held.ex"),
            "empty domain sets are dropped"
        );
        assert_eq!(ix.for_domain("other.ex").count(), 1);
        ix.remove(id(1));
        assert!(ix.is_empty());
        assert!(ix.by_time.is_empty() && ix.by_domain.is_empty());
    }
}
