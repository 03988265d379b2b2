//! Every Ready/Plan/Apply reason the tofu-controller sets (reference:
//! shared/api-specs/terraform/tofu-controller.md §4.1) mapped to sync and
//! health, and what the row says.

use serde_json::{Value, json};

use super::*;

const APPLIED: &str = "main@sha1:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const PLANNED: &str = "main@sha1:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const PLAN: &str = "plan-main-bbbbbbbbbb";

fn condition(kind: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({"type": kind, "status": status, "reason": reason, "message": message,
           "lastTransitionTime": "2026-11-22T09:30:00Z"})
}

/// One object: applied at APPLIED, planned at `planned`, `pending` waiting.
fn object(spec: Value, planned: &str, pending: &str, conditions: Vec<Value>) -> KubeObject {
    serde_json::from_value(json!({
        "metadata": {"name": "vpc", "namespace": "infra",
                     "labels": {OWNER_NAME: "infra", OWNER_NAMESPACE: "flux-system"}},
        "spec": spec,
        "status": {
            "lastAppliedRevision": APPLIED,
            "lastPlannedRevision": planned,
            "lastDriftDetectedAt": "2026-11-22T09:25:00Z",
            "plan": {"pending": pending},
            "conditions": conditions
        }
    }))
    .expect("object")
}

fn app(o: &KubeObject) -> GitOpsApp {
    to_apps("tofu", "prod", &[o]).remove(0)
}

#[test]
fn every_ready_reason_maps_to_sync_and_health() {
    use Health::{Degraded, Healthy, Progressing};
    use SyncStatus::{OutOfSync, Synced, Unknown};
    // (Ready status, reason, a plan pending, sync, health)
    let table = [
        ("True", "TerraformPlannedNoChanges", false, Synced, Healthy),
        ("True", "NoDrift", false, Synced, Healthy),
        ("True", "TerraformOutputsWritten", false, Unknown, Healthy),
        ("True", "TerraformAppliedSucceed", false, Unknown, Healthy),
        (
            "Unknown",
            "TerraformPlannedWithChanges",
            true,
            OutOfSync,
            Healthy,
        ),
        (
            "Unknown",
            "TerraformAppliedSucceed",
            false,
            Unknown,
            Progressing,
        ),
        ("Unknown", "Progressing", false, Unknown, Progressing),
        ("False", "DriftDetected", false, OutOfSync, Healthy),
        ("False", "ReplanRequested", false, Unknown, Progressing),
        ("False", "DriftDetectionFailed", false, Unknown, Degraded),
        ("False", "TFExecPlanFailed", false, Unknown, Degraded),
        ("False", "TFExecApplyFailed", false, Unknown, Degraded),
        ("False", "TFExecInitFailed", false, Unknown, Degraded),
        ("False", "TFExecNewFailed", false, Unknown, Degraded),
        ("False", "TFExecOutputFailed", false, Unknown, Degraded),
        ("False", "TFExecDestroyFailed", false, Unknown, Degraded),
        ("False", "OutputsWritingFailed", false, Unknown, Degraded),
        (
            "False",
            "PostPlanningWebhookFailed",
            false,
            Unknown,
            Degraded,
        ),
        (
            "False",
            "TemplateGenerationFailed",
            false,
            Unknown,
            Degraded,
        ),
        ("False", "VarsGenerationFailed", false, Unknown, Degraded),
        ("False", "SelectWorkspaceFailed", false, Unknown, Degraded),
        ("False", "ReconciliationFailed", false, Unknown, Degraded),
        ("False", "HealthChecksFailed", false, Unknown, Degraded),
        ("False", "ArtifactFailed", false, Unknown, Degraded),
        ("False", "AccessDenied", false, Unknown, Degraded),
        ("False", "DependencyNotReady", false, Unknown, Degraded),
        (
            "False",
            "DeletionBlockedByDependantsReason",
            false,
            Unknown,
            Degraded,
        ),
        ("False", "LockHeld", false, Unknown, Degraded),
    ];
    for (status, reason, pending, sync, health) in table {
        let o = object(
            json!({}),
            PLANNED,
            if pending { PLAN } else { "" },
            vec![condition("Ready", status, reason, "words")],
        );
        let a = app(&o);
        assert_eq!(
            (a.sync, a.health),
            (sync, health),
            "Ready={status}/{reason}"
        );
        if status != "True" {
            let message = a.health_message.unwrap_or_default();
            assert!(
                message.contains(&format!("{reason}: words")),
                "{reason}: {message}"
            );
        }
    }
}

#[test]
fn applied_equal_to_planned_is_synced_and_a_plan_without_changes_is_nothing_to_do() {
    let o = object(
        json!({}),
        APPLIED,
        "",
        vec![condition(
            "Ready",
            "True",
            "TerraformAppliedSucceed",
            "Applied",
        )],
    );
    let a = app(&o);
    assert_eq!((a.sync, a.health), (SyncStatus::Synced, Health::Healthy));
    assert_eq!(a.revision.as_deref(), Some(&APPLIED[10..]));

    // Plan=False/TerraformPlannedNoChanges: nothing to do, not a failure.
    let o = object(
        json!({}),
        PLANNED,
        "",
        vec![
            condition(
                "Ready",
                "True",
                "TerraformPlannedNoChanges",
                "Plan no changes",
            ),
            condition(
                "Plan",
                "False",
                "TerraformPlannedNoChanges",
                "Plan no changes",
            ),
        ],
    );
    let a = app(&o);
    assert_eq!((a.sync, a.health), (SyncStatus::Synced, Health::Healthy));
    assert_eq!(
        a.health_message.as_deref(),
        Some("nothing to do: the last plan had no changes")
    );
    let op = a.last_operation.expect("the plan");
    assert_eq!(
        (op.kind.as_str(), op.phase),
        ("plan", OperationPhase::Succeeded)
    );
}

#[test]
fn a_pending_plan_awaits_approval_with_its_full_id_and_owner() {
    let o = object(
        json!({"approvePlan": ""}),
        PLANNED,
        PLAN,
        vec![
            condition(
                "Ready",
                "Unknown",
                "TerraformPlannedWithChanges",
                "Plan generated: set approvePlan: \"plan-main-bbbbbbbbbb\" to approve this plan.",
            ),
            condition(
                "Plan",
                "True",
                "TerraformPlannedWithChanges",
                "Plan generated",
            ),
        ],
    );
    let a = app(&o);
    assert_eq!(a.sync, SyncStatus::OutOfSync);
    assert!(a.needs_attention());
    assert!(!a.auto_sync);
    let message = a.health_message.unwrap_or_default();
    assert!(
        message.starts_with(
            "awaiting approval: plan plan-main-bbbbbbbbbb of bbbbbbb (approvePlan is manual)"
        ),
        "{message}"
    );
    assert_eq!(
        a.plan,
        Some(PendingPlan {
            id: PLAN.into(),
            namespace: "infra".into(),
            name: "vpc".into(),
            owner: Some("flux-system/infra".into()),
        })
    );
    assert_eq!(a.target_revision.as_deref(), Some(&PLANNED[10..]));
    let op = a.last_operation.expect("the plan");
    assert_eq!(op.kind, format!("plan {PLAN}"));

    // Auto mode applies it by itself: moving, not waiting.
    let auto = object(
        json!({"approvePlan": "auto"}),
        PLANNED,
        PLAN,
        vec![condition(
            "Ready",
            "Unknown",
            "TerraformPlannedWithChanges",
            "Plan generated",
        )],
    );
    let a = app(&auto);
    assert_eq!((a.health, a.auto_sync), (Health::Progressing, true));
    assert!(
        a.health_message
            .unwrap_or_default()
            .contains("approvePlan is auto: applying")
    );
}

#[test]
fn drift_says_when_and_a_failed_apply_is_degraded() {
    let plan_text =
        "Terraform detected the following changes:\n\n  ~ resource \"aws_sg\" \"web\" {\n  }\n";
    let o = object(
        json!({}),
        APPLIED,
        "",
        vec![condition("Ready", "False", "DriftDetected", plan_text)],
    );
    let a = app(&o);
    assert_eq!((a.sync, a.health), (SyncStatus::OutOfSync, Health::Healthy));
    let message = a.health_message.unwrap_or_default();
    assert!(
        message.contains("drift detected at 2026-11-22T09:25:00Z"),
        "{message}"
    );
    assert!(
        message.contains("DriftDetected: Terraform detected the following changes: (+2 more lines"),
        "{message}"
    );

    let o = object(
        json!({}),
        PLANNED,
        "",
        vec![
            condition("Ready", "Unknown", "Progressing", "Applying"),
            condition(
                "Apply",
                "False",
                "TerraformAppliedFail",
                "Error: quota exceeded",
            ),
        ],
    );
    let a = app(&o);
    assert_eq!(a.health, Health::Degraded);
    assert!(
        a.health_message
            .unwrap_or_default()
            .contains("Apply TerraformAppliedFail: Error: quota exceeded")
    );
    let op = a.last_operation.expect("the apply");
    assert_eq!(op.phase, OperationPhase::Failed);
}

#[test]
fn suspended_and_unreadable_objects_say_so() {
    let o = object(
        json!({"suspend": true}),
        APPLIED,
        "",
        vec![condition("Ready", "True", "TerraformAppliedSucceed", "ok")],
    );
    let a = app(&o);
    assert_eq!((a.health, a.suspended), (Health::Suspended, true));

    let bad: KubeObject = serde_json::from_value(json!({
        "metadata": {"name": "db", "namespace": "infra"},
        "status": {"conditions": "not a list"}
    }))
    .expect("object");
    let good = object(json!({}), APPLIED, "", vec![]);
    let apps = to_apps("tofu", "prod", &[&bad, &good]);
    assert_eq!(apps.len(), 2);
    assert_eq!(apps[0].name, "infra/db");
    assert!(
        apps[0]
            .health_message
            .as_deref()
            .is_some_and(|m| m.starts_with("cannot read this Terraform: ")),
        "{:?}",
        apps[0].health_message
    );
    assert_eq!(apps[1].name, "infra/vpc");
}
