//! tofu-controller `Terraform` objects (infra.contrib.fluxcd.io/v1alpha2)
//! as GitOps apps. Sync: out of sync when drift was detected or a plan
//! waits; synced when the applied revision is the planned one (or the plan
//! found nothing to do). Health from the Ready condition: a failure reason
//! is degraded, a plan waiting for approval is not. Each object is read on
//! its own: one that cannot be read becomes an app saying so.

use serde::Deserialize;

use crate::model::{
    AWAITING_APPROVAL, GitOpsApp, Health, Operation, OperationPhase, PendingPlan, SyncStatus,
    Timestamp, short_rev,
};
use crate::sources::flux::map::{Condition, SourceRef, commit_of};
use crate::sources::kube::KubeObject;

/// The label kustomize-controller puts on what a Kustomization applies.
pub const OWNER_NAME: &str = "kustomize.toolkit.fluxcd.io/name";
pub const OWNER_NAMESPACE: &str = "kustomize.toolkit.fluxcd.io/namespace";

/// Ready=False reasons that are not a failure of the object.
const NOT_FAILURES: &[&str] = &["DriftDetected", "ReplanRequested"];

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Spec {
    /// "" manual, "auto", "disable" (drift detection only), or a plan id.
    pub approve_plan: String,
    pub suspend: bool,
    pub force: bool,
    pub plan_only: bool,
    pub disable_drift_detection: bool,
    /// Where its Terraform files come from (required by the CRD): a
    /// GitRepository, Bucket or OCIRepository, as Flux's objects name one.
    pub source_ref: Option<SourceRef>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Plan {
    pub pending: String,
    pub last_applied: String,
    pub is_drift_detection_plan: bool,
    pub is_destroy_plan: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Status {
    pub conditions: Vec<Condition>,
    pub last_applied_revision: Option<String>,
    pub last_attempted_revision: Option<String>,
    pub last_planned_revision: Option<String>,
    pub last_drift_detected_at: Option<String>,
    pub last_plan_at: Option<String>,
    pub plan: Plan,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Object {
    pub spec: Spec,
    pub status: Status,
}

impl Object {
    pub fn condition(&self, kind: &str) -> Option<&Condition> {
        self.status.conditions.iter().find(|c| c.kind == kind)
    }

    /// The plan id waiting for approval, if one does.
    pub fn pending(&self) -> Option<&str> {
        Some(self.status.plan.pending.as_str()).filter(|p| !p.is_empty())
    }

    /// How plans are approved, in words: `auto`, `manual`, `disable` or
    /// `approved <id>`.
    pub fn approve_mode(&self) -> String {
        match self.spec.approve_plan.as_str() {
            "" => "manual".into(),
            "auto" | "disable" => self.spec.approve_plan.clone(),
            id => format!("approved {id}"),
        }
    }

    /// Drift found by the last check (Ready=False/DriftDetected), or the
    /// pending plan came from drift.
    pub fn drifted(&self) -> bool {
        let ready_says = self
            .condition("Ready")
            .is_some_and(|c| c.status == "False" && c.reason == "DriftDetected");
        ready_says || (self.pending().is_some() && self.status.plan.is_drift_detection_plan)
    }

    /// The last plan or drift check found nothing to change
    /// (`Plan=False/TerraformPlannedNoChanges` is that, not a failure).
    pub fn nothing_to_do(&self) -> bool {
        let plan = self
            .condition("Plan")
            .is_some_and(|c| c.status == "False" && c.reason == "TerraformPlannedNoChanges");
        let ready = self.condition("Ready").is_some_and(|c| {
            c.status == "True"
                && matches!(c.reason.as_str(), "TerraformPlannedNoChanges" | "NoDrift")
        });
        (plan || ready) && self.pending().is_none()
    }

    /// Plans apply by themselves (`approvePlan: auto` or `force`).
    pub fn auto_applies(&self) -> bool {
        self.spec.approve_plan == "auto" || self.spec.force
    }
}

/// The source to reconcile before the object: (kind, namespace, name).
pub fn source_of(object: &KubeObject) -> Option<(String, String, String)> {
    Some(
        decode(object)
            .ok()?
            .spec
            .source_ref?
            .located(object.namespace()),
    )
}

pub fn decode(object: &KubeObject) -> Result<Object, String> {
    if let Some(problem) = &object.problem {
        return Err(problem.clone());
    }
    serde_json::from_value(object.raw.clone()).map_err(|e| e.to_string())
}

pub fn time(s: Option<&str>) -> Option<Timestamp> {
    s.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// The Kustomization that applied the object (`namespace/name`), from
/// kustomize-controller's labels.
pub fn owner(object: &KubeObject) -> Option<String> {
    let labels = object.meta.labels.as_ref()?;
    let name = labels.get(OWNER_NAME)?;
    let namespace = labels
        .get(OWNER_NAMESPACE)
        .map(String::as_str)
        .unwrap_or(object.namespace());
    Some(format!("{namespace}/{name}"))
}

/// The app id of an object: `namespace/name`.
pub fn app_id(object: &KubeObject) -> String {
    format!("{}/{}", object.namespace(), object.name())
}

/// Every object as an app, sorted by id.
pub fn to_apps(source: &str, cluster: &str, objects: &[&KubeObject]) -> Vec<GitOpsApp> {
    let mut apps: Vec<GitOpsApp> = objects
        .iter()
        .map(|o| {
            let blank = GitOpsApp {
                source: source.to_string(),
                name: app_id(o),
                namespace: o.namespace().to_string(),
                cluster: cluster.to_string(),
                ..GitOpsApp::default()
            };
            match decode(o) {
                Ok(object) => to_app(blank, o, &object),
                Err(problem) => {
                    tracing::warn!(source, app = %blank.name, %problem, "cannot read a Terraform object");
                    GitOpsApp {
                        health_message: Some(format!("cannot read this Terraform: {problem}")),
                        ..blank
                    }
                }
            }
        })
        .collect();
    apps.sort_by(|a, b| a.name.cmp(&b.name));
    apps
}

/// Health from the Ready condition (and a failed apply).
fn health(object: &Object) -> Health {
    let failed_apply = object
        .condition("Apply")
        .is_some_and(|c| c.status == "False" && c.reason == "TerraformAppliedFail");
    let health = match object.condition("Ready") {
        _ if failed_apply => Health::Degraded,
        Some(c) if c.status == "True" => Health::Healthy,
        Some(c) if c.status == "False" && c.reason == "DriftDetected" => Health::Healthy,
        Some(c) if c.status == "False" && !NOT_FAILURES.contains(&c.reason.as_str()) => {
            Health::Degraded
        }
        // Waiting for a person is not moving: the sync column says it.
        Some(c) if c.reason == "TerraformPlannedWithChanges" && object.pending().is_some() => {
            if object.auto_applies() {
                Health::Progressing
            } else {
                Health::Healthy
            }
        }
        _ => Health::Progressing,
    };
    if object.spec.suspend && health == Health::Healthy {
        Health::Suspended
    } else {
        health
    }
}

/// The first line of a condition's message (a DriftDetected message is
/// the whole plan's text), saying how much was left out.
fn first_line(message: &str) -> String {
    let mut lines = message.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap_or("").trim().to_string();
    match lines.count() {
        0 => first,
        n => format!("{first} (+{n} more lines of plan output: see the detail)"),
    }
}

/// What the row says beside its health: the wait for approval, drift, the
/// Ready condition's reason and message.
fn message(object: &Object, planned: Option<&str>) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(id) = object.pending() {
        let revision = planned
            .map(|r| format!(" of {}", short_rev(r)))
            .unwrap_or_default();
        if object.auto_applies() {
            parts.push(format!(
                "plan {id}{revision} pending; approvePlan is auto: applying"
            ));
        } else if object.spec.plan_only {
            parts.push(format!(
                "plan {id}{revision} (plan-only mode: never applied)"
            ));
        } else {
            parts.push(format!(
                "{AWAITING_APPROVAL}: plan {id}{revision} (approvePlan is {})",
                object.approve_mode()
            ));
        }
    }
    if object.drifted() {
        let when = object
            .status
            .last_drift_detected_at
            .as_deref()
            .map(|t| format!(" at {t}"))
            .unwrap_or_default();
        parts.push(format!("drift detected{when}"));
    }
    if object
        .condition("Plan")
        .is_some_and(|c| c.status == "False" && c.reason == "TerraformPlannedNoChanges")
        && object.pending().is_none()
    {
        parts.push("nothing to do: the last plan had no changes".into());
    }
    if let Some(c) = object.condition("Ready")
        && c.status != "True"
    {
        parts.push(format!("{}: {}", c.reason, first_line(&c.message)));
    }
    if let Some(c) = object.condition("Apply")
        && c.status == "False"
    {
        parts.push(format!("Apply {}: {}", c.reason, first_line(&c.message)));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The last thing the controller did: the plan waiting, else the apply,
/// else the plan.
fn last_operation(object: &Object, planned: Option<&str>) -> Option<Operation> {
    let phase = |c: &Condition| match c.status.as_str() {
        "True" => OperationPhase::Succeeded,
        "False" => OperationPhase::Failed,
        _ => OperationPhase::Running,
    };
    if let Some(id) = object.pending() {
        return Some(Operation {
            kind: format!("plan {id}"),
            phase: OperationPhase::Succeeded,
            message: if object.auto_applies() {
                "planned with changes; applying (approvePlan is auto)".into()
            } else {
                format!("planned with changes; {AWAITING_APPROVAL} (spec.approvePlan: {id})")
            },
            revision: planned.map(str::to_string),
            started_at: time(object.status.last_plan_at.as_deref()),
            finished_at: time(object.status.last_plan_at.as_deref()),
        });
    }
    let (kind, c) = match (object.condition("Apply"), object.condition("Plan")) {
        (Some(a), _) => ("apply", a),
        (None, Some(p)) => ("plan", p),
        (None, None) => return None,
    };
    let mut phase = phase(c);
    // A plan that found nothing says Plan=False: nothing to do, not a failure.
    if kind == "plan" && c.reason == "TerraformPlannedNoChanges" {
        phase = OperationPhase::Succeeded;
    }
    let revision = match kind {
        "apply" => object.status.last_applied_revision.as_deref(),
        _ => object.status.last_planned_revision.as_deref(),
    };
    Some(Operation {
        kind: if object.status.plan.last_applied.is_empty() || kind == "plan" {
            kind.to_string()
        } else {
            format!("apply {}", object.status.plan.last_applied)
        },
        phase,
        message: format!("{}: {}", c.reason, first_line(&c.message)),
        revision: revision.map(commit_of),
        started_at: None,
        finished_at: time(c.last_transition_time.as_deref()),
    })
}

fn to_app(blank: GitOpsApp, o: &KubeObject, object: &Object) -> GitOpsApp {
    let applied = object.status.last_applied_revision.as_deref();
    let planned = object
        .status
        .last_planned_revision
        .as_deref()
        .or(object.status.last_attempted_revision.as_deref());
    let sync = if object.drifted() || object.pending().is_some() {
        SyncStatus::OutOfSync
    } else if (applied.is_some() && applied == planned) || object.nothing_to_do() {
        SyncStatus::Synced
    } else {
        SyncStatus::Unknown
    };
    let ready_at = object
        .condition("Ready")
        .and_then(|c| time(c.last_transition_time.as_deref()));
    let plan = object.pending().map(|id| PendingPlan {
        id: id.to_string(),
        namespace: o.namespace().to_string(),
        name: o.name().to_string(),
        owner: owner(o),
    });
    GitOpsApp {
        sync,
        health: health(object),
        health_message: message(object, planned.map(commit_of).as_deref()),
        health_since: ready_at,
        last_change: ready_at,
        revision: applied.map(commit_of),
        target_revision: planned.map(commit_of),
        auto_sync: object.auto_applies(),
        suspended: object.spec.suspend,
        last_operation: last_operation(object, planned.map(commit_of).as_deref()),
        plan,
        ..blank
    }
}

#[cfg(test)]
#[path = "map_tests.rs"]
mod tests;
