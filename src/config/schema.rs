//! The validated configuration as the rest of opsdeck sees it: the whole
//! file, each `[[source]]` and its kind-specific part, key bindings.

use std::path::PathBuf;
use std::time::Duration;

use super::{AirflowConfig, KubeflowConfig, RegistryConfig, TerraformCloudConfig, TofuConfig};
use super::{
    ArgoCdConfig, ArgoCdKubeConfig, DemoConfig, EvidentlyConfig, FluxConfig, GitConfig,
    GithubConfig, GitlabConfig, JenkinsConfig, Located, Location, MlflowConfig, PrometheusConfig,
};

/// The poll interval when the config does not say.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// The demo fleet moves one step this often unless told otherwise.
pub const DEFAULT_DEMO_STEP_INTERVAL: Duration = Duration::from_secs(2);
/// The seed of the demo fleet when none is given.
pub const DEFAULT_DEMO_SEED: u64 = 42;

/// A `[keys]` entry: an action name and the keys it is bound to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyBindingSpec {
    pub command: Located<String>,
    pub keys: Vec<Located<String>>,
}

/// The kind-specific part of a `[[source]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceKind {
    Demo(DemoConfig),
    Git(GitConfig),
    ArgoCd(ArgoCdConfig),
    /// `kind = "argocd"` with `context`: Application objects from a cluster.
    ArgoCdKube(ArgoCdKubeConfig),
    Flux(FluxConfig),
    Github(GithubConfig),
    Gitlab(GitlabConfig),
    Jenkins(JenkinsConfig),
    Prometheus(PrometheusConfig),
    Mlflow(MlflowConfig),
    Evidently(EvidentlyConfig),
    Registry(RegistryConfig),
    Airflow(AirflowConfig),
    Kubeflow(KubeflowConfig),
    TerraformCloud(TerraformCloudConfig),
    Tofu(TofuConfig),
}

impl SourceKind {
    /// The `serving = "SOURCE/APP"` links its model entries name.
    pub fn servings(&self) -> Vec<&Located<String>> {
        match self {
            SourceKind::Prometheus(c) => {
                c.models.iter().filter_map(|m| m.serving.as_ref()).collect()
            }
            SourceKind::Mlflow(c) => c.models.iter().filter_map(|m| m.serving.as_ref()).collect(),
            SourceKind::Evidently(c) => c.serving.iter().collect(),
            _ => Vec::new(),
        }
    }

    /// The `train = { pipeline = "SOURCE/PIPELINE" }` links its model entries name.
    pub fn trains(&self) -> Vec<&super::Train> {
        match self {
            SourceKind::Prometheus(c) => c.models.iter().filter_map(|m| m.train.as_ref()).collect(),
            SourceKind::Mlflow(c) => c.models.iter().filter_map(|m| m.train.as_ref()).collect(),
            SourceKind::Evidently(c) => c.train.iter().collect(),
            _ => Vec::new(),
        }
    }

    /// Whether its config lists `pipeline` among what it reads, when it
    /// lists pipelines at all (Airflow `dags`, Jenkins `jobs`, the GitLab
    /// `project`): `None` when it does not say.
    pub fn lists_pipeline(&self, pipeline: &str) -> Option<bool> {
        match self {
            SourceKind::Airflow(c) if !c.dags.is_empty() => Some(
                c.dags
                    .iter()
                    .any(|pattern| super::airflow::glob(pattern, pipeline)),
            ),
            SourceKind::Jenkins(c) if !c.jobs.is_empty() => {
                Some(c.jobs.iter().any(|j| j == pipeline))
            }
            SourceKind::Gitlab(c) => Some(c.project == pipeline),
            _ => None,
        }
    }

    /// Give the source what it needs of `[timeline]`: an MLflow source
    /// looks up the training commits of the versions in its window.
    pub fn follow_timeline(&mut self, timeline: &TimelineConfig) {
        if let SourceKind::Mlflow(c) = self {
            c.window = timeline.window;
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            SourceKind::Demo(_) => "demo",
            SourceKind::Git(_) => "git",
            SourceKind::ArgoCd(_) | SourceKind::ArgoCdKube(_) => "argocd",
            SourceKind::Flux(_) => "flux",
            SourceKind::Github(_) => "github",
            SourceKind::Gitlab(_) => "gitlab",
            SourceKind::Jenkins(_) => "jenkins",
            SourceKind::Prometheus(_) => "prometheus",
            SourceKind::Mlflow(_) => "mlflow",
            SourceKind::Evidently(_) => "evidently",
            SourceKind::Registry(_) => "registry",
            SourceKind::Airflow(_) => "airflow",
            SourceKind::Kubeflow(_) => "kubeflow",
            SourceKind::TerraformCloud(_) => "terraform-cloud",
            SourceKind::Tofu(_) => "tofu",
        }
    }
}

/// One `[[source]]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceConfig {
    pub name: String,
    /// Every target of this source is production (typed confirmation).
    pub production: bool,
    /// Overrides the global poll interval.
    pub refresh: Option<Duration>,
    pub kind: SourceKind,
    pub at: Option<Location>,
}

/// The whole validated configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The file it came from (None for `--demo` without a file).
    pub path: Option<PathBuf>,
    /// A built-in theme name or a path; None picks one from the terminal.
    pub theme: Option<Located<String>>,
    pub read_only: bool,
    pub refresh: Duration,
    pub audit_log: Option<PathBuf>,
    /// Force ASCII symbols (None: decide from the locale).
    pub ascii: Option<bool>,
    pub keys: Vec<KeyBindingSpec>,
    pub sources: Vec<SourceConfig>,
    /// How new problems are announced in the dashboard (default: not at all).
    pub notify: super::NotifyConfig,
    /// `[timeline]`.
    pub timeline: TimelineConfig,
    /// `[[command]]`: custom commands on the selected row.
    pub commands: Vec<super::CommandConfig>,
}

/// `[timeline]`: how far back the timeline reaches and how long a deploy
/// is watched before its verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimelineConfig {
    /// `window`, default 24 h.
    pub window: Duration,
    /// `verdict_window`, default 15 min.
    pub verdict_window: Duration,
}

impl Default for TimelineConfig {
    fn default() -> Self {
        TimelineConfig {
            window: Duration::from_secs(24 * 3600),
            verdict_window: Duration::from_secs(15 * 60),
        }
    }
}

impl Config {
    /// The built-in demo fleet alone, for `--demo` without a config file.
    pub fn demo(seed: u64) -> Config {
        Config {
            path: None,
            theme: None,
            read_only: false,
            refresh: DEFAULT_REFRESH_INTERVAL,
            audit_log: None,
            ascii: None,
            keys: Vec::new(),
            timeline: TimelineConfig::default(),
            sources: vec![SourceConfig {
                name: "demo".into(),
                production: false,
                refresh: None,
                kind: SourceKind::Demo(DemoConfig {
                    seed,
                    ..DemoConfig::default()
                }),
                at: None,
            }],
            notify: super::NotifyConfig::default(),
            commands: Vec::new(),
        }
    }
}

/// `$XDG_CONFIG_HOME/opsdeck/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("opsdeck").join("config.toml"))
}
