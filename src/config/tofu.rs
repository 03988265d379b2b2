//! `kind = "tofu"`: a cluster's tofu-controller `Terraform` objects, read
//! through a kubeconfig context like `kind = "flux"` (the same keys).

use super::flux::RawKubeKind;
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

pub(crate) fn parse(p: &KindParser<'_, '_>) -> Result<SourceConfig, ConfigError> {
    let mut raw: RawKubeKind = p.deserialize()?;
    let cluster = raw.cluster(p)?;
    p.source(raw.name, raw.production, &raw.refresh, || {
        Ok(SourceKind::Tofu(TofuConfig { cluster }))
    })
}
