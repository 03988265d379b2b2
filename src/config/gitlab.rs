//! `kind = "gitlab"`: GitLab CI pipelines of one project — where GitLab is,
//! which project, how to authenticate, and how much to keep.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde::de::IgnoredAny;
use toml::Spanned;

use super::{ConfigError, KindParser, Secret, SourceConfig, SourceKind, expand_home};

/// Its part of the starter config `opsdeck init` writes.
pub const STARTER: &str = r#"# CI/CD: GitLab CI pipelines of one project.
# [[source]]
# name = "platform-ci"
# kind = "gitlab"
# project = "acme/platform"          # token: GITLAB_TOKEN unless `token` says otherwise
# # url = "https://gitlab.example.com"
"#;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitlabConfig {
    /// The GitLab address, without a trailing slash or `/api/v4`.
    pub url: String,
    /// The project as configured: its path (`group/sub/project`) or its
    /// numeric id (digits).
    pub project: String,
    /// Sent as `PRIVATE-TOKEN`.
    pub token: Secret,
    /// Only pipelines of this ref; also the ref new pipelines run on.
    pub git_ref: Option<String>,
    /// How many pipelines are kept, most recently updated first.
    pub limit: usize,
    /// How long one read (and each request) may take.
    pub timeout: Duration,
    /// Extra CA certificate (PEM) to trust.
    pub ca_file: Option<PathBuf>,
    /// Skip certificate verification (never the default; warned about on screen).
    pub insecure: bool,
}

impl GitlabConfig {
    /// GitLab.com, when `url` is not given.
    pub const DEFAULT_URL: &'static str = "https://gitlab.com";
    /// Where the token is read from when `token` is not given.
    pub const DEFAULT_TOKEN_ENV: &'static str = "GITLAB_TOKEN";
    /// Pipelines kept when `limit` is not given.
    pub const DEFAULT_LIMIT: usize = 50;
    /// The most pipelines `limit` may ask for (each new one costs a request).
    pub const MAX_LIMIT: usize = 500;
    /// `timeout` when not given.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// A config for `project` on `url` with every other key at its default.
    pub fn new(url: impl Into<String>, project: impl Into<String>) -> Self {
        GitlabConfig {
            url: url.into().trim_end_matches('/').to_string(),
            project: project.into(),
            token: Secret::Env(Self::DEFAULT_TOKEN_ENV.into()),
            git_ref: None,
            limit: Self::DEFAULT_LIMIT,
            timeout: Self::DEFAULT_TIMEOUT,
            ca_file: None,
            insecure: false,
        }
    }

    /// The project is given by its numeric id rather than its path.
    pub fn project_is_id(&self) -> bool {
        !self.project.is_empty() && self.project.bytes().all(|b| b.is_ascii_digit())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGitlab {
    #[allow(dead_code)] // checked by the dispatcher
    kind: IgnoredAny,
    name: String,
    #[serde(default)]
    production: bool,
    refresh: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    project: Option<Spanned<toml::Value>>,
    token: Option<Spanned<toml::Value>>,
    #[serde(rename = "ref")]
    git_ref: Option<Spanned<String>>,
    limit: Option<Spanned<i64>>,
    timeout: Option<Spanned<String>>,
    ca_file: Option<PathBuf>,
    insecure: Option<Spanned<bool>>,
}

pub(crate) fn parse(p: &KindParser<'_, '_>) -> Result<SourceConfig, ConfigError> {
    let raw: RawGitlab = p.deserialize()?;
    let url = match &raw.url {
        Some(url) => base_url(p, url)?,
        None => GitlabConfig::DEFAULT_URL.to_string(),
    };
    let Some(project) = &raw.project else {
        return Err(ConfigError::at(
            &p.name_at(),
            "a gitlab source needs `project`, the project's path (\"group/sub/project\") \
             or its numeric id",
        ));
    };
    let project = project_ref(p, project)?;
    let token = match &raw.token {
        None => Secret::Env(GitlabConfig::DEFAULT_TOKEN_ENV.into()),
        Some(t) => p.secret(t, "token", GitlabConfig::DEFAULT_TOKEN_ENV)?,
    };
    let git_ref = match raw.git_ref {
        Some(r) if r.get_ref().trim().is_empty() || r.get_ref().trim() != r.get_ref() => {
            return Err(p.error(
                &r,
                "ref must be a branch or tag name without surrounding spaces (\"main\"); \
                 leave it out to list every ref",
            ));
        }
        r => r.map(Spanned::into_inner),
    };
    let limit = p.count(
        &raw.limit,
        "limit",
        GitlabConfig::DEFAULT_LIMIT,
        GitlabConfig::MAX_LIMIT,
        "pipelines kept",
    )?;
    let insecure = p.insecure(&raw.insecure, raw.ca_file.is_some())?;
    p.source(raw.name, raw.production, &raw.refresh, || {
        Ok(SourceKind::Gitlab(GitlabConfig {
            url,
            project,
            token,
            git_ref,
            limit,
            timeout: p
                .duration(&raw.timeout, "timeout")?
                .unwrap_or(GitlabConfig::DEFAULT_TIMEOUT),
            ca_file: raw.ca_file.map(|f| expand_home(&f)),
            insecure,
        }))
    })
}

/// The GitLab address: http(s), a host, no query, not the API root.
fn base_url(p: &KindParser<'_, '_>, url: &Spanned<String>) -> Result<String, ConfigError> {
    let text = url.get_ref();
    p.http_url(url, "url", "\"https://gitlab.example.com\"")?;
    let trimmed = text.trim_end_matches('/');
    if trimmed.ends_with("/api/v4") {
        return Err(p.error(
            url,
            format!(
                "url: `{text}` is the API root: give GitLab's own address (\"{}\"); \
                 opsdeck adds /api/v4",
                trimmed.trim_end_matches("/api/v4")
            ),
        ));
    }
    Ok(trimmed.to_string())
}

/// `project`: a path like "group/sub/project" or a positive numeric id
/// (written as a number or as digits).
fn project_ref(
    p: &KindParser<'_, '_>,
    value: &Spanned<toml::Value>,
) -> Result<String, ConfigError> {
    match value.get_ref() {
        toml::Value::Integer(id) if *id > 0 => Ok(id.to_string()),
        toml::Value::Integer(id) => Err(p.error(
            value,
            format!("project: a numeric id must be above zero, not {id}"),
        )),
        toml::Value::String(path) => {
            let valid_segment = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
            };
            let is_id = !path.is_empty() && path.bytes().all(|b| b.is_ascii_digit());
            if is_id && path.bytes().any(|b| b != b'0') {
                return Ok(path.trim_start_matches('0').to_string());
            }
            if !is_id && path.contains('/') && path.split('/').all(valid_segment) {
                return Ok(path.clone());
            }
            Err(p.error(
                value,
                format!(
                    "project: `{path}` is not a project path: write it like \"group/sub/project\" \
                     (namespace and name, no leading, trailing or doubled `/`) or give the numeric id"
                ),
            ))
        }
        other => Err(p.error(
            value,
            format!(
                "project must be a path (\"group/project\") or a numeric id, not a {}",
                other.type_str()
            ),
        )),
    }
}
