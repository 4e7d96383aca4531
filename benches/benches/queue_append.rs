//! Durable append: 64 concurrent appenders of 1 KiB messages on one executor, with group
//! commit (one fdatasync per batch), against the same 64 appends one after the other (one
//! fdatasync each, what a queue without group commit pays).

#[path = "queue_common/mod.rs"]
#[allow(dead_code)]
mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::rc::Rc;
use tern_queue::{Shard, ShardConfig};

const APPENDERS: u64 = 64;
const BODY: usize = 1024;

fn append(c: &mut Criterion) {
    let scratch = common::Scratch::new("append");
    let ex = common::executor();
    let (shard, _) = ex
        .run(Shard::open(scratch.path(), 0, ShardConfig::default()))
        .expect("open shard");
    let shard = Rc::new(shard);
    let mut g = c.benchmark_group("queue_append");
    g.throughput(Throughput::Elements(APPENDERS));
    g.bench_function("group_commit_64x1KiB", |b| {
        b.iter(|| {
            let syncs = shard.stats().syncs;
            let ok = ex.run(async {
                let tasks: Vec<_> = (0..APPENDERS)
                    .map(|i| {
                        let shard = shard.clone();
                        glommio::spawn_local(async move {
                            shard.append_message(common::message(i, BODY)).await
                        })
                    })
                    .collect();
                let mut ok = 0;
                for t in tasks {
                    ok += t.await.is_ok() as u64;
                }
                ok
            });
            assert_eq!(ok, APPENDERS, "every append must be durable");
            assert!(
                shard.stats().syncs - syncs < APPENDERS,
                "group commit must batch"
            );
        })
    });
    g.bench_function("fdatasync_per_message_64x1KiB", |b| {
        b.iter(|| {
            let syncs = shard.stats().syncs;
            let ok = ex.run(async {
                let mut ok = 0;
                for i in 0..APPENDERS {
                    ok += shard.append_message(common::message(i, BODY)).await.is_ok() as u64;
                }
                ok
            });
            assert_eq!(ok, APPENDERS);
            assert_eq!(shard.stats().syncs - syncs, APPENDERS);
        })
    });
    g.finish();
}

criterion_group!(benches, append);
criterion_main!(benches);
