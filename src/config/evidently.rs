//! `kind = "evidently"`: one project of an Evidently UI service, read-only:
//! per-column drift and the share of drifted columns from its snapshots.

use std::path::PathBuf;

use serde::Deserialize;
use serde::de::IgnoredAny;
use toml::Spanned;

use super::backend::{self, HttpBackend, RawHttp, Thresholds};
use super::{ConfigError, KindParser, Secret, SourceConfig, SourceKind};

/// Its part of the starter config `opsdeck init` writes.
pub const STARTER: &str = r#"# Model drift: one project of an Evidently UI service (read-only).
# [[source]]
# name = "evidently"
# kind = "evidently"
# url = "http://evidently.example.com:8000"
# project = "churn-monitoring"
"#;

/// The drifted-columns share that warns, when the config does not say.
pub const DEFAULT_EVIDENTLY_SHARE_WARN: f64 = 0.3;
/// The drifted-columns share that counts as drifting: Evidently's own
/// default for dataset drift.
pub const DEFAULT_EVIDENTLY_SHARE_CRITICAL: f64 = 0.5;

/// How the project is named in the config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProjectRef {
    /// Its id (a UUID), as the Evidently UI shows it.
    Id(String),
    /// Its name, looked up with the UI's project search.
    Name(String),
}

/// An Evidently UI service and the project that monitors one model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidentlyConfig {
    pub http: HttpBackend,
    pub project: ProjectRef,
    /// The model's name on screen (and in `status`); None: the project's
    /// name as the service reports it.
    pub model: Option<String>,
    /// Thresholds of the drifted-columns share. Each column's own drift
    /// test carries its threshold in the snapshot.
    pub share: Thresholds,
    /// `serving = "SOURCE/APP"`: the app that serves the model.
    pub serving: Option<super::Located<String>>,
    /// `train = { pipeline = "SOURCE/PIPELINE", conf = { … } }`: what retrains it.
    pub train: Option<super::Train>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvidently {
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
    project: Spanned<String>,
    model: Option<Spanned<String>>,
    warn: Option<Spanned<f64>>,
    critical: Option<Spanned<f64>>,
    serving: Option<Spanned<String>>,
    train: Option<super::train::RawTrain>,
}

pub(crate) fn parse(p: &KindParser<'_, '_>) -> Result<SourceConfig, ConfigError> {
    let raw: RawEvidently = p.deserialize()?;
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
    let project_name = backend::non_empty(p, &raw.project, "project")?;
    let project = if looks_like_uuid(&project_name) {
        ProjectRef::Id(project_name.to_ascii_lowercase())
    } else {
        ProjectRef::Name(project_name)
    };
    let model = raw
        .model
        .as_ref()
        .map(|m| backend::non_empty(p, m, "model"))
        .transpose()?;
    if let (Some(name), Some(at)) = (&model, &raw.model) {
        if name.contains('/') {
            return Err(p.error(at, format!("model name `{name}` must not contain `/`")));
        }
    }
    // Where the defaults stand in, errors point at the key that is there.
    let warn = raw.warn.clone().unwrap_or_else(|| {
        Spanned::new(
            raw.critical
                .as_ref()
                .map_or(raw.project.span(), |c| c.span()),
            DEFAULT_EVIDENTLY_SHARE_WARN,
        )
    });
    let critical = raw.critical.clone().unwrap_or_else(|| {
        Spanned::new(
            raw.warn.as_ref().map_or(raw.project.span(), |w| w.span()),
            DEFAULT_EVIDENTLY_SHARE_CRITICAL,
        )
    });
    let share = backend::thresholds(p, &warn, &critical, None)?;
    let serving = backend::serving(p, raw.serving.as_ref())?;
    let train = super::train::parse(p, raw.train.as_ref())?;
    p.source(raw.name, raw.production, &raw.refresh, || {
        Ok(SourceKind::Evidently(EvidentlyConfig {
            http,
            project,
            model,
            share,
            serving,
            train,
        }))
    })
}

/// 8-4-4-4-12 hex digits.
fn looks_like_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}
