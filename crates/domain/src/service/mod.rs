//! The use cases, written against the ports. A [`Chat`] is cheap to clone and shared by every
//! request; its methods are synchronous (they call the stores) and belong off the async workers.

mod accounts;
mod agent_tools;
mod attachments;
mod auto_resolve;
mod claims;
mod conversations;
mod inbox;
mod labels;
mod queue;
mod ratings;
mod routing;
mod sla;
mod webhooks;

use std::sync::Arc;

pub use accounts::LoggedIn;
pub use agent_tools::ClientContext;
pub use attachments::{parse_attachment_ids, MAX_ATTACHMENTS};
pub use inbox::{InboxEntry, InboxPage, ViewCounts, MAX_INBOX_PAGE};
pub use queue::QueueEntry;
pub use sla::SlaSweep;
pub use webhooks::MAX_DELIVERY_PAGE;

use crate::attachment::AttachmentPolicy;
use crate::claim::ClaimPolicy;
use crate::credentials::{CredentialCachePolicy, VerifiedCredentials};
use crate::event::Event;
use crate::ports::{BlobStore, EventBus, PasswordHasher, Store};
use crate::routing::RoutingPolicy;
use crate::session_cache::{SessionCache, SessionCachePolicy};
use crate::sla::SlaPolicy;
use crate::thread::Thread;
use crate::urgency::UrgencyRules;
use crate::user::{Password, PasswordHash, Role, User};
use crate::{Clock, DomainError, DomainResult, ThreadId, Timestamp};

/// Settings of the use cases.
#[derive(Debug, Clone)]
pub struct ChatConfig {
    /// How long a log-in session lasts, in milliseconds.
    pub session_ttl_ms: i64,
    /// Claim lease length.
    pub claims: ClaimPolicy,
    /// Urgency rules and weights.
    pub urgency: UrgencyRules,
    /// The verified-credential cache of username + password requests (the seed's endpoints), or
    /// `None` for a bcrypt check on every request.
    pub credential_cache: Option<CredentialCachePolicy>,
    /// The session cache of bearer-token requests ([`crate::session_cache`]), or `None` for a
    /// store read on every request.
    pub session_cache: Option<SessionCachePolicy>,
    /// Availability, capacity and automatic assignment.
    pub routing: RoutingPolicy,
    /// A pending thread (waiting on its client) with no activity for this many milliseconds is
    /// resolved by [`Chat::auto_resolve_idle`]; `None` turns that off.
    pub auto_resolve_after_ms: Option<i64>,
    /// SLA targets, business hours and the at-risk rule.
    pub sla: SlaPolicy,
    /// Webhook targets and retries.
    pub webhooks: WebhookPolicy,
}

/// Webhook settings of the use cases and the delivery worker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookPolicy {
    /// Whether endpoints may point to private, loopback or link-local addresses
    /// ([`crate::webhook::is_forbidden_ip`]); off in production, on in tests.
    pub allow_private_targets: bool,
    /// Backoff and how long deliveries are retried.
    pub retry: crate::webhook::RetryPolicy,
}

impl Default for ChatConfig {
    fn default() -> Self {
        ChatConfig {
            session_ttl_ms: 7 * 24 * 60 * 60 * 1000,
            claims: ClaimPolicy::default(),
            urgency: UrgencyRules::default(),
            credential_cache: None,
            session_cache: None,
            routing: RoutingPolicy::default(),
            auto_resolve_after_ms: None,
            sla: SlaPolicy::default(),
            webhooks: WebhookPolicy::default(),
        }
    }
}

/// The support chat's use cases over a store, an event bus, a clock and a password hasher.
#[derive(Clone)]
pub struct Chat {
    store: Arc<dyn Store>,
    bus: Arc<dyn EventBus>,
    clock: Arc<dyn Clock>,
    hasher: Arc<dyn PasswordHasher>,
    config: Arc<ChatConfig>,
    /// A hash checked when the user is unknown, so that unknown users and wrong passwords take
    /// about the same time.
    decoy_hash: PasswordHash,
    /// Verified username + password pairs, when the config asks for the cache.
    credentials: Option<Arc<VerifiedCredentials>>,
    /// Sessions of bearer tokens read lately, when the config asks for the cache.
    sessions: Option<Arc<SessionCache>>,
    /// Where attachments' bytes go (`None`: uploads answer Unavailable).
    blobs: Option<Arc<dyn BlobStore>>,
    /// Attachment size and type limits.
    attachment_policy: Arc<AttachmentPolicy>,
}

impl std::fmt::Debug for Chat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chat")
            .field("store", &self.store.backend_name())
            .field("bus", &self.bus.backend_name())
            .field("config", &self.config)
            .finish()
    }
}

impl Chat {
    /// Wires the use cases to their ports. Hashes one decoy password (one bcrypt round).
    pub fn new(
        store: Arc<dyn Store>,
        bus: Arc<dyn EventBus>,
        clock: Arc<dyn Clock>,
        hasher: Arc<dyn PasswordHasher>,
        config: ChatConfig,
    ) -> DomainResult<Self> {
        let decoy = Password::parse("decoy-password-never-used")?;
        let decoy_hash = hasher.hash(&decoy)?;
        let credentials = config
            .credential_cache
            .map(|policy| Arc::new(VerifiedCredentials::new(policy)));
        let sessions = config
            .session_cache
            .map(|policy| Arc::new(SessionCache::new(policy)));
        Ok(Chat {
            sessions,
            store,
            bus,
            clock,
            hasher,
            config: Arc::new(config),
            decoy_hash,
            credentials,
            blobs: None,
            attachment_policy: Arc::new(AttachmentPolicy::default()),
        })
    }

    /// The store behind the use cases.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The event bus behind the use cases.
    pub fn bus(&self) -> &Arc<dyn EventBus> {
        &self.bus
    }

    /// The settings.
    pub fn config(&self) -> &ChatConfig {
        &self.config
    }

    /// The current time, from the clock port.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn publish(&self, event: Event) {
        // Live delivery is at most once by design: the store is the source of truth and
        // subscribers resynchronise from it, so a bus failure must not fail the use case.
        if let Err(err) = self.bus.publish(event) {
            tracing::warn!(error = %err, "event not published");
        }
    }

    fn thread(&self, id: ThreadId) -> DomainResult<Thread> {
        self.store
            .thread_by_id(id)?
            .ok_or(DomainError::NotFound("thread"))
    }

    /// A thread the actor may read: its client, any agent, or an admin.
    pub fn viewable_thread(&self, actor: &User, id: ThreadId) -> DomainResult<Thread> {
        let thread = self.thread(id)?;
        if can_view(actor, &thread) {
            Ok(thread)
        } else {
            Err(DomainError::forbidden(
                "this thread belongs to another client",
            ))
        }
    }

    /// A thread whose live conversation the actor may join: its client, the agent holding its
    /// claim, or an admin.
    pub fn joinable_thread(&self, actor: &User, id: ThreadId) -> DomainResult<Thread> {
        let thread = self.thread(id)?;
        let now = self.now();
        let allowed = match actor.role {
            Role::Admin => true,
            Role::Client => thread.client_id == actor.id,
            Role::Agent => thread.is_held_by(actor.id, now),
        };
        if allowed {
            Ok(thread)
        } else if actor.role == Role::Agent {
            Err(DomainError::forbidden(
                "claim this thread before joining it",
            ))
        } else {
            Err(DomainError::forbidden(
                "this thread belongs to another client",
            ))
        }
    }
}

fn can_view(actor: &User, thread: &Thread) -> bool {
    match actor.role {
        Role::Client => thread.client_id == actor.id,
        Role::Agent | Role::Admin => true,
    }
}

fn require_staff(actor: &User) -> DomainResult<()> {
    if actor.role.is_staff() {
        Ok(())
    } else {
        Err(DomainError::forbidden("only agents and admins may do this"))
    }
}

fn require_admin(actor: &User) -> DomainResult<()> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(DomainError::forbidden("only admins may do this"))
    }
}
