//! `kind = "jenkins"`: a Jenkins server, which of its jobs to show (folder
//! paths allowed), and the user and API token to read and act as.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde::de::IgnoredAny;
use toml::Spanned;

use super::{ConfigError, KindParser, Secret, SourceConfig, SourceKind, expand_home};

/// Its part of the starter config `opsdeck init` writes.
pub const STARTER: &str = r#"# CI/CD: Jenkins jobs (folder paths allowed).
# [[source]]
# name = "jenkins"
# kind = "jenkins"
# url = "https://ci.example.com"
# jobs = ["deploy", "team/backend/api"]
# user = "alice"
# token = { env = "JENKINS_TOKEN" }
"#;

/// Builds shown per job when the config does not say.
pub const DEFAULT_JENKINS_LIMIT: u32 = 20;
/// More builds per job than this make every read heavy for Jenkins.
pub const MAX_JENKINS_LIMIT: u32 = 100;
/// One request may take this long when the config does not say.
pub const DEFAULT_JENKINS_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JenkinsConfig {
    /// The Jenkins root URL (with its context path, if any), without a
    /// trailing slash.
    pub url: String,
    /// Job paths as Jenkins names them: `deploy`, `team/backend/deploy`.
    pub jobs: Vec<String>,
    /// The user the API token belongs to (None: anonymous reads).
    pub user: Option<String>,
    /// The API token (`{ env }`, `{ file }` or `{ command }`), sent as the
    /// basic-auth password of `user`.
    pub token: Option<Secret>,
    /// Builds read per job.
    pub limit: u32,
    /// One request may take this long; also the whole read's limit.
    pub timeout: Duration,
    /// Extra CA certificate (PEM) to trust.
    pub ca_file: Option<PathBuf>,
    /// Skip certificate verification (never the default; warned about on screen).
    pub insecure: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJenkins {
    #[allow(dead_code)] // checked by the dispatcher
    kind: IgnoredAny,
    name: String,
    #[serde(default)]
    production: bool,
    refresh: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    jobs: Option<Spanned<Vec<Spanned<String>>>>,
    user: Option<Spanned<String>>,
    token: Option<Spanned<toml::Value>>,
    limit: Option<Spanned<i64>>,
    timeout: Option<Spanned<String>>,
    ca_file: Option<PathBuf>,
    insecure: Option<Spanned<bool>>,
}

pub(crate) fn parse(p: &KindParser<'_, '_>) -> Result<SourceConfig, ConfigError> {
    let raw: RawJenkins = p.deserialize()?;
    let Some(url) = raw.url else {
        return Err(ConfigError::at(
            &p.name_at(),
            "a jenkins source needs `url`, the Jenkins root URL (https://jenkins.example.com)",
        ));
    };
    let url = base_url(p, &url)?;
    let Some(jobs) = raw.jobs else {
        return Err(ConfigError::at(
            &p.name_at(),
            "a jenkins source needs `jobs`, the jobs to show: jobs = [\"deploy\", \"team/backend\"] \
             (a job in a folder is written folder/job)",
        ));
    };
    let jobs = job_paths(p, jobs)?;
    let token = match raw.token {
        None => None,
        Some(t) => Some((p.secret(&t, "token", "JENKINS_TOKEN")?, t)),
    };
    let (user, token) = match (raw.user, token) {
        (None, None) => (None, None),
        (Some(user), Some((secret, _))) => {
            if user.get_ref().trim().is_empty() {
                return Err(p.error(&user, "user must not be empty"));
            }
            (Some(user.into_inner()), Some(secret))
        }
        (Some(user), None) => {
            return Err(p.error(
                &user,
                "`user` needs its API token: token = { env = \"JENKINS_TOKEN\" } \
                 (make one under your user's Security page in Jenkins)",
            ));
        }
        (None, Some((_, at))) => {
            return Err(p.error(
                &at,
                "`token` needs `user`, the Jenkins user the API token belongs to",
            ));
        }
    };
    let limit = p.count(
        &raw.limit,
        "limit",
        DEFAULT_JENKINS_LIMIT,
        MAX_JENKINS_LIMIT,
        "builds per job",
    )?;
    let insecure = p.insecure(&raw.insecure, raw.ca_file.is_some())?;
    p.source(raw.name, raw.production, &raw.refresh, || {
        Ok(SourceKind::Jenkins(JenkinsConfig {
            url,
            jobs,
            user,
            token,
            limit,
            timeout: p
                .duration(&raw.timeout, "timeout")?
                .unwrap_or(DEFAULT_JENKINS_TIMEOUT),
            ca_file: raw.ca_file.map(|f| expand_home(&f)),
            insecure,
        }))
    })
}

fn base_url(p: &KindParser<'_, '_>, url: &Spanned<String>) -> Result<String, ConfigError> {
    let parsed = p.http_url(url, "url", "\"https://jenkins.example.com\"")?;
    if parsed.path().contains("/job/") {
        return Err(p.error(
            url,
            format!(
                "url: `{}` points into a job: give the Jenkins root URL here and the job in `jobs`",
                url.get_ref()
            ),
        ));
    }
    Ok(url.get_ref().trim_end_matches('/').to_string())
}

/// Check every job path: `name` or `folder/…/name`, no empty segment, no
/// URL form (`job/a/job/b`), no repeats.
fn job_paths(
    p: &KindParser<'_, '_>,
    jobs: Spanned<Vec<Spanned<String>>>,
) -> Result<Vec<String>, ConfigError> {
    if jobs.get_ref().is_empty() {
        return Err(p.error(
            &jobs,
            "jobs: list at least one job, like jobs = [\"deploy\"]",
        ));
    }
    let mut seen: Vec<String> = Vec::new();
    for job in jobs.into_inner() {
        let path = job.get_ref().trim();
        if path.is_empty() || path.split('/').any(|s| s.trim().is_empty()) {
            return Err(p.error(
                &job,
                format!(
                    "jobs: `{}` is not a job path: write the job's name, or folder/job for a job in a folder",
                    job.get_ref()
                ),
            ));
        }
        if path.starts_with("job/") || path.contains("/job/") {
            let plain: Vec<&str> = path
                .split('/')
                .enumerate()
                .filter(|(i, s)| !(i % 2 == 0 && *s == "job"))
                .map(|(_, s)| s)
                .collect();
            return Err(p.error(
                &job,
                format!(
                    "jobs: `{}` looks like a URL path: write the job's full name, `{}`",
                    job.get_ref(),
                    plain.join("/")
                ),
            ));
        }
        if seen.iter().any(|s| s == path) {
            return Err(p.error(&job, format!("jobs: `{path}` is listed twice")));
        }
        seen.push(path.to_string());
    }
    Ok(seen)
}
