//! The hand-over of a WebSocket's TCP connection from HTTP to [`WsTransport`].
//!
//! actix-http calls its upgrade service, instead of the app, for every request that asks for a
//! protocol upgrade, with the request and the connection itself. [`upgrades`] answers such a
//! request with the app all the same (routes, middleware, admission and refusals as for any
//! request), then looks at the answer: a `101` from a socket route ([`switching_protocols`])
//! carries what serves the socket, which then gets the bare connection; any other answer is
//! written as it is and the connection closed (a client that asked to upgrade does not reuse
//! it). The HTTP/1 layer's two 8 KiB buffers go with the hand-over.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use actix_codec::Framed;
use actix_http::body::{BodySize, MessageBody};
use actix_http::{h1, ConnectionType, Request};
use actix_web::body::{to_bytes, BoxBody};
use actix_web::dev::{fn_factory, fn_service, AppConfig, Service, ServiceFactory, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::web::BytesMut;
use actix_web::{HttpRequest, HttpResponse};
use futures_util::SinkExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::transport::WsTransport;

type Serve = Box<dyn FnOnce(TcpStream, BytesMut) -> Pin<Box<dyn Future<Output = ()>>>>;

/// What serves a socket once its `101` is written: the route puts it in the response.
struct SocketRunner(Serve);

/// The `101` for a WebSocket request, carrying `serve`, which gets the socket once the answer
/// is written; a `400` if the request is not a WebSocket handshake.
pub fn switching_protocols<F, Fut>(req: &HttpRequest, max_message: usize, serve: F) -> HttpResponse
where
    F: FnOnce(WsTransport) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let handshake = actix_http::ws::handshake(req.head())
        .map_err(|err| err.to_string())
        .and_then(|mut builder| {
            builder
                .message_body(BoxBody::new(()))
                .map_err(|err| err.to_string())
        });
    match handshake {
        Ok(response) => {
            let mut response = HttpResponse::from(response);
            let serve: Serve =
                Box::new(move |io, read| Box::pin(serve(WsTransport::new(io, read, max_message))));
            response.extensions_mut().insert(SocketRunner(serve));
            response
        }
        Err(err) => HttpResponse::BadRequest().json(serde_json::json!({
            "error": {"code": "bad_request", "message": format!("not a WebSocket request: {err}")}
        })),
    }
}

/// The upgrade service for actix-http: answers with `app` (one instance per worker), then
/// hands a socket's connection to what serves it.
pub fn upgrades<S, B>(
    app: S,
) -> impl ServiceFactory<
    (Request, Framed<TcpStream, h1::Codec>),
    Config = (),
    Response = (),
    Error = actix_web::Error,
    InitError = (),
>
where
    S: ServiceFactory<
            Request,
            Config = AppConfig,
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: MessageBody + 'static,
{
    let app = Rc::new(app);
    fn_factory(move || {
        let app = Rc::clone(&app);
        async move {
            let service = Rc::new(app.new_service(AppConfig::default()).await?);
            Ok(fn_service(
                move |(req, framed): (Request, Framed<TcpStream, h1::Codec>)| {
                    answer(Rc::clone(&service), req, framed)
                },
            ))
        }
    })
}

/// Answers one upgrade request on its connection.
async fn answer<S, B>(
    app: Rc<S>,
    req: Request,
    mut framed: Framed<TcpStream, h1::Codec>,
) -> Result<(), actix_web::Error>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    let response = match app.call(req).await {
        Ok(response) => response.into_parts().1.map_into_boxed_body(),
        Err(err) => err.error_response(),
    };
    let mut response: actix_http::Response<BoxBody> = response.into();
    let runner = response.extensions_mut().remove::<SocketRunner>();
    match runner {
        Some(SocketRunner(serve)) if response.status() == StatusCode::SWITCHING_PROTOCOLS => {
            let (head, _) = response.into_parts();
            framed
                .send(h1::Message::Item((head, BodySize::None)))
                .await?;
            let parts = framed.into_parts();
            serve(parts.io, parts.read_buf).await;
        }
        _ => {
            response
                .head_mut()
                .set_connection_type(ConnectionType::Close);
            let (head, body) = response.into_parts();
            let body = to_bytes(body).await.unwrap_or_default();
            let size = u64::try_from(body.len()).unwrap_or(u64::MAX);
            // Head and body in one write: a WebSocket client that reads the head of a refused
            // handshake keeps only the body bytes that came with it.
            framed
                .feed(h1::Message::Item((head, BodySize::Sized(size))))
                .await?;
            if !body.is_empty() {
                framed.feed(h1::Message::Chunk(Some(body))).await?;
            }
            framed.flush().await?;
            framed.io_mut().shutdown().await?;
        }
    }
    Ok(())
}
