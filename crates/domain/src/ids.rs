//! Identifiers of the domain's entities.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// Identifies a user (client, agent or admin).
    UserId
);
id_type!(
    /// Identifies a conversation thread.
    ThreadId
);
id_type!(
    /// Identifies a stored message.
    MessageId
);
id_type!(
    /// Identifies a canned reply.
    CannedReplyId
);
id_type!(
    /// Identifies a label (a tag staff put on threads).
    LabelId
);
id_type!(
    /// Identifies a client's rating of a resolved conversation.
    RatingId
);
id_type!(
    /// Identifies a webhook endpoint.
    WebhookId
);
