//! SLA clocks and reports: one running clock per track, ends and breaches exactly once, and the
//! reports' figures (percentiles by one definition) identical on every store.

use std::sync::Arc;

use chat_domain::label::NewLabel;
use chat_domain::ports::Store;
use chat_domain::report::{GroupBy, Percentiles, ReportRange};
use chat_domain::sla::{SlaEnd, SlaKind, SlaPolicy, SlaTargets};
use chat_domain::thread::ThreadType;
use chat_domain::Timestamp;

use crate::fixtures::{agent, client, minutes, thread};

fn policy() -> SlaPolicy {
    SlaPolicy {
        loan: SlaTargets {
            first_response: Some(300),
            next_response: Some(600),
            resolution: Some(3_600),
        },
        ..SlaPolicy::default()
    }
}

fn end(at: Timestamp, seconds: i64, met: bool) -> SlaEnd {
    SlaEnd {
        ended_at: at,
        seconds: Some(seconds),
        met: Some(met),
    }
}

/// A thread runs at most one clock per track; an end happens once; a breach and an at-risk
/// warning are each reported by exactly one sweep, and never for an ended clock.
pub fn sla_clocks_run_once_and_breach_once(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let ag = agent(&store, "agent");
    let t = thread(&store, &ann, ThreadType::Loan);
    let p = policy();
    let first = store
        .start_sla_clock(p.start(t.id, t.thread_type, SlaKind::FirstResponse, minutes(0)))
        .unwrap()
        .unwrap();
    assert_eq!(first.due_at, Some(minutes(5)));
    assert!(store
        .start_sla_clock(p.start(t.id, t.thread_type, SlaKind::NextResponse, minutes(1)))
        .unwrap()
        .is_none());
    let resolution = store
        .start_sla_clock(p.start(t.id, t.thread_type, SlaKind::Resolution, minutes(0)))
        .unwrap()
        .unwrap();
    assert!(store.warn_at_risk_clocks(minutes(3)).unwrap().is_empty());
    let warned = store.warn_at_risk_clocks(minutes(4)).unwrap();
    assert_eq!(
        warned.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![first.id]
    );
    assert!(store.warn_at_risk_clocks(minutes(4)).unwrap().is_empty());
    let breached = store.breach_due_clocks(minutes(6)).unwrap();
    assert_eq!(
        breached.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![first.id]
    );
    assert!(store.breach_due_clocks(minutes(7)).unwrap().is_empty());
    assert!(store
        .finish_sla_clock(first.id, end(minutes(8), 480, false), Some(ag.id))
        .unwrap());
    assert!(!store
        .finish_sla_clock(first.id, end(minutes(9), 540, false), Some(ag.id))
        .unwrap());
    assert!(store
        .breach_due_clocks(minutes(200))
        .unwrap()
        .iter()
        .all(|c| c.id == resolution.id));
    let clocks = store.sla_clocks(&[t.id]).unwrap();
    assert_eq!(clocks.len(), 2);
    let stored = clocks.iter().find(|c| c.id == first.id).unwrap();
    assert_eq!(stored.seconds, Some(480));
    assert_eq!(stored.met, Some(false));
    assert_eq!(stored.agent_id, Some(ag.id));
    assert_eq!(stored.breached_at, Some(minutes(6)));
    // A new response clock may start once the first ended.
    assert!(store
        .start_sla_clock(p.start(t.id, t.thread_type, SlaKind::NextResponse, minutes(10)))
        .unwrap()
        .is_some());
}

/// The summary and agents reports: counts, p50/p90 by `percentile_cont`'s definition, SLA met
/// share, grouped by type and agent.
pub fn reports_give_exact_figures(store: Arc<dyn Store>) {
    let ag = agent(&store, "agent");
    let p = policy();
    // Five loan threads answered after 60, 120, 300, 400, 900 seconds; resolved after 1000 s.
    let seconds = [60, 120, 300, 400, 900];
    for (i, s) in seconds.iter().enumerate() {
        let c = client(&store, &format!("c{i}"));
        let t = thread(&store, &c, ThreadType::Loan);
        let first = store
            .start_sla_clock(p.start(t.id, t.thread_type, SlaKind::FirstResponse, t.created_at))
            .unwrap()
            .unwrap();
        let res = store
            .start_sla_clock(p.start(t.id, t.thread_type, SlaKind::Resolution, t.created_at))
            .unwrap()
            .unwrap();
        let answered = t.created_at.plus_millis(s * 1000);
        store
            .finish_sla_clock(first.id, end(answered, *s, *s <= 300), Some(ag.id))
            .unwrap();
        store
            .finish_sla_clock(
                res.id,
                end(t.created_at.plus_millis(1_000_000), 1000, true),
                Some(ag.id),
            )
            .unwrap();
    }
    let range = ReportRange::new(minutes(-60), minutes(60 * 24));
    let by_type = store.report_summary(range, GroupBy::Type).unwrap();
    assert_eq!(by_type.len(), 1);
    let loan = &by_type[0];
    assert_eq!(loan.key, "loan");
    assert_eq!(loan.opened, 5);
    assert_eq!(loan.resolved, 5);
    // Positions: p50 at 2 -> 300; p90 at 3.6 -> 400 + 0.6 * 500 = 700.
    assert_eq!(
        loan.first_response,
        Percentiles {
            p50: Some(300.0),
            p90: Some(700.0)
        }
    );
    assert_eq!(loan.resolution.p50, Some(1000.0));
    assert_eq!((loan.sla_measured, loan.sla_met), (10, 8));
    assert_eq!(loan.rating_count, 0);
    let agents = store.report_agents(range, minutes(0)).unwrap();
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0].agent_id, ag.id);
    assert_eq!((agents[0].resolved, agents[0].responses), (5, 5));
    assert_eq!(agents[0].response.p90, Some(700.0));
    let by_agent = store.report_summary(range, GroupBy::Agent).unwrap();
    let keys: Vec<&str> = by_agent.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, vec![ag.id.0.to_string().as_str(), "none"]);
    // Nothing outside the range.
    let before = ReportRange::new(Timestamp(1), Timestamp(2));
    assert!(store
        .report_summary(before, GroupBy::Day)
        .unwrap()
        .is_empty());
    let backwards = ReportRange::new(minutes(60 * 24), minutes(-60));
    assert!(store
        .report_summary(backwards, GroupBy::Type)
        .unwrap()
        .is_empty());
    assert!(store
        .report_agents(backwards, minutes(0))
        .unwrap()
        .iter()
        .all(|a| a.resolved == 0 && a.responses == 0));
}

/// A row's key, opened, first response p50 and p90, clocks measured.
type Figures = (String, u64, Option<f64>, Option<f64>, u64);

/// The summary grouped by label: one row per label id (a thread with two labels counts in
/// both), `none` for threads without a label; percentiles per label by the one definition.
pub fn reports_group_by_label(store: Arc<dyn Store>) {
    let ag = agent(&store, "agent");
    let p = policy();
    let vip = store
        .insert_label(NewLabel::parse("vip", "#ff0000").unwrap())
        .unwrap();
    let billing = store
        .insert_label(NewLabel::parse("billing", "#00aa00").unwrap())
        .unwrap();
    // Three threads answered after 60 (vip, billing), 120 (vip) and 300 seconds (no label).
    for (i, (s, labels)) in [
        (60, vec![vip.id, billing.id]),
        (120, vec![vip.id]),
        (300, vec![]),
    ]
    .into_iter()
    .enumerate()
    {
        let c = client(&store, &format!("c{i}"));
        let t = thread(&store, &c, ThreadType::Loan);
        for l in labels {
            assert!(store.add_thread_label(t.id, l).unwrap());
        }
        let first = store
            .start_sla_clock(p.start(t.id, t.thread_type, SlaKind::FirstResponse, t.created_at))
            .unwrap()
            .unwrap();
        store
            .finish_sla_clock(
                first.id,
                end(t.created_at.plus_millis(s * 1000), s, s <= 300),
                Some(ag.id),
            )
            .unwrap();
    }
    let range = ReportRange::new(minutes(-60), minutes(60 * 24));
    let rows = store.report_summary(range, GroupBy::Label).unwrap();
    let figures: Vec<Figures> = rows
        .iter()
        .map(|r| {
            (
                r.key.clone(),
                r.opened,
                r.first_response.p50,
                r.first_response.p90,
                r.sla_measured,
            )
        })
        .collect();
    let mut expected = vec![
        (vip.id.0.to_string(), 2, Some(90.0), Some(114.0), 2),
        (billing.id.0.to_string(), 1, Some(60.0), Some(60.0), 1),
        ("none".to_owned(), 1, Some(300.0), Some(300.0), 1),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(figures, expected);
}
