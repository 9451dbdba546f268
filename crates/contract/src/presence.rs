//! The presence contract (`chat_domain::ports::Presence`), on two instances of one backend.

use std::collections::HashSet;
use std::sync::Arc;

use chat_domain::ports::Presence;
use chat_domain::UserId;

use crate::fixtures::{minutes, T0};

/// Two presence adapters on one fresh backend (instance A, instance B), and a guard.
pub type PresencePair = (Arc<dyn Presence>, Arc<dyn Presence>, Box<dyn std::any::Any>);

fn set(ids: &[i64]) -> HashSet<UserId> {
    ids.iter().map(|i| UserId(*i)).collect()
}

/// A heartbeat makes its users present until its end (exclusive), on every instance; others
/// are not.
pub fn a_beat_makes_users_present_until_its_end((a, b, _g): PresencePair) {
    let users = [UserId(1), UserId(2), UserId(3)];
    assert!(a.present(&users, T0).unwrap().is_empty());
    a.beat(&users[..2], "instance-a", T0, minutes(1)).unwrap();
    assert_eq!(a.present(&users, T0).unwrap(), set(&[1, 2]));
    assert_eq!(
        b.present(&users, minutes(1).plus_millis(-1)).unwrap(),
        set(&[1, 2])
    );
    assert!(b.present(&users, minutes(1)).unwrap().is_empty());
    assert!(a.present(&[], T0).unwrap().is_empty());
}

/// A later heartbeat from the same instance replaces the earlier one, even with an earlier
/// end; another instance's entry keeps the user present.
pub fn beats_replace_per_instance_and_instances_add_up((a, b, _g): PresencePair) {
    let u = [UserId(7)];
    a.beat(&u, "instance-a", T0, minutes(10)).unwrap();
    a.beat(&u, "instance-a", T0, minutes(2)).unwrap();
    assert!(b.present(&u, minutes(3)).unwrap().is_empty());
    b.beat(&u, "instance-b", minutes(3), minutes(5)).unwrap();
    assert_eq!(a.present(&u, minutes(4)).unwrap(), set(&[7]));
    a.beat(&u, "instance-a", minutes(4), minutes(8)).unwrap();
    assert_eq!(a.present(&u, minutes(6)).unwrap(), set(&[7]));
    assert!(a.present(&u, minutes(8)).unwrap().is_empty());
}

/// Leaving removes that instance's entry only.
pub fn leaving_removes_only_that_instance((a, b, _g): PresencePair) {
    let u = [UserId(4)];
    a.beat(&u, "instance-a", T0, minutes(5)).unwrap();
    b.beat(&u, "instance-b", T0, minutes(5)).unwrap();
    a.leave(UserId(4), "instance-a").unwrap();
    assert_eq!(a.present(&u, minutes(1)).unwrap(), set(&[4]));
    b.leave(UserId(4), "instance-b").unwrap();
    assert!(a.present(&u, minutes(1)).unwrap().is_empty());
    b.leave(UserId(5), "instance-b").unwrap();
}
