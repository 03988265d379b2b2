//! Getting a JWT and sending with it: a login (`POST /auth/token`) traded
//! for a token kept for the process, or a ready token from a secret. A 401
//! renews it once through the kit's `renewing` rule (log in again, or read
//! the secret again) and sends the request once more.

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::json;

use super::{AirflowSource, api};
use crate::config::{HttpAuth, SecretValue};
use crate::sources::http::{self, Reply};
use crate::sources::{ActionError, SourceError};

/// What the API answers in (its logs also in NDJSON).
pub(super) const JSON: &str = "application/json";

impl AirflowSource {
    /// The token to send now: the one kept, else a fresh login (or the
    /// configured token, read now).
    pub(super) async fn jwt(&self) -> Result<SecretValue, SourceError> {
        match &self.config.http.auth {
            HttpAuth::Bearer(secret) => secret.resolve().await.map_err(|e| {
                SourceError::Auth(format!(
                    "{}: cannot read the Airflow token from {}: {e}",
                    self.name,
                    secret.origin()
                ))
            }),
            _ => {
                let mut kept = self.jwt.lock().await;
                if let Some(token) = kept.as_ref() {
                    return Ok(token.clone());
                }
                let token = self.login().await?;
                *kept = Some(token.clone());
                Ok(token)
            }
        }
    }

    /// After a 401 with `rejected`: a new token (logged in again, or the
    /// secret read again), or None when nothing new can be had.
    async fn renewed(&self, rejected: SecretValue) -> Option<SecretValue> {
        match &self.config.http.auth {
            HttpAuth::Bearer(secret) => secret.renew(&rejected).await.ok().flatten(),
            _ => {
                let mut kept = self.jwt.lock().await;
                // Another request renewed it meanwhile: use that one.
                if let Some(current) = kept.as_ref().filter(|t| **t != rejected) {
                    return Some(current.clone());
                }
                *kept = None;
                let fresh = self.login().await.ok()?;
                *kept = Some(fresh.clone());
                (fresh != rejected).then_some(fresh)
            }
        }
    }

    /// `POST /auth/token` with the configured user and password.
    async fn login(&self) -> Result<SecretValue, SourceError> {
        let HttpAuth::Basic { username, password } = &self.config.http.auth else {
            return Err(SourceError::Auth(format!(
                "{}: no username and password to log in with",
                self.name
            )));
        };
        let secret = password.resolve().await.map_err(|e| {
            SourceError::Auth(format!(
                "{}: cannot read the Airflow password from {}: {e}",
                self.name,
                password.origin()
            ))
        })?;
        let url = format!("{}/auth/token", self.config.http.url);
        let request = self
            .client()?
            .post(&url)
            .json(&json!({"username": username, "password": secret.expose()}));
        let reply = self.sent(request).await?;
        if !reply.is_success() {
            let said = api::message(&reply.body);
            let code = reply.status.as_u16();
            let words = match reply.status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => format!(
                    "{}: Airflow refused the login of `{username}` ({code} on /auth/token: \
                     {said}) — check the password from {}",
                    self.name,
                    password.origin()
                ),
                StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => format!(
                    "{}: no login at {url} ({code}: {said}) — is this Airflow 3 with the simple \
                     or FAB auth manager? Otherwise give a ready `token`",
                    self.name
                ),
                _ => format!(
                    "{}: login failed ({code} on /auth/token: {said})",
                    self.name
                ),
            };
            return Err(http::read_error(reply.status, words));
        }
        let token: api::TokenReply =
            http::decode(&reply.body, &format!("{}: the login answer", self.name))?;
        Ok(SecretValue::new(token.access_token))
    }

    /// Send a request (not while rate limited) and read its answer whole;
    /// a 429 holds the source until its reset.
    async fn sent(&self, request: RequestBuilder) -> Result<Reply, SourceError> {
        self.polite.check(chrono::Utc::now())?;
        let reply = http::reply(request).await.map_err(|e| self.named(e))?;
        self.polite
            .observe(reply.status, &reply.headers, &reply.path)?;
        Ok(reply)
    }

    /// A request to `url` (under the API) with the token on it.
    fn authorised(
        &self,
        method: &Method,
        url: &str,
        token: &SecretValue,
        accept: &str,
        build: &(dyn Fn(RequestBuilder) -> RequestBuilder + Sync),
    ) -> Result<RequestBuilder, SourceError> {
        let request = self
            .client()?
            .request(method.clone(), url)
            .header(reqwest::header::ACCEPT, accept);
        Ok(http::bearer(build(request), token))
    }

    /// A read: sent with the token, renewed once on a 401, read whole.
    pub(super) async fn read_reply(
        &self,
        method: Method,
        url: &str,
        build: &(dyn Fn(RequestBuilder) -> RequestBuilder + Sync),
    ) -> Result<Reply, SourceError> {
        let token = self.jwt().await?;
        let (reply, _) = http::renewing(
            token,
            |token| {
                let request = self.authorised(&method, url, &token, JSON, build);
                async move { self.sent(request?).await }
            },
            |reply| reply.status,
            |rejected| self.renewed(rejected),
        )
        .await?;
        Ok(reply)
    }

    /// A streamed read (a log): the response itself, for the caller to read
    /// in chunks.
    pub(super) async fn read_stream(
        &self,
        url: &str,
        accept: &str,
        build: &(dyn Fn(RequestBuilder) -> RequestBuilder + Sync),
    ) -> Result<reqwest::Response, SourceError> {
        let token = self.jwt().await?;
        let (response, _) = http::renewing(
            token,
            |token| {
                let request = self.authorised(&Method::GET, url, &token, accept, build);
                async move {
                    self.polite.check(chrono::Utc::now())?;
                    let response = request?
                        .send()
                        .await
                        .map_err(|e| self.named(http::transport_error(e)))?;
                    let path = response.url().path().to_string();
                    self.polite
                        .observe(response.status(), response.headers(), &path)?;
                    Ok(response)
                }
            },
            |response| response.status(),
            |rejected| self.renewed(rejected),
        )
        .await?;
        Ok(response)
    }

    /// A mutating request, by the kit's "was it sent?" rule: a failure
    /// before it left rejects it, one after leaves the outcome unknown.
    pub(super) async fn act_reply(
        &self,
        method: Method,
        url: &str,
        body: serde_json::Value,
    ) -> Result<Reply, ActionError> {
        let token = self
            .jwt()
            .await
            .map_err(|e| ActionError::Rejected(e.to_string()))?;
        let build = |r: RequestBuilder| r.json(&body);
        let (reply, _) = http::renewing(
            token,
            |token| {
                let request = self.authorised(&method, url, &token, JSON, &build);
                async move {
                    let request = request.map_err(|e| ActionError::Rejected(e.to_string()))?;
                    self.polite
                        .check(chrono::Utc::now())
                        .map_err(|e| ActionError::Rejected(format!("{}: {e}", self.name)))?;
                    let response = http::send_action(request, |e| {
                        format!("{} ({}): {e}", self.name, self.config.http.url)
                    })
                    .await?;
                    let reply = Reply::read(response)
                        .await
                        .map_err(|e| ActionError::Lost(format!("{}: {e}", self.name)))?;
                    // A 429 changed nothing: refused, and the source waits.
                    self.polite
                        .observe(reply.status, &reply.headers, &reply.path)
                        .map_err(|e| ActionError::Rejected(format!("{}: {e}", self.name)))?;
                    Ok(reply)
                }
            },
            |reply| reply.status,
            |rejected| self.renewed(rejected),
        )
        .await?;
        Ok(reply)
    }
}
