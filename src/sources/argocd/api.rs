//! Argo CD's REST shapes (only the fields opsdeck reads; everything is
//! optional because `fields=` selections and older servers leave parts out)
//! and their mapping into an app; `detail.rs` maps the detail view's answers.

use serde::Deserialize;

use crate::model::{
    Deployment, GitOpsApp, Health, Operation, OperationPhase, ResourceRef, SyncStatus, Timestamp,
};

/// The list selection: what the table and the headless status need.
pub const LIST_FIELDS: &[&str] = &[
    "metadata.resourceVersion",
    "items.metadata.name",
    "items.metadata.namespace",
    "items.spec",
    "items.status.sync.status",
    "items.status.sync.revision",
    "items.status.health",
    "items.status.operationState.phase",
    "items.status.operationState.startedAt",
    "items.status.operationState.finishedAt",
    "items.status.operationState.message",
    "items.status.operationState.syncResult.revision",
    "items.status.resources",
    "items.status.reconciledAt",
    "items.status.conditions",
    "items.status.history",
    "items.status.summary.images",
];

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ApplicationList {
    pub metadata: ListMeta,
    pub items: Option<Vec<Application>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ListMeta {
    pub resource_version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Application {
    pub metadata: ObjectMeta,
    pub spec: AppSpec,
    pub status: AppStatus,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ObjectMeta {
    pub name: String,
    pub namespace: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AppSpec {
    pub project: Option<String>,
    pub source: Option<AppSource>,
    pub sources: Option<Vec<AppSource>>,
    pub destination: Destination,
    pub sync_policy: Option<SyncPolicy>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AppSource {
    #[serde(rename = "repoURL")]
    pub repo_url: Option<String>,
    pub path: Option<String>,
    pub target_revision: Option<String>,
    pub chart: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Destination {
    pub server: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SyncPolicy {
    /// Present (even `{}`) means auto-sync is on.
    pub automated: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AppStatus {
    pub sync: SyncState,
    pub health: HealthState,
    pub operation_state: Option<OperationState>,
    pub resources: Vec<ResourceStatus>,
    pub reconciled_at: Option<String>,
    pub conditions: Vec<Condition>,
    pub history: Vec<History>,
    /// `status.summary.images`: the images the app's workloads run.
    pub summary: Summary,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Summary {
    pub images: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SyncState {
    pub status: Option<String>,
    pub revision: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HealthState {
    pub status: Option<String>,
    pub message: Option<String>,
    /// When the health last changed (Argo CD 2.14+).
    pub last_transition_time: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OperationState {
    pub phase: Option<String>,
    pub message: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub sync_result: Option<SyncResult>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SyncResult {
    pub revision: Option<String>,
    pub resources: Vec<SyncResourceResult>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SyncResourceResult {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub status: String,
    pub message: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ResourceStatus {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub status: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Condition {
    #[serde(rename = "type")]
    pub kind: String,
    pub message: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct History {
    /// int64: grpc-gateway writes it as a number or a string.
    pub id: serde_json::Value,
    pub revision: Option<String>,
    pub revisions: Vec<String>,
    /// When the sync finished.
    pub deployed_at: Option<String>,
    /// When the sync started (copied from `operationState.startedAt`).
    pub deploy_started_at: Option<String>,
    /// Who started the sync (Argo CD 2.11 and later).
    pub initiated_by: Option<InitiatedBy>,
}

/// `initiatedBy` of a history entry or an operation.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InitiatedBy {
    pub username: Option<String>,
    pub automated: bool,
}

impl InitiatedBy {
    /// The person who started it, or "automated sync" for the controller.
    pub fn who(&self) -> Option<String> {
        match self.username.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() => Some(name.to_string()),
            _ => self.automated.then(|| "automated sync".to_string()),
        }
    }
}

/// One line of `/api/v1/stream/applications`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StreamLine {
    pub result: Option<WatchEvent>,
    pub error: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WatchEvent {
    #[serde(rename = "type")]
    pub kind: String,
    pub application: Application,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RevisionMetadata {
    pub author: Option<String>,
    pub date: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ResourceTree {
    pub nodes: Vec<Node>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Node {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub parent_refs: Vec<ParentRef>,
    pub health: Option<HealthState>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ParentRef {
    pub uid: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ManagedResources {
    pub items: Vec<ManagedResource>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ManagedResource {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub modified: bool,
    /// JSON text of the object (empty or "null" when absent).
    pub normalized_live_state: Option<String>,
    pub target_state: Option<String>,
}

pub(super) fn time(s: &Option<String>) -> Option<Timestamp> {
    s.as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
}

pub fn sync_status(s: Option<&str>) -> SyncStatus {
    match s {
        Some("Synced") => SyncStatus::Synced,
        Some("OutOfSync") => SyncStatus::OutOfSync,
        _ => SyncStatus::Unknown,
    }
}

pub fn health(s: Option<&str>) -> Health {
    match s {
        Some("Healthy") => Health::Healthy,
        Some("Progressing") => Health::Progressing,
        Some("Degraded") => Health::Degraded,
        Some("Suspended") => Health::Suspended,
        Some("Missing") => Health::Missing,
        _ => Health::Unknown,
    }
}

fn phase(s: &str) -> Option<OperationPhase> {
    Some(match s {
        "Running" => OperationPhase::Running,
        "Succeeded" => OperationPhase::Succeeded,
        "Failed" => OperationPhase::Failed,
        "Error" => OperationPhase::Error,
        "Terminating" => OperationPhase::Terminating,
        _ => return None,
    })
}

fn history_id(id: &serde_json::Value) -> String {
    match id {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An Argo CD Application as a domain app of source `source`.
pub fn to_app(source: &str, app: Application) -> GitOpsApp {
    let Application {
        metadata,
        spec,
        status,
    } = app;
    let first_source = spec
        .source
        .or_else(|| spec.sources.and_then(|s| s.into_iter().next()))
        .unwrap_or_default();
    let mut history: Vec<Deployment> = status
        .history
        .iter()
        .map(|h| Deployment {
            id: history_id(&h.id),
            revision: h
                .revision
                .clone()
                .or_else(|| h.revisions.first().cloned())
                .unwrap_or_default(),
            deployed_at: time(&h.deployed_at),
            started_at: time(&h.deploy_started_at),
            // Argo CD writes an entry only after a successful sync.
            failed: false,
            author: h.initiated_by.as_ref().and_then(InitiatedBy::who),
            message: None,
        })
        .collect();
    // Argo CD keeps the oldest first; the domain wants the newest first.
    history.reverse();
    let sync = sync_status(status.sync.status.as_deref());
    let revision = history
        .first()
        .map(|d| d.revision.clone())
        .or_else(|| (sync == SyncStatus::Synced).then(|| status.sync.revision.clone())?);
    let health_message = status.health.message.clone().or_else(|| {
        status
            .conditions
            .iter()
            .find(|c| c.kind.ends_with("Error"))
            .map(|c| format!("{}: {}", c.kind, c.message))
    });
    let last_operation = status.operation_state.as_ref().and_then(|op| {
        Some(Operation {
            kind: "sync".into(),
            phase: phase(op.phase.as_deref()?)?,
            message: op.message.clone().unwrap_or_default(),
            revision: op.sync_result.as_ref().and_then(|r| r.revision.clone()),
            started_at: time(&op.started_at),
            finished_at: time(&op.finished_at),
        })
    });
    let last_change = last_operation
        .as_ref()
        .and_then(|o| o.finished_at)
        .or_else(|| history.first().and_then(|d| d.deployed_at));
    let out_of_sync = status
        .resources
        .iter()
        .filter(|r| r.status.as_deref() == Some("OutOfSync"))
        .map(|r| ResourceRef {
            kind: r.kind.clone(),
            namespace: r.namespace.clone(),
            name: r.name.clone(),
        })
        .collect();
    GitOpsApp {
        health_since: time(&status.health.last_transition_time),
        error: None,
        plan: None,
        source: source.to_string(),
        name: metadata.name,
        namespace: spec.destination.namespace.unwrap_or_default(),
        cluster: spec
            .destination
            .name
            .or(spec.destination.server)
            .unwrap_or_default(),
        sync,
        health: health(status.health.status.as_deref()),
        health_message,
        revision,
        target_revision: status.sync.revision.or(first_source.target_revision),
        out_of_sync,
        auto_sync: spec.sync_policy.is_some_and(|p| p.automated.is_some()),
        suspended: false,
        last_operation,
        history,
        last_change,
        repo_url: first_source.repo_url,
        path: first_source.path.or(first_source.chart),
        production: false,
        repo: None,
        linked: None,
        pending: None,
        revision_commit: None,
        images: status
            .summary
            .images
            .iter()
            .map(|i| crate::model::AppImage::new(i))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deploy_names_who_started_it_or_the_automated_sync() {
        let app: Application = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "payments", "namespace": "argocd"},
            "status": {"history": [
                {"id": 1, "revision": "a1", "deployedAt": "2026-12-01T10:00:00Z",
                 "initiatedBy": {"automated": true}},
                {"id": 2, "revision": "b2", "deployedAt": "2026-12-01T11:00:00Z",
                 "initiatedBy": {"username": "alice"}},
                {"id": 3, "revision": "c3", "deployedAt": "2026-12-01T12:00:00Z"}
            ]}
        }))
        .expect("an application");
        let app = to_app("argocd", app);
        let who: Vec<Option<&str>> = app.history.iter().map(|d| d.author.as_deref()).collect();
        assert_eq!(who, [None, Some("alice"), Some("automated sync")]);
    }
}
