//! Open-loop pacing: how many requests are due now to hold a target rate, whatever the
//! latency of earlier ones (so slow answers do not lower the offered load).

use std::time::{Duration, Instant};

use tokio::time::{interval, Interval, MissedTickBehavior};

/// Releases work at `rate` per second in small batches.
#[derive(Debug)]
pub struct Pacer {
    start: Instant,
    rate: f64,
    released: u64,
    tick: Interval,
}

impl Pacer {
    /// A pacer starting now.
    pub fn new(rate: u64) -> Self {
        let mut tick = interval(Duration::from_millis(2));
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        Pacer {
            start: Instant::now(),
            rate: rate as f64,
            released: 0,
            tick,
        }
    }

    /// Waits for the next tick and returns how many items are due.
    pub async fn due(&mut self) -> u64 {
        self.tick.tick().await;
        let should = (self.start.elapsed().as_secs_f64() * self.rate) as u64;
        let n = should.saturating_sub(self.released);
        self.released = should;
        n
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn releases_about_rate_times_seconds() {
        let mut p = Pacer::new(1000);
        let mut total = 0;
        while p.elapsed() < Duration::from_millis(200) {
            total += p.due().await;
        }
        // Never more than rate x elapsed, and something once time has passed.
        assert!(
            total as f64 <= p.elapsed().as_secs_f64() * 1000.0,
            "{total}"
        );
        assert!(total > 0);
    }
}
