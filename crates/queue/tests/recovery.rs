//! Recovery from what a crash leaves: truncated and corrupted tails on the real file
//! system, and exact crash images (durable bytes plus any prefix of the unsynced ones)
//! from the simulated disk.

mod common;

use common::{last_segment, message, run, segments, TempDir};
use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;
use std::time::Duration;
use tern_queue::io::SimIo;
use tern_queue::{AppendError, MessageId, Shard, ShardConfig};

/// Appends `n` messages in one shard run; returns their ids and the head's byte length
/// after each append.
fn fill(dir: &std::path::Path, n: u64) -> (Vec<MessageId>, Vec<u64>) {
    run(async {
        let (shard, _) = Shard::open(dir, 0, ShardConfig::default()).await.unwrap();
        let mut ids = Vec::new();
        let mut ends = Vec::new();
        for i in 0..n {
            ids.push(
                shard
                    .append_message(message(i, 1, "d.example", 50 + 7 * i as usize))
                    .await
                    .unwrap(),
            );
            ends.push(std::fs::metadata(last_segment(shard.dir())).unwrap().len());
        }
        (ids, ends)
    })
}

#[test]
fn truncated_last_segment_keeps_every_complete_record() {
    let tmp = TempDir::new("trunc");
    let (ids, ends) = fill(tmp.path(), 5);
    let dir = tern_queue::shard_dir(tmp.path(), 0);
    let seg = last_segment(&dir);
    let full = std::fs::read(&seg).unwrap();
    // Every cut inside the last two records, and at their boundaries.
    for cut in ends[2]..=full.len() as u64 {
        let case = TempDir::new("trunc-case");
        let case_dir = tern_queue::shard_dir(case.path(), 0);
        std::fs::create_dir_all(&case_dir).unwrap();
        let case_seg = case_dir.join(seg.file_name().unwrap());
        std::fs::write(&case_seg, &full[..cut as usize]).unwrap();
        let complete = ends.iter().filter(|&&e| e <= cut).count();
        let good = ends[complete - 1];
        run(async {
            let (shard, rec) = Shard::open(case.path(), 0, ShardConfig::default())
                .await
                .unwrap();
            assert_eq!(shard.ids(), ids[..complete].to_vec(), "cut at {cut}");
            match rec.cut {
                None => assert_eq!(cut, good, "only a boundary cut is clean"),
                Some(c) => {
                    assert_eq!(
                        (c.offset, c.bytes, c.corrupt),
                        (good, cut - good, false),
                        "cut at {cut}"
                    );
                    assert_eq!(c.segment, case_seg);
                }
            }
            assert_eq!(
                std::fs::metadata(&case_seg).unwrap().len(),
                good,
                "the tail is cut off the file"
            );
        });
    }
}

#[test]
fn corrupt_last_record_is_cut_and_earlier_ones_kept() {
    let tmp = TempDir::new("corrupt");
    let (ids, ends) = fill(tmp.path(), 4);
    let dir = tern_queue::shard_dir(tmp.path(), 0);
    let seg = last_segment(&dir);
    let mut bytes = std::fs::read(&seg).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x20;
    std::fs::write(&seg, &bytes).unwrap();
    run(async {
        let (shard, rec) = Shard::open(tmp.path(), 0, ShardConfig::default())
            .await
            .unwrap();
        assert_eq!(shard.ids(), ids[..3].to_vec());
        let cut = rec.cut.unwrap();
        assert!(cut.corrupt);
        assert_eq!(cut.offset, ends[2]);
        // The shard goes on: new appends land in a new head and survive the next open.
        shard
            .append_message(message(9, 1, "d.example", 5))
            .await
            .unwrap();
    });
    run(async {
        let (shard, rec) = Shard::open(tmp.path(), 0, ShardConfig::default())
            .await
            .unwrap();
        assert_eq!(rec.cut, None);
        assert_eq!(shard.ids().len(), 4);
    });
}

/// A damaged record in the middle of the log (here the first record of an older segment)
/// is stepped over: the records after it were synced, maybe acknowledged, and are kept;
/// the damaged file is left as it is for the operator.
#[test]
fn damage_in_the_middle_is_stepped_over_and_the_rest_kept() {
    let tmp = TempDir::new("damage");
    fill(tmp.path(), 3);
    fill(tmp.path(), 1); // a second run: the first run's head is no longer the last segment
    let dir = tern_queue::shard_dir(tmp.path(), 0);
    let segs = segments(&dir);
    let first = &segs[0];
    let mut bytes = std::fs::read(first).unwrap();
    bytes[20] ^= 1;
    std::fs::write(first, &bytes).unwrap();
    run(async {
        let (shard, rec) = Shard::open(tmp.path(), 0, ShardConfig::default())
            .await
            .unwrap();
        assert_eq!(rec.skipped.len(), 1);
        assert_eq!(&rec.skipped[0].segment, first);
        assert_eq!(rec.skipped[0].from, 0);
        assert_eq!(rec.cut, None);
        // Four messages were written; only the damaged one is gone.
        assert_eq!(shard.ids().len(), 3);
    });
    assert_eq!(
        std::fs::read(first).unwrap(),
        bytes,
        "a damaged older segment is left for the operator"
    );
}

/// Writes a simulated disk's files into a real directory (paths are kept, re-rooted).
fn materialise(
    files: &[(std::path::PathBuf, Vec<u8>)],
    from: &std::path::Path,
    to: &std::path::Path,
) {
    for (path, bytes) in files {
        let dest = to.join(path.strip_prefix(from).unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(dest, bytes).unwrap();
    }
}

#[test]
fn crash_images_keep_every_acknowledged_message() {
    // A shard on the simulated disk takes concurrent appends with slow syncs. At the crash
    // every acknowledged message must be in the durable image, and in the durable image
    // plus any prefix of the bytes written but not yet synced (a torn write).
    let tmp = TempDir::new("crash-sim");
    let sim = SimIo::new();
    sim.set_sync_delay(Duration::from_millis(2));
    let (acked, durable, live) = run(async {
        let (shard, _) = Shard::open_with(sim.clone(), tmp.path(), 0, ShardConfig::default())
            .await
            .unwrap();
        let shard = Rc::new(shard);
        let acked = Rc::new(RefCell::new(Vec::new()));
        let _tasks: Vec<_> = (0..40u64)
            .map(|i| {
                let (shard, acked) = (shard.clone(), acked.clone());
                glommio::spawn_local(async move {
                    glommio::timer::sleep(Duration::from_micros(300 * i)).await;
                    let id = shard
                        .append_message(message(i, 1, "d.example", 64))
                        .await
                        .unwrap();
                    acked.borrow_mut().push(id);
                })
            })
            .collect();
        // Crash while some appends still wait for their fdatasync (the tasks are dropped).
        glommio::timer::sleep(Duration::from_millis(7)).await;
        let acked = acked.borrow().clone();
        (acked, sim.durable_image(), sim.live_image())
    });
    assert!(
        !acked.is_empty(),
        "some appends must have been acknowledged"
    );
    let (head, head_durable) = durable.last().unwrap().clone();
    let head_live = &live.last().unwrap().1;
    assert!(
        head_live.len() > head_durable.len(),
        "the crash must catch unsynced bytes"
    );
    assert_eq!(head_live[..head_durable.len()], head_durable[..]);
    let all_acked: HashSet<MessageId> = acked.iter().copied().collect();
    run(async {
        for cut in head_durable.len()..=head_live.len() {
            let case = TempDir::new("crash-case");
            let mut image = durable.clone();
            image.last_mut().unwrap().1 = head_live[..cut].to_vec();
            materialise(&image, tmp.path(), case.path());
            let (shard, _) = Shard::open(case.path(), 0, ShardConfig::default())
                .await
                .unwrap();
            let ids: HashSet<MessageId> = shard.ids().into_iter().collect();
            assert!(
                ids.is_superset(&all_acked),
                "cut at {cut} of {}: lost an acknowledged message",
                head.display()
            );
            assert!(
                ids.iter().all(|id| id.seq < 40),
                "nothing but appended messages comes back"
            );
        }
    });
}

#[test]
fn failed_write_is_disk_full_and_the_shard_carries_on() {
    let tmp = TempDir::new("enospc");
    let sim = SimIo::new();
    run(async {
        let (shard, _) = Shard::open_with(sim.clone(), tmp.path(), 0, ShardConfig::default())
            .await
            .unwrap();
        let a = shard
            .append_message(message(1, 1, "d.example", 100))
            .await
            .unwrap();
        sim.fail_writes(Some(std::io::ErrorKind::StorageFull));
        let err = shard
            .append_message(message(2, 1, "d.example", 100))
            .await
            .unwrap_err();
        assert_eq!(err, AppendError::DiskFull);
        sim.fail_writes(Some(std::io::ErrorKind::PermissionDenied));
        assert_eq!(
            shard.append_message(message(3, 1, "d.example", 100)).await,
            Err(AppendError::Io)
        );
        sim.fail_writes(None);
        let b = shard
            .append_message(message(4, 1, "d.example", 100))
            .await
            .unwrap();
        assert_eq!(shard.ids(), vec![a, b]);
    });
    // The half-written records were truncated away: only a and b are on disk.
    let case = TempDir::new("enospc-image");
    materialise(&sim.durable_image(), tmp.path(), case.path());
    run(async {
        let (shard, rec) = Shard::open(case.path(), 0, ShardConfig::default())
            .await
            .unwrap();
        assert_eq!(rec.cut, None);
        assert_eq!(rec.messages, 2);
        assert_eq!(shard.ids().len(), 2);
    });
}

#[test]
fn failed_fdatasync_poisons_the_shard() {
    let tmp = TempDir::new("fsyncgate");
    let sim = SimIo::new();
    run(async {
        let (shard, _) = Shard::open_with(sim.clone(), tmp.path(), 0, ShardConfig::default())
            .await
            .unwrap();
        shard
            .append_message(message(1, 1, "d.example", 10))
            .await
            .unwrap();
        sim.fail_syncs(true);
        assert_eq!(
            shard.append_message(message(2, 1, "d.example", 10)).await,
            Err(AppendError::Io)
        );
        sim.fail_syncs(false);
        // A retried fdatasync may lie after a failed one: nothing more is accepted.
        assert_eq!(
            shard.append_message(message(3, 1, "d.example", 10)).await,
            Err(AppendError::Io)
        );
        assert_eq!(shard.ids().len(), 1);
    });
}
