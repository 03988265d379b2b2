//! The descriptor table: every backend kind once — what it provides and can
//! do, how its config is read, how it is built, and what `opsdeck init`
//! writes for it. Config validation, the starter config, `--help` and
//! `build_all` all read this table, so a new backend is one entry here.

use std::sync::Arc;
use std::time::Duration;

use super::kubeflow;
use super::{FETCH_TIMEOUT, Source, argocd, demo, evidently, flux, git, github, gitlab};
use super::{airflow, jenkins, mlflow, prometheus, registry, terraform_cloud, tofu};
use crate::config::{self, KindParse, SourceConfig, SourceKind};
use crate::model::{ActionKind, Capabilities, Provides};

/// One backend kind.
pub struct Descriptor {
    /// `kind = "…"` in a `[[source]]`.
    pub kind: &'static str,
    /// One line on what it reads, for `--help`.
    pub summary: &'static str,
    /// Which tabs its sources fill.
    pub provides: Provides,
    /// What it offers beyond reading and acting (a source may narrow it).
    pub capabilities: Capabilities,
    /// The actions its sources carry out (a source may narrow them when its
    /// config decides, e.g. Argo CD read from the cluster).
    pub actions: &'static [ActionKind],
    /// How long one read may take unless the source's config says.
    pub timeout: Duration,
    /// Its `[[source]]` keys, validated (the function in `config/<kind>.rs`).
    pub parse: KindParse,
    /// Its source, built from a config of this kind polling this often
    /// (`None` for another kind's config).
    pub build: fn(&SourceConfig, Duration) -> Option<Arc<dyn Source>>,
    /// Its commented example in the starter config.
    pub starter: &'static str,
}

/// Every kind, in the order of the starter config and of error messages.
pub static KINDS: &[&Descriptor] = &[
    &DEMO,
    &GIT,
    &ARGOCD,
    &FLUX,
    &GITHUB,
    &GITLAB,
    &JENKINS,
    &KUBEFLOW,
    &PROMETHEUS,
    &MLFLOW,
    &EVIDENTLY,
    &REGISTRY,
    &AIRFLOW,
    &TERRAFORM_CLOUD,
    &TOFU,
];

const NOTHING: Provides = Provides {
    pipelines: false,
    gitops: false,
    drift: false,
};
const PIPELINES: Provides = Provides {
    pipelines: true,
    ..NOTHING
};
const GITOPS: Provides = Provides {
    gitops: true,
    ..NOTHING
};
const DRIFT: Provides = Provides {
    drift: true,
    ..NOTHING
};
const READ_ONLY: Capabilities = Capabilities {
    app_detail: false,
    sync_options: false,
    job_logs: false,
    rerun_starts_new: false,
    cancel_marks_failed: false,
};

/// Wraps a constructor `new(name, config, poll)` for the table.
macro_rules! built {
    ($variant:ident, $new:path) => {
        |source, poll| match &source.kind {
            SourceKind::$variant(c) => {
                Some(Arc::new($new(&source.name, c.clone(), poll)) as Arc<dyn Source>)
            }
            _ => None,
        }
    };
    // Drift backends also mark every model production when the source is.
    ($variant:ident, $new:path, production) => {
        |source, poll| match &source.kind {
            SourceKind::$variant(c) => {
                Some(
                    Arc::new($new(&source.name, c.clone(), source.production, poll))
                        as Arc<dyn Source>,
                )
            }
            _ => None,
        }
    };
}

pub static DEMO: Descriptor = Descriptor {
    kind: "demo",
    summary: "a built-in simulated fleet: try everything, no credentials",
    provides: Provides::ALL,
    capabilities: Capabilities {
        job_logs: true,
        ..READ_ONLY
    },
    // Everything but what needs a real controller (operations, automated
    // sync, a Flux-style reconcile).
    actions: &[
        ActionKind::Sync,
        ActionKind::Refresh,
        ActionKind::HardRefresh,
        ActionKind::Rollback,
        ActionKind::Suspend,
        ActionKind::Resume,
        ActionKind::Rerun,
        ActionKind::RerunFailed,
        ActionKind::Cancel,
        ActionKind::ForceCancel,
        ActionKind::Dispatch,
        ActionKind::SetModelAlias,
    ],
    timeout: FETCH_TIMEOUT,
    parse: config::demo::parse,
    build: |source, poll| match &source.kind {
        SourceKind::Demo(c) => Some(Arc::new(demo::DemoSource::new(
            &source.name,
            c.clone(),
            source.production,
            chrono::Utc::now(),
            // A paused fleet only changes when acted on (and is re-read then).
            if c.paused { poll } else { poll.min(c.step) },
        ))),
        _ => None,
    },
    starter: config::demo::STARTER,
};

pub static GIT: Descriptor = Descriptor {
    kind: "git",
    summary: "a desired-state repository; a rollback is a pushed revert",
    provides: GITOPS,
    capabilities: READ_ONLY,
    // An approval of a Terraform plan is a commit to its manifest.
    actions: &[ActionKind::Rollback, ActionKind::Approve],
    timeout: FETCH_TIMEOUT,
    parse: config::git::parse,
    build: built!(Git, git::GitSource::new),
    starter: config::git::STARTER,
};

pub static ARGOCD: Descriptor = Descriptor {
    kind: "argocd",
    summary: "Argo CD apps, from its API server (`url`) or a cluster (`context`)",
    provides: GITOPS,
    capabilities: Capabilities {
        app_detail: true,
        sync_options: true,
        ..READ_ONLY
    },
    actions: &[
        ActionKind::Sync,
        ActionKind::Refresh,
        ActionKind::HardRefresh,
        ActionKind::Terminate,
        ActionKind::Rollback,
        ActionKind::DisableAutoSync,
    ],
    timeout: FETCH_TIMEOUT,
    parse: config::argocd::parse,
    build: |source, poll| match &source.kind {
        SourceKind::ArgoCd(c) => Some(Arc::new(argocd::ArgoCdSource::new(
            &source.name,
            c.clone(),
            poll,
        ))),
        SourceKind::ArgoCdKube(c) => Some(Arc::new(argocd::kube::ArgoCdKubeSource::new(
            &source.name,
            c.clone(),
            poll,
        ))),
        _ => None,
    },
    starter: config::argocd::STARTER,
};

pub static FLUX: Descriptor = Descriptor {
    kind: "flux",
    summary: "a cluster's Flux objects, through a kubeconfig context",
    provides: GITOPS,
    capabilities: Capabilities {
        app_detail: true,
        ..READ_ONLY
    },
    actions: &[
        ActionKind::Reconcile,
        ActionKind::ReconcileWithSource,
        ActionKind::Sync,
        ActionKind::Suspend,
        ActionKind::Resume,
    ],
    timeout: FETCH_TIMEOUT,
    parse: config::flux::parse,
    build: built!(Flux, flux::FluxSource::new),
    starter: config::flux::STARTER,
};

pub static GITHUB: Descriptor = Descriptor {
    kind: "github",
    summary: "GitHub Actions workflow runs of one repository",
    provides: PIPELINES,
    capabilities: Capabilities {
        job_logs: true,
        ..READ_ONLY
    },
    actions: &[
        ActionKind::Rerun,
        ActionKind::RerunFailed,
        ActionKind::Cancel,
        ActionKind::ForceCancel,
        ActionKind::Dispatch,
    ],
    timeout: FETCH_TIMEOUT,
    parse: config::github::parse,
    build: built!(Github, github::GithubSource::new),
    starter: config::github::STARTER,
};

pub static GITLAB: Descriptor = Descriptor {
    kind: "gitlab",
    summary: "GitLab CI pipelines of one project",
    provides: PIPELINES,
    capabilities: Capabilities {
        job_logs: true,
        rerun_starts_new: true,
        ..READ_ONLY
    },
    actions: &[
        ActionKind::Rerun,
        ActionKind::RerunFailed,
        ActionKind::Cancel,
        ActionKind::Dispatch,
    ],
    timeout: FETCH_TIMEOUT,
    parse: config::gitlab::parse,
    build: built!(Gitlab, gitlab::GitlabSource::new),
    starter: config::gitlab::STARTER,
};

pub static JENKINS: Descriptor = Descriptor {
    kind: "jenkins",
    summary: "Jenkins jobs (folder paths allowed) and their builds",
    provides: PIPELINES,
    capabilities: Capabilities {
        job_logs: true,
        rerun_starts_new: true,
        ..READ_ONLY
    },
    actions: &[ActionKind::Dispatch, ActionKind::Rerun, ActionKind::Cancel],
    timeout: FETCH_TIMEOUT,
    parse: config::jenkins::parse,
    build: built!(Jenkins, jenkins::JenkinsSource::new),
    starter: config::jenkins::STARTER,
};

pub static KUBEFLOW: Descriptor = Descriptor {
    kind: "kubeflow",
    summary: "Kubeflow Pipelines runs (v2beta1 API); no logs: the run's UI link",
    provides: PIPELINES,
    capabilities: READ_ONLY,
    // `:retry` re-runs what failed (a re-run asked for is that retry).
    actions: &[
        ActionKind::RerunFailed,
        ActionKind::Cancel,
        ActionKind::Dispatch,
    ],
    timeout: FETCH_TIMEOUT,
    parse: config::kubeflow::parse,
    build: built!(Kubeflow, kubeflow::KubeflowSource::new),
    starter: config::kubeflow::STARTER,
};

pub static PROMETHEUS: Descriptor = Descriptor {
    kind: "prometheus",
    summary: "model drift scores kept as Prometheus series (read-only)",
    provides: DRIFT,
    capabilities: READ_ONLY,
    actions: &[],
    timeout: FETCH_TIMEOUT,
    parse: config::prometheus::parse,
    build: built!(Prometheus, prometheus::PrometheusSource::new, production),
    starter: config::prometheus::STARTER,
};

pub static MLFLOW: Descriptor = Descriptor {
    kind: "mlflow",
    summary: "MLflow registered models, serving alias, logged drift metrics",
    provides: DRIFT,
    capabilities: READ_ONLY,
    actions: &[ActionKind::SetModelAlias],
    timeout: FETCH_TIMEOUT,
    parse: config::mlflow::parse,
    build: built!(Mlflow, mlflow::MlflowSource::new, production),
    starter: config::mlflow::STARTER,
};

pub static EVIDENTLY: Descriptor = Descriptor {
    kind: "evidently",
    summary: "one Evidently project's column drift (read-only)",
    provides: DRIFT,
    capabilities: READ_ONLY,
    actions: &[],
    timeout: FETCH_TIMEOUT,
    parse: config::evidently::parse,
    build: built!(Evidently, evidently::EvidentlySource::new, production),
    starter: config::evidently::STARTER,
};

pub static REGISTRY: Descriptor = Descriptor {
    kind: "registry",
    summary: "container image tags of an OCI registry (read-only; linked to apps' images)",
    provides: NOTHING,
    capabilities: READ_ONLY,
    actions: &[],
    timeout: FETCH_TIMEOUT,
    parse: config::registry::parse,
    build: built!(Registry, registry::RegistrySource::new),
    starter: config::registry::STARTER,
};

pub static AIRFLOW: Descriptor = Descriptor {
    kind: "airflow",
    summary: "Apache Airflow 3 DAG runs, their tasks and logs (REST API v2)",
    provides: PIPELINES,
    capabilities: Capabilities {
        job_logs: true,
        cancel_marks_failed: true,
        ..READ_ONLY
    },
    actions: &[
        ActionKind::Rerun,
        ActionKind::RerunFailed,
        ActionKind::Cancel,
        ActionKind::Dispatch,
        ActionKind::Suspend,
        ActionKind::Resume,
    ],
    timeout: FETCH_TIMEOUT,
    parse: config::airflow::parse,
    build: built!(Airflow, airflow::AirflowSource::new),
    starter: config::airflow::STARTER,
};

pub static TERRAFORM_CLOUD: Descriptor = Descriptor {
    kind: "terraform-cloud",
    summary: "HCP Terraform / Terraform Enterprise workspaces (drift) and their runs",
    provides: Provides {
        pipelines: true,
        gitops: true,
        drift: false,
    },
    capabilities: Capabilities {
        app_detail: true,
        ..READ_ONLY
    },
    actions: &[
        ActionKind::CheckDrift,
        ActionKind::Dispatch,
        ActionKind::Apply,
        ActionKind::Discard,
        ActionKind::Cancel,
        ActionKind::Lock,
        ActionKind::Unlock,
    ],
    timeout: FETCH_TIMEOUT,
    parse: config::terraform_cloud::parse,
    build: built!(TerraformCloud, terraform_cloud::TerraformCloudSource::new),
    starter: config::terraform_cloud::STARTER,
};

pub static TOFU: Descriptor = Descriptor {
    kind: "tofu",
    summary: "tofu-controller Terraform objects: drift, plans to approve",
    provides: GITOPS,
    capabilities: Capabilities {
        app_detail: true,
        ..READ_ONLY
    },
    actions: &[
        ActionKind::Reconcile,
        ActionKind::ReconcileWithSource,
        ActionKind::Suspend,
        ActionKind::Resume,
        ActionKind::Approve,
        ActionKind::ApproveLive,
    ],
    timeout: FETCH_TIMEOUT,
    parse: config::tofu::parse,
    build: built!(Tofu, tofu::TofuSource::new),
    starter: config::tofu::STARTER,
};

/// The kind called `name`, if this build has it.
pub fn find(name: &str) -> Option<&'static Descriptor> {
    KINDS.iter().copied().find(|d| d.kind == name)
}

/// Every kind's name, in table order.
pub fn names() -> Vec<&'static str> {
    KINDS.iter().map(|d| d.kind).collect()
}

/// The starter config: the global part, then each kind's example.
pub fn starter_config() -> String {
    let mut text = config::STARTER_HEADER.to_string();
    for descriptor in KINDS {
        text.push('\n');
        text.push_str(descriptor.starter);
    }
    text
}

/// The kinds for `--help`: name, the tabs it fills, what it reads.
pub fn help() -> String {
    let mut text = String::from("Source kinds (`kind = \"…\"` in a [[source]]):\n");
    for d in KINDS {
        let tabs: Vec<&str> = [
            (d.provides.pipelines, "pipelines"),
            (d.provides.gitops, "gitops"),
            (d.provides.drift, "drift"),
        ]
        .into_iter()
        .filter_map(|(on, tab)| on.then_some(tab))
        .collect();
        // Two lines a kind, so it reads in 80 columns.
        text.push_str(&format!(
            "  {:<11} {}\n  {:<11} {}\n",
            d.kind,
            tabs.join(", "),
            "",
            d.summary
        ));
    }
    text.push_str("\n`opsdeck init` writes a commented example of each.");
    text
}

#[cfg(test)]
#[path = "kinds_tests.rs"]
mod tests;
