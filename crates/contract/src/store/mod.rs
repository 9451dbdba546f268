//! The store contract: one check per rule of `chat_domain::ports::{UserStore, SessionStore,
//! ThreadStore, MessageStore, CannedReplyStore, RoutingStore, LabelStore, RatingStore}`. Each takes a
//! fresh, empty store.

mod attachments;
mod canned;
mod claims;
mod inbox;
mod labels;
mod messages;
mod notes;
mod queue;
mod ratings;
mod routing;
mod search;
mod sessions;
mod sla;
mod text;
mod threads;
mod users;
mod webhooks;

pub use attachments::*;
pub use canned::*;
pub use claims::*;
pub use inbox::*;
pub use labels::*;
pub use messages::*;
pub use notes::*;
pub use queue::*;
pub use ratings::*;
pub use routing::*;
pub use search::*;
pub use sessions::*;
pub use sla::*;
pub use text::*;
pub use threads::*;
pub use users::*;
pub use webhooks::*;
