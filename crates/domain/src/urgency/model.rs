//! From what a message says (its [`Concepts`]) to a score and short reasons.
//!
//! The score is a tier's base plus small adjustments that never cross into the next tier:
//!
//! | tier | base | meaning |
//! |---|---|---|
//! | act now | [`ACT_NOW`] | fraud, scam or takeover, money leaving now, threats, a legal deadline, a stolen card or phone, a block in the way of an urgent need |
//! | same day | [`SAME_DAY`] | failed, duplicate or wrong debits, late or missing money, lock-outs, blocks |
//! | normal | [`NORMAL`] | status questions, documents, changes |
//! | low | [`LOW`] | general questions, thanks, feedback, marketing opt-outs |
//!
//! A message with none of these signs scores [`UNCLEAR`] (between normal and low).

use super::lexicon::{concepts_in, Concept::*, Concepts};
use super::tokens::Tokens;

/// Base score of a message to act on now.
pub const ACT_NOW: i64 = 250;
/// Base score of a message to answer the same day.
pub const SAME_DAY: i64 = 160;
/// Base score of an ordinary request.
pub const NORMAL: i64 = 80;
/// Base score of a message that needs no quick answer.
pub const LOW: i64 = 20;
/// Score of a message with no sign either way.
pub const UNCLEAR: i64 = 60;

/// The most adjustments may add within each tier (act now, same day, normal, low): each stays
/// below the next tier's base.
const MAX_BONUS: [i64; 4] = [80, 70, 50, 30];

/// The most adjustments may take away: a calm tone lowers a message within its tier, not out of it.
const MAX_MALUS: i64 = 20;

/// A message's content score (before the thread type's prior) and its reasons.
pub(crate) fn content(body: &str) -> (i64, Vec<&'static str>) {
    let tokens = Tokens::new(body);
    let mut c = concepts_in(&tokens);
    if c.has(NothingLost) {
        // "nothing stolen, the system blocked it": no theft or fraud, whatever else holds.
        for alarm in [Fraud, Scam, Theft, IdentityTheft, Disowned] {
            c.remove(alarm);
        }
    }
    if c.has(Marketing) {
        // "this promotional spam is harassment": a complaint about marketing, not a threat.
        c.remove(Threat);
        c.insert(OptOut);
    }
    if c.has(Resolved) {
        // "stolen in March, already reported and replaced": an old alarm, not a live one.
        for alarm in [
            Fraud,
            Scam,
            Theft,
            Blocked,
            NotArrived,
            Failed,
            IdentityTheft,
            Disowned,
            Late,
            WrongDebit,
            LockedOut,
        ] {
            c.remove(alarm);
        }
    }
    let mut reasons = Vec::new();
    let tier = if let Some(mut r) = act_now(c) {
        reasons.append(&mut r);
        0
    } else if let Some(mut r) = same_day(c) {
        reasons.append(&mut r);
        1
    } else {
        let requests = c.count(&[Status, Document, Change]);
        // An opt-out is a request, but one that can wait: it weighs double against requests.
        let mut low = c.count(&[Praise, Feedback, OptOut, OptOut, Info]);
        if low == 0 && requests == 0 && c.any(&[Courtesy, Calm]) {
            low = 1;
        }
        if low > requests || (low > 0 && c.has(Calm) && low >= requests) {
            reasons.push(low_reason(c));
            3
        } else if requests > 0 || c.any(&[Chase, Late, NotArrived]) {
            reasons.push(normal_reason(c));
            2
        } else {
            reasons.push("no sign of urgency");
            4
        }
    };
    let distinct = reasons.len();
    let (base, bonus) = match tier {
        0 => (ACT_NOW, bonus(c, &tokens, &mut reasons, distinct)),
        1 => (SAME_DAY, bonus(c, &tokens, &mut reasons, distinct)),
        2 => (NORMAL, bonus(c, &tokens, &mut reasons, 1)),
        3 => (LOW, bonus(c, &tokens, &mut reasons, 1) / 2),
        _ => (UNCLEAR, bonus(c, &tokens, &mut reasons, 1).min(15)),
    };
    let cap = MAX_BONUS.get(tier).copied().unwrap_or(15);
    ((base + bonus.clamp(-MAX_MALUS, cap)).max(0), reasons)
}

fn act_now(c: Concepts) -> Option<Vec<&'static str>> {
    let mut r = Vec::new();
    let money_involved = c.any(&[Money, MoneyGone, MoneyLeaving]);
    if c.has(MoneyLeaving) || (c.has(Now) && c.has(MoneyGone)) {
        r.push("money leaving the account now");
    }
    if c.has(Threat) {
        r.push("threat of harm");
    }
    if c.has(Scam) {
        r.push("possible scam");
    }
    if c.has(IdentityTheft) {
        r.push("identity theft");
    }
    if c.has(Takeover) || (c.has(CredentialChanged) && c.has(Disowned)) {
        r.push("account takeover");
    }
    if c.has(CredentialsGiven) {
        r.push("security details given away");
    }
    if c.has(Fraud)
        || (c.has(Disowned)
            && (money_involved || c.any(&[Theft, Blocked, Now, BlockRequest, StopRequest])))
    {
        r.push("suspected fraud");
    }
    if c.has(Theft) {
        r.push("card or phone stolen");
    }
    if c.has(Legal) && c.any(&[DeadlineToday, DeadlineSoon, DeadlineHours]) {
        r.push("legal deadline");
    }
    if c.any(&[Medical, Stranded])
        && c.any(&[Blocked, LockedOut, Failed, BlockRequest, StopRequest])
    {
        r.push(if c.has(Medical) {
            "blocked with a medical need"
        } else {
            "blocked and stranded"
        });
    }
    if c.has(BlockRequest) {
        r.push("asks to block the card");
    }
    if c.any(&[Blocked, LockedOut]) && c.has(DeadlineHours) {
        r.push("blocked with a deadline within hours");
    }
    if c.has(MoneyGone) && c.has(Duplicate) {
        r.push("account being emptied");
    }
    (!r.is_empty()).then_some(r)
}

fn same_day(c: Concepts) -> Option<Vec<&'static str>> {
    let mut r = Vec::new();
    let money = c.any(&[Money, MoneyGone]);
    if c.has(Failed) {
        r.push("payment failed");
    }
    if c.has(Duplicate) && money {
        r.push("charged twice");
    }
    if c.has(WrongDebit) && (money || c.any(&[Duplicate, Failed])) {
        r.push("wrong debit");
    }
    if c.has(MoneyGone) {
        r.push("money gone from the account");
    }
    if c.has(NotArrived) && money {
        r.push("money not received");
    }
    if c.has(Late) && money {
        r.push("money late");
    }
    if c.has(LockedOut) {
        r.push("locked out");
    }
    if c.has(Blocked) {
        r.push("account blocked");
    }
    if c.has(StopRequest) {
        r.push("asks to stop a payment");
    }
    if c.has(Legal) {
        r.push("legal action");
    }
    if c.has(Medical) {
        r.push("medical need");
    }
    if c.has(Stranded) {
        r.push("stranded");
    }
    (!r.is_empty()).then_some(r)
}

fn low_reason(c: Concepts) -> &'static str {
    if c.has(OptOut) {
        "marketing opt-out"
    } else if c.any(&[Praise, Courtesy]) {
        "thanks or praise"
    } else if c.has(Feedback) {
        "feedback"
    } else if c.has(Info) {
        "general question"
    } else {
        "says it is not urgent"
    }
}

fn normal_reason(c: Concepts) -> &'static str {
    if c.has(Document) {
        "document request"
    } else if c.has(Change) {
        "change of details"
    } else {
        "status question"
    }
}

/// Adjustments within a tier: time pressure, the client's tone, and (for the top tiers) how
/// many distinct reasons there are. Pushes the reasons worth showing.
fn bonus(c: Concepts, tokens: &Tokens, reasons: &mut Vec<&'static str>, distinct: usize) -> i64 {
    let mut points = 12 * (distinct.saturating_sub(1).min(3) as i64);
    if c.has(DeadlineToday) {
        points += 20;
        reasons.push("deadline today");
    } else if c.has(DeadlineSoon) {
        points += 10;
        reasons.push("deadline soon");
    }
    if c.has(Now) {
        points += 10;
    }
    if c.has(Urgent) {
        points += 8;
    }
    if c.has(Distress) {
        points += 10;
        reasons.push("client is distressed");
    }
    if c.has(Chase) {
        points += 15;
        reasons.push("still no reply");
    }
    if tokens.shouting {
        points += 10;
        reasons.push("shouting");
    } else if tokens.punctuation_run >= 3 {
        points += 5;
    }
    if c.has(Calm) {
        points -= 30;
    }
    if c.any(&[Praise, Info, OptOut, Feedback]) {
        points -= 15;
    }
    points
}
