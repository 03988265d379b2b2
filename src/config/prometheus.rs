//! `kind = "prometheus"`: drift scores kept as Prometheus series, one
//! `[[source.model]]` per model with its PromQL query and thresholds.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde::de::IgnoredAny;
use toml::Spanned;

use super::backend::{self, HttpBackend, RawHttp, Thresholds};
use super::{ConfigError, KindParser, Secret, SourceConfig, SourceKind};

/// Its part of the starter config `opsdeck init` writes.
pub const STARTER: &str = r#"# Model drift: drift scores kept as Prometheus series, one query per model.
# [[source]]
# name = "prom"
# kind = "prometheus"
# url = "http://prometheus.example.com:9090"
#
# [[source.model]]
# name = "churn"
# query = 'model_feature_psi{model="churn"}'
# warn = 0.1
# critical = 0.25
"#;

/// How far back the trend charts look when the config does not say.
pub const DEFAULT_PROMETHEUS_RANGE: Duration = Duration::from_secs(6 * 3600);

/// A Prometheus server and the models whose drift it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrometheusConfig {
    pub http: HttpBackend,
    /// How far back the trends reach.
    pub range: Duration,
    /// The series label naming the feature (one series per feature).
    pub feature_label: String,
    /// The series label naming the drift method (psi, ks_pvalue…).
    pub method_label: String,
    /// The alert label naming the model an alert is about.
    pub alert_label: String,
    pub models: Vec<PrometheusModel>,
}

/// One `[[source.model]]` of a prometheus source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrometheusModel {
    pub name: String,
    /// PromQL returning one series per feature.
    pub query: String,
    pub thresholds: Thresholds,
    /// The metric's name when its series carry no method label.
    pub metric: Option<String>,
    /// PromQL whose series' `version_label` names the serving version.
    pub version_query: Option<String>,
    pub version_label: String,
    /// `serving = "SOURCE/APP"`: the app that serves the model.
    pub serving: Option<super::Located<String>>,
    /// `train = { pipeline = "SOURCE/PIPELINE", conf = { … } }`: what retrains it.
    pub train: Option<super::Train>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrometheus {
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
    range: Option<Spanned<String>>,
    feature_label: Option<String>,
    method_label: Option<String>,
    alert_label: Option<String>,
    #[serde(default)]
    model: Vec<RawModel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    name: Spanned<String>,
    query: Spanned<String>,
    warn: Spanned<f64>,
    critical: Spanned<f64>,
    worse: Option<Spanned<String>>,
    metric: Option<String>,
    version_query: Option<Spanned<String>>,
    version_label: Option<String>,
    serving: Option<Spanned<String>>,
    train: Option<super::train::RawTrain>,
}

pub(crate) fn parse(p: &KindParser<'_, '_>) -> Result<SourceConfig, ConfigError> {
    let raw: RawPrometheus = p.deserialize()?;
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
    if raw.model.is_empty() {
        return Err(ConfigError::at(
            &p.name_at(),
            "a prometheus source needs at least one [[source.model]] (name, query, warn, critical)",
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
        let version_query = m
            .version_query
            .as_ref()
            .map(|q| backend::non_empty(p, q, "version_query"))
            .transpose()?;
        models.push(PrometheusModel {
            name,
            query: backend::non_empty(p, &m.query, "query")?,
            thresholds: backend::thresholds(p, &m.warn, &m.critical, m.worse.as_ref())?,
            metric: m.metric.clone(),
            version_query,
            version_label: m.version_label.clone().unwrap_or_else(|| "version".into()),
            serving: backend::serving(p, m.serving.as_ref())?,
            train: super::train::parse(p, m.train.as_ref())?,
        });
    }
    p.source(raw.name, raw.production, &raw.refresh, || {
        Ok(SourceKind::Prometheus(PrometheusConfig {
            http,
            range: p
                .duration(&raw.range, "range")?
                .unwrap_or(DEFAULT_PROMETHEUS_RANGE),
            feature_label: raw.feature_label.unwrap_or_else(|| "feature".into()),
            method_label: raw.method_label.unwrap_or_else(|| "method".into()),
            alert_label: raw.alert_label.unwrap_or_else(|| "model".into()),
            models,
        }))
    })
}
