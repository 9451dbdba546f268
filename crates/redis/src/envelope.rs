//! What travels on the Redis channel: an event (or a gap notice) stamped with the instance that
//! published it, as JSON.

use chat_domain::event::Event;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One message on the bus channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Envelope {
    /// The instance that published it; an instance ignores its own envelopes (it delivered them
    /// locally already).
    pub origin: Uuid,
    /// The event, or `None` for a gap notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Event>,
    /// True when the origin lost events on their way to Redis: receivers tell their subscribers
    /// to resynchronise from the store.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gap: bool,
    /// The origin's sequence number of this event, on a cluster (where its events travel on
    /// several channels and receivers put them back in order: see `reorder`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

impl Envelope {
    /// An event from `origin`.
    pub fn event(origin: Uuid, event: Event) -> Self {
        Envelope {
            origin,
            event: Some(event),
            gap: false,
            seq: None,
        }
    }

    /// The same, numbered `seq` in its origin's order.
    pub fn numbered(self, seq: Option<u64>) -> Self {
        Envelope { seq, ..self }
    }

    /// A notice from `origin` that some of its events never reached Redis.
    pub fn gap(origin: Uuid) -> Self {
        Envelope {
            origin,
            event: None,
            gap: true,
            seq: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_domain::{ThreadId, UserId};

    #[test]
    fn envelopes_round_trip_as_json() {
        let origin = Uuid::new_v4();
        let env = Envelope::event(
            origin,
            Event::Typing {
                thread_id: ThreadId(3),
                user_id: UserId(9),
            },
        );
        let json = serde_json::to_string(&env).unwrap();
        assert!(json.contains("\"type\":\"typing\""));
        assert!(!json.contains("gap"));
        let back: Envelope = serde_json::from_str(&json).unwrap();
        assert_eq!(back, env);

        let gap = Envelope::gap(origin);
        let back: Envelope = serde_json::from_str(&serde_json::to_string(&gap).unwrap()).unwrap();
        assert!(back.gap && back.event.is_none());
    }
}
