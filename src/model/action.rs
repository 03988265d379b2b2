//! What the engineer can do to a target, and how it ended.

use serde::{Deserialize, Serialize};

/// The kind of thing an action is aimed at.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum TargetKind {
    Run,
    App,
    Model,
    /// A workflow, pipeline or job that new runs can be started from.
    Pipeline,
}

/// One run, app or model of one source.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Target {
    pub source: String,
    pub kind: TargetKind,
    /// Run id, app name or model name, as the source knows it.
    pub id: String,
}

impl Target {
    pub fn new(source: impl Into<String>, kind: TargetKind, id: impl Into<String>) -> Self {
        Target {
            source: source.into(),
            kind,
            id: id.into(),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.source, self.id)
    }
}

/// Every action kind opsdeck knows.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumIter,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ActionKind {
    Sync,
    Refresh,
    /// Ask the controller to apply the desired state now (a Flux
    /// reconcile): unlike a refresh it changes the cluster.
    Reconcile,
    /// Reconcile the object's source first (fetch its newest commit), then
    /// the object: `flux reconcile --with-source`. What a follow sends
    /// after a push, so the controller sees the commit without waiting for
    /// the source's own interval.
    ReconcileWithSource,
    /// Refresh that also drops the controller's manifest cache.
    HardRefresh,
    /// Stop an app's running sync or rollback operation.
    Terminate,
    /// Turn an app's automated sync off (so a history rollback is allowed).
    DisableAutoSync,
    Rollback,
    Suspend,
    Resume,
    Rerun,
    RerunFailed,
    Cancel,
    /// Cancel a run that ignored a cancel (GitHub's force-cancel: skips
    /// `always()` steps and post-job cleanup).
    ForceCancel,
    /// Start a new run of a pipeline on a ref, with inputs (GitHub workflow
    /// dispatch, a new GitLab pipeline, a Jenkins build).
    Dispatch,
    SetModelAlias,
    /// Start a refresh-only run of a Terraform workspace: compare the real
    /// infrastructure with the state (changes no infrastructure).
    CheckDrift,
    /// Apply a Terraform run that waits for confirmation.
    Apply,
    /// Discard a Terraform run that waits for confirmation.
    Discard,
    /// Lock a Terraform workspace: no run applies until it is unlocked.
    Lock,
    Unlock,
    /// Approve a Terraform object's pending plan the GitOps way: commit
    /// `spec.approvePlan: <plan id>` to its manifest and push (tofu).
    Approve,
    /// Approve it by patching the live object instead (Flux resets it
    /// when it applies the manifest again): only when asked for by name.
    ApproveLive,
    /// Start a new run of a model's `train` pipeline, its conf filled in
    /// from the model (carried out as a `Dispatch` of that pipeline).
    Retrain,
    /// Move a model's serving alias forward to a newer version (carried
    /// out as a `SetModelAlias`, the alias move a rollback uses).
    Promote,
}

impl ActionKind {
    /// Changes something in a backend (refused when read-only). A refresh
    /// only asks the controller to look again.
    pub fn is_mutating(self) -> bool {
        !matches!(self, ActionKind::Refresh | ActionKind::HardRefresh)
    }

    /// What kind of target it applies to.
    pub fn target_kind(self) -> TargetKind {
        match self {
            ActionKind::Rerun
            | ActionKind::RerunFailed
            | ActionKind::Cancel
            | ActionKind::ForceCancel
            | ActionKind::Apply
            | ActionKind::Discard => TargetKind::Run,
            ActionKind::Dispatch => TargetKind::Pipeline,
            ActionKind::SetModelAlias | ActionKind::Retrain | ActionKind::Promote => {
                TargetKind::Model
            }
            _ => TargetKind::App,
        }
    }

    /// A verb for messages: "sync", "roll back", "re-run"…
    pub fn verb(self) -> &'static str {
        match self {
            ActionKind::Sync => "sync",
            ActionKind::Refresh => "refresh",
            ActionKind::Reconcile => "reconcile",
            ActionKind::ReconcileWithSource => "reconcile (with its source first)",
            ActionKind::HardRefresh => "hard-refresh",
            ActionKind::Terminate => "terminate the operation of",
            ActionKind::DisableAutoSync => "turn auto-sync off for",
            ActionKind::Rollback => "roll back",
            ActionKind::Suspend => "suspend",
            ActionKind::Resume => "resume",
            ActionKind::Rerun => "re-run",
            ActionKind::RerunFailed => "re-run failed jobs of",
            ActionKind::Cancel => "cancel",
            ActionKind::ForceCancel => "force-cancel",
            ActionKind::Dispatch => "start a new run of",
            ActionKind::SetModelAlias => "move the serving alias of",
            ActionKind::CheckDrift => "check for drift in",
            ActionKind::Apply => "apply",
            ActionKind::Discard => "discard",
            ActionKind::Lock => "lock",
            ActionKind::Unlock => "unlock",
            ActionKind::Approve => "approve the pending plan of",
            ActionKind::ApproveLive => "patch the live approvePlan of",
            ActionKind::Retrain => "retrain",
            ActionKind::Promote => "promote",
        }
    }
}

/// A fully planned action: what, on what, and its exact effect in words.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub kind: ActionKind,
    pub target: Target,
    /// Rollback history id or model version, when the kind takes one.
    pub to: Option<String>,
    /// One line that states exactly what will happen.
    pub effect: String,
    /// A production target: the confirmation asks for its name to be typed.
    pub production: bool,
    /// After it is done, refresh this app and follow it until it converges.
    #[serde(default)]
    pub follow: Option<Follow>,
    /// How a sync (or history rollback) is sent; toggled in the dialog.
    #[serde(default)]
    pub sync: SyncOptions,
    /// A dispatch's inputs (GitHub workflow inputs, GitLab variables,
    /// Jenkins parameters), in the order given; its ref is in `to`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<(String, String)>,
}

impl Action {
    /// Change the sync options and the effect line that states them.
    pub fn set_sync_options(&mut self, options: SyncOptions) {
        let old = self.sync.words();
        if let Some(base) = self.effect.strip_suffix(old.as_str()) {
            self.effect = base.to_string();
        }
        self.effect.push_str(&options.words());
        self.sync = options;
    }
}

/// Options of a sync: delete what Git no longer has, or only pretend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncOptions {
    /// Delete live resources that are no longer in the desired state.
    pub prune: bool,
    /// Ask the controller what it would do, changing nothing.
    pub dry_run: bool,
}

impl SyncOptions {
    /// The words the effect line carries: "" or " (prune, dry run)".
    pub fn words(self) -> String {
        let mut words = Vec::new();
        if self.prune {
            words.push("prune: delete resources no longer in Git");
        }
        if self.dry_run {
            words.push("dry run: change nothing");
        }
        if words.is_empty() {
            String::new()
        } else {
            format!(" [{}]", words.join("; "))
        }
    }
}

/// An app to refresh and watch after an action (a revert pushed to the
/// repository it deploys from).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Follow {
    pub target: Target,
    /// Its live revision before the action: following ends when it runs
    /// another one, synced and healthy.
    pub from_revision: Option<String>,
    /// Give up following after this long (the action itself is done).
    pub timeout: std::time::Duration,
}

/// What a started new run is, when the backend said (Airflow and Kubeflow
/// answer with the run; GitHub's dispatch answers with nothing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Started {
    /// The backend's word on it, as for any action.
    pub message: String,
    /// The new run's id as the source's runs carry it (`PipelineRun::id`).
    pub run: Option<String>,
}

/// How an action ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    /// The backend accepted and did it.
    Done(String),
    /// The backend refused or failed; why.
    Failed(String),
    /// We lost track (connection dropped, timed out): it may or may not have happened.
    Unknown(String),
}

impl Outcome {
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Done(_) => "done",
            Outcome::Failed(_) => "failed",
            Outcome::Unknown(_) => "unknown",
        }
    }

    pub fn detail(&self) -> &str {
        match self {
            Outcome::Done(s) | Outcome::Failed(s) | Outcome::Unknown(s) => s,
        }
    }
}
