//! The shard through the real file system: group commit, reopen, outcomes, lock, limits.

mod common;

use common::{message, run, TempDir};
use std::collections::HashSet;
use std::rc::Rc;
use tern_queue::{inspect, AppendError, OpenError, Outcome, Shard, ShardConfig};

#[test]
fn group_commit_batches_concurrent_appends() {
    let tmp = TempDir::new("group");
    run(async {
        let (shard, rec) = Shard::open(tmp.path(), 0, ShardConfig::default())
            .await
            .unwrap();
        assert_eq!(rec.messages, 0);
        let shard = Rc::new(shard);
        const N: u64 = 64;
        let tasks: Vec<_> = (0..N)
            .map(|i| {
                let shard = shard.clone();
                glommio::spawn_local(async move {
                    shard.append_message(message(i, 1, "d.example", 1024)).await
                })
            })
            .collect();
        let mut ids = HashSet::new();
        for t in tasks {
            ids.insert(t.await.unwrap());
        }
        assert_eq!(ids.len(), N as usize, "every append got its own id");
        let stats = shard.stats();
        assert_eq!(stats.records, N);
        assert_eq!(stats.messages, N as usize);
        assert!(
            stats.syncs >= 1 && stats.syncs < N,
            "syncs = {} for {N} appends",
            stats.syncs
        );
        // An idle shard flushes a lone append at once: exactly one more sync.
        shard
            .append_message(message(99, 1, "d.example", 10))
            .await
            .unwrap();
        assert_eq!(shard.stats().syncs, stats.syncs + 1);
    });
}

#[test]
fn reopen_finds_every_message_and_body() {
    let tmp = TempDir::new("reopen");
    let (ids, epoch1) = run(async {
        let (shard, _) = Shard::open(tmp.path(), 3, ShardConfig::default())
            .await
            .unwrap();
        let mut ids = Vec::new();
        for i in 0..20 {
            ids.push(
                shard
                    .append_message(message(i, 2, "d.example", 100 + i as usize))
                    .await
                    .unwrap(),
            );
        }
        assert_eq!(
            shard.read_body(ids[5]).await.unwrap(),
            message(5, 2, "d.example", 105).body
        );
        (ids, shard.epoch())
    });
    assert!(ids.iter().all(|id| id.shard == 3 && id.epoch == epoch1));
    run(async {
        let (shard, rec) = Shard::open(tmp.path(), 3, ShardConfig::default())
            .await
            .unwrap();
        assert_eq!(rec.messages, 20);
        assert_eq!(rec.cut, None);
        assert!(shard.epoch() > epoch1, "a new run gets a new id epoch");
        assert_eq!(shard.ids(), ids);
        for (i, &id) in ids.iter().enumerate() {
            let want = message(i as u64, 2, "d.example", 100 + i);
            let got = shard.get(id).unwrap();
            assert_eq!(got.meta.envelope, want.envelope);
            assert_eq!(got.meta.client, want.client);
            assert_eq!(got.meta.arrival, want.arrival);
            assert_eq!(shard.read_body(id).await.unwrap(), want.body);
        }
        let new = shard
            .append_message(message(100, 1, "d.example", 1))
            .await
            .unwrap();
        assert!(!ids.contains(&new));
    });
}

#[test]
fn outcomes_update_state_and_survive_reopen() {
    let tmp = TempDir::new("outcome");
    let (a, b) = run(async {
        let (shard, _) = Shard::open(tmp.path(), 0, ShardConfig::default())
            .await
            .unwrap();
        let a = shard
            .append_message(message(1, 2, "Held.Example", 10))
            .await
            .unwrap();
        let b = shard
            .append_message(message(2, 1, "other.example", 10))
            .await
            .unwrap();
        assert_eq!(shard.due(1_700_000_001), vec![a]);
        assert_eq!(shard.for_domain("held.example"), vec![a]);
        shard
            .append_outcome(a, 0, Outcome::Delivered)
            .await
            .unwrap();
        let deferred = Outcome::Deferred {
            next_attempt: 1_700_009_000,
            attempts: 1,
            reply: "451 4.4.1 later".into(),
        };
        shard.append_outcome(a, 1, deferred).await.unwrap();
        assert_eq!(shard.due(1_700_000_010), vec![b]);
        assert_eq!(shard.earliest(), Some((1_700_000_002, b)));
        shard
            .append_outcome(
                b,
                0,
                Outcome::Failed {
                    reply: "550 5.1.1 no".into(),
                },
            )
            .await
            .unwrap();
        shard.mark_done(b).await.unwrap();
        assert!(shard.get(b).is_none());
        (a, b)
    });
    run(async {
        let (shard, rec) = Shard::open(tmp.path(), 0, ShardConfig::default())
            .await
            .unwrap();
        assert_eq!(rec.messages, 1);
        assert!(shard.get(b).is_none(), "done stays done");
        let m = shard.get(a).unwrap();
        assert_eq!(m.recipients[0], Some(Outcome::Delivered));
        assert!(matches!(
            &m.recipients[1],
            Some(Outcome::Deferred { attempts: 1, .. })
        ));
        assert_eq!(shard.due(1_700_008_999), vec![]);
        assert_eq!(shard.due(1_700_009_000), vec![a]);
        assert_eq!(shard.for_domain("HELD.example"), vec![a]);
    });
}

#[test]
fn second_open_of_a_shard_is_refused() {
    let tmp = TempDir::new("lock");
    run(async {
        let (first, _) = Shard::open(tmp.path(), 1, ShardConfig::default())
            .await
            .unwrap();
        let err = Shard::open(tmp.path(), 1, ShardConfig::default())
            .await
            .unwrap_err();
        assert!(matches!(err, OpenError::Locked { .. }), "{err}");
        assert!(
            err.to_string().contains("locked by another process"),
            "{err}"
        );
        // Another shard number is another directory and another lock.
        Shard::open(tmp.path(), 2, ShardConfig::default())
            .await
            .unwrap();
        drop(first);
        Shard::open(tmp.path(), 1, ShardConfig::default())
            .await
            .unwrap();
    });
}

#[test]
fn disk_full_over_max_disk_use_but_outcomes_still_pass() {
    let tmp = TempDir::new("full");
    run(async {
        let config = ShardConfig {
            max_disk_use: 4096,
            ..ShardConfig::default()
        };
        let (shard, _) = Shard::open(tmp.path(), 0, config).await.unwrap();
        let mut ids = Vec::new();
        let err = loop {
            match shard
                .append_message(message(ids.len() as u64, 1, "d.example", 1000))
                .await
            {
                Ok(id) => ids.push(id),
                Err(e) => break e,
            }
        };
        assert_eq!(err, AppendError::DiskFull);
        assert_eq!(
            ids.len(),
            3,
            "three 1 KiB messages fit in 4 KiB, the fourth does not"
        );
        assert!(shard.stats().disk_use <= 4096);
        // Finishing messages must still work on a full queue: it is how space comes back.
        shard
            .append_outcome(ids[0], 0, Outcome::Delivered)
            .await
            .unwrap();
        shard.mark_done(ids[0]).await.unwrap();
    });
}

#[test]
fn inspect_reads_a_live_shard_without_the_lock() {
    let tmp = TempDir::new("inspect");
    run(async {
        let (s0, _) = Shard::open(tmp.path(), 0, ShardConfig::default())
            .await
            .unwrap();
        let (s1, _) = Shard::open(tmp.path(), 1, ShardConfig::default())
            .await
            .unwrap();
        let a = s0
            .append_message(message(1, 1, "d.example", 10))
            .await
            .unwrap();
        let b = s1
            .append_message(message(2, 3, "d.example", 10))
            .await
            .unwrap();
        let c = s1
            .append_message(message(3, 1, "d.example", 10))
            .await
            .unwrap();
        s1.mark_done(c).await.unwrap();
        let before: Vec<u8> = std::fs::read(common::last_segment(s1.dir())).unwrap();
        let listed = inspect(tmp.path()).unwrap();
        let ids: Vec<_> = listed.iter().map(|m| m.meta.id).collect();
        assert_eq!(ids, vec![a, b]);
        assert_eq!(listed[1].meta.envelope.rcpts.len(), 3);
        assert_eq!(
            std::fs::read(common::last_segment(s1.dir())).unwrap(),
            before,
            "read-only"
        );
        // The shards are still locked: inspect did not take or break the lock.
        assert!(Shard::open(tmp.path(), 0, ShardConfig::default())
            .await
            .is_err());
    });
    assert!(inspect(&tmp.path().join("nothing-here"))
        .unwrap()
        .is_empty());
}

/// A worker asks for only as many due messages as it can take: `due_first` is the prefix
/// of `due`, earliest first.
#[test]
fn due_first_is_a_prefix_of_due() {
    let tmp = TempDir::new("due-first");
    run(async {
        let (shard, _) = Shard::open(tmp.path(), 0, ShardConfig::default())
            .await
            .unwrap();
        for i in 0..10 {
            shard
                .append_message(message(i, 1, "d.example", 10))
                .await
                .unwrap();
        }
        let now = u64::MAX / 2;
        let all = shard.due(now);
        assert_eq!(all.len(), 10);
        assert_eq!(shard.due_first(now, 3), all[..3].to_vec());
        assert_eq!(shard.due_first(now, 50), all);
        assert!(shard.due_first(now, 0).is_empty());
    });
}

/// Outcomes staged back to back, then the done record, land with one fdatasync, and the
/// state changes at once, before it.
#[test]
fn staged_outcomes_and_done_share_one_sync() {
    let tmp = TempDir::new("staged");
    run(async {
        let (shard, _) = Shard::open(tmp.path(), 0, ShardConfig::default())
            .await
            .unwrap();
        let id = shard
            .append_message(message(1, 2, "d.example", 10))
            .await
            .unwrap();
        let before = shard.stats().syncs;
        let a = shard.stage_outcome(id, 0, Outcome::Delivered).unwrap();
        let b = shard.stage_outcome(id, 1, Outcome::Delivered).unwrap();
        assert_eq!(
            shard.get(id).unwrap().next_attempt(),
            None,
            "state is updated at once"
        );
        let done = shard.stage_done(id).unwrap();
        assert!(shard.get(id).is_none());
        done.durable().await.unwrap();
        a.durable().await.unwrap();
        b.durable().await.unwrap();
        assert_eq!(shard.stats().syncs, before + 1);
    });
    run(async {
        let (shard, _) = Shard::open(tmp.path(), 0, ShardConfig::default())
            .await
            .unwrap();
        assert!(shard.ids().is_empty(), "the done record survived reopen");
    });
}

/// A new message's first read comes from memory (the segment on disk is wiped here to
/// prove it); after a deferral the next read goes to the segment again, and a done
/// message is gone from both.
#[test]
fn new_bodies_are_served_from_memory_until_deferred_or_done() {
    let tmp = TempDir::new("cache");
    run(async {
        let (shard, _) = Shard::open(tmp.path(), 0, ShardConfig::default())
            .await
            .unwrap();
        let mut with_head = message(1, 1, "d.example", 300);
        with_head.head = b"Received: from x\r\n".to_vec();
        let a = shard.append_message(with_head.clone()).await.unwrap();
        let b = shard
            .append_message(message(2, 1, "d.example", 200))
            .await
            .unwrap();
        assert_eq!(shard.stats().cached_bytes, with_head.head.len() + 300 + 200);
        for entry in std::fs::read_dir(shard.dir()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "seg") {
                let len = std::fs::metadata(&path).unwrap().len() as usize;
                std::fs::write(&path, vec![0u8; len]).unwrap();
            }
        }
        let mut want = with_head.head.clone();
        want.extend_from_slice(&with_head.body);
        assert_eq!(shard.read_body(a).await.unwrap(), want);
        assert_eq!(
            shard.read_body(a).await.unwrap(),
            want,
            "a read does not evict: a second hop or the bounce reads it again"
        );
        let deferred = Outcome::Deferred {
            next_attempt: 1_700_009_000,
            attempts: 1,
            reply: "451 4.4.1 later".into(),
        };
        shard.append_outcome(a, 0, deferred).await.unwrap();
        assert!(
            shard.read_body(a).await.is_err(),
            "deferred: read from the (wiped) segment"
        );
        assert_eq!(shard.stats().cached_bytes, 200);
        shard.mark_done(b).await.unwrap();
        assert_eq!(shard.stats().cached_bytes, 0);
        assert!(shard.read_body(b).await.is_err());
    });
}

/// A staged record detached from its borrow lands when a task that owns the shard waits
/// for it, and survives a reopen.
#[test]
fn a_detached_record_is_durable_once_waited_for_elsewhere() {
    let tmp = TempDir::new("detached");
    let id = run(async {
        let (shard, _) = Shard::open(tmp.path(), 0, ShardConfig::default())
            .await
            .unwrap();
        let shard = Rc::new(shard);
        let id = shard
            .append_message(message(1, 2, "d.example", 10))
            .await
            .unwrap();
        let syncs = shard.stats().syncs;
        let record = shard
            .stage_outcome(id, 1, Outcome::Delivered)
            .unwrap()
            .detach();
        let waiter = glommio::spawn_local({
            let shard = Rc::clone(&shard);
            async move { shard.durable(record).await }
        });
        waiter.await.unwrap();
        assert_eq!(shard.stats().syncs, syncs + 1);
        id
    });
    run(async {
        let (shard, _) = Shard::open(tmp.path(), 0, ShardConfig::default())
            .await
            .unwrap();
        let got = shard.get(id).unwrap();
        assert_eq!(got.recipients, vec![None, Some(Outcome::Delivered)]);
    });
}
