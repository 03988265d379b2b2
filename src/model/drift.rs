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
    /// The training run it came from (MLflow `run_id`).
    pub run_id: Option<String>,
    /// The commit it was trained from (the run's `mlflow.source.git.commit`).
    pub revision: Option<String>,
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
    /// Its drift episodes as its source computed them from raw samples
    /// (Prometheus); None: the timeline computes them from `metrics[].series`.
    pub episodes: Option<Vec<super::onset::Episode>>,
    pub sample_count: Option<u64>,
    pub production: bool,
    /// The app that serves it, `SOURCE/APP` (the model entry's `serving`).
    pub serving: Option<String>,
    /// The pipeline that retrains it (the model entry's `train`).
    pub train: Option<super::TrainLink>,
    /// Why the backend could not give (all of) this model's drift, in its
    /// own words (`bad_data: …`); shown on the model, never taken as ok.
    pub error: Option<String>,
}

impl ModelDrift {
    /// The worst of its metrics; unknown when it has none.
    pub fn status(&self) -> DriftStatus {
        self.metrics
            .iter()
            .map(Metric::status)
            .max()
            .unwrap_or(DriftStatus::Unknown)
    }

    /// Metrics worst first (by status, then severity).
    pub fn metrics_by_severity(&self) -> Vec<&Metric> {
        let mut m: Vec<&Metric> = self.metrics.iter().collect();
        m.sort_by(|a, b| {
            b.status()
                .cmp(&a.status())
                .then(b.severity().total_cmp(&a.severity()))
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

/// A metric value or threshold: two to three decimals below 1 ("0.31",
/// "0.005"), two up to 100, none above.
pub fn metric_value(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let abs = v.abs();
    if abs >= 100.0 {
        return format!("{v:.0}");
    }
    if abs >= 1.0 {
        return format!("{v:.2}");
    }
    let s = format!("{v:.3}");
    let trimmed = s.trim_end_matches('0');
    // Keep at least two decimals: "0.10", not "0.1".
    let decimals = trimmed.split_once('.').map_or(0, |(_, d)| d.len());
    if decimals < 2 {
        format!("{v:.2}")
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(value: Option<f64>, warn: f64, critical: f64, worse: Worse) -> Metric {
        Metric {
            name: "m".into(),
            feature: None,
            value,
            warn,
            critical,
            worse,
            series: Vec::new(),
        }
    }

    #[test]
    fn reaching_a_threshold_counts_as_past_it() {
        let psi = |v| metric(Some(v), 0.1, 0.25, Worse::Above).status();
        assert_eq!(psi(0.09), DriftStatus::Ok);
        assert_eq!(psi(0.1), DriftStatus::Warning);
        assert_eq!(psi(0.2499), DriftStatus::Warning);
        assert_eq!(psi(0.25), DriftStatus::Drifting);
        let p = |v| metric(Some(v), 0.05, 0.01, Worse::Below).status();
        assert_eq!(p(0.5), DriftStatus::Ok);
        assert_eq!(p(0.05), DriftStatus::Warning);
        assert_eq!(p(0.01), DriftStatus::Drifting);
        assert_eq!(p(0.0), DriftStatus::Drifting);
    }

    #[test]
    fn no_data_is_unknown_not_ok() {
        assert_eq!(
            metric(None, 0.1, 0.25, Worse::Above).status(),
            DriftStatus::Unknown
        );
        assert_eq!(
            metric(Some(f64::NAN), 0.1, 0.25, Worse::Above).status(),
            DriftStatus::Unknown
        );
        let model = ModelDrift {
            serving: None,
            train: None,
            source: "s".into(),
            model: "m".into(),
            alias: "champion".into(),
            version: None,
            versions: Vec::new(),
            metrics: Vec::new(),
            drifting_since: None,
            episodes: None,
            sample_count: None,
            production: false,
            error: None,
        };
        assert_eq!(model.status(), DriftStatus::Unknown);
    }

    #[test]
    fn severity_respects_which_direction_is_worse() {
        // PSI 0.5 against 0.25 is twice critical; p = 0.005 against 0.01 likewise.
        assert!((metric(Some(0.5), 0.1, 0.25, Worse::Above).severity() - 2.0).abs() < 1e-9);
        assert!((metric(Some(0.005), 0.05, 0.01, Worse::Below).severity() - 2.0).abs() < 1e-9);
        assert!(metric(None, 0.1, 0.25, Worse::Above).severity() < 0.0);
    }

    #[test]
    fn metrics_sort_worst_first_and_the_model_takes_the_worst_status() {
        let mut model = ModelDrift {
            serving: None,
            train: None,
            source: "s".into(),
            model: "m".into(),
            alias: "champion".into(),
            version: Some("7".into()),
            versions: ["7", "6", "5"]
                .iter()
                .map(|v| ModelVersion {
                    revision: None,
                    run_id: None,
                    version: v.to_string(),
                    created_at: None,
                    status: "READY".into(),
                    description: None,
                })
                .collect(),
            metrics: vec![
                metric(Some(0.12), 0.1, 0.25, Worse::Above),
                metric(Some(0.004), 0.05, 0.01, Worse::Below),
                metric(Some(0.3), 0.1, 0.25, Worse::Above),
            ],
            drifting_since: None,
            episodes: None,
            sample_count: None,
            production: false,
            error: None,
        };
        assert_eq!(model.status(), DriftStatus::Drifting);
        let order: Vec<f64> = model
            .metrics_by_severity()
            .iter()
            .filter_map(|m| m.value)
            .collect();
        assert_eq!(order, vec![0.004, 0.3, 0.12]);
        assert_eq!(
            model.previous_version().map(|v| v.version.as_str()),
            Some("6")
        );
        model.versions[1].status = "PENDING_REGISTRATION".into();
        assert_eq!(
            model.previous_version().map(|v| v.version.as_str()),
            Some("5")
        );
    }
}
