//! `kind = "mlflow"`: registered models, their serving alias, and the drift
//! metrics a monitoring job logs to an experiment.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::IgnoredAny;
use toml::Spanned;

use super::backend::{self, HttpBackend, RawHttp, Thresholds};
use super::{ConfigError, KindParser, Secret, SourceConfig, SourceKind};

/// Its part of the starter config `opsdeck init` writes.
pub const STARTER: &str = r#"# Model drift: MLflow registered models, their serving alias and the drift
# metrics a monitoring job logs.
# [[source]]
# name = "registry"
# kind = "mlflow"
# url = "https://mlflow.example.com"
#
# [[source.model]]
# name = "churn"
# experiment = "churn-monitoring"
# metrics = ["psi.*"]
# warn = 0.1
# critical = 0.25
"#;

/// The serving alias when the config does not name one.
pub const DEFAULT_MLFLOW_ALIAS: &str = "champion";

/// An MLflow tracking server and the registered models it serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MlflowConfig {
    pub http: HttpBackend,
    pub models: Vec<MlflowModel>,
    /// How far back versions' training commits are looked up: the
    /// `[timeline]` window (set after the whole file is read).
    pub window: std::time::Duration,
}

/// One `[[source.model]]` of an mlflow source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MlflowModel {
    /// The registered model's name.
    pub name: String,
    /// The serving alias that a rollback moves.
    pub alias: String,
    /// The experiment a monitoring job logs drift metrics to.
    pub experiment: String,
    /// Metric key patterns (`*` matches anything): `psi.*`, `drift_share`.
    pub metrics: Vec<String>,
    pub thresholds: Thresholds,
    /// A run metric holding how many samples the drift was computed on.
    pub sample_count_metric: Option<String>,
    /// `serving = "SOURCE/APP"`: the app that serves the model.
    pub serving: Option<super::Located<String>>,
    /// `train = { pipeline = "SOURCE/PIPELINE", conf = { … } }`: what retrains it.
    pub train: Option<super::Train>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMlflow {
    #[allow(dead_code)] // checked by the dispatcher
    kind: IgnoredAny,
    name: String,
    #[serde(default)]
    production: bool,
    refresh: Option<Spanned<String>>,
    url: Spanned<String>,
    token: Option<Spanned<Secret>>,
    ca_file: Option<PathBuf>,
    #[serde(default)]
    insecure: bool,
    timeout: Option<Spanned<String>>,
    #[serde(default)]
    model: Vec<RawModel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    name: Spanned<String>,
    alias: Option<Spanned<String>>,
    experiment: Spanned<String>,
    metrics: Spanned<Vec<String>>,
    warn: Spanned<f64>,
    critical: Spanned<f64>,
    worse: Option<Spanned<String>>,
    sample_count_metric: Option<String>,
    serving: Option<Spanned<String>>,
    train: Option<super::train::RawTrain>,
}

pub(crate) fn parse(p: &KindParser<'_, '_>) -> Result<SourceConfig, ConfigError> {
    let raw: RawMlflow = p.deserialize()?;
    let http = backend::http_backend(
        p,
        RawHttp {
            url: &raw.url,
            token: raw.token.as_ref(),
            username: None,
            password: None,
            ca_file: raw.ca_file.clone(),
            insecure: raw.insecure,
            timeout: &raw.timeout,
        },
    )?;
    if raw.model.is_empty() {
        return Err(ConfigError::at(
            &p.name_at(),
            "an mlflow source needs at least one [[source.model]] \
             (name, experiment, metrics, warn, critical)",
        ));
    }
    let mut seen = BTreeSet::new();
    let mut models = Vec::new();
    for m in &raw.model {
        let name = backend::non_empty(p, &m.name, "model name")?;
        if !seen.insert(name.clone()) {
            return Err(p.error(
                &m.name,
                format!("duplicate model `{name}` in this source: model names must be unique"),
            ));
        }
        let metrics = m.metrics.get_ref();
        if metrics.is_empty() || metrics.iter().any(|k| k.trim().is_empty()) {
            return Err(p.error(
                &m.metrics,
                "metrics must list one or more metric keys or patterns, such as [\"psi.*\", \"drift_share\"]",
            ));
        }
        models.push(MlflowModel {
            name,
            alias: m
                .alias
                .as_ref()
                .map(|a| backend::non_empty(p, a, "alias"))
                .transpose()?
                .unwrap_or_else(|| DEFAULT_MLFLOW_ALIAS.into()),
            experiment: backend::non_empty(p, &m.experiment, "experiment")?,
            metrics: metrics.clone(),
            thresholds: backend::thresholds(p, &m.warn, &m.critical, m.worse.as_ref())?,
            sample_count_metric: m.sample_count_metric.clone(),
            serving: backend::serving(p, m.serving.as_ref())?,
            train: super::train::parse(p, m.train.as_ref())?,
        });
    }
    p.source(raw.name, raw.production, &raw.refresh, || {
        Ok(SourceKind::Mlflow(MlflowConfig {
            http,
            models,
            window: super::TimelineConfig::default().window,
        }))
    })
}
