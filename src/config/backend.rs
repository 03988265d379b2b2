//! Keys shared by the HTTP drift backends (prometheus, mlflow, evidently):
//! the base URL, how to authenticate, TLS, the per-model read timeout and
//! drift thresholds. Each kind declares them in its own raw struct (serde's
//! `flatten` does not mix with `deny_unknown_fields`) and checks them here.

use std::path::PathBuf;
use std::time::Duration;

use toml::Spanned;

use super::{ConfigError, KindParser, Located, Secret, expand_home};
use crate::model::Worse;

/// How long one model's reads may take before that model (alone) shows a
/// timeout, when the config does not say.
pub const DEFAULT_MODEL_TIMEOUT: Duration = Duration::from_secs(10);

/// How requests authenticate. Secrets are looked up when a read needs them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum HttpAuth {
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// `Authorization: Basic …`.
    Basic { username: String, password: Secret },
}

/// Where an HTTP backend is and how to talk to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpBackend {
    /// The base URL, without a trailing slash.
    pub url: String,
    pub auth: HttpAuth,
    /// Extra CA certificate (PEM) to trust.
    pub ca_file: Option<PathBuf>,
    /// Skip certificate verification (never the default).
    pub insecure: bool,
    /// How long one model's reads may take.
    pub timeout: Duration,
}

/// When a model counts as drifting. Both thresholds are finite and ordered
/// the way `worse` says (for `above`, warn ≤ critical).
#[derive(Clone, Copy, Debug)]
pub struct Thresholds {
    pub warn: f64,
    pub critical: f64,
    pub worse: Worse,
}

// Validated finite, so equality is total.
impl PartialEq for Thresholds {
    fn eq(&self, other: &Self) -> bool {
        self.warn.to_bits() == other.warn.to_bits()
            && self.critical.to_bits() == other.critical.to_bits()
            && self.worse == other.worse
    }
}

impl Eq for Thresholds {}

/// The raw HTTP keys of one `[[source]]`, as its kind declared them.
pub(crate) struct RawHttp<'r> {
    pub url: &'r Spanned<String>,
    pub token: Option<&'r Spanned<Secret>>,
    pub username: Option<&'r Spanned<String>>,
    pub password: Option<&'r Spanned<Secret>>,
    pub ca_file: Option<PathBuf>,
    pub insecure: bool,
    pub timeout: &'r Option<Spanned<String>>,
}

/// Check the HTTP keys: an http(s) URL, at most one way to authenticate.
pub(crate) fn http_backend(
    p: &KindParser<'_, '_>,
    raw: RawHttp<'_>,
) -> Result<HttpBackend, ConfigError> {
    let url = base_url(p, raw.url)?;
    let auth = match (raw.token, raw.username, raw.password) {
        (None, None, None) => HttpAuth::None,
        (Some(token), None, None) => HttpAuth::Bearer(token.get_ref().clone()),
        (None, Some(user), Some(password)) => HttpAuth::Basic {
            username: user.get_ref().clone(),
            password: password.get_ref().clone(),
        },
        (Some(token), _, _) => {
            return Err(p.error(
                token,
                "give either `token` or `username` + `password`, not both",
            ));
        }
        (None, Some(user), None) => {
            return Err(p.error(
                user,
                "`username` needs a `password` (for example password = { env = \"PROM_PASSWORD\" })",
            ));
        }
        (None, None, Some(password)) => {
            return Err(p.error(password, "`password` needs a `username`"));
        }
    };
    Ok(HttpBackend {
        url,
        auth,
        ca_file: raw.ca_file.map(|f| expand_home(&f)),
        insecure: raw.insecure,
        timeout: p
            .duration(raw.timeout, "timeout")?
            .unwrap_or(DEFAULT_MODEL_TIMEOUT),
    })
}

fn base_url(p: &KindParser<'_, '_>, url: &Spanned<String>) -> Result<String, ConfigError> {
    let parsed = url::Url::parse(url.get_ref()).map_err(|e| {
        p.error(
            url,
            format!(
                "url: `{}` is not a URL ({e}); write it like \"http://host:port\"",
                url.get_ref()
            ),
        )
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(p.error(
            url,
            format!(
                "url: `{}` must be an http:// or https:// address with a host",
                url.get_ref()
            ),
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(p.error(
            url,
            format!(
                "url: `{}` must not carry a query or fragment",
                url.get_ref()
            ),
        ));
    }
    Ok(url.get_ref().trim_end_matches('/').to_string())
}

/// Check `warn`, `critical` and `worse` of one model.
pub(crate) fn thresholds(
    p: &KindParser<'_, '_>,
    warn: &Spanned<f64>,
    critical: &Spanned<f64>,
    worse: Option<&Spanned<String>>,
) -> Result<Thresholds, ConfigError> {
    let worse_value = match worse {
        None => Worse::Above,
        Some(w) => match w.get_ref().as_str() {
            "above" => Worse::Above,
            "below" => Worse::Below,
            other => {
                return Err(p.error(
                    w,
                    format!(
                        "worse: `{other}` is neither \"above\" (distances such as PSI: higher is worse) \
                         nor \"below\" (p-values: lower is worse)"
                    ),
                ));
            }
        },
    };
    for (key, value) in [("warn", warn), ("critical", critical)] {
        if !value.get_ref().is_finite() {
            return Err(p.error(value, format!("{key} must be a finite number")));
        }
    }
    let (w, c) = (*warn.get_ref(), *critical.get_ref());
    match worse_value {
        Worse::Above if w > c => {
            return Err(p.error(
                warn,
                format!(
                    "warn ({w}) must not be above critical ({c}) when worse = \"above\" \
                     (higher is worse, so warn comes first)"
                ),
            ));
        }
        Worse::Below if w < c => {
            return Err(p.error(
                warn,
                format!(
                    "warn ({w}) must not be below critical ({c}) when worse = \"below\" \
                     (lower is worse, so warn comes first)"
                ),
            ));
        }
        _ => {}
    }
    Ok(Thresholds {
        warn: w,
        critical: c,
        worse: worse_value,
    })
}

/// `serving = "SOURCE/APP"` on a model: the app that serves it. Whether
/// the source and app exist is checked once every source is read
/// (`parse::check_serving`).
pub(crate) fn serving(
    p: &KindParser<'_, '_>,
    value: Option<&Spanned<String>>,
) -> Result<Option<Located<String>>, ConfigError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let ok = value
        .get_ref()
        .split_once('/')
        .is_some_and(|(s, a)| !s.trim().is_empty() && !a.trim().is_empty());
    if !ok {
        return Err(p.error(
            value,
            format!("serving `{}` is not SOURCE/APP", value.get_ref()),
        ));
    }
    Ok(Some(Located {
        value: value.get_ref().clone(),
        at: p.at(value.span()),
    }))
}

/// A non-empty string key.
pub(crate) fn non_empty(
    p: &KindParser<'_, '_>,
    value: &Spanned<String>,
    key: &str,
) -> Result<String, ConfigError> {
    if value.get_ref().trim().is_empty() {
        return Err(p.error(value, format!("{key} must not be empty")));
    }
    Ok(value.get_ref().clone())
}
