//! The OpenAPI 3 document of `/api/v1` (and `/metrics`), generated from the handlers'
//! annotations.

use actix_web::HttpResponse;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::metrics;
use crate::routes::v1::{
    accounts, agent_tools, attachments, claims, conversations, labels, queue, ratings, reports,
    routing, webhooks,
};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Support chat API", description = "Clients write in; agents answer one to one."),
    paths(
        accounts::sign_up, accounts::me, accounts::user, accounts::delete_user,
        accounts::log_in, accounts::log_out,
        conversations::create_thread, conversations::list_threads, conversations::get_thread,
        conversations::list_messages, conversations::post_message, conversations::post_note,
        conversations::mark_read,
        conversations::conversation,
        claims::claim, claims::renew, claims::release, claims::take_over, claims::set_status,
        queue::queue,
        reports::summary, reports::agents,
        agent_tools::list_canned, agent_tools::add_canned, agent_tools::delete_canned,
        agent_tools::render_canned, agent_tools::search, agent_tools::search_clients,
        agent_tools::client_context,
        routing::set_availability, routing::set_capacity, routing::agents,
        routing::get_mode, routing::set_mode, routing::transfer,
        metrics::http::scrape,
        labels::list_labels, labels::add_label, labels::add_thread_label,
        labels::remove_thread_label,
        ratings::rate,
        webhooks::list_webhooks, webhooks::add_webhook, webhooks::update_webhook,
        webhooks::delete_webhook, webhooks::deliveries, webhooks::replay,
        attachments::upload, attachments::download,
    ),
    modifiers(&BearerAuth, &EdgeResponses, &UploadEncoding)
)]
pub struct ApiDoc;

struct BearerAuth;

/// The upload's `file` part: the media types the server accepts (recognised from the content,
/// whatever the part's own `Content-Type` says), as the multipart body's `encoding`.
struct UploadEncoding;

impl Modify for UploadEncoding {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(item) = openapi
            .paths
            .paths
            .get_mut("/api/v1/threads/{id}/attachments")
        else {
            return;
        };
        let Some(body) = item.post.as_mut().and_then(|op| op.request_body.as_mut()) else {
            return;
        };
        if let Some(content) = body.content.get_mut("multipart/form-data") {
            let types = chat_domain::attachment::FileType::ALL
                .iter()
                .map(|t| t.mime().split(';').next().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(", ");
            content.encoding.insert(
                "file".to_owned(),
                utoipa::openapi::encoding::EncodingBuilder::new()
                    .content_type(Some(types))
                    .build(),
            );
        }
    }
}

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "metrics_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "`metrics.token` from the server's config, required only when it is set",
                    ))
                    .build(),
            ),
        );
    }
}

/// The answers the edge gives on any route, stated on every operation they can happen to (a
/// route's own annotation keeps its more precise description when it lists one): 400 when a
/// path, query or body cannot be read (`bad_path`, `bad_query`, `bad_json`), 401 without a valid
/// bearer token where one is required, 413 for a body over `server.max_body_bytes`, 500 for a
/// bug of ours and 503 when the store or Redis cannot be reached (every operation under
/// `/api/` reads the store, if only for the token; `/metrics` does not).
struct EdgeResponses;

impl Modify for EdgeResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in &mut openapi.paths.paths {
            let reads_store = path.starts_with("/api/");
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let reads_input = operation.request_body.is_some()
                    || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let needs_token = operation.security.as_ref().is_some_and(|requirements| {
                    !requirements.is_empty()
                        && requirements
                            .iter()
                            .all(|r| *r != SecurityRequirement::default())
                });
                let optional_token = operation
                    .security
                    .as_ref()
                    .is_some_and(|requirements| requirements.len() > 1);
                if reads_input {
                    add(operation, "400", "the path, query or body cannot be read (`bad_path`,                         `bad_query`, `bad_json`, `missing_field`)");
                }
                if needs_token || optional_token {
                    add(operation, "401", "no valid bearer token (`unauthenticated`, with                         `WWW-Authenticate: Bearer`)");
                }
                if operation.request_body.is_some() {
                    add(operation, "413", "the body is over the server's limit                         (`payload_too_large`)");
                }
                add(
                    operation,
                    "500",
                    "a bug of ours (`internal`); the cause is logged, never answered",
                );
                if !reads_store {
                    continue;
                }
                add_with(
                    operation,
                    "503",
                    "the store or Redis cannot be reached (`unavailable`, answered within \
                     `database.checkout_timeout_ms`); try again after `Retry-After`",
                    Some(("Retry-After", "seconds to wait before trying again")),
                );
            }
        }
    }
}

fn add(operation: &mut utoipa::openapi::path::Operation, status: &str, description: &str) {
    add_with(operation, status, description, None);
}

/// [`add`], with an integer `header` (name, description) the answer carries.
fn add_with(
    operation: &mut utoipa::openapi::path::Operation,
    status: &str,
    description: &str,
    header: Option<(&str, &str)>,
) {
    operation
        .responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| {
            let mut response = ResponseBuilder::new().description(description).content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            );
            if let Some((name, about)) = header {
                response = response.header(
                    name,
                    HeaderBuilder::new()
                        .schema(
                            ObjectBuilder::new()
                                .schema_type(Type::Integer)
                                .minimum(Some(0)),
                        )
                        .description(Some(about))
                        .build(),
                );
            }
            response.build().into()
        });
}

/// Reads a JSON integer as JSON Schema defines one: any number with no fractional part, so
/// `7.0` is 7 (serde alone refuses it, though the document's `integer` admits it).
pub fn integer<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    struct Integer;
    impl serde::de::Visitor<'_> for Integer {
        type Value = i64;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an integer")
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom("integer out of range"))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<i64, E> {
            // Below 2^53 every float is exact, so `fract` tells an integer from the rest; a
            // float past it may be a rounded non-integer or an integer past int64 (serde hands
            // integers that fit an i64 to `visit_i64` / `visit_u64`), so it is refused.
            const EXACT: f64 = 9_007_199_254_740_992.0;
            if v.fract() == 0.0 && v.abs() < EXACT {
                #[allow(clippy::cast_possible_truncation)]
                Ok(v as i64)
            } else {
                Err(E::custom(format!("{v} is not an integer in range")))
            }
        }
    }
    deserializer.deserialize_any(Integer)
}

/// GET /api/v1/openapi.json
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

/// Schemas of the inputs, built from the domain's rules (`chat_domain::text::patterns`, the
/// page bounds) so the document states exactly what the server refuses. Used by the request
/// types through `schema_with` and by the query parameters' `IntoParams`.
pub mod schema {
    use chat_domain::text::{patterns, PATTERN};
    use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
    use utoipa::openapi::schema::{
        KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, SchemaType, Type,
    };
    use utoipa::openapi::{Object, Required};

    use crate::routes::v1::Page;

    fn text(pattern: &str, description: &str) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(pattern))
            .description(Some(description))
    }

    fn nullable(builder: ObjectBuilder) -> Object {
        builder
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .build()
    }

    /// A message body (also a canned reply's body).
    pub fn message_body() -> Object {
        text(
            patterns::MESSAGE_BODY,
            "The text: at most 4,000 characters, at least one of them not whitespace, no control \
             characters (C0 but tab, LF and CR; DEL; C1; bidi embedding/override/isolate).",
        )
        .min_length(Some(1))
        .max_length(Some(chat_domain::message::MessageBody::MAX_CHARS))
        .build()
    }

    /// A client message id (optional, nullable).
    pub fn client_message_id() -> Object {
        nullable(
            text(
                patterns::CLIENT_MESSAGE_ID,
                "Makes retries idempotent: 1 to 64 ASCII letters, digits, `-` and `_`, unique per \
                 sender.",
            )
            .min_length(Some(1))
            .max_length(Some(64)),
        )
    }

    /// The `attachment_ids` of a message: attachment ids, none twice, at most
    /// [`chat_domain::service::MAX_ATTACHMENTS`].
    pub fn attachment_ids() -> utoipa::openapi::schema::Array {
        utoipa::openapi::schema::ArrayBuilder::new()
            .items(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^[0-9a-f]{32}$"))
                    .description(Some("An attachment id (32 lowercase hex digits).")),
            )
            .max_items(Some(chat_domain::service::MAX_ATTACHMENTS))
            .unique_items(true)
            .description(Some(
                "Files to attach: ids the sender uploaded to this thread and has not attached yet.",
            ))
            .build()
    }

    /// A username at sign-up.
    pub fn username() -> Object {
        text(
            patterns::USERNAME,
            "1 to 150 letters, digits and `@.+-_` (surrounding whitespace is trimmed).",
        )
        .min_length(Some(1))
        .build()
    }

    /// A new password: at least 8 characters and at most 72 bytes of UTF-8 (bcrypt reads no
    /// more; longer ones are refused, never cut). JSON Schema cannot count bytes: `maxLength`
    /// is the bound those bytes imply (72 bytes hold at most 72 characters) and
    /// `format: password` with the description carries the byte rule.
    pub fn new_password() -> Object {
        text(
            PATTERN,
            "At least 8 characters and at most 72 bytes of UTF-8 (72 ASCII characters, fewer \
             when some take more bytes), no control characters.",
        )
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
        .min_length(Some(chat_domain::user::Password::MIN_CHARS))
        .max_length(Some(chat_domain::user::Password::MAX_BYTES))
        .build()
    }

    /// Text presented at log-in (a username or a password): any text without control
    /// characters; a wrong one is 401.
    pub fn login_text(description: &str) -> Object {
        text(PATTERN, description).build()
    }

    /// The log-in username.
    pub fn login_username() -> Object {
        login_text("The username (no control characters).")
    }

    /// The log-in password.
    pub fn login_password() -> Object {
        ObjectBuilder::from(login_text("The password (no control characters)."))
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
            .build()
    }

    /// A role at sign-up (optional, nullable: client).
    pub fn role() -> Object {
        nullable(text(
            patterns::ROLE,
            "client (default), agent or admin, in any case (the last two need an admin's bearer \
             token).",
        ))
    }

    /// A thread status.
    pub fn thread_status() -> Object {
        text(
            patterns::THREAD_STATUS,
            "open, pending or resolved, in any case.",
        )
        .examples(["resolved"])
        .build()
    }

    /// An availability.
    pub fn availability() -> Object {
        text(
            patterns::AVAILABILITY,
            "online, away or offline, in any case.",
        )
        .examples(["online"])
        .build()
    }

    /// A routing mode.
    pub fn routing_mode() -> Object {
        text(patterns::ROUTING_MODE, "auto or manual, in any case.")
            .examples(["auto"])
            .build()
    }

    /// A transfer's note (optional, nullable).
    pub fn transfer_note() -> Object {
        nullable(
            text(
                patterns::MESSAGE_BODY,
                "A note for the receiver (staff only, never the client): at most 2,000 \
                 characters, at least one of them not whitespace, no control characters.",
            )
            .min_length(Some(1))
            .max_length(Some(chat_domain::routing::TransferNote::MAX_CHARS)),
        )
    }

    /// A canned reply's title.
    pub fn canned_title() -> Object {
        text(
            patterns::CANNED_TITLE,
            "1 to 100 characters once surrounding whitespace is trimmed, no control characters.",
        )
        .min_length(Some(1))
        .build()
    }

    /// A webhook endpoint's URL (a custom format: its rule cannot be a regular expression).
    pub fn webhook_url() -> Object {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom("webhook-url".into())))
            .max_length(Some(chat_domain::webhook::MAX_URL_CHARS))
            .description(Some(
                "An absolute `http` or `https` URL with a host and no credentials, at most 2,048 \
                 characters, no control characters. Unless the server's config allows private \
                 targets, an IP literal or `localhost` on a loopback, private (RFC 1918, \
                 `fc00::/7`, `100.64.0.0/10`), link-local (`169.254.0.0/16`, `fe80::/10`), \
                 unspecified or other reserved address is refused with 422 (a name is checked \
                 after resolution, when delivering).",
            ))
            .examples(["https://crm.example.com/hooks/chat"])
            .build()
    }

    /// An RFC 3339 instant in a body.
    pub fn instant() -> Object {
        text(
            patterns::INSTANT,
            "An RFC 3339 date-time with a `T` and an offset (`Z` or `+hh:mm`), a real date \
             and time.",
        )
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .build()
    }

    /// A webhook's secret.
    pub fn webhook_secret() -> Object {
        text(
            PATTERN,
            "The HMAC-SHA256 key deliveries are signed with: 1 to 200 characters, no control \
             characters. Never shown back in full.",
        )
        .min_length(Some(1))
        .max_length(Some(chat_domain::webhook::MAX_SECRET_CHARS))
        .build()
    }

    /// A webhook's event types.
    pub fn webhook_events() -> utoipa::openapi::schema::Array {
        utoipa::openapi::schema::ArrayBuilder::new()
            .items(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(
                        chat_domain::webhook::WebhookEventType::ALL.map(|t| t.as_str()),
                    )),
            )
            .min_items(Some(1))
            .description(Some(
                "The event types to deliver, at least one (a type named twice counts once).",
            ))
            .build()
    }

    /// A label's name.
    pub fn label_name() -> Object {
        text(
            patterns::LABEL_NAME,
            "1 to 40 characters once surrounding whitespace is trimmed, no control characters; \
             unique without regard to the case of ASCII letters.",
        )
        .min_length(Some(1))
        .build()
    }

    /// A rating's comment (optional, nullable).
    pub fn rating_comment() -> Object {
        nullable(
            text(
                PATTERN,
                "Optional: at most 1,000 characters once surrounding whitespace is trimmed, no \
                 control characters; empty or blank is no comment.",
            )
            .max_length(Some(chat_domain::rating::MAX_COMMENT_CHARS)),
        )
    }

    /// A label's colour.
    pub fn label_color() -> Object {
        text(patterns::LABEL_COLOR, "`#rrggbb` (stored lowercase).")
            .examples(["#d93f0b"])
            .build()
    }

    /// An optional text query parameter of a staff list.
    pub fn optional_text_query(name: &str, schema: ObjectBuilder, description: &str) -> Parameter {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .description(Some(description))
            .schema(Some(schema.build()))
            .build()
    }

    /// An instant of a staff list's range (optional).
    pub fn instant_query(name: &str, description: &str) -> Parameter {
        optional_text_query(
            name,
            text(
                patterns::INSTANT,
                "An RFC 3339 date-time with a `T` and an offset (`Z` or `+hh:mm`), a real date \
                 and time.",
            )
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
            description,
        )
    }

    /// A thread type: the seed's number, or a name.
    pub fn thread_type() -> Schema {
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .enum_values(Some([1, 2, 3]))
                    .description(Some("1 = loan, 2 = payment, 3 = other.")),
            )
            .item(text(
                patterns::THREAD_TYPE,
                "loan, payment or other in any case, or 1 to 3 as text.",
            ))
            .description(Some("The topic."))
            .build()
            .into()
    }

    /// A bounded integer query parameter.
    pub fn integer_query(
        name: &str,
        required: bool,
        minimum: i64,
        maximum: i64,
        description: &str,
    ) -> Parameter {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Query)
            .required(if required {
                Required::True
            } else {
                Required::False
            })
            .description(Some(description))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                    .minimum(Some(minimum))
                    .maximum(Some(maximum)),
            ))
            .build()
    }

    /// `limit` of a page.
    pub fn limit(page: Page) -> Parameter {
        integer_query(
            "limit",
            false,
            1,
            i64::from(page.max),
            &format!(
                "At most this many (default {}, 1 to {}).",
                page.default, page.max
            ),
        )
    }

    /// `offset` of a page.
    pub fn offset() -> Parameter {
        integer_query(
            "offset",
            false,
            0,
            i64::from(crate::routes::v1::MAX_OFFSET),
            "Skip this many (default 0).",
        )
    }

    /// A required text query parameter.
    pub fn text_query(name: &str, schema: ObjectBuilder) -> Parameter {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Query)
            .required(Required::True)
            .schema(Some(schema.build()))
            .build()
    }

    /// `q` of a message search.
    pub fn search_q() -> Parameter {
        text_query(
            "q",
            text(
                patterns::SEARCH,
                "Words that must all occur: 1 to 200 characters once trimmed, with a letter or \
                 digit, no control characters.",
            )
            .min_length(Some(1)),
        )
    }

    /// `q` of a client look-up.
    pub fn client_q() -> Parameter {
        text_query(
            "q",
            text(
                patterns::CLIENT_LOOKUP,
                "Part of the username (case-insensitive; those starting with it come first): 1 \
                 to 150 characters once trimmed, no control characters.",
            )
            .min_length(Some(1)),
        )
    }
}

#[cfg(test)]
mod tests {
    use chat_domain::canned::NewCannedReply;
    use chat_domain::inbox::{ActivityCursor, Assignee};
    use chat_domain::message::{ClientMessageId, MessageBody};
    use chat_domain::search::{client_lookup, SearchQuery, SearchScope};
    use chat_domain::text::{self, patterns};
    use chat_domain::thread::{ThreadStatus, ThreadType};
    use chat_domain::user::{Role, Username};
    use chat_domain::{DomainResult, Timestamp, UserId};
    use regex::Regex;

    /// Characters at the edges of the rules: ASCII classes, whitespace `trim` strips and the
    /// kinds it does not, controls of each range, letters and digits outside ASCII (Nd, Nl,
    /// Other_Alphabetic marks and symbols), astral characters.
    const ALPHABET: &[char] = &[
        'a',
        'Z',
        '0',
        '7',
        'é',
        '\u{663}',
        '\u{216B}',
        '\u{24D0}',
        '\u{93E}',
        '!',
        '@',
        '.',
        '+',
        '-',
        '_',
        ' ',
        '\t',
        '\n',
        '\r',
        '\u{A0}',
        '\u{3000}',
        '\u{2028}',
        '\u{B}',
        '\u{85}',
        '\u{0}',
        '\u{1B}',
        '\u{7F}',
        '\u{9F}',
        '\u{202E}',
        '\u{2066}',
        '\u{200B}',
        '\u{FEFF}',
        '\u{1F600}',
        'L',
        'o',
        'A',
        'N',
        '1',
        '3',
    ];

    /// Every string of up to three characters of [`ALPHABET`], the words the enum patterns
    /// name in several spellings, and strings around each length bound.
    fn corpus() -> Vec<String> {
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..3 {
            last = last
                .iter()
                .flat_map(|s| ALPHABET.iter().map(move |c| format!("{s}{c}")))
                .collect();
            all.extend(last.iter().cloned());
        }
        for word in [
            "loan",
            "LOAN",
            "Payment",
            "other",
            "01",
            "+3",
            "-1",
            "4",
            "open",
            "PENDING",
            "resolved",
            "client",
            "Agent",
            "admin",
            "1.0",
            "me",
            "Me",
            "none",
            "NONE",
            "12_34",
            "1_",
            "_1",
            "0_0",
            "123456789012345678",
            "1234567890123456789",
            "123456789012345678_123456789012345678",
            "1234567890123456789_1",
        ] {
            all.extend([
                word.to_owned(),
                format!(" {word}\t"),
                format!("\u{B}{word}"),
                format!("{word}\u{85}"),
                format!("{word}x"),
            ]);
        }
        for n in [
            63, 64, 65, 99, 100, 101, 149, 150, 151, 199, 200, 201, 3999, 4000, 4001,
        ] {
            for fill in ["a", "é", " ", "-"] {
                all.push(fill.repeat(n));
                all.push(format!(" {} ", "b".repeat(n)));
                all.push(format!("x{}y", fill.repeat(n.saturating_sub(2))));
            }
        }
        all
    }

    /// The pattern as Rust regexes, which have no look-ahead: `^P(?=L)R$` is `^PR$` and `^PL`
    /// (one look-ahead at most, right after a prefix `P` that cannot meet `L` otherwise).
    fn regexes(name: &str, pattern: &str) -> Vec<Regex> {
        let compile = |p: &str| Regex::new(p).unwrap_or_else(|e| panic!("{name}: {e}"));
        let Some(start) = pattern.find("(?=") else {
            return vec![compile(pattern)];
        };
        let mut depth = 0;
        let end = pattern[start..]
            .char_indices()
            .find_map(|(i, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                (depth == 0).then_some(start + i)
            })
            .unwrap_or_else(|| panic!("{name}: unbalanced look-ahead"));
        let (prefix, look) = (&pattern[..start], &pattern[start + 3..end]);
        vec![
            compile(&format!("{prefix}{}", &pattern[end + 1..])),
            compile(&format!("{prefix}{look}")),
        ]
    }

    fn agrees(name: &str, pattern: &str, max_chars: usize, parse: impl Fn(&str) -> bool) {
        let regexes = regexes(name, pattern);
        for text in corpus() {
            let documented =
                regexes.iter().all(|r| r.is_match(&text)) && text.chars().count() <= max_chars;
            assert_eq!(
                documented,
                parse(&text),
                "{name}: the document and the server disagree on {text:?}"
            );
        }
    }

    fn ok<T>(result: DomainResult<T>) -> bool {
        result.is_ok()
    }

    #[test]
    fn each_pattern_accepts_exactly_what_its_parser_accepts() {
        let any = usize::MAX;
        agrees("text", text::PATTERN, any, |t| ok(text::check("f", t)));
        agrees(
            "body",
            patterns::MESSAGE_BODY,
            MessageBody::MAX_CHARS,
            |t| ok(MessageBody::parse(t)),
        );
        agrees("username", patterns::USERNAME, any, |t| {
            ok(Username::parse(t))
        });
        agrees("client message id", patterns::CLIENT_MESSAGE_ID, any, |t| {
            ok(ClientMessageId::parse(t))
        });
        agrees("title", patterns::CANNED_TITLE, any, |t| {
            ok(NewCannedReply::new(t, "body", UserId(1), Timestamp(0)))
        });
        agrees("search", patterns::SEARCH, any, |t| {
            ok(SearchQuery::new(t, SearchScope::All, 10))
        });
        agrees("client look-up", patterns::CLIENT_LOOKUP, any, |t| {
            ok(client_lookup(t))
        });
        agrees("thread type", patterns::THREAD_TYPE, any, |t| {
            ok(ThreadType::parse(t))
        });
        agrees("status", patterns::THREAD_STATUS, any, |t| {
            ok(ThreadStatus::parse(t))
        });
        agrees("role", patterns::ROLE, any, |t| ok(Role::parse(t)));
        agrees("label name", patterns::LABEL_NAME, any, |t| {
            ok(chat_domain::label::NewLabel::parse(t, "#000000"))
        });
        agrees("label colour", patterns::LABEL_COLOR, any, |t| {
            ok(chat_domain::label::NewLabel::parse("name", t))
        });
        agrees("list text", patterns::LIST_TEXT, any, |t| {
            ok(chat_domain::inbox::TextFilter::parse(t))
        });
        agrees("assignee", patterns::ASSIGNEE, any, |t| {
            ok(Assignee::parse(t, UserId(1)))
        });
        agrees("cursor", patterns::CURSOR, any, |t| {
            ok(ActivityCursor::parse(t))
        });
        agrees("availability", patterns::AVAILABILITY, any, |t| {
            ok(chat_domain::routing::Availability::parse(t))
        });
        agrees("routing mode", patterns::ROUTING_MODE, any, |t| {
            ok(chat_domain::routing::RoutingMode::parse(t))
        });
        agrees(
            "transfer note",
            patterns::MESSAGE_BODY,
            chat_domain::routing::TransferNote::MAX_CHARS,
            |t| ok(chat_domain::routing::TransferNote::parse(t)),
        );
    }

    #[test]
    fn integers_are_json_schema_integers() {
        let read = |json: &str| -> Result<i64, serde_json::Error> {
            let mut de = serde_json::Deserializer::from_str(json);
            super::integer(&mut de)
        };
        assert_eq!(read("7").ok(), Some(7));
        assert_eq!(read("-7.0").ok(), Some(-7));
        // Read exactly (serde_json's float_roundtrip): a fast, inexact parse once made this
        // 2077944195432032.75 and refused an integer the document admits (Schemathesis found it).
        assert_eq!(read("2077944195432033.0").ok(), Some(2_077_944_195_432_033));
        assert_eq!(read("9007199254740991.0").ok(), Some(9_007_199_254_740_991));
        assert_eq!(read("9223372036854775807").ok(), Some(i64::MAX));
        assert!(read("7.5").is_err());
        assert!(read("9223372036854775808").is_err());
        assert!(read("-9223372036854775809").is_err());
        assert!(read("1e300").is_err());
        assert!(read("\"7\"").is_err());
    }
}
