//! Flux objects (Kustomization v1, HelmRelease v2, GitRepository and
//! OCIRepository v1) as domain apps. Each object is read on its own: one
//! that cannot be read becomes an app saying so, next to the good ones.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::model::{GitOpsApp, Health, SyncStatus, Timestamp};
use crate::sources::kube::KubeObject;

/// Which Flux kind an object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FluxKind {
    Kustomization,
    HelmRelease,
    GitRepository,
    OciRepository,
}

impl FluxKind {
    pub fn word(self) -> &'static str {
        match self {
            FluxKind::Kustomization => "Kustomization",
            FluxKind::HelmRelease => "HelmRelease",
            FluxKind::GitRepository => "GitRepository",
            FluxKind::OciRepository => "OCIRepository",
        }
    }

    pub fn from_word(kind: &str) -> Option<FluxKind> {
        Some(match kind {
            "Kustomization" => FluxKind::Kustomization,
            "HelmRelease" => FluxKind::HelmRelease,
            "GitRepository" => FluxKind::GitRepository,
            "OCIRepository" => FluxKind::OciRepository,
            _ => return None,
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    pub reason: String,
    pub message: String,
    pub last_transition_time: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SourceRef {
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
}

impl SourceRef {
    /// (kind, namespace, name), in `own_namespace` (the referring
    /// object's) unless it names another.
    pub fn located(self, own_namespace: &str) -> (String, String, String) {
        let namespace = self.namespace.unwrap_or_else(|| own_namespace.to_string());
        (self.kind, namespace, self.name)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct Spec {
    pub(super) suspend: bool,
    pub(super) source_ref: Option<SourceRef>,
    pub(super) chart_ref: Option<SourceRef>,
    pub(super) chart: Option<ChartTemplate>,
    pub(super) path: Option<String>,
    pub(super) target_namespace: Option<String>,
    pub(super) url: Option<String>,
    /// A Kustomization's image overrides.
    pub(super) images: Vec<super::images::KustomizeImage>,
    /// A HelmRelease's values.
    pub(super) values: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ChartTemplate {
    pub(super) spec: ChartSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct ChartSpec {
    pub(super) chart: Option<String>,
    pub(super) source_ref: Option<SourceRef>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct Status {
    pub(super) conditions: Vec<Condition>,
    pub(super) last_applied_revision: Option<String>,
    pub(super) last_attempted_revision: Option<String>,
    pub(super) inventory: Option<Inventory>,
    /// Kustomization or HelmRelease snapshots (`history.rs` reads them).
    pub(super) history: Vec<serde_json::Value>,
    pub(super) artifact: Option<Artifact>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Inventory {
    pub(super) entries: Vec<InventoryEntry>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct InventoryEntry {
    pub(super) id: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Artifact {
    revision: Option<String>,
}

/// The typed parts of one object.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Object {
    pub(super) spec: Spec,
    pub(super) status: Status,
}

/// One object as read, with its kind.
pub struct Entry<'a> {
    pub kind: FluxKind,
    pub object: &'a KubeObject,
}

pub(super) fn decode(object: &KubeObject) -> Result<Object, String> {
    if let Some(problem) = &object.problem {
        return Err(problem.clone());
    }
    serde_json::from_value(object.raw.clone()).map_err(|e| e.to_string())
}

fn time(s: Option<&str>) -> Option<Timestamp> {
    s.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// `main@sha1:abc…` → `abc…` (what a git source knows commits by); other
/// revisions (`1.2.3@sha256:…`, chart versions) as they are.
pub fn commit_of(revision: &str) -> String {
    match revision.rsplit_once("sha1:") {
        Some((_, sha)) => sha.to_string(),
        None => revision.to_string(),
    }
}

/// The key apps and sources are found by: kind, namespace, name.
pub type Key = (FluxKind, String, String);

/// What the sources (GitRepository/OCIRepository) say, by key.
struct SourceInfo {
    url: Option<String>,
    revision: Option<String>,
}

/// The Ready condition as health and a message.
fn readiness(conditions: &[Condition]) -> (Health, Option<String>) {
    match conditions.iter().find(|c| c.kind == "Ready") {
        Some(c) if c.status == "True" => (Health::Healthy, None),
        Some(c) if c.status == "False" => (
            Health::Degraded,
            Some(format!("{}: {}", c.reason, c.message)),
        ),
        Some(c) => (
            Health::Progressing,
            (!c.message.is_empty()).then(|| format!("{}: {}", c.reason, c.message)),
        ),
        None => (Health::Progressing, None),
    }
}

/// The app id: `namespace/name`, with the kind when two kinds share it.
pub fn app_id(kind: FluxKind, namespace: &str, name: &str, shared: bool) -> String {
    if shared && kind == FluxKind::HelmRelease {
        format!("{namespace}/{name} (HelmRelease)")
    } else {
        format!("{namespace}/{name}")
    }
}

/// Every Kustomization and HelmRelease as an app, sorted by id, each with
/// the key of the object it came from.
pub fn to_apps(source: &str, cluster: &str, entries: &[Entry<'_>]) -> Vec<(Key, GitOpsApp)> {
    let mut sources: BTreeMap<Key, SourceInfo> = BTreeMap::new();
    for e in entries {
        if !matches!(e.kind, FluxKind::GitRepository | FluxKind::OciRepository) {
            continue;
        }
        let Ok(object) = decode(e.object) else {
            continue;
        };
        sources.insert(
            (
                e.kind,
                e.object.namespace().to_string(),
                e.object.name().to_string(),
            ),
            SourceInfo {
                url: object.spec.url,
                revision: object.status.artifact.and_then(|a| a.revision),
            },
        );
    }
    let deployed: Vec<&Entry<'_>> = entries
        .iter()
        .filter(|e| matches!(e.kind, FluxKind::Kustomization | FluxKind::HelmRelease))
        .collect();
    let mut apps: Vec<(Key, GitOpsApp)> = deployed
        .iter()
        .map(|e| {
            let (ns, name) = (e.object.namespace(), e.object.name());
            let shared = deployed
                .iter()
                .any(|o| o.kind != e.kind && o.object.namespace() == ns && o.object.name() == name);
            let id = app_id(e.kind, ns, name, shared);
            let key = (e.kind, ns.to_string(), name.to_string());
            let app = match decode(e.object) {
                Ok(object) => to_app(source, cluster, e.kind, id, ns, object, &sources),
                Err(problem) => unreadable(source, cluster, e.kind, id, ns, &problem),
            };
            (key, app)
        })
        .collect();
    apps.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    apps
}

fn blank(source: &str, cluster: &str, id: String, namespace: &str) -> GitOpsApp {
    GitOpsApp {
        health_since: None,
        error: None,
        source: source.to_string(),
        name: id,
        namespace: namespace.to_string(),
        cluster: cluster.to_string(),
        sync: SyncStatus::Unknown,
        health: Health::Unknown,
        health_message: None,
        revision: None,
        target_revision: None,
        out_of_sync: Vec::new(),
        auto_sync: true,
        suspended: false,
        last_operation: None,
        history: Vec::new(),
        last_change: None,
        repo_url: None,
        path: None,
        production: false,
        repo: None,
        linked: None,
        pending: None,
        revision_commit: None,
        images: Vec::new(),
        plan: None,
    }
}

/// An object that could not be read: shown, with why, instead of dropped.
fn unreadable(
    source: &str,
    cluster: &str,
    kind: FluxKind,
    id: String,
    namespace: &str,
    problem: &str,
) -> GitOpsApp {
    tracing::warn!(source, kind = kind.word(), app = %id, %problem, "cannot read a Flux object");
    GitOpsApp {
        health_message: Some(format!("cannot read this {}: {problem}", kind.word())),
        ..blank(source, cluster, id, namespace)
    }
}

fn to_app(
    source: &str,
    cluster: &str,
    kind: FluxKind,
    id: String,
    namespace: &str,
    object: Object,
    sources: &BTreeMap<Key, SourceInfo>,
) -> GitOpsApp {
    let Object { spec, status } = object;
    let (mut health, mut health_message) = readiness(&status.conditions);
    let source_ref = match kind {
        FluxKind::HelmRelease => spec
            .chart_ref
            .or_else(|| spec.chart.as_ref().and_then(|c| c.spec.source_ref.clone())),
        _ => spec.source_ref,
    };
    let source_info = source_ref.as_ref().and_then(|r| {
        let k = FluxKind::from_word(&r.kind)?;
        let ns = r.namespace.clone().unwrap_or_else(|| namespace.to_string());
        sources.get(&(k, ns, r.name.clone()))
    });
    let wanted = source_info.and_then(|s| s.revision.clone());
    let history = super::history::deployments(kind, &status.history);
    let applied = match kind {
        // The release runs the chart version of its newest snapshot; an
        // OCI source's revision is `version@digest`.
        FluxKind::HelmRelease => super::history::helm_chart_version(&status.history),
        _ => status.last_applied_revision.clone(),
    };
    let sync = match (&applied, &wanted) {
        (Some(a), Some(w)) if a == w || w.split('@').next() == Some(a.as_str()) => {
            SyncStatus::Synced
        }
        (Some(_), Some(_)) => SyncStatus::OutOfSync,
        _ => SyncStatus::Unknown,
    };
    let mut sync = sync;
    if let Some(drift) = status
        .conditions
        .iter()
        .find(|c| c.kind == "Drifted" && c.status == "True")
    {
        sync = SyncStatus::OutOfSync;
        let words = format!("Drifted: {}", drift.message);
        health_message = Some(match health_message {
            Some(m) => format!("{m}; {words}"),
            None => words,
        });
    }
    if spec.suspend && health == Health::Healthy {
        health = Health::Suspended;
    }
    let ready_at = status
        .conditions
        .iter()
        .find(|c| c.kind == "Ready")
        .and_then(|c| time(c.last_transition_time.as_deref()));
    let (repo_url, path) = match (kind, source_ref.as_ref()) {
        (FluxKind::Kustomization, Some(r)) if r.kind == "GitRepository" => (
            source_info.and_then(|s| s.url.clone()),
            spec.path
                .as_deref()
                .map(|p| p.trim_start_matches("./").trim_matches('/').to_string()),
        ),
        _ => (None, None),
    };
    let images = match kind {
        FluxKind::Kustomization => super::images::kustomization(&spec.images),
        FluxKind::HelmRelease => super::images::helm_values(spec.values.as_ref()),
        _ => Vec::new(),
    };
    GitOpsApp {
        images,
        sync,
        health,
        health_message,
        revision: applied.as_deref().map(commit_of),
        target_revision: wanted
            .or(status.last_attempted_revision)
            .as_deref()
            .map(commit_of),
        auto_sync: !spec.suspend,
        suspended: spec.suspend,
        history,
        last_change: ready_at,
        // The Ready condition's own transition time: when health changed.
        health_since: ready_at,
        repo_url,
        path,
        namespace: spec
            .target_namespace
            .unwrap_or_else(|| namespace.to_string()),
        ..blank(source, cluster, id, namespace)
    }
}

pub use super::object::{inventory, is_suspended, ready, source_of};

#[cfg(test)]
mod tests {
    use super::*;

    fn object(raw: serde_json::Value) -> KubeObject {
        serde_json::from_value(raw).expect("object")
    }

    #[test]
    fn revisions_become_commits_only_when_they_name_one() {
        assert_eq!(commit_of("main@sha1:abc123"), "abc123");
        assert_eq!(commit_of("sha1:abc123"), "abc123");
        assert_eq!(commit_of("6.5.4@sha256:beef"), "6.5.4@sha256:beef");
        assert_eq!(commit_of("6.5.4"), "6.5.4");
    }

    #[test]
    fn inventory_ids_split_into_kind_namespace_and_name() {
        let o = object(serde_json::json!({
            "metadata": {"name": "web", "namespace": "flux-system"},
            "status": {"inventory": {"entries": [
                {"id": "web_web_apps_Deployment", "v": "v1"},
                {"id": "_web__Namespace", "v": "v1"},
                {"id": "not-an-id", "v": "v1"}
            ]}}
        }));
        let rows: Vec<(String, String, String)> = inventory(&o)
            .into_iter()
            .map(|n| (n.kind, n.namespace, n.name))
            .collect();
        assert_eq!(
            rows,
            [
                ("Deployment".into(), "web".into(), "web".into()),
                ("Namespace".into(), String::new(), "web".into())
            ]
        );
    }

    #[test]
    fn a_helm_release_sharing_a_kustomizations_name_says_its_kind() {
        let ks = object(serde_json::json!({"metadata": {"name": "podinfo", "namespace": "apps"}}));
        let hr = object(serde_json::json!({"metadata": {"name": "podinfo", "namespace": "apps"}}));
        let entries = [
            Entry {
                kind: FluxKind::Kustomization,
                object: &ks,
            },
            Entry {
                kind: FluxKind::HelmRelease,
                object: &hr,
            },
        ];
        let names: Vec<String> = to_apps("flux", "prod", &entries)
            .into_iter()
            .map(|(_, a)| a.name)
            .collect();
        assert_eq!(names, ["apps/podinfo", "apps/podinfo (HelmRelease)"]);
    }
}
