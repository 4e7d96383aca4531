//! The in-memory picture of a shard, rebuilt by replaying records: the messages still to
//! deliver, their per-recipient state, where their record is, and the ready index.
//!
//! Pure: recovery, the live shard and the offline reader all feed it the same records.

use crate::id::MessageId;
use crate::index::ReadyIndex;
use crate::record::{MessageMeta, Outcome, Record};
use std::collections::HashMap;
use std::rc::Rc;

/// A queued message as the shard knows it (the body stays on disk). Cloning it is cheap
/// apart from the recipients' states: the envelope is shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMessage {
    /// Id, arrival, client and envelope; shared, since the delivery worker takes a copy of
    /// the message at every step of an attempt.
    pub meta: Rc<MessageMeta>,
    /// One entry per envelope recipient: `None` while not tried yet, else the last
    /// outcome. Delivered and Failed are final.
    pub recipients: Vec<Option<Outcome>>,
    /// The body's length in bytes.
    pub body_len: u32,
    /// Where the message's current record is.
    pub location: Location,
}

/// Where a record sits in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// The segment's sequence number.
    pub segment: u64,
    /// The record's offset in the segment.
    pub offset: u64,
    /// The framed length (header included).
    pub len: u32,
}

impl QueuedMessage {
    /// When the message is next due: the earliest deferral among its recipients, or its
    /// arrival when some recipient was never tried. `None` when every recipient is final
    /// (the message only waits for its done record).
    pub fn next_attempt(&self) -> Option<u64> {
        self.recipients
            .iter()
            .filter_map(|r| match r {
                None => Some(self.meta.arrival),
                Some(Outcome::Deferred { next_attempt, .. }) => Some(*next_attempt),
                Some(Outcome::Delivered | Outcome::Failed { .. }) => None,
            })
            .min()
    }

    /// The domains of the recipients still pending (a bare `<Postmaster>` has none).
    pub fn pending_domains(&self) -> impl Iterator<Item = &str> {
        self.meta
            .envelope
            .rcpts
            .iter()
            .zip(&self.recipients)
            .filter(|(_, st)| matches!(st, None | Some(Outcome::Deferred { .. })))
            .filter_map(|(r, _)| r.path.mailbox().map(|m| m.domain()))
    }
}

/// Messages by id plus the ready index.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) messages: HashMap<MessageId, QueuedMessage>,
    pub(crate) index: ReadyIndex,
}

impl State {
    /// Applies one decoded record found at `loc`.
    pub(crate) fn apply(&mut self, rec: Record<'_>, loc: Location) {
        match rec {
            Record::Message(meta, body) => self.add_message(meta, body.len() as u32, loc),
            Record::Outcome { id, rcpt, outcome } => {
                self.set_outcome(id, rcpt, outcome);
            }
            Record::Done(id) => {
                self.remove(id);
            }
        }
    }

    /// A message record. A second record for a known id is a compaction copy: it carries
    /// the message afresh, and the outcome records written right after it restore the
    /// recipients' state.
    pub(crate) fn add_message(&mut self, meta: MessageMeta, body_len: u32, location: Location) {
        let n = meta.envelope.rcpts.len();
        let msg = QueuedMessage {
            meta: Rc::new(meta),
            recipients: vec![None; n],
            body_len,
            location,
        };
        reindex(&mut self.index, &msg);
        self.messages.insert(msg.meta.id, msg);
    }

    /// An outcome. Outcomes for unknown messages (compacted away) or recipients out of
    /// range are ignored. Returns whether it applied.
    pub(crate) fn set_outcome(&mut self, id: MessageId, rcpt: u32, outcome: Outcome) -> bool {
        let Some(msg) = self.messages.get_mut(&id) else {
            return false;
        };
        let Some(slot) = msg.recipients.get_mut(rcpt as usize) else {
            return false;
        };
        *slot = Some(outcome);
        reindex(&mut self.index, msg);
        true
    }

    /// The message is done: forget it. Returns whether it was known.
    pub(crate) fn remove(&mut self, id: MessageId) -> Option<QueuedMessage> {
        self.index.remove(id);
        self.messages.remove(&id)
    }
}

fn reindex(index: &mut ReadyIndex, msg: &QueuedMessage) {
    match msg.next_attempt() {
        Some(t) => index.insert(msg.meta.id, t, msg.pending_domains()),
        None => {
            index.remove(msg.meta.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::sample_meta;

    const LOC: Location = Location {
        segment: 1,
        offset: 0,
        len: 10,
    };

    #[test]
    fn outcomes_drive_the_index() {
        let id = MessageId {
            shard: 0,
            epoch: 1,
            seq: 0,
        };
        let mut st = State::default();
        st.apply(Record::Message(sample_meta(id, 2), b"body"), LOC);
        assert_eq!(st.index.due(1_700_000_000).collect::<Vec<_>>(), [id]);
        let deferred = Outcome::Deferred {
            next_attempt: 1_700_000_600,
            attempts: 1,
            reply: "451 later".into(),
        };
        assert!(st.set_outcome(id, 0, Outcome::Delivered));
        assert!(st.set_outcome(id, 1, deferred));
        assert!(
            !st.set_outcome(id, 2, Outcome::Delivered),
            "no third recipient"
        );
        assert_eq!(st.index.next_attempt(id), Some(1_700_000_600));
        assert_eq!(st.index.for_domain("DEST.E").count(), 1);
        assert!(st.set_outcome(
            id,
            1,
            Outcome::Failed {
                reply: "550 no".into()
            }
        ));
        assert!(
            st.index.is_empty(),
            "all final: nothing to deliver, waiting for done"
        );
        assert_eq!(st.messages[&id].next_attempt(), None);
        st.apply(Record::Done(id), LOC);
        assert!(st.messages.is_empty());
        // A late outcome for a forgotten message changes nothing.
        assert!(!st.set_outcome(id, 0, Outcome::Delivered));
    }
}
