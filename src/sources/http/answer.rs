//! The one rule from an HTTP answer (or its absence) to an error: which
//! statuses are auth failures, which refusals may hide a done action, and
//! whether a request that failed was ever sent. Backends only put the
//! answer in their own words (their hook), never choose the error kind.

use std::time::Duration;

use reqwest::{RequestBuilder, Response, StatusCode};

use super::transport_error;
use crate::sources::{ActionError, SourceError};

/// How much of an error body is shown.
const BODY_SNIPPET_LEN: usize = 300;

/// A refused read: 401 and 403 are auth failures (the user fixes a token or
/// a permission), anything else the backend's. `words` is the backend's
/// hook: who refused what, and what to do next.
pub fn read_error(status: StatusCode, words: String) -> SourceError {
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => SourceError::Auth(words),
        _ => SourceError::Backend(words),
    }
}

/// A refused action: a server error may come after the work was done, so its
/// outcome is unknown; any other refusal means nothing changed.
pub fn action_error(status: StatusCode, words: String) -> ActionError {
    if status.is_server_error() {
        ActionError::Lost(words)
    } else {
        ActionError::Rejected(words)
    }
}

/// Send a mutating request. The one "was it sent?" rule: a request that
/// never left (cannot connect, cannot be built) changed nothing, so it is
/// rejected; one lost after it left (timeout, reset) has an unknown outcome.
/// `words` names the source around the transport error.
pub async fn send_action(
    request: RequestBuilder,
    words: impl FnOnce(SourceError) -> String,
) -> Result<Response, ActionError> {
    request.send().await.map_err(|e| unsent_or_lost(e, words))
}

/// The "was it sent?" rule for a failed send (see `send_action`).
pub fn unsent_or_lost(e: reqwest::Error, words: impl FnOnce(SourceError) -> String) -> ActionError {
    let never_sent = e.is_connect() || e.is_builder();
    let why = words(transport_error(e));
    if never_sent {
        ActionError::Rejected(why)
    } else {
        ActionError::Lost(why)
    }
}

/// A transport timeout names the source's own limit, not the kit's default.
pub fn own_timeout(e: SourceError, limit: Duration) -> SourceError {
    match e {
        SourceError::Timeout(_) => SourceError::Timeout(limit),
        SourceError::NoAnswer { from, .. } => SourceError::NoAnswer {
            within: limit,
            from,
        },
        e => e,
    }
}

/// The backend's own words in an error body: the first of `keys` that is a
/// JSON string, else the start of the text (`backend_words` is the usual
/// hook; a backend with richer bodies reads them first).
pub fn backend_words(body: &[u8], keys: &[&str]) -> String {
    if is_html(body) {
        return match html_title(body) {
            Some(title) => format!("an HTML page titled “{title}”"),
            None => "an HTML page".into(),
        };
    }
    json_message(body, keys).unwrap_or_else(|| snippet(&String::from_utf8_lossy(body)))
}

/// How long a page title may be to be shown.
const TITLE_LEN: usize = 80;

/// A body that is an HTML page (it starts with a tag), not JSON or text.
pub fn is_html(body: &[u8]) -> bool {
    let start = &body[..body.len().min(1024)];
    let text = String::from_utf8_lossy(start);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    let lower = text.to_ascii_lowercase();
    lower.starts_with("<!doctype html")
        || lower.starts_with("<html")
        || lower.starts_with("<head")
        || lower.starts_with("<body")
        || (lower.starts_with('<') && lower.contains("<html"))
}

/// An HTML page's `<title>`, when it has a short one.
pub fn html_title(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(&body[..body.len().min(64 * 1024)]);
    let lower = text.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let title = text[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (!title.is_empty() && title.chars().count() <= TITLE_LEN && !title.contains('<'))
        .then_some(title)
}

/// The first of `keys` that is a string in a JSON object body.
pub fn json_message(body: &[u8], keys: &[&str]) -> Option<String> {
    let value = serde_json::from_slice::<serde_json::Value>(body).ok()?;
    keys.iter()
        .find_map(|key| value.get(*key).and_then(|m| m.as_str()))
        .map(str::to_string)
}

/// The start of a body's text, or "no details" when it has none.
pub fn snippet(text: &str) -> String {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return "no details".into();
    }
    trimmed.chars().take(BODY_SNIPPET_LEN).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_statuses_are_auth_failures_and_the_rest_the_backends() {
        let e = read_error(StatusCode::FORBIDDEN, "no".into());
        assert!(matches!(e, SourceError::Auth(_)));
        let e = read_error(StatusCode::UNAUTHORIZED, "no".into());
        assert!(matches!(e, SourceError::Auth(_)));
        let e = read_error(StatusCode::NOT_FOUND, "gone".into());
        assert!(matches!(e, SourceError::Backend(_)));
    }

    #[test]
    fn a_server_error_leaves_an_action_unknown_and_a_refusal_rejects_it() {
        let e = action_error(StatusCode::BAD_GATEWAY, "502".into());
        assert!(matches!(e, ActionError::Lost(_)));
        for status in [
            StatusCode::UNAUTHORIZED,
            StatusCode::FORBIDDEN,
            StatusCode::NOT_FOUND,
            StatusCode::CONFLICT,
            StatusCode::TOO_MANY_REQUESTS,
        ] {
            let e = action_error(status, "no".into());
            assert!(matches!(e, ActionError::Rejected(_)), "{status}");
        }
    }

    #[tokio::test]
    async fn a_request_that_never_left_is_rejected() {
        // Port 9 on localhost: nothing listens, so the connect fails.
        let client = reqwest::Client::new();
        let request = client.post("http://127.0.0.1:9/x");
        let e = send_action(request, |e| format!("src: {e}"))
            .await
            .expect_err("nothing listens");
        assert!(
            matches!(e, ActionError::Rejected(ref w) if w.starts_with("src: ")),
            "{e:?}"
        );
    }

    #[tokio::test]
    async fn a_request_lost_after_it_left_has_an_unknown_outcome() {
        // A server that reads the request and hangs up without answering.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            if let Ok((mut socket, _)) = listener.accept().await {
                use tokio::io::AsyncReadExt;
                let mut buf = [0u8; 1024];
                let _ = socket.read(&mut buf).await;
            }
        });
        let request = reqwest::Client::new().post(format!("http://{addr}/x"));
        let e = send_action(request, |e| e.to_string())
            .await
            .expect_err("hung up");
        assert!(matches!(e, ActionError::Lost(_)), "{e:?}");
    }

    #[test]
    fn a_timeout_names_the_sources_own_limit() {
        let limit = Duration::from_secs(42);
        let e = own_timeout(SourceError::Timeout(Duration::from_secs(15)), limit);
        assert!(matches!(e, SourceError::Timeout(d) if d == limit));
        let e = own_timeout(SourceError::Backend("x".into()), limit);
        assert!(matches!(e, SourceError::Backend(_)));
    }

    #[test]
    fn backend_words_prefer_the_json_message_then_the_text() {
        assert_eq!(
            backend_words(
                br#"{"error":"denied","message":"nope"}"#,
                &["message", "error"]
            ),
            "nope"
        );
        // An HTML page is never pasted: its title, if it has one.
        assert_eq!(
            backend_words(b"<html>bad</html>", &["message"]),
            "an HTML page"
        );
        assert_eq!(
            backend_words(
                b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head></html>",
                &["message"]
            ),
            "an HTML page titled “Sign in”"
        );
        assert_eq!(backend_words(b"  ", &["message"]), "no details");
    }
}
