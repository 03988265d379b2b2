//! Actions, as Airflow has them: re-run is a clear of a run's task
//! instances (only the failed ones, or all), sent with `dry_run: false`
//! (the API's default is a dry run) and always naming the run (without it
//! every run of the DAG is cleared); cancel is marking the run failed;
//! a new run is a trigger with `conf` from the DAG's params; suspend and
//! resume pause and unpause the DAG. And the form a new run starts from.

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::api::{self, DagDetails, DagRun, TaskInstanceList};
use super::{AirflowSource, Reading, segment};
use crate::model::{Action, ActionKind, DispatchForm, FormInput, Started};
use crate::sources::{ActionError, SourceError};

/// The form input for a new run's optional logical date (unless the DAG
/// declares a param of that name).
pub const LOGICAL_DATE: &str = "logical_date";

impl AirflowSource {
    pub(super) async fn act(&self, action: &Action) -> Result<String, ActionError> {
        match action.kind {
            ActionKind::RerunFailed | ActionKind::Rerun => {
                let (dag, run) =
                    Self::split_run(&action.target.id).map_err(ActionError::Rejected)?;
                self.clear(dag, run, action.kind == ActionKind::RerunFailed)
                    .await
            }
            ActionKind::Cancel => {
                let (dag, run) =
                    Self::split_run(&action.target.id).map_err(ActionError::Rejected)?;
                self.mark_failed(dag, run).await
            }
            ActionKind::Dispatch => Ok(self
                .trigger(&action.target.id, &action.inputs)
                .await?
                .message),
            ActionKind::Suspend | ActionKind::Resume => {
                self.pause(&action.target.id, action.kind == ActionKind::Suspend)
                    .await
            }
            other => Err(ActionError::Unsupported(other.verb())),
        }
    }

    /// `POST /dags/{dag}/clearTaskInstances` for one run, for real.
    async fn clear(&self, dag: &str, run: &str, only_failed: bool) -> Result<String, ActionError> {
        let url = self.api(&format!("/dags/{}/clearTaskInstances", segment(dag)));
        let body = json!({
            "dry_run": false,
            "dag_run_id": run,
            "only_failed": only_failed,
            "reset_dag_runs": true,
        });
        let reply = self.act_reply(Method::POST, &url, body).await?;
        let reading = Reading::Clear(dag, run);
        if !reply.is_success() {
            return Err(self.action_error(&reply, &reading));
        }
        let cleared: TaskInstanceList = self.decoded(&reply, &reading).map_err(unknown)?;
        let tasks: Vec<String> = cleared.task_instances.iter().map(api::job_id).collect();
        if tasks.is_empty() {
            return Ok(format!(
                "nothing to clear in {dag}/{run}{}",
                if only_failed {
                    ": no failed task instances"
                } else {
                    ""
                }
            ));
        }
        Ok(format!(
            "cleared {} of {dag}/{run}: the run is queued again and they run with their next try",
            tasks.join(", ")
        ))
    }

    /// `PATCH /dags/{dag}/dagRuns/{run}` `{"state": "failed"}`: Airflow's
    /// only way to stop a run.
    async fn mark_failed(&self, dag: &str, run: &str) -> Result<String, ActionError> {
        let url = self.api(&format!("/dags/{}/dagRuns/{}", segment(dag), segment(run)));
        let reply = self
            .act_reply(Method::PATCH, &url, json!({"state": "failed"}))
            .await?;
        let reading = Reading::MarkFailed(dag, run);
        if !reply.is_success() {
            return Err(self.action_error(&reply, &reading));
        }
        let now: DagRun = self.decoded(&reply, &reading).map_err(unknown)?;
        Ok(format!(
            "marked {dag}/{run} {} (Airflow has no cancel): its running tasks are failed and \
             killed, tasks not started are skipped",
            now.state.as_deref().unwrap_or("failed")
        ))
    }

    /// `POST /dags/{dag}/dagRuns` with the form's values as `conf` (typed by
    /// the params' schemas) and the optional logical date.
    pub(super) async fn trigger(
        &self,
        dag: &str,
        inputs: &[(String, String)],
    ) -> Result<Started, ActionError> {
        let details = self
            .details(dag)
            .await
            .map_err(|e| ActionError::Rejected(format!("cannot read the params of {dag}: {e}")))?;
        let declared = |name: &str| {
            details
                .params
                .as_ref()
                .is_some_and(|p| p.contains_key(name))
        };
        let mut conf = Map::new();
        let mut logical_date = Value::Null;
        for (name, value) in inputs {
            if name == LOGICAL_DATE && !declared(LOGICAL_DATE) {
                let value = value.trim();
                if !value.is_empty() {
                    if chrono::DateTime::parse_from_rfc3339(value).is_err() {
                        return Err(ActionError::Rejected(format!(
                            "{LOGICAL_DATE}: `{value}` is not a date and time like \
                             2026-01-31T00:00:00Z (RFC 3339)"
                        )));
                    }
                    logical_date = Value::String(value.to_string());
                }
                continue;
            }
            conf.insert(name.clone(), api::conf_value(&details, name, value));
        }
        let url = self.api(&format!("/dags/{}/dagRuns", segment(dag)));
        let body = json!({"logical_date": logical_date, "conf": conf});
        let reply = self.act_reply(Method::POST, &url, body).await?;
        let reading = Reading::Trigger(dag);
        if !reply.is_success() {
            return Err(self.action_error(&reply, &reading));
        }
        let run: DagRun = self.decoded(&reply, &reading).map_err(unknown)?;
        let id = format!("{}/{}", run.dag_id, run.dag_run_id);
        let message = format!(
            "started run {id} ({}){}",
            run.state.as_deref().unwrap_or("queued"),
            if details.is_paused {
                " — the DAG is paused: the run waits until it is resumed"
            } else {
                ""
            }
        );
        Ok(Started {
            message,
            run: Some(id),
        })
    }

    /// `PATCH /dags/{dag}` `{"is_paused": …}`.
    async fn pause(&self, dag: &str, paused: bool) -> Result<String, ActionError> {
        let url = self.api(&format!("/dags/{}", segment(dag)));
        let reply = self
            .act_reply(Method::PATCH, &url, json!({"is_paused": paused}))
            .await?;
        let reading = Reading::Pause(dag);
        if !reply.is_success() {
            return Err(self.action_error(&reply, &reading));
        }
        let now: api::Dag = self.decoded(&reply, &reading).map_err(unknown)?;
        Ok(if now.is_paused {
            format!("DAG {dag} paused: no new runs start until it is resumed")
        } else {
            format!("DAG {dag} unpaused: its queued and scheduled runs start again")
        })
    }

    /// `GET /dags/{dag}/details`: its params.
    async fn details(&self, dag: &str) -> Result<DagDetails, SourceError> {
        let url = self.api(&format!("/dags/{}/details", segment(dag)));
        let reply = self.read_reply(Method::GET, &url, &|r| r).await?;
        self.decoded(&reply, &Reading::Details(dag))
    }

    /// The new-run form: the DAG's params with their defaults, and an
    /// optional logical date.
    pub(super) async fn form(&self, dag: &str) -> Result<DispatchForm, SourceError> {
        let details = self.details(dag).await?;
        let mut inputs = api::form_inputs(&details);
        if !inputs.iter().any(|i| i.name == LOGICAL_DATE) {
            inputs.push(FormInput {
                name: LOGICAL_DATE.to_string(),
                default: String::new(),
                description: "optional: the run's logical date, like 2026-01-31T00:00:00Z; \
                              empty: none"
                    .to_string(),
                choices: Vec::new(),
                required: false,
            });
        }
        Ok(DispatchForm {
            pipeline: dag.to_string(),
            name: dag.to_string(),
            git_ref: None,
            inputs,
            // conf may carry keys the DAG does not declare.
            free_inputs: true,
        })
    }
}

/// The action was done but its answer could not be read.
fn unknown(e: SourceError) -> ActionError {
    ActionError::Lost(format!("sent, but the answer could not be read: {e}"))
}
