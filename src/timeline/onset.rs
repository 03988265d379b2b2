//! Drift onset and recovery: the rule lives in `model::onset` (sources that
//! read raw samples, like Prometheus, apply it themselves); the timeline
//! takes a model's own episodes when its source gave them, else computes
//! them from the stored series.

pub use crate::model::onset::*;

use crate::model::{ModelDrift, Timestamp};

/// The drift episodes of `model`: its source's (from raw samples) when
/// given, else from its metrics' stored series.
pub fn of_model(model: &ModelDrift, now: Timestamp) -> Vec<Episode> {
    match &model.episodes {
        Some(episodes) => episodes.clone(),
        None => model_episodes(&model.metrics, now),
    }
}
