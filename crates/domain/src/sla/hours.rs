//! Business hours: a weekly schedule in an IANA time zone, and the arithmetic of SLA clocks
//! that run only inside it. Pure functions of instants; no clock, no store.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::{DomainError, DomainResult, Timestamp};

/// The longest span the arithmetic walks (days): beyond it a clock is taken as never due.
const MAX_DAYS: i64 = 3_700;

/// One opening of a day, in local minutes since midnight, `start < end <= 1440`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opening {
    /// First minute open.
    pub start: u32,
    /// First minute closed again (1440 = midnight at the day's end).
    pub end: u32,
}

impl Opening {
    /// Parses `HH:MM-HH:MM` (`24:00` allowed as an end).
    pub fn parse(text: &str) -> DomainResult<Opening> {
        let bad = || {
            DomainError::invalid(
                "sla.business_hours",
                format!("{text:?} is not an opening like \"09:00-17:30\""),
            )
        };
        let (a, b) = text.trim().split_once('-').ok_or_else(bad)?;
        let minutes = |t: &str| -> Option<u32> {
            let (h, m) = t.trim().split_once(':')?;
            let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
            (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
        };
        let (start, end) = (minutes(a).ok_or_else(bad)?, minutes(b).ok_or_else(bad)?);
        if start >= end {
            return Err(bad());
        }
        Ok(Opening { start, end })
    }
}

/// A weekly schedule in a time zone. Clocks run only while it is open.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessHours {
    tz: Tz,
    /// Monday first.
    week: [Vec<Opening>; 7],
}

impl BusinessHours {
    /// A schedule from an IANA zone name (`Europe/London`) and each day's openings, Monday
    /// first (`["09:00-12:00", "13:00-17:00"]`; empty: closed). Invalid if the zone is unknown,
    /// an opening malformed, openings of a day overlap, or the week has no opening at all.
    pub fn parse(time_zone: &str, week: &[Vec<String>; 7]) -> DomainResult<BusinessHours> {
        let tz: Tz = time_zone.parse().map_err(|_| {
            DomainError::invalid(
                "sla.business_hours",
                format!("unknown time zone {time_zone:?}"),
            )
        })?;
        let mut days: [Vec<Opening>; 7] = Default::default();
        for (day, texts) in days.iter_mut().zip(week) {
            let mut openings = texts
                .iter()
                .map(|t| Opening::parse(t))
                .collect::<DomainResult<Vec<_>>>()?;
            openings.sort_by_key(|o| o.start);
            if openings.windows(2).any(|w| w[0].end > w[1].start) {
                return Err(DomainError::invalid(
                    "sla.business_hours",
                    "openings of one day overlap",
                ));
            }
            *day = openings;
        }
        if days.iter().all(Vec::is_empty) {
            return Err(DomainError::invalid(
                "sla.business_hours",
                "the week has no opening",
            ));
        }
        Ok(BusinessHours { tz, week: days })
    }

    /// The open intervals (UTC instants, half-open) of one local date, in order.
    fn intervals(&self, date: NaiveDate) -> impl Iterator<Item = (i64, i64)> + '_ {
        let day = &self.week[date.weekday().num_days_from_monday() as usize];
        day.iter()
            .map(move |o| (self.instant(date, o.start), self.instant(date, o.end)))
    }

    /// The UTC instant (ms) of a local date and minute. In a DST gap the local time does not
    /// exist: the instant the clocks jump to is taken; in an overlap, the earlier one.
    fn instant(&self, date: NaiveDate, minute: u32) -> i64 {
        let (date, minute) = if minute >= 1440 {
            (date.succ_opt().unwrap_or(date), minute - 1440)
        } else {
            (date, minute)
        };
        let time = NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).unwrap_or(NaiveTime::MIN);
        let local = date.and_time(time);
        let mut probe = local;
        for _ in 0..8 {
            if let Some(dt) = self.tz.from_local_datetime(&probe).earliest() {
                return dt.timestamp_millis();
            }
            // A gap: move forward until the local time exists (gaps are at most a few hours).
            probe += Duration::minutes(30);
        }
        Utc.from_utc_datetime(&local).timestamp_millis()
    }

    /// The local date of an instant.
    fn local_date(&self, at: Timestamp) -> NaiveDate {
        let utc = chrono::DateTime::<Utc>::from_timestamp_millis(at.millis()).unwrap_or_default();
        utc.with_timezone(&self.tz).date_naive()
    }

    /// Milliseconds of open time in `[from, to)` (0 if `to <= from`).
    pub fn open_millis(&self, from: Timestamp, to: Timestamp) -> i64 {
        if to <= from {
            return 0;
        }
        let mut total = 0i64;
        // Start a day early: a local day's interval may begin before its date in UTC.
        let mut date = self.local_date(from).pred_opt().unwrap_or(NaiveDate::MIN);
        let last = self.local_date(to).succ_opt().unwrap_or(NaiveDate::MAX);
        let mut days = 0;
        while date <= last && days <= MAX_DAYS + 2 {
            for (s, e) in self.intervals(date) {
                let (s, e) = (s.max(from.millis()), e.min(to.millis()));
                if e > s {
                    total += e - s;
                }
            }
            date = match date.succ_opt() {
                Some(d) => d,
                None => break,
            };
            days += 1;
        }
        total
    }

    /// The instant at which `millis` of open time have passed since `from` (`from` itself for 0
    /// when open). `None` if that is further than about ten years away.
    pub fn add_open_millis(&self, from: Timestamp, millis: i64) -> Option<Timestamp> {
        let mut left = millis.max(0);
        let mut date = self.local_date(from).pred_opt()?;
        for _ in 0..MAX_DAYS {
            for (s, e) in self.intervals(date) {
                let s = s.max(from.millis());
                if e <= s {
                    continue;
                }
                if e - s >= left && (left > 0 || s >= from.millis()) {
                    return Some(Timestamp(s + left));
                }
                left -= e - s;
            }
            date = date.succ_opt()?;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap_or_default()
    }

    fn office(tz: &str) -> BusinessHours {
        let day = vec!["09:00-12:00".to_owned(), "13:00-17:00".to_owned()];
        let week = [
            day.clone(),
            day.clone(),
            day.clone(),
            day.clone(),
            day,
            vec![],
            vec![],
        ];
        match BusinessHours::parse(tz, &week) {
            Ok(hours) => hours,
            Err(err) => panic!("{err}"),
        }
    }

    #[test]
    fn counts_only_open_time_within_a_day() {
        let h = office("UTC");
        // Monday 2026-11-30, 11:00 to 14:00: 1 h before lunch, 1 h after.
        let ms = h.open_millis(ts("2026-11-30T11:00:00Z"), ts("2026-11-30T14:00:00Z"));
        assert_eq!(ms, 2 * 3_600_000);
    }

    #[test]
    fn a_weekend_does_not_count() {
        let h = office("UTC");
        // Friday 16:30 to Monday 09:30: 30 min + 30 min.
        let ms = h.open_millis(ts("2026-12-04T16:30:00Z"), ts("2026-12-07T09:30:00Z"));
        assert_eq!(ms, 3_600_000);
        let due = h.add_open_millis(ts("2026-12-04T16:30:00Z"), 3_600_000);
        assert_eq!(due, Some(ts("2026-12-07T09:30:00Z")));
    }

    #[test]
    fn a_message_at_night_starts_counting_at_opening() {
        let h = office("UTC");
        let due = h.add_open_millis(ts("2026-11-30T22:00:00Z"), 5 * 60_000);
        assert_eq!(due, Some(ts("2026-12-01T09:05:00Z")));
    }

    #[test]
    fn the_time_zone_is_honoured() {
        // 09:00 in New York is 14:00 UTC in winter.
        let h = office("America/New_York");
        let due = h.add_open_millis(ts("2026-11-30T12:00:00Z"), 60_000);
        assert_eq!(due, Some(ts("2026-11-30T14:01:00Z")));
    }

    #[test]
    fn a_dst_change_keeps_local_opening_times() {
        // London moves to summer time on Sunday 2027-03-28: Monday opens at 08:00 UTC.
        let h = office("Europe/London");
        let due = h.add_open_millis(ts("2027-03-26T16:59:00Z"), 2 * 60_000);
        assert_eq!(due, Some(ts("2027-03-29T08:01:00Z")));
    }

    #[test]
    fn bad_schedules_are_refused() {
        let empty: [Vec<String>; 7] = Default::default();
        assert!(BusinessHours::parse("UTC", &empty).is_err());
        let mut week: [Vec<String>; 7] = Default::default();
        week[0] = vec!["09:00-17:00".into()];
        assert!(BusinessHours::parse("Mars/Olympus", &week).is_err());
        week[0] = vec!["17:00-09:00".into()];
        assert!(BusinessHours::parse("UTC", &week).is_err());
        week[0] = vec!["09:00-12:00".into(), "11:00-13:00".into()];
        assert!(BusinessHours::parse("UTC", &week).is_err());
        week[0] = vec!["00:00-24:00".into()];
        assert!(BusinessHours::parse("UTC", &week).is_ok());
    }

    proptest! {
        /// Adding open time then measuring it gives the same amount back.
        #[test]
        fn add_then_measure_round_trips(start in 1_700_000_000_000i64..1_900_000_000_000, mins in 0i64..20_000) {
            for h in [office("UTC"), office("Europe/London"), office("Asia/Kolkata")] {
                let from = Timestamp(start);
                let due = h.add_open_millis(from, mins * 60_000);
                prop_assert!(due.is_some());
                let due = due.unwrap_or_default();
                prop_assert!(due >= from);
                prop_assert_eq!(h.open_millis(from, due), mins * 60_000);
            }
        }

        /// Open time is additive over adjacent spans and never more than wall time.
        #[test]
        fn open_time_is_additive(a in 1_700_000_000_000i64..1_800_000_000_000, d1 in 0i64..900_000_000, d2 in 0i64..900_000_000) {
            let h = office("Europe/London");
            let (t0, t1, t2) = (Timestamp(a), Timestamp(a + d1), Timestamp(a + d1 + d2));
            let whole = h.open_millis(t0, t2);
            prop_assert_eq!(whole, h.open_millis(t0, t1) + h.open_millis(t1, t2));
            prop_assert!(whole <= d1 + d2);
        }
    }
}
