//! The ports: what the domain needs from the outside world. Each method's doc is its contract;
//! the contract suite (`chat-contract`) checks every adapter against it.
//!
//! Store ports are synchronous (callers run them off the async workers); the event bus publishes
//! synchronously and delivers through an async stream.

use std::collections::{HashMap, HashSet};
use std::pin::Pin;

use futures_core::Stream;

use crate::attachment::{Attachment, AttachmentId};
use crate::auth::{NewSession, SessionUser};
use crate::canned::{CannedReply, NewCannedReply};
use crate::claim::{Claim, ClaimAttempt, ExpiredClaim};
use crate::event::{Delivery, Event, Topic};
use crate::inbox::{ActivityCursor, ThreadFilter};
use crate::label::{Label, NewLabel};
use crate::message::{Appended, Audience, Message, NewMessage};
use crate::rating::{NewRating, Rating};
use crate::report::{AgentRow, GroupBy, ReportRange, SummaryRow};
use crate::routing::{
    AgentState, Assignment, Availability, RoutingMode, TransferCheck, Transferred,
};
use crate::search::{SearchHit, SearchQuery};
use crate::sla::{NewSlaClock, SlaApplied, SlaChange, SlaClock, SlaEnd};
use crate::thread::{Thread, ThreadPatch, ThreadStatus, ThreadType};
use crate::throttle::{Locked, ThrottleKey};
use crate::urgency::Urgency;
use crate::user::{NewUser, Password, PasswordHash, Role, User};
use crate::webhook::{
    AttemptReport, AttemptVerdict, DeliveryLogEntry, DueDelivery, NewWebhook, Webhook,
};
use crate::{
    CannedReplyId, DomainResult, LabelId, MessageId, ThreadId, Timestamp, UserId, WebhookId,
};

/// Users.
pub trait UserStore: Send + Sync {
    /// Stores a new user. MUST fail with [`crate::DomainError::Conflict`] if the username is taken by
    /// any user, deleted ones included, without regard to case (`Maria_New` is taken when
    /// `maria_new` exists: lowercase as Unicode's simple lowercase mapping does, Postgres' and
    /// SQLite's `lower()` for ASCII letters), and then store nothing.
    fn insert_user(&self, user: NewUser) -> DomainResult<User>;
    /// The user with this id, deleted or not.
    fn user_by_id(&self, id: UserId) -> DomainResult<Option<User>>;
    /// The user with this username (exact match), deleted or not.
    fn user_by_username(&self, username: &str) -> DomainResult<Option<User>>;
    /// Marks a user deleted at `at`, keeping all its data. Returns false if there is no such
    /// user or it was already deleted (and then changes nothing).
    fn soft_delete_user(&self, id: UserId, at: Timestamp) -> DomainResult<bool>;
    /// How many users, deleted ones excluded, have this role.
    fn count_active_with_role(&self, role: Role) -> DomainResult<u64>;
    /// The usernames of the users with these ids (deleted ones included), in one query: a map
    /// with one entry per known id; unknown ids are left out, repeated ids are fine.
    fn usernames(&self, ids: &[UserId]) -> DomainResult<HashMap<UserId, String>>;
    /// Active clients (role client, not deleted) whose username contains `text`, ignoring the
    /// case of ASCII letters; `%`, `_` and `\` in `text` are plain characters. Usernames that
    /// start with `text` come first, then the others; within each group by id (oldest account
    /// first). At most `limit`. An empty `text` matches every active client.
    fn search_clients(&self, text: &str, limit: u32) -> DomainResult<Vec<User>>;
}

/// Log-in sessions, keyed by the hash of their bearer token.
pub trait SessionStore: Send + Sync {
    /// Stores a session.
    fn insert_session(&self, session: NewSession) -> DomainResult<()>;
    /// The user of the session with this token hash and the session's expiry, if it exists,
    /// has not expired at `now` and its user is not deleted.
    fn session_user(&self, token_hash: &str, now: Timestamp) -> DomainResult<Option<SessionUser>>;
    /// Ends the session with this token hash (no error if there is none).
    fn delete_session(&self, token_hash: &str) -> DomainResult<()>;
    /// Ends every session of a user.
    fn delete_user_sessions(&self, user: UserId) -> DomainResult<()>;
}

/// Threads, claims and the queue.
pub trait ThreadStore: Send + Sync {
    /// The client's one thread of this type that is not resolved, created (status open) if it
    /// has none. MUST be atomic: concurrent calls for one (client, type) return the same thread.
    fn open_thread(
        &self,
        client: UserId,
        thread_type: ThreadType,
        now: Timestamp,
    ) -> DomainResult<Thread>;
    /// The user with this username (exact match, deleted or not, as
    /// [`UserStore::user_by_username`]) and its one thread of `thread_type` that is not
    /// resolved, if it has one (nothing is created): what a client sending with its password
    /// needs, read together (a SQL store: one query).
    fn user_with_open_thread(
        &self,
        username: &str,
        thread_type: ThreadType,
    ) -> DomainResult<Option<(User, Option<Thread>)>>;
    /// The thread with this id.
    fn thread_by_id(&self, id: ThreadId) -> DomainResult<Option<Thread>>;
    /// All threads of a client, newest activity first.
    fn threads_of_client(&self, client: UserId) -> DomainResult<Vec<Thread>>;
    /// Takes the claim for `agent` until `until`, in one atomic conditional step: it MUST succeed
    /// if the thread is unclaimed, its lease ended at or before `now`, or `agent` already holds it
    /// (a renewal), and MUST otherwise answer [`ClaimAttempt::Held`] with the live claim, changing
    /// nothing. Of any number of concurrent attempts on a free thread exactly one wins. Records
    /// `agent` as the thread's last agent. Fails with NotFound if there is no such thread, and with
    /// Conflict if it is resolved. The rule is [`Thread::on_claim`] with [`ClaimMode::Take`](crate::claim::ClaimMode::Take)
    /// (a SQL store writes it as the update's condition).
    fn try_claim(
        &self,
        thread: ThreadId,
        agent: UserId,
        until: Timestamp,
        now: Timestamp,
    ) -> DomainResult<ClaimAttempt>;
    /// Moves the end of `agent`'s live claim to `until`. Returns false (changing nothing) if
    /// `agent` does not hold a live claim at `now`.
    fn renew_claim(
        &self,
        thread: ThreadId,
        agent: UserId,
        until: Timestamp,
        now: Timestamp,
    ) -> DomainResult<bool>;
    /// Ends `agent`'s claim. Returns false (changing nothing) if `agent` does not hold it.
    fn release_claim(&self, thread: ThreadId, agent: UserId) -> DomainResult<bool>;
    /// Gives the claim to `agent` whoever holds it ([`Thread::on_claim`] with
    /// [`ClaimMode::TakeOver`](crate::claim::ClaimMode::TakeOver): Conflict if it is resolved); returns the claim it replaced, if
    /// one was live at `now`.
    fn force_claim(
        &self,
        thread: ThreadId,
        agent: UserId,
        until: Timestamp,
        now: Timestamp,
    ) -> DomainResult<Option<Claim>>;
    /// Clears every claim whose lease ended at or before `now` and returns them; each expired
    /// claim is returned by exactly one call, even with concurrent callers.
    fn expire_claims(&self, now: Timestamp) -> DomainResult<Vec<ExpiredClaim>>;
    /// Sets a thread's status as [`Thread::on_status`] says (resolving ends the claim and the
    /// wait), with the thread's row locked, and stamps `last_activity_at` with `now`. Conflict if
    /// it would reopen a thread beside another unresolved one of its client and type.
    fn set_status(
        &self,
        thread: ThreadId,
        status: ThreadStatus,
        now: Timestamp,
    ) -> DomainResult<Thread>;
    /// The agents' queue at `now`: threads not resolved, with a client waiting, and not under a
    /// live claim; by `rank_key` descending, then waiting longest first, then id.
    fn queue(&self, now: Timestamp, limit: u32, offset: u32) -> DomainResult<Vec<Thread>>;
    /// How many threads [`ThreadStore::queue`] holds at `now` (every page together).
    fn queue_len(&self, now: Timestamp) -> DomainResult<u64>;
    /// Threads with a client waiting (for re-scoring when the urgency rules change).
    fn waiting_threads(&self) -> DomainResult<Vec<Thread>>;
    /// Overwrites a thread's urgency and rank key.
    fn set_urgency(&self, thread: ThreadId, urgency: &Urgency, rank_key: i64) -> DomainResult<()>;
    /// Overwrites the urgency and rank key of each thread named, in one transaction (the SLA
    /// sweep's boosts: one commit for all); threads that do not exist are skipped, and a
    /// thread named twice ends with its last entry (and counts once). Answers how many
    /// threads changed.
    fn set_urgencies(&self, changes: &[(ThreadId, Urgency, i64)]) -> DomainResult<u64>;
    /// The threads with these ids that exist, in id order (one read for many).
    fn threads_by_ids(&self, ids: &[ThreadId]) -> DomainResult<Vec<Thread>>;
    /// A page of the threads `filter` selects at `now` (its assignee is the holder of the
    /// claim live at `now`; its label, the threads carrying it; its text, the threads with a
    /// message or note containing it, ignoring the case of ASCII letters; `%`, `_` and `\` are
    /// plain characters), newest activity first: by `last_activity_at` descending, then id
    /// descending; only those strictly after `after` in that order, at most `limit`.
    fn threads_page(
        &self,
        filter: &ThreadFilter,
        now: Timestamp,
        after: Option<ActivityCursor>,
        limit: u32,
    ) -> DomainResult<Vec<Thread>>;
    /// Pending threads whose `last_activity_at` is at or before `idle_since`, oldest activity
    /// first (then id), at most `limit`.
    fn idle_pending_threads(&self, idle_since: Timestamp, limit: u32) -> DomainResult<Vec<Thread>>;
    /// How many threads `filter` selects at `now` (every page of
    /// [`ThreadStore::threads_page`] together).
    fn count_threads(&self, filter: &ThreadFilter, now: Timestamp) -> DomainResult<u64>;
}

/// Labels and which threads carry them.
pub trait LabelStore: Send + Sync {
    /// Stores a label. MUST fail with [`crate::Conflict::LabelTaken`] if a label with the same
    /// [`NewLabel::folded`] name exists (enforced by a unique constraint), and then store nothing.
    fn insert_label(&self, label: NewLabel) -> DomainResult<Label>;
    /// Every label, by name (then id).
    fn list_labels(&self) -> DomainResult<Vec<Label>>;
    /// One label.
    fn label_by_id(&self, id: LabelId) -> DomainResult<Option<Label>>;
    /// Puts a label on a thread; false (changing nothing) if the thread already carries it.
    /// NotFound (`thread` or `label`) if either does not exist.
    fn add_thread_label(&self, thread: ThreadId, label: LabelId) -> DomainResult<bool>;
    /// Takes a label off a thread; false if the thread did not carry it.
    fn remove_thread_label(&self, thread: ThreadId, label: LabelId) -> DomainResult<bool>;
    /// For each of these threads, the labels it carries, by name (then id); threads without
    /// labels (or unknown) are left out. One query whatever the number of threads.
    fn thread_labels(&self, threads: &[ThreadId]) -> DomainResult<HashMap<ThreadId, Vec<Label>>>;
}

/// Clients' ratings of resolved conversations.
pub trait RatingStore: Send + Sync {
    /// Stores a rating of the thread's current resolution: its `resolution_seq` is the thread's
    /// `resolutions` (read under the thread's lock) when it is stored. MUST fail with
    /// [`crate::Conflict::AlreadyRated`] if the thread has a rating with that `resolution_seq`
    /// (a unique constraint, not a check-then-insert), storing nothing; NotFound if the thread
    /// does not exist. Whether the thread is resolved is the use case's check.
    fn insert_rating(&self, rating: NewRating) -> DomainResult<Rating>;
    /// A thread's ratings, oldest first.
    fn ratings_of_thread(&self, thread: ThreadId) -> DomainResult<Vec<Rating>>;
}

/// Messages.
pub trait MessageStore: Send + Sync {
    /// Appends a message to its thread in one transaction: takes the next sequence number
    /// (1, 2, ... per thread, no gaps, no repeats under concurrency), stores the message, then
    /// calls `patch` with the thread as locked for this append (its `last_seq` already the new
    /// one, its `last_activity_at` the message's time) and writes the patch back
    /// ([`Thread::apply`]; a `rank_key` of `None` keeps the stored one), answering whether the
    /// patch changed the thread's status. If `patch` fails, nothing is stored and its error is
    /// returned. If the sender already stored a message with the same client message id, MUST
    /// store nothing and return that message with `created: false` (enforced by a unique
    /// constraint, not a check-then-insert). NotFound if the thread does not exist.
    /// Ties every attachment of `message.attachments` to the new message in the same
    /// transaction, each only if it was uploaded to this thread by the sender and is attached to
    /// no message yet (a conditional update, so of two concurrent appends naming one attachment
    /// exactly one succeeds); otherwise Invalid (`attachment_ids`) and nothing is stored. The
    /// answered message's `attachments` is left empty (the use case fills it in).
    fn append_message(
        &self,
        message: NewMessage,
        patch: &dyn Fn(&Thread) -> DomainResult<ThreadPatch>,
    ) -> DomainResult<Appended>;
    /// [`MessageStore::append_message`], and the SLA clock changes `sla` decides for the
    /// stored message, made in the same transaction where the store can (then the answer is
    /// [`SlaApplied::WithMessage`]). `sla` is called at most once, after `patch` accepted the
    /// message, with the thread as the patch left it and the thread's running clocks and its
    /// first-response clock as of that transaction; its `Start`s are stored unless a clock of
    /// the same track runs, its `Finish`es only end clocks still running. A store that cannot
    /// (the default) answers [`SlaApplied::Left`] and the caller makes them itself.
    /// Both decisions are shared and `Send`, so a store may run them on its own thread (the
    /// Postgres batch writer does, sparing each send two thread switches).
    fn append_message_with_sla(
        &self,
        message: NewMessage,
        patch: SharedPatch,
        sla: SharedSlaDecision,
    ) -> DomainResult<(Appended, SlaApplied)> {
        let _ = sla;
        Ok((self.append_message(message, &*patch)?, SlaApplied::Left))
    }
    /// Entries of a thread with `seq > after_seq` that `audience` may see (notes for staff
    /// only), in sequence order, at most `limit`. A client's page skips the notes' sequence
    /// numbers.
    fn messages_after(
        &self,
        thread: ThreadId,
        after_seq: i64,
        limit: u32,
        audience: Audience,
    ) -> DomainResult<Vec<Message>>;
    /// Marks read the messages (never notes) of a thread up to `up_to_seq` that were not sent by `reader`;
    /// returns how many changed (0 for an unknown thread). Takes the thread's lock first, as
    /// [`MessageStore::append_message`] does, so that it never deadlocks with an agent's reply
    /// marking the same messages read.
    fn mark_read(&self, thread: ThreadId, reader: UserId, up_to_seq: i64) -> DomainResult<u64>;
    /// Every message (notes left out), in time order, of the client's threads in which the
    /// agent wrote a message (a note alone does not count).
    fn conversation_between(&self, agent: UserId, client: UserId) -> DomainResult<Vec<Message>>;
    /// For each `(thread, waiting_since)`: the thread's first client message (lowest `seq`
    /// among messages sent with the client role) created at or after `waiting_since`, in a
    /// constant number of queries whatever the number of threads. Threads without such a
    /// message (or unknown) are left out of the map.
    fn first_waiting_messages(
        &self,
        waiting: &[(ThreadId, Timestamp)],
    ) -> DomainResult<HashMap<ThreadId, Message>>;
    /// For each `(thread, waiting_since)`: the thread's newest client message (highest `seq`
    /// among messages sent with the client role) created at or after `waiting_since`, in a
    /// constant number of queries whatever the number of threads. Threads without such a message
    /// (or unknown) are left out of the map.
    fn latest_waiting_messages(
        &self,
        waiting: &[(ThreadId, Timestamp)],
    ) -> DomainResult<HashMap<ThreadId, Message>>;
    /// How many messages a user has sent.
    fn count_sent_by(&self, user: UserId) -> DomainResult<u64>;
    /// For each of these threads: how many of its client's messages are unread (notes and
    /// staff messages never count). Threads without unread messages (or unknown) are left out.
    /// One query whatever the number of threads.
    fn unread_client_messages(&self, threads: &[ThreadId]) -> DomainResult<HashMap<ThreadId, u64>>;
    /// Messages matching every term of the query, within its scope, best first (a client's
    /// scope never finds a note).
    fn search(&self, query: &SearchQuery) -> DomainResult<Vec<SearchHit>>;
}

/// Canned replies.
pub trait CannedReplyStore: Send + Sync {
    /// Stores a canned reply.
    fn insert_canned(&self, reply: NewCannedReply) -> DomainResult<CannedReply>;
    /// Every canned reply, by title.
    fn list_canned(&self) -> DomainResult<Vec<CannedReply>>;
    /// One canned reply.
    fn canned_by_id(&self, id: CannedReplyId) -> DomainResult<Option<CannedReply>>;
    /// Deletes one; false if there was none.
    fn delete_canned(&self, id: CannedReplyId) -> DomainResult<bool>;
}

/// Availability, capacity, the routing mode and automatic assignment. "Staff" are active
/// (not deleted) agents and admins; an agent's *held* conversations are its live claims at `now`;
/// its capacity is its own or `default_capacity`.
pub trait RoutingStore: Send + Sync {
    /// Sets a staff member's availability, stamping when it changed (only if it did). Returns
    /// their state and whether it changed, or `None` if there is no such staff member.
    fn set_availability(
        &self,
        agent: UserId,
        availability: Availability,
        now: Timestamp,
    ) -> DomainResult<Option<(AgentState, bool)>>;
    /// Sets a staff member's own capacity (`None`: the default). `None` if there is no such
    /// staff member.
    fn set_capacity(
        &self,
        agent: UserId,
        capacity: Option<u32>,
        now: Timestamp,
    ) -> DomainResult<Option<AgentState>>;
    /// Every staff member, by id.
    fn agent_states(&self, now: Timestamp) -> DomainResult<Vec<AgentState>>;
    /// The stored routing mode, if one was ever set.
    fn routing_mode(&self) -> DomainResult<Option<RoutingMode>>;
    /// Stores the routing mode.
    fn set_routing_mode(&self, mode: RoutingMode) -> DomainResult<()>;
    /// Gives the most urgent conversation of the queue at `now` (exactly
    /// [`ThreadStore::queue`]'s first) to the online staff member with the fewest held
    /// conversations and fewer than its capacity (ties: the oldest last assignment, never
    /// assigned first, then the lowest id), as a claim until `until` that also records the
    /// agent as the thread's last agent and stamps the agent's last assignment; `None` when no
    /// conversation waits or nobody online has room. MUST be atomic against any number of
    /// concurrent callers (other instances included) and other assignments: no agent ever
    /// holds more than its capacity through assignments, and no conversation goes to two
    /// agents. (Under concurrency a caller may pass over a conversation or an agent another
    /// caller is handling; the order is the queue's otherwise.)
    fn assign_next(
        &self,
        now: Timestamp,
        until: Timestamp,
        default_capacity: u32,
    ) -> DomainResult<Option<Assignment>>;
    /// Moves a live claim, atomically: `from` (when given) MUST hold the thread's live claim
    /// at `now` (else Claimed naming the holder, or Conflict `NotClaimHolder`); with `to` the
    /// claim becomes `to`'s until `until` (with [`TransferCheck::OnlineWithRoom`] `to` must be
    /// online and hold fewer than its capacity, else Conflict `AgentUnavailable`, checked with
    /// the same guarantee as [`RoutingStore::assign_next`]); without `to` the claim ends.
    /// NotFound("agent") if `to` is no staff member, NotFound("thread"), Conflict
    /// `ThreadResolved`.
    #[allow(clippy::too_many_arguments)]
    fn transfer_claim(
        &self,
        thread: ThreadId,
        from: Option<UserId>,
        to: Option<UserId>,
        check: TransferCheck,
        until: Timestamp,
        now: Timestamp,
        default_capacity: u32,
    ) -> DomainResult<Transferred>;
    /// Renews to `until` every live claim of any of `agents` that ends at or before `due` (in
    /// one statement); returns those claims, renewed.
    fn renew_claims_of(
        &self,
        agents: &[UserId],
        until: Timestamp,
        now: Timestamp,
        due: Timestamp,
    ) -> DomainResult<Vec<(ThreadId, UserId)>>;
    /// Ends every claim held by a staff member who went offline at `offline_since` or earlier
    /// (not one who never changed availability), and returns them; each is returned by exactly one call, even with concurrent
    /// callers.
    fn release_claims_of_offline(
        &self,
        offline_since: Timestamp,
    ) -> DomainResult<Vec<ExpiredClaim>>;
}

/// Who has a live socket, across every instance sharing the backend. Entries lapse by
/// themselves: a user is present at `now` while one of its instances' latest heartbeat said
/// `until > now`.
pub trait Presence: Send + Sync {
    /// `instance` has live sockets of `users` until `until` (a heartbeat; a later one for the
    /// same user and instance replaces it, even with an earlier `until`).
    fn beat(
        &self,
        users: &[UserId],
        instance: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> DomainResult<()>;
    /// `instance` no longer has a live socket of `user`.
    fn leave(&self, user: UserId, instance: &str) -> DomainResult<()>;
    /// Which of `users` are present at `now` on any instance.
    fn present(&self, users: &[UserId], now: Timestamp) -> DomainResult<HashSet<UserId>>;
    /// A short name for logs, e.g. `in-process` or `redis`.
    fn backend_name(&self) -> &'static str;
}

/// An append's thread patch ([`MessageStore::append_message`]'s `patch`), shareable across
/// threads.
pub type SharedPatch = std::sync::Arc<dyn Fn(&Thread) -> DomainResult<ThreadPatch> + Send + Sync>;

/// An append's SLA decision ([`MessageStore::append_message_with_sla`]'s `sla`): the thread as
/// the patch left it and its live clocks in, the clock changes out.
pub type SharedSlaDecision =
    std::sync::Arc<dyn Fn(&Thread, &[SlaClock]) -> Vec<SlaChange> + Send + Sync>;

/// SLA clocks ([`crate::sla`]): at most one running clock per thread and track (response,
/// resolution).
pub trait SlaStore: Send + Sync {
    /// Stores a running clock. Returns `None`, storing nothing, if the thread already has a
    /// running clock of the same track ([`crate::sla::SlaKind::track`]; enforced by a unique constraint).
    fn start_sla_clock(&self, clock: NewSlaClock) -> DomainResult<Option<SlaClock>>;
    /// Every clock of these threads, running or ended, by start then id.
    fn sla_clocks(&self, threads: &[ThreadId]) -> DomainResult<Vec<SlaClock>>;
    /// Ends a running clock as `end` says, with `agent` as its agent. False (changing nothing)
    /// if it is not running any more: of concurrent calls, exactly one ends it.
    fn finish_sla_clock(&self, id: i64, end: SlaEnd, agent: Option<UserId>) -> DomainResult<bool>;
    /// Marks breached at `now` every running, not yet breached clock due at or before `now`,
    /// and returns them; each breach is returned by exactly one call, even across instances.
    fn breach_due_clocks(&self, now: Timestamp) -> DomainResult<Vec<SlaClock>>;
    /// Marks warned at `now` every running, not yet warned clock at risk at or before `now`,
    /// and returns them, each exactly once.
    fn warn_at_risk_clocks(&self, now: Timestamp) -> DomainResult<Vec<SlaClock>>;
}

/// Reports over the stored threads, SLA clocks and ratings ([`crate::report`]).
pub trait ReportStore: Send + Sync {
    /// One row per group with any figure in `range`, by key: threads created in the range,
    /// resolution clocks that ended in it answered (`resolved`, and their seconds), first
    /// response clocks that ended answered, clocks with a target that ended (`sla_*`), and
    /// ratings created in it. Percentiles as [`crate::report`] defines them.
    fn report_summary(
        &self,
        range: ReportRange,
        group_by: GroupBy,
    ) -> DomainResult<Vec<SummaryRow>>;
    /// One row per agent with any figure, by agent id: held = live claims at `now`; the rest
    /// in `range` (resolutions where the agent was the last agent, response clocks the agent
    /// answered, ratings of the agent).
    fn report_agents(&self, range: ReportRange, now: Timestamp) -> DomainResult<Vec<AgentRow>>;
    /// Moves up to `max` ended clocks that wait for the store's rollup into it and answers how
    /// many moved (0: none waited, another instance is folding, or the store keeps no such
    /// inbox). The reports count every ended clock exactly once, moved or not: folding only
    /// keeps the part they read raw small.
    fn fold_reports(&self, max: u32) -> DomainResult<u64>;
}

/// Webhook endpoints and the outbox ([`crate::webhook`]).
///
/// The outbox is written by the other ports, never through this one: in the same transaction
/// as the change it reports (the memory store: under the same lock), every store MUST record an
/// event ([`crate::webhook::OutboxEvent`]) and queue one pending delivery of it per *enabled*
/// endpoint subscribed to its type (private notes only to endpoints with `include_notes`) when
/// [`MessageStore::append_message`] stores a message (`message.created`, and `thread.resolved` if
/// its patch resolved the thread), [`ThreadStore::open_thread`] creates a thread
/// (`thread.opened`), [`ThreadStore::try_claim`] wins a claim that was not already the agent's
/// (`thread.assigned`, via `claim`), [`ThreadStore::force_claim`] takes one over (via
/// `take_over`), [`RoutingStore::assign_next`] assigns (via `auto`),
/// [`RoutingStore::transfer_claim`] moves a claim (`thread.transferred`),
/// [`ThreadStore::set_status`] resolves (`thread.resolved`), [`RatingStore::insert_rating`]
/// stores a rating (`thread.rated`) and [`SlaStore::breach_due_clocks`] reports a breach
/// (`sla.breached`). Nothing is recorded while no endpoint is registered. Event ids grow in the
/// order events are recorded.
pub trait WebhookStore: Send + Sync {
    /// Registers an endpoint (enabled).
    fn insert_webhook(&self, webhook: NewWebhook) -> DomainResult<Webhook>;
    /// Every endpoint, by id.
    fn webhooks(&self) -> DomainResult<Vec<Webhook>>;
    /// One endpoint.
    fn webhook_by_id(&self, id: WebhookId) -> DomainResult<Option<Webhook>>;
    /// Enables or disables an endpoint; `None` if there is no such endpoint. A disabled
    /// endpoint's pending deliveries wait (none is leased) until it is enabled again.
    fn set_webhook_enabled(&self, id: WebhookId, enabled: bool) -> DomainResult<Option<Webhook>>;
    /// Deletes an endpoint with its deliveries; false if there was none.
    fn delete_webhook(&self, id: WebhookId) -> DomainResult<bool>;
    /// An endpoint's deliveries, newest first, at most `limit`.
    fn webhook_deliveries(&self, id: WebhookId, limit: u32) -> DomainResult<Vec<DeliveryLogEntry>>;
    /// Leases up to `limit` pending deliveries of enabled endpoints that are due at `now` and
    /// not under a live lease, until `until`. In order per thread per endpoint: a delivery is
    /// never leased while an earlier pending delivery of the same thread to the same endpoint
    /// exists (leased or not). MUST be atomic across instances: a delivery is leased by one
    /// caller at a time (Postgres: `FOR UPDATE SKIP LOCKED`).
    fn lease_deliveries(
        &self,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> DomainResult<Vec<DueDelivery>>;
    /// Records an attempt on a leased delivery and ends its lease: delivered, due again at a
    /// time, or failed (and then its endpoint is disabled).
    fn finish_delivery(
        &self,
        delivery: i64,
        report: &AttemptReport,
        verdict: AttemptVerdict,
    ) -> DomainResult<()>;
    /// Queues again, as new pending deliveries to this endpoint with the same event ids, every
    /// event recorded at or after `from` that the endpoint subscribes to (notes only with
    /// `include_notes`), oldest first. Returns how many, or `None` if there is no such endpoint.
    fn replay_webhook(
        &self,
        id: WebhookId,
        from: Timestamp,
        now: Timestamp,
    ) -> DomainResult<Option<u64>>;
    /// How many deliveries are pending (every endpoint, enabled or not).
    fn pending_deliveries(&self) -> DomainResult<u64>;
}

/// Attachments' metadata (their bytes are in a [`BlobStore`]). An attachment is tied to a
/// message by [`MessageStore::append_message`], in the append's transaction.
pub trait AttachmentStore: Send + Sync {
    /// Stores an uploaded attachment (its `message_id` is `None`). NotFound (`thread`) if the
    /// thread does not exist.
    fn insert_attachment(&self, attachment: &Attachment) -> DomainResult<()>;
    /// The attachment with this id.
    fn attachment(&self, id: &AttachmentId) -> DomainResult<Option<Attachment>>;
    /// For each of these messages, its attachments (oldest upload first, then id); messages
    /// without any (or unknown) are left out. One query whatever the number of messages.
    fn message_attachments(
        &self,
        messages: &[MessageId],
    ) -> DomainResult<HashMap<MessageId, Vec<Attachment>>>;
    /// Attachments tied to no message and uploaded before `before`, oldest first, at most
    /// `limit`.
    fn unattached_before(&self, before: Timestamp, limit: u32) -> DomainResult<Vec<Attachment>>;
    /// Removes the attachment's metadata if it is still tied to no message (a conditional
    /// delete: of a removal and an append naming it, exactly one wins). True if it was removed.
    fn remove_unattached(&self, id: &AttachmentId) -> DomainResult<bool>;
}

/// Bytes by key: the files behind attachments. Keys are `/`-separated ASCII paths the domain
/// makes (e.g. `attachments/<id>`). Synchronous like the store ports (call it off the async
/// workers). The contract: `get_blob` answers exactly the bytes of the last `put_blob` of that
/// key, or `None` if it was never put or was deleted; `delete_blob` of a missing key is no error;
/// an unreachable backend is [`crate::DomainError::Unavailable`].
pub trait BlobStore: Send + Sync {
    /// Stores `bytes` under `key`, replacing what was there.
    fn put_blob(&self, key: &str, bytes: Vec<u8>) -> DomainResult<()>;
    /// The bytes under `key`, if any.
    fn get_blob(&self, key: &str) -> DomainResult<Option<Vec<u8>>>;
    /// Removes `key` (no error if it is missing).
    fn delete_blob(&self, key: &str) -> DomainResult<()>;
    /// A short name for logs, e.g. `filesystem` or `s3`.
    fn backend_name(&self) -> &'static str;
}

/// Everything the domain stores.
pub trait Store:
    UserStore
    + SessionStore
    + ThreadStore
    + MessageStore
    + CannedReplyStore
    + RoutingStore
    + LabelStore
    + RatingStore
    + SlaStore
    + ReportStore
    + WebhookStore
    + AttachmentStore
{
    /// A short name for logs, e.g. `postgres` or `sqlite`.
    fn backend_name(&self) -> &'static str;
}

/// A stream of deliveries from the bus.
pub type EventStream = Pin<Box<dyn Stream<Item = Delivery> + Send>>;

/// Live events between server instances. At most once: a subscriber told of a
/// [`Delivery::Gap`] resynchronises from the store.
pub trait EventBus: Send + Sync {
    /// Hands an event to every current subscriber of any of its topics, on every instance.
    /// Never blocks on slow subscribers.
    fn publish(&self, event: Event) -> DomainResult<()>;
    /// Subscribes to topics. Every event published after this returns on one of them is
    /// delivered (or a gap is reported), in publication order per publisher.
    fn subscribe(&self, topics: &[Topic]) -> DomainResult<EventStream>;
    /// A short name for logs, e.g. `in-process` or `redis`.
    fn backend_name(&self) -> &'static str;
    /// Whether the bus has reached its backend at least once since it was opened (a bus that
    /// starts while its backend is down connects later by itself; until then the server reports
    /// not ready). An in-process bus always has.
    fn has_connected(&self) -> bool {
        true
    }
}

/// Counts failed password checks and refuses keys that failed too often, so that passwords
/// cannot be guessed faster than the limits allow. Synchronous like the store ports (callers run
/// it off the async workers, beside the bcrypt check); `now` comes from the [`crate::Clock`].
/// Instances sharing one backend share the counts.
///
/// Contract, for a [`crate::throttle::ThrottlePolicy`] given at construction:
/// - `record_failure` counts one failure against every key. A key's window starts at its first
///   failure (or its first failure after the window or a lockout ended) and lasts `window_ms`;
///   failures at or after `start + window_ms` start a new window. The failure that brings a
///   key's count in the window to its limit (`max_failures`) locks it until `now + lockout_ms`;
///   further failures while locked neither extend the lockout nor carry over past it.
/// - `check` MUST refuse while any of the keys is locked (a lockout ending at `until` holds while
///   `now < until`), with the seconds left of the latest-ending lockout, rounded up, at least 1;
///   it reveals nothing else (in particular not whether a user exists) and changes nothing.
/// - `record_success` forgets the username keys' failures and lockouts; an IP key keeps its
///   count (one good log-in must not reset a guesser's budget across usernames).
/// - Concurrent calls, on one instance or on several sharing a backend, lose no failure.
/// - Keys are distinct: a username and an address never share a count, nor do two usernames.
pub trait LoginThrottle: Send + Sync {
    /// Whether a password check may run now for these keys.
    fn check(&self, keys: &[ThrottleKey], now: Timestamp) -> Result<(), Locked>;
    /// A password check failed.
    fn record_failure(&self, keys: &[ThrottleKey], now: Timestamp);
    /// A password check succeeded.
    fn record_success(&self, keys: &[ThrottleKey], now: Timestamp);
    /// A short name for logs, e.g. `in-process` or `redis`.
    fn backend_name(&self) -> &'static str;
}

/// Password hashing.
pub trait PasswordHasher: Send + Sync {
    /// Hashes a validated password. Slow by design: call it off the async workers.
    fn hash(&self, password: &Password) -> DomainResult<PasswordHash>;
    /// Whether `password` matches `hash`. Slow by design.
    fn verify(&self, password: &str, hash: &PasswordHash) -> bool;
}
