//! Objects shaped per the CRDs in ../shared/api-specs (Flux Kustomization
//! v1, HelmRelease v2, GitRepository and OCIRepository v1; Argo CD
//! Application; tofu-controller Terraform v1alpha2), with only the fields
//! that matter to a test set.

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

/// The plan id the tofu-controller gives a revision `main@sha1:<sha>`.
pub fn plan_id(sha: &str) -> String {
    format!("plan-main-{}", &sha[..10])
}

/// One condition of a Terraform object.
pub fn condition(kind: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({
        "type": kind, "status": status, "reason": reason, "message": message,
        "lastTransitionTime": "2026-11-22T09:30:00Z", "observedGeneration": 1
    })
}

/// A tofu-controller Terraform object in `ns`, applied by Kustomization
/// `infra` (its labels), from GitRepository `fleet`, in manual approval
/// mode, with the given status (`applied`/`planned` SHAs, the pending plan
/// or "", and its conditions).
pub fn terraform(
    ns: &str,
    name: &str,
    applied: Option<&str>,
    planned: Option<&str>,
    pending: &str,
    conditions: Vec<Value>,
) -> Value {
    let revision = |sha: Option<&str>| {
        sha.map(|s| json!(format!("main@sha1:{s}")))
            .unwrap_or(Value::Null)
    };
    json!({
        "kind": "Terraform",
        "metadata": {
            "name": name, "namespace": ns, "generation": 1,
            "labels": {
                "kustomize.toolkit.fluxcd.io/name": "infra",
                "kustomize.toolkit.fluxcd.io/namespace": "flux-system"
            }
        },
        "spec": {
            "interval": "10m", "path": format!("./terraform/{name}"),
            "sourceRef": {"kind": "GitRepository", "name": "fleet", "namespace": "flux-system"}
        },
        "status": {
            "observedGeneration": 1,
            "lastAppliedRevision": revision(applied),
            "lastAttemptedRevision": revision(planned),
            "lastPlannedRevision": revision(planned),
            "lastPlanAt": "2026-11-22T09:29:00Z",
            "plan": {"pending": pending, "lastApplied": applied.map(plan_id).unwrap_or_default()},
            "conditions": conditions
        }
    })
}

/// What the tofu-controller does on a reconcile: a pending plan whose id
/// `spec.approvePlan` says (or with `approvePlan: auto`) is applied.
pub fn tofu_controller_reconciles(object: &mut Value) {
    let pending = object
        .pointer("/status/plan/pending")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let approve = object
        .pointer("/spec/approvePlan")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if pending.is_empty() || (approve != pending && approve != "auto") {
        return;
    }
    let planned = object["status"]["lastPlannedRevision"].clone();
    let status = &mut object["status"];
    status["lastAppliedRevision"] = planned.clone();
    status["plan"] = json!({"pending": "", "lastApplied": pending});
    let message = format!("Applied successfully: {}", planned.as_str().unwrap_or(""));
    status["conditions"] = json!([
        condition("Ready", "True", "TerraformAppliedSucceed", &message),
        condition("Apply", "True", "TerraformAppliedSucceed", &message),
        condition(
            "Plan",
            "True",
            "TerraformPlannedWithChanges",
            "Plan generated"
        )
    ]);
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
