//! Batched appends (group commit), Postgres only.
//!
//! Every `append_message` of a Postgres store goes through one [`Batcher`] per store: the call
//! queues its message in its thread's lane and blocks; the lane's writer thread takes everything
//! queued there (up to [`AppendBatching::max_batch`], waiting at most
//! [`AppendBatching::max_wait`] for more after the first) and stores it in ONE transaction with a
//! fixed number of round trips whatever the batch's size (`batch_statements`):
//!
//! 1. `BEGIN` (with its settings, one round trip);
//! 2. every thread of the batch locked, in id order, and read as locked, in one statement that
//!    also finds the batch's retries (`(sender_id, client_message_id)` already stored);
//! 3. the patches, each on the thread as locked for its append (`last_seq` the new one,
//!    `last_activity_at` the message's time). A shared patch (`append_shared`: the service's
//!    sends, `MessageStore::append_message_with_sla`) is run by the writer itself, and so is its
//!    SLA decision, on the live clocks of the batch's threads read in one statement (a thread's
//!    first append of the batch only; the clock changes are stored in step 4). A borrowed patch
//!    (`append_message`'s, neither `Send` nor `'static`) is computed *by its caller, on its own
//!    thread*: the writer hands it the thread and gets the patch back. Appends to the same
//!    thread go in rounds, in the order they were queued, each seeing the thread as the
//!    previous one left it; a patch that fails fails only its own send, and takes no sequence
//!    number;
//! 4. in ONE statement (`WriteAppends`, data-modifying `WITH` parts): the messages inserted
//!    and read back, the read marks of agents' replies, the threads written back, the decided
//!    clock changes (starts and ends); it also says whether any webhook endpoint exists;
//! 5. only if one does, the webhook outbox rows (one statement); `COMMIT`; then each caller gets
//!    its answer. So a batch holds its threads' locks for three round trips (clocks, writes,
//!    `COMMIT`) whatever its size, and another instance's batch wanting the same threads waits
//!    that long.
//!
//! Lanes ([`AppendBatching::lanes`]): each has its own queue, writer and connection, and a
//! thread's appends always take the same one (the thread's id modulo the lane count), so they
//! keep their order. Two instances configured alike put a thread in the same lane, so their
//! batches can wait for each other's thread locks only lane by lane: while one instance's lane
//! waits for the other's `COMMIT`, its other lanes go on.
//!
//! A batch that the database refuses as a whole (a retry stored by another batch after step 2
//! began, reopening a thread beside another open one, a deadlock) is rolled back and every send
//! of it runs again on the direct path, one transaction each, which answers exactly what it
//! would have answered alone. A batch whose connection is lost answers every send `Unavailable`
//! (whether a lost `COMMIT` landed is unknown, as on the direct path; a retry with the same
//! client message id is safe). Sends with attachments, and the second send of a
//! `(sender_id, client_message_id)` inside a batch, take the direct path. A send that waited
//! longer than the store's checkout timeout in the queue is answered `Unavailable` without being
//! tried (overload, as when no pooled connection comes), so no send waits unboundedly for a
//! batch.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use chat_domain::message::{Appended, MessageKind, NewMessage};
use chat_domain::ports::{SharedPatch, SharedSlaDecision};
use chat_domain::sla::{SlaApplied, SlaChange, SlaClock};
use chat_domain::thread::{Thread, ThreadPatch, ThreadStatus};
use chat_domain::user::Role;
use chat_domain::webhook::OutboxEvent;
use chat_domain::ThreadId;
use chat_domain::{DomainError, DomainResult};
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::{PgConnection, RunQueryDsl};
use r2d2::PooledConnection;

use super::batch_statements::{LockThreads, RecordEvents, SenderHashes, WriteAppends};
use super::sla::{clock_finishes, clock_starts, live_clocks};
use super::CheckoutObserver;
use crate::connection::{DbConnection, DbConnectionManager, DbPool};
use crate::error::StoreError;
use crate::rows::{MessageRow, ThreadRow};

/// How appends are batched on Postgres (`database.append_batch_max`,
/// `database.append_batch_wait_us` in the server's settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendBatching {
    /// The most appends one transaction takes. 1 or less turns batching off: every append is
    /// its own transaction (the direct path).
    pub max_batch: usize,
    /// How long the writer waits for more appends after the first of a batch, when fewer than
    /// `max_batch` are queued. Zero: a batch is whatever queued while the previous one ran, so
    /// a lone send never waits for company.
    pub max_wait: Duration,
    /// How many batches may be stored at once, each by its own writer, on its own connection,
    /// for its own threads (a thread's id modulo `lanes` picks its lane). 0 is taken as 1.
    pub lanes: usize,
}

impl AppendBatching {
    /// No batching: every append in a transaction of its own.
    pub const OFF: AppendBatching = AppendBatching {
        max_batch: 1,
        max_wait: Duration::ZERO,
        lanes: 1,
    };

    /// Whether appends are batched at all.
    pub fn is_on(&self) -> bool {
        self.max_batch > 1
    }
}

impl Default for AppendBatching {
    /// 64 appends at most, no waiting for company, one lane.
    fn default() -> Self {
        AppendBatching {
            max_batch: 64,
            max_wait: Duration::ZERO,
            lanes: 1,
        }
    }
}

/// How long the writer waits for a caller to compute its patch before failing that send (a
/// patch is a pure, quick function: this only keeps a broken caller from stalling the batch).
const PATCH_TIMEOUT: Duration = Duration::from_secs(10);

/// A caller's borrowed patch ([`Batcher::append`]).
type BorrowedPatch<'a> = &'a dyn Fn(&Thread) -> DomainResult<ThreadPatch>;

/// What the writer tells a waiting caller.
enum ToCaller {
    /// Compute your patch on this thread (as locked for your append) and send it back (for a
    /// caller whose patch is only borrowed: [`Batcher::append`]).
    Patch {
        thread: Thread,
        index: usize,
        reply: mpsc::Sender<(usize, DomainResult<ThreadPatch>)>,
    },
    /// Your answer, and whether your clock changes were stored with it.
    Done(DomainResult<Appended>, SlaApplied),
    /// Store it yourself, in a transaction of its own.
    Direct(NewMessage),
}

/// A queued append.
struct Job {
    new: NewMessage,
    queued_at: Instant,
    caller: mpsc::Sender<ToCaller>,
    /// The patch and SLA decision when the caller shared them: the writer runs them itself
    /// (no round trip to the caller) and stores the clock changes with the message.
    shared: Option<(SharedPatch, SharedSlaDecision)>,
}

impl Job {
    fn answer(self, result: DomainResult<Appended>) {
        self.answer_with(result, SlaApplied::Left);
    }

    fn answer_with(self, result: DomainResult<Appended>, applied: SlaApplied) {
        // A caller that went away (it panicked) needs no answer.
        let _ = self.caller.send(ToCaller::Done(result, applied));
    }

    fn direct(self) {
        let _ = self.caller.send(ToCaller::Direct(self.new));
    }
}

#[derive(Default)]
struct QueueState {
    jobs: VecDeque<Job>,
    closed: bool,
}

#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    ready: Condvar,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next batch: blocks for a first job, then takes what is queued (up to `max`), waiting
    /// at most `max_wait` after the first for more. None once closed and drained.
    fn next_batch(&self, max: usize, max_wait: Duration) -> Option<Vec<Job>> {
        let mut state = self.lock();
        while state.jobs.is_empty() {
            if state.closed {
                return None;
            }
            state = self
                .ready
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if !max_wait.is_zero() && state.jobs.len() < max {
            let deadline = state
                .jobs
                .front()
                .map_or_else(Instant::now, |job| job.queued_at)
                + max_wait;
            while state.jobs.len() < max && !state.closed {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                state = self
                    .ready
                    .wait_timeout(state, left)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
        }
        let take = state.jobs.len().min(max);
        Some(state.jobs.drain(..take).collect())
    }
}

/// What the writer needs of its store: the pool (installed later for a pending store), how long
/// to wait for a connection, and whom to tell of the wait.
#[derive(Clone)]
pub(crate) struct WriterContext {
    pub pool: Arc<OnceLock<DbPool>>,
    pub checkout_timeout: Duration,
    pub observer: Option<Arc<dyn CheckoutObserver>>,
}

/// One store's batcher: a queue and a writer thread per lane. The writers end when the batcher
/// is dropped (with the last clone of its store).
pub(crate) struct Batcher {
    lanes: Vec<Arc<Queue>>,
    pub settings: AppendBatching,
}

impl Batcher {
    /// Starts a writer thread per lane.
    pub fn start(settings: AppendBatching, context: WriterContext) -> std::io::Result<Self> {
        let settings = AppendBatching {
            lanes: settings.lanes.max(1),
            ..settings
        };
        let mut batcher = Batcher {
            lanes: Vec::with_capacity(settings.lanes),
            settings,
        };
        for _ in 0..settings.lanes {
            let queue = Arc::new(Queue::default());
            let writer_queue = Arc::clone(&queue);
            let context = context.clone();
            // On failure the lanes already started are closed when `batcher` drops.
            std::thread::Builder::new()
                .name("append-batcher".to_owned())
                .spawn(move || write_batches(&writer_queue, settings, &context))?;
            batcher.lanes.push(queue);
        }
        Ok(batcher)
    }

    /// The lane of a thread's appends: the same for every batcher with as many lanes.
    fn lane(&self, thread: ThreadId) -> Option<&Queue> {
        let lanes = i64::try_from(self.lanes.len()).ok().filter(|&n| n > 0)?;
        let index = usize::try_from(thread.0.rem_euclid(lanes)).ok()?;
        self.lanes.get(index).map(|queue| &**queue)
    }

    /// Appends through the batch with a borrowed patch: queues `new`, then computes the patch
    /// when the writer asks for it, until the answer comes. `direct` stores a message on the
    /// direct path (asked of the caller for what cannot be batched).
    pub fn append(
        &self,
        new: NewMessage,
        patch: &dyn Fn(&Thread) -> DomainResult<ThreadPatch>,
        direct: impl FnOnce(NewMessage) -> DomainResult<Appended>,
    ) -> DomainResult<Appended> {
        let answers = match self.enqueue(new, None) {
            Ok(answers) => answers,
            Err(new) => return direct(*new),
        };
        Self::wait(&answers, Some(patch), direct).map(|(appended, _)| appended)
    }

    /// Appends through the batch with a shared patch and SLA decision, which the writer runs
    /// itself: the clock changes are stored in the batch's transaction
    /// ([`SlaApplied::WithMessage`]) when the writer could decide them, else left to the caller.
    pub fn append_shared(
        &self,
        new: NewMessage,
        patch: SharedPatch,
        sla: SharedSlaDecision,
        direct: impl FnOnce(NewMessage) -> DomainResult<Appended>,
    ) -> DomainResult<(Appended, SlaApplied)> {
        let answers = match self.enqueue(new, Some((patch, sla))) {
            Ok(answers) => answers,
            Err(new) => return Ok((direct(*new)?, SlaApplied::Left)),
        };
        Self::wait(&answers, None, direct)
    }

    /// Queues a job; gives the message back when the batcher is closed (the caller stores it
    /// directly).
    fn enqueue(
        &self,
        new: NewMessage,
        shared: Option<(SharedPatch, SharedSlaDecision)>,
    ) -> Result<mpsc::Receiver<ToCaller>, Box<NewMessage>> {
        let (caller, answers) = mpsc::channel();
        let Some(queue) = self.lane(new.thread_id) else {
            return Err(Box::new(new));
        };
        {
            let mut state = queue.lock();
            if state.closed {
                return Err(Box::new(new));
            }
            state.jobs.push_back(Job {
                new,
                queued_at: Instant::now(),
                caller,
                shared,
            });
        }
        queue.ready.notify_one();
        Ok(answers)
    }

    /// Waits for the writer's answer, computing a borrowed patch when asked.
    fn wait(
        answers: &mpsc::Receiver<ToCaller>,
        patch: Option<BorrowedPatch<'_>>,
        direct: impl FnOnce(NewMessage) -> DomainResult<Appended>,
    ) -> DomainResult<(Appended, SlaApplied)> {
        loop {
            match answers.recv() {
                Ok(ToCaller::Patch {
                    thread,
                    index,
                    reply,
                }) => {
                    let patched = match patch {
                        Some(patch) => patch(&thread),
                        None => Err(DomainError::Internal(
                            "the writer asked for a patch it holds".to_owned(),
                        )),
                    };
                    let _ = reply.send((index, patched));
                }
                Ok(ToCaller::Done(result, applied)) => {
                    return result.map(|appended| (appended, applied))
                }
                Ok(ToCaller::Direct(new)) => return Ok((direct(new)?, SlaApplied::Left)),
                Err(_) => {
                    return Err(DomainError::Internal(
                        "the append batcher stopped without answering".to_owned(),
                    ))
                }
            }
        }
    }
}

impl Drop for Batcher {
    fn drop(&mut self) {
        for queue in &self.lanes {
            queue.lock().closed = true;
            queue.ready.notify_all();
        }
    }
}

/// A lane's writer: stores its queue's batches until the batcher closes it.
fn write_batches(queue: &Queue, settings: AppendBatching, context: &WriterContext) {
    while let Some(batch) = queue.next_batch(settings.max_batch, settings.max_wait) {
        // A panic drops the batch's jobs (their callers get an error), not the writer.
        let stored = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_batch(context, batch);
        }));
        if stored.is_err() {
            tracing::error!("storing a batch of appends panicked");
        }
    }
}

/// An append of the batch whose patch was accepted: what it stores and answers.
struct Planned {
    job: usize,
    seq: i64,
    thread: Thread,
    status_changed: bool,
    reopened: bool,
    /// Whether its clock changes are stored with it.
    sla_applied: SlaApplied,
}

/// Stores one batch and answers every job of it.
fn run_batch(context: &WriterContext, batch: Vec<Job>) {
    let mut jobs = Vec::with_capacity(batch.len());
    for job in batch {
        if job.queued_at.elapsed() > context.checkout_timeout {
            job.answer(Err(DomainError::Unavailable(
                "too many sends are waiting for the database".to_owned(),
            )));
        } else {
            jobs.push(job);
        }
    }
    if jobs.is_empty() {
        return;
    }
    let Some(pool) = context.pool.get() else {
        return answer_all(jobs, || {
            DomainError::Unavailable("the database has not been reached yet".to_owned())
        });
    };
    let started = Instant::now();
    let conn = pool.get_timeout(context.checkout_timeout);
    if let Some(observer) = &context.observer {
        observer.checked_out(started.elapsed(), conn.is_ok());
    }
    let mut conn = match conn {
        Ok(conn) => conn,
        Err(err) => {
            let message = err.to_string();
            return answer_all(jobs, || DomainError::Unavailable(message.clone()));
        }
    };
    if !matches!(&**conn, DbConnection::Postgresql(_)) {
        return jobs.into_iter().for_each(Job::direct);
    }
    // The second send of a (sender, client message id) within the batch waits for the first
    // to commit, then finds it on the direct path.
    let mut seen = HashSet::new();
    let mut later = Vec::new();
    let mut batch = Vec::with_capacity(jobs.len());
    for job in jobs {
        let key = job
            .new
            .client_message_id
            .as_ref()
            .map(|c| (job.new.sender_id, c.as_str().to_owned()));
        if key.is_some_and(|key| !seen.insert(key)) {
            later.push(job);
        } else {
            batch.push(job);
        }
    }
    match store_batch(&mut conn, &batch) {
        Ok(outcomes) => {
            for (job, outcome) in batch.into_iter().zip(outcomes) {
                match outcome {
                    Outcome::Answer(result) => job.answer(result),
                    Outcome::Stored(appended, applied) => job.answer_with(Ok(appended), applied),
                    Outcome::Direct => job.direct(),
                }
            }
        }
        Err(err) => {
            let err = super::failure(&mut conn, err);
            if matches!(err, DomainError::Unavailable(_)) {
                tracing::warn!(error = %err, sends = batch.len(), "a batch of appends lost its connection");
                let message = err.to_string();
                answer_all(batch, || DomainError::Unavailable(message.clone()));
            } else {
                // Rolled back: each send again on its own, answering exactly as it would alone.
                tracing::warn!(error = %err, sends = batch.len(), "a batch of appends was refused; storing them one by one");
                batch.into_iter().for_each(Job::direct);
            }
        }
    }
    drop(conn);
    later.into_iter().for_each(Job::direct);
}

fn answer_all(jobs: Vec<Job>, err: impl Fn() -> DomainError) {
    for job in jobs {
        job.answer(Err(err()));
    }
}

/// What became of one send of a committed batch.
// One per send of a batch, answered at once: boxing the answer would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Outcome {
    Answer(DomainResult<Appended>),
    /// Stored; with whether its clock changes were stored with it.
    Stored(Appended, SlaApplied),
    /// A retry of a stored client message id: the direct path answers with the stored message.
    Direct,
}

/// The batch's `BEGIN`, in the same round trip: its prepared statements run on generic plans.
/// Postgres would otherwise re-plan each of them on every batch (a custom plan for a batch of
/// a few sends looks cheaper than the generic one, which guesses 100 elements per array), and
/// at 1,000 sends/s that planning was a third of Postgres's time (`pg_stat_statements`:
/// 6.5 s of plan time against 16.6 s of execution per 30 s, on a 2-core machine). Their plans
/// do not depend on the values: every statement reaches its rows through `unnest` and primary
/// or unique keys. Sequential scans are off as well: a plan is made once per connection and
/// kept, and one made while a table was small (a fresh database) must not stay a scan of the
/// whole table once it is not; none of the batch's reads wants one.
const BEGIN_GENERIC: &str =
    "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL enable_seqscan = off";

/// Runs the batch's transaction. Err: nothing was stored (rolled back), or the connection was
/// lost (possibly while committing).
fn store_batch(
    conn: &mut PooledConnection<DbConnectionManager>,
    jobs: &[Job],
) -> Result<Vec<Outcome>, StoreError> {
    let DbConnection::Postgresql(pg) = &mut ***conn else {
        return Ok(jobs.iter().map(|_| Outcome::Direct).collect());
    };
    AnsiTransactionManager::begin_transaction_sql(pg, BEGIN_GENERIC)?;
    match in_transaction(pg, jobs) {
        Ok(outcomes) => {
            AnsiTransactionManager::commit_transaction(pg)?;
            Ok(outcomes)
        }
        Err(err) => {
            if let Err(rollback) = AnsiTransactionManager::rollback_transaction(pg) {
                tracing::warn!(error = %rollback, "rolling back a batch of appends failed");
            }
            Err(err)
        }
    }
}

/// Answers Unauthenticated to every send (not answered yet) whose sender was authenticated by a
/// remembered password ([`NewMessage::verified_hash`]) but is deleted or has another hash now:
/// one statement for the whole batch, none when no send needs it.
fn refuse_stale_credentials(
    pg: &mut PgConnection,
    jobs: &[Job],
    outcomes: &mut [Option<Outcome>],
) -> Result<(), StoreError> {
    let mut ids: Vec<i64> = jobs
        .iter()
        .zip(outcomes.iter())
        .filter(|(job, outcome)| outcome.is_none() && job.new.verified_hash.is_some())
        .map(|(job, _)| job.new.sender_id.0)
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    ids.sort_unstable();
    ids.dedup();
    let stored: HashMap<i64, String> = SenderHashes { ids }
        .load::<(i64, String)>(pg)?
        .into_iter()
        .collect();
    for (job, outcome) in jobs.iter().zip(outcomes.iter_mut()) {
        let Some(hash) = &job.new.verified_hash else {
            continue;
        };
        if outcome.is_none() && stored.get(&job.new.sender_id.0) != Some(&hash.0) {
            *outcome = Some(Outcome::Answer(Err(DomainError::Unauthenticated)));
        }
    }
    Ok(())
}

fn in_transaction(pg: &mut PgConnection, jobs: &[Job]) -> Result<Vec<Outcome>, StoreError> {
    let mut outcomes: Vec<Option<Outcome>> = jobs.iter().map(|_| None).collect();
    // 1. Senders authenticated by a remembered password: still there, with that hash.
    refuse_stale_credentials(pg, jobs, &mut outcomes)?;
    // 2. Lock the threads, in id order, and find the retries of messages stored earlier (the
    // direct path answers them) in the same round trip.
    let mut thread_ids: Vec<i64> = Vec::new();
    let mut senders: Vec<i64> = Vec::new();
    let mut client_message_ids: Vec<String> = Vec::new();
    let mut retry_candidates: Vec<usize> = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        if outcomes[i].is_some() {
            continue;
        }
        thread_ids.push(job.new.thread_id.0);
        if let Some(cmid) = &job.new.client_message_id {
            senders.push(job.new.sender_id.0);
            client_message_ids.push(cmid.as_str().to_owned());
            retry_candidates.push(i);
        }
    }
    thread_ids.sort_unstable();
    thread_ids.dedup();
    let mut threads: HashMap<i64, (Thread, i64)> = HashMap::new();
    if !thread_ids.is_empty() {
        let locked = LockThreads {
            ids: thread_ids,
            senders,
            client_message_ids,
        }
        .load::<(ThreadRow, Option<Vec<i64>>)>(pg)?;
        let mut stored: Option<Vec<i64>> = None;
        for (row, retries) in locked {
            stored = stored.or(retries);
            threads.insert(row.id, (row.to_thread()?, row.rank_key));
        }
        for position in stored.unwrap_or_default() {
            let job = usize::try_from(position - 1)
                .ok()
                .and_then(|k| retry_candidates.get(k));
            if let Some(&i) = job {
                outcomes[i] = Some(Outcome::Direct);
            }
        }
    }
    // 2b. The live clocks of the threads whose first append in this batch may change them (a
    // staff reply, or a client's message to a thread not waiting yet): that append decides its
    // clock changes with its patch and they are stored with it. Later appends to the same
    // thread (rare: two within one batch) leave theirs to their callers, after the commit.
    // Each entry is taken by its thread's first shared append (`remove`, in the rounds below).
    let mut clocks: HashMap<i64, Vec<SlaClock>> = HashMap::new();
    let mut first_shared: HashSet<i64> = HashSet::new();
    for (job, outcome) in jobs.iter().zip(&outcomes) {
        let thread = job.new.thread_id.0;
        if outcome.is_some() || job.shared.is_none() || !first_shared.insert(thread) {
            continue;
        }
        let may_change = match threads.get(&thread) {
            Some((locked, _)) => {
                job.new.sender_role != Role::Client || locked.waiting_since.is_none()
            }
            None => false,
        };
        if may_change {
            clocks.insert(thread, Vec::new());
        }
    }
    if !clocks.is_empty() {
        let ids: Vec<i64> = clocks.keys().copied().collect();
        for clock in live_clocks(pg, ids)? {
            clocks.entry(clock.thread_id.0).or_default().push(clock);
        }
    }
    let mut sla_changes: Vec<SlaChange> = Vec::new();
    // The appends whose clock changes the writer decided (stored with them).
    let mut decided: HashSet<usize> = HashSet::new();
    // 3. The patches, in rounds: per thread, its appends in queue order.
    let mut per_thread: HashMap<i64, VecDeque<usize>> = HashMap::new();
    for (i, job) in jobs.iter().enumerate() {
        if outcomes[i].is_some() {
            continue;
        }
        if threads.contains_key(&job.new.thread_id.0) {
            per_thread
                .entry(job.new.thread_id.0)
                .or_default()
                .push_back(i);
        } else {
            outcomes[i] = Some(Outcome::Answer(Err(DomainError::NotFound("thread"))));
        }
    }
    let mut planned: Vec<Planned> = Vec::new();
    let mut changed: Vec<i64> = Vec::new();
    let mut mark_read: HashMap<i64, i64> = HashMap::new();
    loop {
        let mut round: Vec<usize> = per_thread
            .values_mut()
            .filter_map(VecDeque::pop_front)
            .collect();
        if round.is_empty() {
            break;
        }
        round.sort_unstable();
        let (reply, replies) = mpsc::channel();
        let mut asked = 0;
        let mut patches: HashMap<usize, (DomainResult<ThreadPatch>, Vec<SlaChange>)> =
            HashMap::new();
        for &i in &round {
            let job = &jobs[i];
            let Some((locked, _)) = threads.get(&job.new.thread_id.0) else {
                continue;
            };
            let mut thread = locked.clone();
            thread.last_seq += 1;
            thread.last_activity_at = job.new.created_at;
            match &job.shared {
                // Shared: the writer runs the patch, and with the thread's live clocks (its
                // first append in this batch) the SLA decision.
                Some((patch, sla)) => {
                    let patched = patch(&thread);
                    let live = clocks.remove(&thread.id.0);
                    let changes = match (&patched, live) {
                        (Ok(accepted), Some(live)) => {
                            decided.insert(i);
                            let mut after = thread;
                            after.apply(accepted.clone());
                            sla(&after, &live)
                        }
                        _ => Vec::new(),
                    };
                    patches.insert(i, (patched, changes));
                }
                None => {
                    let sent = job.caller.send(ToCaller::Patch {
                        thread,
                        index: i,
                        reply: reply.clone(),
                    });
                    if sent.is_ok() {
                        asked += 1;
                    }
                }
            }
        }
        drop(reply);
        let deadline = Instant::now() + PATCH_TIMEOUT;
        let mut answered = 0;
        while answered < asked {
            let left = deadline.saturating_duration_since(Instant::now());
            match replies.recv_timeout(left) {
                Ok((i, patch)) => {
                    patches.insert(i, (patch, Vec::new()));
                    answered += 1;
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        for i in round {
            let job = &jobs[i];
            let (patch, changes) = patches.remove(&i).unwrap_or_else(|| {
                (
                    Err(DomainError::Internal(
                        "the sender did not compute its patch".to_owned(),
                    )),
                    Vec::new(),
                )
            });
            let Some((thread, rank_key)) = threads.get_mut(&job.new.thread_id.0) else {
                continue;
            };
            let patch = match patch {
                Ok(patch) => patch,
                Err(err) => {
                    outcomes[i] = Some(Outcome::Answer(Err(err)));
                    continue;
                }
            };
            sla_changes.extend(changes);
            thread.last_seq += 1;
            thread.last_activity_at = job.new.created_at;
            let seq = thread.last_seq;
            if patch.mark_client_messages_read {
                mark_read.insert(thread.id.0, seq);
            }
            let status_changed = thread.status != patch.status;
            let reopened =
                thread.status == ThreadStatus::Resolved && patch.status != ThreadStatus::Resolved;
            if let Some(key) = patch.rank_key {
                *rank_key = key;
            }
            thread.apply(patch);
            if !changed.contains(&thread.id.0) {
                changed.push(thread.id.0);
            }
            planned.push(Planned {
                job: i,
                seq,
                thread: thread.clone(),
                status_changed,
                reopened,
                sla_applied: if decided.contains(&i) {
                    SlaApplied::WithMessage
                } else {
                    SlaApplied::Left
                },
            });
        }
    }
    if !planned.is_empty() {
        let accepted = Accepted {
            planned: &planned,
            threads: &threads,
            changed: &changed,
            mark_read: &mark_read,
            sla_changes: &sla_changes,
        };
        write_planned(pg, jobs, &accepted, &mut outcomes)?;
    }
    Ok(outcomes
        .into_iter()
        .map(|outcome| {
            outcome.unwrap_or_else(|| {
                Outcome::Answer(Err(DomainError::Internal(
                    "a batched append was left unanswered".to_owned(),
                )))
            })
        })
        .collect())
}

/// What the batch's accepted appends write.
struct Accepted<'a> {
    planned: &'a [Planned],
    threads: &'a HashMap<i64, (Thread, i64)>,
    changed: &'a [i64],
    /// Per thread an agent answered, the seq of its last reply in the batch: the client's
    /// messages before it are read.
    mark_read: &'a HashMap<i64, i64>,
    sla_changes: &'a [SlaChange],
}

/// Steps 4 and 5: the messages, read marks, threads and clock changes of the accepted appends
/// in one statement ([`WriteAppends`]), then their outbox rows when a webhook endpoint exists.
fn write_planned(
    pg: &mut PgConnection,
    jobs: &[Job],
    accepted: &Accepted<'_>,
    outcomes: &mut [Option<Outcome>],
) -> Result<(), StoreError> {
    let planned = accepted.planned;
    let mut write = WriteAppends::default();
    let insert = &mut write.insert;
    for p in planned {
        let new = &jobs[p.job].new;
        // A client message that a later reply of this batch answers is read already (its
        // row, returned by the same statement as the read mark, shows it so).
        let answered = new.sender_role == Role::Client
            && new.kind == MessageKind::Message
            && accepted
                .mark_read
                .get(&new.thread_id.0)
                .is_some_and(|&before| p.seq < before);
        insert.thread_id.push(new.thread_id.0);
        insert.seq.push(p.seq);
        insert.sender_id.push(new.sender_id.0);
        insert.sender_role.push(new.sender_role.as_str());
        insert.body.push(new.body.as_str().to_owned());
        insert.created_at_ms.push(new.created_at.millis());
        insert.is_read.push(answered);
        insert.client_message_id.push(
            new.client_message_id
                .as_ref()
                .map(|c| c.as_str().to_owned()),
        );
        insert.kind.push(new.kind.as_str());
        insert.is_system.push(new.system);
    }
    let mut marks: Vec<(i64, i64)> = accepted.mark_read.iter().map(|(&t, &s)| (t, s)).collect();
    marks.sort_unstable();
    (write.mark_read.thread_id, write.mark_read.before_seq) = marks.into_iter().unzip();
    let save = &mut write.save;
    for id in accepted.changed {
        let Some((thread, rank_key)) = accepted.threads.get(id) else {
            continue;
        };
        let row = ThreadRow::new(thread, *rank_key)?;
        save.id.push(row.id);
        save.status.push(row.status);
        save.claim_agent_id.push(row.claim_agent_id);
        save.claim_until_ms.push(row.claim_until_ms);
        save.agent_id.push(row.agent_id);
        save.waiting_since_ms.push(row.waiting_since_ms);
        save.urgency_score.push(row.urgency_score);
        save.urgency_reasons.push(row.urgency_reasons);
        save.rank_key.push(row.rank_key);
        save.last_seq.push(row.last_seq);
        save.last_activity_at_ms.push(row.last_activity_at_ms);
        save.resolutions.push(row.resolutions);
    }
    write.starts = clock_starts(accepted.sla_changes);
    write.finishes = clock_finishes(accepted.sla_changes);
    let written = write.load::<(MessageRow, bool)>(pg)?;
    let endpoints_exist = written.iter().any(|(_, exist)| *exist);
    let mut stored: HashMap<(i64, i64), MessageRow> = written
        .into_iter()
        .map(|(row, _)| ((row.thread_id, row.seq), row))
        .collect();
    let mut events = RecordEvents::default();
    let mut answers = Vec::with_capacity(planned.len());
    for p in planned {
        let row = stored
            .remove(&(jobs[p.job].new.thread_id.0, p.seq))
            .ok_or_else(|| {
                StoreError::Domain(DomainError::Internal(
                    "a batched message was not returned by its insert".to_owned(),
                ))
            })?;
        let message = row.into_message()?;
        let mut record = |event: OutboxEvent| events.push(&event);
        if endpoints_exist {
            record(OutboxEvent::message_created(&message));
            if p.status_changed && p.thread.status == ThreadStatus::Resolved {
                record(OutboxEvent::thread_resolved(&p.thread, message.created_at));
            }
        }
        answers.push((p.job, message));
    }
    if endpoints_exist {
        events.execute(pg)?;
    }
    for ((i, message), p) in answers.into_iter().zip(planned) {
        let appended = Appended {
            message,
            thread: p.thread.clone(),
            created: true,
            status_changed: p.status_changed,
            reopened: p.reopened,
        };
        outcomes[i] = Some(Outcome::Stored(appended, p.sla_applied));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    use diesel::sql_types::BigInt;
    use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};

    use super::{live_clocks, BEGIN_GENERIC};

    #[derive(QueryableByName)]
    struct Scans {
        #[diesel(sql_type = BigInt)]
        seq_scan: i64,
        #[diesel(sql_type = BigInt)]
        idx_scan: i64,
    }

    /// This transaction's scans of `sla_clocks` so far (its own backend's counts).
    fn scans(pg: &mut PgConnection) -> Scans {
        diesel::sql_query(
            "SELECT seq_scan, COALESCE(idx_scan, 0) AS idx_scan FROM pg_stat_xact_user_tables \
             WHERE schemaname = current_schema() AND relname = 'sla_clocks'",
        )
        .get_result(pg)
        .unwrap()
    }

    /// The batch's live-clock read is planned once per connection and kept: a plan made while
    /// `sla_clocks` was empty (and analyzed as such, where a sequential scan is the cheapest)
    /// must still read through an index once the table holds many clocks.
    #[test]
    fn the_live_clock_read_keeps_an_index_plan_made_while_the_table_was_empty() {
        let schema = chat_postgres::testing::FreshSchema::create().expect("Postgres must run");
        chat_postgres::migrate(schema.url()).unwrap();
        let mut pg = PgConnection::establish(schema.url()).unwrap();
        diesel::sql_query("ANALYZE sla_clocks")
            .execute(&mut pg)
            .unwrap();

        AnsiTransactionManager::begin_transaction_sql(&mut pg, BEGIN_GENERIC).unwrap();
        assert!(live_clocks(&mut pg, vec![1]).unwrap().is_empty());
        AnsiTransactionManager::commit_transaction(&mut pg).unwrap();

        // One thread with 20,000 ended clocks and one running: no new statistics (as with
        // autovacuum off), so nothing tells Postgres to plan the read again.
        diesel::sql_query(
            "INSERT INTO users (id, username, password_hash, role, created_at_ms) \
             VALUES (1, 'client', 'x', 'client', 0)",
        )
        .execute(&mut pg)
        .unwrap();
        diesel::sql_query(
            "INSERT INTO threads (id, client_id, thread_type, status, created_at_ms, \
             last_activity_at_ms, rank_key) VALUES (1, 1, 1, 'open', 0, 0, 0)",
        )
        .execute(&mut pg)
        .unwrap();
        diesel::sql_query(
            "INSERT INTO sla_clocks (thread_id, thread_type, kind, track, started_at_ms, \
             ended_at_ms) SELECT 1, 1, 'next_response', 'response', g, g + 1 \
             FROM generate_series(1, 20000) AS g",
        )
        .execute(&mut pg)
        .unwrap();
        diesel::sql_query(
            "INSERT INTO sla_clocks (thread_id, thread_type, kind, track, started_at_ms) \
             VALUES (1, 1, 'resolution', 'resolution', 30000)",
        )
        .execute(&mut pg)
        .unwrap();

        AnsiTransactionManager::begin_transaction_sql(&mut pg, BEGIN_GENERIC).unwrap();
        let clocks = live_clocks(&mut pg, vec![1]).unwrap();
        let seen = scans(&mut pg);
        AnsiTransactionManager::commit_transaction(&mut pg).unwrap();
        assert_eq!(clocks.len(), 1, "only the running clock is live");
        assert_eq!(seen.seq_scan, 0, "the cached plan scans the whole table");
        assert!(seen.idx_scan >= 1);
    }
}
