//! The log-in throttle contract: one check per rule of `chat_domain::ports::LoginThrottle`.
//! Each check gets `make`, which builds two throttles on one fresh backend (instance A and
//! instance B; one shared throttle in-process) with the policy the check needs, and moves time
//! only through the `now` it passes (no check sleeps or asserts how fast anything is).

use std::any::Any;
use std::sync::Arc;

use chat_domain::ports::LoginThrottle;
use chat_domain::throttle::{Locked, ThrottleKey, ThrottlePolicy};
use chat_domain::Timestamp;

/// Two throttles on one backend and what must outlive the check.
pub type ThrottlePair = (Arc<dyn LoginThrottle>, Arc<dyn LoginThrottle>, Box<dyn Any>);

/// Builds a [`ThrottlePair`] with a policy.
pub type MakeThrottles<'a> = &'a dyn Fn(ThrottlePolicy) -> ThrottlePair;

/// The policy of most checks: 3 failures per username, 5 per address, a one-minute window and
/// a two-minute lockout.
pub const POLICY: ThrottlePolicy = ThrottlePolicy {
    max_failures_per_username: 3,
    max_failures_per_ip: 5,
    window_ms: 60_000,
    lockout_ms: 120_000,
};

/// When the checks start.
pub const T0: i64 = 1_800_000_000_000;

fn at(offset_ms: i64) -> Timestamp {
    Timestamp(T0 + offset_ms)
}

fn user(name: &str) -> ThrottleKey {
    ThrottleKey::username(name, None)
}

fn ip(address: &str) -> ThrottleKey {
    ThrottleKey::Ip(address.parse().unwrap())
}

fn fail(t: &Arc<dyn LoginThrottle>, keys: &[ThrottleKey], times: usize, offset_ms: i64) {
    for _ in 0..times {
        t.record_failure(keys, at(offset_ms));
    }
}

fn is_open(t: &Arc<dyn LoginThrottle>, keys: &[ThrottleKey], offset_ms: i64) -> bool {
    t.check(keys, at(offset_ms)).is_ok()
}

fn refusal(t: &Arc<dyn LoginThrottle>, keys: &[ThrottleKey], offset_ms: i64) -> Locked {
    match t.check(keys, at(offset_ms)) {
        Err(locked) => locked,
        Ok(()) => panic!("{keys:?} at +{offset_ms} ms: expected a refusal"),
    }
}

/// A key is refused once its failures reach its limit, not before; other keys are not.
pub fn a_key_is_locked_at_its_limit_and_not_before(make: MakeThrottles) {
    let (a, _b, _guard) = make(POLICY);
    let ann = [user("ann")];
    for i in 0..2 {
        fail(&a, &ann, 1, i);
        assert!(is_open(&a, &ann, i), "locked after {} failures", i + 1);
    }
    fail(&a, &ann, 1, 2);
    refusal(&a, &ann, 2);
    assert!(is_open(&a, &[user("bob")], 2));
    assert!(is_open(&a, &[ip("10.0.0.1")], 2));
    let address = [ip("10.0.0.1")];
    fail(&a, &address, 4, 3);
    assert!(is_open(&a, &address, 3));
    fail(&a, &address, 1, 3);
    refusal(&a, &address, 3);
}

/// The refusal tells the seconds left, rounded up, at least 1; the lock holds while
/// `now < until` and ends at `until`.
pub fn the_refusal_tells_the_seconds_left_and_the_lock_ends_at_its_end(make: MakeThrottles) {
    let (a, _b, _guard) = make(POLICY);
    let ann = [user("ann")];
    fail(&a, &ann, 3, 0);
    assert_eq!(refusal(&a, &ann, 0).retry_after_seconds, 120);
    assert_eq!(refusal(&a, &ann, 1).retry_after_seconds, 120);
    assert_eq!(refusal(&a, &ann, 1_000).retry_after_seconds, 119);
    assert_eq!(refusal(&a, &ann, 119_001).retry_after_seconds, 1);
    assert_eq!(refusal(&a, &ann, 119_999).retry_after_seconds, 1);
    assert!(is_open(&a, &ann, 120_000));
}

/// After a lockout ends, counting starts over: one more failure does not lock again.
pub fn counting_starts_over_after_a_lockout(make: MakeThrottles) {
    let (a, _b, _guard) = make(POLICY);
    let ann = [user("ann")];
    fail(&a, &ann, 3, 0);
    fail(&a, &ann, 1, 120_000);
    assert!(is_open(&a, &ann, 120_000));
    fail(&a, &ann, 1, 120_001);
    assert!(is_open(&a, &ann, 120_001));
    fail(&a, &ann, 1, 120_002);
    assert_eq!(refusal(&a, &ann, 120_002).retry_after_seconds, 120);
}

/// Failures while locked neither extend the lockout nor count after it.
pub fn failures_while_locked_do_not_extend_the_lockout(make: MakeThrottles) {
    let (a, _b, _guard) = make(POLICY);
    let ann = [user("ann")];
    fail(&a, &ann, 3, 0);
    fail(&a, &ann, 5, 100_000);
    assert_eq!(refusal(&a, &ann, 100_000).retry_after_seconds, 20);
    assert!(is_open(&a, &ann, 120_000));
    fail(&a, &ann, 2, 120_000);
    assert!(is_open(&a, &ann, 120_000));
}

/// Failures are counted in a window from the first one; at `start + window` a new one starts.
pub fn failures_outside_the_window_start_over(make: MakeThrottles) {
    let (a, _b, _guard) = make(POLICY);
    let ann = [user("ann")];
    fail(&a, &ann, 1, 0);
    fail(&a, &ann, 1, 59_999);
    fail(&a, &ann, 1, 60_000);
    assert!(is_open(&a, &ann, 60_000));
    fail(&a, &ann, 1, 60_001);
    assert!(is_open(&a, &ann, 60_001));
    fail(&a, &ann, 1, 119_999);
    assert_eq!(refusal(&a, &ann, 119_999).retry_after_seconds, 120);
}

/// `check` refuses while any key is locked, with the latest-ending lockout, and counts nothing.
pub fn check_refuses_while_any_key_is_locked_and_counts_nothing(make: MakeThrottles) {
    let (a, _b, _guard) = make(POLICY);
    let address = ip("203.0.113.7");
    for i in 0..5 {
        fail(&a, &[user(&format!("user{i}")), address.clone()], 1, 0);
    }
    let carol = user("carol");
    assert_eq!(
        refusal(&a, &[carol.clone(), address.clone()], 0).retry_after_seconds,
        120
    );
    assert!(is_open(&a, std::slice::from_ref(&carol), 0));
    for _ in 0..10 {
        assert!(is_open(&a, std::slice::from_ref(&carol), 1));
    }
    fail(&a, std::slice::from_ref(&carol), 3, 10_000);
    assert_eq!(
        refusal(&a, &[address.clone(), carol.clone()], 10_000).retry_after_seconds,
        120
    );
    assert_eq!(refusal(&a, &[address], 10_000).retry_after_seconds, 110);
    assert!(is_open(&a, &[], 10_000));
}

/// A success forgets the username's failures (and lockout), not the address's.
pub fn success_forgets_the_username_but_not_the_address(make: MakeThrottles) {
    let (a, _b, _guard) = make(POLICY);
    let address = ip("10.0.0.1");
    let keys = [user("ann"), address.clone()];
    fail(&a, &keys, 2, 0);
    a.record_success(&keys, at(3));
    fail(&a, &keys, 2, 4);
    // ann: 2 since the success (open); the address: 4 in all (open).
    assert!(is_open(&a, &keys, 5));
    fail(&a, &keys, 1, 6);
    // ann: 3 (locked); the address: 5 (locked).
    refusal(&a, &[user("ann")], 7);
    refusal(&a, std::slice::from_ref(&address), 7);
    a.record_success(&[user("ann")], at(8));
    assert!(is_open(&a, &[user("ann")], 8));
    refusal(&a, &[address], 8);
}

/// Keys are distinct: usernames by their exact text (after trimming), addresses of either
/// family, and a username that reads like an address.
pub fn keys_are_distinct(make: MakeThrottles) {
    let (a, _b, _guard) = make(POLICY);
    let locked = user("ann:ip:10.0.0.1");
    fail(&a, std::slice::from_ref(&locked), 3, 0);
    refusal(&a, std::slice::from_ref(&locked), 0);
    refusal(&a, &[user("  ann:ip:10.0.0.1 ")], 0);
    for other in [
        user("ann"),
        user("Ann:ip:10.0.0.1"),
        user("10.0.0.1"),
        user("ann:ip:10.0.0.2"),
        user("ännä 日本"),
        ip("10.0.0.1"),
        ip("::1"),
    ] {
        assert!(is_open(&a, &[other], 0));
    }
    fail(&a, &[user("10.0.0.1")], 3, 0);
    assert!(is_open(&a, &[ip("10.0.0.1")], 0));
    fail(&a, &[user("ännä 日本")], 3, 0);
    refusal(&a, &[user("ännä 日本")], 0);
    fail(&a, &[ip("2001:db8::1")], 5, 0);
    refusal(&a, &[ip("2001:db8::1")], 0);
    assert!(is_open(&a, &[ip("2001:db8::2")], 0));
}

/// A username's failures count per address: locked from the guesser's address, open from its
/// owner's (and from an unknown address), in either address family.
pub fn a_username_locked_from_one_address_is_open_from_another(make: MakeThrottles) {
    let (a, b, _guard) = make(POLICY);
    let from = |address: &str| ThrottleKey::username("ann", Some(address.parse().unwrap()));
    fail(&a, &[from("10.0.0.1")], 3, 0);
    refusal(&a, &[from("10.0.0.1")], 1);
    refusal(&b, &[from("10.0.0.1")], 1);
    for other in [from("10.0.0.2"), from("2001:db8::1"), user("ann")] {
        assert!(is_open(&a, std::slice::from_ref(&other), 1), "{other:?}");
        assert!(is_open(&b, &[other], 1));
    }
}

/// Failures on instance A count on instance B and the other way round: the limit holds for
/// the deployment, not per instance.
pub fn failures_on_one_instance_count_on_the_other(make: MakeThrottles) {
    let (a, b, _guard) = make(POLICY);
    let ann = [user("ann")];
    fail(&a, &ann, 1, 0);
    fail(&b, &ann, 1, 1);
    assert!(is_open(&a, &ann, 2) && is_open(&b, &ann, 2));
    fail(&a, &ann, 1, 2);
    refusal(&a, &ann, 3);
    refusal(&b, &ann, 3);
    b.record_success(&ann, at(4));
    assert!(is_open(&a, &ann, 4));
}

/// Failures recorded at once from many threads, on both instances, are all counted, and only
/// the one that reaches the limit locks.
pub fn concurrent_failures_are_all_counted(make: MakeThrottles) {
    let policy = ThrottlePolicy {
        max_failures_per_username: 40,
        max_failures_per_ip: 1_000,
        ..POLICY
    };
    let (a, b, _guard) = make(policy);
    let keys = [user("ann"), ip("10.0.0.1")];
    std::thread::scope(|scope| {
        for i in 0..39 {
            let t = if i % 2 == 0 { &a } else { &b };
            let keys = &keys;
            scope.spawn(move || t.record_failure(keys, at(i)));
        }
    });
    assert!(is_open(&a, &keys, 100), "locked before the limit");
    fail(&b, &keys, 1, 100);
    assert_eq!(refusal(&a, &[user("ann")], 100).retry_after_seconds, 120);
}
