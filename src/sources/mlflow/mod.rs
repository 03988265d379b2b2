//! `kind = "mlflow"`: registered models and their serving alias from the
//! model registry, drift from the newest run of a monitoring experiment,
//! and the one action MLflow allows here: moving the alias back to another
//! version, tagged `rolled_back_from` because MLflow keeps no alias history.

mod api;
mod commits;

use std::time::Duration;

use async_trait::async_trait;

pub use api::MlflowError;
use api::{Api, WireMetric, WireVersion, decode_reply};

use super::drift::{self, empty_model, from_millis};
use super::http::{self, Credentials, Reply};
use super::{ActionError, Source, SourceError};
use crate::config::{MlflowConfig, MlflowModel};
use crate::model::{Action, ActionKind, Job, Metric, ModelDrift, ModelVersion, Snapshot};

/// The version tag a rollback leaves, naming the version it replaced.
pub const ROLLED_BACK_FROM_TAG: &str = "rolled_back_from";

/// One MLflow tracking server.
pub struct MlflowSource {
    name: String,
    config: MlflowConfig,
    production: bool,
    poll: Duration,
    client: Result<reqwest::Client, SourceError>,
    /// Its rate limit, if it answers with one (a proxy in front of it may).
    polite: crate::sources::polite::Polite,
    /// The training commit of each run asked about, kept across reads.
    commits: commits::Commits,
}

impl MlflowSource {
    pub fn new(name: &str, config: MlflowConfig, production: bool, poll: Duration) -> Self {
        let client = http::client(&http::options(&config.http));
        MlflowSource {
            name: name.to_string(),
            config,
            production,
            poll,
            client,
            polite: Default::default(),
            commits: Default::default(),
        }
    }

    async fn read_model(
        &self,
        api: &Api<'_>,
        model: &MlflowModel,
    ) -> Result<ModelDrift, SourceError> {
        let (registered, versions, serving, drift) = tokio::join!(
            api.registered_model(&model.name),
            api.versions(&model.name),
            api.alias(&model.name, &model.alias),
            self.read_drift(api, model),
        );
        // Every request failed on the way (not MLflow's own "no such
        // model"): nothing of the model was read.
        if let (
            Err(MlflowError::Http(e)),
            Err(MlflowError::Http(_)),
            Err(MlflowError::Http(_)),
            Err(MlflowError::Http(_)),
        ) = (&registered, &versions, &serving, &drift)
        {
            return Err(e.clone());
        }
        let mut out = empty_model(&self.name, &model.name, &model.alias, self.production);
        out.serving = model.serving.as_ref().map(|l| l.value.clone());
        out.train = model.train.as_ref().map(crate::config::Train::link);
        let mut errors = Vec::new();
        match registered {
            // The alias endpoint is the word on the serving version; the
            // model's alias list stands in when it is unavailable.
            Ok(r) => {
                out.version = r
                    .aliases
                    .into_iter()
                    .find(|a| a.alias == model.alias)
                    .map(|a| a.version)
            }
            Err(e) => errors.push(model_error(&format!("registered model {}", model.name), e)?),
        }
        match serving {
            Ok(v) => out.version = Some(v.version),
            Err(MlflowError::Api { .. }) if out.version.is_none() && errors.is_empty() => {
                errors.push(format!(
                    "alias \"{}\" is not set on {} (set it in MLflow, or `alias` in the config)",
                    model.alias, model.name
                ));
            }
            Err(MlflowError::Api { .. }) => {}
            Err(e) => errors.push(model_error(&format!("alias {}", model.alias), e)?),
        }
        match versions {
            Ok(vs) => {
                let found = self.version_commits(api, &vs).await;
                out.versions = model_versions(vs);
                for v in &mut out.versions {
                    v.revision = found.get(&v.version).cloned();
                }
            }
            Err(e) => errors.push(model_error("model versions", e)?),
        }
        match drift {
            Ok(d) => {
                out.metrics = d.metrics;
                out.sample_count = d.sample_count;
            }
            Err(e) => errors.push(model_error(&format!("experiment {}", model.experiment), e)?),
        }
        if out.metrics.is_empty() {
            out.metrics = model.metrics.iter().map(|p| no_data(p, model)).collect();
        }
        out.drifting_since = drift::drifting_since(&out.metrics);
        if !errors.is_empty() {
            out.error = Some(errors.join("; "));
        }
        Ok(out)
    }

    /// The training commit of each version (`commits.rs`): the versions
    /// in the timeline's window are looked up, bounded and kept.
    async fn version_commits(
        &self,
        api: &Api<'_>,
        versions: &[WireVersion],
    ) -> std::collections::BTreeMap<String, String> {
        let window =
            chrono::Duration::from_std(self.config.window).unwrap_or(chrono::Duration::MAX);
        let since = chrono::Utc::now()
            .checked_sub_signed(window)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
        let runs = self.commits.wanted(versions, since);
        self.commits.look_up(api, &runs).await;
        self.commits.of_versions(versions)
    }

    async fn read_drift(&self, api: &Api<'_>, model: &MlflowModel) -> Result<Drift, MlflowError> {
        let experiment = api.experiment_id(&model.experiment).await?;
        let Some(run) = api.newest_run(&experiment).await? else {
            return Ok(Drift::default());
        };
        // Which keys to read: every logged key a pattern matches, and each
        // plain key even when the run lacks it (MLflow then answers `{}`).
        let mut keys: Vec<(String, &str)> = Vec::new();
        let mut unmatched = Vec::new();
        for pattern in &model.metrics {
            let before = keys.len();
            for m in &run.data.metrics {
                if drift::glob_match(pattern, &m.key) && !keys.iter().any(|(k, _)| k == &m.key) {
                    keys.push((m.key.clone(), pattern));
                }
            }
            if keys.len() == before {
                if pattern.contains('*') {
                    unmatched.push(pattern.as_str());
                } else {
                    keys.push((pattern.clone(), pattern));
                }
            }
        }
        let histories = futures::future::try_join_all(
            keys.iter()
                .map(|(key, _)| api.history(&run.info.run_id, key)),
        )
        .await?;
        let t = &model.thresholds;
        let mut metrics: Vec<Metric> = keys
            .iter()
            .zip(histories)
            .map(|((key, pattern), history)| {
                let latest = run
                    .data
                    .metrics
                    .iter()
                    .find(|m| &m.key == key)
                    .map(|m| m.value)
                    .unwrap_or_else(|| history.last().and_then(|m| m.value));
                let (name, feature) = split_key(pattern, key);
                Metric {
                    name,
                    feature,
                    value: latest,
                    warn: t.warn,
                    critical: t.critical,
                    worse: t.worse,
                    series: series(&history),
                }
            })
            .collect();
        metrics.extend(unmatched.into_iter().map(|p| no_data(p, model)));
        let sample_count = model.sample_count_metric.as_ref().and_then(|k| {
            run.data
                .metrics
                .iter()
                .find(|m| &m.key == k)
                .and_then(|m| m.value)
                .filter(|v| *v >= 0.0)
                .map(|v| v.round() as u64)
        });
        Ok(Drift {
            metrics,
            sample_count,
        })
    }

    fn api<'a>(&'a self, credentials: &'a Credentials) -> Result<Api<'a>, SourceError> {
        Ok(Api {
            client: self.client.as_ref().map_err(Clone::clone)?,
            base: &self.config.http.url,
            credentials,
            polite: &self.polite,
        })
    }

    /// Send one mutating request, by the kit's "was it sent?" rule; MLflow's
    /// own refusal in its words (a 5xx leaves the outcome unknown).
    async fn send_action(
        &self,
        api: &Api<'_>,
        endpoint: &str,
        body: &serde_json::Value,
    ) -> Result<(), ActionError> {
        let request = api
            .credentials
            .apply(api.client.post(api.url(endpoint)).json(body));
        let response = http::send_action(request, |e| {
            format!("{endpoint} at MLflow {}: {e}", self.config.http.url)
        })
        .await?;
        let reply = Reply::read(response)
            .await
            .map_err(|e| ActionError::Lost(format!("{endpoint}: {e}")))?;
        decode_reply::<serde_json::Value>(&reply)
            .map(|_| ())
            .map_err(|e| {
                http::action_error(reply.status, format!("MLflow refused {endpoint}: {e}"))
            })
    }

    async fn move_alias(&self, action: &Action) -> Result<String, ActionError> {
        let model = self
            .config
            .models
            .iter()
            .find(|m| m.name == action.target.id)
            .ok_or_else(|| {
                ActionError::Rejected(format!(
                    "{} is not a model of source {} (add it as a [[source.model]])",
                    action.target.id, self.name
                ))
            })?;
        let to = action
            .to
            .clone()
            .ok_or_else(|| ActionError::Rejected("no version to move the alias to".into()))?;
        let credentials = Credentials::resolve(&self.config.http.auth)
            .await
            .map_err(|e| ActionError::Rejected(e.to_string()))?;
        let api = self
            .api(&credentials)
            .map_err(|e| ActionError::Rejected(e.to_string()))?;
        // Read the alias now, not from the last snapshot: it may have moved.
        let from = match api.alias(&model.name, &model.alias).await {
            Ok(v) => Some(v.version),
            Err(MlflowError::Api { .. }) => None,
            Err(e) => {
                return Err(ActionError::Rejected(format!(
                    "cannot read alias \"{}\" of {}: {e}",
                    model.alias, model.name
                )));
            }
        };
        if from.as_deref() == Some(to.as_str()) {
            return Err(ActionError::Rejected(format!(
                "{} alias \"{}\" already points at version {to}",
                model.name, model.alias
            )));
        }
        // Versions are strings on the wire: MLflow refuses an integer.
        self.send_action(
            &api,
            "registered-models/alias",
            &serde_json::json!({"name": model.name, "alias": model.alias, "version": to}),
        )
        .await?;
        let from_text = from.clone().unwrap_or_else(|| "none".into());
        let moved = format!(
            "{} alias \"{}\" now points at version {to} (was {from_text})",
            model.name, model.alias
        );
        let tagged = self
            .send_action(
                &api,
                "model-versions/set-tag",
                &serde_json::json!({
                    "name": model.name,
                    "version": to,
                    "key": ROLLED_BACK_FROM_TAG,
                    "value": from_text,
                }),
            )
            .await;
        Ok(match tagged {
            Ok(()) => format!("{moved}; tagged version {to} {ROLLED_BACK_FROM_TAG}={from_text}"),
            Err(e) => format!(
                "{moved}, but the {ROLLED_BACK_FROM_TAG} tag could not be set ({e}): \
                 note the previous version yourself"
            ),
        })
    }
}

/// What failed, for the model; or the error that fails the whole source.
fn model_error(what: &str, e: MlflowError) -> Result<String, SourceError> {
    match e {
        MlflowError::Http(e) if drift::is_source_wide(&e) => Err(e),
        e => Ok(format!("{what}: {e}")),
    }
}

#[derive(Default)]
struct Drift {
    metrics: Vec<Metric>,
    sample_count: Option<u64>,
}

/// A pattern that matched nothing: shown, with no data.
fn no_data(pattern: &str, model: &MlflowModel) -> Metric {
    Metric {
        name: pattern.to_string(),
        feature: None,
        value: None,
        warn: model.thresholds.warn,
        critical: model.thresholds.critical,
        worse: model.thresholds.worse,
        series: Vec::new(),
    }
}

/// `psi.*` matching `psi.age` → ("psi", "age"); a plain key is its own name.
fn split_key(pattern: &str, key: &str) -> (String, Option<String>) {
    let Some((prefix, suffix)) = pattern.split_once('*') else {
        return (key.to_string(), None);
    };
    let suffix = suffix.rsplit('*').next().unwrap_or(suffix);
    let separators: &[char] = &['.', '_', '-', '/', ':'];
    let feature = key
        .strip_prefix(prefix)
        .and_then(|k| k.strip_suffix(suffix))
        .filter(|f| !f.is_empty())
        .map(str::to_string);
    let name = match prefix.trim_end_matches(separators) {
        "" => suffix.trim_start_matches(separators),
        p => p,
    };
    if name.is_empty() || feature.is_none() {
        return (key.to_string(), None);
    }
    (name.to_string(), feature)
}

fn series(history: &[WireMetric]) -> Vec<(crate::model::Timestamp, f64)> {
    history
        .iter()
        .filter_map(|m| Some((from_millis(m.timestamp?)?, m.value?)))
        .collect()
}

/// Newest first, as the domain model wants them.
fn model_versions(mut versions: Vec<WireVersion>) -> Vec<ModelVersion> {
    versions.sort_by_key(|v| std::cmp::Reverse(v.version.parse::<u64>().unwrap_or(0)));
    versions
        .into_iter()
        .map(|v| ModelVersion {
            revision: None,
            run_id: v.run_id.filter(|r| !r.is_empty()),
            version: v.version,
            created_at: v.creation_timestamp.and_then(from_millis),
            status: v.status.unwrap_or_else(|| "UNKNOWN".into()),
            description: v.description.filter(|d| !d.is_empty()),
        })
        .collect()
}

#[async_trait]
impl Source for MlflowSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn descriptor(&self) -> &'static crate::sources::kinds::Descriptor {
        &crate::sources::kinds::MLFLOW
    }

    fn poll_interval(&self) -> Duration {
        self.poll
    }

    fn location(&self) -> Option<String> {
        Some(self.config.http.url.clone())
    }

    fn warning(&self) -> Option<String> {
        drift::insecure_warning(&self.config.http)
    }

    async fn fetch(&self) -> Result<Snapshot, SourceError> {
        let credentials = Credentials::resolve(&self.config.http.auth).await?;
        let api = self.api(&credentials)?;
        let names = self
            .config
            .models
            .iter()
            .map(|m| (m.name.clone(), m.alias.clone()))
            .collect();
        let models = drift::read_models(
            names,
            self.config.http.timeout,
            &self.config.http.url,
            &self.name,
            self.production,
            |i| self.read_model(&api, &self.config.models[i]),
        )
        .await?;
        Ok(Snapshot {
            models,
            ..Snapshot::default()
        })
    }

    async fn execute(&self, action: &Action) -> Result<String, ActionError> {
        match action.kind {
            ActionKind::SetModelAlias => self.move_alias(action).await,
            _ => Err(ActionError::Unsupported(
                "do that: MLflow sources only move a model's serving alias",
            )),
        }
    }

    async fn run_jobs(&self, _run_id: &str) -> Result<Vec<Job>, SourceError> {
        Err(SourceError::Unsupported(
            "mlflow sources have no pipeline runs".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_into_metric_and_feature() {
        assert_eq!(
            split_key("psi.*", "psi.age"),
            ("psi".into(), Some("age".into()))
        );
        assert_eq!(
            split_key("*.pvalue", "age.pvalue"),
            ("pvalue".into(), Some("age".into()))
        );
        assert_eq!(
            split_key("drift_share", "drift_share"),
            ("drift_share".into(), None)
        );
        assert_eq!(split_key("*", "psi"), ("psi".into(), None));
    }
}
