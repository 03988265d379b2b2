//! The HTTP layer of the backend kit: one client per source (timeouts, CA
//! file, explicit `insecure`, redirects) and transport failures in words.
//! Beside it: `answer` (an HTTP answer → `SourceError`/`ActionError`, the
//! "was it sent?" rule, the backend's own words), `auth` (credentials on a
//! request), `pages` (the page loop and the next-link policy), `tail` (the
//! end of a streamed log), `transport` (failures before a status, in
//! words); `polite` keeps ETags and rate limits.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;

use super::SourceError;
use crate::config::HttpBackend;

mod answer;
mod auth;
mod large;
pub mod pages;
mod tail;
mod transport;
pub use answer::{
    action_error, backend_words, html_title, is_html, json_message, own_timeout, read_error,
    send_action, snippet, unsent_or_lost,
};
pub use auth::{Credentials, basic, bearer, copy, reauthorize, rebearer, renewing};
pub use large::decode_streamed;
pub use tail::{TailBuffer, ask_for_tail};
pub use transport::{address, transport_error, transport_words};

/// Connecting may take this long.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A whole request may take this long (a read has its own, longer, timeout).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// TLS and timeout settings of one source.
#[derive(Clone, Debug, Default)]
pub struct HttpOptions {
    /// Extra CA certificate (PEM) to trust, for private CAs.
    pub ca_file: Option<PathBuf>,
    /// Skip certificate verification. Never the default; shown on screen.
    pub insecure: bool,
    /// A whole request may take this long [default: `REQUEST_TIMEOUT`].
    pub timeout: Option<Duration>,
    /// Which redirects are followed.
    pub redirects: Redirects,
}

/// Which redirects a client follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Redirects {
    /// Any (reqwest drops `Authorization` on the way to another host).
    #[default]
    Any,
    /// Only to the same scheme, host and port: for credentials in a header
    /// of the backend's own (GitLab's `PRIVATE-TOKEN`) that reqwest would
    /// carry to any host.
    SameOrigin,
    /// None: a redirect is the answer (Jenkins answers a stop with one).
    None,
}

/// Build a client for one source.
pub fn client(options: &HttpOptions) -> Result<reqwest::Client, SourceError> {
    builder(options)?
        .connect_timeout(CONNECT_TIMEOUT.min(options.timeout.unwrap_or(REQUEST_TIMEOUT)))
        .timeout(options.timeout.unwrap_or(REQUEST_TIMEOUT))
        .build()
        .map_err(|e| SourceError::Unreachable(format!("cannot set up the HTTP client: {e}")))
}

/// A client for long-lived streams (watch feeds): it connects within
/// `CONNECT_TIMEOUT` but has no whole-request timeout.
pub fn stream_client(options: &HttpOptions) -> Result<reqwest::Client, SourceError> {
    builder(options)?
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        .map_err(|e| SourceError::Unreachable(format!("cannot set up the HTTP client: {e}")))
}

/// What both clients share: the user agent, CA, certificate checks, redirects.
fn builder(options: &HttpOptions) -> Result<reqwest::ClientBuilder, SourceError> {
    let mut builder =
        reqwest::Client::builder().user_agent(concat!("opsdeck/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = &options.ca_file {
        builder = builder.add_root_certificate(read_ca(&crate::config::expand_home(path))?);
    }
    if options.insecure {
        builder = builder.danger_accept_invalid_certs(true);
    }
    Ok(match options.redirects {
        Redirects::Any => builder,
        Redirects::None => builder.redirect(reqwest::redirect::Policy::none()),
        Redirects::SameOrigin => builder.redirect(reqwest::redirect::Policy::custom(|attempt| {
            let same = attempt
                .previous()
                .first()
                .is_some_and(|first| first.origin() == attempt.url().origin());
            if !same {
                attempt.stop()
            } else if attempt.previous().len() > 5 {
                attempt.error("too many redirects")
            } else {
                attempt.follow()
            }
        })),
    })
}

fn read_ca(path: &Path) -> Result<reqwest::Certificate, SourceError> {
    let pem = std::fs::read(path).map_err(|e| {
        SourceError::Unreachable(format!("cannot read ca_file {}: {e}", path.display()))
    })?;
    reqwest::Certificate::from_pem(&pem).map_err(|e| {
        SourceError::Unreachable(format!(
            "ca_file {} is not a PEM certificate: {e}",
            path.display()
        ))
    })
}

/// Send a request; a non-2xx status becomes an error naming it.
pub async fn send(request: RequestBuilder) -> Result<Response, SourceError> {
    let response = request.send().await.map_err(transport_error)?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let url = response.url().path().to_string();
    let body = response.text().await.unwrap_or_default();
    Err(status_error(status, &url, &body, retry_after.as_deref()))
}

/// Send a request and decode its JSON body; `what` names it in errors.
pub async fn json<T: DeserializeOwned>(
    request: RequestBuilder,
    what: &str,
) -> Result<T, SourceError> {
    let response = send(request).await?;
    let bytes = response.bytes().await.map_err(transport_error)?;
    decode(&bytes, what)
}

/// An answer read whole, whatever its status: for APIs whose error replies
/// carry their own JSON (Prometheus's `errorType`, MLflow's `error_code`).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    /// The request's path, for messages.
    pub path: String,
    pub body: Vec<u8>,
    /// The answer's headers (rate limits, content type).
    pub headers: reqwest::header::HeaderMap,
    retry_after: Option<String>,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// The error for a non-2xx status, in the backend's own words.
    pub fn status_error(&self) -> SourceError {
        status_error(
            self.status,
            &self.path,
            &String::from_utf8_lossy(&self.body),
            self.retry_after.as_deref(),
        )
    }

    /// A 401 or 403 as an auth error. They come from a proxy in front of
    /// the backend as often as from the backend itself, so their body is
    /// never read as the backend's own error shape.
    pub fn auth_refusal(&self) -> Option<SourceError> {
        matches!(
            self.status,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        )
        .then(|| self.status_error())
    }

    /// Read an answer whole (for callers that sent the request themselves).
    pub async fn read(response: Response) -> Result<Reply, SourceError> {
        let status = response.status();
        let path = response.url().path().to_string();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(transport_error)?.to_vec();
        Ok(Reply {
            status,
            path,
            body,
            headers,
            retry_after,
        })
    }
}

/// Send a request and read its whole body, whatever its status. Only
/// transport failures (refused, DNS, TLS, timeout) are errors here.
pub async fn reply(request: RequestBuilder) -> Result<Reply, SourceError> {
    let response = request.send().await.map_err(transport_error)?;
    Reply::read(response).await
}

/// The options of a source configured with the shared HTTP keys.
pub fn options(backend: &HttpBackend) -> HttpOptions {
    HttpOptions {
        ca_file: backend.ca_file.clone(),
        insecure: backend.insecure,
        timeout: None,
        redirects: Redirects::Any,
    }
}

/// A URL path segment, percent-encoded (a GitLab project path as
/// `group%2Fproject`, a workflow file name, an Argo CD app name).
pub fn path_segment(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// Decode a JSON body; the error names `what` and where in the body it broke.
/// An HTML page (a login portal, a proxy's page) is said to be one.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, SourceError> {
    serde_json::from_slice(bytes).map_err(|e| {
        if is_html(bytes) {
            html_not_json(what)
        } else {
            SourceError::Decode(format!("{what}: {e}"))
        }
    })
}

/// An HTML page came where JSON was expected (`what` names the read).
pub fn html_not_json(what: &str) -> SourceError {
    SourceError::Decode(format!(
        "the server answered an HTML page where JSON was expected ({what}) — is the URL right, \
         or is a proxy or login page in the way?"
    ))
}

/// Map an HTTP error status (and the backend's own message) to an error.
/// An HTML error page (a proxy's, a load balancer's) is never pasted: it is
/// the status, the path and the page's title.
pub fn status_error(
    status: StatusCode,
    path: &str,
    body: &str,
    retry_after: Option<&str>,
) -> SourceError {
    let words = match status {
        StatusCode::TOO_MANY_REQUESTS => format!(
            "429 rate limited on {path}{}",
            retry_after
                .map(|r| format!(", retry after {r}s"))
                .unwrap_or_default()
        ),
        s if is_html(body.as_bytes()) => {
            let title = html_title(body.as_bytes())
                .filter(|t| !t.eq_ignore_ascii_case(&status_line(s)))
                .map(|t| format!(" (page title “{t}”)"))
                .unwrap_or_default();
            let hint = if s == StatusCode::UNAUTHORIZED {
                " — check the token"
            } else {
                ""
            };
            format!("{} from {path}{title}{hint}", status_line(s))
        }
        StatusCode::UNAUTHORIZED => {
            let message = backend_words(body.as_bytes(), &["message", "error", "error_code"]);
            format!("401 on {path}: {message} — check the token")
        }
        s => {
            let message = backend_words(body.as_bytes(), &["message", "error", "error_code"]);
            format!("{} on {path}: {message}", s.as_u16())
        }
    };
    read_error(status, words)
}

/// `502 Bad Gateway`: the code and its reason phrase.
pub fn status_line(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_the_backends_own_words() {
        let e = status_error(
            StatusCode::FORBIDDEN,
            "/api/v1/applications",
            r#"{"error":"permission denied","code":7}"#,
            None,
        );
        assert_eq!(
            e.to_string(),
            "not allowed: 403 on /api/v1/applications: permission denied"
        );
        let e = status_error(StatusCode::TOO_MANY_REQUESTS, "/x", "", Some("30"));
        assert_eq!(
            e.to_string(),
            "the backend answered with an error: 429 rate limited on /x, retry after 30s"
        );
        // An HTML error page is summarised, never pasted.
        let e = status_error(
            StatusCode::BAD_GATEWAY,
            "/x",
            "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
            None,
        );
        assert_eq!(
            e.to_string(),
            "the backend answered with an error: 502 Bad Gateway from /x"
        );
        let e = status_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "/x",
            "<!DOCTYPE html><html><title>Maintenance</title></html>",
            None,
        );
        assert_eq!(
            e.to_string(),
            "the backend answered with an error: 503 Service Unavailable from /x \
             (page title “Maintenance”)"
        );
    }

    #[test]
    fn an_html_page_where_json_was_expected_is_said_to_be_one() {
        let e = decode::<Vec<u32>>(b"\n<html><body>Sign in</body></html>", "the app list")
            .expect_err("html");
        assert!(
            e.to_string().contains(
                "the server answered an HTML page where JSON was expected (the app list)"
            ),
            "{e}"
        );
    }

    #[test]
    fn decode_names_what_failed() {
        let e = decode::<Vec<u32>>(b"{\"not\": \"a list\"}", "the app list").expect_err("bad");
        assert!(
            e.to_string()
                .starts_with("cannot understand the backend's answer: the app list: invalid type")
        );
    }
}
