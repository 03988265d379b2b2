//! Backend-agnostic domain types. Every source maps its API into these; the
//! app, the UI and the headless commands only ever see these.

pub mod action;
pub mod changed;
pub mod drift;
pub mod duration;
pub mod gitops;
pub mod identity;
pub mod image;
pub mod onset;
pub mod pipeline;
pub mod repo_url;
pub mod train;

pub use action::{Action, ActionKind, Follow, Outcome, Started, SyncOptions, Target, TargetKind};
pub use changed::{Changed, Scope};
pub use drift::{DriftStatus, Metric, ModelDrift, ModelVersion, Worse, metric_value};
pub use gitops::{
    AppDetail, Commit, CommitDiff, Deployment, GitOpsApp, Health, Operation, OperationPhase,
    PendingPlan, RepoInfo, ResourceDiff, ResourceRef, ResourceResult, RevisionInfo, SyncStatus,
    TreeNode,
};
pub use identity::Operator;
pub use image::{AppImage, ImageBuild, ImageRef, ImageTag, RegistryRepo};
pub use pipeline::AWAITING_APPROVAL;
pub use pipeline::{
    DispatchForm, FormInput, Job, LOG_TAIL_LINES, LogTail, PipelineRun, RunStatus, Step,
};
pub use train::{Produced, TrainLink};

/// A point in time as every backend reports it (UTC).
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// Everything one source knows at one moment. A new snapshot replaces the
/// previous one of the same source whole.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub pipelines: Vec<PipelineRun>,
    pub apps: Vec<GitOpsApp>,
    pub models: Vec<ModelDrift>,
    /// Repositories of a container registry, each with its tags.
    pub registries: Vec<RegistryRepo>,
    /// Configured items that could not be read at all (a deleted workflow,
    /// a vanished job), each in words naming the item. The source shows
    /// them as its error while the rest of this snapshot is shown.
    pub problems: Vec<String>,
}

impl Snapshot {
    /// The problems as one line, when there are any.
    pub fn problems_text(&self) -> Option<String> {
        (!self.problems.is_empty()).then(|| self.problems.join("; "))
    }
}

/// What a source offers beyond reading and its actions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Its apps have a drill-down to load (operation results, tree, diff).
    pub app_detail: bool,
    /// Its sync and history rollback take prune and dry-run options.
    pub sync_options: bool,
    /// Its runs' jobs have logs to show.
    pub job_logs: bool,
    /// A re-run starts a new run with the same ref and parameters (GitLab,
    /// Jenkins) rather than another attempt of the same run (GitHub).
    pub rerun_starts_new: bool,
    /// A cancel marks the run failed rather than stopping it (Airflow has
    /// no cancel): the effect line says so.
    pub cancel_marks_failed: bool,
}

/// Which tabs a source contributes to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Provides {
    pub pipelines: bool,
    pub gitops: bool,
    pub drift: bool,
}

impl Provides {
    pub const ALL: Provides = Provides {
        pipelines: true,
        gitops: true,
        drift: true,
    };
}

/// The first `n` characters of a commit SHA or revision, as people read them.
pub fn short_rev(rev: &str) -> &str {
    let end = rev.char_indices().nth(7).map_or(rev.len(), |(i, _)| i);
    &rev[..end]
}
