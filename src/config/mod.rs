//! The TOML configuration: schema, validation with file:line:column errors,
//! and secret lookup. Unknown keys are errors: a typo must not silently
//! disable a source. Each source kind's own keys (and its part of the
//! starter config) live in a file of its own, listed in the descriptor
//! table (`sources::kinds`).

pub mod airflow;
pub mod argocd;
mod backend;
pub mod command;
pub mod demo;
mod duration;
pub mod evidently;
pub mod flux;
pub mod git;
pub mod github;
pub mod gitlab;
pub mod jenkins;
mod kind_parser;
pub mod kubeflow;
mod location;
pub mod mlflow;
pub mod notify;
mod parse;
pub mod prometheus;
pub mod registry;
mod schema;
mod secret;
pub mod terraform_cloud;
pub mod tofu;
mod train;

pub use airflow::AirflowConfig;
pub use argocd::{ARGOCD_CLI_CONFIG, ArgoCdConfig, ArgoCdKubeConfig, ArgoToken};
pub use backend::{DEFAULT_MODEL_TIMEOUT, HttpAuth, HttpBackend, Thresholds};
pub use command::{CommandConfig, Placeholder, RenderError, Scope, Template};
pub use demo::DemoConfig;
pub use duration::parse_duration;
pub use evidently::{EvidentlyConfig, ProjectRef};
pub use flux::{FluxConfig, KubeTarget};
pub use git::{DEFAULT_FOLLOW_TIMEOUT, GitApp, GitConfig, PushMode, RepoLocation};
pub use github::GithubConfig;
pub use gitlab::GitlabConfig;
pub use jenkins::JenkinsConfig;
pub use kind_parser::{KindParse, KindParser};
pub use kubeflow::KubeflowConfig;
pub use location::{ConfigError, ConfigErrors, Located, Location};
pub use mlflow::{DEFAULT_MLFLOW_ALIAS, MlflowConfig, MlflowModel};
pub use notify::{NotifyConfig, NotifyMin, NotifyVia};
pub use parse::{load, parse};
pub use prometheus::{DEFAULT_PROMETHEUS_RANGE, PrometheusConfig, PrometheusModel};
pub use registry::{DEFAULT_REGISTRY_MAX_TAGS, RegistryConfig};
pub use schema::{
    Config, DEFAULT_DEMO_SEED, DEFAULT_DEMO_STEP_INTERVAL, DEFAULT_REFRESH_INTERVAL,
    KeyBindingSpec, SourceConfig, SourceKind, TimelineConfig, default_path,
};
pub use secret::{Secret, SecretError, SecretValue, expand_home, forget_kept_secret, kept_secret};
pub use terraform_cloud::TerraformCloudConfig;
pub use tofu::TofuConfig;
pub use train::Train;

use location::LineIndex;

/// The top of the starter config (global settings, keys, secrets); each
/// kind's commented example follows it, in table order.
pub const STARTER_HEADER: &str = include_str!("starter_header.toml");

/// The starter config `opsdeck init` writes, assembled from the
/// descriptor table.
pub static STARTER_CONFIG: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(crate::sources::kinds::starter_config);
