//! The model on the cases keyword matching gets wrong, and on sentences written in other styles
//! than the corpus (texting, formal letters, non-native English), checked by their order.

use super::*;

fn score(body: &str) -> i64 {
    UrgencyRules::default()
        .assess(ThreadType::Other, body)
        .score
}

fn reasons(body: &str) -> Vec<String> {
    UrgencyRules::default()
        .assess(ThreadType::Other, body)
        .reasons
}

fn is_act_now(body: &str) -> bool {
    score(body) >= ACT_NOW
}

fn is_low(body: &str) -> bool {
    score(body) < NORMAL
}

#[test]
fn negations_are_not_alarms() {
    for body in [
        "Not fraud, just a question: what does 'POS TXN' mean?",
        "no urgent need, nothing stolen, just want to know the branch timings",
        "This is not urgent at all, just curious about your savings rates",
        "my card is not lost, I only want to know the annual fee",
    ] {
        assert!(is_low(body), "{body}: {}", score(body));
    }
}

#[test]
fn harmless_uses_are_not_alarms() {
    for body in [
        "I read your blog about fraud prevention, very informative",
        "the road outside your branch is blocked by construction, FYI",
        "Stolen idea maybe, but you should add a split-bill feature",
        "your fraud alert emails look like phishing emails, maybe redesign them",
        "I have blocked your promotional number, please remove me from the list",
    ] {
        assert!(is_low(body), "{body}: {:?}", reasons(body));
    }
}

#[test]
fn emergencies_without_keywords_are_act_now() {
    for body in [
        "there is a man at the door demanding cash for my loan and he won't leave",
        "a caller is threatening arrest unless I transfer the money within the hour",
        "money is being moved from our joint account right now",
        "my mother gave her PIN to a caller and amounts are leaving her account as we speak",
        "the recovery agent came to my home and said he will come back tonight with more men",
    ] {
        assert!(is_act_now(body), "{body}: {:?}", reasons(body));
    }
}

#[test]
fn reasons_are_short_and_say_what_is_happening() {
    assert!(
        reasons("money is being moved from our joint account right now")
            .contains(&"money leaving the account now".to_owned())
    );
    assert!(reasons("a caller is threatening arrest unless I pay")
        .contains(&"threat of harm".to_owned()));
    assert!(
        reasons("can't log in since morning, need to pay my rent today")
            .contains(&"deadline today".to_owned())
    );
    for r in reasons("URGENT!!! someone is using my card, block it now") {
        assert!(r.len() <= 32, "{r}");
    }
}

#[test]
fn a_resolved_old_alarm_is_an_ordinary_request() {
    let body = "My card was stolen last year, already reported and replaced. I need the police report reference";
    assert!(!is_act_now(body) && !is_low(body), "{:?}", reasons(body));
}

#[test]
fn several_unanswered_messages_raise_a_thread_within_reason() {
    let rules = UrgencyRules::default();
    let one = rules.assess_all(ThreadType::Loan, ["when is my disbursement due?"]);
    let four = rules.assess_all(
        ThreadType::Loan,
        [
            "when is my disbursement due?",
            "hello?",
            "still no reply",
            "WHY IS NOBODY ANSWERING",
        ],
    );
    assert!(
        four.score > one.score + 2 * POINTS_PER_FURTHER_MESSAGE,
        "{four:?}"
    );
    assert!(four.reasons.contains(&"4 unanswered messages".to_owned()));
    let card = rules.assess(ThreadType::Other, "my card was stolen an hour ago");
    assert!(
        card.score > four.score,
        "a fresh emergency still comes first"
    );
}

/// Sentences in styles the corpus does not use, grouped by how soon they need an answer; every
/// sentence of a group must score above every sentence of the groups below it.
#[test]
fn other_styles_are_ordered_by_need() {
    let act_now = [
        // texting
        "pls hlp sum1 usin my card rn, 3 txns i didnt do",
        "bro my fone got snatched n the app is open on it",
        "guy at my door sayin hes from ur bank n wants cash now, scared",
        // formal letter
        "Dear Sir, I wish to inform you that unauthorised withdrawals are presently being made from my account. Kindly freeze it at once.",
        "Respected Madam, a gentleman claiming to represent your recovery department has threatened my family with violence.",
        // non-native English
        "Sir my account money is going out continuously, i not doing any transaction, please stop",
        "Somebody take loan on my name with fake document, i never apply, please help",
    ];
    let same_day = [
        "payment failed but money cut from acc, pls chk",
        "cant login since morning, otp not coming, need to pay school fees today",
        "Dear Sir, I have been charged twice for my EMI this month. I request you to reverse the duplicate debit.",
        "Respected Sir, the refund promised within five working days has not been credited after two weeks.",
        "My salary is not come in account, company is saying they sent it, please see",
    ];
    let normal = [
        "need my loan statement for last yr",
        "Kindly update my residential address in your records; the proof is enclosed.",
        "what is status of my loan application, i submit documents last week",
    ];
    let low = [
        "thx guys, gr8 service",
        "Kindly remove my name from your marketing mailing list.",
        "do u hav branch in goa?",
        "I only want to say thank you, the staff was very kind with me",
    ];
    let groups = [&act_now[..], &same_day[..], &normal[..], &low[..]];
    for (g, higher) in groups.iter().enumerate() {
        for lower in &groups[g + 1..] {
            for a in *higher {
                for b in *lower {
                    assert!(
                        score(a) > score(b),
                        "{a:?} ({}: {:?}) should outrank {b:?} ({}: {:?})",
                        score(a),
                        reasons(a),
                        score(b),
                        reasons(b)
                    );
                }
            }
        }
    }
}
