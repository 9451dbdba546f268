//! The seed (Django) app's endpoints, kept so its clients keep working: same paths (with or
//! without the trailing slash), same field names, same top-level keys, with ids added beside
//! them. Authentication is a bearer token or the seed's `username` + `password` fields.

pub mod input;

use actix_web::{web, HttpRequest, HttpResponse};
use chat_domain::message::Appended;
use chat_domain::thread::ThreadType;
use chat_domain::user::{Role, User};
use chat_domain::{Chat, DomainError, UserId};
use serde_json::{json, Value};

use crate::auth::{bearer_token, user_from_token, PasswordGate};
use crate::error::{blocking, blocking_api, ApiError, ApiResult};
use crate::views::UrgencyView;
use input::SeedInput;

/// Registers the seed's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(["/chat-app/user", "/chat-app/user/"]).route(web::post().to(create_user)),
    )
    .service(
        web::resource(["/chat-app/user/{pk}", "/chat-app/user/{pk}/"])
            .route(web::delete().to(delete_user)),
    )
    .service(
        web::resource(["/chat-app/send-message", "/chat-app/send-message/"])
            .route(web::post().to(send_message)),
    )
    .service(
        web::resource(["/chat-app/message-list", "/chat-app/message-list/"])
            .route(web::get().to(message_list))
            .route(web::post().to(message_list)),
    )
    .service(
        web::resource(["/chat-app/thread-list", "/chat-app/thread-list/"])
            .route(web::get().to(thread_list))
            .route(web::post().to(thread_list)),
    );
}

fn chat(data: &web::Data<Chat>) -> Chat {
    data.get_ref().clone()
}

/// The caller: a bearer token if the request has one, else the seed's username + password.
async fn caller(chat: &Chat, req: &HttpRequest, input: &SeedInput) -> ApiResult<User> {
    as_caller(chat, req, input, |_, user| Ok(user.clone())).await
}

/// Runs `action` as the caller (a bearer token, else the seed's username + password under the
/// log-in throttle), authentication and action in one trip to the blocking pool: a seed client
/// sends its credentials with every message, and each extra hop between threads showed in its
/// throughput. The password counts as right (the throttle forgets its failures) even when the
/// action then fails.
async fn as_caller<T, F>(
    chat: &Chat,
    req: &HttpRequest,
    input: &SeedInput,
    action: F,
) -> ApiResult<T>
where
    F: FnOnce(&Chat, &User) -> ApiResult<T> + Send + 'static,
    T: Send + 'static,
{
    if let Some(token) = bearer_token(req) {
        let chat = chat.clone();
        return blocking_api(move || {
            let user = chat.authenticate_token(&token)?;
            action(&chat, &user)
        })
        .await;
    }
    match (input.get("username"), input.get("password")) {
        (Some(username), Some(password)) => {
            let gate = PasswordGate::of(req)?.repeating(password);
            let (name, password) = (username.to_owned(), password.to_owned());
            let done = gate
                .run(username, move |chat| {
                    let user = chat.authenticate_password_repeatedly(&name, &password)?;
                    Ok(action(chat, &user))
                })
                .await?;
            Ok(done?)
        }
        _ => Err(ApiError::Domain(DomainError::Unauthenticated)),
    }
}

/// `POST /chat-app/user/` {username, password, role}: 201 with the new user (never its password).
async fn create_user(
    data: web::Data<Chat>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let chat = chat(&data);
    let input = SeedInput::read(&req, payload).await?;
    let username = input.required("username")?.to_owned();
    let password = input.required("password")?.to_owned();
    let role = input.get("role").map(str::to_owned);
    let actor = match bearer_token(&req) {
        Some(token) => Some(user_from_token(chat.clone(), token).await?),
        None => None,
    };
    let user = blocking(move || {
        let role = match role {
            Some(text) => Role::parse(&text)?,
            None => Role::Client,
        };
        chat.sign_up(actor.as_ref(), &username, &password, role)
    })
    .await?;
    Ok(HttpResponse::Created().json(json!({
        "id": user.id,
        "username": user.username.as_str(),
        "role": user.role,
        "created_at": user.created_at,
    })))
}

/// `DELETE /chat-app/user/<pk>/`: soft delete of oneself (or anyone, for an admin).
async fn delete_user(
    data: web::Data<Chat>,
    req: HttpRequest,
    pk: web::Path<i64>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let chat = chat(&data);
    let pk = pk.into_inner();
    let input = SeedInput::read(&req, payload).await?;
    let actor = caller(&chat, &req, &input).await?;
    blocking(move || chat.delete_user(&actor, UserId(pk))).await?;
    Ok(HttpResponse::Created().json(json!({
        "deleted": "User is deleted successfully",
        "id": pk,
    })))
}

/// `POST /chat-app/send-message/` {message_body, thread_type}: a client writes; its thread of
/// that type is created when missing.
async fn send_message(
    data: web::Data<Chat>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let chat = chat(&data);
    let input = SeedInput::read(&req, payload).await?;
    let appended = match with_password(&req, &input) {
        Some(fields) => send_with_password(&req, fields).await?,
        None => send_as_caller(&chat, &req, &input).await?,
    };
    Ok(HttpResponse::Ok().json(json!({
        "chat_sent_successfully": appended.message.body,
        "thread_id": appended.message.thread_id,
        "message_id": appended.message.id,
        "seq": appended.message.seq,
    })))
}

/// What a complete send with the seed's credentials carries: username, password, body, topic.
struct PasswordSend {
    username: String,
    password: String,
    body: String,
    thread_type: ThreadType,
}

/// The send's fields when it authenticates with username + password (no bearer token) and is
/// complete; anything else takes [`send_as_caller`], which answers each missing or wrong part
/// in the usual order.
fn with_password(req: &HttpRequest, input: &SeedInput) -> Option<PasswordSend> {
    if bearer_token(req).is_some() {
        return None;
    }
    Some(PasswordSend {
        username: input.get("username")?.to_owned(),
        password: input.get("password")?.to_owned(),
        body: input.raw("message_body")?.to_owned(),
        thread_type: ThreadType::parse(input.get("thread_type")?).ok()?,
    })
}

/// A complete password send, under the log-in throttle: the user and its open thread are read
/// together ([`Chat::send_as_client_with_password`]).
async fn send_with_password(req: &HttpRequest, send: PasswordSend) -> ApiResult<Appended> {
    let gate = PasswordGate::of(req)?.repeating(&send.password);
    let username = send.username.clone();
    let (_, sent) = gate
        .run(&username, move |chat| {
            chat.send_as_client_with_password(
                &send.username,
                &send.password,
                send.thread_type,
                &send.body,
            )
        })
        .await?;
    Ok(sent?)
}

/// A send as any caller (a bearer token, or username + password with a field missing or wrong).
async fn send_as_caller(chat: &Chat, req: &HttpRequest, input: &SeedInput) -> ApiResult<Appended> {
    let body = input.raw("message_body").map(str::to_owned);
    let thread_type = input.get("thread_type").map(str::to_owned);
    as_caller(chat, req, input, move |chat, actor| {
        let body = body.ok_or_else(|| ApiError::missing_field("message_body"))?;
        let thread_type = thread_type.ok_or_else(|| ApiError::missing_field("thread_type"))?;
        let thread_type = ThreadType::parse(&thread_type)?;
        Ok(chat.send_as_client(actor, thread_type, &body, None)?)
    })
    .await
}

/// `/chat-app/message-list/`: a client's unread messages of one thread type (`chats_sent`), or
/// for staff the queue's first waiting message per thread, most urgent first (`chats_recieved`).
async fn message_list(
    data: web::Data<Chat>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let chat = chat(&data);
    let input = SeedInput::read(&req, payload).await?;
    let actor = caller(&chat, &req, &input).await?;
    if actor.role == Role::Client {
        let thread_type = input.required("thread_type")?.to_owned();
        let messages = blocking(move || {
            let thread_type = ThreadType::parse(&thread_type)?;
            chat.unread_sent_by_client(&actor, thread_type)
        })
        .await?;
        let items: Vec<Value> = messages
            .unwrap_or_default()
            .iter()
            .map(|m| {
                json!({
                    "message": m.body,
                    "timestamp": m.created_at,
                    "is_read": m.is_read,
                    "message_id": m.id,
                    "thread_id": m.thread_id,
                })
            })
            .collect();
        let mut answer = json!({ "chats_sent": items });
        if items_empty(&answer["chats_sent"]) {
            answer["warning"] = json!("No unread messages in this thread");
        }
        return Ok(HttpResponse::Ok().json(answer));
    }
    let limit = input.optional_u32("limit")?.unwrap_or(50);
    let offset = input.optional_u32("offset")?.unwrap_or(0);
    let entries = blocking(move || chat.queue(&actor, limit, offset)).await?;
    let items: Vec<Value> = entries
        .iter()
        .filter_map(|e| {
            let m = e.first_waiting.as_ref()?;
            Some(json!({
                "message": m.body,
                "client_id": e.thread.client_id,
                "timestamp": m.created_at,
                "is_read": m.is_read,
                "message_id": m.id,
                "thread_id": e.thread.id,
                "thread_type": e.thread.thread_type,
                "client_username": e.client_username,
                "urgency": UrgencyView::from(&e.urgency),
            }))
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "chats_recieved": items })))
}

fn items_empty(items: &Value) -> bool {
    items.as_array().is_none_or(Vec::is_empty)
}

/// `/chat-app/thread-list/` {agent_id, client_id}: every message between them, for that agent,
/// that client or an admin.
async fn thread_list(
    data: web::Data<Chat>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let chat = chat(&data);
    let input = SeedInput::read(&req, payload).await?;
    let agent = UserId(input.required_id("agent_id")?);
    let client = UserId(input.required_id("client_id")?);
    let actor = caller(&chat, &req, &input).await?;
    let messages = blocking(move || chat.conversation_between(&actor, agent, client)).await?;
    let items: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "message": m.body,
                "timestamp": m.created_at,
                "is_read": m.is_read,
                "message_id": m.id,
                "thread_id": m.thread_id,
                "sender_id": m.sender_id,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "all_conversations": items })))
}
