//! Polite HTTP reads for APIs that meter their callers (GitHub, GitLab):
//! conditional GETs with the last ETag per URL and per token (a `304 Not
//! Modified` keeps the data and costs no rate limit), the rate-limit headers
//! read on every answer, and once the limit is used up, not one request
//! before it resets.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::header::{ETAG, HeaderMap, IF_NONE_MATCH, LINK, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode};

use super::SourceError;
use super::http::{status_error, transport_error};
use crate::model::Timestamp;

/// Without a reset time or `Retry-After`, a rate-limited source waits this long.
const DEFAULT_BACKOFF: chrono::TimeDelta = chrono::TimeDelta::seconds(60);
/// The longest wait a backend can impose (a wild `Retry-After` or reset
/// must not silence a source for a year).
const MAX_BACKOFF: chrono::TimeDelta = chrono::TimeDelta::hours(1);
/// Past this many cached answers the cache starts again (runs come and go).
const MAX_ENTRIES: usize = 2048;

/// One answer: fresh, or the cached body of a `304`.
#[derive(Clone, Debug)]
pub struct Page {
    pub status: StatusCode,
    /// The request's path, for messages (never the query: it may name things
    /// the engineer did not configure, and never a token).
    pub path: String,
    pub body: Arc<Vec<u8>>,
    /// The `Link` header's `rel="next"` target.
    pub next: Option<String>,
    /// Served from the cache after a `304`.
    pub not_modified: bool,
}

impl Page {
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// The default error for a non-2xx answer (callers with better words for
    /// 401/403/404 check the status first).
    pub fn status_error(&self) -> SourceError {
        status_error(
            self.status,
            &self.path,
            &String::from_utf8_lossy(&self.body),
            None,
        )
    }
}

/// Counts of what was sent, for tests and the note's figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests that went on the wire.
    pub sent: u64,
    /// Of those, answered `304 Not Modified` (not charged by GitHub).
    pub not_modified: u64,
    /// Reads refused locally while rate limited (nothing sent).
    pub held_back: u64,
}

impl Stats {
    /// Requests charged against the rate limit: everything sent but a 304.
    pub fn charged(&self) -> u64 {
        self.sent - self.not_modified
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    url: String,
    /// A hash of the credential, so a rotated token never reuses an ETag
    /// taken with another (and the token itself is not kept here).
    credential: u64,
}

#[derive(Clone, Debug)]
struct Cached {
    etag: String,
    body: Arc<Vec<u8>>,
    next: Option<String>,
}

/// What the last answers said about the rate limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limit {
    pub remaining: Option<u64>,
    pub reset: Option<Timestamp>,
    /// Nothing is sent before this.
    pub blocked_until: Option<Timestamp>,
}

/// The ETag cache and rate-limit state of one source.
#[derive(Debug, Default)]
pub struct Polite {
    cache: Mutex<HashMap<Key, Cached>>,
    limit: Mutex<Limit>,
    sent: AtomicU64,
    not_modified: AtomicU64,
    held_back: AtomicU64,
}

impl Polite {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn stats(&self) -> Stats {
        Stats {
            sent: self.sent.load(Ordering::Relaxed),
            not_modified: self.not_modified.load(Ordering::Relaxed),
            held_back: self.held_back.load(Ordering::Relaxed),
        }
    }

    pub fn limit(&self) -> Limit {
        *self.limit.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Refuse locally while rate limited: the error says until when.
    pub fn check(&self, now: Timestamp) -> Result<(), SourceError> {
        let limit = self.limit();
        match limit.blocked_until {
            Some(until) if until > now => {
                self.held_back.fetch_add(1, Ordering::Relaxed);
                Err(SourceError::RateLimited {
                    until,
                    detail: "the rate limit is used up; nothing is sent before it resets".into(),
                })
            }
            _ => Ok(()),
        }
    }

    /// A GET with `If-None-Match` when this URL was read before with the
    /// same credential. Any status comes back as a `Page` except a rate
    /// limit (then `RateLimited`) and transport failures.
    pub async fn get(
        &self,
        request: RequestBuilder,
        credential: Option<&str>,
    ) -> Result<Page, SourceError> {
        self.check(chrono::Utc::now())?;
        let (client, request) = request.build_split();
        let mut request = request.map_err(transport_error)?;
        let key = Key {
            url: request.url().to_string(),
            credential: fingerprint(credential),
        };
        let path = request.url().path().to_string();
        let cached = self.cached(&key);
        if let Some(c) = &cached {
            if let Ok(value) = c.etag.parse() {
                request.headers_mut().insert(IF_NONE_MATCH, value);
            }
        }
        self.sent.fetch_add(1, Ordering::Relaxed);
        let response = client.execute(request).await.map_err(transport_error)?;
        let status = response.status();
        let headers = response.headers().clone();
        self.observe(status, &headers, &path)?;
        if status == StatusCode::NOT_MODIFIED {
            self.not_modified.fetch_add(1, Ordering::Relaxed);
            if let Some(c) = cached {
                return Ok(Page {
                    status: StatusCode::OK,
                    path,
                    body: c.body,
                    next: c.next,
                    not_modified: true,
                });
            }
            // A 304 without an ETag sent: the server is confused.
            return Err(SourceError::Backend(format!(
                "304 on {path} without a cached answer"
            )));
        }
        let next = next_link(&headers);
        let etag = headers
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = Arc::new(response.bytes().await.map_err(transport_error)?.to_vec());
        if status == StatusCode::FORBIDDEN && says_secondary_limit(&body) {
            return Err(self.block(
                chrono::Utc::now() + DEFAULT_BACKOFF,
                format!("403 on {path}: secondary rate limit"),
            ));
        }
        if status.is_success() {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            match etag {
                Some(etag) => {
                    if cache.len() >= MAX_ENTRIES {
                        cache.clear();
                    }
                    cache.insert(
                        key,
                        Cached {
                            etag,
                            body: body.clone(),
                            next: next.clone(),
                        },
                    );
                }
                None => {
                    cache.remove(&key);
                }
            }
        }
        Ok(Page {
            status,
            path,
            body,
            next,
            not_modified: false,
        })
    }

    fn cached(&self, key: &Key) -> Option<Cached> {
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    /// Remember a rate limit found elsewhere (a kube client's 429): nothing
    /// is sent before its reset. Any other error changes nothing.
    pub fn hold(&self, e: &SourceError) {
        if let Some(until) = e.retry_at() {
            let mut limit = self.limit.lock().unwrap_or_else(|e| e.into_inner());
            limit.blocked_until = Some(until.min(chrono::Utc::now() + MAX_BACKOFF));
        }
    }

    /// Send nothing before `until`; the error says so.
    fn block(&self, until: Timestamp, detail: String) -> SourceError {
        let mut limit = self.limit.lock().unwrap_or_else(|e| e.into_inner());
        limit.blocked_until = Some(until);
        SourceError::RateLimited { until, detail }
    }

    /// Read the rate-limit headers of any answer (reads and actions alike).
    /// A rate-limited answer (429, or 403 with the limit used up or a
    /// `Retry-After`) blocks the source until the reset and is an error.
    pub fn observe(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        path: &str,
    ) -> Result<(), SourceError> {
        let now = chrono::Utc::now();
        let remaining = header_u64(headers, &["x-ratelimit-remaining", "ratelimit-remaining"]);
        let reset = reset_at(headers, now);
        let retry_after = retry_after(headers, now);
        let mut limit = self.limit.lock().unwrap_or_else(|e| e.into_inner());
        if remaining.is_some() {
            limit.remaining = remaining;
        }
        if reset.is_some() {
            limit.reset = reset;
        }
        let limited = status == StatusCode::TOO_MANY_REQUESTS
            || (status == StatusCode::FORBIDDEN && (remaining == Some(0) || retry_after.is_some()));
        if limited {
            let until = retry_after
                .or(reset.filter(|r| *r > now))
                .unwrap_or(now + DEFAULT_BACKOFF)
                .min(now + MAX_BACKOFF);
            limit.blocked_until = Some(until);
            let remaining = remaining.map_or(String::new(), |r| format!(", {r} requests left"));
            return Err(SourceError::RateLimited {
                until,
                detail: format!("{} on {path}{remaining}", status.as_u16()),
            });
        }
        // Used up by this very answer: the next request would be refused.
        limit.blocked_until = match (remaining, reset) {
            (Some(0), Some(reset)) if reset > now => Some(reset.min(now + MAX_BACKOFF)),
            _ => None,
        };
        Ok(())
    }
}

/// GitHub's secondary rate limit answers 403 with requests still left and
/// says so only in its message.
fn says_secondary_limit(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]).to_ascii_lowercase();
    text.contains("secondary rate limit")
}

fn fingerprint(credential: Option<&str>) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    credential.hash(&mut hasher);
    hasher.finish()
}

fn header_u64(headers: &HeaderMap, names: &[&str]) -> Option<u64> {
    names.iter().find_map(|name| {
        headers
            .get(*name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
    })
}

/// A reset below this many seconds is a wait, not a Unix time.
const RELATIVE_RESET_BELOW: f64 = 1_000_000_000.0;

/// When the limit resets: GitHub sends a Unix time; HCP Terraform the
/// seconds left, as a fraction (`X-RateLimit-Reset: 0.044`).
fn reset_at(headers: &HeaderMap, now: Timestamp) -> Option<Timestamp> {
    let value = ["x-ratelimit-reset", "ratelimit-reset"]
        .iter()
        .find_map(|name| {
            headers
                .get(*name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
        })?;
    if value < RELATIVE_RESET_BELOW {
        let wait = chrono::TimeDelta::milliseconds((value * 1000.0).ceil() as i64);
        Some(now + wait.min(MAX_BACKOFF))
    } else {
        chrono::DateTime::from_timestamp(value as i64, 0)
    }
}

/// `Retry-After` in seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap, now: Timestamp) -> Option<Timestamp> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<i64>() {
        let wait = chrono::TimeDelta::try_seconds(seconds.max(0)).unwrap_or(MAX_BACKOFF);
        return Some(now + wait.min(MAX_BACKOFF));
    }
    chrono::DateTime::parse_from_rfc2822(value)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// The `rel="next"` URL of a `Link` header (RFC 8288, as GitHub and GitLab
/// send it: `<https://…?page=2>; rel="next", <…>; rel="last"`).
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(LINK)?.to_str().ok()?;
    value.split(',').find_map(|part| {
        let (url, params) = part.trim().split_once(';')?;
        let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .any(|p| {
                let p = p.trim();
                p == "rel=\"next\"" || p == "rel=next"
            })
            .then(|| url.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().expect("header"));
        }
        map
    }

    #[test]
    fn the_next_link_is_found_among_others() {
        let h = headers(&[(
            "link",
            "<https://api.github.com/repositories/1/actions/runs?page=1>; rel=\"prev\", \
             <https://api.github.com/repositories/1/actions/runs?page=3>; rel=\"next\", \
             <https://api.github.com/repositories/1/actions/runs?page=9>; rel=\"last\"",
        )]);
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://api.github.com/repositories/1/actions/runs?page=3")
        );
        let last = headers(&[("link", "<https://x/?page=1>; rel=\"first\"")]);
        assert_eq!(next_link(&last), None);
    }

    #[test]
    fn a_reset_in_seconds_as_terraform_sends_it_is_a_wait_from_now() {
        let polite = Polite::new();
        let before = chrono::Utc::now();
        let h = headers(&[
            ("x-ratelimit-limit", "30"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "0.044"),
        ]);
        let err = polite
            .observe(StatusCode::TOO_MANY_REQUESTS, &h, "/api/v2/runs")
            .expect_err("rate limited");
        let until = err.retry_at().expect("a reset");
        assert!(until > before, "{until}");
        assert!(
            until <= chrono::Utc::now() + chrono::TimeDelta::seconds(1),
            "{until}"
        );
        assert!(
            polite
                .check(until + chrono::TimeDelta::milliseconds(1))
                .is_ok()
        );
    }

    #[test]
    fn a_used_up_limit_blocks_until_the_reset() {
        let polite = Polite::new();
        let reset = chrono::Utc::now() + chrono::TimeDelta::minutes(10);
        let reset_s = reset.timestamp().to_string();
        let h = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &reset_s),
        ]);
        let err = polite
            .observe(StatusCode::FORBIDDEN, &h, "/repos/o/r/actions/runs")
            .expect_err("rate limited");
        assert_eq!(
            err.retry_at().map(|t| t.timestamp()),
            Some(reset.timestamp())
        );
        assert!(err.to_string().starts_with("rate limited until "));
        assert!(
            err.to_string()
                .contains("403 on /repos/o/r/actions/runs, 0 requests left")
        );
        let held = polite.check(chrono::Utc::now()).expect_err("held back");
        assert_eq!(held.retry_at(), err.retry_at());
        assert_eq!(polite.stats().held_back, 1);
        assert!(polite.check(reset + chrono::TimeDelta::seconds(1)).is_ok());
        // A 403 that is no rate limit is the caller's to word.
        let other = Polite::new();
        assert!(
            other
                .observe(
                    StatusCode::FORBIDDEN,
                    &headers(&[("x-ratelimit-remaining", "4999")]),
                    "/x"
                )
                .is_ok()
        );
        assert!(other.check(chrono::Utc::now()).is_ok());
    }

    #[test]
    fn a_wild_retry_after_waits_an_hour_at_most_and_never_panics() {
        let polite = Polite::new();
        let before = chrono::Utc::now();
        for wild in ["100000000000000", "9223372036854775807", "31536000"] {
            let err = polite
                .observe(
                    StatusCode::TOO_MANY_REQUESTS,
                    &headers(&[("retry-after", wild)]),
                    "/x",
                )
                .expect_err("limited");
            let until = err.retry_at().expect("until");
            assert!(until <= chrono::Utc::now() + MAX_BACKOFF, "{wild}: {until}");
            assert!(until >= before + MAX_BACKOFF - chrono::TimeDelta::seconds(5));
        }
    }

    #[test]
    fn retry_after_wins_and_429_without_headers_waits_a_minute() {
        let polite = Polite::new();
        let before = chrono::Utc::now();
        let err = polite
            .observe(
                StatusCode::TOO_MANY_REQUESTS,
                &headers(&[("retry-after", "30")]),
                "/api/v4/projects/1/pipelines",
            )
            .expect_err("limited");
        let until = err.retry_at().expect("until");
        assert!(until >= before + chrono::TimeDelta::seconds(30));
        assert!(until <= chrono::Utc::now() + chrono::TimeDelta::seconds(30));
        let bare = Polite::new();
        let err = bare
            .observe(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), "/x")
            .expect_err("limited");
        assert!(err.retry_at().expect("until") >= before + DEFAULT_BACKOFF);
    }
}
