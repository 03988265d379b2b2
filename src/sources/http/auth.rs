//! Auth in one place: every request of a REST backend gets its credentials
//! here (none, a bearer token, user and password), marked sensitive so no
//! debug output or log shows them.
//!
//! And the one rule for a refused credential: a 401 reads the secret again
//! (a `command` secret, otherwise kept for the process, runs again — once,
//! however many requests were refused with the same value) and, if the
//! value changed, the request goes once more with it. A second 401 is the
//! answer. `renewing` is that rule; `Credentials::reply` applies it for the
//! drift kinds, and GitHub, GitLab, Jenkins and Argo CD call it in their
//! request paths.
//!
//! A backend whose API trades a login for a token (Airflow's `POST
//! /auth/token`) keeps the token it got and, on a 401, logs in again through
//! this same `renewing` rule (`sources/airflow/auth.rs`).

use std::future::Future;
use std::sync::Mutex;

use reqwest::header::{AUTHORIZATION, HeaderName};
use reqwest::{RequestBuilder, StatusCode};

use super::{Reply, transport_error};
use crate::config::{HttpAuth, SecretError, SecretValue};
use crate::sources::SourceError;

/// Credentials read from their secrets, ready to go on a request. Debug
/// never shows them.
#[derive(Debug)]
pub struct Credentials {
    auth: HttpAuth,
    current: Mutex<Resolved>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Resolved {
    None,
    Bearer(SecretValue),
    Basic {
        username: String,
        password: SecretValue,
    },
}

impl Credentials {
    /// Look the secrets up now (`env` and `file` are read again, so a
    /// rotated token is picked up on the next read; a command's value is
    /// kept until a 401).
    pub async fn resolve(auth: &HttpAuth) -> Result<Credentials, SourceError> {
        Ok(Credentials {
            auth: auth.clone(),
            current: Mutex::new(read(auth).await?),
        })
    }

    fn current(&self) -> Resolved {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Add the `Authorization` header, if any.
    pub fn apply(&self, request: RequestBuilder) -> RequestBuilder {
        apply(request, &self.current())
    }

    /// Send `request` (without credentials: they are added here) and read
    /// the answer whole, whatever its status. A 401 renews the credentials
    /// once and sends the request once more (see the module's rule).
    pub async fn reply(&self, request: RequestBuilder) -> Result<Reply, SourceError> {
        let (reply, _) = renewing(
            self.current(),
            |current| {
                let request = copy(&request).map(|r| apply(r, &current));
                async move { super::reply(request?).await }
            },
            |reply| reply.status,
            |rejected| self.renew(rejected),
        )
        .await?;
        Ok(reply)
    }

    /// After a 401 with `rejected`: the credentials read again, if they
    /// changed (then kept for the requests that follow).
    async fn renew(&self, rejected: Resolved) -> Option<Resolved> {
        let secret = match &self.auth {
            HttpAuth::None => return None,
            HttpAuth::Bearer(token) => token,
            HttpAuth::Basic { password, .. } => password,
        };
        let value = match &rejected {
            Resolved::None => return None,
            Resolved::Bearer(value)
            | Resolved::Basic {
                password: value, ..
            } => value,
        };
        secret.forget(value).await;
        // Unreadable now: the 401 stands (the next read says why).
        let fresh = read(&self.auth).await.ok()?;
        if fresh == rejected {
            return None;
        }
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = fresh.clone();
        Some(fresh)
    }
}

async fn read(auth: &HttpAuth) -> Result<Resolved, SourceError> {
    let unreadable =
        |key: &str, e: SecretError| SourceError::Auth(format!("cannot read the {key}: {e}"));
    Ok(match auth {
        HttpAuth::None => Resolved::None,
        HttpAuth::Bearer(token) => {
            Resolved::Bearer(token.resolve().await.map_err(|e| unreadable("token", e))?)
        }
        HttpAuth::Basic { username, password } => Resolved::Basic {
            username: username.clone(),
            password: password
                .resolve()
                .await
                .map_err(|e| unreadable("password", e))?,
        },
    })
}

fn apply(request: RequestBuilder, credentials: &Resolved) -> RequestBuilder {
    match credentials {
        Resolved::None => request,
        Resolved::Bearer(token) => bearer(request, token),
        Resolved::Basic { username, password } => basic(request, username, password),
    }
}

/// The one rule for a refused credential. `send` sends the request with a
/// credential and gives its answer; `status` reads the answer's status; on
/// a 401, `renew` gets the refused credential and gives a new one, or None
/// (unchanged or unreadable: the 401 stands). The request is sent at most
/// twice. Returns the last answer and the credential it went with (for the
/// caller's next requests and its messages).
pub async fn renewing<C, T, E, Send, Sent, Status, Renew, Renewed>(
    credential: C,
    send: Send,
    status: Status,
    renew: Renew,
) -> Result<(T, C), E>
where
    C: Clone,
    Send: Fn(C) -> Sent,
    Sent: Future<Output = Result<T, E>>,
    Status: Fn(&T) -> StatusCode,
    Renew: FnOnce(C) -> Renewed,
    Renewed: Future<Output = Option<C>>,
{
    let answer = send(credential.clone()).await?;
    if status(&answer) != StatusCode::UNAUTHORIZED {
        return Ok((answer, credential));
    }
    match renew(credential.clone()).await {
        Some(fresh) => Ok((send(fresh.clone()).await?, fresh)),
        None => Ok((answer, credential)),
    }
}

/// A copy of a request to send again: a request whose body cannot be copied
/// (a stream) is not retried — none of opsdeck's has one.
pub fn copy(request: &RequestBuilder) -> Result<RequestBuilder, SourceError> {
    request.try_clone().ok_or_else(|| {
        SourceError::Unsupported("a streamed request cannot be sent twice".to_string())
    })
}

/// The same request with `header` replaced (an already authorised request
/// sent again with a renewed credential).
pub fn reauthorize(
    request: RequestBuilder,
    header: HeaderName,
    value: &str,
) -> Result<RequestBuilder, SourceError> {
    let (client, request) = request.build_split();
    let mut request = request.map_err(transport_error)?;
    let mut value = reqwest::header::HeaderValue::from_str(value).map_err(|_| {
        SourceError::Auth(
            "the renewed secret holds characters an HTTP header cannot carry".to_string(),
        )
    })?;
    value.set_sensitive(true);
    request.headers_mut().insert(header, value);
    Ok(RequestBuilder::from_parts(client, request))
}

/// An authorised request with a renewed bearer token instead.
pub fn rebearer(
    request: RequestBuilder,
    token: &SecretValue,
) -> Result<RequestBuilder, SourceError> {
    reauthorize(
        request,
        AUTHORIZATION,
        &format!("Bearer {}", token.expose()),
    )
}

/// A request with `Authorization: Bearer` (reqwest marks it sensitive).
pub fn bearer(request: RequestBuilder, token: &SecretValue) -> RequestBuilder {
    request.bearer_auth(token.expose())
}

/// A request with `Authorization: Basic` (reqwest marks it sensitive).
pub fn basic(request: RequestBuilder, user: &str, password: &SecretValue) -> RequestBuilder {
    request.basic_auth(user, Some(password.expose()))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    /// `renewing` with a server that accepts only `good`, and a renewal
    /// that gives `fresh`: the statuses sent, and what came back.
    fn exchange(good: u32, fresh: Option<u32>) -> (Vec<u32>, StatusCode, u32, usize) {
        let sent = std::sync::Mutex::new(Vec::new());
        let renewals = AtomicUsize::new(0);
        let (status, credential) = block_on(renewing(
            1u32,
            |credential| {
                sent.lock().expect("lock").push(credential);
                let status = match credential == good {
                    true => StatusCode::OK,
                    false => StatusCode::UNAUTHORIZED,
                };
                async move { Ok::<_, SourceError>(status) }
            },
            |status| *status,
            |_| {
                renewals.fetch_add(1, Ordering::Relaxed);
                async move { fresh }
            },
        ))
        .expect("answered");
        let sent = sent.into_inner().expect("lock");
        (sent, status, credential, renewals.into_inner())
    }

    #[test]
    fn a_401_renews_once_and_sends_once_more_with_the_new_credential() {
        assert_eq!(exchange(1, Some(2)), (vec![1], StatusCode::OK, 1, 0));
        assert_eq!(exchange(2, Some(2)), (vec![1, 2], StatusCode::OK, 2, 1));
        // Unchanged (or unreadable): the 401 stands, nothing sent again.
        assert_eq!(exchange(2, None), (vec![1], StatusCode::UNAUTHORIZED, 1, 1));
        // Refused again: that second 401 is the answer.
        assert_eq!(
            exchange(9, Some(2)),
            (vec![1, 2], StatusCode::UNAUTHORIZED, 2, 1)
        );
    }
}
