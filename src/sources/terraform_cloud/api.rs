//! The JSON:API documents HCP Terraform / Terraform Enterprise answers, and
//! what a workspace or run means in opsdeck's terms (every documented run
//! status mapped; an unknown one is `unknown`, never a failed read).

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use crate::model::{RunStatus, Timestamp};

/// One JSON:API document: `data` (one resource or a list), what `include`
/// brought, and the page it is.
#[derive(Debug, Deserialize)]
pub struct Document<T> {
    pub data: T,
    #[serde(default)]
    pub included: Vec<Resource>,
    #[serde(default)]
    pub meta: Option<Meta>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Meta {
    #[serde(default)]
    pub pagination: Option<Pagination>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Pagination {
    #[serde(default)]
    pub next_page: Option<u64>,
}

/// One resource; attributes are decoded per type when used, so one odd
/// resource fails alone.
#[derive(Clone, Debug, Deserialize)]
pub struct Resource {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub attributes: Value,
    #[serde(default)]
    pub relationships: HashMap<String, Relationship>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Relationship {
    /// One `{id, type}`, a list of them, or null.
    #[serde(default)]
    pub data: Value,
}

impl Resource {
    /// The id a has-one relationship points at.
    pub fn related(&self, name: &str) -> Option<&str> {
        self.relationships.get(name)?.data.get("id")?.as_str()
    }

    /// Its attributes as `T`; the error names the resource.
    pub fn attributes<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        serde_json::from_value(self.attributes.clone())
            .map_err(|e| format!("{} {}: {e}", self.kind, self.id))
    }
}

/// The included resources by (type, id).
pub struct Included<'a>(HashMap<(&'a str, &'a str), &'a Resource>);

impl<'a> Included<'a> {
    pub fn new(resources: &'a [Resource]) -> Self {
        Included(
            resources
                .iter()
                .map(|r| ((r.kind.as_str(), r.id.as_str()), r))
                .collect(),
        )
    }

    pub fn get(&self, kind: &str, id: &str) -> Option<&'a Resource> {
        self.0.get(&(kind, id)).copied()
    }

    /// What `from`'s relationship `name` points at, if it was included.
    pub fn follow(&self, from: &Resource, name: &str, kind: &str) -> Option<&'a Resource> {
        from.related(name).and_then(|id| self.get(kind, id))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct WorkspaceAttributes {
    pub name: String,
    #[serde(default)]
    pub locked: bool,
    #[serde(default)]
    pub locked_reason: Option<String>,
    #[serde(default)]
    pub assessments_enabled: bool,
    #[serde(default)]
    pub auto_apply: bool,
    #[serde(default)]
    pub last_assessment_result_at: Option<Timestamp>,
    #[serde(default)]
    pub latest_change_at: Option<Timestamp>,
    #[serde(default)]
    pub tag_names: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RunAttributes {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub trigger_reason: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub auto_apply: bool,
    #[serde(default)]
    pub refresh_only: bool,
    #[serde(default)]
    pub plan_only: bool,
    #[serde(default)]
    pub is_destroy: bool,
    /// Reached states' times (`applied-at`, `errored-at`, …).
    #[serde(default)]
    pub status_timestamps: HashMap<String, Timestamp>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PlanAttributes {
    #[serde(default)]
    pub resource_additions: Option<u64>,
    #[serde(default)]
    pub resource_changes: Option<u64>,
    #[serde(default)]
    pub resource_destructions: Option<u64>,
    #[serde(default)]
    pub resource_imports: Option<u64>,
}

impl PlanAttributes {
    /// "+2 ~1 -0" as Terraform counts add, change, destroy.
    pub fn summary(&self) -> String {
        let n = |v: Option<u64>| v.map_or("?".into(), |v| v.to_string());
        let mut text = format!(
            "+{} ~{} -{}",
            n(self.resource_additions),
            n(self.resource_changes),
            n(self.resource_destructions)
        );
        if let Some(i) = self.resource_imports.filter(|i| *i > 0) {
            text.push_str(&format!(" import {i}"));
        }
        text
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct AssessmentAttributes {
    #[serde(default)]
    pub drifted: bool,
    #[serde(default)]
    pub succeeded: bool,
    /// The docs' name; the OpenAPI spec says `error-message`.
    #[serde(default)]
    pub error_msg: Option<String>,
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub resources_drifted: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct IngressAttributes {
    #[serde(default)]
    pub branch: Option<String>,
    #[serde(default)]
    pub commit_sha: Option<String>,
    #[serde(default)]
    pub commit_url: Option<String>,
    #[serde(default)]
    pub sender_username: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct NamedAttributes {
    #[serde(default)]
    pub name: Option<String>,
}

/// How a run stands for opsdeck: its status, and the backend's word when
/// it waits for a person or is not one opsdeck knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapped {
    pub status: RunStatus,
    pub awaiting: bool,
    pub known: bool,
}

/// Every documented run status (and those the API sends undocumented).
/// A run that stops for a person — planned, cost-estimated or policy-checked
/// without auto-apply, a saved plan, a policy or run-task override — is
/// `queued`, waiting for approval.
pub fn run_status(status: &str, auto_apply: bool) -> Mapped {
    let m = |status, awaiting| Mapped {
        status,
        awaiting,
        known: true,
    };
    match status {
        "pending" | "plan_queued" | "queuing" | "apply_queued" | "queuing_apply" => {
            m(RunStatus::Queued, false)
        }
        "fetching"
        | "fetching_completed"
        | "pre_plan_running"
        | "pre_plan_completed"
        | "planning"
        | "cost_estimating"
        | "policy_checking"
        | "post_plan_running"
        | "confirmed"
        | "pre_apply_running"
        | "pre_apply_completed"
        | "applying"
        | "post_apply_running"
        | "post_apply_completed"
        | "assessing" => m(RunStatus::Running, false),
        "planned"
        | "cost_estimated"
        | "policy_checked"
        | "tf_policy_checked"
        | "post_plan_completed" => {
            if auto_apply {
                m(RunStatus::Running, false)
            } else {
                m(RunStatus::Queued, true)
            }
        }
        "planned_and_saved"
        | "policy_override"
        | "tf_policy_override"
        | "pre_plan_awaiting_decision"
        | "post_plan_awaiting_decision" => m(RunStatus::Queued, true),
        "applied" | "planned_and_finished" | "assessed" => m(RunStatus::Success, false),
        "errored" | "policy_soft_failed" => m(RunStatus::Failure, false),
        "discarded" | "canceled" | "force_canceled" => m(RunStatus::Cancelled, false),
        _ => Mapped {
            status: RunStatus::Unknown,
            awaiting: false,
            known: false,
        },
    }
}

/// `raw_status` for a mapped run: the backend's word where it does not
/// map cleanly (unknown, or waiting for a person).
pub fn raw_status(status: &str, mapped: &Mapped) -> Option<String> {
    (mapped.awaiting || !mapped.known).then(|| status.to_string())
}

/// `awaiting_approval` for a mapped run: "planned: +1 ~0 -0" for one
/// waiting for a person.
pub fn awaiting(status: &str, mapped: &Mapped, plan: Option<&str>) -> Option<String> {
    mapped.awaiting.then(|| {
        let plan = plan.map(|p| format!(": {p}")).unwrap_or_default();
        format!("{status}{plan}")
    })
}

/// The backend's words from an error document: `{"errors":[{title,
/// detail, status}]}` (status a number or a string) or `{"errors":["…"]}`.
pub fn message(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Errors {
        errors: Vec<Value>,
    }
    if let Ok(doc) = serde_json::from_slice::<Errors>(body) {
        let words: Vec<String> = doc
            .errors
            .iter()
            .filter_map(|e| match e {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => {
                    let text = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
                    match (text("title"), text("detail")) {
                        (Some(t), Some(d)) if !d.is_empty() => Some(format!("{t}: {d}")),
                        (t, d) => t.or(d),
                    }
                }
                _ => None,
            })
            .collect();
        if !words.is_empty() {
            return words.join("; ");
        }
    }
    crate::sources::http::backend_words(body, &["message", "error"])
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCUMENTED: &[&str] = &[
        "pending",
        "fetching",
        "fetching_completed",
        "pre_plan_running",
        "pre_plan_completed",
        "queuing",
        "plan_queued",
        "planning",
        "planned",
        "cost_estimating",
        "cost_estimated",
        "policy_checking",
        "policy_override",
        "policy_soft_failed",
        "policy_checked",
        "confirmed",
        "post_plan_running",
        "post_plan_completed",
        "planned_and_finished",
        "planned_and_saved",
        "apply_queued",
        "applying",
        "applied",
        "discarded",
        "errored",
        "canceled",
        "force_canceled",
        "pre_apply_running",
        "pre_apply_completed",
        "queuing_apply",
        "post_apply_running",
        "post_apply_completed",
        "pre_plan_awaiting_decision",
        "post_plan_awaiting_decision",
        "tf_policy_checked",
        "tf_policy_override",
        "assessing",
        "assessed",
    ];

    #[test]
    fn every_documented_status_is_known_and_an_unknown_one_is_unknown() {
        for status in DOCUMENTED {
            for auto in [false, true] {
                let mapped = run_status(status, auto);
                assert!(mapped.known, "{status}");
                assert_ne!(mapped.status, RunStatus::Unknown, "{status}");
            }
        }
        let odd = run_status("quantum_superposition", false);
        assert_eq!(odd.status, RunStatus::Unknown);
        assert_eq!(
            raw_status("quantum_superposition", &odd).as_deref(),
            Some("quantum_superposition")
        );
    }

    #[test]
    fn a_run_waiting_for_a_person_is_queued_awaiting_approval() {
        let cases = [
            ("planned", false, RunStatus::Queued, true),
            ("planned", true, RunStatus::Running, false),
            ("cost_estimated", false, RunStatus::Queued, true),
            ("cost_estimated", true, RunStatus::Running, false),
            ("policy_checked", false, RunStatus::Queued, true),
            ("policy_override", true, RunStatus::Queued, true),
            ("planned_and_saved", true, RunStatus::Queued, true),
            ("applying", false, RunStatus::Running, false),
            ("errored", false, RunStatus::Failure, false),
            ("policy_soft_failed", false, RunStatus::Failure, false),
            ("applied", false, RunStatus::Success, false),
            ("planned_and_finished", false, RunStatus::Success, false),
            ("discarded", false, RunStatus::Cancelled, false),
            ("force_canceled", false, RunStatus::Cancelled, false),
            ("pending", false, RunStatus::Queued, false),
            ("apply_queued", false, RunStatus::Queued, false),
        ];
        for (status, auto, want, awaiting) in cases {
            let mapped = run_status(status, auto);
            assert_eq!(
                (mapped.status, mapped.awaiting),
                (want, awaiting),
                "{status}"
            );
        }
        let planned = run_status("planned", false);
        assert_eq!(
            awaiting("planned", &planned, Some("+1 ~2 -0")).as_deref(),
            Some("planned: +1 ~2 -0")
        );
        assert_eq!(raw_status("planned", &planned).as_deref(), Some("planned"));
        let applied = run_status("applied", false);
        assert_eq!(awaiting("applied", &applied, Some("+1 ~2 -0")), None);
        assert_eq!(raw_status("applied", &applied), None);
    }

    #[test]
    fn error_documents_in_all_three_shapes_are_read() {
        let number = include_bytes!("../../../tests/fixtures/terraform/error.example.json");
        assert_eq!(
            message(number),
            "Too many requests: You have exceeded the API's rate limit."
        );
        let string = br#"{"errors":[{"status":"403","title":"forbidden","detail":"nope"}]}"#;
        assert_eq!(message(string), "forbidden: nope");
        let plain = br#"{"errors":["not found"]}"#;
        assert_eq!(message(plain), "not found");
        assert_eq!(
            message(br#"{"errors":[{"status":"404","title":"not found"}]}"#),
            "not found"
        );
    }

    #[test]
    fn the_documented_examples_decode() {
        let run: Document<Resource> = serde_json::from_slice(include_bytes!(
            "../../../tests/fixtures/terraform/run.example.json"
        ))
        .expect("run");
        let attributes: RunAttributes = run.data.attributes().expect("run attributes");
        assert_eq!(attributes.status, "pending");
        assert_eq!(attributes.trigger_reason.as_deref(), Some("manual"));
        assert_eq!(run.data.related("workspace"), Some("ws-LLGHCr4SWy28wyGN"));
        let list: Document<Vec<Resource>> = serde_json::from_slice(include_bytes!(
            "../../../tests/fixtures/terraform/workspaces-list.example.json"
        ))
        .expect("list");
        let ws: WorkspaceAttributes = list.data[0].attributes().expect("workspace");
        assert_eq!(ws.name, "workspace-1");
        assert!(ws.locked);
        assert_eq!(list.data[0].related("current-assessment-result"), None);
        assert_eq!(
            list.meta
                .and_then(|m| m.pagination)
                .and_then(|p| p.next_page),
            None
        );
        let asmt: Document<Resource> = serde_json::from_slice(include_bytes!(
            "../../../tests/fixtures/terraform/assessment-result.example.json"
        ))
        .expect("assessment");
        let a: AssessmentAttributes = asmt.data.attributes().expect("assessment attributes");
        assert!(a.drifted && a.succeeded);
        assert_eq!(a.resources_drifted, None);
    }
}
