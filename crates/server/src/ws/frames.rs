//! The JSON frames of the socket protocol (`docs/PROTOCOL.md`): what clients send, parsed
//! without ever failing hard, and what the server sends beyond the domain's events.

use chat_domain::event::Event;
use chat_domain::user::{Role, User};
use chat_domain::{DomainError, MessageId, ThreadId, UserId};

use crate::error::ErrorDetail;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A frame a client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientFrame {
    /// Authenticates a socket opened without credentials.
    Auth {
        /// The bearer token from `POST /api/v1/sessions`.
        token: String,
    },
    /// Writes a message into the thread (`message.send`, or the seed page's `{"message": ..}`).
    Send {
        /// The text.
        body: String,
        /// Makes retries idempotent.
        client_message_id: Option<String>,
    },
    /// The user is typing.
    Typing,
    /// The user read the other side's messages up to a sequence number.
    Read {
        /// Everything up to and including this is read.
        up_to_seq: i64,
    },
    /// Replays every message after `last_seq`, then continues live.
    Resume {
        /// The last sequence number the client holds.
        last_seq: i64,
    },
    /// The holder renews its claim.
    ClaimRenew,
    /// An application-level heartbeat; answered with `pong`.
    Ping,
    /// Staff set their availability (queue socket).
    AvailabilitySet {
        /// `online`, `away` or `offline`.
        availability: String,
    },
}

/// Why a frame could not be understood; becomes an `error` frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    /// Machine-readable code: `malformed_json`, `unknown_type`, `invalid_frame`.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
    /// The `client_message_id` of a `message.send` frame that could not be understood, when
    /// it has one (a string); the `error` frame names it.
    pub client_message_id: Option<String>,
}

impl FrameError {
    /// A frame error with a code and message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        FrameError {
            code,
            message: message.into(),
            client_message_id: None,
        }
    }
}

#[derive(Deserialize)]
struct AuthFields {
    token: String,
}

#[derive(Deserialize)]
struct SendFields {
    body: String,
    #[serde(default)]
    client_message_id: Option<String>,
}

#[derive(Deserialize)]
struct ReadFields {
    up_to_seq: i64,
}

#[derive(Deserialize)]
struct AvailabilityFields {
    availability: String,
}

#[derive(Deserialize)]
struct ResumeFields {
    last_seq: i64,
}

impl ClientFrame {
    /// Parses a text frame.
    pub fn parse(text: &str) -> Result<Self, FrameError> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            FrameError::new("malformed_json", format!("frame is not valid JSON: {e}"))
        })?;
        let Value::Object(map) = &value else {
            return Err(invalid("a frame must be a JSON object"));
        };
        let kind = match map.get("type") {
            Some(Value::String(kind)) => kind.as_str(),
            Some(_) => return Err(invalid("\"type\" must be a string")),
            None => {
                // The seed page sends `{"message": "text"}`.
                return match map.get("message") {
                    Some(Value::String(body)) => Ok(ClientFrame::Send {
                        body: body.clone(),
                        client_message_id: None,
                    }),
                    _ => Err(invalid("a frame needs a \"type\"")),
                };
            }
        };
        match kind {
            "auth" => {
                fields::<AuthFields>(&value, kind).map(|f| ClientFrame::Auth { token: f.token })
            }
            "message.send" => fields::<SendFields>(&value, kind)
                .map(|f| ClientFrame::Send {
                    body: f.body,
                    client_message_id: f.client_message_id,
                })
                .map_err(|err| FrameError {
                    client_message_id: match map.get("client_message_id") {
                        Some(Value::String(id)) => Some(id.clone()),
                        _ => None,
                    },
                    ..err
                }),
            "typing" => Ok(ClientFrame::Typing),
            "read" => fields::<ReadFields>(&value, kind).map(|f| ClientFrame::Read {
                up_to_seq: f.up_to_seq,
            }),
            "resume" => fields::<ResumeFields>(&value, kind).map(|f| ClientFrame::Resume {
                last_seq: f.last_seq,
            }),
            "claim.renew" => Ok(ClientFrame::ClaimRenew),
            "ping" => Ok(ClientFrame::Ping),
            "availability.set" => {
                fields::<AvailabilityFields>(&value, kind).map(|f| ClientFrame::AvailabilitySet {
                    availability: f.availability,
                })
            }
            other => Err(FrameError::new(
                "unknown_type",
                format!("unknown frame type {:?}", truncate(other)),
            )),
        }
    }
}

fn fields<T: for<'de> Deserialize<'de>>(value: &Value, kind: &str) -> Result<T, FrameError> {
    T::deserialize(value).map_err(|e| invalid(&format!("bad {kind} frame: {e}")))
}

fn invalid(message: &str) -> FrameError {
    FrameError::new("invalid_frame", message)
}

fn truncate(text: &str) -> String {
    text.chars().take(40).collect()
}

/// A frame the server sends that is not a domain event.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type")]
pub enum ServerFrame {
    /// Authenticated and subscribed; on a thread socket, live events follow from here.
    #[serde(rename = "ready")]
    Ready {
        /// The thread (absent on the queue socket).
        #[serde(skip_serializing_if = "Option::is_none")]
        thread_id: Option<ThreadId>,
        /// The thread's last sequence number when the socket joined (absent on the queue).
        #[serde(skip_serializing_if = "Option::is_none")]
        last_seq: Option<i64>,
        /// Who is connected.
        user_id: UserId,
        /// Their role.
        role: Role,
    },
    /// A sent message is stored.
    #[serde(rename = "ack")]
    Ack {
        /// The thread.
        thread_id: ThreadId,
        /// The client's idempotency id, if it gave one.
        client_message_id: Option<String>,
        /// The stored message's id.
        message_id: MessageId,
        /// Its sequence number in the thread.
        seq: i64,
    },
    /// Answer to a `ping` frame.
    #[serde(rename = "pong")]
    Pong,
    /// Live events may have been lost: reload what the socket shows (queue sockets only;
    /// thread sockets are resynchronised by the server itself).
    #[serde(rename = "resync")]
    Resync,
    /// Something went wrong with a frame or an action (the same detail REST answers in
    /// `error`).
    #[serde(rename = "error")]
    Error(ErrorDetail),
}

impl ServerFrame {
    /// The `ready` frame of a thread socket.
    pub fn ready_in_thread(user: &User, thread_id: ThreadId, last_seq: i64) -> Self {
        ServerFrame::Ready {
            thread_id: Some(thread_id),
            last_seq: Some(last_seq),
            user_id: user.id,
            role: user.role,
        }
    }

    /// The `ready` frame of the queue socket.
    pub fn ready_in_queue(user: &User) -> Self {
        ServerFrame::Ready {
            thread_id: None,
            last_seq: None,
            user_id: user.id,
            role: user.role,
        }
    }

    /// An `error` frame with a code and message.
    pub fn error(code: &str, message: impl Into<String>) -> Self {
        ServerFrame::Error(ErrorDetail::new(code, message))
    }

    /// The `error` frame for a domain error.
    pub fn domain_error(err: &DomainError) -> Self {
        ServerFrame::Error(ErrorDetail::from_domain(err))
    }

    /// The `error` frame for a frame that could not be understood (naming the
    /// `client_message_id` of a `message.send`, when it has one).
    pub fn bad_frame(err: FrameError) -> Self {
        ServerFrame::Error(ErrorDetail {
            client_message_id: err.client_message_id,
            ..ErrorDetail::new(err.code, err.message)
        })
    }

    /// This frame answering a `message.send`: an `error` frame names the send's
    /// `client_message_id`, when the client gave one. Other frames are unchanged.
    pub fn answering(self, client_message_id: Option<String>) -> Self {
        match self {
            ServerFrame::Error(detail) => ServerFrame::Error(ErrorDetail {
                client_message_id,
                ..detail
            }),
            other => other,
        }
    }

    /// The frame as JSON text.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            r#"{"type":"error","code":"internal","message":"unserialisable frame"}"#.to_owned()
        })
    }
}

/// A domain event as the text frame sockets receive.
pub fn event_text(event: &Event) -> String {
    serde_json::to_string(event).unwrap_or_else(|_| {
        r#"{"type":"error","code":"internal","message":"unserialisable event"}"#.to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_frame_type_parses() {
        assert_eq!(
            ClientFrame::parse(r#"{"type":"auth","token":"t"}"#),
            Ok(ClientFrame::Auth { token: "t".into() })
        );
        assert_eq!(
            ClientFrame::parse(r#"{"type":"message.send","body":"hi","client_message_id":"a-1"}"#),
            Ok(ClientFrame::Send {
                body: "hi".into(),
                client_message_id: Some("a-1".into())
            })
        );
        assert_eq!(
            ClientFrame::parse(r#"{"message":"from the seed page"}"#),
            Ok(ClientFrame::Send {
                body: "from the seed page".into(),
                client_message_id: None
            })
        );
        assert_eq!(
            ClientFrame::parse(r#"{"type":"typing"}"#),
            Ok(ClientFrame::Typing)
        );
        assert_eq!(
            ClientFrame::parse(r#"{"type":"read","up_to_seq":4}"#),
            Ok(ClientFrame::Read { up_to_seq: 4 })
        );
        assert_eq!(
            ClientFrame::parse(r#"{"type":"resume","last_seq":0}"#),
            Ok(ClientFrame::Resume { last_seq: 0 })
        );
        assert_eq!(
            ClientFrame::parse(r#"{"type":"claim.renew"}"#),
            Ok(ClientFrame::ClaimRenew)
        );
        assert_eq!(
            ClientFrame::parse(r#"{"type":"ping"}"#),
            Ok(ClientFrame::Ping)
        );
    }

    #[test]
    fn bad_frames_get_an_error_code() {
        let code = |t: &str| ClientFrame::parse(t).map_err(|e| e.code);
        assert_eq!(code("{not json"), Err("malformed_json"));
        assert_eq!(code("[1,2]"), Err("invalid_frame"));
        assert_eq!(code(r#"{"type":"launch.missiles"}"#), Err("unknown_type"));
        assert_eq!(code(r#"{"type":7}"#), Err("invalid_frame"));
        assert_eq!(
            code(r#"{"type":"read","up_to_seq":"x"}"#),
            Err("invalid_frame")
        );
        assert_eq!(code(r#"{"type":"message.send"}"#), Err("invalid_frame"));
        assert_eq!(code(r#"{"message":5}"#), Err("invalid_frame"));
    }

    #[test]
    fn a_send_that_cannot_be_understood_names_its_client_message_id() {
        let err =
            ClientFrame::parse(r#"{"type":"message.send","client_message_id":"c-9"}"#).unwrap_err();
        assert_eq!(err.code, "invalid_frame");
        let json: Value = serde_json::from_str(&ServerFrame::bad_frame(err).to_text()).unwrap();
        assert_eq!(json["type"], "error");
        assert_eq!(json["client_message_id"], "c-9");

        let err =
            ClientFrame::parse(r#"{"type":"message.send","client_message_id":5}"#).unwrap_err();
        let json: Value = serde_json::from_str(&ServerFrame::bad_frame(err).to_text()).unwrap();
        assert!(json.get("client_message_id").is_none(), "{json}");

        let err = ClientFrame::parse(r#"{"type":"read","client_message_id":"c-9"}"#).unwrap_err();
        assert_eq!(err.client_message_id, None);
    }

    #[test]
    fn errors_answering_a_send_name_its_client_message_id_and_others_do_not() {
        let err = DomainError::Forbidden("no".into());
        let json: Value = serde_json::from_str(
            &ServerFrame::domain_error(&err)
                .answering(Some("c-1".into()))
                .to_text(),
        )
        .unwrap();
        assert_eq!(json["code"], "forbidden");
        assert_eq!(json["client_message_id"], "c-1");
        let json: Value = serde_json::from_str(&ServerFrame::domain_error(&err).to_text()).unwrap();
        assert!(json.get("client_message_id").is_none(), "{json}");
    }

    #[test]
    fn claimed_errors_name_the_holder() {
        let frame = ServerFrame::domain_error(&DomainError::Claimed {
            thread: ThreadId(1),
            holder: UserId(5),
            until: chat_domain::Timestamp(0),
        });
        let json: Value = serde_json::from_str(&frame.to_text()).unwrap();
        assert_eq!(json["type"], "error");
        assert_eq!(json["code"], "claimed");
        assert_eq!(json["holder_id"], 5);
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                any::<f64>().prop_map(Value::from),
                any::<String>().prop_map(Value::String),
                prop_oneof![
                    Just("message.send"),
                    Just("auth"),
                    Just("read"),
                    Just("resume"),
                    Just("typing"),
                    Just("ping"),
                    Just("claim.renew")
                ]
                .prop_map(|s| Value::String(s.to_owned())),
            ];
            leaf.prop_recursive(3, 24, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::btree_map(
                        prop_oneof![
                            Just("type".to_owned()),
                            Just("body".to_owned()),
                            Just("message".to_owned()),
                            Just("up_to_seq".to_owned()),
                            Just("last_seq".to_owned()),
                            Just("token".to_owned()),
                            Just("client_message_id".to_owned()),
                            "[a-z]{1,6}"
                        ],
                        inner,
                        0..5,
                    )
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #[test]
            fn any_text_is_a_frame_or_a_coded_refusal(text in any::<String>()) {
                if let Err(err) = ClientFrame::parse(&text) {
                    prop_assert!(["malformed_json", "invalid_frame", "unknown_type"].contains(&err.code));
                }
            }

            #[test]
            fn any_json_is_a_frame_or_a_coded_refusal(value in json_value()) {
                if let Err(err) = ClientFrame::parse(&value.to_string()) {
                    prop_assert!(["invalid_frame", "unknown_type"].contains(&err.code), "{}", err.code);
                }
            }

            #[test]
            fn a_send_frame_carries_any_body_and_id_unchanged(
                body in any::<String>(),
                id in proptest::option::of(any::<String>()),
            ) {
                let frame = serde_json::json!({
                    "type": "message.send", "body": body, "client_message_id": id,
                });
                prop_assert_eq!(
                    ClientFrame::parse(&frame.to_string()),
                    Ok(ClientFrame::Send { body: body.clone(), client_message_id: id.clone() })
                );
                let seed = serde_json::json!({"message": body});
                prop_assert_eq!(
                    ClientFrame::parse(&seed.to_string()),
                    Ok(ClientFrame::Send { body, client_message_id: None })
                );
            }
        }
    }
}
