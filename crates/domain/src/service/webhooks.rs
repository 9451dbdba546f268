//! Webhooks: admins register endpoints, read their delivery logs, enable, disable, delete and
//! replay them. Deliveries themselves are the server's worker's (over [`crate::ports::WebhookStore`]).

use super::{require_admin, Chat};
use crate::user::User;
use crate::webhook::{DeliveryLogEntry, NewWebhook, Webhook};
use crate::{DomainError, DomainResult, Timestamp, WebhookId};

/// The most deliveries one page of an endpoint's log lists.
pub const MAX_DELIVERY_PAGE: u32 = 500;

impl Chat {
    /// An admin registers an endpoint ([`NewWebhook::parse`]; a private target is refused unless
    /// the config allows it).
    pub fn register_webhook(
        &self,
        actor: &User,
        url: &str,
        events: &[String],
        include_notes: bool,
        secret: &str,
    ) -> DomainResult<Webhook> {
        require_admin(actor)?;
        let new = NewWebhook::parse(
            url,
            events,
            include_notes,
            secret,
            self.config.webhooks.allow_private_targets,
            self.now(),
        )?;
        self.store.insert_webhook(new)
    }

    /// Every endpoint: admins only.
    pub fn webhooks(&self, actor: &User) -> DomainResult<Vec<Webhook>> {
        require_admin(actor)?;
        self.store.webhooks()
    }

    /// An endpoint's delivery log, newest first: admins only.
    pub fn webhook_deliveries(
        &self,
        actor: &User,
        id: WebhookId,
        limit: u32,
    ) -> DomainResult<Vec<DeliveryLogEntry>> {
        require_admin(actor)?;
        self.webhook(id)?;
        self.store
            .webhook_deliveries(id, limit.clamp(1, MAX_DELIVERY_PAGE))
    }

    /// Enables or disables an endpoint: admins only.
    pub fn set_webhook_enabled(
        &self,
        actor: &User,
        id: WebhookId,
        enabled: bool,
    ) -> DomainResult<Webhook> {
        require_admin(actor)?;
        self.store
            .set_webhook_enabled(id, enabled)?
            .ok_or(DomainError::NotFound("webhook"))
    }

    /// Deletes an endpoint and its deliveries: admins only.
    pub fn delete_webhook(&self, actor: &User, id: WebhookId) -> DomainResult<()> {
        require_admin(actor)?;
        if self.store.delete_webhook(id)? {
            Ok(())
        } else {
            Err(DomainError::NotFound("webhook"))
        }
    }

    /// Queues again every event since `from` the endpoint subscribes to, with the same event
    /// ids: admins only. Answers how many.
    pub fn replay_webhook(
        &self,
        actor: &User,
        id: WebhookId,
        from: Timestamp,
    ) -> DomainResult<u64> {
        require_admin(actor)?;
        self.store
            .replay_webhook(id, from, self.now())?
            .ok_or(DomainError::NotFound("webhook"))
    }

    fn webhook(&self, id: WebhookId) -> DomainResult<Webhook> {
        self.store
            .webhook_by_id(id)?
            .ok_or(DomainError::NotFound("webhook"))
    }
}
