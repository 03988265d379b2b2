//! Model drift: metrics against thresholds, and the model versions a serving
//! alias can point at.

use serde::{Deserialize, Serialize};

use super::Timestamp;

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
/// Ordered from best to worst, so `max` is the worst.
pub enum DriftStatus {
    Ok,
    Unknown,
    Warning,
    Drifting,
}

/// Which side of the threshold is bad.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Worse {
    /// Distances (PSI, KL, drift share): higher is worse.
    #[default]
    Above,
    /// p-values, accuracy: lower is worse.
    Below,
}

/// One drift metric of a model (for one feature, or the whole model).
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    pub name: String,
    pub feature: Option<String>,
    /// Latest value; `None` when the backend has no data.
    pub value: Option<f64>,
    pub warn: f64,
    pub critical: f64,
    pub worse: Worse,
    /// Oldest first.
    pub series: Vec<(Timestamp, f64)>,
}

impl Metric {
    /// Where `value` stands against the thresholds. Reaching a threshold
    /// counts as past it, as drift tools do (PSI ≥ 0.25 is critical).
    pub fn status(&self) -> DriftStatus {
        let Some(v) = self.value.filter(|v| v.is_finite()) else {
            return DriftStatus::Unknown;
        };
        let past = |threshold: f64| match self.worse {
            Worse::Above => v >= threshold,
            Worse::Below => v <= threshold,
        };
        if past(self.critical) {
            DriftStatus::Drifting
        } else if past(self.warn) {
            DriftStatus::Warning
        } else {
            DriftStatus::Ok
        }
    }

    /// Value ÷ critical threshold, turned so that higher is always worse
    /// (≥ 1 is past critical). Unknown values sort last.
    pub fn severity(&self) -> f64 {
        let Some(v) = self.value.filter(|v| v.is_finite()) else {
            return f64::NEG_INFINITY;
        };
        match self.worse {
            Worse::Above if self.critical != 0.0 => v / self.critical,
            Worse::Above => v,
            Worse::Below if v > 0.0 => self.critical / v,
            Worse::Below => f64::INFINITY,
        }
    }

    /// "psi[age]" or "drift_share".
    pub fn label(&self) -> String {
        match &self.feature {
            Some(f) => format!("{}[{}]", self.name, f),
            None => self.name.clone(),
        }
    }
}

/// A registered version of a model.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelVersion {
    pub version: String,
    pub created_at: Option<Timestamp>,
    /// The registry's own word (READY, PENDING_REGISTRATION…).
    pub status: String,
    pub description: Option<String>,
}

/// A production model and its drift.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelDrift {
    pub source: String,
    pub model: String,
    /// The serving alias ("champion").
    pub alias: String,
    /// The version the alias points at.
    pub version: Option<String>,
    /// Every known version, newest first.
    pub versions: Vec<ModelVersion>,
    pub metrics: Vec<Metric>,
    /// When the model first went past a threshold, when known.
    pub drifting_since: Option<Timestamp>,
    pub sample_count: Option<u64>,
    pub production: bool,
}

impl ModelDrift {
    /// The worst of its metrics; unknown when it has none.
    pub fn status(&self) -> DriftStatus {
        self.metrics.iter().map(Metric::status).max().unwrap_or(DriftStatus::Unknown)
    }

    /// Metrics worst first (by status, then severity).
    pub fn metrics_by_severity(&self) -> Vec<&Metric> {
        let mut m: Vec<&Metric> = self.metrics.iter().collect();
        m.sort_by(|a, b| {
            b.status().cmp(&a.status()).then(b.severity().total_cmp(&a.severity()))
        });
        m
    }

    /// The worst metric, if any.
    pub fn worst_metric(&self) -> Option<&Metric> {
        self.metrics_by_severity().into_iter().next()
    }

    /// The version a rollback goes to by default: the newest ready version
    /// older than the serving one.
    pub fn previous_version(&self) -> Option<&ModelVersion> {
        let serving = self.version.as_deref()?;
        let serving_n = version_number(serving);
        self.versions
            .iter()
            .filter(|v| v.version != serving && v.status.eq_ignore_ascii_case("ready"))
            .filter(|v| match (version_number(&v.version), serving_n) {
                (Some(a), Some(b)) => a < b,
                _ => true,
            })
            .max_by_key(|v| version_number(&v.version))
    }
}

fn version_number(v: &str) -> Option<u64> {
    v.trim_start_matches(['v', 'V']).parse().ok()
}
