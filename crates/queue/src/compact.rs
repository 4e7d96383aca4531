//! Compaction planning: which segments die, and which live messages move forward first.
//!
//! Segments are only ever deleted as a prefix of the log (oldest first, never the head
//! being written). The reason is the outcome and done records: a done record in segment
//! `k` may refer to a message whose record sits in an older segment `j < k`. Deleting `k`
//! while `j` survives would bring that message back to life at the next recovery. When the
//! deleted segments are a prefix, every surviving outcome or done record refers either to a
//! message at or before it in the surviving log, or to a message that is gone, which
//! recovery ignores.
//!
//! A segment in the prefix dies when none of its messages is live, or when its live
//! messages are few enough (by bytes) to copy forward to the head: they alone would keep
//! the old segment's disk space alive. The copy carries each message's current
//! recipient states (see `shard.rs`), so outcome records left behind in deleted segments
//! are not needed any more.

use crate::id::MessageId;

/// What the planner needs to know about one non-head segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    /// The segment's sequence number.
    pub seq: u64,
    /// Its size on disk in bytes.
    pub size: u64,
    /// The live (not done) messages whose current record is in this segment, with the
    /// framed size of that record.
    pub live: Vec<(MessageId, u64)>,
}

/// When to copy live messages forward instead of keeping their segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactPolicy {
    /// Copy forward when the live records of a segment are at most this percentage of its
    /// size. 0 deletes only segments with no live message at all.
    pub max_live_percent: u8,
}

impl Default for CompactPolicy {
    fn default() -> CompactPolicy {
        CompactPolicy {
            max_live_percent: 25,
        }
    }
}

/// What to do, in this order: copy `copy` forward (and make it durable), then delete the
/// `delete` segments oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Live messages to append again at the head, oldest segment first.
    pub copy: Vec<MessageId>,
    /// Segments to delete, oldest first.
    pub delete: Vec<u64>,
}

impl Plan {
    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.copy.is_empty() && self.delete.is_empty()
    }
}

/// Plans one compaction over `segments`, oldest first, the head excluded.
pub fn plan(segments: &[SegmentInfo], policy: CompactPolicy) -> Plan {
    let mut out = Plan::default();
    for seg in segments {
        let live_bytes: u64 = seg.live.iter().map(|&(_, n)| n).sum();
        let cheap = live_bytes.saturating_mul(100)
            <= seg.size.saturating_mul(u64::from(policy.max_live_percent));
        if !seg.live.is_empty() && !cheap {
            // This segment stays, so every newer one must stay too (module docs).
            break;
        }
        out.copy.extend(seg.live.iter().map(|&(id, _)| id));
        out.delete.push(seg.seq);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::id;

    fn seg(seq: u64, size: u64, live: &[(u64, u64)]) -> SegmentInfo {
        SegmentInfo {
            seq,
            size,
            live: live.iter().map(|&(s, n)| (id(s), n)).collect(),
        }
    }

    #[test]
    fn plan_table() {
        let p25 = CompactPolicy::default();
        let p0 = CompactPolicy {
            max_live_percent: 0,
        };
        type Case = (
            &'static str,
            Vec<SegmentInfo>,
            CompactPolicy,
            Vec<u64>,
            Vec<u64>,
        );
        let cases: Vec<Case> = vec![
            ("nothing", vec![], p25, vec![], vec![]),
            (
                "all done",
                vec![seg(1, 1000, &[]), seg(2, 1000, &[])],
                p25,
                vec![],
                vec![1, 2],
            ),
            (
                "few live move forward",
                vec![seg(1, 1000, &[(5, 100), (6, 150)])],
                p25,
                vec![5, 6],
                vec![1],
            ),
            (
                "exactly at the limit",
                vec![seg(1, 1000, &[(5, 250)])],
                p25,
                vec![5],
                vec![1],
            ),
            (
                "too many live keep it",
                vec![seg(1, 1000, &[(5, 251)]), seg(2, 1000, &[])],
                p25,
                vec![],
                vec![],
            ),
            (
                "prefix stops at the first kept segment",
                vec![
                    seg(1, 1000, &[]),
                    seg(2, 1000, &[(7, 900)]),
                    seg(3, 1000, &[]),
                ],
                p25,
                vec![],
                vec![1],
            ),
            (
                "policy 0 never copies",
                vec![seg(1, 1000, &[(5, 1)])],
                p0,
                vec![],
                vec![],
            ),
            (
                "policy 0 deletes empty",
                vec![seg(1, 1000, &[]), seg(2, 10, &[(1, 1)])],
                p0,
                vec![],
                vec![1],
            ),
        ];
        for (name, segs, policy, copy, delete) in cases {
            let got = plan(&segs, policy);
            assert_eq!(
                got.copy,
                copy.into_iter().map(id).collect::<Vec<_>>(),
                "{name}"
            );
            assert_eq!(got.delete, delete, "{name}");
        }
    }
}
