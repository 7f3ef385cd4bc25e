//! `phonghop://localhost/page/{sha256}/{page}?width=N`: page images from the
//! render service (memory and disk cache, the next pages rendered ahead).
//! Runs off the UI thread; the answer is a PNG, or a 4xx/5xx with a code
//! and the reason (JSON).

use crate::AppState;
use phonghop_core::Hash;
use phonghop_pdf::DocRef;
use tauri::http::{Request, Response, StatusCode};
use tauri::{Manager, Runtime, UriSchemeContext, UriSchemeResponder};

/// Widest page image we render.
const MAX_WIDTH: u32 = 4800;
/// Pages rendered ahead of the one asked for.
const AHEAD: u32 = 2;

/// A refusal: `{"code", "message"}`, the code for the reader to say it in
/// the user's language (`error.<code>`), the message for the rest.
fn refusal(status: StatusCode, code: &str, msg: impl Into<String>) -> Response<Vec<u8>> {
    let body = serde_json::json!({ "code": code, "message": msg.into() });
    Response::builder()
        .status(status)
        .header("Content-Type", "application/json")
        // The reader fetches pages from the app's own origin: it must be
        // able to read why a page failed, to show it.
        .header("Access-Control-Allow-Origin", "*")
        .body(body.to_string().into_bytes())
        .unwrap_or_default()
}

pub(crate) fn handle<R: Runtime>(
    ctx: UriSchemeContext<'_, R>,
    request: Request<Vec<u8>>,
    responder: UriSchemeResponder,
) {
    let app = ctx.app_handle().clone();
    std::thread::spawn(move || {
        let resp = answer(&app, &request);
        responder.respond(resp);
    });
}

fn answer<R: Runtime>(app: &tauri::AppHandle<R>, request: &Request<Vec<u8>>) -> Response<Vec<u8>> {
    let uri = request.uri();
    let parts: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    let (sha, page) = match parts.as_slice() {
        ["page", sha, page] => (*sha, *page),
        _ => return refusal(StatusCode::NOT_FOUND, "bad_request", "unknown path"),
    };
    let Ok(hash) = sha.parse::<Hash>() else {
        return refusal(StatusCode::BAD_REQUEST, "bad_request", "not a sha256");
    };
    let Ok(page) = page.parse::<u32>() else {
        return refusal(StatusCode::BAD_REQUEST, "bad_request", "bad page number");
    };
    let width = uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("width=")))
        .and_then(|w| w.parse::<u32>().ok())
        .unwrap_or(1200)
        .clamp(16, MAX_WIDTH);
    let state = app.state::<AppState>();
    let render = match &state.render {
        Ok(r) => r,
        Err(e) => {
            return refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "render_unavailable",
                e.clone(),
            )
        }
    };
    let client = match state.client() {
        Ok(c) => c,
        Err(e) if e.code == "app_locked" => {
            return refusal(StatusCode::FORBIDDEN, &e.code, e.message)
        }
        Err(e) => return refusal(StatusCode::NOT_FOUND, &e.code, e.message),
    };
    let path = {
        let dir = client.dir();
        let d = dir.lock().unwrap_or_else(|p| p.into_inner());
        if !d.blobs().has(&hash) {
            return refusal(
                StatusCode::NOT_FOUND,
                "not_downloaded",
                "this paper has not been downloaded yet",
            );
        }
        if !d
            .file_unlocked(&hash, crate::commands::now())
            .unwrap_or(false)
        {
            return refusal(
                StatusCode::FORBIDDEN,
                "pack_locked",
                "this paper's meeting is locked: the device has not reached the hub for too long",
            );
        }
        d.blobs().path(&hash)
    };
    let doc = DocRef {
        sha256: hash.to_hex(),
        path,
    };
    let gen = phonghop_pdf::Generation::new();
    match render
        .render_with_prefetch(&doc, page, width, AHEAD, &gen)
        .wait()
    {
        Ok(p) => Response::builder()
            .status(StatusCode::OK)
            .header("Content-Type", p.encoding.mime())
            // The render service caches pages (memory, then disk); a second
            // copy in WebKit's caches is memory the reader never gets back.
            .header("Cache-Control", "no-store")
            .header("Access-Control-Allow-Origin", "*")
            .body(p.bytes.to_vec())
            .unwrap_or_default(),
        Err(e) => refusal(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.to_string()),
    }
}
