//! `kind = "evidently"`: one project of an Evidently UI service, read-only.
//! Per-column drift (`ValueDrift`) and the share of drifted columns
//! (`DriftedColumnsCount`) come from `/api/v2/snapshots/{project}/data_series_batch`:
//! one value per snapshot, so its last value is the latest snapshot's and
//! the rest is the trend. Each column's test brings its own threshold.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::drift::{self, empty_model};
use super::http::{self, Credentials, Reply};
use super::{ActionError, Source, SourceError};
use crate::config::{EvidentlyConfig, ProjectRef};
use crate::model::{Action, Job, Metric, ModelDrift, Snapshot, Timestamp, Worse};

const VALUE_DRIFT: &str = "evidently:metric_v2:ValueDrift";
const DRIFTED_COLUMNS: &str = "evidently:metric_v2:DriftedColumnsCount";
const ROW_COUNT: &str = "evidently:metric_v2:RowCount";
/// What the serving "alias" is called for a backend that has none.
const SERVING: &str = "serving";
/// Evidently's defaults, for a column test that does not say its threshold.
const DEFAULT_PVALUE_THRESHOLD: f64 = 0.05;
const DEFAULT_DISTANCE_THRESHOLD: f64 = 0.1;

/// One Evidently project.
pub struct EvidentlySource {
    name: String,
    config: EvidentlyConfig,
    production: bool,
    poll: Duration,
    client: Result<reqwest::Client, SourceError>,
    /// Its rate limit, if it answers with one (a proxy in front of it may).
    polite: crate::sources::polite::Polite,
}

#[derive(Debug, Deserialize)]
struct Project {
    id: String,
    name: String,
}

#[derive(Debug, Default, Deserialize)]
struct SeriesResponse {
    #[serde(default)]
    sources: Vec<SeriesSource>,
    #[serde(default)]
    series: Vec<Series>,
}

#[derive(Debug, Deserialize)]
struct SeriesSource {
    timestamp: String,
}

#[derive(Debug, Deserialize)]
struct Series {
    metric_type: String,
    #[serde(default)]
    params: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<Option<serde_json::Value>>,
}

#[derive(Deserialize)]
struct Detail {
    detail: String,
}

impl EvidentlySource {
    pub fn new(name: &str, config: EvidentlyConfig, production: bool, poll: Duration) -> Self {
        let client = http::client(&http::options(&config.http));
        EvidentlySource {
            name: name.to_string(),
            config,
            production,
            poll,
            client,
            polite: Default::default(),
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        credentials: &Credentials,
    ) -> Result<T, SourceError> {
        let reply = drift::send(&self.polite, credentials, request).await?;
        decode(&reply)
    }

    async fn project(
        &self,
        client: &reqwest::Client,
        credentials: &Credentials,
    ) -> Result<Project, SourceError> {
        let base = &self.config.http.url;
        match &self.config.project {
            ProjectRef::Id(id) => {
                let project: Project = self
                    .call(
                        client.get(format!("{base}/api/projects/{id}/info")),
                        credentials,
                    )
                    .await?;
                Ok(project)
            }
            ProjectRef::Name(name) => {
                let mut url = url::Url::parse(&format!("{base}/api/projects/search/"))
                    .map_err(|e| SourceError::Unreachable(format!("url {base}: {e}")))?;
                url.path_segments_mut()
                    .map_err(|()| {
                        SourceError::Unreachable(format!("url {base} cannot take a path"))
                    })?
                    .pop_if_empty()
                    .push(name);
                let found: Vec<Project> = self.call(client.get(url), credentials).await?;
                found.into_iter().find(|p| &p.name == name).ok_or_else(|| {
                    SourceError::Backend(format!(
                        "no project named `{name}` on {base} (check `project`; its id works too)"
                    ))
                })
            }
        }
    }

    async fn read_model(&self, credentials: &Credentials) -> Result<ModelDrift, SourceError> {
        let client = self.client.as_ref().map_err(Clone::clone)?;
        let project = self.project(client, credentials).await?;
        let filter = |metric: &str| serde_json::json!({"tags": [], "metadata": {}, "metric": metric, "metric_labels": {}});
        let body = serde_json::json!({
            "series_filter": [filter(VALUE_DRIFT), filter(DRIFTED_COLUMNS), filter(ROW_COUNT)],
        });
        let url = format!(
            "{}/api/v2/snapshots/{}/data_series_batch",
            self.config.http.url, project.id
        );
        let response: SeriesResponse = self.call(client.post(url).json(&body), credentials).await?;
        let name = self.config.model.as_deref().unwrap_or(&project.name);
        Ok(self.model(name, &response))
    }

    /// The model's name before the project is known (for errors).
    fn model_name(&self) -> String {
        self.config
            .model
            .clone()
            .unwrap_or_else(|| match &self.config.project {
                ProjectRef::Id(id) | ProjectRef::Name(id) => id.clone(),
            })
    }

    fn model(&self, name: &str, response: &SeriesResponse) -> ModelDrift {
        let mut out = empty_model(&self.name, name, SERVING, self.production);
        out.serving = self.config.serving.as_ref().map(|l| l.value.clone());
        out.train = self.config.train.as_ref().map(crate::config::Train::link);
        let times: Vec<Option<Timestamp>> = response
            .sources
            .iter()
            .map(|s| timestamp(&s.timestamp))
            .collect();
        let latest = times.len().checked_sub(1);
        for s in &response.series {
            let values: Vec<Option<f64>> = s.values.iter().map(|v| number(v.as_ref())).collect();
            let now = latest.and_then(|i| values.get(i).copied().flatten());
            let series = times
                .iter()
                .zip(&values)
                .filter_map(|(t, v)| Some(((*t)?, (*v)?)))
                .collect();
            match s.metric_type.as_str() {
                VALUE_DRIFT => {
                    let method = s
                        .params
                        .get("method")
                        .cloned()
                        .unwrap_or_else(|| "drift".into());
                    let worse = if is_p_value(&method) {
                        Worse::Below
                    } else {
                        Worse::Above
                    };
                    let threshold = s
                        .params
                        .get("threshold")
                        .and_then(|t| drift::sample_value(t))
                        .unwrap_or(match worse {
                            Worse::Below => DEFAULT_PVALUE_THRESHOLD,
                            Worse::Above => DEFAULT_DISTANCE_THRESHOLD,
                        });
                    out.metrics.push(Metric {
                        name: method,
                        feature: s.params.get("column").cloned(),
                        value: now,
                        warn: threshold,
                        critical: threshold,
                        worse,
                        series,
                    });
                }
                DRIFTED_COLUMNS
                    if s.params.get("value_type").map(String::as_str) == Some("share") =>
                {
                    out.metrics.push(self.share_metric(now, series));
                }
                ROW_COUNT => {
                    out.sample_count = now.filter(|v| *v >= 0.0).map(|v| v.round() as u64);
                }
                _ => {}
            }
        }
        if !out.metrics.iter().any(|m| m.feature.is_none()) {
            // No snapshot with a drift preset yet: no data, never "ok".
            out.metrics.push(self.share_metric(None, Vec::new()));
        }
        out.drifting_since = drift::drifting_since(&out.metrics);
        out
    }

    fn share_metric(&self, value: Option<f64>, series: Vec<(Timestamp, f64)>) -> Metric {
        let t = &self.config.share;
        Metric {
            name: "drift_share".into(),
            feature: None,
            value,
            warn: t.warn,
            critical: t.critical,
            worse: t.worse,
            series,
        }
    }
}

/// Evidently's error replies are `{"status_code": 404, "detail": "project not found"}`.
fn decode<T: DeserializeOwned>(reply: &Reply) -> Result<T, SourceError> {
    if reply.is_success() {
        return http::decode(&reply.body, &reply.path);
    }
    if let Some(e) = reply.auth_refusal() {
        return Err(e);
    }
    match serde_json::from_slice::<Detail>(&reply.body) {
        Err(_) => Err(reply.status_error()),
        Ok(d) => Err(http::read_error(
            reply.status,
            format!("{} on {}: {}", reply.status.as_u16(), reply.path, d.detail),
        )),
    }
}

/// "K-S p_value", "chi-square p_value": lower is worse. Distances: higher.
fn is_p_value(method: &str) -> bool {
    let m = method.to_ascii_lowercase();
    m.contains("p_value") || m.contains("p-value") || m.contains("pvalue")
}

fn number(v: Option<&serde_json::Value>) -> Option<f64> {
    match v? {
        serde_json::Value::Number(n) => n.as_f64().filter(|v| v.is_finite()),
        serde_json::Value::String(s) => drift::sample_value(s),
        _ => None,
    }
}

/// Evidently stamps snapshots without a zone ("2026-11-23T00:00:00"): UTC.
fn timestamp(text: &str) -> Option<Timestamp> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

#[async_trait]
impl Source for EvidentlySource {
    fn name(&self) -> &str {
        &self.name
    }

    fn descriptor(&self) -> &'static crate::sources::kinds::Descriptor {
        &crate::sources::kinds::EVIDENTLY
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
        let models = drift::read_models(
            vec![(self.model_name(), SERVING.to_string())],
            self.config.http.timeout,
            &self.config.http.url,
            &self.name,
            self.production,
            |_| self.read_model(&credentials),
        )
        .await?;
        Ok(Snapshot {
            models,
            ..Snapshot::default()
        })
    }

    async fn execute(&self, _action: &Action) -> Result<String, ActionError> {
        Err(ActionError::Unsupported(
            "act on models: Evidently only reports drift (roll back through the model registry)",
        ))
    }

    async fn run_jobs(&self, _run_id: &str) -> Result<Vec<Job>, SourceError> {
        Err(SourceError::Unsupported(
            "evidently sources have no pipeline runs".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_times_without_a_zone_are_utc() {
        let t = timestamp("2026-11-23T00:00:00").expect("naive");
        assert_eq!(t.to_rfc3339(), "2026-11-23T00:00:00+00:00");
        assert!(timestamp("2026-11-23T00:00:00.123456").is_some());
        assert!(timestamp("2026-11-23T00:00:00Z").is_some());
        assert!(timestamp("yesterday").is_none());
    }

    #[test]
    fn p_values_alarm_below_distances_above() {
        assert!(is_p_value("K-S p_value"));
        assert!(is_p_value("chi-square p_value"));
        assert!(!is_p_value("Wasserstein distance (normed)"));
        assert!(!is_p_value("PSI"));
    }
}
