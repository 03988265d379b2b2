//! `kind = "airflow"`: Apache Airflow 3 DAG runs through its REST API v2 —
//! where Airflow is, how to log in, which DAGs, how many runs of each.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde::de::IgnoredAny;
use toml::Spanned;

use super::backend::{self, HttpAuth, HttpBackend, RawHttp};
use super::{ConfigError, KindParser, Secret, SourceConfig, SourceKind};

/// Its part of the starter config `opsdeck init` writes.
pub const STARTER: &str = r#"# ML pipelines: Apache Airflow 3 DAG runs (REST API v2).
# [[source]]
# name = "airflow"
# kind = "airflow"
# url = "http://airflow.example.com:8080"
# username = "oncall"                       # logs in (POST /auth/token) for a JWT
# password = { env = "AIRFLOW_PASSWORD" }   # or token = { env = "AIRFLOW_JWT" }
# # dags = ["retrain_*", "etl_daily"]       # names or globs; default: every DAG
# # tags = ["ml"]                           # only DAGs with one of these tags
# # limit = 25                              # runs per DAG
"#;

/// An Airflow API server and the DAGs read from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AirflowConfig {
    /// URL, TLS, timeout; `Basic` auth is a login traded for a JWT
    /// (`POST /auth/token`), `Bearer` a ready JWT.
    pub http: HttpBackend,
    /// DAG ids or globs (`*`, `?`); empty: every DAG the user can see.
    pub dags: Vec<String>,
    /// Only DAGs with at least one of these tags (empty: any).
    pub tags: Vec<String>,
    /// Runs read per DAG, newest first.
    pub limit: usize,
}

impl AirflowConfig {
    /// Runs per DAG when `limit` is not given.
    pub const DEFAULT_LIMIT: usize = 25;
    /// The API serves at most this many runs a page (it caps `limit`
    /// silently).
    pub const MAX_LIMIT: usize = 100;
    /// `timeout` when not given: Airflow on SQLite can stall one request
    /// for seconds.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

    /// A config for `url` with a ready token from `token`, every other key
    /// at its default.
    pub fn new(url: impl Into<String>, auth: HttpAuth) -> Self {
        AirflowConfig {
            http: HttpBackend {
                url: url.into().trim_end_matches('/').to_string(),
                auth,
                ca_file: None,
                insecure: false,
                timeout: Self::DEFAULT_TIMEOUT,
            },
            dags: Vec::new(),
            tags: Vec::new(),
            limit: Self::DEFAULT_LIMIT,
        }
    }

    /// This DAG is one the config asks for (by name or glob).
    pub fn wants(&self, dag_id: &str) -> bool {
        self.dags.is_empty() || self.dags.iter().any(|p| glob(p, dag_id))
    }
}

/// `*` matches any run of characters, `?` one; everything else itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative match with one backtrack point for the last `*`.
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAirflow {
    #[allow(dead_code)] // checked by the dispatcher
    kind: IgnoredAny,
    name: String,
    #[serde(default)]
    production: bool,
    refresh: Option<Spanned<String>>,
    url: Spanned<String>,
    username: Option<Spanned<String>>,
    password: Option<Spanned<Secret>>,
    token: Option<Spanned<Secret>>,
    dags: Option<Spanned<Vec<String>>>,
    tags: Option<Spanned<Vec<String>>>,
    limit: Option<Spanned<i64>>,
    timeout: Option<Spanned<String>>,
    ca_file: Option<PathBuf>,
    insecure: Option<Spanned<bool>>,
}

pub(crate) fn parse(p: &KindParser<'_, '_>) -> Result<SourceConfig, ConfigError> {
    let raw: RawAirflow = p.deserialize()?;
    let insecure = p.insecure(&raw.insecure, raw.ca_file.is_some())?;
    let mut http = backend::http_backend(
        p,
        RawHttp {
            url: &raw.url,
            token: raw.token.as_ref(),
            username: raw.username.as_ref(),
            password: raw.password.as_ref(),
            ca_file: raw.ca_file.clone(),
            insecure,
            timeout: &raw.timeout,
        },
    )?;
    if raw.timeout.is_none() {
        http.timeout = AirflowConfig::DEFAULT_TIMEOUT;
    }
    if http.auth == HttpAuth::None {
        return Err(ConfigError::at(
            &p.name_at(),
            "an airflow source needs `username` + `password` (a login traded for a JWT) \
             or `token` (a ready JWT): the API answers nothing without one",
        ));
    }
    if http.url.ends_with("/api/v2") {
        return Err(p.error(
            &raw.url,
            format!(
                "url: `{}` is the API root: give Airflow's own address (\"{}\"); opsdeck adds \
                 /api/v2 and /auth/token",
                raw.url.get_ref(),
                http.url.trim_end_matches("/api/v2")
            ),
        ));
    }
    let dags = names(
        p,
        raw.dags.as_ref(),
        "dags",
        "[\"retrain_*\", \"etl_daily\"]",
    )?;
    let tags = names(p, raw.tags.as_ref(), "tags", "[\"ml\"]")?;
    let limit = p.count(
        &raw.limit,
        "limit",
        AirflowConfig::DEFAULT_LIMIT,
        AirflowConfig::MAX_LIMIT,
        "runs read per DAG, one page of the API",
    )?;
    p.source(raw.name, raw.production, &raw.refresh, || {
        Ok(SourceKind::Airflow(AirflowConfig {
            http,
            dags,
            tags,
            limit,
        }))
    })
}

/// A list of DAG names or tags: given, then not empty and without blank
/// entries.
fn names(
    p: &KindParser<'_, '_>,
    value: Option<&Spanned<Vec<String>>>,
    key: &str,
    example: &str,
) -> Result<Vec<String>, ConfigError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let list = value.get_ref();
    if list.is_empty() || list.iter().any(|n| n.trim().is_empty() || n.trim() != n) {
        return Err(p.error(
            value,
            format!(
                "{key} must list one or more names without surrounding spaces, like {example}; \
                 leave it out for every DAG"
            ),
        ));
    }
    Ok(list.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_names() {
        assert!(glob("retrain_*", "retrain_fraud"));
        assert!(glob("retrain_*", "retrain_"));
        assert!(!glob("retrain_*", "xretrain_fraud"));
        assert!(glob("etl_daily", "etl_daily"));
        assert!(!glob("etl_daily", "etl_daily2"));
        assert!(glob("*_???ly", "etl_daily"));
        assert!(!glob("*_?ly", "etl_daily"));
        assert!(glob("*a*b", "xaab"));
        assert!(!glob("a*b", "abc"));
    }
}
