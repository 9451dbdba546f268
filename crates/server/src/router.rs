//! The router of one instance: a background task that assigns waiting conversations in auto
//! mode, keeps presence, and keeps connected agents' conversations.
//!
//! It is woken by the bus (the queue topic: a client wrote, a claim was released, expired or
//! transferred back, a thread's status changed, an agent came online, the mode switched) and
//! then runs `Chat::assign_all` until nothing more can be assigned. Every
//! `routing.sweep_interval_ms` it also runs a full pass, the safety net:
//! 1. presence: a heartbeat for every staff member with a socket on this instance, lasting
//!    `routing.offline_after_seconds`;
//! 2. in auto mode, their held conversations are renewed when past half their lease (an
//!    agent holding several conversations loses none while connected; in manual mode a claim
//!    is the seed's lease, renewed only by the holder's activity);
//! 3. staff not offline whom presence no longer sees on any instance become offline, and in
//!    auto mode the conversations of staff offline for `routing.reassign_after_seconds` go
//!    back to the router;
//! 4. in auto mode, conversations are assigned (the pass re-reads the stored routing mode
//!    first: every instance follows a switch).
//!
//! Correctness never depends on this task: every instance may run it at once, and the store
//! makes each assignment atomic (see `chat_sql`'s routing module).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chat_domain::event::{Delivery, Event};
use chat_domain::ports::Presence;
use chat_domain::routing::{Availability, RoutingMode};
use chat_domain::user::Role;
use chat_domain::{Chat, DomainResult, UserId};
use futures_util::{FutureExt, StreamExt};

use crate::settings::Settings;
use crate::shutdown::Shutdown;
use crate::ws::SocketRegistry;

/// One instance's router (see the module docs).
pub struct Router {
    chat: Chat,
    presence: Arc<dyn Presence>,
    sockets: SocketRegistry,
    instance: String,
    every: Duration,
    offline_after_ms: i64,
}

impl Router {
    /// A router for this instance (`instance` names it in presence), watching `sockets`.
    pub fn new(
        chat: Chat,
        presence: Arc<dyn Presence>,
        sockets: SocketRegistry,
        instance: String,
        settings: &Settings,
    ) -> Self {
        Router {
            offline_after_ms: chat.config().routing.offline_after_ms,
            chat,
            presence,
            sockets,
            instance,
            every: Duration::from_millis(settings.routing.sweep_interval_ms.max(10)),
        }
    }

    /// Runs until shutdown: the event-driven assignment and the periodic full pass as two
    /// tasks, so a long sweep never delays an assignment.
    pub async fn run(self, shutdown: Shutdown) {
        let router = Arc::new(self);
        let mode = Arc::new(AtomicBool::new(false));
        tokio::join!(
            Arc::clone(&router).on_events(Arc::clone(&mode), shutdown.clone()),
            router.sweeps(mode, shutdown),
        );
    }

    /// Every `routing.sweep_interval_ms`: the full pass, then assignment in auto mode.
    async fn sweeps(self: Arc<Self>, auto: Arc<AtomicBool>, shutdown: Shutdown) {
        let mut ticker = tokio::time::interval(self.every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.wait() => return,
                _ = ticker.tick() => {}
            }
            let r = Arc::clone(&self);
            let auto = Arc::clone(&auto);
            let pass = tokio::task::spawn_blocking(move || -> DomainResult<()> {
                let mode = r.chat.routing_mode()?;
                auto.store(mode == RoutingMode::Auto, Ordering::Relaxed);
                r.sweep(mode)?;
                if mode == RoutingMode::Auto {
                    r.assign()?;
                }
                Ok(())
            });
            match pass.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "router sweep failed"),
                Err(e) => tracing::warn!(error = %e, "router sweep task failed"),
            }
        }
    }

    /// Woken by the queue topic: assignment in auto mode (every event already waiting is
    /// answered by one pass).
    async fn on_events(self: Arc<Self>, auto: Arc<AtomicBool>, shutdown: Shutdown) {
        let mut events = None;
        loop {
            if events.is_none() {
                events = match self
                    .chat
                    .bus()
                    .subscribe(&[chat_domain::event::Topic::Queue])
                {
                    Ok(stream) => Some(stream),
                    Err(e) => {
                        tracing::warn!(error = %e, "router: bus unavailable; sweeping only");
                        None
                    }
                };
            }
            let delivery = tokio::select! {
                () = shutdown.wait() => return,
                delivery = next_delivery(&mut events) => delivery,
                // Retry the subscription now and then while the bus is unavailable.
                () = tokio::time::sleep(self.every), if events.is_none() => continue,
            };
            let Some(delivery) = delivery else {
                events = None;
                continue;
            };
            let mut wake = triggers(&delivery, &auto);
            while let Some(Some(more)) = next_delivery(&mut events).now_or_never() {
                wake |= triggers(&more, &auto);
            }
            if !wake || !auto.load(Ordering::Relaxed) {
                continue;
            }
            let r = Arc::clone(&self);
            match tokio::task::spawn_blocking(move || r.assign()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "router pass failed"),
                Err(e) => tracing::warn!(error = %e, "router task failed"),
            }
        }
    }

    /// Assigns until nothing more can be (blocking).
    fn assign(&self) -> DomainResult<()> {
        let n = self.chat.assign_all()?;
        if n > 0 {
            tracing::debug!(assigned = n, "router assigned");
        }
        Ok(())
    }

    /// Presence, renewal (auto mode) and absent staff.
    fn sweep(&self, mode: RoutingMode) -> DomainResult<()> {
        let chat = &self.chat;
        let now = chat.now();
        let states = chat.store().agent_states(now)?;
        let local: HashSet<UserId> = self.sockets.users().into_iter().collect();
        let here: Vec<UserId> = states
            .iter()
            .map(|s| s.agent_id)
            .filter(|id| local.contains(id))
            .collect();
        let until = now.plus_millis(self.offline_after_ms);
        if let Err(e) = self.presence.beat(&here, &self.instance, now, until) {
            tracing::warn!(error = %e, "presence heartbeat failed");
        }
        // In auto mode the router gave these conversations: they stay with their connected
        // agent. In manual mode a claim is the seed's lease, which only the holder's activity
        // renews: an idle holder loses it even with a socket open.
        if mode == RoutingMode::Auto {
            chat.renew_held_claims(&here)?;
        }
        let watched: Vec<UserId> = states
            .iter()
            .filter(|s| s.availability != Availability::Offline)
            .map(|s| s.agent_id)
            .collect();
        match self.presence.present(&watched, now) {
            Ok(mut present) => {
                // This instance's own sockets count even if the heartbeat just failed.
                present.extend(here.iter().copied());
                chat.sweep_absent_among(&states, &present, mode)?;
            }
            // Never mark everyone offline because presence cannot be read.
            Err(e) => tracing::warn!(error = %e, "presence unavailable: availability left as is"),
        }
        Ok(())
    }
}

/// The next delivery, or never while there is no subscription.
/// The next delivery of a subscription; never, while there is none (the bus was unavailable).
pub(crate) async fn next_delivery(
    events: &mut Option<chat_domain::ports::EventStream>,
) -> Option<Delivery> {
    match events {
        Some(stream) => stream.next().await,
        None => std::future::pending().await,
    }
}

/// Whether a delivery may let the router assign something (and the mode it announces).
fn triggers(delivery: &Delivery, auto: &AtomicBool) -> bool {
    let Delivery::Event(event) = delivery else {
        return true;
    };
    match event.as_ref() {
        Event::MessageCreated { message, .. } => message.sender_role == Role::Client,
        Event::Released { .. }
        | Event::Expired { .. }
        | Event::StatusChanged { .. }
        | Event::Reopened { .. } => true,
        Event::Availability { availability, .. } => *availability == Availability::Online,
        Event::Transferred { to, .. } => to.is_none(),
        Event::RoutingChanged { mode } => {
            auto.store(*mode == RoutingMode::Auto, Ordering::Relaxed);
            true
        }
        Event::Typing { .. }
        | Event::Read { .. }
        | Event::Claimed { .. }
        | Event::Assigned { .. }
        | Event::NoteCreated { .. }
        | Event::LabelsChanged { .. }
        | Event::Rated { .. }
        | Event::SlaBreached { .. }
        | Event::SessionsEnded { .. }
        | Event::PasswordFailed { .. }
        | Event::TakenOver { .. } => false,
    }
}
