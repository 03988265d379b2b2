//! Auth in one place: every request of a REST backend gets its credentials
//! here (none, a bearer token, user and password), marked sensitive so no
//! debug output or log shows them.
//!
//! A backend whose API trades a login for a token (Airflow's `POST
//! /auth/token`) fits as one more `Credentials` variant that resolves to a
//! bearer token and is renewed once on a 401; no current backend needs it
//! (Argo CD's token comes from the source or the `argocd login` config).

use reqwest::RequestBuilder;

use crate::config::{HttpAuth, SecretError, SecretValue};
use crate::sources::SourceError;

/// Credentials read from their secrets, ready to go on a request. Debug
/// never shows them.
#[derive(Clone, Debug)]
pub enum Credentials {
    None,
    Bearer(SecretValue),
    Basic {
        username: String,
        password: SecretValue,
    },
}

impl Credentials {
    /// Look the secrets up now (a rotated token is picked up on the next read).
    pub async fn resolve(auth: &HttpAuth) -> Result<Credentials, SourceError> {
        let unreadable =
            |key: &str, e: SecretError| SourceError::Auth(format!("cannot read the {key}: {e}"));
        Ok(match auth {
            HttpAuth::None => Credentials::None,
            HttpAuth::Bearer(token) => {
                Credentials::Bearer(token.resolve().await.map_err(|e| unreadable("token", e))?)
            }
            HttpAuth::Basic { username, password } => Credentials::Basic {
                username: username.clone(),
                password: password
                    .resolve()
                    .await
                    .map_err(|e| unreadable("password", e))?,
            },
        })
    }

    /// Add the `Authorization` header, if any.
    pub fn apply(&self, request: RequestBuilder) -> RequestBuilder {
        match self {
            Credentials::None => request,
            Credentials::Bearer(token) => bearer(request, token),
            Credentials::Basic { username, password } => basic(request, username, password),
        }
    }
}

/// A request with `Authorization: Bearer` (reqwest marks it sensitive).
pub fn bearer(request: RequestBuilder, token: &SecretValue) -> RequestBuilder {
    request.bearer_auth(token.expose())
}

/// A request with `Authorization: Basic` (reqwest marks it sensitive).
pub fn basic(request: RequestBuilder, user: &str, password: &SecretValue) -> RequestBuilder {
    request.basic_auth(user, Some(password.expose()))
}
