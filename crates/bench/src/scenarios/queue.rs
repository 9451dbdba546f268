//! `queue`: the agents' queue latency as stored messages grow.

use anyhow::{bail, Result};

use crate::report::Sink;
use crate::Ctx;

pub async fn run(_ctx: &mut Ctx) -> Result<Sink> {
    bail!("the queue scenario needs the Postgres schema from main")
}
