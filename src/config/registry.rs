//! `kind = "registry"`: repositories of a container registry (the OCI
//! Distribution API), each read as its tags with digest, creation time and
//! source revision. Auth: anonymous, `username` + `password`, or a `token`;
//! a registry's `WWW-Authenticate: Bearer` challenge is answered with them.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::IgnoredAny;
use toml::Spanned;

use super::backend::{self, HttpBackend, RawHttp};
use super::{ConfigError, KindParser, Secret, SourceConfig, SourceKind};

/// Its part of the starter config `opsdeck init` writes.
pub const STARTER: &str = r#"# Container images: repositories of an OCI registry; apps running their images
# show the build (time, source revision) and how many newer images exist.
# [[source]]
# name = "images"
# kind = "registry"
# url = "https://ghcr.io"
# repositories = ["acme/payments", "acme/checkout"]
# # username = "me"
# # password = { env = "GHCR_TOKEN" }
"#;

/// How many tags of a repository are read when the config does not say.
pub const DEFAULT_REGISTRY_MAX_TAGS: usize = 50;

/// A registry and the repositories to watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryConfig {
    /// `url` is the registry's base (without `/v2`); `timeout` bounds each
    /// repository's read.
    pub http: HttpBackend,
    pub repositories: Vec<String>,
    /// At most this many tags per repository (the bound on one refresh:
    /// every tag costs a manifest request; unseen digests two more).
    pub max_tags: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegistry {
    #[allow(dead_code)] // checked by the dispatcher
    kind: IgnoredAny,
    name: String,
    #[serde(default)]
    production: bool,
    refresh: Option<Spanned<String>>,
    url: Spanned<String>,
    token: Option<Spanned<Secret>>,
    username: Option<Spanned<String>>,
    password: Option<Spanned<Secret>>,
    ca_file: Option<PathBuf>,
    #[serde(default)]
    insecure: bool,
    timeout: Option<Spanned<String>>,
    repositories: Spanned<Vec<Spanned<String>>>,
    max_tags: Option<Spanned<i64>>,
}

pub(crate) fn parse(p: &KindParser<'_, '_>) -> Result<SourceConfig, ConfigError> {
    let raw: RawRegistry = p.deserialize()?;
    let http = backend::http_backend(
        p,
        RawHttp {
            url: &raw.url,
            token: raw.token.as_ref(),
            username: raw.username.as_ref(),
            password: raw.password.as_ref(),
            ca_file: raw.ca_file.clone(),
            insecure: raw.insecure,
            timeout: &raw.timeout,
        },
    )?;
    if raw.repositories.get_ref().is_empty() {
        return Err(p.error(
            &raw.repositories,
            "repositories must name at least one repository (for example [\"acme/payments\"])",
        ));
    }
    let mut seen = BTreeSet::new();
    let mut repositories = Vec::new();
    for repo in raw.repositories.get_ref() {
        let name = repo.get_ref().trim().trim_matches('/');
        if !valid_repository(name) {
            return Err(p.error(
                repo,
                format!(
                    "repositories: `{}` is not a repository name (lower-case path \
                     components such as \"acme/payments\", without host or tag)",
                    repo.get_ref()
                ),
            ));
        }
        if !seen.insert(name.to_string()) {
            return Err(p.error(repo, format!("repositories: `{name}` is listed twice")));
        }
        repositories.push(name.to_string());
    }
    let max_tags = p.count(
        &raw.max_tags,
        "max_tags",
        DEFAULT_REGISTRY_MAX_TAGS,
        1000,
        "tags read per repository",
    )?;
    p.source(raw.name, raw.production, &raw.refresh, || {
        Ok(SourceKind::Registry(RegistryConfig {
            http,
            repositories,
            max_tags,
        }))
    })
}

/// The distribution spec's repository name: path components of lower-case
/// letters and digits, separated by `.`, `_`, `__` or `-` runs.
fn valid_repository(name: &str) -> bool {
    !name.is_empty()
        && name.split('/').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
                && part.starts_with(|c: char| c.is_ascii_alphanumeric())
                && part.ends_with(|c: char| c.is_ascii_alphanumeric())
        })
}

#[cfg(test)]
mod tests {
    use super::valid_repository;

    #[test]
    fn repository_names_follow_the_distribution_spec() {
        for good in ["payments", "acme/payments", "a/b-c/d_e.f", "library/nginx"] {
            assert!(valid_repository(good), "{good}");
        }
        for bad in [
            "",
            "Acme/x",
            "acme//x",
            "acme/x:1",
            "-x",
            "x-",
            "host.io:5000/x",
        ] {
            assert!(!valid_repository(bad), "{bad}");
        }
    }
}
