//! What a chaos run proves: the checks (nothing acknowledged lost, nothing stored twice, no gap,
//! the agent saw every message once) and the figures per fault.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::report::{Sink, Target};
use crate::stats::Latencies;

use super::conversation::{parse_body, Record, Sent};

/// One injected fault: when it began and when the dependency was back (ms since the run's t0).
#[derive(Debug, Clone)]
pub struct Fault {
    /// What was done.
    pub name: String,
    /// When it began.
    pub start_ms: f64,
    /// When the dependency answered again (the instance healthy, Redis answering PING, Postgres
    /// accepting connections).
    pub back_ms: f64,
}

impl Fault {
    /// A fault window.
    pub fn new(name: &str, start_ms: f64, back_ms: f64) -> Self {
        Fault {
            name: name.to_owned(),
            start_ms,
            back_ms,
        }
    }
}

/// The recovery after `back`: over every message first sent before `back` and not delivered by
/// then, the latest delivery after `back`, minus `back` (0 if nothing was outstanding; `None` if
/// something outstanding was never delivered). With the number of conversations affected.
pub fn recovery(records: &[Record], back_ms: f64) -> (Option<f64>, usize) {
    let mut worst = Some(0.0f64);
    let mut affected = 0;
    for r in records {
        let outstanding: Vec<&Sent> = r
            .sent
            .iter()
            .filter(|s| s.first_attempt_ms < back_ms && s.delivered_ms.is_none_or(|d| d > back_ms))
            .collect();
        if outstanding.is_empty() {
            continue;
        }
        affected += 1;
        for s in outstanding {
            worst = match (worst, s.delivered_ms) {
                (Some(w), Some(d)) => Some(w.max(d - back_ms)),
                _ => None,
            };
        }
    }
    (worst, affected)
}

/// Send-to-delivery times (first attempt to the agent's receipt) of messages first sent in
/// `[from, to)`, and how many of them were never delivered.
fn latencies(records: &[Record], from: f64, to: f64) -> (Latencies, u64) {
    let mut l = Latencies::new();
    let mut lost = 0;
    for s in records.iter().flat_map(|r| &r.sent) {
        if s.first_attempt_ms >= from && s.first_attempt_ms < to {
            match s.delivered_ms {
                Some(d) => l.record_micros(((d - s.first_attempt_ms).max(0.0) * 1000.0) as u64),
                None => lost += 1,
            }
        }
    }
    (l, lost)
}

/// Integrity of one thread against what the store holds (`rows`: seq, client_message_id, body).
#[derive(Debug, Default, PartialEq)]
pub struct Integrity {
    /// Acknowledged messages not stored under their acknowledged seq.
    pub lost: u64,
    /// Bodies stored more than once.
    pub stored_twice: u64,
    /// Missing or repeated seqs in 1..=last.
    pub seq_faults: u64,
    /// Stored seqs (after the agent's start) the agent never received.
    pub missed_by_agent: u64,
    /// Seqs the agent received more than once.
    pub repeated_to_agent: u64,
}

/// Checks one conversation's record against the rows stored for its thread.
pub fn integrity(record: &Record, rows: &[(i64, String, String)]) -> Integrity {
    let mut out = Integrity::default();
    for (n, s) in record.sent.iter().enumerate() {
        if let Some(seq) = s.seq {
            let stored = rows
                .iter()
                .find(|(_, _, b)| parse_body(b).is_some_and(|(_, m)| m == n))
                .map(|(q, _, _)| *q);
            if stored != Some(seq) {
                out.lost += 1;
            }
        }
    }
    let mut bodies = HashSet::new();
    for (_, _, body) in rows {
        if !bodies.insert(body.as_str()) {
            out.stored_twice += 1;
        }
    }
    for (i, (seq, _, _)) in rows.iter().enumerate() {
        if *seq != i as i64 + 1 {
            out.seq_faults += 1;
        }
    }
    for (seq, _, _) in rows {
        if *seq > record.agent_start_seq && !record.received.contains_key(seq) {
            out.missed_by_agent += 1;
        }
    }
    out.repeated_to_agent = record
        .received
        .values()
        .filter(|c| **c > 1)
        .map(|c| u64::from(c - 1))
        .sum();
    out
}

/// Parses `psql -At` output: `thread|seq|client_message_id|body` per line.
fn rows_by_thread(stored: &str) -> HashMap<i64, Vec<(i64, String, String)>> {
    let mut out: HashMap<i64, Vec<(i64, String, String)>> = HashMap::new();
    for line in stored.lines() {
        let mut parts = line.splitn(4, '|');
        let (Some(t), Some(s), Some(c), Some(b)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if let (Ok(t), Ok(s)) = (t.parse(), s.parse()) {
            out.entry(t)
                .or_default()
                .push((s, c.to_owned(), b.to_owned()));
        }
    }
    out
}

/// Adds the checks and figures of a run to `sink`.
///
/// The 1 s recovery is a check in a full run and a reported target in a smoke run (debug builds
/// on a busy CI machine: the smoke run proves the harness and the integrity checks).
pub fn report(
    records: &[Record],
    faults: &[Fault],
    stored: &str,
    enforce_recovery: bool,
    sink: &mut Sink,
) {
    let rows = rows_by_thread(stored);
    let mut total = Integrity::default();
    let empty = Vec::new();
    for r in records {
        let i = integrity(r, rows.get(&r.thread).unwrap_or(&empty));
        total.lost += i.lost;
        total.stored_twice += i.stored_twice;
        total.seq_faults += i.seq_faults;
        total.missed_by_agent += i.missed_by_agent;
        total.repeated_to_agent += i.repeated_to_agent;
    }
    let sent: usize = records.iter().map(|r| r.sent.len()).sum();
    let acked = records
        .iter()
        .flat_map(|r| &r.sent)
        .filter(|s| s.seq.is_some())
        .count();
    let retried = records
        .iter()
        .flat_map(|r| &r.sent)
        .filter(|s| s.attempts > 1)
        .count();
    sink.figure("messages sent", sent as f64, "", None);
    sink.figure("messages acknowledged", acked as f64, "", None);
    sink.figure(
        "messages sent more than once (retries)",
        retried as f64,
        "",
        None,
    );
    let undelivered: Vec<String> = records
        .iter()
        .flat_map(|r| {
            r.sent
                .iter()
                .enumerate()
                .filter(|(_, s)| s.delivered_ms.is_none())
                .map(move |(n, s)| format!("thread {} n={n} seq {:?}", r.thread, s.seq))
        })
        .collect();
    sink.check(
        "the agent received every message the client sent",
        undelivered.is_empty(),
        format!(
            "{} never received{}",
            undelivered.len(),
            undelivered
                .first()
                .map(|u| format!(", first: {u}"))
                .unwrap_or_default()
        ),
    );
    sink.check(
        "every message was acknowledged in the end",
        acked == sent,
        format!("{acked} of {sent}"),
    );
    sink.check(
        "nothing acknowledged was lost",
        total.lost == 0,
        format!(
            "{} acknowledged messages not stored under their seq",
            total.lost
        ),
    );
    sink.check(
        "nothing was stored twice",
        total.stored_twice == 0,
        format!("{} bodies stored more than once", total.stored_twice),
    );
    sink.check(
        "every thread's seq runs 1, 2, 3, ... with no gap",
        total.seq_faults == 0,
        format!("{} seq faults", total.seq_faults),
    );
    sink.check(
        "the agent received every stored message exactly once",
        total.missed_by_agent == 0 && total.repeated_to_agent == 0,
        format!(
            "{} missed, {} repeated",
            total.missed_by_agent, total.repeated_to_agent
        ),
    );

    let first_fault = faults.first().map_or(f64::MAX, |f| f.start_ms);
    let (base, _) = latencies(records, 0.0, first_fault);
    sink.latency(
        "send to delivery, before any fault",
        &base.summary(),
        None,
        None,
    );
    let mut slow = Vec::new();
    for (k, f) in faults.iter().enumerate() {
        let next = faults.get(k + 1).map_or(f64::MAX, |g| g.start_ms);
        let (rec, affected) = recovery(records, f.back_ms);
        let value = rec.unwrap_or(f64::INFINITY);
        sink.figure(
            format!(
                "{}: recovery after the return ({affected} conversations waiting)",
                f.name
            ),
            value,
            "ms",
            Some(Target::at_most(1000.0)),
        );
        if value > 1000.0 {
            slow.push(format!("{}: {value:.0} ms", f.name));
        }
        sink.figure(
            format!("{}: outage (fault to return)", f.name),
            f.back_ms - f.start_ms,
            "ms",
            None,
        );
        let (during, _) = latencies(records, f.start_ms, f.back_ms);
        sink.latency(
            &format!("{}: send to delivery, sent during", f.name),
            &during.summary(),
            None,
            None,
        );
        let (after, _) = latencies(records, f.back_ms, next);
        sink.latency(
            &format!("{}: send to delivery, sent after the return", f.name),
            &after.summary(),
            None,
            None,
        );
    }
    let detail = if slow.is_empty() {
        "all within 1 s".to_owned()
    } else {
        slow.join("; ")
    };
    if !enforce_recovery {
        sink.note(format!(
            "recovery within 1 s (not a check in a smoke run): {detail}"
        ));
        return finish(records, sink);
    }
    sink.check(
        "every conversation delivers again within 1 s of each dependency's return",
        slow.is_empty(),
        detail,
    );
    finish(records, sink);
}

/// Error frames, failed socket opens and reconnects.
fn finish(records: &[Record], sink: &mut Sink) {
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut refusals: BTreeMap<String, u64> = BTreeMap::new();
    let mut reconnects = 0;
    for r in records {
        for (k, v) in &r.error_codes {
            *errors.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &r.refusals {
            *refusals.entry(k.clone()).or_default() += v;
        }
        reconnects += r.reconnects;
    }
    let five_xx: u64 = refusals
        .iter()
        .filter(|(k, _)| k.strip_prefix("handshake 5").is_some())
        .map(|(_, v)| v)
        .sum();
    sink.figure(
        "socket reconnects (client and agent)",
        reconnects as f64,
        "",
        None,
    );
    sink.figure("5xx answers to socket upgrades", five_xx as f64, "", None);
    sink.note(format!("error frames by code: {}", describe(&errors)));
    sink.note(format!("failed socket opens: {}", describe(&refusals)));
}

fn describe(counts: &BTreeMap<String, u64>) -> String {
    if counts.is_empty() {
        return "none".to_owned();
    }
    counts
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(first: f64, delivered: Option<f64>, seq: Option<i64>) -> Sent {
        Sent {
            first_attempt_ms: first,
            attempts: 1,
            acked_ms: seq.map(|_| first + 1.0),
            seq,
            delivered_ms: delivered,
        }
    }

    #[test]
    fn recovery_is_the_last_delivery_of_what_waited_at_the_return() {
        let a = Record {
            sent: vec![
                sent(100.0, Some(150.0), Some(2)),
                sent(900.0, Some(1_300.0), Some(3)),
            ],
            ..Record::default()
        };
        let b = Record {
            sent: vec![sent(950.0, Some(1_100.0), Some(2))],
            ..Record::default()
        };
        let (worst, affected) = recovery(&[a.clone(), b], 1_000.0);
        assert_eq!(worst, Some(300.0));
        assert_eq!(affected, 2);
        let lost = Record {
            sent: vec![sent(900.0, None, None)],
            ..Record::default()
        };
        assert_eq!(recovery(&[a, lost], 1_000.0).0, None);
    }

    #[test]
    fn integrity_finds_lost_repeated_and_missed_messages() {
        let record = Record {
            thread: 7,
            sent: vec![sent(1.0, Some(2.0), Some(2)), sent(3.0, Some(4.0), Some(3))],
            received: BTreeMap::from([(2, 1), (3, 2)]),
            agent_start_seq: 1,
            ..Record::default()
        };
        let good = vec![
            (1, String::new(), "hello".to_owned()),
            (2, "ch-0-0".to_owned(), "chaos c=0 n=0".to_owned()),
            (3, "ch-0-1".to_owned(), "chaos c=0 n=1".to_owned()),
        ];
        let i = integrity(&record, &good);
        assert_eq!(i.lost, 0);
        assert_eq!(i.stored_twice, 0);
        assert_eq!(i.seq_faults, 0);
        assert_eq!(i.missed_by_agent, 0);
        assert_eq!(i.repeated_to_agent, 1);

        let bad = vec![
            (1, String::new(), "hello".to_owned()),
            (2, "ch-0-0".to_owned(), "chaos c=0 n=0".to_owned()),
            (4, "x".to_owned(), "chaos c=0 n=0".to_owned()),
        ];
        let i = integrity(&record, &bad);
        assert_eq!(i.lost, 1, "n=1 acked as seq 3 is not stored");
        assert_eq!(i.stored_twice, 1);
        assert_eq!(i.seq_faults, 1);
        assert_eq!(i.missed_by_agent, 1, "seq 4 never reached the agent");
    }

    #[test]
    fn reads_psql_rows() {
        let rows = rows_by_thread("7|1||hello from x\n7|2|ch-0-0|chaos c=0 n=0\nbad line\n");
        assert_eq!(rows[&7].len(), 2);
        assert_eq!(rows[&7][1].1, "ch-0-0");
    }
}
