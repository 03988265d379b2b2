//! What starting a workflow by hand asks for: the workflow and its file
//! read from GitHub, then the `on.workflow_dispatch` trigger of that YAML
//! and the inputs it declares.

use reqwest::Method;
use serde_norway::Value;

use super::{GithubSource, MEDIA_RAW, Read, api};
use crate::model::{DispatchForm, FormInput};
use crate::sources::{SourceError, http};

impl GithubSource {
    /// The new-run form of a workflow: its `workflow_dispatch` inputs, read
    /// from its file on the configured (or default) branch.
    pub(super) async fn load_dispatch_form(
        &self,
        pipeline: &str,
    ) -> Result<DispatchForm, SourceError> {
        let token = self.token().await?;
        let missing = format!("workflow {pipeline} in {}", self.config.repo);
        let read = Read::new(
            "the workflow",
            missing,
            "it may have been deleted or renamed meanwhile",
        );
        let url = self.repo_url(&format!(
            "/actions/workflows/{}",
            http::path_segment(pipeline)
        ));
        let workflow: api::Workflow = self.get_json(&url, &[], &token, &read).await?;
        if workflow.state != "active" {
            return Err(SourceError::Unsupported(format!(
                "workflow {} is {}: GitHub will not start it until it is enabled again",
                workflow.name, workflow.state
            )));
        }
        let path: Vec<String> = workflow.path.split('/').map(http::path_segment).collect();
        let url = self.repo_url(&format!("/contents/{}", path.join("/")));
        let query: Vec<(&str, String)> = self
            .config
            .branch
            .iter()
            .map(|b| ("ref", b.clone()))
            .collect();
        let read = Read::new(
            "the workflow file",
            format!("workflow file {} in {}", workflow.path, self.config.repo),
            "the file may be missing on the branch read (`branch`, else the default branch)",
        );
        let request = self
            .request_for(Method::GET, &url, &token, MEDIA_RAW)?
            .query(&query);
        let page = self.get(request, &token, &read).await?;
        let yaml = String::from_utf8_lossy(&page.body);
        // The workflow's id, as its runs carry it (`PipelineRun::pipeline_id`).
        let mut form = form(
            &workflow.id.to_string(),
            &workflow.name,
            &workflow.path,
            &yaml,
            self.config.branch.clone(),
        )
        .map_err(|e| SourceError::Unsupported(format!("{}: {e}", self.name)))?;
        if form.git_ref.is_none() {
            form.git_ref = Some(self.default_branch(&token).await?);
        }
        tracing::debug!(source = %self.name, workflow = workflow.id, "dispatch form read");
        Ok(form)
    }
}

/// The form of one workflow, read from its YAML. `Err` says why it cannot
/// be started by hand (no `workflow_dispatch` trigger, unreadable YAML).
pub fn form(
    pipeline: &str,
    name: &str,
    path: &str,
    yaml: &str,
    git_ref: Option<String>,
) -> Result<DispatchForm, String> {
    let doc: Value = serde_norway::from_str(yaml)
        .map_err(|e| format!("workflow {name} ({path}) is not valid YAML: {e}"))?;
    let Some(trigger) = dispatch_trigger(&doc) else {
        return Err(format!(
            "workflow {name} has no workflow_dispatch trigger: GitHub will not start it by hand \
             (add `on: workflow_dispatch` to {path})"
        ));
    };
    let inputs = match trigger.get("inputs").and_then(Value::as_mapping) {
        None => Vec::new(),
        Some(inputs) => inputs
            .iter()
            .filter_map(|(key, spec)| Some(input(scalar(key)?, spec)))
            .collect(),
    };
    Ok(DispatchForm {
        pipeline: pipeline.to_string(),
        name: name.to_string(),
        git_ref,
        inputs,
        // GitHub refuses inputs the workflow does not declare (422).
        free_inputs: false,
    })
}

/// `on.workflow_dispatch` (an empty table when it is named without
/// settings), or None when the workflow has no such trigger.
fn dispatch_trigger(doc: &Value) -> Option<Value> {
    // YAML 1.1 readers take a bare `on` for `true`; accept both spellings.
    let on = doc.get("on").or_else(|| {
        doc.as_mapping()?
            .iter()
            .find(|(k, _)| k.as_bool() == Some(true))
            .map(|(_, v)| v)
    })?;
    const NAME: &str = "workflow_dispatch";
    match on {
        Value::String(s) if s == NAME => Some(Value::Null),
        Value::Sequence(events) => events
            .iter()
            .any(|e| e.as_str() == Some(NAME))
            .then_some(Value::Null),
        Value::Mapping(events) => events.get(NAME).map(|t| match t {
            Value::Mapping(_) => t.clone(),
            _ => Value::Null,
        }),
        _ => None,
    }
}

fn input(name: String, spec: &Value) -> FormInput {
    let kind = spec.get("type").and_then(Value::as_str).unwrap_or("string");
    let default = spec.get("default").and_then(scalar);
    let required = match spec.get("required") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    };
    let description = spec
        .get("description")
        .and_then(scalar)
        .unwrap_or_default()
        .trim()
        .to_string();
    let (choices, default) = match kind {
        "boolean" => (
            vec!["true".to_string(), "false".to_string()],
            // GitHub's own form starts an unset boolean unchecked.
            default.unwrap_or_else(|| "false".into()),
        ),
        "choice" => {
            let options: Vec<String> = spec
                .get("options")
                .and_then(Value::as_sequence)
                .map(|o| o.iter().filter_map(scalar).collect())
                .unwrap_or_default();
            // GitHub's form selects the first option when there is no default.
            let default = default
                .or_else(|| options.first().cloned())
                .unwrap_or_default();
            (options, default)
        }
        _ => (Vec::new(), default.unwrap_or_default()),
    };
    FormInput {
        name,
        default,
        description,
        choices,
        required,
    }
}

/// A scalar as text (`true`, `3`, `staging`).
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_the_trigger_is_found() {
        for yaml in [
            "on: workflow_dispatch\njobs: {}\n",
            "on: [push, workflow_dispatch]\n",
            "on:\n  push:\n  workflow_dispatch:\n",
            "true:\n  workflow_dispatch: {}\n",
        ] {
            let f = form("1", "CI", ".github/workflows/ci.yml", yaml, None).expect(yaml);
            assert!(f.inputs.is_empty() && !f.free_inputs, "{yaml}");
        }
        let e = form("1", "CI", ".github/workflows/ci.yml", "on: [push]\n", None)
            .expect_err("no trigger");
        assert!(
            e.starts_with(
                "workflow CI has no workflow_dispatch trigger: GitHub will not start it by hand"
            ),
            "{e}"
        );
        let e = form("1", "CI", "ci.yml", "on: [push\n", None).expect_err("bad yaml");
        assert!(e.contains("is not valid YAML"), "{e}");
    }
}
