//! A workspace's drill-down (its drifted resources when the assessment's
//! output can be read, its current run, its recent runs) and a run's plan
//! and apply phases. Read only on demand: the run list is limited to 30
//! requests a minute.

use serde::Deserialize;

use super::TerraformCloudSource;
use super::api::{self, Included, Resource};
use super::map;
use crate::model::{AppDetail, Job, ResourceResult, RevisionInfo, RunStatus};
use crate::sources::SourceError;

/// The part of a plan's JSON (`terraform show -json`) that lists drift.
#[derive(Deserialize)]
struct PlanJson {
    #[serde(default)]
    resource_drift: Vec<Drifted>,
}

#[derive(Deserialize)]
struct Drifted {
    address: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    module_address: Option<String>,
    #[serde(default)]
    change: Option<Change>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    actions: Vec<String>,
}

impl TerraformCloudSource {
    pub(super) async fn detail(&self, name: &str) -> Result<AppDetail, SourceError> {
        let id = self.workspace_id(name).await?;
        let mut detail = AppDetail::default();
        let ws: api::Document<Resource> = self
            .get_doc(
                &self.api(&format!("/workspaces/{id}")),
                &[("include", "current_assessment_result".to_string())],
                &format!("workspace {name}"),
            )
            .await?;
        let included = Included::new(&ws.included);
        if let Some(result) =
            included.follow(&ws.data, "current-assessment-result", "assessment-results")
        {
            match self.drifted(&result.id).await {
                Ok(drifted) => detail.results.extend(drifted),
                Err(e) => detail.problems.push(format!(
                    "the drifted resources of assessment {}: {e} (reading them needs a user or \
                     team token with admin access to the workspace)",
                    result.id
                )),
            }
        }
        match self.recent_runs(&id, name).await {
            Ok(runs) => detail.revisions.extend(runs),
            Err(e) => detail
                .problems
                .push(format!("the recent runs of {name}: {e}")),
        }
        Ok(detail)
    }

    /// The resources the assessment found drifted, from its JSON plan.
    async fn drifted(&self, result: &str) -> Result<Vec<ResourceResult>, SourceError> {
        let url = self.api(&format!("/assessment-results/{result}/json-output"));
        let page = self.get(&url, &[]).await?;
        if !page.is_success() {
            return Err(self.read_error(&page, &format!("the output of assessment {result}")));
        }
        let plan: PlanJson = crate::sources::http::decode(&page.body, &page.path)?;
        Ok(plan
            .resource_drift
            .into_iter()
            .map(|d| ResourceResult {
                kind: d.kind,
                namespace: d.module_address.unwrap_or_default(),
                name: d.address,
                status: "drifted".into(),
                message: d.change.map(|c| c.actions.join(", ")).unwrap_or_default(),
            })
            .collect())
    }

    /// The workspace's newest runs, each as a revision line: its commit (or
    /// id), who sent it, when, and "run-… applied: message".
    async fn recent_runs(&self, id: &str, name: &str) -> Result<Vec<RevisionInfo>, SourceError> {
        let doc: api::Document<Vec<Resource>> = self
            .get_doc(
                &self.api(&format!("/workspaces/{id}/runs")),
                &[
                    ("page[size]", self.config.recent_runs.to_string()),
                    (
                        "include",
                        "plan,configuration_version.ingress_attributes".to_string(),
                    ),
                ],
                &format!("the runs of workspace {name}"),
            )
            .await?;
        let included = Included::new(&doc.included);
        Ok(doc
            .data
            .iter()
            .map(|r| match map::run(self, r, name, &included) {
                Ok(run) => RevisionInfo {
                    revision: if run.commit.is_empty() {
                        run.id.clone()
                    } else {
                        run.commit.clone()
                    },
                    author: (!run.actor.is_empty()).then(|| run.actor.clone()),
                    date: run.created_at,
                    message: Some(format!("{} {}: {}", run.id, run.state_words(), run.event)),
                },
                Err(e) => RevisionInfo {
                    revision: r.id.clone(),
                    author: None,
                    date: None,
                    message: Some(format!("cannot read this run: {e}")),
                },
            })
            .collect())
    }

    /// A run's plan and apply, as two jobs.
    pub(super) async fn phases(&self, run_id: &str) -> Result<Vec<crate::model::Job>, SourceError> {
        let doc: api::Document<Resource> = self
            .get_doc(
                &self.api(&format!(
                    "/runs/{}",
                    crate::sources::http::path_segment(run_id)
                )),
                &[("include", "plan,apply".to_string())],
                &format!("run {run_id}"),
            )
            .await?;
        let included = Included::new(&doc.included);
        let mut jobs = Vec::new();
        for (relation, kind) in [("plan", "plans"), ("apply", "applies")] {
            let Some(phase) = included.follow(&doc.data, relation, kind) else {
                continue;
            };
            #[derive(Deserialize, Default)]
            struct Phase {
                #[serde(default)]
                status: String,
            }
            let status = phase.attributes::<Phase>().unwrap_or_default().status;
            // Only a plan counts what it would change.
            let counts = if relation == "plan" {
                phase
                    .attributes::<api::PlanAttributes>()
                    .map(|p| p.summary())
                    .unwrap_or_default()
            } else {
                String::new()
            };
            jobs.push(Job {
                id: phase.id.clone(),
                name: format!("{relation} {counts}").trim().to_string(),
                status: phase_status(&status),
                started_at: None,
                duration: None,
                url: None,
                steps: Vec::new(),
            });
        }
        Ok(jobs)
    }
}

/// A plan's or apply's own status.
fn phase_status(status: &str) -> RunStatus {
    match status {
        "pending" | "managed_queued" | "queued" => RunStatus::Queued,
        "running" => RunStatus::Running,
        "finished" => RunStatus::Success,
        "errored" => RunStatus::Failure,
        "canceled" => RunStatus::Cancelled,
        "unreachable" => RunStatus::Skipped,
        _ => RunStatus::Unknown,
    }
}
