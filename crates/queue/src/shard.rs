//! The per-core queue shard: append with group commit, recovery, compaction, the lock.
//!
//! # Group commit
//!
//! An append encodes its record into the shard's pending buffer and joins the pending
//! batch. If no flush is in flight it leads at once: it takes the whole pending buffer,
//! writes it at the end of the head segment and fdatasyncs, so an idle shard adds no
//! latency and needs no timer. Appends that arrive while a flush is in flight pile up in
//! the next batch; when the flush lands, its waiters are woken with the result, and so are
//! the next batch's waiters, one of which leads the next flush. Under load one fdatasync
//! covers many messages, which is where durable throughput comes from.
//!
//! No `RefCell` borrow is held across an `.await`: every borrow is a block that ends
//! before the next await (clippy `await_holding_refcell_ref` is denied for the workspace).
//!
//! # Failures
//!
//! A failed write is truncated away and reported to its batch; the shard carries on. A
//! failed fdatasync poisons the shard: after one, Linux may have dropped the dirty pages
//! and report the next fdatasync as clean ("fsyncgate"), so no later append could be
//! trusted. Every append then fails with [`AppendError::Io`] until a restart recovers.
//!
//! Outcome and done records change the in-memory state when they are queued, not when
//! they are durable, so that a compaction copy queued after them carries them too. If
//! their flush fails the shard is poisoned or the record is lost; the worst case after the
//! restart is a repeated delivery attempt, never a lost message.

use crate::cache::{self, BodyCache};
use crate::compact::{self, CompactPolicy, SegmentInfo};
use crate::error::{AppendError, OpenError, ReadError};
use crate::id::MessageId;
use crate::io::{GlommioIo, SegmentFile, SegmentIo};
use crate::record::{self, ClientInfo, Envelope, MessageMeta, Outcome, Record};
use crate::recover::{self, segment_path, Mode, Skipped, TailCut};
use crate::scan::{Scanner, Tail};
use crate::state::{Location, QueuedMessage, State};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{SystemTime, UNIX_EPOCH};

/// Limits of a shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardConfig {
    /// Start a new segment when a batch would take the head past this many bytes.
    pub segment_size: u64,
    /// Refuse new messages ([`AppendError::DiskFull`]) beyond this many bytes of segments.
    /// Outcome and done records are always accepted: they are what frees space.
    pub max_disk_use: u64,
    /// When compaction copies live messages forward.
    pub compact: CompactPolicy,
}

impl Default for ShardConfig {
    fn default() -> ShardConfig {
        ShardConfig {
            segment_size: 64 << 20,
            max_disk_use: 16 << 30,
            compact: CompactPolicy::default(),
        }
    }
}

/// A message to queue: everything but the id, which the shard assigns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// When it was accepted, unix seconds.
    pub arrival: u64,
    /// The submitting client.
    pub client: ClientInfo,
    /// The envelope.
    pub envelope: Envelope,
    /// Bytes stored in front of the body, as part of it: the server's Received header.
    /// Separate so the message need not be copied to prepend it.
    pub head: Vec<u8>,
    /// The body as received (after dot-unstuffing).
    pub body: Vec<u8>,
}

/// What recovery did, for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Segments replayed.
    pub segments: usize,
    /// Records replayed.
    pub records: u64,
    /// Messages still to deliver.
    pub messages: usize,
    /// The torn or corrupt tail cut off the last segment, if there was one.
    pub cut: Option<TailCut>,
    /// Damaged stretches stepped over in the middle of segments (the records after each
    /// were kept).
    pub skipped: Vec<Skipped>,
    /// The id epoch of this run (the new head segment's number).
    pub epoch: u64,
}

/// Counters of a shard, for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardStats {
    /// fdatasyncs that succeeded (one per group-commit batch).
    pub syncs: u64,
    /// Records written since open.
    pub records: u64,
    /// Bytes in all segments.
    pub disk_use: u64,
    /// Segment files, the head included.
    pub segments: usize,
    /// Messages still queued.
    pub messages: usize,
    /// Bytes of new messages kept in memory for their first delivery attempt.
    pub cached_bytes: usize,
}

/// What one compaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactReport {
    /// Segments deleted, oldest first.
    pub deleted: Vec<u64>,
    /// Live messages copied forward.
    pub copied: usize,
}

/// The directory of shard `shard_no`: `DATA_DIR/queue/shard-N`.
pub fn shard_dir(data_dir: &Path, shard_no: u16) -> PathBuf {
    data_dir.join("queue").join(format!("shard-{shard_no}"))
}

type BatchResult = Result<(u64, u64), AppendError>;

/// The waiters of one group-commit batch and, once it landed, its result: the segment and
/// the offset where the batch starts.
#[derive(Default)]
struct Batch {
    done: Cell<Option<BatchResult>>,
    wakers: RefCell<Vec<Waker>>,
}

impl Batch {
    fn wake_all(&self) {
        let wakers = std::mem::take(&mut *self.wakers.borrow_mut());
        wakers.into_iter().for_each(Waker::wake);
    }
}

/// A record in a group-commit batch that may not be durable yet. Batches land in order,
/// so awaiting the last record staged makes every earlier one durable too.
#[must_use = "a staged record is durable only once `durable` has returned Ok"]
pub struct Staged<'a, I: SegmentIo = GlommioIo> {
    shard: &'a Shard<I>,
    batch: Rc<Batch>,
}

impl<I: SegmentIo> std::fmt::Debug for Staged<'_, I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Staged").finish_non_exhaustive()
    }
}

impl<I: SegmentIo> Staged<'_, I> {
    /// Waits until the record's batch is written and synced (leading the flush if none is
    /// in flight).
    pub async fn durable(self) -> Result<(), AppendError> {
        self.shard.wait(&self.batch).await.map(drop)
    }

    /// Lets go of the shard borrow, for a task that owns the shard through an `Rc` and
    /// waits there with [`Shard::durable`] while its caller goes on.
    pub fn detach(self) -> Detached {
        Detached {
            batch: self.batch,
            shard: (self.shard.shard_no, self.shard.epoch),
        }
    }
}

/// A [`Staged`] record without the borrow of its shard; see [`Staged::detach`].
#[must_use = "a staged record is durable only once `Shard::durable` has returned Ok"]
pub struct Detached {
    batch: Rc<Batch>,
    /// Which shard (number, epoch) staged it: another shard's flush would never land it.
    shard: (u16, u64),
}

impl std::fmt::Debug for Detached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detached")
            .field("shard", &self.shard)
            .finish_non_exhaustive()
    }
}

/// Resolves after the next wake-up of its batch (done, or time to lead the next flush).
struct Woken<'a> {
    batch: &'a Batch,
    registered: bool,
}

impl Future for Woken<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.registered || self.batch.done.get().is_some() {
            return Poll::Ready(());
        }
        self.batch.wakers.borrow_mut().push(cx.waker().clone());
        self.registered = true;
        Poll::Pending
    }
}

struct Inner<F> {
    state: State,
    next_seq: u64,
    head: Rc<F>,
    head_seq: u64,
    head_len: u64,
    /// Segment number to durable size, the head included.
    segments: BTreeMap<u64, u64>,
    /// Sum of `segments`.
    written: u64,
    pending: Vec<u8>,
    batch: Rc<Batch>,
    flushing: bool,
    poisoned: bool,
    syncs: u64,
    records: u64,
    /// New messages' bytes for their first delivery attempt.
    cache: BodyCache,
}

/// One core's queue shard. Not `Send`: it lives on its core's executor.
pub struct Shard<I: SegmentIo = GlommioIo> {
    io: I,
    dir: PathBuf,
    shard_no: u16,
    epoch: u64,
    config: ShardConfig,
    /// The flock on the shard directory, held (and released by the kernel) with the file.
    _lock: fs::File,
    inner: RefCell<Inner<I::File>>,
    compacting: Cell<bool>,
}

impl<I: SegmentIo> std::fmt::Debug for Shard<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shard")
            .field("dir", &self.dir)
            .field("shard_no", &self.shard_no)
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

impl Shard<GlommioIo> {
    /// Opens (creating if needed) shard `shard_no` under `data_dir`, with glommio I/O.
    /// See [`Shard::open_with`].
    pub async fn open(
        data_dir: &Path,
        shard_no: u16,
        config: ShardConfig,
    ) -> Result<(Shard, Recovered), OpenError> {
        Shard::open_with(GlommioIo, data_dir, shard_no, config).await
    }
}

impl<I: SegmentIo> Shard<I> {
    /// Locks the shard directory, replays every segment (cutting a torn tail off the
    /// last one), and starts a new head segment whose number is this run's id epoch.
    ///
    /// Recovery reads with blocking `std::fs`: it runs before the core serves
    /// connections, so there is nothing to stall.
    pub async fn open_with(
        io: I,
        data_dir: &Path,
        shard_no: u16,
        config: ShardConfig,
    ) -> Result<(Shard<I>, Recovered), OpenError> {
        let dir = shard_dir(data_dir, shard_no);
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| OpenError::Io { path, source }
        };
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let lock = fs::File::open(&dir).map_err(io_err(&dir))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(OpenError::Locked { dir }),
            Err(fs::TryLockError::Error(e)) => return Err(io_err(&dir)(e)),
        }
        let replay = recover::replay(&dir, Mode::Repair)?;
        let epoch = match replay.segments.keys().next_back() {
            Some(last) => last + 1,
            None => now_micros(),
        };
        let head_path = segment_path(&dir, epoch);
        let head = io.create(&head_path).await.map_err(io_err(&head_path))?;
        let mut segments = replay.segments;
        let recovered = Recovered {
            segments: segments.len(),
            records: replay.records,
            messages: replay.state.messages.len(),
            cut: replay.cut,
            skipped: replay.skipped,
            epoch,
        };
        segments.insert(epoch, 0);
        let written = segments.values().sum();
        let inner = Inner {
            state: replay.state,
            next_seq: 0,
            head: Rc::new(head),
            head_seq: epoch,
            head_len: 0,
            segments,
            written,
            pending: Vec::new(),
            batch: Rc::default(),
            flushing: false,
            poisoned: false,
            syncs: 0,
            records: 0,
            cache: BodyCache::new(cache::BUDGET),
        };
        let shard = Shard {
            io,
            dir,
            shard_no,
            epoch,
            config,
            _lock: lock,
            inner: RefCell::new(inner),
            compacting: Cell::new(false),
        };
        Ok((shard, recovered))
    }

    /// Queues a message. Returns its id only once its record is written and fdatasync
    /// returned: then, and only then, may the session answer `250`.
    pub async fn append_message(&self, msg: NewMessage) -> Result<MessageId, AppendError> {
        let id = self.reserve_id();
        self.append_reserved(id, msg).await.map(|()| id)
    }

    /// Hands out the id the next message will carry, before it is written: the server puts
    /// it in the `Received:` header that is part of the stored body. An id reserved and
    /// never appended (the append failed) is simply never used.
    pub fn reserve_id(&self) -> MessageId {
        let mut s = self.inner.borrow_mut();
        let id = MessageId {
            shard: self.shard_no,
            epoch: self.epoch,
            seq: s.next_seq,
        };
        s.next_seq += 1;
        id
    }

    /// Queues a message under an id from [`Shard::reserve_id`]; returns once it is
    /// durable, like [`Shard::append_message`].
    pub async fn append_reserved(&self, id: MessageId, msg: NewMessage) -> Result<(), AppendError> {
        let NewMessage {
            arrival,
            client,
            envelope,
            head,
            body,
        } = msg;
        let (meta, batch, off, len) = {
            let mut s = self.inner.borrow_mut();
            if s.poisoned {
                return Err(AppendError::Io);
            }
            let meta = MessageMeta {
                id,
                arrival,
                client,
                envelope,
            };
            let off = s.pending.len();
            let len = record::encode_message_parts(&mut s.pending, &meta, &head, &body);
            if s.written + s.pending.len() as u64 > self.config.max_disk_use {
                s.pending.truncate(off);
                return Err(AppendError::DiskFull);
            }
            (meta, s.batch.clone(), off as u64, len as u32)
        };
        let (segment, base) = self.wait(&batch).await?;
        let location = Location {
            segment,
            offset: base + off,
            len,
        };
        let mut s = self.inner.borrow_mut();
        s.state
            .add_message(meta, (head.len() + body.len()) as u32, location);
        s.cache.insert(id, head, body);
        Ok(())
    }

    /// Records the outcome of a delivery attempt to recipient `rcpt` (index into the
    /// envelope's recipients) of message `id`; returns once it is durable.
    pub async fn append_outcome(
        &self,
        id: MessageId,
        rcpt: u32,
        outcome: Outcome,
    ) -> Result<(), AppendError> {
        self.stage_outcome(id, rcpt, outcome)?.durable().await
    }

    /// Puts an outcome record in the current batch and updates the in-memory state at
    /// once, without waiting: records staged back to back share one fdatasync, which
    /// [`Staged::durable`] awaits. A caller that stages the outcomes of a message and then
    /// its done record pays for one sync, not two.
    pub fn stage_outcome(
        &self,
        id: MessageId,
        rcpt: u32,
        outcome: Outcome,
    ) -> Result<Staged<'_, I>, AppendError> {
        let mut s = self.inner.borrow_mut();
        if s.poisoned {
            return Err(AppendError::Io);
        }
        record::encode_outcome(&mut s.pending, id, rcpt, &outcome);
        if matches!(outcome, Outcome::Deferred { .. }) {
            // The next attempt is minutes away: not worth the memory until then.
            s.cache.remove(id);
        }
        s.state.set_outcome(id, rcpt, outcome);
        Ok(Staged {
            shard: self,
            batch: s.batch.clone(),
        })
    }

    /// Records that message `id` needs no more work; returns once it is durable. The
    /// message leaves the in-memory state at once.
    pub async fn mark_done(&self, id: MessageId) -> Result<(), AppendError> {
        self.stage_done(id)?.durable().await
    }

    /// [`Shard::mark_done`] without waiting; see [`Shard::stage_outcome`].
    pub fn stage_done(&self, id: MessageId) -> Result<Staged<'_, I>, AppendError> {
        let mut s = self.inner.borrow_mut();
        if s.poisoned {
            return Err(AppendError::Io);
        }
        record::encode_done(&mut s.pending, id);
        s.state.remove(id);
        s.cache.remove(id);
        Ok(Staged {
            shard: self,
            batch: s.batch.clone(),
        })
    }

    /// Waits until a record staged with [`Shard::stage_outcome`] or [`Shard::stage_done`]
    /// and then [detached](Staged::detach) is durable.
    ///
    /// # Panics
    ///
    /// If `record` was staged on another shard (a programming error: this shard's flushes
    /// would never land it, so the wait could not end).
    pub async fn durable(&self, record: Detached) -> Result<(), AppendError> {
        assert_eq!(
            record.shard,
            (self.shard_no, self.epoch),
            "a record detached from another shard"
        );
        self.wait(&record.batch).await.map(drop)
    }

    /// Waits for `batch` to land, leading flushes whenever none is in flight.
    async fn wait(&self, batch: &Batch) -> BatchResult {
        loop {
            if let Some(result) = batch.done.get() {
                return result;
            }
            let lead = {
                let mut s = self.inner.borrow_mut();
                !std::mem::replace(&mut s.flushing, true)
            };
            if lead {
                self.flush().await;
            } else {
                Woken {
                    batch,
                    registered: false,
                }
                .await;
            }
        }
    }

    /// Writes and syncs the whole pending batch, then wakes its waiters and the next
    /// batch's (one of them leads the next flush).
    async fn flush(&self) {
        let (batch, buf) = {
            let mut s = self.inner.borrow_mut();
            let buf = std::mem::take(&mut s.pending);
            (std::mem::take(&mut s.batch), buf)
        };
        let result = if buf.is_empty() {
            let s = self.inner.borrow();
            Ok((s.head_seq, s.head_len))
        } else {
            self.write_batch(buf).await
        };
        let next = {
            let mut s = self.inner.borrow_mut();
            s.flushing = false;
            (!s.pending.is_empty()).then(|| s.batch.clone())
        };
        batch.done.set(Some(result));
        batch.wake_all();
        if let Some(next) = next {
            next.wake_all();
        }
    }

    async fn write_batch(&self, buf: Vec<u8>) -> BatchResult {
        let records = Scanner::new(&buf).count() as u64;
        let (mut file, mut seq, mut pos) = {
            let s = self.inner.borrow();
            (s.head.clone(), s.head_seq, s.head_len)
        };
        let len = buf.len() as u64;
        if pos > 0 && pos + len > self.config.segment_size {
            let new_seq = seq + 1;
            let created = self.io.create(&segment_path(&self.dir, new_seq)).await;
            let new = Rc::new(created.map_err(|e| AppendError::from_io(&e))?);
            let mut s = self.inner.borrow_mut();
            s.head = new.clone();
            s.head_seq = new_seq;
            s.head_len = 0;
            s.segments.insert(new_seq, 0);
            (file, seq, pos) = (new, new_seq, 0);
        }
        if let Err(e) = file.write_at(buf, pos).await {
            if file.truncate(pos).await.is_err() {
                self.inner.borrow_mut().poisoned = true;
            }
            return Err(AppendError::from_io(&e));
        }
        if let Err(e) = file.sync().await {
            self.inner.borrow_mut().poisoned = true;
            return Err(AppendError::from_io(&e));
        }
        let mut s = self.inner.borrow_mut();
        s.head_len = pos + len;
        s.segments.insert(seq, pos + len);
        s.written += len;
        s.syncs += 1;
        s.records += records;
        Ok((seq, pos))
    }
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_micros() as u64)
}

impl<I: SegmentIo> Shard<I> {
    /// Deletes old segments that hold no live message, copying forward the few live
    /// messages that alone keep an old segment alive (see [`crate::compact`]). One
    /// compaction runs at a time; a second call meanwhile does nothing.
    pub async fn compact(&self) -> Result<CompactReport, AppendError> {
        if self.compacting.replace(true) {
            return Ok(CompactReport::default());
        }
        let result = self.compact_once().await;
        self.compacting.set(false);
        result
    }

    async fn compact_once(&self) -> Result<CompactReport, AppendError> {
        let plan = {
            let s = self.inner.borrow();
            let mut live: HashMap<u64, Vec<(MessageId, u64)>> = HashMap::new();
            for m in s.state.messages.values() {
                live.entry(m.location.segment)
                    .or_default()
                    .push((m.meta.id, u64::from(m.location.len)));
            }
            let infos: Vec<SegmentInfo> = s
                .segments
                .iter()
                .filter(|(&seq, _)| seq != s.head_seq)
                .map(|(&seq, &size)| SegmentInfo {
                    seq,
                    size,
                    live: live.remove(&seq).unwrap_or_default(),
                })
                .collect();
            compact::plan(&infos, self.config.compact)
        };
        let mut report = CompactReport::default();
        if plan.is_empty() {
            return Ok(report);
        }
        let mut copies = Vec::with_capacity(plan.copy.len());
        for &id in &plan.copy {
            let loc = self
                .inner
                .borrow()
                .state
                .messages
                .get(&id)
                .map(|m| m.location);
            let Some(loc) = loc else { continue };
            let path = segment_path(&self.dir, loc.segment);
            let bytes = self.io.read_at(&path, loc.offset, loc.len as usize).await;
            let bytes = bytes.map_err(|e| AppendError::from_io(&e))?;
            let mut scan = Scanner::new(&bytes);
            let whole = scan.next().map(|r| r.framed_len()) == Some(bytes.len())
                && scan.tail() == Tail::Clean;
            if !whole {
                // The record changed under us: keep the segment rather than lose the message.
                return Err(AppendError::Io);
            }
            copies.push((id, bytes));
        }
        let (batch, placed) = {
            let mut guard = self.inner.borrow_mut();
            let s = &mut *guard;
            if s.poisoned {
                return Err(AppendError::Io);
            }
            let mut placed = Vec::new();
            for (id, bytes) in copies {
                // Done meanwhile: nothing to keep.
                let Some(m) = s.state.messages.get(&id) else {
                    continue;
                };
                placed.push((id, s.pending.len() as u64, bytes.len() as u32));
                s.pending.extend_from_slice(&bytes);
                // The copy resets the message at recovery; its recipients' state follows it.
                for (i, o) in m.recipients.iter().enumerate() {
                    if let Some(o) = o {
                        record::encode_outcome(&mut s.pending, id, i as u32, o);
                    }
                }
            }
            (s.batch.clone(), placed)
        };
        if !placed.is_empty() {
            let (segment, base) = self.wait(&batch).await?;
            let mut s = self.inner.borrow_mut();
            for &(id, off, len) in &placed {
                if let Some(m) = s.state.messages.get_mut(&id) {
                    m.location = Location {
                        segment,
                        offset: base + off,
                        len,
                    };
                }
            }
            report.copied = placed.len();
        }
        for seq in plan.delete {
            self.io
                .remove(&segment_path(&self.dir, seq))
                .await
                .map_err(|e| AppendError::from_io(&e))?;
            let mut s = self.inner.borrow_mut();
            if let Some(size) = s.segments.remove(&seq) {
                s.written -= size;
            }
            report.deleted.push(seq);
        }
        Ok(report)
    }

    /// Reads back the body of a queued message (for delivery). A message queued by this
    /// run and not yet deferred is served from memory.
    pub async fn read_body(&self, id: MessageId) -> Result<Vec<u8>, ReadError> {
        let loc = {
            let s = self.inner.borrow();
            if let Some(bytes) = s.cache.get(id) {
                return Ok(bytes);
            }
            s.state.messages.get(&id).map(|m| m.location)
        };
        let loc = loc.ok_or(ReadError::NotFound)?;
        let path = segment_path(&self.dir, loc.segment);
        let bytes = self
            .io
            .read_at(&path, loc.offset, loc.len as usize)
            .await
            .map_err(ReadError::Io)?;
        let raw = Scanner::new(&bytes).next().ok_or(ReadError::Corrupt)?;
        match record::decode(raw.kind, raw.payload) {
            Ok(Record::Message(meta, body)) if meta.id == id => Ok(body.to_vec()),
            _ => Err(ReadError::Corrupt),
        }
    }

    /// A copy of what the shard knows about message `id`.
    pub fn get(&self, id: MessageId) -> Option<QueuedMessage> {
        self.inner.borrow().state.messages.get(&id).cloned()
    }

    /// The messages due at `now` (unix seconds), earliest first.
    pub fn due(&self, now: u64) -> Vec<MessageId> {
        self.inner.borrow().state.index.due(now).collect()
    }

    /// The first `max` messages due at `now`, earliest first: what a worker that can take
    /// only so many jobs asks for, so that a large backlog costs it `max`, not the whole
    /// queue, per look.
    pub fn due_first(&self, now: u64, max: usize) -> Vec<MessageId> {
        self.inner.borrow().state.index.due(now).take(max).collect()
    }

    /// The earliest next attempt and its message, for a worker deciding how long to sleep.
    pub fn earliest(&self) -> Option<(u64, MessageId)> {
        self.inner.borrow().state.index.earliest()
    }

    /// The messages with a pending recipient in `domain`, for ETRN/ATRN.
    pub fn for_domain(&self, domain: &str) -> Vec<MessageId> {
        self.inner.borrow().state.index.for_domain(domain).collect()
    }

    /// Every message id still queued, in id order.
    pub fn ids(&self) -> Vec<MessageId> {
        let mut ids: Vec<MessageId> = self.inner.borrow().state.messages.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// This run's id epoch.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The shard directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Counters.
    pub fn stats(&self) -> ShardStats {
        let s = self.inner.borrow();
        ShardStats {
            syncs: s.syncs,
            records: s.records,
            disk_use: s.written,
            segments: s.segments.len(),
            messages: s.state.messages.len(),
            cached_bytes: s.cache.bytes(),
        }
    }
}
