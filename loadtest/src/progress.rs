//! The live progress line on stderr, once a second, only when stderr is a terminal (a
//! script or CI capturing stderr gets nothing but real errors). The main thread runs it
//! while the executors work; it reads only atomics the threads publish.

use std::io::{IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How often the line is redrawn; also how often completion is checked.
const TICK: Duration = Duration::from_millis(100);

/// Prints the sender's progress until every thread has finished.
pub fn send_loop(shared: &crate::send::Shared) {
    let tty = std::io::stderr().is_terminal();
    let threads = shared.opts.threads;
    let mut last_done = 0u64;
    let mut ticks = 0u32;
    while shared.finished.load(Ordering::Relaxed) < threads {
        std::thread::sleep(TICK);
        ticks += 1;
        if !tty || !ticks.is_multiple_of(10) {
            continue;
        }
        let done = shared.done.load(Ordering::Relaxed);
        let failed = shared.failed.load(Ordering::Relaxed);
        let p99 = shared
            .p99
            .iter()
            .map(|p| p.load(Ordering::Relaxed))
            .max()
            .unwrap_or(0);
        let _ = write!(
            std::io::stderr(),
            "\r{:>6.1}s  {:>8} msgs/s  {:>10} sent  {:>6} failed  p99 {:>8} us   ",
            shared.start.elapsed().as_secs_f64(),
            done - last_done,
            done,
            failed,
            p99
        );
        last_done = done;
    }
    if tty && ticks >= 10 {
        let _ = writeln!(std::io::stderr());
    }
}

/// Prints the sink's progress until every thread has finished.
pub fn sink_loop(shared: &crate::sink::Shared, threads: usize) {
    let tty = std::io::stderr().is_terminal();
    let mut last = 0u64;
    let mut ticks = 0u32;
    while shared.finished.load(Ordering::Relaxed) < threads {
        std::thread::sleep(TICK);
        ticks += 1;
        if !tty || !ticks.is_multiple_of(10) {
            continue;
        }
        let n = shared.messages.load(Ordering::Relaxed);
        let _ = write!(
            std::io::stderr(),
            "\r{:>6.1}s  {:>8} msgs/s  {:>10} received  {:>6} refused   ",
            shared.start.elapsed().as_secs_f64(),
            n - last,
            n,
            shared.refused.load(Ordering::Relaxed)
        );
        last = n;
    }
    if tty && ticks >= 10 {
        let _ = writeln!(std::io::stderr());
    }
}
