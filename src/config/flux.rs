//! `kind = "flux"`: a cluster's Flux objects, read through a kubeconfig
//! context. [`KubeTarget`] is also the kube mode of `kind = "argocd"`.

use std::path::PathBuf;

use serde::Deserialize;
use serde::de::IgnoredAny;
use toml::Spanned;

use super::{ConfigError, KindParser, SourceConfig, SourceKind, expand_home};

/// Its part of the starter config `opsdeck init` writes.
pub const STARTER: &str = r#"# GitOps: a cluster's Flux objects, through a kubeconfig context.
# [[source]]
# name = "flux"
# kind = "flux"
# context = "prod"
# # namespaces = ["flux-system", "apps"]
"#;

/// Which cluster, as whom, and where to look.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KubeTarget {
    /// A kubeconfig context; None: the kubeconfig's current context.
    pub context: Option<String>,
    /// None: `KUBECONFIG`, then `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// Empty: every namespace the user may list.
    pub namespaces: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FluxConfig {
    pub cluster: KubeTarget,
}

/// The keys of a kind read from a cluster's custom resources through a
/// kubeconfig context (`flux`, `tofu`): the same keys, the same checks.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKubeKind {
    #[allow(dead_code)] // checked by the dispatcher
    kind: IgnoredAny,
    pub(super) name: String,
    #[serde(default)]
    pub(super) production: bool,
    pub(super) refresh: Option<Spanned<String>>,
    context: Option<Spanned<String>>,
    kubeconfig: Option<Spanned<PathBuf>>,
    namespaces: Option<Spanned<Vec<String>>>,
}

impl RawKubeKind {
    /// Its cluster: `context`, `kubeconfig` and `namespaces`, checked.
    pub(super) fn cluster(&mut self, p: &KindParser<'_, '_>) -> Result<KubeTarget, ConfigError> {
        kube_target(
            p,
            self.context.take(),
            self.kubeconfig.take(),
            self.namespaces.take(),
        )
    }
}

/// `context`, `kubeconfig` and `namespaces`, checked.
pub(super) fn kube_target(
    p: &KindParser<'_, '_>,
    context: Option<Spanned<String>>,
    kubeconfig: Option<Spanned<PathBuf>>,
    namespaces: Option<Spanned<Vec<String>>>,
) -> Result<KubeTarget, ConfigError> {
    if let Some(c) = &context
        && c.get_ref().trim().is_empty()
    {
        return Err(p.error(
            c,
            "context must not be empty (leave it out to use the kubeconfig's current context)",
        ));
    }
    if let Some(k) = &kubeconfig
        && k.get_ref().as_os_str().is_empty()
    {
        return Err(p.error(k, "kubeconfig must be a file path"));
    }
    let namespaces = match namespaces {
        None => Vec::new(),
        Some(list) => {
            if list.get_ref().is_empty() {
                return Err(p.error(
                    &list,
                    "namespaces must list at least one namespace (leave it out for all)",
                ));
            }
            let mut seen: Vec<String> = Vec::new();
            for ns in list.get_ref() {
                if !is_dns_label(ns) {
                    return Err(p.error(
                        &list,
                        format!("namespaces: `{ns}` is not a namespace name (lowercase letters, digits and '-')"),
                    ));
                }
                if seen.contains(ns) {
                    return Err(p.error(&list, format!("namespaces: `{ns}` is listed twice")));
                }
                seen.push(ns.clone());
            }
            seen
        }
    };
    Ok(KubeTarget {
        context: context.map(Spanned::into_inner),
        kubeconfig: kubeconfig.map(|k| expand_home(k.get_ref())),
        namespaces,
    })
}

/// A Kubernetes namespace name (RFC 1123 label).
fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

pub(crate) fn parse(p: &KindParser<'_, '_>) -> Result<SourceConfig, ConfigError> {
    let mut raw: RawKubeKind = p.deserialize()?;
    let cluster = raw.cluster(p)?;
    p.source(raw.name, raw.production, &raw.refresh, || {
        Ok(SourceKind::Flux(FluxConfig { cluster }))
    })
}
