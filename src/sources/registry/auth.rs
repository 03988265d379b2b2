//! A registry's auth dance: every request goes first with the configured
//! credentials (none, basic, a token: the kit's `Credentials`, with its
//! renew-once-on-401 rule). A `401` with `WWW-Authenticate: Bearer
//! realm=…,service=…,scope=…` is answered the way Docker Hub, GHCR, ECR and
//! GCR expect: the configured credentials (or none) go to the realm for a
//! pull token of that scope, which is kept per scope and sent as a bearer
//! token until the registry refuses it.

use std::collections::HashMap;
use std::sync::Mutex;

use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;
use serde::Deserialize;

use crate::config::SecretValue;
use crate::sources::SourceError;
use crate::sources::http::{self, Credentials, Reply};
use crate::sources::polite::Polite;

/// A `WWW-Authenticate: Bearer` challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub service: Option<String>,
    pub scope: Option<String>,
}

/// Parse a `Bearer` challenge (`Bearer realm="…",service="…",scope="…"`);
/// None for `Basic` or anything else.
pub fn bearer_challenge(header: &str) -> Option<Challenge> {
    let (scheme, params) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut found: HashMap<String, String> = HashMap::new();
    let mut rest = params.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim(), &after[end..])
        };
        found.insert(key, value.to_string());
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    Some(Challenge {
        realm: found.remove("realm").filter(|r| !r.is_empty())?,
        service: found.remove("service"),
        scope: found.remove("scope"),
    })
}

#[derive(Deserialize)]
struct TokenAnswer {
    token: Option<String>,
    access_token: Option<String>,
}

/// The tokens a registry handed out, per scope, kept across reads.
#[derive(Debug, Default)]
pub struct Tokens {
    by_scope: Mutex<HashMap<String, SecretValue>>,
}

impl Tokens {
    fn get(&self, scope: &str) -> Option<SecretValue> {
        let map = self.by_scope.lock().unwrap_or_else(|e| e.into_inner());
        map.get(scope).cloned()
    }

    fn put(&self, scope: &str, token: Option<SecretValue>) {
        let mut map = self.by_scope.lock().unwrap_or_else(|e| e.into_inner());
        match token {
            Some(t) => map.insert(scope.to_string(), t),
            None => map.remove(scope),
        };
    }
}

/// One registry's way of sending authorised requests.
pub struct Session<'a> {
    pub client: &'a reqwest::Client,
    pub base: &'a str,
    pub credentials: &'a Credentials,
    pub tokens: &'a Tokens,
    /// Basic credentials were configured (and may go to a token realm).
    pub has_login: bool,
    /// Its rate limit (Docker Hub's pull limit): nothing is sent while it
    /// says to wait.
    pub polite: &'a Polite,
}

impl Session<'_> {
    /// One request with the rate limit checked before and read after.
    async fn metered(
        &self,
        send: impl std::future::Future<Output = Result<Reply, SourceError>>,
    ) -> Result<Reply, SourceError> {
        self.polite.check(chrono::Utc::now())?;
        let reply = send.await?;
        self.polite
            .observe(reply.status, &reply.headers, &reply.path)?;
        Ok(reply)
    }

    /// Send a GET (or HEAD) for `repository`, answering a bearer challenge
    /// once; the answer read whole, whatever its status.
    pub async fn send(
        &self,
        repository: &str,
        url: &str,
        accept: &str,
        head: bool,
    ) -> Result<Reply, SourceError> {
        let scope = format!("repository:{repository}:pull");
        let request = || {
            let r = if head {
                self.client.head(url)
            } else {
                self.client.get(url)
            };
            r.header(reqwest::header::ACCEPT, accept)
        };
        if let Some(token) = self.tokens.get(&scope) {
            let reply = self
                .metered(http::reply(http::bearer(request(), &token)))
                .await?;
            if reply.status != StatusCode::UNAUTHORIZED {
                return Ok(reply);
            }
            // Expired: ask for a new one below.
            self.tokens.put(&scope, None);
        }
        let reply = self
            .metered(http::reply(self.credentials.apply(request())))
            .await?;
        if reply.status != StatusCode::UNAUTHORIZED {
            return Ok(reply);
        }
        let Some(challenge) = reply
            .headers
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_challenge)
        else {
            // Basic (or no) challenge: the configured credentials were
            // refused; the kit's rule renews them once and sends again.
            return self.metered(self.credentials.reply(request())).await;
        };
        let token = self.token(&challenge, &scope).await?;
        self.tokens.put(&scope, Some(token.clone()));
        self.metered(http::reply(http::bearer(request(), &token)))
            .await
    }

    /// A pull token from the challenge's realm.
    async fn token(&self, challenge: &Challenge, scope: &str) -> Result<SecretValue, SourceError> {
        let mut realm = url::Url::parse(&challenge.realm).map_err(|_| {
            SourceError::Auth(format!(
                "the registry asks for a token from `{}`, which is not a URL",
                challenge.realm
            ))
        })?;
        let same_origin = url::Url::parse(self.base).is_ok_and(|b| b.origin() == realm.origin());
        if self.has_login && realm.scheme() != "https" && !same_origin {
            return Err(SourceError::Auth(format!(
                "the registry asks for a token from {}, over plain HTTP on another host: \
                 the password is not sent there",
                crate::sources::without_secrets(realm.as_str())
            )));
        }
        {
            let mut query = realm.query_pairs_mut();
            if let Some(service) = &challenge.service {
                query.append_pair("service", service);
            }
            query.append_pair("scope", challenge.scope.as_deref().unwrap_or(scope));
        }
        let at = realm.path().to_string();
        let reply = self
            .metered(self.credentials.reply(self.client.get(realm)))
            .await?;
        if !reply.is_success() {
            let words = super::api::words(&reply.body);
            return Err(SourceError::Auth(format!(
                "the registry's token service refused ({} on {at}): {words}",
                reply.status.as_u16()
            )));
        }
        let answer: TokenAnswer = http::decode(&reply.body, "the registry's token")?;
        answer
            .token
            .or(answer.access_token)
            .filter(|t| !t.is_empty())
            .map(SecretValue::new)
            .ok_or_else(|| {
                SourceError::Auth(format!("the registry's token service ({at}) gave no token"))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_are_read_as_docker_sends_them() {
        let c = bearer_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#,
        )
        .expect("bearer");
        assert_eq!(c.realm, "https://auth.docker.io/token");
        assert_eq!(c.service.as_deref(), Some("registry.docker.io"));
        assert_eq!(c.scope.as_deref(), Some("repository:library/nginx:pull"));
        let ghcr = bearer_challenge(r#"Bearer realm="https://ghcr.io/token", service="ghcr.io""#)
            .expect("bearer");
        assert_eq!(ghcr.service.as_deref(), Some("ghcr.io"));
        assert_eq!(ghcr.scope, None);
        assert_eq!(bearer_challenge(r#"Basic realm="Registry Realm""#), None);
        assert_eq!(bearer_challenge(r#"Bearer service="x""#), None);
    }
}
