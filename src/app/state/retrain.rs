//! Retrains started from the Drift tab, kept by model until the dashboard
//! quits: the run each one started, found in its pipeline source's reads.

use crate::model::{Target, Timestamp};

/// A retrain of one model: a new run of its `train` pipeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Retrain {
    /// The pipeline it runs (`TargetKind::Pipeline`).
    pub pipeline: Target,
    /// The executor's id of the new-run action.
    pub action: u64,
    /// When it was confirmed: a start that names no run began the newest
    /// run of the pipeline from then on.
    pub requested_at: Timestamp,
    /// The backend took it.
    pub started: bool,
    /// The start failed, or its outcome is unknown: why.
    pub failed: Option<String>,
    /// The run's id in its source (`PipelineRun::id`): from the start's
    /// answer, or found in a later read.
    pub run: Option<String>,
}

/// The new-run form asked for a retrain: what it pre-fills when it comes.
#[derive(Clone, Debug, PartialEq)]
pub struct RetrainAsk {
    pub model: Target,
    pub pipeline: Target,
    /// The `train` conf, placeholders filled in.
    pub inputs: Vec<(String, String)>,
}

/// A new run that retrains a model: which model, and the id its
/// pipeline's runs carry (`DispatchForm::pipeline`: a GitHub workflow
/// started by its file name runs under its numeric id).
#[derive(Clone, Debug, PartialEq)]
pub struct RetrainOf {
    pub model: Target,
    pub runs_as: String,
}
