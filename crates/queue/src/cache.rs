//! The bodies of messages just queued, kept in memory for their first delivery attempt.
//!
//! A relay that keeps up delivers a message moments after it was accepted: reading its
//! body back from the segment (open, read, close, each an io_uring operation, the open
//! often punted to a kernel worker thread) would cost more than the copy it saves. So a
//! shard keeps each new message's bytes here, up to a byte budget, until the message is
//! done or its first attempt defers it (a retry minutes later reads from disk like after a
//! restart). When the budget is used up new messages are simply not cached: the oldest
//! entries are the next to be delivered, so evicting them would be the wrong way round.

use std::collections::HashMap;

use crate::MessageId;

/// Bytes of message bodies one shard keeps in memory at most.
pub(crate) const BUDGET: usize = 32 << 20;

/// Message bytes (the stored head, then the body) by id, within a byte budget.
#[derive(Debug)]
pub(crate) struct BodyCache {
    bodies: HashMap<MessageId, (Vec<u8>, Vec<u8>)>,
    bytes: usize,
    budget: usize,
}

impl BodyCache {
    pub(crate) fn new(budget: usize) -> BodyCache {
        BodyCache {
            bodies: HashMap::new(),
            bytes: 0,
            budget,
        }
    }

    /// Keeps `head` and `body` of `id` if they fit the budget; otherwise drops them.
    pub(crate) fn insert(&mut self, id: MessageId, head: Vec<u8>, body: Vec<u8>) {
        let len = head.len() + body.len();
        if self.bytes + len > self.budget {
            return;
        }
        self.bytes += len;
        if let Some((h, b)) = self.bodies.insert(id, (head, body)) {
            self.bytes -= h.len() + b.len();
        }
    }

    /// The stored bytes of `id` (head then body), as the segment holds them.
    pub(crate) fn get(&self, id: MessageId) -> Option<Vec<u8>> {
        let (head, body) = self.bodies.get(&id)?;
        let mut out = Vec::with_capacity(head.len() + body.len());
        out.extend_from_slice(head);
        out.extend_from_slice(body);
        Some(out)
    }

    /// Forgets `id` (done, or deferred to a later attempt).
    pub(crate) fn remove(&mut self, id: MessageId) {
        if let Some((h, b)) = self.bodies.remove(&id) {
            self.bytes -= h.len() + b.len();
        }
    }

    /// Bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::id;

    #[test]
    fn keeps_head_then_body_within_the_budget() {
        let mut c = BodyCache::new(10);
        c.insert(id(1), b"H:".to_vec(), b"abc".to_vec());
        assert_eq!(c.get(id(1)).as_deref(), Some(&b"H:abc"[..]));
        assert_eq!(c.bytes(), 5);
        // 5 + 6 > 10: not kept, and the first entry is untouched.
        c.insert(id(2), Vec::new(), b"abcdef".to_vec());
        assert_eq!(c.get(id(2)), None);
        assert_eq!(c.get(id(1)).as_deref(), Some(&b"H:abc"[..]));
        c.insert(id(3), Vec::new(), b"12345".to_vec());
        assert_eq!(c.bytes(), 10);
        c.remove(id(1));
        c.remove(id(1));
        assert_eq!(c.bytes(), 5);
        assert_eq!(c.get(id(1)), None);
        c.insert(id(2), Vec::new(), b"abcde".to_vec());
        assert_eq!(c.get(id(2)).as_deref(), Some(&b"abcde"[..]));
    }

    #[test]
    fn a_second_insert_for_an_id_replaces_the_first() {
        let mut c = BodyCache::new(100);
        c.insert(id(1), Vec::new(), b"old".to_vec());
        c.insert(id(1), Vec::new(), b"newer".to_vec());
        assert_eq!(c.bytes(), 5);
        assert_eq!(c.get(id(1)).as_deref(), Some(&b"newer"[..]));
    }
}
