//! `kind = "git"`: a desired-state repository, its apps' folders, and how a
//! revert is pushed.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde::de::IgnoredAny;
use toml::Spanned;

use super::{ConfigError, KindParser, Secret, SourceConfig, SourceKind, expand_home};

/// Its part of the starter config `opsdeck init` writes.
pub const STARTER: &str = r#"# GitOps: a desired-state repository; a rollback is a revert pushed to it.
# [[source]]
# name = "deploy-repo"
# kind = "git"
# url = "git@github.com:acme/deploy.git"   # or path = "~/src/deploy"
# push = "branch"                          # push reverts to a branch for review
# token = { env = "GITHUB_TOKEN" }
#
# [[source.app]]
# name = "payments"
# path = "apps/prod/payments"
"#;

/// How long to follow a linked app after a revert, unless told otherwise.
pub const DEFAULT_FOLLOW_TIMEOUT: Duration = Duration::from_secs(300);

/// Where a revert goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushMode {
    /// Push the revert to the deployed branch (never forced).
    #[default]
    Direct,
    /// Push it to a new `opsdeck/rollback-…` branch and print where to open a merge request.
    Branch,
}

impl PushMode {
    pub fn word(self) -> &'static str {
        match self {
            PushMode::Direct => "direct",
            PushMode::Branch => "branch",
        }
    }
}

/// Where the repository lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RepoLocation {
    /// A clone the engineer keeps.
    Path(PathBuf),
    /// A remote opsdeck clones into its cache directory.
    Url(String),
}

/// One `[[source.app]]`: an app's folder in the repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitApp {
    pub name: String,
    /// The app's folder, relative to the repository root, without slashes at the ends.
    pub path: String,
    /// "SOURCE/APP" of the Argo CD or Flux app it deploys to.
    pub link: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitConfig {
    pub location: RepoLocation,
    /// None: the remote's default branch.
    pub branch: Option<String>,
    pub remote: String,
    pub push: PushMode,
    /// For https remotes; ssh uses the agent, else the git credential helper.
    pub token: Option<Secret>,
    /// How long to follow a linked app after a revert.
    pub follow: Duration,
    pub apps: Vec<GitApp>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGit {
    #[allow(dead_code)] // checked by the dispatcher
    kind: IgnoredAny,
    name: String,
    #[serde(default)]
    production: bool,
    refresh: Option<Spanned<String>>,
    path: Option<Spanned<PathBuf>>,
    url: Option<Spanned<String>>,
    branch: Option<String>,
    remote: Option<String>,
    push: Option<PushMode>,
    token: Option<Secret>,
    follow: Option<Spanned<String>>,
    #[serde(default)]
    app: Vec<Spanned<RawApp>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApp {
    name: String,
    path: String,
    link: Option<Spanned<String>>,
}

pub(crate) fn parse(p: &KindParser<'_, '_>) -> Result<SourceConfig, ConfigError> {
    let raw: RawGit = p.deserialize()?;
    let location = match (raw.path, raw.url) {
        (Some(path), None) => RepoLocation::Path(expand_home(path.get_ref())),
        (None, Some(url)) => RepoLocation::Url(url.into_inner()),
        (Some(path), Some(_)) => {
            return Err(p.error(
                &path,
                "give either `path` (a local clone) or `url` (cloned for you), not both",
            ));
        }
        (None, None) => {
            return Err(ConfigError::at(
                &p.name_at(),
                "a git source needs `path` (a local clone) or `url` (cloned into opsdeck's cache)",
            ));
        }
    };
    if raw.app.is_empty() {
        return Err(ConfigError::at(
            &p.name_at(),
            "a git source needs at least one [[source.app]] with `name` and `path`",
        ));
    }
    let mut apps = Vec::new();
    for app in raw.app {
        let span = app.span();
        let app = app.into_inner();
        let path = app.path.trim_matches('/').to_string();
        if path.is_empty() || path.split('/').any(|c| c == "..") {
            return Err(ConfigError::at(
                &p.at(span),
                format!(
                    "app `{}`: `path` must be a folder inside the repository",
                    app.name
                ),
            ));
        }
        if let Some(link) = &app.link {
            let ok = link
                .get_ref()
                .split_once('/')
                .is_some_and(|(s, a)| !s.is_empty() && !a.is_empty());
            if !ok {
                return Err(p.error(link, format!("link `{}` is not SOURCE/APP", link.get_ref())));
            }
        }
        if apps.iter().any(|a: &GitApp| a.name == app.name) {
            return Err(ConfigError::at(
                &p.at(span),
                format!("app `{}` is listed twice", app.name),
            ));
        }
        apps.push(GitApp {
            name: app.name,
            path,
            link: app.link.map(Spanned::into_inner),
        });
    }
    p.source(raw.name, raw.production, &raw.refresh, || {
        Ok(SourceKind::Git(GitConfig {
            location,
            branch: raw.branch,
            remote: raw.remote.unwrap_or_else(|| "origin".into()),
            push: raw.push.unwrap_or_default(),
            token: raw.token,
            follow: p
                .duration(&raw.follow, "follow")?
                .unwrap_or(DEFAULT_FOLLOW_TIMEOUT),
            apps,
        }))
    })
}
