//! A Flux object's `status.history` as deploy history, newest first:
//! Kustomization v1 snapshots (kustomize-controller 1.7 / Flux 2.7: one
//! entry per rendered manifests digest and outcome, the source revision in
//! its metadata) and HelmRelease v2 snapshots (one per Helm release
//! version). An entry that cannot be read is left out, not the object.

use serde::Deserialize;

use super::map::{FluxKind, commit_of};
use crate::model::{Deployment, Timestamp};

/// One Kustomization `status.history[]` entry (`meta.History` snapshot).
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct KustomizationSnapshot {
    /// Checksum of the built manifests (not the Git revision).
    digest: String,
    first_reconciled: Option<String>,
    last_reconciled: Option<String>,
    /// `ReconciliationSucceeded`, `ReconciliationFailed`, `PruneFailed`, `HealthCheckFailed`.
    last_reconciled_status: String,
    total_reconciliations: i64,
    /// `revision` (the source artifact's), and `originRevision` when set.
    metadata: std::collections::BTreeMap<String, String>,
}

/// One HelmRelease `status.history[]` entry.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct HelmSnapshot {
    version: serde_json::Value,
    chart_name: String,
    chart_version: String,
    app_version: Option<String>,
    status: String,
    last_deployed: Option<String>,
}

fn time(s: Option<&str>) -> Option<Timestamp> {
    s.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// The deploy history of an object of `kind` from its `status.history`
/// (already newest first, as both controllers keep it).
pub fn deployments(kind: FluxKind, history: &[serde_json::Value]) -> Vec<Deployment> {
    history
        .iter()
        .filter_map(|entry| match kind {
            FluxKind::Kustomization => serde_json::from_value(entry.clone())
                .ok()
                .and_then(kustomization),
            FluxKind::HelmRelease => serde_json::from_value(entry.clone()).ok().map(helm),
            _ => None,
        })
        .collect()
}

/// A Kustomization snapshot: deployed when its manifests were first
/// reconciled. Flux keeps one entry per (digest, outcome) and overwrites
/// its metadata on a repeat, so its revision is the newest commit that
/// rendered these manifests. No start time is recorded.
fn kustomization(s: KustomizationSnapshot) -> Option<Deployment> {
    let revision = s
        .metadata
        .get("originRevision")
        .filter(|r| r.contains("sha1:"))
        .or_else(|| s.metadata.get("revision"))?;
    let failed = s.last_reconciled_status != "ReconciliationSucceeded";
    let short_digest = s
        .digest
        .split_once(':')
        .map_or(s.digest.as_str(), |(_, hex)| hex)
        .get(..12)
        .unwrap_or(&s.digest);
    Some(Deployment {
        id: s.digest.clone(),
        revision: commit_of(revision),
        deployed_at: time(s.first_reconciled.as_deref()),
        started_at: None,
        failed,
        author: None,
        message: Some(format!(
            "manifests {short_digest}: {} ({} reconciliation{}, last {})",
            s.last_reconciled_status,
            s.total_reconciliations,
            if s.total_reconciliations == 1 {
                ""
            } else {
                "s"
            },
            s.last_reconciled.as_deref().unwrap_or("unknown")
        )),
    })
}

/// A Helm release snapshot: deployed at its `lastDeployed` (Helm's
/// `firstDeployed` is the release's first install, not this version's).
fn helm(h: HelmSnapshot) -> Deployment {
    Deployment {
        id: match &h.version {
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::String(s) => s.clone(),
            _ => String::new(),
        },
        revision: h.chart_version.clone(),
        deployed_at: time(h.last_deployed.as_deref()),
        started_at: None,
        failed: h.status == "failed",
        author: None,
        message: Some(format!(
            "{} {}{} ({})",
            h.chart_name,
            h.chart_version,
            h.app_version
                .as_deref()
                .map(|v| format!(", app {v}"))
                .unwrap_or_default(),
            h.status
        )),
    }
}

/// The chart version a HelmRelease runs: its newest snapshot's.
pub fn helm_chart_version(history: &[serde_json::Value]) -> Option<String> {
    history
        .first()
        .and_then(|h| serde_json::from_value::<HelmSnapshot>(h.clone()).ok())
        .map(|h| h.chart_version)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const SHA: &str = "7b972aa41c7e0f3b2d1e4f5a6b7c8d9e0f1a2b3c";

    #[test]
    fn kustomization_snapshots_are_deploys_of_their_source_revision() {
        let history = [
            json!({"digest": "sha256:0123456789abcdef0123", "firstReconciled": "2026-11-22T09:00:00Z",
                   "lastReconciled": "2026-11-22T09:30:00Z", "lastReconciledDuration": "2.8s",
                   "lastReconciledStatus": "HealthCheckFailed", "totalReconciliations": 4,
                   "metadata": {"revision": format!("main@sha1:{SHA}")}}),
            json!({"digest": "sha256:fedc", "firstReconciled": "2026-11-21T09:00:00Z",
                   "lastReconciled": "2026-11-21T09:00:00Z", "lastReconciledStatus": "ReconciliationSucceeded",
                   "totalReconciliations": 1,
                   "metadata": {"revision": "v1@sha256:beef", "originRevision": format!("main@sha1:{SHA}")}}),
            json!({"digest": 7}),
            json!({"digest": "sha256:aa", "lastReconciledStatus": "ReconciliationSucceeded"}),
        ];
        let d = deployments(FluxKind::Kustomization, &history);
        assert_eq!(
            d.len(),
            2,
            "an unreadable entry and one without revision are left out"
        );
        assert_eq!(d[0].revision, SHA);
        assert!(d[0].failed);
        assert_eq!(d[0].deployed_at, time(Some("2026-11-22T09:00:00Z")));
        assert_eq!(d[0].started_at, None);
        assert_eq!(
            d[0].message.as_deref(),
            Some(
                "manifests 0123456789ab: HealthCheckFailed (4 reconciliations, last 2026-11-22T09:30:00Z)"
            )
        );
        // An OCI source: the origin (Git) revision links to the commit.
        assert_eq!(d[1].revision, SHA);
        assert!(!d[1].failed);
    }

    #[test]
    fn helm_snapshots_keep_their_version_and_status() {
        let history = [
            json!({"version": 3, "chartName": "podinfo", "chartVersion": "6.5.5", "status": "failed",
                   "lastDeployed": "2026-11-22T09:00:00Z", "firstDeployed": "2026-11-01T09:00:00Z"}),
            json!({"version": "2", "chartName": "podinfo", "chartVersion": "6.5.4", "appVersion": "6.5.4",
                   "status": "superseded"}),
        ];
        let d = deployments(FluxKind::HelmRelease, &history);
        assert_eq!(d[0].id, "3");
        assert!(d[0].failed);
        assert_eq!(d[0].deployed_at, time(Some("2026-11-22T09:00:00Z")));
        assert_eq!(d[1].id, "2");
        assert!(!d[1].failed);
        assert_eq!(
            d[1].message.as_deref(),
            Some("podinfo 6.5.4, app 6.5.4 (superseded)")
        );
        assert_eq!(helm_chart_version(&history).as_deref(), Some("6.5.5"));
    }
}
