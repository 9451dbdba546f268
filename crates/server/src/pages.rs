//! The browser pages (log-in, sign-up, client chat, agent console, the seed's chat URL) and their
//! assets, embedded in the binary so `chat-server serve` needs no files beside it.
//!
//! Every response carries a strong `ETag` (a hash computed at compile time) and `Cache-Control:
//! no-cache`: the browser keeps its copy and revalidates it, so a new binary is picked up at once
//! without versioned asset names (there is no build step).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{guard, web, HttpRequest, HttpResponse, Route};

/// One embedded file.
struct Asset {
    /// Its path under `static/`.
    path: &'static str,
    /// Its bytes.
    body: &'static [u8],
    /// Its `Content-Type`.
    content_type: &'static str,
    /// Its quoted `ETag`, derived from the bytes.
    etag: &'static str,
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// Content Security Policy of the pages: everything from this origin, nothing inline, no framing.
use crate::security_headers::PAGE_CSP as CSP;

/// FNV-1a over the bytes, at compile time: cheap, stable and good enough to tell versions apart.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

/// The 16 lowercase hex digits of a hash, quoted, as an `ETag` value.
const fn etag_of(hash: u64) -> [u8; 18] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'"'; 18];
    let mut i = 0;
    while i < 16 {
        out[1 + i] = DIGITS[((hash >> (60 - 4 * i)) & 0xf) as usize];
        i += 1;
    }
    out
}

macro_rules! asset {
    ($path:literal, $content_type:expr) => {{
        const BODY: &[u8] = include_bytes!(concat!("../static/", $path));
        const TAG: [u8; 18] = etag_of(fnv1a(BODY));
        Asset {
            path: $path,
            body: BODY,
            content_type: $content_type,
            etag: match std::str::from_utf8(&TAG) {
                Ok(tag) => tag,
                Err(_) => "\"0\"",
            },
        }
    }};
}

static LOGIN_PAGE: Asset = asset!("index.html", HTML);
static SIGNUP_PAGE: Asset = asset!("signup.html", HTML);
static CLIENT_PAGE: Asset = asset!("client.html", HTML);
static AGENT_PAGE: Asset = asset!("agent.html", HTML);
static CHAT_PAGE: Asset = asset!("chat.html", HTML);
static REPORTS_PAGE: Asset = asset!("reports.html", HTML);

/// Files served under `/static/`.
static ASSETS: &[Asset] = &[
    asset!("css/app.css", CSS),
    asset!("js/api.js", JS),
    asset!("js/live.js", JS),
    asset!("js/conversation.js", JS),
    asset!("js/ui.js", JS),
    asset!("js/login.js", JS),
    asset!("js/signup.js", JS),
    asset!("js/client.js", JS),
    asset!("js/agent.js", JS),
    asset!("js/chat.js", JS),
    asset!("js/names.js", JS),
    asset!("js/features.js", JS),
    asset!("js/alerts.js", JS),
    asset!("js/held.js", JS),
    asset!("js/reports.js", JS),
    asset!("js/desk.js", JS),
    asset!("js/labels.js", JS),
    asset!("favicon.svg", SVG),
];

/// Registers the pages and `/static/*`. Paths: `/`, `/signup`, `/client`, `/agent`, `/agent/reports`,
/// `/chat-app/{thread_id}/{user_id}` (digits only, so the seed's `/chat-app/user/...` API paths
/// stay free), `/static/{file}` and `/favicon.ico`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let page = |paths: &[&'static str], route: Route| web::resource(paths.to_vec()).route(route);
    cfg.service(page(&["/"], get_or_head().to(login_page)))
        .service(page(
            &["/signup", "/signup/"],
            get_or_head().to(signup_page),
        ))
        .service(page(
            &["/client", "/client/"],
            get_or_head().to(client_page),
        ))
        .service(page(&["/agent", "/agent/"], get_or_head().to(agent_page)))
        .service(page(
            &["/agent/reports", "/agent/reports/"],
            get_or_head().to(reports_page),
        ))
        .service(page(
            &[
                r"/chat-app/{thread_id:\d+}/{user_id:\d+}",
                r"/chat-app/{thread_id:\d+}/{user_id:\d+}/",
            ],
            get_or_head().to(chat_page),
        ))
        .service(page(&["/favicon.ico"], get_or_head().to(favicon)))
        .service(page(&["/static/{path:.*}"], get_or_head().to(static_asset)));
}

/// GET, and HEAD (same headers, no body: actix leaves the body out of HEAD answers).
fn get_or_head() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

async fn login_page(req: HttpRequest) -> HttpResponse {
    serve(&req, &LOGIN_PAGE)
}

async fn signup_page(req: HttpRequest) -> HttpResponse {
    serve(&req, &SIGNUP_PAGE)
}

async fn client_page(req: HttpRequest) -> HttpResponse {
    serve(&req, &CLIENT_PAGE)
}

async fn agent_page(req: HttpRequest) -> HttpResponse {
    serve(&req, &AGENT_PAGE)
}

async fn reports_page(req: HttpRequest) -> HttpResponse {
    serve(&req, &REPORTS_PAGE)
}

/// The seed's chat URL. The ids are only read by the page's script, and `user_id` never as identity:
/// the page asks the API who the bearer of the stored token is.
async fn chat_page(req: HttpRequest) -> HttpResponse {
    serve(&req, &CHAT_PAGE)
}

async fn favicon(req: HttpRequest) -> HttpResponse {
    match find_asset("favicon.svg") {
        Some(asset) => serve(&req, asset),
        None => not_found(),
    }
}

async fn static_asset(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    match find_asset(&path) {
        Some(asset) => serve(&req, asset),
        None => not_found(),
    }
}

fn find_asset(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.path == path)
}

/// The file, or `304 Not Modified` when the browser already holds this version.
fn serve(req: &HttpRequest, asset: &Asset) -> HttpResponse {
    let fresh = req
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == asset.etag
        });
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, HeaderValue::from_static(asset.etag)))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .insert_header((
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ));
    if asset.content_type == HTML {
        response.insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ));
    }
    if fresh {
        return response.finish();
    }
    response
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        ))
        .body(asset.body)
}

fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({
        "error": {"code": "not_found", "message": "no such page or file"}
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{test, App};

    async fn get(path: &str, if_none_match: Option<&str>) -> actix_web::dev::ServiceResponse {
        let app = test::init_service(App::new().configure(configure)).await;
        let mut req = test::TestRequest::get().uri(path);
        if let Some(tag) = if_none_match {
            req = req.insert_header((header::IF_NONE_MATCH, tag));
        }
        test::call_service(&app, req.to_request()).await
    }

    fn header_of(resp: &actix_web::dev::ServiceResponse, name: header::HeaderName) -> String {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    #[actix_web::test]
    async fn every_page_is_html_with_a_content_security_policy() {
        for path in [
            "/",
            "/signup",
            "/client",
            "/agent/",
            "/agent/reports",
            "/chat-app/12/34",
            "/chat-app/12/34/",
        ] {
            let resp = get(path, None).await;
            assert_eq!(resp.status(), 200, "{path}");
            assert_eq!(header_of(&resp, header::CONTENT_TYPE), HTML, "{path}");
            assert!(header_of(&resp, header::CONTENT_SECURITY_POLICY).contains("script-src 'self'"));
            assert_eq!(header_of(&resp, header::CACHE_CONTROL), "no-cache");
            let body = test::read_body(resp).await;
            assert!(body.starts_with(b"<!doctype html>"), "{path}");
        }
    }

    #[actix_web::test]
    async fn assets_have_their_content_types() {
        let cases = [
            ("/static/css/app.css", CSS),
            ("/static/js/agent.js", JS),
            ("/static/favicon.svg", SVG),
            ("/favicon.ico", SVG),
        ];
        for (path, content_type) in cases {
            let resp = get(path, None).await;
            assert_eq!(resp.status(), 200, "{path}");
            assert_eq!(
                header_of(&resp, header::CONTENT_TYPE),
                content_type,
                "{path}"
            );
            assert_eq!(header_of(&resp, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        }
    }

    #[actix_web::test]
    async fn every_file_a_page_links_to_is_embedded() {
        for page in [
            &LOGIN_PAGE,
            &SIGNUP_PAGE,
            &CLIENT_PAGE,
            &AGENT_PAGE,
            &CHAT_PAGE,
        ] {
            let html = std::str::from_utf8(page.body).unwrap();
            for link in html.split("\"/static/").skip(1) {
                let path = link.split('"').next().unwrap();
                assert!(
                    find_asset(path).is_some(),
                    "{} links to missing {path}",
                    page.path
                );
            }
        }
    }

    #[actix_web::test]
    async fn every_module_a_script_imports_is_embedded() {
        for script in ASSETS.iter().filter(|a| a.content_type == JS) {
            let source = std::str::from_utf8(script.body).unwrap();
            for import in source.split("from './").skip(1) {
                let file = import.split('\'').next().unwrap();
                let path = format!("js/{file}");
                assert!(
                    find_asset(&path).is_some(),
                    "{} imports missing {path}",
                    script.path
                );
            }
        }
    }

    #[actix_web::test]
    async fn head_answers_like_get() {
        let app = test::init_service(App::new().configure(configure)).await;
        let req = test::TestRequest::default()
            .method(actix_web::http::Method::HEAD)
            .uri("/agent")
            .to_request();
        let resp = test::call_service(&app, req).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(header_of(&resp, header::CONTENT_TYPE), HTML);
        let post = test::TestRequest::post().uri("/agent").to_request();
        let resp = test::call_service(&app, post).await;
        assert_eq!(resp.status(), 405);
        assert_eq!(header_of(&resp, header::ALLOW), "GET, HEAD");
    }

    #[actix_web::test]
    async fn a_known_etag_gets_not_modified() {
        let first = get("/static/js/api.js", None).await;
        let tag = header_of(&first, header::ETAG);
        assert!(tag.starts_with('"') && tag.len() == 18, "{tag}");
        let again = get("/static/js/api.js", Some(&tag)).await;
        assert_eq!(again.status(), 304);
        assert!(test::read_body(again).await.is_empty());
        let other = get("/static/js/api.js", Some("\"0000000000000000\"")).await;
        assert_eq!(other.status(), 200);
    }

    #[actix_web::test]
    async fn unknown_files_and_non_numeric_chat_paths_are_not_found() {
        for path in [
            "/static/nope.js",
            "/static/../Cargo.toml",
            "/chat-app/user/3",
        ] {
            let resp = get(path, None).await;
            assert_eq!(resp.status(), 404, "{path}");
        }
    }
}
