//! MLflow REST API 2.0: the requests opsdeck makes and the shapes of their
//! answers. MLflow answers an unknown metric or run with 200 and `{}`, so
//! every list here defaults to empty and every object to absent.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::sources::SourceError;
use crate::sources::drift::sample_value;
use crate::sources::http::{self, Credentials, Reply};

/// Versions asked for per page of `model-versions/search`.
const VERSIONS_PAGE: u32 = 200;
/// Points asked for per page of `metrics/get-history`.
const HISTORY_PAGE: u32 = 5000;
/// At most this many pages of one list are read: a bound, not a limit any
/// real registry or monitoring run reaches.
const ALL_PAGES: http::pages::Bounds = http::pages::Bounds {
    items: usize::MAX,
    pages: 20,
};

/// The cursor of the next page: `Some(token)` asks for the page after the
/// first (`None` is the first); no token or an empty one means the last.
fn next_token(token: Option<String>) -> Option<Option<String>> {
    token.filter(|t| !t.is_empty()).map(Some)
}

/// A request that failed: MLflow's own `error_code: message`, or the transport.
#[derive(Debug)]
pub enum MlflowError {
    Api { code: String, message: String },
    Http(SourceError),
}

impl MlflowError {
    pub fn is_source_wide(&self) -> bool {
        matches!(self, MlflowError::Http(e) if crate::sources::drift::is_source_wide(e))
    }
}

impl std::fmt::Display for MlflowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MlflowError::Api { code, message } => write!(f, "{code}: {message}"),
            MlflowError::Http(e) => write!(f, "{e}"),
        }
    }
}

impl From<SourceError> for MlflowError {
    fn from(e: SourceError) -> Self {
        MlflowError::Http(e)
    }
}

#[derive(Deserialize)]
struct ApiError {
    error_code: String,
    #[serde(default)]
    message: String,
}

/// Decode a reply: MLflow's error body on failure, `T` on success.
pub fn decode_reply<T: DeserializeOwned>(reply: &Reply) -> Result<T, MlflowError> {
    if let Some(e) = reply.auth_refusal() {
        return Err(MlflowError::Http(e));
    }
    if !reply.is_success() {
        return Err(match serde_json::from_slice::<ApiError>(&reply.body) {
            Ok(e) => MlflowError::Api {
                code: e.error_code,
                message: e.message,
            },
            Err(_) => MlflowError::Http(reply.status_error()),
        });
    }
    http::decode(&reply.body, &reply.path).map_err(MlflowError::Http)
}

/// One logged-in conversation with the tracking server.
pub struct Api<'a> {
    pub client: &'a reqwest::Client,
    pub base: &'a str,
    pub credentials: &'a Credentials,
    pub polite: &'a crate::sources::polite::Polite,
}

impl Api<'_> {
    pub fn url(&self, endpoint: &str) -> String {
        format!("{}/api/2.0/mlflow/{endpoint}", self.base)
    }

    pub(super) async fn get<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        params: &[(&str, &str)],
    ) -> Result<T, MlflowError> {
        let request = self.client.get(self.url(endpoint)).query(params);
        decode_reply(&crate::sources::drift::send(self.polite, self.credentials, request).await?)
    }

    async fn post<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        body: &serde_json::Value,
    ) -> Result<T, MlflowError> {
        let request = self.client.post(self.url(endpoint)).json(body);
        decode_reply(&crate::sources::drift::send(self.polite, self.credentials, request).await?)
    }

    pub async fn registered_model(&self, name: &str) -> Result<RegisteredModel, MlflowError> {
        let reply: RegisteredModelReply =
            self.get("registered-models/get", &[("name", name)]).await?;
        reply.registered_model.ok_or_else(|| MlflowError::Api {
            code: "RESOURCE_DOES_NOT_EXIST".into(),
            message: format!("registered model {name} came back empty"),
        })
    }

    /// Every version of a model (`registered-models/get` only lists the
    /// newest per stage), in the registry's order.
    pub async fn versions(&self, name: &str) -> Result<Vec<WireVersion>, MlflowError> {
        let filter = format!("name='{}'", name.replace('\'', "\\'"));
        let max = VERSIONS_PAGE.to_string();
        let (filter, max) = (filter.as_str(), max.as_str());
        http::pages::collect(None, ALL_PAGES, |token: Option<String>| async move {
            let mut params = vec![("filter", filter), ("max_results", max)];
            if let Some(t) = &token {
                params.push(("page_token", t.as_str()));
            }
            let page: VersionsPage = self.get("model-versions/search", &params).await?;
            Ok(http::pages::PageOf {
                items: page.model_versions,
                next: next_token(page.next_page_token),
            })
        })
        .await
    }

    /// The version an alias points at.
    pub async fn alias(&self, name: &str, alias: &str) -> Result<WireVersion, MlflowError> {
        let reply: AliasReply = self
            .get(
                "registered-models/alias",
                &[("name", name), ("alias", alias)],
            )
            .await?;
        reply.model_version.ok_or_else(|| MlflowError::Api {
            code: "RESOURCE_DOES_NOT_EXIST".into(),
            message: format!("alias {alias} of {name} points at no version"),
        })
    }

    pub async fn experiment_id(&self, name: &str) -> Result<String, MlflowError> {
        let reply: ExperimentReply = self
            .get("experiments/get-by-name", &[("experiment_name", name)])
            .await?;
        reply
            .experiment
            .map(|e| e.experiment_id)
            .ok_or_else(|| MlflowError::Api {
                code: "RESOURCE_DOES_NOT_EXIST".into(),
                message: format!("experiment {name} came back empty"),
            })
    }

    /// The newest active run of an experiment, if it has one.
    pub async fn newest_run(&self, experiment_id: &str) -> Result<Option<Run>, MlflowError> {
        let body = serde_json::json!({
            "experiment_ids": [experiment_id],
            "max_results": 1,
            "order_by": ["attributes.start_time DESC"],
        });
        let reply: RunsReply = self.post("runs/search", &body).await?;
        Ok(reply.runs.into_iter().next())
    }

    /// Every logged point of one metric of one run, oldest first.
    pub async fn history(&self, run_id: &str, key: &str) -> Result<Vec<WireMetric>, MlflowError> {
        let max = HISTORY_PAGE.to_string();
        let max = max.as_str();
        let pages = http::pages::collect(None, ALL_PAGES, |token: Option<String>| async move {
            let mut params = vec![
                ("run_id", run_id),
                ("metric_key", key),
                ("max_results", max),
            ];
            if let Some(t) = &token {
                params.push(("page_token", t.as_str()));
            }
            let page: HistoryPage = self.get("metrics/get-history", &params).await?;
            Ok::<_, MlflowError>(http::pages::PageOf {
                items: page.metrics,
                next: next_token(page.next_page_token),
            })
        });
        let mut all: Vec<WireMetric> = pages.await?;
        all.sort_by_key(|m| (m.timestamp.unwrap_or(0), m.step.unwrap_or(0)));
        Ok(all)
    }
}

#[derive(Debug, Default, Deserialize)]
struct RegisteredModelReply {
    registered_model: Option<RegisteredModel>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RegisteredModel {
    #[serde(default)]
    pub aliases: Vec<AliasRef>,
}

#[derive(Debug, Deserialize)]
pub struct AliasRef {
    pub alias: String,
    #[serde(deserialize_with = "text")]
    pub version: String,
}

#[derive(Debug, Default, Deserialize)]
struct VersionsPage {
    #[serde(default)]
    model_versions: Vec<WireVersion>,
    next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct WireVersion {
    #[serde(deserialize_with = "text")]
    pub version: String,
    #[serde(default, deserialize_with = "integer")]
    pub creation_timestamp: Option<i64>,
    pub status: Option<String>,
    pub description: Option<String>,
    /// The training run the version came from.
    pub run_id: Option<String>,
    /// The version's own tags (`mlflow.source.git.commit` may be one).
    #[serde(default)]
    pub tags: Vec<WireTag>,
}

/// A `{key, value}` tag of a version or a run.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireTag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Default, Deserialize)]
struct AliasReply {
    model_version: Option<WireVersion>,
}

#[derive(Debug, Default, Deserialize)]
struct ExperimentReply {
    experiment: Option<Experiment>,
}

#[derive(Debug, Deserialize)]
struct Experiment {
    experiment_id: String,
}

#[derive(Debug, Default, Deserialize)]
struct RunsReply {
    #[serde(default)]
    runs: Vec<Run>,
}

#[derive(Debug, Deserialize)]
pub struct Run {
    pub info: RunInfo,
    #[serde(default)]
    pub data: RunData,
}

#[derive(Debug, Deserialize)]
pub struct RunInfo {
    pub run_id: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct RunData {
    #[serde(default)]
    pub metrics: Vec<WireMetric>,
}

#[derive(Debug, Default, Deserialize)]
struct HistoryPage {
    #[serde(default)]
    metrics: Vec<WireMetric>,
    next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct WireMetric {
    pub key: String,
    /// None for NaN (sent as the string "NaN") or anything not a number.
    #[serde(deserialize_with = "number")]
    pub value: Option<f64>,
    #[serde(default, deserialize_with = "integer")]
    pub timestamp: Option<i64>,
    #[serde(default, deserialize_with = "integer")]
    pub step: Option<i64>,
}

/// A string, or a number turned into one (versions are strings on the wire).
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Text {
        S(String),
        N(serde_json::Number),
    }
    Ok(match Text::deserialize(d)? {
        Text::S(s) => s,
        Text::N(n) => n.to_string(),
    })
}

/// A finite number, or a string holding one; anything else is no data.
fn number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n.as_f64().filter(|v| v.is_finite()),
        serde_json::Value::String(s) => sample_value(&s),
        _ => None,
    })
}

/// An integer, or a string holding one (protobuf's JSON form of an int64,
/// which older MLflow servers send); anything else is no data.
fn integer<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_sent_as_strings_are_read_and_nonsense_is_no_time() {
        let v: WireVersion = serde_json::from_str(
            r#"{"version":"3","creation_timestamp":"1772334000000","status":"READY"}"#,
        )
        .expect("a version with its time as a string");
        assert_eq!(v.creation_timestamp, Some(1_772_334_000_000));
        let v: WireVersion =
            serde_json::from_str(r#"{"version":3,"creation_timestamp":1772334000000}"#)
                .expect("as a number");
        assert_eq!(v.creation_timestamp, Some(1_772_334_000_000));
        let v: WireVersion = serde_json::from_str(r#"{"version":"3","creation_timestamp":"soon"}"#)
            .expect("unreadable time: no time, the version still read");
        assert_eq!(v.creation_timestamp, None);
        let v: WireVersion = serde_json::from_str(r#"{"version":"3"}"#).expect("absent");
        assert_eq!(v.creation_timestamp, None);
        let m: WireMetric = serde_json::from_str(
            r#"{"key":"psi.age","value":0.3,"timestamp":"1772334000000","step":"2"}"#,
        )
        .expect("metric");
        assert_eq!((m.timestamp, m.step), (Some(1_772_334_000_000), Some(2)));
    }

    #[test]
    fn empty_answers_are_empty_not_errors() {
        let runs: RunsReply = serde_json::from_str("{}").expect("runs");
        assert!(runs.runs.is_empty());
        let history: HistoryPage = serde_json::from_str("{}").expect("history");
        assert!(history.metrics.is_empty() && history.next_page_token.is_none());
    }

    #[test]
    fn nan_is_no_data_and_versions_are_text() {
        let m: WireMetric =
            serde_json::from_str(r#"{"key":"psi.age","value":"NaN","timestamp":1,"step":0}"#)
                .expect("metric");
        assert_eq!(m.value, None);
        let m: WireMetric =
            serde_json::from_str(r#"{"key":"psi.age","value":0.25}"#).expect("metric");
        assert_eq!(m.value, Some(0.25));
        let v: WireVersion = serde_json::from_str(r#"{"version":3}"#).expect("version");
        assert_eq!(v.version, "3");
    }
}
