//! `kind = "prometheus"`: drift scores kept as Prometheus series. Latest
//! values from `/api/v1/query`, trends from `/api/v1/query_range`, and
//! "drifting since" from the firing and pending alerts of `/api/v1/alerts`.
//! Read-only: a Prometheus has no serving alias to move.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

mod onset;
mod wire;

use super::drift::{self, empty_model, from_seconds, sample_value};
use super::http::{self, Credentials};
use super::{ActionError, Source, SourceError};
use crate::config::{PrometheusConfig, PrometheusModel, Thresholds};
use crate::model::{Action, Job, Metric, ModelDrift, ModelVersion, Snapshot, Timestamp};
use wire::{Alert, AlertsData, Api, InstantSample, QueryData, QueryError, SeriesKey, result_kind};

/// Points per trend: the drift chart is about 120 cells wide in a 160-column
/// terminal, so a finer step would only be averaged away on screen while
/// costing Prometheus and the link more.
pub const TREND_POINTS: u32 = 120;
/// The coarsest resolution Prometheus works at.
const MIN_STEP: Duration = Duration::from_secs(1);
/// What the serving "alias" is called for a backend that has none.
const SERVING: &str = "serving";

/// One Prometheus server.
pub struct PrometheusSource {
    name: String,
    config: PrometheusConfig,
    production: bool,
    poll: Duration,
    client: Result<reqwest::Client, SourceError>,
    /// Its rate limit, if it answers with one (a proxy in front of it may).
    polite: crate::sources::polite::Polite,
    /// Drift crossings found to the raw sample, kept across reads.
    crossings: onset::Crossings,
}

impl PrometheusSource {
    pub fn new(name: &str, config: PrometheusConfig, production: bool, poll: Duration) -> Self {
        let client = http::client(&http::options(&config.http));
        PrometheusSource {
            name: name.to_string(),
            config,
            production,
            poll,
            client,
            polite: Default::default(),
            crossings: Default::default(),
        }
    }
}

/// The step of a trend over `range`: `range / TREND_POINTS`, in whole seconds.
pub fn trend_step(range: Duration) -> Duration {
    let secs = range.as_secs_f64() / f64::from(TREND_POINTS);
    Duration::from_secs(secs.ceil() as u64).max(MIN_STEP)
}

impl PrometheusSource {
    fn key(&self, model: &PrometheusModel, labels: &BTreeMap<String, String>) -> SeriesKey {
        let name = labels
            .get(&self.config.method_label)
            .cloned()
            .or_else(|| model.metric.clone())
            .or_else(|| labels.get("__name__").cloned())
            .unwrap_or_else(|| "drift".into());
        (name, labels.get(&self.config.feature_label).cloned())
    }

    async fn read_model(
        &self,
        api: &Api<'_>,
        model: &PrometheusModel,
        now: Timestamp,
    ) -> Result<ModelDrift, SourceError> {
        let range = self.config.range;
        let step = trend_step(range);
        // Trend points on multiples of the step: the same instants read
        // after read (a crossing found on them is asked about once).
        let start = now - chrono::Duration::from_std(range).unwrap_or(chrono::Duration::hours(6));
        let step_ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX).max(1);
        let start = chrono::DateTime::from_timestamp_millis(
            start.timestamp_millis() - start.timestamp_millis().rem_euclid(step_ms),
        )
        .unwrap_or(start);
        let instant_params = [("query", model.query.clone())];
        let range_params = [
            ("query", model.query.clone()),
            ("start", unix(start)),
            ("end", unix(now)),
            ("step", format!("{}s", step.as_secs())),
        ];
        let instant = api.get("/api/v1/query", &instant_params);
        let trend = api.get("/api/v1/query_range", &range_params);
        let version = async {
            match &model.version_query {
                Some(q) => Some(api.get("/api/v1/query", &[("query", q.clone())]).await),
                None => None,
            }
        };
        let (instant, trend, version) = tokio::join!(instant, trend, version);
        // Neither the value nor the trend came back, and not for a reason
        // Prometheus gave about the query: nothing of the model was read.
        if let (Err(QueryError::Http(e)), Err(QueryError::Http(_))) = (&instant, &trend) {
            if !matches!(version, Some(Ok(_))) {
                return Err(e.clone());
            }
        }

        let mut out = empty_model(&self.name, &model.name, SERVING, self.production);
        out.serving = model.serving.as_ref().map(|l| l.value.clone());
        out.train = model.train.as_ref().map(crate::config::Train::link);
        let mut errors = Vec::new();
        let mut metrics: BTreeMap<SeriesKey, Metric> = BTreeMap::new();
        let t = &model.thresholds;
        match fail_http(instant)? {
            Ok(QueryData::Vector(samples)) => {
                for s in samples {
                    let value = s.value.and_then(|(_, v)| sample_value(&v));
                    let m = metric_entry(&mut metrics, self.key(model, &s.metric), t);
                    // With several series per feature, the worst one speaks.
                    m.value = match (m.value, value) {
                        (Some(a), Some(b)) => Some(match t.worse {
                            crate::model::Worse::Above => a.max(b),
                            crate::model::Worse::Below => a.min(b),
                        }),
                        (a, b) => a.or(b),
                    };
                }
            }
            Ok(QueryData::Scalar((_, v))) => {
                let key = self.key(model, &BTreeMap::new());
                metric_entry(&mut metrics, key, t).value = sample_value(&v);
            }
            Ok(other) => errors.push(format!(
                "query: expected an instant vector, got a {} (drop any [range] selector)",
                result_kind(&other)
            )),
            Err(e) => errors.push(e),
        }
        match fail_http(trend)? {
            Ok(QueryData::Matrix(series)) => {
                for s in series {
                    let points = s
                        .values
                        .iter()
                        .filter_map(|(at, v)| Some((from_seconds(*at)?, sample_value(v)?)));
                    let m = metric_entry(&mut metrics, self.key(model, &s.metric), t);
                    if m.series.is_empty() {
                        m.series = points.collect();
                    }
                }
            }
            Ok(_) => {}
            // The instant query already said what is wrong with the query.
            Err(e) if errors.is_empty() => errors.push(format!("trend: {e}")),
            Err(_) => {}
        }
        match version.map(fail_http).transpose()? {
            Some(Ok(QueryData::Vector(mut samples))) => {
                samples.sort_by(|a, b| {
                    let v = |s: &InstantSample| {
                        s.value
                            .as_ref()
                            .and_then(|(_, v)| sample_value(v))
                            .unwrap_or(f64::NEG_INFINITY)
                    };
                    v(b).total_cmp(&v(a))
                });
                for s in &samples {
                    let Some(v) = s.metric.get(&model.version_label) else {
                        continue;
                    };
                    if !out.versions.iter().any(|known| &known.version == v) {
                        // Prometheus knows a version's label, not its registry status.
                        out.versions.push(ModelVersion {
                            revision: None,
                            run_id: None,
                            version: v.clone(),
                            created_at: None,
                            status: "UNKNOWN".into(),
                            description: None,
                        });
                    }
                }
                out.version = out.versions.first().map(|v| v.version.clone());
                // Newest first, as everywhere; numbered versions by number.
                out.versions
                    .sort_by_key(|v| std::cmp::Reverse(v.version.parse::<u64>().ok()));
                if out.version.is_none() && !samples.is_empty() {
                    errors.push(format!(
                        "version_query: its series have no `{}` label (set version_label)",
                        model.version_label
                    ));
                }
            }
            Some(Ok(_)) | None => {}
            Some(Err(e)) => errors.push(format!("version_query: {e}")),
        }
        if metrics.is_empty() && errors.is_empty() {
            // No series at all: no data, never "ok".
            let key = (model.metric.clone().unwrap_or_else(|| "drift".into()), None);
            metric_entry(&mut metrics, key, t);
        }
        out.episodes = Some(
            self.crossings
                .episodes(api, model, &metrics, step, now, |labels| {
                    self.key(model, labels)
                })
                .await,
        );
        out.metrics = metrics.into_values().collect();
        if !errors.is_empty() {
            out.error = Some(errors.join("; "));
        }
        Ok(out)
    }

    async fn alerts(&self, api: &Api<'_>) -> Result<Vec<Alert>, QueryError> {
        let data = api.data("/api/v1/alerts", &[]).await?;
        let data: AlertsData = serde_json::from_value(data)
            .map_err(|e| QueryError::Http(SourceError::Decode(format!("/api/v1/alerts: {e}"))))?;
        Ok(data.alerts)
    }
}

/// The metric of one series key, created on first sight.
fn metric_entry<'m>(
    metrics: &'m mut BTreeMap<SeriesKey, Metric>,
    key: SeriesKey,
    t: &Thresholds,
) -> &'m mut Metric {
    metrics.entry(key.clone()).or_insert_with(|| Metric {
        name: key.0,
        feature: key.1,
        value: None,
        warn: t.warn,
        critical: t.critical,
        worse: t.worse,
        series: Vec::new(),
    })
}

/// Split off what fails the whole source; keep the rest for the model.
fn fail_http<T>(r: Result<T, QueryError>) -> Result<Result<T, String>, SourceError> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(QueryError::Http(e)) if drift::is_source_wide(&e) => Err(e),
        Err(e) => Ok(Err(e.to_string())),
    }
}

fn unix(t: Timestamp) -> String {
    format!("{:.3}", t.timestamp_millis() as f64 / 1000.0)
}

#[async_trait]
impl Source for PrometheusSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn descriptor(&self) -> &'static crate::sources::kinds::Descriptor {
        &crate::sources::kinds::PROMETHEUS
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
        let client = self.client.as_ref().map_err(Clone::clone)?;
        let credentials = Credentials::resolve(&self.config.http.auth).await?;
        let api = Api {
            client,
            base: &self.config.http.url,
            credentials: &credentials,
            polite: &self.polite,
        };
        let now = chrono::Utc::now();
        let timeout = self.config.http.timeout;
        let names = self
            .config
            .models
            .iter()
            .map(|m| (m.name.clone(), SERVING.to_string()))
            .collect();
        let (alerts, models) = tokio::join!(
            tokio::time::timeout(timeout, self.alerts(&api)),
            drift::read_models(
                names,
                timeout,
                &self.config.http.url,
                &self.name,
                self.production,
                |i| { self.read_model(&api, &self.config.models[i], now) }
            ),
        );
        let mut models = models?;
        let alerts = match alerts {
            Ok(Ok(alerts)) => Ok(alerts),
            Ok(Err(QueryError::Http(e))) if drift::is_source_wide(&e) => return Err(e),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!(
                "no answer within {}",
                humantime::format_duration(timeout)
            )),
        };
        match alerts {
            Ok(alerts) => {
                for model in &mut models {
                    model.drifting_since = alerts
                        .iter()
                        .filter(|a| matches!(a.state.as_str(), "firing" | "pending"))
                        .filter(|a| a.labels.get(&self.config.alert_label) == Some(&model.model))
                        .filter_map(|a| a.active_at.as_deref())
                        .filter_map(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                        .map(|t| t.with_timezone(&chrono::Utc))
                        .min();
                }
            }
            // The drift values stand without alerts; only "since" is unknown.
            Err(e) => tracing::warn!(source = %self.name, error = %e, "cannot read alerts"),
        }
        Ok(Snapshot {
            models,
            ..Snapshot::default()
        })
    }

    async fn execute(&self, _action: &Action) -> Result<String, ActionError> {
        Err(ActionError::Unsupported(
            "act on models: Prometheus only reports drift (roll back through the model registry)",
        ))
    }

    async fn run_jobs(&self, _run_id: &str) -> Result<Vec<Job>, SourceError> {
        Err(SourceError::Unsupported(
            "prometheus sources have no pipeline runs".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_hours_make_about_120_points() {
        assert_eq!(
            trend_step(Duration::from_secs(6 * 3600)),
            Duration::from_secs(180)
        );
        assert_eq!(trend_step(Duration::from_secs(60)), Duration::from_secs(1));
        assert_eq!(trend_step(Duration::from_millis(10)), MIN_STEP);
    }

    #[test]
    fn results_of_every_type_decode() {
        let vector: QueryData = serde_json::from_str(
            r#"{"resultType":"vector","result":[{"metric":{"feature":"age"},"value":[1700000000.1,"0.2"]}]}"#,
        )
        .expect("vector");
        assert!(matches!(vector, QueryData::Vector(ref v) if v.len() == 1));
        let scalar: QueryData =
            serde_json::from_str(r#"{"resultType":"scalar","result":[1700000000,"NaN"]}"#)
                .expect("scalar");
        assert!(matches!(scalar, QueryData::Scalar((_, ref v)) if v == "NaN"));
        let histogram: QueryData = serde_json::from_str(
            r#"{"resultType":"vector","result":[{"metric":{},"histogram":[1,{"count":"1"}]}]}"#,
        )
        .expect("native histogram");
        assert!(matches!(histogram, QueryData::Vector(ref v) if v[0].value.is_none()));
    }
}
