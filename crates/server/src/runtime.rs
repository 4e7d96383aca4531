//! Starting and stopping the cores: one pinned glommio executor per core, each running
//! [`Core`]; a signal thread that tells them to stop.
//!
//! Cores share nothing on the per-message path. The only cross-core traffic is the control
//! plane: a crossbeam channel per core carrying [`Control`] messages, drained with
//! `try_recv` by a low-frequency task on the core (a blocking `recv` would stall the whole
//! executor).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use glommio::timer::sleep;
use glommio::{CpuSet, LocalExecutorBuilder, Placement};

use crate::config::Config;
use crate::conn_limit::IpTable;
use crate::core::Core;
use crate::driver::SHUTDOWN_GRACE;

/// Locked memory glommio registers per executor for its I/O buffers. `ulimit -l` is often
/// 8 MiB, and every executor takes this much, so keep it small.
const IO_MEMORY: usize = 512 << 10;

/// How often a core looks at its control channel.
const CONTROL_POLL: Duration = Duration::from_millis(20);

/// How often a core compacts its queue shard: deletes segments whose messages are all
/// done and copies the few live ones out of old segments. Cheap when there is nothing to
/// do (a plan over the segment list), so a fixed period is enough.
const COMPACT_EVERY: Duration = Duration::from_secs(30);

/// A message from the control plane to a core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Stop accepting, drain the sessions, and end the executor.
    Stop,
}

/// Why the server could not start or ended badly.
#[derive(Debug)]
pub struct RunError(pub String);

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RunError {}

/// A running server: the executors and the channels to stop them.
#[derive(Debug)]
pub struct Server {
    handles: Vec<glommio::ExecutorJoinHandle<Result<(), String>>>,
    controls: Vec<Sender<Control>>,
}

impl Server {
    /// Starts one executor per configured core and waits until every core has recovered
    /// its queue and listens.
    pub fn start(mut config: Config) -> Result<Server, RunError> {
        let dir = &config.server.data_dir;
        std::fs::create_dir_all(dir)
            .map_err(|e| RunError(format!("cannot create data_dir {}: {e}", dir.display())))?;
        // An absolute path: glommio opens the shard directories through io_uring, which
        // does not take a path relative to the working directory.
        config.server.data_dir = std::fs::canonicalize(dir)
            .map_err(|e| RunError(format!("cannot resolve data_dir {}: {e}", dir.display())))?;
        let config = Arc::new(config);
        let cores = config.server.cores.max(1);
        let per_ip = u32::try_from(config.limits.max_connections_per_ip).unwrap_or(u32::MAX);
        let ips = Arc::new(IpTable::new(per_ip));
        let cpus: Vec<usize> = CpuSet::online()
            .map(|set| {
                let mut v: Vec<usize> = set.iter().map(|l| l.cpu).collect();
                v.sort_unstable();
                v
            })
            .unwrap_or_default();
        let (ready_tx, ready_rx) = crossbeam_channel::bounded::<Result<(), String>>(cores);
        let mut server = Server {
            handles: Vec::with_capacity(cores),
            controls: Vec::with_capacity(cores),
        };
        for index in 0..cores {
            let (tx, rx) = crossbeam_channel::unbounded();
            server.controls.push(tx);
            // Pin each core to its own CPU when there are enough of them.
            let placement = match cpus.get(index) {
                Some(&cpu) if cpus.len() >= cores => Placement::Fixed(cpu),
                _ => Placement::Unbound,
            };
            let (config, ips, ready) = (Arc::clone(&config), Arc::clone(&ips), ready_tx.clone());
            let handle = LocalExecutorBuilder::new(placement)
                .name(&format!("tern-core-{index}"))
                .io_memory(IO_MEMORY)
                .spawn(move || run_core(index, config, ips, rx, ready))
                .map_err(|e| RunError(format!("cannot start core {index}: {e}")))?;
            server.handles.push(handle);
        }
        for _ in 0..cores {
            let started = ready_rx
                .recv()
                .map_err(|_| RunError("a core ended during start-up".into()))
                .and_then(|r| r.map_err(RunError));
            if let Err(e) = started {
                server.stop();
                let _ = server.join();
                return Err(e);
            }
        }
        Ok(server)
    }

    /// A handle that stops the server from another thread (signals, tests).
    pub fn stopper(&self) -> Stopper {
        Stopper {
            controls: self.controls.clone(),
        }
    }

    /// Tells every core to stop.
    pub fn stop(&self) {
        self.stopper().stop();
    }

    /// Waits for every core to end.
    pub fn join(self) -> Result<(), RunError> {
        let mut first_error = None;
        for h in self.handles {
            let r = match h.join() {
                Ok(Ok(())) => continue,
                Ok(Err(e)) => e,
                Err(e) => format!("a core failed: {e}"),
            };
            first_error.get_or_insert(r);
        }
        first_error.map_or(Ok(()), |e| Err(RunError(e)))
    }
}

/// Stops a [`Server`] from any thread.
#[derive(Debug, Clone)]
pub struct Stopper {
    controls: Vec<Sender<Control>>,
}

impl Stopper {
    /// Tells every core to stop (idempotent).
    pub fn stop(&self) {
        for c in &self.controls {
            let _ = c.send(Control::Stop);
        }
    }
}

async fn run_core(
    index: usize,
    config: Arc<Config>,
    ips: Arc<IpTable>,
    control: Receiver<Control>,
    ready: Sender<Result<(), String>>,
) -> Result<(), String> {
    let started = Core::open(index, config, ips)
        .await
        .and_then(|core| core.listen().map(|tasks| (core, tasks)));
    let (core, accept_loops) = match started {
        Ok(c) => {
            let _ = ready.send(Ok(()));
            c
        }
        Err(e) => {
            let _ = ready.send(Err(e.clone()));
            return Err(e);
        }
    };
    let compactor = glommio::spawn_local({
        let core = std::rc::Rc::clone(&core);
        async move {
            loop {
                futures_lite::future::or(sleep(COMPACT_EVERY), core.stop.wait()).await;
                if core.stop.is_stopped() {
                    return;
                }
                match core.queue.compact().await {
                    Ok(r) if !r.deleted.is_empty() || r.copied > 0 => eprintln!(
                        "tern: core {index}: compaction deleted {} segment(s), copied {} message(s)",
                        r.deleted.len(),
                        r.copied
                    ),
                    Ok(_) => {}
                    Err(e) => eprintln!("tern: core {index}: compaction failed: {e}"),
                }
            }
        }
    });
    let delivery = core.deliver();
    // The control pump: the only place this core looks at other threads.
    loop {
        match control.try_recv() {
            Ok(Control::Stop) | Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) => sleep(CONTROL_POLL).await,
        }
    }
    core.stop.stop();
    for task in accept_loops {
        task.await;
    }
    compactor.await;
    // Sessions in a transaction get SHUTDOWN_GRACE to finish; idle ones closed at once.
    let deadline = Instant::now() + SHUTDOWN_GRACE + Duration::from_secs(1);
    while core.limits.open() > 0 && Instant::now() < deadline {
        sleep(Duration::from_millis(10)).await;
    }
    // The worker finishes the transactions in flight (within SHUTDOWN_GRACE) and returns.
    delivery.await;
    // Every 250 was sent after its fdatasync, so nothing acknowledged is pending here.
    let st = core.queue.stats();
    eprintln!(
        "tern: core {index}: stopped; this run wrote {} records with {} fdatasyncs; {} messages stay queued",
        st.records, st.syncs, st.messages
    );
    Ok(())
}

/// Runs the server until SIGTERM or SIGINT, then shuts it down gracefully.
pub fn run(config: Config) -> Result<(), RunError> {
    let listeners: Vec<String> = config
        .listeners
        .iter()
        .map(|l| l.address.to_string())
        .collect();
    let cores = config.server.cores;
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ])
    .map_err(|e| RunError(format!("cannot install signal handlers: {e}")))?;
    let server = Server::start(config)?;
    eprintln!(
        "tern: ready on {} with {cores} core(s)",
        listeners.join(", ")
    );
    let stopper = server.stopper();
    std::thread::Builder::new()
        .name("tern-signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                eprintln!("tern: signal {sig}, shutting down");
                stopper.stop();
            }
        })
        .map_err(|e| RunError(format!("cannot start the signal thread: {e}")))?;
    server.join()?;
    eprintln!("tern: stopped");
    Ok(())
}
