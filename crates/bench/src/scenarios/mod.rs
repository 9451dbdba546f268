//! The scenarios. Each creates its own users and threads, measures, and returns its figures
//! and checks.

mod chaos;
mod claims;
mod connections;
mod fanout;
mod queue;
mod reports;
mod rest_send;
mod routing;
mod urgency;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use anyhow::Result;

use crate::params::Scenario;
use crate::report::Sink;
use crate::Ctx;

/// Runs one scenario.
pub async fn run(scenario: Scenario, ctx: &mut Ctx) -> Result<Sink> {
    match scenario {
        Scenario::RestSend => rest_send::run(ctx).await,
        Scenario::Claims => claims::run(ctx).await,
        Scenario::Connections => connections::run(ctx).await,
        Scenario::Fanout => fanout::run(ctx).await,
        Scenario::Queue => queue::run(ctx).await,
        Scenario::Reports => reports::run(ctx).await,
        Scenario::Urgency => urgency::run(ctx).await,
        Scenario::Chaos => chaos::run(ctx).await,
        Scenario::Routing => routing::run(ctx).await,
    }
}

/// Counts of answers by kind ("201", "503", "transport"), shared between request tasks.
#[derive(Debug, Clone, Default)]
pub struct Outcomes(Arc<Mutex<BTreeMap<String, u64>>>);

impl Outcomes {
    /// Counts one answer.
    pub fn add(&self, kind: impl Into<String>) {
        if let Ok(mut map) = self.0.lock() {
            *map.entry(kind.into()).or_default() += 1;
        }
    }

    /// How many answers were not 2xx (transport failures included).
    pub fn failures(&self) -> u64 {
        self.0
            .lock()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| !k.starts_with('2'))
                    .map(|(_, v)| v)
                    .sum()
            })
            .unwrap_or(0)
    }

    /// How many answers were `kind`.
    pub fn of(&self, kind: &str) -> u64 {
        self.0
            .lock()
            .map(|m| m.get(kind).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// `201 x 10, 503 x 2`.
    pub fn describe(&self) -> String {
        self.0
            .lock()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k} x {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    }
}
