//! `kind = "argocd"`: an Argo CD API server, how to authenticate to it, and
//! which applications to show.

use std::path::PathBuf;

use serde::Deserialize;
use serde::de::IgnoredAny;
use toml::Spanned;

use super::{ConfigError, KindParser, Secret, SourceConfig, SourceKind, expand_home};

/// Its part of the starter config `opsdeck init` writes.
pub const STARTER: &str = r#"# GitOps: an Argo CD API server (or `context = "…"` to read the cluster).
# [[source]]
# name = "argo"
# kind = "argocd"
# url = "https://argocd.example.com"
# token = { env = "ARGOCD_AUTH_TOKEN" }    # left out: the argocd CLI's login
"#;

/// Where the `argocd` CLI keeps its contexts and tokens.
pub const ARGOCD_CLI_CONFIG: &str = "~/.config/argocd/config";

/// Where to find the bearer token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgoToken {
    /// `token = { env | file | command }`.
    Secret(Secret),
    /// No `token` key: the current context of the argocd CLI's config file.
    CliConfig(PathBuf),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgoCdConfig {
    /// The API server, without a trailing slash.
    pub url: String,
    pub token: ArgoToken,
    /// Only apps of this project.
    pub project: Option<String>,
    /// Only apps whose labels match this selector (`team=payments`).
    pub selector: Option<String>,
    /// Extra CA certificate (PEM) to trust.
    pub ca_file: Option<PathBuf>,
    /// Skip certificate verification (never the default; warned about on screen).
    pub insecure: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArgoCd {
    #[allow(dead_code)] // checked by the dispatcher
    kind: IgnoredAny,
    name: String,
    #[serde(default)]
    production: bool,
    refresh: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    token: Option<Spanned<toml::Value>>,
    project: Option<Spanned<String>>,
    selector: Option<Spanned<String>>,
    ca_file: Option<PathBuf>,
    insecure: Option<Spanned<bool>>,
    context: Option<Spanned<String>>,
    kubeconfig: Option<Spanned<PathBuf>>,
    namespaces: Option<Spanned<Vec<String>>>,
}

/// Kube mode: `Application` objects read straight from a cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgoCdKubeConfig {
    pub cluster: super::KubeTarget,
    /// Only apps of this project.
    pub project: Option<String>,
    /// Only apps whose labels match this selector.
    pub selector: Option<String>,
}

pub(crate) fn parse(p: &KindParser<'_, '_>) -> Result<SourceConfig, ConfigError> {
    let raw: RawArgoCd = p.deserialize()?;
    if raw.context.is_some() || raw.kubeconfig.is_some() || raw.namespaces.is_some() {
        return parse_kube(p, raw);
    }
    let Some(url) = raw.url else {
        return Err(ConfigError::at(
            &p.name_at(),
            "an argocd source needs `url`, the Argo CD API server (https://argocd.example.com), \
             or `context`, a kubeconfig context to read Application objects from",
        ));
    };
    p.http_url(&url, "url", "\"https://argocd.example.com\"")?;
    let non_empty = |value: Option<Spanned<String>>, key: &str| match value {
        Some(v) if v.get_ref().trim().is_empty() => {
            Err(p.error(&v, format!("{key} must not be empty")))
        }
        v => Ok(v.map(Spanned::into_inner)),
    };
    let token = raw
        .token
        .map(|t| p.secret(&t, "token", "ARGOCD_AUTH_TOKEN"))
        .transpose()?;
    let project = non_empty(raw.project, "project")?;
    let selector = non_empty(raw.selector, "selector")?;
    let insecure = p.insecure(&raw.insecure, raw.ca_file.is_some())?;
    p.source(raw.name, raw.production, &raw.refresh, || {
        Ok(SourceKind::ArgoCd(ArgoCdConfig {
            url: url.get_ref().trim_end_matches('/').to_string(),
            token: match token {
                Some(secret) => ArgoToken::Secret(secret),
                None => ArgoToken::CliConfig(expand_home(std::path::Path::new(ARGOCD_CLI_CONFIG))),
            },
            project,
            selector,
            ca_file: raw.ca_file.map(|f| expand_home(&f)),
            insecure,
        }))
    })
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

/// `context` (or `kubeconfig`/`namespaces`) given: kube mode, where the
/// API server's keys have no meaning.
fn parse_kube(p: &KindParser<'_, '_>, raw: RawArgoCd) -> Result<SourceConfig, ConfigError> {
    if let Some(url) = &raw.url {
        return Err(p.error(
            url,
            "give either `url` (the Argo CD API server) or `context` (Application objects \
             read from the cluster), not both",
        ));
    }
    if let Some(token) = &raw.token {
        return Err(p.error(
            token,
            "token has no meaning with `context`: the kubeconfig's user is used",
        ));
    }
    if let Some(flag) = &raw.insecure {
        return Err(p.error(
            flag,
            "insecure has no meaning with `context`: TLS is set in the kubeconfig",
        ));
    }
    if raw.ca_file.is_some() {
        return Err(ConfigError::at(
            &p.name_at(),
            "ca_file has no meaning with `context`: the CA is set in the kubeconfig",
        ));
    }
    let cluster = super::flux::kube_target(p, raw.context, raw.kubeconfig, raw.namespaces)?;
    p.source(raw.name, raw.production, &raw.refresh, || {
        Ok(SourceKind::ArgoCdKube(ArgoCdKubeConfig {
            cluster,
            project: non_empty(p, raw.project, "project")?,
            selector: non_empty(p, raw.selector, "selector")?,
        }))
    })
}
