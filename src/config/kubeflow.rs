//! `kind = "kubeflow"`: Kubeflow Pipelines runs through the ml-pipeline
//! API (v2beta1) — where it is, how to authenticate, which namespace and
//! experiments, how much to keep.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde::de::IgnoredAny;
use toml::Spanned;

use super::{ConfigError, KindParser, Secret, SourceConfig, SourceKind, expand_home};

/// Its part of the starter config `opsdeck init` writes.
pub const STARTER: &str = r#"# ML pipelines: Kubeflow Pipelines runs (the ml-pipeline API, v2beta1).
# [[source]]
# name = "kfp"
# kind = "kubeflow"
# url = "http://127.0.0.1:8888"         # or https://kubeflow.example.com/pipeline
# # token = { command = "kubectl create token default-editor -n team-ml" }
# # namespace = "team-ml"               # multi-user mode
# # experiments = ["fraud"]             # only runs of these experiments (display names)
"#;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubeflowConfig {
    /// The ml-pipeline API's address, without a trailing slash or
    /// `/apis/v2beta1` (it may carry a path: `…/pipeline`).
    pub url: String,
    /// Where run links point: the KFP UI (default: `url`).
    pub ui_url: String,
    /// Sent as `Authorization: Bearer`; none when absent.
    pub token: Option<Secret>,
    /// The profile namespace (multi-user mode).
    pub namespace: Option<String>,
    /// Only runs of these experiments, by display name; empty: every run.
    pub experiments: Vec<String>,
    /// How many runs are kept, newest first.
    pub limit: usize,
    /// How long each request may take.
    pub timeout: Duration,
    /// Extra CA certificate (PEM) to trust.
    pub ca_file: Option<PathBuf>,
    /// Skip certificate verification (never the default; warned about on screen).
    pub insecure: bool,
}

impl KubeflowConfig {
    /// Runs kept when `limit` is not given.
    pub const DEFAULT_LIMIT: usize = 50;
    /// The most runs `limit` may ask for.
    pub const MAX_LIMIT: usize = 1000;
    /// `timeout` when not given.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// A config for the API at `url` with every other key at its default.
    pub fn new(url: impl Into<String>) -> Self {
        let url = url.into().trim_end_matches('/').to_string();
        KubeflowConfig {
            ui_url: url.clone(),
            url,
            token: None,
            namespace: None,
            experiments: Vec::new(),
            limit: Self::DEFAULT_LIMIT,
            timeout: Self::DEFAULT_TIMEOUT,
            ca_file: None,
            insecure: false,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKubeflow {
    #[allow(dead_code)] // checked by the dispatcher
    kind: IgnoredAny,
    name: String,
    #[serde(default)]
    production: bool,
    refresh: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    ui_url: Option<Spanned<String>>,
    token: Option<Spanned<toml::Value>>,
    namespace: Option<Spanned<String>>,
    experiments: Option<Spanned<Vec<Spanned<String>>>>,
    limit: Option<Spanned<i64>>,
    timeout: Option<Spanned<String>>,
    ca_file: Option<PathBuf>,
    insecure: Option<Spanned<bool>>,
}

pub(crate) fn parse(p: &KindParser<'_, '_>) -> Result<SourceConfig, ConfigError> {
    let raw: RawKubeflow = p.deserialize()?;
    let Some(url) = &raw.url else {
        return Err(ConfigError::at(
            &p.name_at(),
            "a kubeflow source needs `url`, the ml-pipeline API (\"http://127.0.0.1:8888\" \
             port-forwarded, or \"https://kubeflow.example.com/pipeline\")",
        ));
    };
    let url = api_url(p, url, "url")?;
    let ui_url = match &raw.ui_url {
        Some(ui) => api_url(p, ui, "ui_url")?,
        None => url.clone(),
    };
    let token = raw
        .token
        .as_ref()
        .map(|t| p.secret(t, "token", "KFP_TOKEN"))
        .transpose()?;
    let namespace = match raw.namespace {
        Some(ns) if !is_namespace(ns.get_ref()) => {
            return Err(p.error(
                &ns,
                format!(
                    "namespace: `{}` is not a Kubernetes namespace name (lower-case letters, \
                     digits and `-`, at most 63)",
                    ns.get_ref()
                ),
            ));
        }
        ns => ns.map(Spanned::into_inner),
    };
    let experiments = match raw.experiments {
        None => Vec::new(),
        Some(list) if list.get_ref().is_empty() => {
            return Err(p.error(
                &list,
                "experiments: give at least one experiment's display name, or leave the key out \
                 to show the runs of every experiment",
            ));
        }
        Some(list) => {
            let mut names: Vec<String> = Vec::new();
            for name in list.into_inner() {
                if name.get_ref().trim().is_empty() {
                    return Err(p.error(&name, "experiments: an experiment name cannot be empty"));
                }
                if names.contains(name.get_ref()) {
                    return Err(p.error(
                        &name,
                        format!("experiments: `{}` is listed twice", name.get_ref()),
                    ));
                }
                names.push(name.into_inner());
            }
            names
        }
    };
    let limit = p.count(
        &raw.limit,
        "limit",
        KubeflowConfig::DEFAULT_LIMIT,
        KubeflowConfig::MAX_LIMIT,
        "runs kept",
    )?;
    let insecure = p.insecure(&raw.insecure, raw.ca_file.is_some())?;
    p.source(raw.name, raw.production, &raw.refresh, || {
        Ok(SourceKind::Kubeflow(KubeflowConfig {
            url,
            ui_url,
            token,
            namespace,
            experiments,
            limit,
            timeout: p
                .duration(&raw.timeout, "timeout")?
                .unwrap_or(KubeflowConfig::DEFAULT_TIMEOUT),
            ca_file: raw.ca_file.map(|f| expand_home(&f)),
            insecure,
        }))
    })
}

/// The API's address: http(s), a host, no query, not the `/apis/v2beta1` root.
fn api_url(
    p: &KindParser<'_, '_>,
    url: &Spanned<String>,
    key: &str,
) -> Result<String, ConfigError> {
    let text = url.get_ref();
    p.http_url(url, key, "\"https://kubeflow.example.com/pipeline\"")?;
    let trimmed = text.trim_end_matches('/');
    if let Some(base) = trimmed
        .strip_suffix("/apis/v2beta1")
        .or_else(|| trimmed.strip_suffix("/apis/v1beta1"))
    {
        return Err(p.error(
            url,
            format!(
                "{key}: `{text}` is the API root: give the address before it (\"{base}\"); \
                 opsdeck adds /apis/v2beta1"
            ),
        ));
    }
    Ok(trimmed.to_string())
}

/// A DNS-1123 label, as Kubernetes names namespaces.
fn is_namespace(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}
