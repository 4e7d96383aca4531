//! Compaction: dead segments go, the few live messages of an old segment move forward with
//! their recipients' state, and ids stay unique even when every segment is gone.

mod common;

use common::{message, run, segments, TempDir};
use std::collections::HashSet;
use tern_queue::compact::CompactPolicy;
use tern_queue::{Outcome, Shard, ShardConfig};

fn small_segments() -> ShardConfig {
    ShardConfig {
        segment_size: 4096,
        compact: CompactPolicy {
            max_live_percent: 25,
        },
        ..ShardConfig::default()
    }
}

#[test]
fn compaction_deletes_dead_segments_and_copies_the_few_live_forward() {
    let tmp = TempDir::new("compact");
    let dir = tern_queue::shard_dir(tmp.path(), 0);
    let (keep, deferred) = run(async {
        let (shard, _) = Shard::open(tmp.path(), 0, small_segments()).await.unwrap();
        let mut ids = Vec::new();
        for i in 0..40 {
            ids.push(
                shard
                    .append_message(message(i, 2, "d.example", 700))
                    .await
                    .unwrap(),
            );
        }
        let before = shard.stats();
        assert!(
            before.segments >= 8,
            "4 KiB segments of ~0.8 KiB records: {before:?}"
        );
        // Everything done but one message, which got a deferral for one recipient.
        let keep = ids[1];
        let deferred = Outcome::Deferred {
            next_attempt: 1_800_000_000,
            attempts: 2,
            reply: "451 try later".into(),
        };
        shard
            .append_outcome(keep, 0, Outcome::Delivered)
            .await
            .unwrap();
        shard
            .append_outcome(keep, 1, deferred.clone())
            .await
            .unwrap();
        for &id in &ids {
            if id != keep {
                shard.mark_done(id).await.unwrap();
            }
        }
        let before = shard.stats();
        let report = shard.compact().await.unwrap();
        assert_eq!(report.copied, 1);
        let after = shard.stats();
        assert_eq!(
            report.deleted.len(),
            before.segments - 1,
            "all but the head: {report:?}"
        );
        assert_eq!(after.segments, 1);
        assert!(after.disk_use < before.disk_use);
        assert_eq!(segments(&dir).len(), 1);
        // The moved message is still whole, and found where it now lives.
        assert_eq!(
            shard.read_body(keep).await.unwrap(),
            message(1, 2, "d.example", 700).body
        );
        assert_eq!(shard.ids(), vec![keep]);
        // Nothing left to do: a second pass is a no-op.
        assert_eq!(shard.compact().await.unwrap(), Default::default());
        (keep, deferred)
    });
    run(async {
        let (shard, rec) = Shard::open(tmp.path(), 0, small_segments()).await.unwrap();
        assert_eq!(rec.messages, 1);
        let m = shard.get(keep).unwrap();
        assert_eq!(m.recipients, vec![Some(Outcome::Delivered), Some(deferred)]);
        assert_eq!(shard.due(1_800_000_000), vec![keep]);
        assert_eq!(
            shard.read_body(keep).await.unwrap(),
            message(1, 2, "d.example", 700).body
        );
    });
}

#[test]
fn a_busy_old_segment_stays_and_so_do_newer_ones() {
    let tmp = TempDir::new("compact-keep");
    run(async {
        let (shard, _) = Shard::open(tmp.path(), 0, small_segments()).await.unwrap();
        let mut ids = Vec::new();
        for i in 0..20 {
            ids.push(
                shard
                    .append_message(message(i, 1, "d.example", 700))
                    .await
                    .unwrap(),
            );
        }
        let before = shard.stats().segments;
        // The first segment keeps most of its messages; later ones are all done.
        for &id in &ids[3..] {
            shard.mark_done(id).await.unwrap();
        }
        let report = shard.compact().await.unwrap();
        assert_eq!(
            report.deleted,
            Vec::<u64>::new(),
            "the prefix stops at the busy segment"
        );
        assert_eq!(report.copied, 0);
        assert_eq!(shard.stats().segments, before);
    });
    // Reopen: the done records in the newer segments still bury their messages.
    run(async {
        let (shard, _) = Shard::open(tmp.path(), 0, small_segments()).await.unwrap();
        assert_eq!(shard.ids().len(), 3);
    });
}

#[test]
fn ids_stay_unique_after_everything_was_compacted() {
    let tmp = TempDir::new("compact-ids");
    let mut seen = HashSet::new();
    for round in 0..3u64 {
        run(async {
            let (shard, _) = Shard::open(tmp.path(), 0, small_segments()).await.unwrap();
            for i in 0..12 {
                let id = shard
                    .append_message(message(round * 100 + i, 1, "d.example", 700))
                    .await
                    .unwrap();
                assert!(seen.insert(id), "id {id} handed out twice");
                shard.mark_done(id).await.unwrap();
            }
            shard.compact().await.unwrap();
            assert_eq!(shard.stats().messages, 0);
            assert_eq!(shard.stats().segments, 1, "only the head is left");
        });
    }
    // Also when the directory has only empty heads left from earlier runs.
    run(async {
        let (shard, rec) = Shard::open(tmp.path(), 0, small_segments()).await.unwrap();
        assert_eq!(rec.messages, 0);
        let id = shard
            .append_message(message(1, 1, "d.example", 1))
            .await
            .unwrap();
        assert!(seen.insert(id));
    });
}
