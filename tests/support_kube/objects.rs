//! Objects shaped per the CRDs in ../shared/api-specs (Flux Kustomization
//! v1, HelmRelease v2, GitRepository and OCIRepository v1; Argo CD
//! Application), with only the fields that matter to a test set.

use serde_json::{Value, json};

pub const REPO_URL: &str = "https://git.example.com/acme/fleet.git";
pub const SHA_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
pub const SHA_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

pub fn git_repository(ns: &str, name: &str, sha: &str) -> Value {
    json!({
        "kind": "GitRepository",
        "metadata": {"name": name, "namespace": ns, "generation": 1},
        "spec": {"url": REPO_URL, "interval": "1m", "ref": {"branch": "main"}},
        "status": {
            "observedGeneration": 1,
            "artifact": {
                "revision": format!("main@sha1:{sha}"),
                "path": format!("gitrepository/{ns}/{name}/{sha}.tar.gz"),
                "url": "http://source-controller/x.tar.gz",
                "digest": "sha256:0000",
                "lastUpdateTime": "2026-11-22T09:00:00Z"
            },
            "conditions": [ready("True", "Succeeded", &format!("stored artifact for revision 'main@sha1:{sha}'"))]
        }
    })
}

pub fn ready(status: &str, reason: &str, message: &str) -> Value {
    json!({
        "type": "Ready", "status": status, "reason": reason, "message": message,
        "lastTransitionTime": "2026-11-22T09:30:00Z", "observedGeneration": 1
    })
}

/// A Kustomization of `./apps/<name>` from GitRepository `fleet`, applied at `applied`.
pub fn kustomization(ns: &str, name: &str, applied: &str, ready_cond: Value) -> Value {
    json!({
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": ns, "generation": 1},
        "spec": {
            "interval": "10m", "path": format!("./apps/{name}"), "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": "fleet"},
            "targetNamespace": name
        },
        "status": {
            "observedGeneration": 1,
            "lastAppliedRevision": format!("main@sha1:{applied}"),
            "lastAttemptedRevision": format!("main@sha1:{applied}"),
            "conditions": [ready_cond],
            "inventory": {"entries": [
                {"id": format!("{name}_{name}_apps_Deployment"), "v": "v1"},
                {"id": format!("{name}_{name}__Service"), "v": "v1"},
                {"id": format!("_{name}__Namespace"), "v": "v1"}
            ]}
        }
    })
}

/// A HelmRelease of chart `podinfo` from OCIRepository `podinfo`, with two releases.
pub fn helm_release(ns: &str, name: &str) -> Value {
    json!({
        "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": ns, "generation": 2},
        "spec": {
            "interval": "5m", "releaseName": name,
            "chartRef": {"kind": "OCIRepository", "name": "podinfo"}
        },
        "status": {
            "observedGeneration": 2,
            "lastAttemptedRevision": "6.5.4",
            "conditions": [
                ready("True", "UpgradeSucceeded", "Helm upgrade succeeded for release podinfo/podinfo.v2 with chart podinfo@6.5.4"),
                {"type": "Drifted", "status": "True", "reason": "DriftDetected", "message": "Deployment/podinfo/podinfo changed: spec.replicas", "lastTransitionTime": "2026-11-22T09:40:00Z"}
            ],
            "history": [
                {"name": name, "namespace": ns, "version": 2, "chartName": "podinfo", "chartVersion": "6.5.4", "appVersion": "6.5.4",
                 "configDigest": "sha256:1", "digest": "sha256:2", "firstDeployed": "2026-11-20T10:00:00Z", "lastDeployed": "2026-11-22T09:00:00Z", "status": "deployed"},
                {"name": name, "namespace": ns, "version": 1, "chartName": "podinfo", "chartVersion": "6.5.3", "appVersion": "6.5.3",
                 "configDigest": "sha256:3", "digest": "sha256:4", "firstDeployed": "2026-11-20T10:00:00Z", "lastDeployed": "2026-11-20T10:00:00Z", "status": "superseded"}
            ]
        }
    })
}

pub fn oci_repository(ns: &str, name: &str, revision: &str) -> Value {
    json!({
        "kind": "OCIRepository",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"url": "oci://ghcr.io/stefanprodan/charts/podinfo", "interval": "5m", "ref": {"semver": ">=6.0.0"}},
        "status": {
            "artifact": {"revision": revision, "digest": "sha256:beef", "path": "x", "url": "x", "lastUpdateTime": "2026-11-22T09:00:00Z"},
            "conditions": [ready("True", "Succeeded", "stored artifact")]
        }
    })
}

/// An Argo CD Application (argoproj.io/v1alpha1), synced and healthy,
/// deployed twice, with auto-sync off.
pub fn application(ns: &str, name: &str) -> Value {
    json!({
        "kind": "Application",
        "metadata": {"name": name, "namespace": ns, "labels": {"team": "web"}},
        "spec": {
            "project": "default",
            "source": {"repoURL": REPO_URL, "path": format!("apps/{name}"), "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": name}
        },
        "status": {
            "sync": {"status": "Synced", "revision": SHA_B},
            "health": {"status": "Healthy"},
            "resources": [{"kind": "Deployment", "namespace": name, "name": name, "status": "Synced"}],
            "operationState": {
                "phase": "Succeeded", "message": "successfully synced (all tasks run)",
                "startedAt": "2026-11-22T10:00:00Z", "finishedAt": "2026-11-22T10:01:00Z",
                "operation": {"sync": {"revision": SHA_B}},
                "syncResult": {"revision": SHA_B}
            },
            "history": [
                {"id": 1, "revision": SHA_A, "deployedAt": "2026-11-21T09:00:00Z",
                 "source": {"repoURL": REPO_URL, "path": format!("apps/{name}"), "targetRevision": "main"}},
                {"id": 2, "revision": SHA_B, "deployedAt": "2026-11-22T10:01:00Z",
                 "source": {"repoURL": REPO_URL, "path": format!("apps/{name}"), "targetRevision": "main"}}
            ]
        }
    })
}

/// A Deployment (apps/v1) whose pod template runs `images`.
pub fn deployment(ns: &str, name: &str, images: &[&str]) -> Value {
    let containers: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(i, image)| json!({"name": format!("c{i}"), "image": image}))
        .collect();
    json!({
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"template": {"spec": {"containers": containers}}}
    })
}
