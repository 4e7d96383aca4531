//! Recovery time of a shard holding N queued 1 KiB messages (default 100,000; set
//! `TERN_BENCH_RECOVERY_MESSAGES=1000000` for the design target). The generator writes the
//! segments directly with the record encoder, as a long-running shard would have left them.

#[path = "queue_common/mod.rs"]
#[allow(dead_code)]
mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::io::Write;
use std::time::Duration;
use tern_queue::record::{encode_message, MessageMeta};
use tern_queue::{shard_dir, MessageId, Shard, ShardConfig};

const SEGMENT: usize = 64 << 20;

fn generate(data_dir: &std::path::Path, n: u64) {
    let dir = shard_dir(data_dir, 0);
    std::fs::create_dir_all(&dir).expect("shard dir");
    let mut seg = 1u64;
    let mut buf = Vec::with_capacity(SEGMENT + 4096);
    let body = vec![b'x'; 1024];
    let flush = |seg: u64, buf: &mut Vec<u8>| {
        let mut f = std::fs::File::create(dir.join(format!("{seg:020}.seg"))).expect("segment");
        f.write_all(buf).expect("write segment");
        buf.clear();
    };
    for i in 0..n {
        let (client, envelope) = common::envelope(i);
        let meta = MessageMeta {
            id: MessageId {
                shard: 0,
                epoch: 1,
                seq: i,
            },
            arrival: 1_700_000_000,
            client,
            envelope,
        };
        encode_message(&mut buf, &meta, &body);
        if buf.len() >= SEGMENT {
            flush(seg, &mut buf);
            seg += 1;
        }
    }
    flush(seg, &mut buf);
}

fn recovery(c: &mut Criterion) {
    let n: u64 = std::env::var("TERN_BENCH_RECOVERY_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let scratch = common::Scratch::new("recovery");
    generate(scratch.path(), n);
    let ex = common::executor();
    let mut g = c.benchmark_group("queue_recovery");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(n));
    g.bench_function(format!("open_{n}x1KiB"), |b| {
        b.iter(|| {
            let (shard, rec) = ex
                .run(Shard::open(scratch.path(), 0, ShardConfig::default()))
                .expect("open shard");
            assert_eq!(rec.messages as u64, n, "every queued message recovered");
            assert_eq!(rec.cut, None);
            drop(shard);
        })
    });
    g.finish();
}

criterion_group!(benches, recovery);
criterion_main!(benches);
