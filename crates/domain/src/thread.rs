//! Conversation threads: one client, one topic, at most one agent holding it at a time.

use serde::{Deserialize, Serialize};

use crate::claim::{Claim, ClaimMode, ClaimPolicy};
use crate::urgency::{Urgency, UrgencyRules};
use crate::user::{Role, User};
use crate::{Conflict, DomainError, DomainResult, ThreadId, Timestamp, UserId};

/// The topic of a thread, numbered as the seed app numbered them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThreadType {
    /// 1: loans.
    Loan,
    /// 2: payments.
    Payment,
    /// 3: anything else.
    Other,
}

impl ThreadType {
    /// All topics, in the seed's order.
    pub const ALL: [ThreadType; 3] = [ThreadType::Loan, ThreadType::Payment, ThreadType::Other];

    /// The seed's number for the topic.
    pub fn code(self) -> i16 {
        match self {
            ThreadType::Loan => 1,
            ThreadType::Payment => 2,
            ThreadType::Other => 3,
        }
    }

    /// The topic for a seed number.
    pub fn from_code(code: i64) -> DomainResult<Self> {
        match code {
            1 => Ok(ThreadType::Loan),
            2 => Ok(ThreadType::Payment),
            3 => Ok(ThreadType::Other),
            _ => Err(Self::unknown(&code.to_string())),
        }
    }

    /// Parses a number (`1`) or a name (`loan`).
    pub fn parse(text: &str) -> DomainResult<Self> {
        let text = text.trim();
        if let Ok(code) = text.parse::<i64>() {
            return Self::from_code(code);
        }
        match text.to_ascii_lowercase().as_str() {
            "loan" => Ok(ThreadType::Loan),
            "payment" => Ok(ThreadType::Payment),
            "other" => Ok(ThreadType::Other),
            _ => Err(Self::unknown(text)),
        }
    }

    /// The lowercase name of the topic.
    pub fn as_str(self) -> &'static str {
        match self {
            ThreadType::Loan => "loan",
            ThreadType::Payment => "payment",
            ThreadType::Other => "other",
        }
    }

    fn unknown(text: &str) -> DomainError {
        DomainError::invalid(
            "thread_type",
            format!("unknown thread type {text:?}; expected 1 (loan), 2 (payment) or 3 (other)"),
        )
    }
}

/// Where a conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThreadStatus {
    /// Waiting on the desk.
    Open,
    /// Answered; waiting on the client.
    Pending,
    /// Done. A client writing again reopens it.
    Resolved,
}

impl ThreadStatus {
    /// The stored name of the status.
    pub fn as_str(self) -> &'static str {
        match self {
            ThreadStatus::Open => "open",
            ThreadStatus::Pending => "pending",
            ThreadStatus::Resolved => "resolved",
        }
    }

    /// Parses a stored or requested status name.
    pub fn parse(text: &str) -> DomainResult<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "open" => Ok(ThreadStatus::Open),
            "pending" => Ok(ThreadStatus::Pending),
            "resolved" => Ok(ThreadStatus::Resolved),
            _ => Err(DomainError::invalid(
                "status",
                format!("unknown status {text:?}; expected open, pending or resolved"),
            )),
        }
    }
}

/// A stored conversation thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thread {
    /// Its identifier.
    pub id: ThreadId,
    /// The client who opened it.
    pub client_id: UserId,
    /// Its topic.
    pub thread_type: ThreadType,
    /// Where it stands.
    pub status: ThreadStatus,
    /// The agent's claim on it, if any (it may have expired: see [`Thread::live_claim`]).
    pub claim: Option<Claim>,
    /// The last agent who held it (kept after release: the seed's `thread.agent`).
    pub agent_id: Option<UserId>,
    /// When it was opened.
    pub created_at: Timestamp,
    /// When something last happened in it.
    pub last_activity_at: Timestamp,
    /// The sequence number of its latest message (0 when it has none).
    pub last_seq: i64,
    /// Since when the client has been waiting for an answer (its oldest unanswered message).
    pub waiting_since: Option<Timestamp>,
    /// How urgent its unanswered messages are, without the waiting time.
    pub urgency: Urgency,
    /// Which resolution it is at: grows by one each time it becomes resolved (see
    /// [`Thread::apply`]), so a client rates each resolution once.
    pub resolutions: i64,
}

impl Thread {
    /// The claim, if it is still live at `now`.
    pub fn live_claim(&self, now: Timestamp) -> Option<&Claim> {
        self.claim.as_ref().filter(|c| c.is_live(now))
    }

    /// Whether `agent` holds a live claim on the thread at `now`.
    pub fn is_held_by(&self, agent: UserId, now: Timestamp) -> bool {
        self.live_claim(now).is_some_and(|c| c.agent_id == agent)
    }

    /// What a message from `sender` at `now` does to the thread (a store calls it with the
    /// thread as locked for the append).
    ///
    /// - Its client: the thread is open again (a resolved one reopens), the client waits from
    ///   its oldest unanswered message, and the message's urgency adds to the unanswered ones'.
    /// - The agent (or admin) holding the live claim: pending, nobody waits, the urgency clears,
    ///   the client's messages are read, and the reply renews the lease to
    ///   `claims.lease_end(now)`.
    /// - Anyone else is refused: another client (Forbidden), staff while another agent holds the
    ///   claim ([`DomainError::Claimed`]) or while nobody does (Conflict).
    pub fn on_message(
        &self,
        sender: &User,
        body: &str,
        now: Timestamp,
        claims: &ClaimPolicy,
        rules: &UrgencyRules,
    ) -> DomainResult<ThreadPatch> {
        match sender.role {
            Role::Client => {
                if self.client_id != sender.id {
                    return Err(DomainError::forbidden(
                        "this thread belongs to another client",
                    ));
                }
                let urgency = self
                    .urgency
                    .clone()
                    .merge(rules.assess(self.thread_type, body));
                let waiting_since = self.waiting_since.or(Some(now));
                Ok(ThreadPatch {
                    status: ThreadStatus::Open,
                    claim: self.claim,
                    agent_id: self.agent_id,
                    rank_key: Some(rules.rank_key(&urgency, waiting_since)),
                    waiting_since,
                    urgency,
                    mark_client_messages_read: false,
                })
            }
            Role::Agent | Role::Admin => {
                match self.live_claim(now) {
                    Some(claim) if claim.agent_id == sender.id => {}
                    Some(claim) => return Err(self.claimed_by(claim)),
                    None => return Err(DomainError::Conflict(Conflict::NotClaimHolder)),
                }
                let urgency = Urgency::default();
                Ok(ThreadPatch {
                    status: ThreadStatus::Pending,
                    claim: Some(Claim {
                        agent_id: sender.id,
                        until: claims.lease_end(now),
                    }),
                    agent_id: Some(sender.id),
                    waiting_since: None,
                    rank_key: Some(rules.rank_key(&urgency, None)),
                    urgency,
                    mark_client_messages_read: true,
                })
            }
        }
    }

    /// What setting the status does to the thread. Resolving ends the claim and the wait (rank
    /// to the bottom; the last agent is kept) but keeps the urgency of the client's unanswered
    /// messages, so that a client writing again reopens the thread with those reasons merged
    /// into the new message's (as any waiting thread's); open and pending change the status
    /// only. Who may do it is the use case's to check.
    pub fn on_status(&self, status: ThreadStatus) -> ThreadPatch {
        let resolved = status == ThreadStatus::Resolved;
        ThreadPatch {
            status,
            claim: if resolved { None } else { self.claim },
            agent_id: self.agent_id,
            waiting_since: if resolved { None } else { self.waiting_since },
            urgency: self.urgency.clone(),
            // Nobody waits on a resolved thread: the lowest rank (as `UrgencyRules::rank_key`
            // gives without a waiting time).
            rank_key: resolved.then_some(i64::MIN),
            mark_client_messages_read: false,
        }
    }

    /// What a private note by `sender` does to the thread: nothing (the store still takes the
    /// next sequence number and stamps `last_activity_at`). A note is not a reply: the client
    /// keeps waiting, the urgency and the lease stay, nothing is marked read, and a resolved
    /// thread stays resolved (notes on resolved threads are allowed). Staff only, claim or not;
    /// a client is refused (Forbidden).
    pub fn on_note(&self, sender: &User) -> DomainResult<ThreadPatch> {
        if !sender.role.is_staff() {
            return Err(DomainError::forbidden("only agents and admins write notes"));
        }
        Ok(ThreadPatch {
            status: self.status,
            claim: self.claim,
            agent_id: self.agent_id,
            waiting_since: self.waiting_since,
            urgency: self.urgency.clone(),
            rank_key: None,
            mark_client_messages_read: false,
        })
    }

    /// What `agent` taking the claim until `until` does at `now`: the claim and the last agent
    /// become the agent's, nothing else changes. A resolved thread cannot be claimed
    /// (Conflict); with [`ClaimMode::Take`], another agent's live claim refuses it with
    /// [`DomainError::Claimed`] (a store's [`crate::claim::ClaimAttempt::Held`]).
    pub fn on_claim(
        &self,
        agent: UserId,
        until: Timestamp,
        now: Timestamp,
        mode: ClaimMode,
    ) -> DomainResult<ThreadPatch> {
        if self.status == ThreadStatus::Resolved {
            return Err(DomainError::Conflict(Conflict::ThreadResolved));
        }
        if mode == ClaimMode::Take {
            if let Some(claim) = self.live_claim(now).filter(|c| c.agent_id != agent) {
                return Err(self.claimed_by(claim));
            }
        }
        Ok(ThreadPatch {
            status: self.status,
            claim: Some(Claim {
                agent_id: agent,
                until,
            }),
            agent_id: Some(agent),
            waiting_since: self.waiting_since,
            urgency: self.urgency.clone(),
            rank_key: None,
            mark_client_messages_read: false,
        })
    }

    /// Writes a patch's thread fields onto the thread (a store then saves the thread, the
    /// patch's rank key, and marks messages read if the patch says so).
    pub fn apply(&mut self, patch: ThreadPatch) {
        if self.status != ThreadStatus::Resolved && patch.status == ThreadStatus::Resolved {
            self.resolutions += 1;
        }
        self.status = patch.status;
        self.claim = patch.claim;
        self.agent_id = patch.agent_id;
        self.waiting_since = patch.waiting_since;
        self.urgency = patch.urgency;
    }

    fn claimed_by(&self, claim: &Claim) -> DomainError {
        DomainError::Claimed {
            thread: self.id,
            holder: claim.agent_id,
            until: claim.until,
        }
    }
}

/// The state a store writes back onto a thread when something happens to it, as the domain's
/// rules decide: made by [`Thread::on_message`], [`Thread::on_status`] and
/// [`Thread::on_claim`], applied with [`Thread::apply`]. The store itself keeps `last_seq` and
/// stamps `last_activity_at` (with the message's time, or the time of a status change).
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadPatch {
    /// The new status.
    pub status: ThreadStatus,
    /// The new claim.
    pub claim: Option<Claim>,
    /// The new last agent.
    pub agent_id: Option<UserId>,
    /// The new waiting start.
    pub waiting_since: Option<Timestamp>,
    /// The new urgency.
    pub urgency: Urgency,
    /// The queue's new sort key for that urgency (see
    /// [`crate::urgency::UrgencyRules::rank_key`]); `None` keeps the stored one.
    pub rank_key: Option<i64>,
    /// Mark the client's messages in the thread as read (an agent answered them).
    pub mark_client_messages_read: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user::{PasswordHash, Username};

    const NOW: Timestamp = Timestamp(1_764_064_800_000);
    const MINUTE: i64 = 60_000;

    fn user(id: i64, role: Role) -> User {
        User {
            id: UserId(id),
            username: Username::parse(&format!("user{id}")).unwrap(),
            password_hash: PasswordHash("$2b$04$not-a-real-hash".to_owned()),
            role,
            created_at: NOW,
            deleted_at: None,
        }
    }

    const CLIENT: i64 = 1;
    const AGENT: i64 = 2;
    const OTHER_AGENT: i64 = 3;

    fn thread() -> Thread {
        Thread {
            id: ThreadId(7),
            client_id: UserId(CLIENT),
            thread_type: ThreadType::Loan,
            status: ThreadStatus::Open,
            claim: None,
            agent_id: None,
            created_at: NOW,
            last_activity_at: NOW,
            last_seq: 0,
            waiting_since: None,
            urgency: Urgency::default(),
            resolutions: 0,
        }
    }

    fn claimed_by(agent: i64, until: Timestamp) -> Thread {
        Thread {
            claim: Some(Claim {
                agent_id: UserId(agent),
                until,
            }),
            agent_id: Some(UserId(agent)),
            ..thread()
        }
    }

    fn message(t: &Thread, sender: &User, body: &str, now: Timestamp) -> DomainResult<ThreadPatch> {
        t.on_message(
            sender,
            body,
            now,
            &ClaimPolicy::default(),
            &UrgencyRules::default(),
        )
    }

    #[test]
    fn a_client_message_opens_the_thread_and_makes_the_client_wait() {
        let rules = UrgencyRules::default();
        let resolved = Thread {
            status: ThreadStatus::Resolved,
            ..thread()
        };
        let p = message(
            &resolved,
            &user(CLIENT, Role::Client),
            "my card was stolen",
            NOW,
        )
        .unwrap();
        assert_eq!(p.status, ThreadStatus::Open);
        assert_eq!(p.waiting_since, Some(NOW));
        assert!(
            p.urgency.score >= crate::urgency::ACT_NOW,
            "{:?}",
            p.urgency
        );
        assert_eq!(p.rank_key, Some(rules.rank_key(&p.urgency, Some(NOW))));
        assert!(!p.mark_client_messages_read);
        assert_eq!((p.claim, p.agent_id), (None, None));
    }

    #[test]
    fn a_client_keeps_waiting_from_its_oldest_unanswered_message_and_urgency_adds_up() {
        let mut t = thread();
        let client = user(CLIENT, Role::Client);
        t.apply(message(&t, &client, "fraud!", NOW).unwrap());
        let later = NOW.plus_millis(5 * MINUTE);
        let first = t.urgency.clone();
        let p = message(&t, &client, "still no reply, urgent", later).unwrap();
        assert_eq!(p.waiting_since, Some(NOW));
        assert_eq!(
            p.urgency.score,
            first.score + crate::urgency::POINTS_PER_FURTHER_MESSAGE,
            "the most urgent message counts, and a second unanswered one adds distress"
        );
        assert!(p.urgency.reasons.iter().any(|r| r == "suspected fraud"));
        assert!(p.urgency.reasons.iter().any(|r| r == "still no reply"));
        assert!(p
            .urgency
            .reasons
            .iter()
            .any(|r| r == "2 unanswered messages"));
    }

    #[test]
    fn a_client_message_leaves_the_claim_alone() {
        let t = claimed_by(AGENT, NOW.plus_millis(MINUTE));
        let p = message(&t, &user(CLIENT, Role::Client), "hello", NOW).unwrap();
        assert_eq!(p.claim, t.claim);
        assert_eq!(p.agent_id, Some(UserId(AGENT)));
    }

    #[test]
    fn another_client_may_not_write_in_the_thread() {
        let err = message(&thread(), &user(9, Role::Client), "hi", NOW).unwrap_err();
        assert!(matches!(err, DomainError::Forbidden(_)), "{err:?}");
    }

    #[test]
    fn the_holders_reply_answers_the_client_and_renews_the_lease() {
        let mut t = claimed_by(AGENT, NOW.plus_millis(MINUTE));
        t.apply(message(&t, &user(CLIENT, Role::Client), "fraud", NOW).unwrap());
        let p = message(&t, &user(AGENT, Role::Agent), "on it", NOW).unwrap();
        assert_eq!(p.status, ThreadStatus::Pending);
        assert_eq!(p.waiting_since, None);
        assert_eq!(p.urgency, Urgency::default());
        assert_eq!(p.rank_key, Some(i64::MIN));
        assert!(p.mark_client_messages_read);
        assert_eq!(
            p.claim,
            Some(Claim {
                agent_id: UserId(AGENT),
                until: ClaimPolicy::default().lease_end(NOW),
            })
        );
        assert_eq!(p.agent_id, Some(UserId(AGENT)));
    }

    #[test]
    fn staff_without_the_claim_may_not_reply() {
        let until = NOW.plus_millis(MINUTE);
        let held = claimed_by(OTHER_AGENT, until);
        for role in [Role::Agent, Role::Admin] {
            let err = message(&held, &user(AGENT, role), "me too", NOW).unwrap_err();
            assert_eq!(
                err,
                DomainError::Claimed {
                    thread: held.id,
                    holder: UserId(OTHER_AGENT),
                    until,
                }
            );
            let err = message(&thread(), &user(AGENT, role), "anyone?", NOW).unwrap_err();
            assert!(matches!(err, DomainError::Conflict(_)), "{err:?}");
        }
        // an expired claim is no claim
        let expired = claimed_by(AGENT, NOW);
        let err = message(&expired, &user(AGENT, Role::Agent), "late", NOW).unwrap_err();
        assert!(matches!(err, DomainError::Conflict(_)), "{err:?}");
    }

    #[test]
    fn resolving_ends_the_claim_and_the_wait_and_keeps_the_last_agent() {
        let mut t = claimed_by(AGENT, NOW.plus_millis(MINUTE));
        t.apply(message(&t, &user(CLIENT, Role::Client), "fraud", NOW).unwrap());
        let p = t.on_status(ThreadStatus::Resolved);
        assert_eq!(p.status, ThreadStatus::Resolved);
        assert_eq!(p.claim, None);
        assert_eq!(p.waiting_since, None);
        assert_eq!(
            p.urgency, t.urgency,
            "the unanswered messages' reasons are kept"
        );
        assert_eq!(p.rank_key, Some(i64::MIN));
        assert_eq!(p.agent_id, Some(UserId(AGENT)));
        assert!(!p.mark_client_messages_read);
    }

    #[test]
    fn a_reopened_thread_keeps_its_unanswered_reasons_and_adds_the_new_ones() {
        let client = user(CLIENT, Role::Client);
        let mut t = claimed_by(AGENT, NOW.plus_millis(MINUTE));
        t.apply(
            message(
                &t,
                &client,
                "someone took money from my account, fraud",
                NOW,
            )
            .unwrap(),
        );
        let waiting = t.urgency.clone();
        t.apply(t.on_status(ThreadStatus::Resolved));
        let later = NOW.plus_millis(10 * MINUTE);
        let p = message(&t, &client, "hello?", later).unwrap();
        assert_eq!(p.status, ThreadStatus::Open);
        assert_eq!(p.waiting_since, Some(later));
        for reason in &waiting.reasons {
            assert!(
                p.urgency.reasons.contains(reason),
                "{reason} lost: {:?}",
                p.urgency
            );
        }
        assert!(
            p.urgency.score >= waiting.score,
            "{:?} < {:?}",
            p.urgency,
            waiting
        );
        assert!(p
            .urgency
            .reasons
            .iter()
            .any(|r| r == "2 unanswered messages"));
        assert_eq!(p.agent_id, Some(UserId(AGENT)), "the last agent is known");
    }

    #[test]
    fn an_answered_then_resolved_thread_reopens_with_the_new_message_only() {
        let client = user(CLIENT, Role::Client);
        let mut t = claimed_by(AGENT, NOW.plus_millis(MINUTE));
        t.apply(message(&t, &client, "fraud", NOW).unwrap());
        t.apply(message(&t, &user(AGENT, Role::Agent), "fixed", NOW).unwrap());
        t.apply(t.on_status(ThreadStatus::Resolved));
        let p = message(&t, &client, "my card was stolen", NOW).unwrap();
        let alone = message(&thread(), &client, "my card was stolen", NOW).unwrap();
        assert_eq!(p.urgency, alone.urgency);
    }

    #[test]
    fn a_note_changes_nothing_and_needs_no_claim_but_staff() {
        let mut t = claimed_by(OTHER_AGENT, NOW.plus_millis(MINUTE));
        t.apply(message(&t, &user(CLIENT, Role::Client), "fraud", NOW).unwrap());
        for role in [Role::Agent, Role::Admin] {
            let p = t.on_note(&user(AGENT, role)).unwrap();
            assert_eq!(p.status, t.status);
            assert_eq!(p.claim, t.claim);
            assert_eq!(p.agent_id, t.agent_id);
            assert_eq!(p.waiting_since, t.waiting_since);
            assert_eq!(p.urgency, t.urgency);
            assert_eq!(p.rank_key, None);
            assert!(!p.mark_client_messages_read);
        }
        let resolved = Thread {
            status: ThreadStatus::Resolved,
            ..thread()
        };
        let p = resolved.on_note(&user(AGENT, Role::Agent)).unwrap();
        assert_eq!(p.status, ThreadStatus::Resolved, "a note never reopens");
        let err = t.on_note(&user(CLIENT, Role::Client)).unwrap_err();
        assert!(matches!(err, DomainError::Forbidden(_)), "{err:?}");
    }

    #[test]
    fn open_and_pending_change_the_status_only() {
        let mut t = claimed_by(AGENT, NOW.plus_millis(MINUTE));
        t.apply(message(&t, &user(CLIENT, Role::Client), "fraud", NOW).unwrap());
        for status in [ThreadStatus::Open, ThreadStatus::Pending] {
            let p = t.on_status(status);
            assert_eq!(p.status, status);
            assert_eq!(p.claim, t.claim);
            assert_eq!(p.waiting_since, t.waiting_since);
            assert_eq!(p.urgency, t.urgency);
            assert_eq!(p.rank_key, None, "the stored rank is kept");
        }
    }

    #[test]
    fn a_claim_on_a_free_expired_or_own_thread_is_taken() {
        let until = NOW.plus_millis(5 * MINUTE);
        for t in [
            thread(),
            claimed_by(OTHER_AGENT, NOW),
            claimed_by(AGENT, NOW.plus_millis(MINUTE)),
        ] {
            let p = t
                .on_claim(UserId(AGENT), until, NOW, ClaimMode::Take)
                .unwrap();
            assert_eq!(
                p.claim,
                Some(Claim {
                    agent_id: UserId(AGENT),
                    until
                })
            );
            assert_eq!(p.agent_id, Some(UserId(AGENT)));
            assert_eq!(p.status, t.status);
            assert_eq!(p.waiting_since, t.waiting_since);
            assert_eq!(p.rank_key, None);
        }
    }

    #[test]
    fn another_agents_live_claim_refuses_a_claim_but_not_a_take_over() {
        let held_until = NOW.plus_millis(MINUTE);
        let t = claimed_by(OTHER_AGENT, held_until);
        let until = NOW.plus_millis(5 * MINUTE);
        let err = t
            .on_claim(UserId(AGENT), until, NOW, ClaimMode::Take)
            .unwrap_err();
        assert_eq!(
            err,
            DomainError::Claimed {
                thread: t.id,
                holder: UserId(OTHER_AGENT),
                until: held_until,
            }
        );
        let p = t
            .on_claim(UserId(AGENT), until, NOW, ClaimMode::TakeOver)
            .unwrap();
        assert_eq!(p.claim.map(|c| c.agent_id), Some(UserId(AGENT)));
    }

    #[test]
    fn a_resolved_thread_cannot_be_claimed() {
        let t = Thread {
            status: ThreadStatus::Resolved,
            ..thread()
        };
        for mode in [ClaimMode::Take, ClaimMode::TakeOver] {
            let err = t
                .on_claim(UserId(AGENT), NOW.plus_millis(MINUTE), NOW, mode)
                .unwrap_err();
            assert!(matches!(err, DomainError::Conflict(_)), "{err:?}");
        }
    }

    #[test]
    fn apply_writes_the_patch_onto_the_thread() {
        let mut t = thread();
        let p = message(&t, &user(CLIENT, Role::Client), "fraud", NOW).unwrap();
        t.apply(p.clone());
        assert_eq!(t.status, p.status);
        assert_eq!(t.waiting_since, p.waiting_since);
        assert_eq!(t.urgency, p.urgency);
        assert_eq!((t.claim, t.agent_id), (p.claim, p.agent_id));
        assert_eq!(t.last_seq, 0, "the store keeps the sequence");
    }

    #[test]
    fn each_resolution_counts_once() {
        let mut t = thread();
        t.apply(t.on_status(ThreadStatus::Resolved));
        assert_eq!(t.resolutions, 1);
        t.apply(t.on_status(ThreadStatus::Resolved));
        assert_eq!(
            t.resolutions, 1,
            "resolving a resolved thread is not a new resolution"
        );
        t.apply(t.on_status(ThreadStatus::Open));
        assert_eq!(t.resolutions, 1, "reopening does not count");
        t.apply(t.on_status(ThreadStatus::Pending));
        t.apply(t.on_status(ThreadStatus::Resolved));
        assert_eq!(t.resolutions, 2);
    }
}
