//! The fleet's models: their versions and drift metrics, which wander
//! around their baseline, and with incidents on creep past the thresholds.

use rand::Rng;

use super::cast::{
    KS_P_CRITICAL, KS_P_WARN, MODELS, PSI_CRITICAL, PSI_WARN, SHARE_CRITICAL, SHARE_WARN,
};
use super::{DemoFleet, SimModel};
use crate::model::{Metric, ModelDrift, ModelVersion, Worse};

/// Points kept per metric series.
const MAX_SERIES: usize = 90;

impl DemoFleet {
    pub(super) fn seed_models(&mut self) {
        for (mi, &(name, serving, features)) in MODELS.iter().enumerate() {
            let versions = (1..=serving)
                .rev()
                .take(5)
                .map(|v| ModelVersion {
                    revision: None,
                    run_id: None,
                    version: v.to_string(),
                    created_at: Some(
                        self.now - chrono::Duration::days(((serving - v) * 9 + 2) as i64),
                    ),
                    status: "READY".into(),
                    description: Some(format!("retrained on data up to week {}", 40 + v)),
                })
                .collect();
            let mut metrics = Vec::new();
            let mut creep = Vec::new();
            for (fi, feature) in features.iter().enumerate() {
                let creeping = self.incidents && mi == 0 && fi == 0;
                let base = if creeping {
                    0.06
                } else {
                    self.rng.random_range(0.01..0.06)
                };
                metrics.push(self.seed_metric(
                    "psi",
                    Some(feature),
                    base,
                    PSI_WARN,
                    PSI_CRITICAL,
                    Worse::Above,
                ));
                creep.push(if creeping { 0.006 } else { 0.0 });
            }
            let p = if self.incidents && mi == 1 {
                0.04
            } else {
                self.rng.random_range(0.2..0.9)
            };
            metrics.push(self.seed_metric(
                "ks_pvalue",
                Some(features[0]),
                p,
                KS_P_WARN,
                KS_P_CRITICAL,
                Worse::Below,
            ));
            creep.push(0.0);
            let share = self.rng.random_range(0.0..0.2);
            metrics.push(self.seed_metric(
                "drift_share",
                None,
                share,
                SHARE_WARN,
                SHARE_CRITICAL,
                Worse::Above,
            ));
            creep.push(if self.incidents && mi == 0 {
                0.004
            } else {
                0.0
            });
            self.models.push(SimModel {
                model: ModelDrift {
                    serving: None,
                    train: None,
                    source: String::new(),
                    model: name.to_string(),
                    alias: "champion".into(),
                    version: Some(serving.to_string()),
                    versions,
                    metrics,
                    drifting_since: None,
                    episodes: None,
                    sample_count: Some(self.rng.random_range(8_000..120_000)),
                    production: true,
                    error: None,
                },
                creep,
            });
        }
    }

    fn seed_metric(
        &mut self,
        name: &str,
        feature: Option<&str>,
        latest: f64,
        warn: f64,
        critical: f64,
        worse: Worse,
    ) -> Metric {
        let mut series = Vec::new();
        for k in (0..60).rev() {
            let jitter = self.rng.random_range(-0.1..0.1) * latest;
            let t = self.now - chrono::Duration::minutes(k * 5);
            series.push((t, (latest + jitter).max(0.0)));
        }
        Metric {
            name: name.to_string(),
            feature: feature.map(str::to_string),
            value: Some(latest),
            warn,
            critical,
            worse,
            series,
        }
    }

    pub(super) fn step_models(&mut self) {
        let now = self.now;
        for sim in &mut self.models {
            for (metric, creep) in sim.model.metrics.iter_mut().zip(&sim.creep) {
                let Some(v) = metric.value else { continue };
                let noise = self.rng.random_range(-0.05..0.05) * v.max(0.01);
                let next = match metric.worse {
                    Worse::Above => (v + creep + noise).clamp(0.0, 2.0),
                    Worse::Below => (v + noise).clamp(0.0, 1.0),
                };
                metric.value = Some(next);
                metric.series.push((now, next));
                if metric.series.len() > MAX_SERIES {
                    metric.series.remove(0);
                }
            }
            let drifting = sim.model.status() == crate::model::DriftStatus::Drifting;
            match (drifting, sim.model.drifting_since) {
                (true, None) => sim.model.drifting_since = Some(now),
                (false, Some(_)) => sim.model.drifting_since = None,
                _ => {}
            }
            if let Some(n) = sim.model.sample_count.as_mut() {
                *n += self.rng.random_range(10..200);
            }
        }
    }
}
