//! SLA clocks and reports: one running clock per track, ends and breaches exactly once, and the
//! reports' figures (percentiles by one definition) identical on every store.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chat_domain::claim::Claim;
use chat_domain::message::{Appended, NewMessage};
use chat_domain::sla::{SlaApplied, SlaChange, SlaClock};
use chat_domain::thread::Thread;
use chat_domain::user::User;

use chat_domain::label::NewLabel;
use chat_domain::ports::{SharedPatch, SharedSlaDecision, Store};
use chat_domain::rating::NewRating;
use chat_domain::report::{
    AgentRow, GroupBy, Percentiles, ReportRange, SummaryRow, BUCKET_ERROR, EXACT_PERCENTILES_UP_TO,
};
use chat_domain::sla::{SlaEnd, SlaKind, SlaPolicy, SlaTargets};
use chat_domain::thread::ThreadType;
use chat_domain::{Timestamp, UserId};
use chat_memory::MemoryStore;

use crate::fixtures::{
    agent, agent_replied, client, client_wrote, minutes, new_message, thread, with_client_id,
};

pub(crate) fn policy() -> SlaPolicy {
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

/// Appends `new` with an SLA decision by `policy` and checks the port's promise: with
/// `WithMessage` the decided changes were made with the message, with `Left` none were (then
/// this helper makes them, as the service does). Answers the appended message and how many
/// times the decision was asked for.
fn append_deciding(
    store: &Arc<dyn Store>,
    policy: &SlaPolicy,
    new: NewMessage,
    patch: SharedPatch,
    sender: &User,
) -> (Appended, usize) {
    let thread = new.thread_id;
    let at = new.created_at;
    let before = store.sla_clocks(&[thread]).unwrap();
    let asked = Arc::new(AtomicUsize::new(0));
    let decided = Arc::new(Mutex::new(Vec::new()));
    let decide: SharedSlaDecision = {
        let (asked, decided, policy) = (Arc::clone(&asked), Arc::clone(&decided), policy.clone());
        let sender = (sender.role, sender.id);
        Arc::new(move |t: &Thread, clocks: &[SlaClock]| {
            asked.fetch_add(1, Ordering::SeqCst);
            let changes = policy.after_message(sender, t, at, clocks);
            decided.lock().unwrap().clone_from(&changes);
            changes
        })
    };
    let (appended, applied) = store.append_message_with_sla(new, patch, decide).unwrap();
    let after = store.sla_clocks(&[thread]).unwrap();
    match applied {
        SlaApplied::WithMessage => {
            let made = decided.lock().unwrap().clone();
            let started = made
                .iter()
                .filter(|c| matches!(c, SlaChange::Start(_)))
                .count();
            assert_eq!(after.len(), before.len() + started, "every start was made");
            for change in made {
                if let SlaChange::Finish { clock, end, agent } = change {
                    let ended = after.iter().find(|c| c.id == clock).unwrap();
                    assert_eq!(
                        (ended.ended_at, ended.seconds, ended.met, ended.agent_id),
                        (Some(end.ended_at), end.seconds, end.met, agent),
                        "every finish was made"
                    );
                }
            }
        }
        SlaApplied::Left => {
            assert_eq!(after, before, "a store that leaves the changes makes none");
            if appended.created {
                let clocks = store.sla_clocks(&[thread]).unwrap();
                let changes =
                    policy.after_message((sender.role, sender.id), &appended.thread, at, &clocks);
                for change in changes {
                    match change {
                        SlaChange::Start(clock) => {
                            store.start_sla_clock(clock).unwrap();
                        }
                        SlaChange::Finish { clock, end, agent } => {
                            store.finish_sla_clock(clock, end, agent).unwrap();
                        }
                    }
                }
            }
        }
    }
    (appended, asked.load(Ordering::SeqCst))
}

/// An append with an SLA decision: a client's first message starts the first-response and
/// resolution clocks, the agent's reply ends the response clock answered, the client's next
/// message starts a next-response clock; a retry decides and changes nothing. Every store ends
/// with the same clocks, whether it made the changes with the message or left them.
pub fn an_append_makes_its_sla_changes_once(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let ag = agent(&store, "agent");
    let t = thread(&store, &ann, ThreadType::Loan);
    let p = policy();
    let first = with_client_id(new_message(t.id, &ann, "my loan?", minutes(1)), "sla-1");
    let wrote: SharedPatch = Arc::new(|th: &Thread| Ok(client_wrote(th, minutes(1), 10, 1)));
    let (appended, asked) = append_deciding(&store, &p, first.clone(), Arc::clone(&wrote), &ann);
    assert!(appended.created);
    assert!(asked <= 1, "the decision is asked for at most once");
    let (retried, asked) = append_deciding(&store, &p, first, wrote, &ann);
    assert!(!retried.created);
    assert_eq!(asked, 0, "a retry decides nothing");
    let claim = Claim {
        agent_id: ag.id,
        until: minutes(30),
    };
    let reply = new_message(t.id, &ag, "looking at it", minutes(3));
    append_deciding(
        &store,
        &p,
        reply,
        Arc::new(move |_: &Thread| Ok(agent_replied(claim))),
        &ag,
    );
    let again = new_message(t.id, &ann, "and now?", minutes(4));
    let wrote_again: SharedPatch = Arc::new(|th: &Thread| Ok(client_wrote(th, minutes(4), 10, 2)));
    append_deciding(&store, &p, again, wrote_again, &ann);
    let clocks: Vec<_> = store
        .sla_clocks(&[t.id])
        .unwrap()
        .into_iter()
        .map(|c| {
            (
                c.kind,
                c.started_at,
                c.ended_at,
                c.seconds,
                c.met,
                c.agent_id,
            )
        })
        .collect();
    assert_eq!(
        clocks,
        vec![
            (
                SlaKind::FirstResponse,
                minutes(1),
                Some(minutes(3)),
                Some(120),
                Some(true),
                Some(ag.id)
            ),
            (SlaKind::Resolution, minutes(1), None, None, None, None),
            (SlaKind::NextResponse, minutes(4), None, None, None, None),
        ]
    );
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

/// What a report says, with agents and labels named (ids differ between stores).
type Named = Vec<(String, SummaryRow)>;

/// A desk over three UTC days (the day of `T0`, 10:00, and the two after), built by the same
/// calls on any store: threads of every type opened across the days, taken and handed on by
/// two agents (so their last agent moves), clocks of every kind ended on each day (answered,
/// missed, unanswered), ratings, a label. Returns the agents' and labels' names by id.
pub fn desk(store: &Arc<dyn Store>) -> HashMap<String, String> {
    let p = policy();
    let mut names = HashMap::new();
    let a1 = agent(store, "alice");
    let a2 = agent(store, "bob");
    names.insert(a1.id.0.to_string(), "alice".to_owned());
    names.insert(a2.id.0.to_string(), "bob".to_owned());
    let vip = store
        .insert_label(NewLabel::parse("vip", "#ff0000").unwrap())
        .unwrap();
    names.insert(vip.id.0.to_string(), "vip".to_owned());
    let types = [ThreadType::Loan, ThreadType::Payment, ThreadType::Other];
    for i in 0..12_i64 {
        let c = client(store, &format!("c{i}"));
        // Opened every 5 hours from T0 (10:00): across three days.
        let opened = minutes(i * 300);
        let t = store
            .open_thread(c.id, types[(i % 3) as usize], opened)
            .unwrap();
        if i % 4 == 0 {
            assert!(store.add_thread_label(t.id, vip.id).unwrap());
        }
        let holder = if i % 2 == 0 { &a1 } else { &a2 };
        if i % 5 != 4 {
            store
                .try_claim(t.id, holder.id, opened.plus_millis(3_600_000), opened)
                .unwrap();
        }
        if i % 3 == 1 {
            // Handed on to the other agent: the thread's last agent moves.
            let other = if i % 2 == 0 { &a2 } else { &a1 };
            store
                .force_claim(t.id, other.id, opened.plus_millis(7_200_000), opened)
                .unwrap();
        }
        let first = store
            .start_sla_clock(p.start(t.id, t.thread_type, SlaKind::FirstResponse, opened))
            .unwrap()
            .unwrap();
        let res = store
            .start_sla_clock(p.start(t.id, t.thread_type, SlaKind::Resolution, opened))
            .unwrap()
            .unwrap();
        // Answered after 1 to 24 minutes; a few never (ended unanswered by the resolve).
        let secs = 60 + (i * 137) % 1_380;
        let answered = opened.plus_millis(secs * 1000);
        let who = Some(holder.id).filter(|_| i % 6 != 5);
        let first_end = if i % 7 == 6 {
            SlaEnd {
                ended_at: answered,
                seconds: None,
                met: None,
            }
        } else {
            end(answered, secs, secs <= 300)
        };
        store.finish_sla_clock(first.id, first_end, who).unwrap();
        if i % 2 == 0 {
            let next = store
                .start_sla_clock(p.start(t.id, t.thread_type, SlaKind::NextResponse, answered))
                .unwrap()
                .unwrap();
            store
                .finish_sla_clock(
                    next.id,
                    end(answered.plus_millis(90_000 + i * 1000), 90 + i, true),
                    who,
                )
                .unwrap();
        }
        if i % 3 != 2 {
            let took = 3_000 + i * 977;
            let at = opened.plus_millis(took * 1000);
            store
                .finish_sla_clock(res.id, end(at, took, took <= 3_600), who)
                .unwrap();
            store
                .insert_rating(NewRating {
                    thread_id: t.id,
                    client_id: c.id,
                    agent_id: Some(holder.id),
                    score: (1 + i % 5) as i32,
                    comment: None,
                    created_at: at.plus_millis(600_000),
                })
                .unwrap();
        }
    }
    names
}

fn named(names: &HashMap<String, String>, rows: Vec<SummaryRow>) -> Named {
    let mut out: Named = rows
        .into_iter()
        .map(|mut r| {
            if let Some(name) = names.get(&r.key) {
                r.key = name.clone();
            }
            (r.key.clone(), r)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn named_agents(names: &HashMap<String, String>, rows: Vec<AgentRow>) -> Vec<(String, AgentRow)> {
    let mut out: Vec<(String, AgentRow)> = rows
        .into_iter()
        .map(|mut r| {
            let name = names[&r.agent_id.0.to_string()].clone();
            r.agent_id = UserId(0);
            (name, r)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The ranges the report checks read: whole days, ranges cut inside a day at either end or
/// both, a range inside one day, across all three days, and empty or backwards ones.
fn ranges() -> Vec<ReportRange> {
    let midnight = minutes(-600);
    let at = |hours: i64| midnight.plus_millis(hours * 3_600_000);
    vec![
        ReportRange::new(at(0), at(24)),
        ReportRange::new(at(0), at(72)),
        ReportRange::new(at(11), at(24)),
        ReportRange::new(at(24), at(61)),
        ReportRange::new(at(13), at(59)),
        ReportRange::new(at(30), at(31)),
        ReportRange::new(at(-48), at(120)),
        ReportRange::new(at(47), at(47)),
        ReportRange::new(at(60), at(12)),
    ]
}

/// Folds every ended clock waiting for the store's rollup into it, a few at a time (so a fold
/// of several batches is exercised); answers how many moved.
fn fold_all(store: &Arc<dyn Store>) -> u64 {
    let mut moved = 0;
    loop {
        let n = store.fold_reports(3).unwrap();
        assert!(n <= 3, "{n}");
        moved += n;
        if n == 0 {
            return moved;
        }
    }
}

/// Reports from a store's rollup (whole days) and raw edges equal the reference computed from
/// every fact (the memory store given the same calls), for every grouping and range, including
/// openings whose last agent moved, unanswered clocks and ratings; the same before and after
/// the ended clocks waiting for the rollup are folded into it.
pub fn reports_over_any_range_equal_the_facts_counted_raw(store: Arc<dyn Store>) {
    let reference: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let names = desk(&store);
    let ref_names = desk(&reference);
    let now = minutes(60 * 30);
    for folded in [false, true] {
        if folded {
            fold_all(&store);
            assert_eq!(store.fold_reports(100).unwrap(), 0);
        }
        for range in ranges() {
            for group_by in [GroupBy::Day, GroupBy::Agent, GroupBy::Type, GroupBy::Label] {
                let got = named(&names, store.report_summary(range, group_by).unwrap());
                let want = named(
                    &ref_names,
                    reference.report_summary(range, group_by).unwrap(),
                );
                assert_eq!(got, want, "{group_by:?} over {range:?}, folded: {folded}");
            }
            let got = named_agents(&names, store.report_agents(range, now).unwrap());
            let want = named_agents(&ref_names, reference.report_agents(range, now).unwrap());
            assert_eq!(got, want, "agents over {range:?}, folded: {folded}");
        }
    }
    // The desk has figures: three days of openings, clocks and ratings.
    let all = store.report_summary(ranges()[1], GroupBy::Day).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all.iter().map(|r| r.opened).sum::<u64>(), 12);
    assert!(all.iter().all(|r| r.sla_measured > 0));
    assert_eq!(all.iter().map(|r| r.rating_count).sum::<u64>(), 8);
}

/// Above `EXACT_PERCENTILES_UP_TO` values a report's percentiles come from buckets: the same
/// figures on every store (rollup and raw edges added up), within `BUCKET_ERROR` of the exact
/// ones; the counts stay exact.
pub fn reports_above_the_exact_limit_use_buckets_within_the_bound(store: Arc<dyn Store>) {
    let reference: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let n = EXACT_PERCENTILES_UP_TO as i64 + 400;
    let mut values = Vec::new();
    for s in [&store, &reference] {
        let ag = agent(s, "agent");
        let c = client(s, "ann");
        let t = thread(s, &c, ThreadType::Loan);
        let p = policy();
        values.clear();
        for i in 0..n {
            // Ended over three days (from T0, every 2 minutes), 30 s to about 2 h.
            let at = minutes(0).plus_millis(i * 120_000);
            let secs = 30 + (i * 7_919) % 7_000;
            values.push(secs);
            let clock = s
                .start_sla_clock(p.start(t.id, t.thread_type, SlaKind::FirstResponse, at))
                .unwrap()
                .unwrap();
            s.finish_sla_clock(clock.id, end(at, secs, secs <= 300), Some(ag.id))
                .unwrap();
        }
    }
    values.sort_unstable();
    let exact = Percentiles::of_sorted(&values);
    // From 11:00 on T0's day to 06:00 two days later: a whole day between two partial ones.
    let range = ReportRange::new(minutes(60), minutes(60 * 44));
    let inside = |i: i64| (3_600_000..44 * 3_600_000).contains(&(i * 120_000));
    let in_range = (0..n).filter(|i| inside(*i)).count() as u64;
    assert!(in_range > EXACT_PERCENTILES_UP_TO, "{in_range}");
    let got = store.report_summary(range, GroupBy::Type).unwrap();
    let want = reference.report_summary(range, GroupBy::Type).unwrap();
    assert_eq!(got, want);
    assert_eq!(got.len(), 1);
    let all = ReportRange::new(minutes(-60), minutes(60 * 72));
    let agents = store.report_agents(all, minutes(0)).unwrap();
    // Folded into the rollup, the clocks give the same figures.
    fold_all(&store);
    assert_eq!(store.report_summary(range, GroupBy::Type).unwrap(), got);
    assert_eq!(store.report_agents(all, minutes(0)).unwrap(), agents);
    let mut in_values: Vec<i64> = (0..n)
        .filter(|i| inside(*i))
        .map(|i| 30 + (i * 7_919) % 7_000)
        .collect();
    in_values.sort_unstable();
    let exact_in = Percentiles::of_sorted(&in_values);
    assert_eq!(got[0].sla_measured, in_range);
    for (e, a) in [
        (exact_in.p50, got[0].first_response.p50),
        (exact_in.p90, got[0].first_response.p90),
    ] {
        let (e, a) = (e.unwrap(), a.unwrap());
        assert!((a - e).abs() / e < BUCKET_ERROR, "{a} vs exact {e}");
    }
    // Over everything (T0's day is partial: it starts at 10:00).
    assert_eq!(agents, reference.report_agents(all, minutes(0)).unwrap());
    assert_eq!(agents[0].responses, n as u64);
    for (e, a) in [
        (exact.p50, agents[0].response.p50),
        (exact.p90, agents[0].response.p90),
    ] {
        let (e, a) = (e.unwrap(), a.unwrap());
        assert!((a - e).abs() / e < BUCKET_ERROR, "{a} vs exact {e}");
    }
}
