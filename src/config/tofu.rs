//! `kind = "tofu"`: a cluster's tofu-controller `Terraform` objects, read
//! through a kubeconfig context like `kind = "flux"` (the same keys).

use std::path::PathBuf;

use serde::Deserialize;
use serde::de::IgnoredAny;
use toml::Spanned;

use super::flux::kube_target;
use super::{ConfigError, KindParser, KubeTarget, SourceConfig, SourceKind};

/// Its part of the starter config `opsdeck init` writes.
pub const STARTER: &str = r#"# GitOps: Terraform/OpenTofu stacks run by the Flux tofu-controller (Terraform
# objects: drift, plans awaiting approval), through a kubeconfig context. An
# approval is a commit of `spec.approvePlan` by the `git` source holding the
# manifest (linked by `link`, or by the owning Kustomization's path).
# [[source]]
# name = "tofu"
# kind = "tofu"
# context = "prod"
# # namespaces = ["flux-system"]
"#;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TofuConfig {
    pub cluster: KubeTarget,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTofu {
    #[allow(dead_code)] // checked by the dispatcher
    kind: IgnoredAny,
    name: String,
    #[serde(default)]
    production: bool,
    refresh: Option<Spanned<String>>,
    context: Option<Spanned<String>>,
    kubeconfig: Option<Spanned<PathBuf>>,
    namespaces: Option<Spanned<Vec<String>>>,
}

pub(crate) fn parse(p: &KindParser<'_, '_>) -> Result<SourceConfig, ConfigError> {
    let raw: RawTofu = p.deserialize()?;
    let cluster = kube_target(p, raw.context, raw.kubeconfig, raw.namespaces)?;
    p.source(raw.name, raw.production, &raw.refresh, || {
        Ok(SourceKind::Tofu(TofuConfig { cluster }))
    })
}
