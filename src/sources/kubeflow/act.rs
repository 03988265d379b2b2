//! Actions on runs: retry (`:retry`, which KFP allows on failed and
//! canceled runs: it runs what failed or did not finish again), terminate
//! (`:terminate`), and a new run of a pipeline version (`POST /runs`) from
//! a form of its runtime parameters, pre-filled from the run it starts from.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::api::{self, Named, Run};
use super::params::{self, Declared};
use super::{KubeflowSource, Reading};
use crate::model::{Action, ActionKind, DispatchForm, FormInput, Started};
use crate::sources::http::{self, transport_error};
use crate::sources::{ActionError, SourceError};

/// What a new run starts from: `PIPELINE_ID[/VERSION_ID[/RUN_ID]]`.
struct Start {
    pipeline: String,
    version: Option<String>,
    run: Option<String>,
}

impl Start {
    fn parse(id: &str) -> Result<Start, String> {
        let parts: Vec<&str> = id.split('/').collect();
        if parts.len() > 3 || parts.iter().any(|p| p.trim().is_empty()) {
            return Err(format!(
                "`{id}` is not PIPELINE_ID, PIPELINE_ID/VERSION_ID or \
                 PIPELINE_ID/VERSION_ID/RUN_ID"
            ));
        }
        Ok(Start {
            pipeline: parts[0].to_string(),
            version: parts.get(1).map(|v| v.to_string()),
            run: parts.get(2).map(|r| r.to_string()),
        })
    }
}

impl KubeflowSource {
    pub(super) async fn act(&self, action: &Action) -> Result<String, ActionError> {
        let id = &action.target.id;
        match action.kind {
            ActionKind::RerunFailed | ActionKind::Rerun => {
                self.post(
                    &format!("/runs/{}:retry", http::path_segment(id)),
                    None,
                    &format!("retry run {id}"),
                )
                .await?;
                Ok(format!(
                    "run {id} retried: KFP runs its failed and unfinished tasks again"
                ))
            }
            ActionKind::Cancel => {
                self.post(
                    &format!("/runs/{}:terminate", http::path_segment(id)),
                    None,
                    &format!("terminate run {id}"),
                )
                .await?;
                Ok(format!(
                    "run {id} terminating: KFP stops its tasks (canceling, then canceled)"
                ))
            }
            ActionKind::Dispatch => Ok(self.create(action).await?.message),
            _ => Err(ActionError::Unsupported(
                "do that to a Kubeflow run (retry, terminate and new runs only)",
            )),
        }
    }

    /// `POST /runs`: a run of the version (the latest when none is named)
    /// with the inputs as runtime parameters, typed as the version declares
    /// them, in the experiment of the run it starts from.
    pub(super) async fn create(&self, action: &Action) -> Result<Started, ActionError> {
        let start = Start::parse(&action.target.id).map_err(ActionError::Rejected)?;
        let declared = match &start.version {
            Some(v) => self.declared(&start.pipeline, v).await,
            None => self.latest_version(&start.pipeline).await.map(|n| {
                n.pipeline_spec
                    .as_ref()
                    .map(params::declared_parameters)
                    .unwrap_or_default()
            }),
        }
        .map_err(|e| {
            ActionError::Rejected(format!("cannot read the pipeline's parameters: {e}"))
        })?;
        let mut parameters = serde_json::Map::new();
        for (name, text) in &action.inputs {
            let spec = declared.iter().find(|d| d.name == *name);
            if text.trim().is_empty() && spec.is_none_or(|d| d.optional || d.default.is_some()) {
                continue; // Left empty: the pipeline's default.
            }
            let value = params::typed(spec.map(|d| d.kind.as_str()), text)
                .map_err(|why| ActionError::Rejected(format!("parameter {name}: {why}")))?;
            parameters.insert(name.clone(), value);
        }
        let experiment = match &start.run {
            Some(run) => self.cache().run_experiments.get(run).cloned(),
            None => None,
        }
        .or_else(|| {
            let cache = self.cache();
            self.config
                .experiments
                .iter()
                .find_map(|name| cache.filter.get(name).cloned())
        });
        let mut reference = json!({ "pipeline_id": start.pipeline });
        if let Some(v) = &start.version {
            reference["pipeline_version_id"] = json!(v);
        }
        let stamp = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC");
        let mut body = json!({
            "display_name": format!("opsdeck run of {} ({stamp})", action.target.id),
            "pipeline_version_reference": reference,
            "runtime_config": { "parameters": parameters },
        });
        if let Some(e) = experiment {
            body["experiment_id"] = json!(e);
        }
        let what = format!("start a new run of pipeline {}", start.pipeline);
        let answer = self.post("/runs", Some(body), &what).await?;
        let run: Run = serde_json::from_slice(&answer).unwrap_or_default();
        let state = run
            .state
            .as_ref()
            .map(|s| format!(" ({})", params::shown_value(s).to_ascii_lowercase()))
            .unwrap_or_default();
        Ok(if run.run_id.is_empty() {
            Started {
                message: "new run created".to_string(),
                run: None,
            }
        } else {
            Started {
                message: format!("new run {} created{state}", run.run_id),
                run: Some(run.run_id),
            }
        })
    }

    /// The newest version of a pipeline.
    async fn latest_version(&self, pipeline: &str) -> Result<Named, SourceError> {
        #[derive(serde::Deserialize, Default)]
        struct Versions {
            #[serde(default)]
            pipeline_versions: Vec<Named>,
        }
        let query = [
            ("sort_by", "created_at desc".to_string()),
            ("page_size", "1".to_string()),
        ];
        let rest = format!("/pipelines/{}/versions", http::path_segment(pipeline));
        let found: Versions = self
            .get_json(&rest, &query, &Reading::Pipeline(pipeline.to_string()))
            .await?;
        found.pipeline_versions.into_iter().next().ok_or_else(|| {
            SourceError::Backend(format!(
                "{}: pipeline {pipeline} has no versions",
                self.name
            ))
        })
    }

    /// A version (its name and spec), its declared parameters kept.
    async fn version(&self, pipeline: &str, version: &str) -> Result<Named, SourceError> {
        let rest = format!(
            "/pipelines/{}/versions/{}",
            http::path_segment(pipeline),
            http::path_segment(version)
        );
        let reading = Reading::Version(pipeline.to_string(), version.to_string());
        let named: Named = self.get_json(&rest, &[], &reading).await?;
        let declared = named
            .pipeline_spec
            .as_ref()
            .map(params::declared_parameters)
            .unwrap_or_default();
        self.cache().declared.insert(version.to_string(), declared);
        Ok(named)
    }

    async fn declared(&self, pipeline: &str, version: &str) -> Result<Vec<Declared>, SourceError> {
        if let Some(known) = self.cache().declared.get(version) {
            return Ok(known.clone());
        }
        self.version(pipeline, version).await?;
        Ok(self
            .cache()
            .declared
            .get(version)
            .cloned()
            .unwrap_or_default())
    }

    /// The new-run form: the version's runtime parameters with their
    /// defaults, the values of the run it starts from in their place.
    pub(super) async fn form(&self, pipeline: &str) -> Result<DispatchForm, SourceError> {
        let start = Start::parse(pipeline).map_err(SourceError::Unsupported)?;
        let named_pipeline: Option<Named> = self
            .get_found(
                &format!("/pipelines/{}", http::path_segment(&start.pipeline)),
                &Reading::Pipeline(start.pipeline.clone()),
            )
            .await?;
        let Some(named_pipeline) = named_pipeline else {
            return Err(SourceError::Backend(format!(
                "{}: pipeline {} not found — deleted?",
                self.name, start.pipeline
            )));
        };
        let version = match &start.version {
            Some(v) => self.version(&start.pipeline, v).await?,
            None => self.latest_version(&start.pipeline).await?,
        };
        let declared = version
            .pipeline_spec
            .as_ref()
            .map(params::declared_parameters)
            .unwrap_or_default();
        let from: serde_json::Map<String, Value> = match &start.run {
            Some(run) => {
                let run: Run = self
                    .get_json(
                        &format!("/runs/{}", http::path_segment(run)),
                        &[],
                        &Reading::Run(run.clone()),
                    )
                    .await?;
                run.runtime_config.map(|c| c.parameters).unwrap_or_default()
            }
            None => serde_json::Map::new(),
        };
        let mut inputs: Vec<FormInput> = declared
            .iter()
            .map(|d| {
                let value = from.get(&d.name).or(d.default.as_ref());
                let mut description = d.kind.to_ascii_lowercase();
                if d.optional {
                    description.push_str(", optional");
                }
                if !d.description.is_empty() {
                    description.push_str(&format!(": {}", d.description));
                }
                FormInput {
                    name: d.name.clone(),
                    default: value.map(params::shown_value).unwrap_or_default(),
                    description,
                    choices: if d.kind == "BOOLEAN" {
                        vec!["true".into(), "false".into()]
                    } else {
                        Vec::new()
                    },
                    required: !d.optional && d.default.is_none(),
                }
            })
            .collect();
        // What the run was given that the version does not declare.
        for (name, value) in &from {
            if !declared.iter().any(|d| d.name == *name) {
                inputs.push(FormInput {
                    name: name.clone(),
                    default: params::shown_value(value),
                    description: "given to the run it starts from".into(),
                    choices: Vec::new(),
                    required: false,
                });
            }
        }
        let version_name = version
            .shown()
            .or(version.pipeline_version_id.clone())
            .unwrap_or_else(|| "latest version".into());
        let pipeline_name = named_pipeline.shown().unwrap_or(start.pipeline.clone());
        Ok(DispatchForm {
            pipeline: pipeline.to_string(),
            name: format!("{pipeline_name} {version_name}"),
            git_ref: None,
            free_inputs: declared.is_empty(),
            inputs,
        })
    }

    /// POST and read KFP's answer; a refusal in KFP's own words. A 401
    /// renews the token once (the refused request changed nothing).
    async fn post(
        &self,
        rest: &str,
        body: Option<Value>,
        what: &str,
    ) -> Result<Vec<u8>, ActionError> {
        let rejected =
            |e: SourceError| ActionError::Rejected(format!("{}: {what}: {e}", self.name));
        let token = self.token().await.map_err(rejected)?;
        self.polite.check(chrono::Utc::now()).map_err(rejected)?;
        let mut request = self.client().map_err(rejected)?.post(self.api(rest));
        request = match body {
            Some(body) => request.json(&body),
            None => request.header(reqwest::header::CONTENT_LENGTH, "0"),
        };
        let ((status, path, bytes), _) = http::renewing(
            token,
            |token| {
                let request = http::copy(&request).map(|r| Self::authorized(r, &token));
                async move {
                    let request = request.map_err(rejected)?;
                    let response = http::send_action(request, |e| {
                        format!("{}: {what}: {}", self.name, self.named(e))
                    })
                    .await?;
                    let status = response.status();
                    let path = response.url().path().to_string();
                    (self.polite.observe(status, response.headers(), &path)).map_err(|e| {
                        ActionError::Rejected(format!("{}: {what}: {e}", self.name))
                    })?;
                    let bytes = response.bytes().await.map_err(|e| {
                        ActionError::Lost(format!(
                            "{}: {what}: the answer broke off: {}",
                            self.name,
                            transport_error(e)
                        ))
                    })?;
                    Ok((status, path, bytes.to_vec()))
                }
            },
            |(status, _, _)| *status,
            |rejected| self.renewed(rejected),
        )
        .await?;
        if status.is_success() {
            return Ok(bytes);
        }
        let message = api::message(&bytes);
        let (name, code) = (&self.name, status.as_u16());
        let words = match status {
            StatusCode::UNAUTHORIZED => format!(
                "{name}: the KFP API refused the credentials ({code} on {path}: {message}) — {}",
                self.token_hint()
            ),
            StatusCode::FORBIDDEN => format!(
                "{name}: not allowed to {what} ({code}: {message}) — the token's account needs \
                 kubeflow-edit in the namespace"
            ),
            StatusCode::NOT_FOUND => {
                format!("{name}: cannot {what}: not found ({code}: {message})")
            }
            s if s.is_server_error() => format!(
                "{name}: KFP failed while asked to {what} ({code}: {message}); it may or may not \
                 have happened"
            ),
            _ => format!("{name}: KFP refused to {what} ({code}: {message})"),
        };
        Err(http::action_error(status, words))
    }
}
