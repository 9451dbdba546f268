//! The `[sla]` settings: targets per thread type, business hours, the at-risk rule.

use chat_domain::sla::{BusinessHours, SlaPolicy, SlaTargets};
use chat_domain::DomainResult;
use serde::Deserialize;

/// Targets of one thread type, in minutes (0: no target).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(default)]
pub struct TargetSettings {
    /// First response.
    pub first_response_minutes: i64,
    /// Each next response.
    pub next_response_minutes: i64,
    /// Resolution.
    pub resolution_minutes: i64,
}

impl Default for TargetSettings {
    fn default() -> Self {
        TargetSettings {
            first_response_minutes: 30,
            next_response_minutes: 60,
            resolution_minutes: 2880,
        }
    }
}

impl TargetSettings {
    fn targets(&self) -> SlaTargets {
        let secs = |m: i64| (m > 0).then(|| m.saturating_mul(60));
        SlaTargets {
            first_response: secs(self.first_response_minutes),
            next_response: secs(self.next_response_minutes),
            resolution: secs(self.resolution_minutes),
        }
    }
}

/// Business hours: an IANA time zone and each day's openings (`"09:00-17:00"`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct HoursSettings {
    /// e.g. `Europe/London`.
    pub time_zone: String,
    /// Monday's openings.
    pub monday: Vec<String>,
    /// Tuesday's.
    pub tuesday: Vec<String>,
    /// Wednesday's.
    pub wednesday: Vec<String>,
    /// Thursday's.
    pub thursday: Vec<String>,
    /// Friday's.
    pub friday: Vec<String>,
    /// Saturday's.
    pub saturday: Vec<String>,
    /// Sunday's.
    pub sunday: Vec<String>,
}

/// SLA settings (`chat_domain::sla`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SlaSettings {
    /// Loan threads.
    pub loan: TargetSettings,
    /// Payment threads.
    pub payment: TargetSettings,
    /// Other threads.
    pub other: TargetSettings,
    /// When clocks run; absent: always.
    pub business_hours: Option<HoursSettings>,
    /// A response clock is at risk when this percent of its target is left.
    pub at_risk_percent: u32,
    /// Urgency points an at-risk thread gains.
    pub at_risk_points: i64,
}

impl Default for SlaSettings {
    fn default() -> Self {
        SlaSettings {
            loan: TargetSettings {
                first_response_minutes: 5,
                next_response_minutes: 15,
                resolution_minutes: 480,
            },
            payment: TargetSettings {
                first_response_minutes: 10,
                next_response_minutes: 30,
                resolution_minutes: 1440,
            },
            other: TargetSettings::default(),
            business_hours: None,
            at_risk_percent: 25,
            at_risk_points: 200,
        }
    }
}

impl SlaSettings {
    /// The domain's policy; Invalid for a bad time zone or schedule.
    pub fn policy(&self) -> DomainResult<SlaPolicy> {
        let hours = match &self.business_hours {
            None => None,
            Some(h) => Some(BusinessHours::parse(
                &h.time_zone,
                &[
                    h.monday.clone(),
                    h.tuesday.clone(),
                    h.wednesday.clone(),
                    h.thursday.clone(),
                    h.friday.clone(),
                    h.saturday.clone(),
                    h.sunday.clone(),
                ],
            )?),
        };
        Ok(SlaPolicy {
            loan: self.loan.targets(),
            payment: self.payment.targets(),
            other: self.other.targets(),
            hours,
            at_risk_percent: self.at_risk_percent.min(100),
            at_risk_points: self.at_risk_points,
        })
    }
}
