//! GitOps applications: sync status, health, drift and deploy history.

use serde::{Deserialize, Serialize};

use super::Timestamp;

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Default,
    Serialize,
    Deserialize,
    strum::Display,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum SyncStatus {
    Synced,
    OutOfSync,
    #[default]
    Unknown,
}

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Default,
    Serialize,
    Deserialize,
    strum::Display,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Health {
    Healthy,
    Progressing,
    Degraded,
    Suspended,
    Missing,
    #[default]
    Unknown,
}

impl Health {
    /// Degraded or missing: something is broken, not merely moving.
    pub fn is_unhealthy(self) -> bool {
        matches!(self, Health::Degraded | Health::Missing)
    }
}

/// A Kubernetes object an app manages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::Display, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum OperationPhase {
    Running,
    Succeeded,
    Failed,
    Error,
    Terminating,
}

/// The last sync (or rollback) operation and how it ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Operation {
    /// What the operation did ("sync", "rollback to #41"…).
    pub kind: String,
    pub phase: OperationPhase,
    pub message: String,
    pub revision: Option<String>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

/// One entry of an app's deploy history.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Deployment {
    /// The id the backend rolls back to (Argo CD history id, Helm release version…).
    pub id: String,
    pub revision: String,
    /// When it finished (Argo CD `deployedAt`, Flux `firstReconciled`, Helm
    /// `lastDeployed`).
    pub deployed_at: Option<Timestamp>,
    /// When it started, when the backend records it (Argo CD
    /// `deployStartedAt`).
    pub started_at: Option<Timestamp>,
    /// The backend recorded it as failed (a Flux reconciliation that
    /// failed, a Helm release `failed`); Argo CD records only successes.
    pub failed: bool,
    pub author: Option<String>,
    pub message: Option<String>,
}

/// An Argo CD Application, Flux Kustomization or HelmRelease.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GitOpsApp {
    pub source: String,
    pub name: String,
    pub namespace: String,
    /// Destination cluster (name or server URL).
    pub cluster: String,
    pub sync: SyncStatus,
    pub health: Health,
    /// Why the app is not healthy, when the backend says.
    pub health_message: Option<String>,
    /// When the health last changed, as the backend recorded it (Argo CD's
    /// `health.lastTransitionTime`, a Flux Ready condition's
    /// `lastTransitionTime`); `None` when it does not say.
    pub health_since: Option<Timestamp>,
    /// The revision running in the cluster.
    pub revision: Option<String>,
    /// The revision the desired state asks for.
    pub target_revision: Option<String>,
    pub out_of_sync: Vec<ResourceRef>,
    pub auto_sync: bool,
    pub suspended: bool,
    pub last_operation: Option<Operation>,
    /// Newest first.
    pub history: Vec<Deployment>,
    /// When the live state last changed (sync finished, reconciled).
    pub last_change: Option<Timestamp>,
    /// The desired-state repository and path, when known (links to a git source).
    pub repo_url: Option<String>,
    pub path: Option<String>,
    /// The backend marks this app as production (its source may also be).
    pub production: bool,
    /// Set on apps of a desired-state repository (a `git` source).
    pub repo: Option<RepoInfo>,
    /// The app at the other end of a git link (Argo CD/Flux app ↔ repo app).
    pub linked: Option<super::Target>,
    /// Commits touching the app's path that the live revision is behind.
    pub pending: Option<u32>,
    /// Author and subject of the commit the app runs, when a linked
    /// repository knows it.
    pub revision_commit: Option<Commit>,
    /// The container images it runs (what a registry says about each is
    /// filled by linking).
    pub images: Vec<super::AppImage>,
    /// Why this app could not be read fully (its detail failed…), in the
    /// backend's words; a failed sync is a status, not an error.
    pub error: Option<String>,
    /// A Terraform object's plan waiting for approval (tofu), None otherwise.
    pub plan: Option<PendingPlan>,
}

/// A tofu-controller plan waiting for a person: what approving it writes
/// and where the object's manifest is looked for.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingPlan {
    /// The full plan id (`plan-main-b8e362c206`): what `spec.approvePlan`
    /// must say, exactly.
    pub id: String,
    /// The `Terraform` object: namespace and name (its manifest's
    /// `metadata`).
    pub namespace: String,
    pub name: String,
    /// The Flux Kustomization that applies it (`namespace/name`, from its
    /// `kustomize.toolkit.fluxcd.io/*` labels), when it has one.
    pub owner: Option<String>,
}

/// One commit of a desired-state repository.
#[derive(Clone, Debug, PartialEq)]
pub struct Commit {
    pub sha: String,
    pub author: String,
    pub time: Option<Timestamp>,
    pub subject: String,
    /// It changes something under the app's path.
    pub touches_app: bool,
}

/// One commit's change to an app's folder, as `git diff` lines.
#[derive(Clone, Debug, PartialEq)]
pub struct CommitDiff {
    pub sha: String,
    pub lines: Vec<String>,
}

/// What a desired-state repository says about one app's folder.
#[derive(Clone, Debug, PartialEq)]
pub struct RepoInfo {
    pub branch: String,
    pub head: String,
    /// The branch's first-parent history, newest first (bounded): how far
    /// behind a live revision is, and who wrote it.
    pub commits: Vec<Commit>,
    /// "direct" or "branch": where a revert is pushed.
    pub push: String,
    /// `link = "SOURCE/APP"` from the config, if given.
    pub link: Option<String>,
    /// Unified diffs of the newest commits touching the app's path (newest
    /// first, bounded), limited to that path.
    pub diffs: Vec<CommitDiff>,
    /// How long to follow the linked app after a revert.
    pub follow: std::time::Duration,
}

impl GitOpsApp {
    /// Out of sync, or degraded/missing.
    pub fn needs_attention(&self) -> bool {
        self.sync == SyncStatus::OutOfSync || self.health.is_unhealthy()
    }

    /// How much the app asks for attention (higher is worse).
    pub fn severity(&self) -> u8 {
        let health = match self.health {
            Health::Degraded | Health::Missing => 3,
            Health::Unknown => 1,
            _ => 0,
        };
        let sync = u8::from(self.sync == SyncStatus::OutOfSync) * 2;
        health.max(sync)
    }

    /// Fill history authors and messages from loaded revision metadata.
    pub fn apply_revisions(&mut self, revisions: &[RevisionInfo]) {
        for d in &mut self.history {
            if let Some(info) = revisions.iter().find(|r| r.revision == d.revision) {
                d.author = info.author.clone();
                d.message = info.message.clone();
            }
        }
    }

    /// "namespace" or "cluster/namespace".
    pub fn place(&self) -> String {
        if self.cluster.is_empty() {
            self.namespace.clone()
        } else {
            format!("{}/{}", self.cluster, self.namespace)
        }
    }
}

/// What an app's drill-down loads on demand (Argo CD): the result of its
/// last operation per resource, who wrote each deployed revision, its
/// resource tree and the diff of what is out of sync.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AppDetail {
    /// Per-resource results of the last sync operation.
    pub results: Vec<ResourceResult>,
    /// Author, date and message of deployed revisions, by revision.
    pub revisions: Vec<RevisionInfo>,
    /// The resource tree, parents before their children, with depth.
    pub tree: Vec<TreeNode>,
    /// One entry per modified resource: its unified diff, live → desired.
    pub diffs: Vec<ResourceDiff>,
    /// Parts that could not be loaded, in words (the rest is still shown).
    pub problems: Vec<String>,
}

/// How one resource fared in a sync.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceResult {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// "Synced", "SyncFailed", "Pruned"…
    pub status: String,
    pub message: String,
}

/// Who wrote a revision, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct RevisionInfo {
    pub revision: String,
    pub author: Option<String>,
    pub date: Option<Timestamp>,
    pub message: Option<String>,
}

/// One node of an app's resource tree.
#[derive(Clone, Debug, PartialEq)]
pub struct TreeNode {
    /// 0 for resources the app manages directly, +1 per owner level.
    pub depth: usize,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub health: Option<Health>,
    pub message: Option<String>,
}

/// One modified resource: a unified diff of its live state against the
/// desired state, both as YAML.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceDiff {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// Unified diff lines (`---`, `+++`, `@@`, ` `, `-`, `+`).
    pub lines: Vec<String>,
}
