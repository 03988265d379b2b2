//! `kind = "github"`: GitHub Actions workflow runs of one repository, on
//! github.com or a GitHub Enterprise Server (`api_url`).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde::de::IgnoredAny;
use toml::Spanned;

use super::{ConfigError, KindParser, Secret, SourceConfig, SourceKind, expand_home};

/// Its part of the starter config `opsdeck init` writes.
pub const STARTER: &str = r#"# CI/CD: GitHub Actions runs of one repository.
# [[source]]
# name = "web-ci"
# kind = "github"
# repo = "acme/web"                  # token: GITHUB_TOKEN, GH_TOKEN, then `gh auth token`
"#;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GithubConfig {
    /// `owner/name`.
    pub repo: String,
    /// The REST API root, without a trailing slash (`https://HOST/api/v3` on
    /// GitHub Enterprise Server).
    pub api_url: String,
    /// Where the token is; `None`: `GITHUB_TOKEN`, `GH_TOKEN`, then `gh auth token`.
    pub token: Option<Secret>,
    /// Only runs of this branch; also the ref new runs start on.
    pub branch: Option<String>,
    /// Only runs of these workflows (file names such as `ci.yml`, or ids).
    pub workflows: Vec<String>,
    /// Only runs triggered by this event (`push`, `schedule`…).
    pub event: Option<String>,
    /// How many runs to show (newest first).
    pub limit: u32,
    /// How long one read may take.
    pub timeout: Duration,
    /// Extra CA certificate (PEM) to trust.
    pub ca_file: Option<PathBuf>,
    /// Skip certificate verification (never the default; warned about on screen).
    pub insecure: bool,
}

impl GithubConfig {
    pub const DEFAULT_API_URL: &'static str = "https://api.github.com";
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 1000;
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// A config for `repo` with every default (for tests and `opsdeck init`).
    pub fn for_repo(repo: &str) -> Self {
        GithubConfig {
            repo: repo.to_string(),
            api_url: Self::DEFAULT_API_URL.to_string(),
            token: None,
            branch: None,
            workflows: Vec::new(),
            event: None,
            limit: Self::DEFAULT_LIMIT,
            timeout: Self::DEFAULT_TIMEOUT,
            ca_file: None,
            insecure: false,
        }
    }

    /// `(owner, name)` of `repo`.
    pub fn owner_and_name(&self) -> (&str, &str) {
        self.repo.split_once('/').unwrap_or((&self.repo, ""))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGithub {
    #[allow(dead_code)] // checked by the dispatcher
    kind: IgnoredAny,
    name: String,
    #[serde(default)]
    production: bool,
    refresh: Option<Spanned<String>>,
    repo: Option<Spanned<String>>,
    api_url: Option<Spanned<String>>,
    token: Option<Spanned<toml::Value>>,
    branch: Option<Spanned<String>>,
    workflows: Option<Spanned<Vec<toml::Value>>>,
    event: Option<Spanned<String>>,
    limit: Option<Spanned<i64>>,
    timeout: Option<Spanned<String>>,
    ca_file: Option<PathBuf>,
    insecure: Option<Spanned<bool>>,
}

pub(crate) fn parse(p: &KindParser<'_, '_>) -> Result<SourceConfig, ConfigError> {
    let raw: RawGithub = p.deserialize()?;
    let Some(repo) = raw.repo else {
        return Err(ConfigError::at(
            &p.name_at(),
            "a github source needs `repo`, the repository as \"owner/name\" (repo = \"acme/web\")",
        ));
    };
    check_repo(p, &repo)?;
    let api_url = match raw.api_url {
        None => GithubConfig::DEFAULT_API_URL.to_string(),
        Some(url) => api_url(p, &url)?,
    };
    let token = raw
        .token
        .map(|t| p.secret(&t, "token", "GITHUB_TOKEN"))
        .transpose()?;
    let branch = non_empty(p, raw.branch, "branch")?;
    let event = non_empty(p, raw.event, "event")?;
    let workflows = match raw.workflows {
        None => Vec::new(),
        Some(list) => workflows(p, &list)?,
    };
    let limit = p.count(
        &raw.limit,
        "limit",
        GithubConfig::DEFAULT_LIMIT,
        GithubConfig::MAX_LIMIT,
        "runs shown",
    )?;
    let insecure = p.insecure(&raw.insecure, raw.ca_file.is_some())?;
    p.source(raw.name, raw.production, &raw.refresh, || {
        Ok(SourceKind::Github(GithubConfig {
            repo: repo.into_inner(),
            api_url,
            token,
            branch,
            workflows,
            event,
            limit,
            timeout: p
                .duration(&raw.timeout, "timeout")?
                .unwrap_or(GithubConfig::DEFAULT_TIMEOUT),
            ca_file: raw.ca_file.map(|f| expand_home(&f)),
            insecure,
        }))
    })
}

/// `owner/name`, each part as GitHub allows it.
fn check_repo(p: &KindParser<'_, '_>, repo: &Spanned<String>) -> Result<(), ConfigError> {
    let part_ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match repo.get_ref().split_once('/') {
        Some((owner, name)) if part_ok(owner) && part_ok(name) => Ok(()),
        _ => Err(p.error(
            repo,
            format!(
                "repo: `{}` is not \"owner/name\" (write it like repo = \"acme/web\", \
                 not a URL)",
                repo.get_ref()
            ),
        )),
    }
}

fn api_url(p: &KindParser<'_, '_>, url: &Spanned<String>) -> Result<String, ConfigError> {
    p.http_url(
        url,
        "api_url",
        "\"https://api.github.com\" or, for GitHub Enterprise, \"https://github.example.com/api/v3\"",
    )?;
    Ok(url.get_ref().trim_end_matches('/').to_string())
}

/// Workflow file names (`ci.yml`) or numeric ids.
fn workflows(
    p: &KindParser<'_, '_>,
    list: &Spanned<Vec<toml::Value>>,
) -> Result<Vec<String>, ConfigError> {
    if list.get_ref().is_empty() {
        return Err(p.error(
            list,
            "workflows must name at least one workflow (or be left out to show every workflow)",
        ));
    }
    list.get_ref()
        .iter()
        .map(|w| match w {
            toml::Value::Integer(id) if *id > 0 => Ok(id.to_string()),
            toml::Value::String(file)
                if !file.trim().is_empty() && !file.contains('/') && !file.contains('\\') =>
            {
                Ok(file.clone())
            }
            toml::Value::String(file) if file.contains('/') => Err(p.error(
                list,
                format!(
                    "workflows: `{file}` is a path: give the file name alone (\"{}\") or the \
                     workflow's id",
                    file.rsplit('/').next().unwrap_or(file)
                ),
            )),
            other => Err(p.error(
                list,
                format!(
                    "workflows: `{other}` is neither a workflow file name (\"ci.yml\") nor a \
                     workflow id (161335)"
                ),
            )),
        })
        .collect()
}

fn non_empty(
    p: &KindParser<'_, '_>,
    value: Option<Spanned<String>>,
    key: &str,
) -> Result<Option<String>, ConfigError> {
    match value {
        Some(v) if v.get_ref().trim().is_empty() => {
            Err(p.error(&v, format!("{key} must not be empty")))
        }
        v => Ok(v.map(Spanned::into_inner)),
    }
}
