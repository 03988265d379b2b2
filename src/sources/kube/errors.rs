//! A Kubernetes request's failure in words: which request (verb, resource,
//! namespace), what the API server said, what to do — a 403 names the
//! verb, resource and namespace; an expired credential says how to renew.

use std::borrow::Cow;

use kube::core::ApiResource;

use super::super::http::{self, transport_words};
use super::super::{ActionError, SourceError};
use super::RATE_LIMIT_WAIT;

/// What the cluster was asked, for messages: `list` on `kustomizations`
/// in `flux-system`.
pub struct Request<'a> {
    pub verb: &'a str,
    pub resource: &'a ApiResource,
    /// None: all namespaces.
    pub namespace: Option<&'a str>,
}

impl std::fmt::Display for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let group = if self.resource.group.is_empty() {
            String::new()
        } else {
            format!(".{}", self.resource.group)
        };
        match self.namespace {
            Some(ns) => write!(
                f,
                "`{}` on {}{group} in namespace {ns}",
                self.verb, self.resource.plural
            ),
            None => write!(
                f,
                "`{}` on {}{group} in all namespaces",
                self.verb, self.resource.plural
            ),
        }
    }
}

/// A failed request in words; credentials never appear.
pub fn describe(source: &str, request: &Request<'_>, error: &kube::Error) -> SourceError {
    match error {
        kube::Error::Api(status) if status.code == 403 => {
            let hint = if matches!(request.verb, "list" | "watch") && request.namespace.is_none() {
                "ask for RBAC access, or set `namespaces` to the ones you may read"
            } else {
                "ask for RBAC access"
            };
            SourceError::Auth(format!(
                "{source}: the cluster refused {request} (403 Forbidden): {} — {hint}",
                api_words(&status.message)
            ))
        }
        kube::Error::Api(status) if status.code == 401 => SourceError::Auth(format!(
            "{source}: the cluster did not accept the credentials (401) for {request}: the token \
             may have expired — log in again (or check the kubeconfig's user)"
        )),
        kube::Error::Api(status) if status.code == 429 => SourceError::RateLimited {
            until: chrono::Utc::now()
                + chrono::TimeDelta::from_std(RATE_LIMIT_WAIT).unwrap_or_default(),
            detail: format!(
                "{source}: the cluster answered 429 Too Many Requests to {request}: {}",
                api_words(&status.message)
            ),
        },
        kube::Error::Api(status) => {
            let line = reqwest::StatusCode::from_u16(status.code)
                .map(http::status_line)
                .unwrap_or_else(|_| status.code.to_string());
            let body = unquoted(&status.message);
            if http::is_html(body.as_bytes()) {
                // A proxy's page in front of the API server: never pasted.
                let title = http::html_title(body.as_bytes())
                    .filter(|t| !t.eq_ignore_ascii_case(&line))
                    .map(|t| format!(" (page title “{t}”)"))
                    .unwrap_or_default();
                SourceError::Backend(format!(
                    "{source}: {request} failed: {line} as an HTML page{title} — is a proxy in \
                     front of the API server failing?"
                ))
            } else if status.reason == "Failed to parse error data" {
                // Not a Kubernetes Status: the body in the kit's words.
                SourceError::Backend(format!(
                    "{source}: {request} failed ({line}): {}",
                    api_words(&status.message)
                ))
            } else {
                SourceError::Backend(format!(
                    "{source}: {request} failed ({} {}): {}",
                    status.code, status.reason, status.message
                ))
            }
        }
        kube::Error::SerdeError(e) if e.line() == 1 && e.column() == 1 => {
            SourceError::Decode(format!(
                "{source}: the answer to {request} is not JSON (an HTML page or a proxy's answer?) \
                 — is the cluster URL right, or is a proxy or login page in the way?"
            ))
        }
        kube::Error::SerdeError(e) => SourceError::Decode(format!(
            "{source}: the answer to {request} is malformed JSON: {e}"
        )),
        other => match auth_problem(other) {
            Some(why) => SourceError::Auth(format!("{source}: {why}")),
            None => {
                let chain = chain(other);
                match transport_words(&chain, None, None, false) {
                    Some(SourceError::CutOff(_)) => SourceError::CutOff(format!(
                        "{source}: the answer to {request} was cut off before its end \
                         (connection closed) — try again; if it keeps happening, a proxy in \
                         the way may be cutting answers short"
                    )),
                    Some(words) => {
                        let words = match words {
                            SourceError::Unreachable(w) => w,
                            other => other.to_string(),
                        };
                        SourceError::Unreachable(format!("{source}: {request} failed: {words}"))
                    }
                    None => {
                        SourceError::Unreachable(format!("{source}: {request} failed: {chain}"))
                    }
                }
            }
        },
    }
}

/// The words of an API error's message: a JSON body's `message`, else its
/// start (an HTML page is never pasted).
fn api_words(message: &str) -> String {
    http::backend_words(unquoted(message).as_bytes(), &["message", "error"])
}

/// kube-rs puts a body that is not a Kubernetes Status in the message as a
/// quoted string (`"<html>…"`): the body itself.
fn unquoted(message: &str) -> Cow<'_, str> {
    match serde_json::from_str::<String>(message) {
        Ok(body) if message.starts_with('"') => Cow::Owned(body),
        _ => Cow::Borrowed(message),
    }
}

/// An error and every cause under it, in one line.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

/// The same, for an action: refused when the server (or the credentials)
/// said no, unknown when the connection broke.
pub fn describe_action(source: &str, request: &Request<'_>, error: &kube::Error) -> ActionError {
    let refused = matches!(error, kube::Error::Api(_)) || auth_problem(error).is_some();
    let words = match describe(source, request, error) {
        SourceError::Auth(m)
        | SourceError::Backend(m)
        | SourceError::Unreachable(m)
        | SourceError::Decode(m)
        | SourceError::CutOff(m)
        | SourceError::Unsupported(m) => m,
        other => other.to_string(),
    };
    if refused {
        ActionError::Rejected(words)
    } else {
        ActionError::Lost(words)
    }
}

/// A credential failure (exec plugin missing or failing, token file
/// unreadable) found anywhere in the error's chain, in words.
pub(super) fn auth_problem(error: &kube::Error) -> Option<String> {
    use kube::client::AuthError;
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(auth) = e.downcast_ref::<AuthError>() {
            return Some(match auth {
                AuthError::AuthExecStart(io) => format!(
                    "the kubeconfig's credential plugin could not be started ({io}): install it \
                     or fix `users[].user.exec.command`"
                ),
                // Its output may hold a token: say only how it ended.
                AuthError::AuthExecRun { cmd, status, .. } => format!(
                    "the credential plugin `{cmd}` failed ({status}): run it by hand to see why \
                     (an expired login is the usual cause)"
                ),
                AuthError::AuthExecParse(_) => {
                    "the credential plugin's output is not an ExecCredential".to_string()
                }
                other => format!("cannot get credentials for the cluster: {other}"),
            });
        }
        current = e.source();
    }
    None
}
