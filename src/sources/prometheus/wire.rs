//! Prometheus's HTTP API as opsdeck reads it: the reply envelope, the
//! result types of a query, the alerts list, and one logged-in
//! conversation with the server.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::sources::SourceError;
use crate::sources::drift;
use crate::sources::http::{self, Credentials, Reply};

/// A query that failed: Prometheus's own words, or the transport's.
#[derive(Debug)]
pub(super) enum QueryError {
    /// `errorType: error` from Prometheus (`bad_data: parse error …`).
    Prometheus(String),
    Http(SourceError),
}

impl From<SourceError> for QueryError {
    fn from(e: SourceError) -> Self {
        QueryError::Http(e)
    }
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    data: Option<serde_json::Value>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
pub(super) enum QueryData {
    Vector(Vec<InstantSample>),
    Matrix(Vec<RangeSeries>),
    Scalar((f64, String)),
    String(serde::de::IgnoredAny),
}

#[derive(Debug, Deserialize)]
pub(super) struct InstantSample {
    #[serde(default)]
    pub(super) metric: BTreeMap<String, String>,
    /// Absent for native histograms, which are not drift scores.
    pub(super) value: Option<(f64, String)>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RangeSeries {
    #[serde(default)]
    pub(super) metric: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) values: Vec<(f64, String)>,
}

#[derive(Deserialize)]
pub(super) struct AlertsData {
    pub(super) alerts: Vec<Alert>,
}

#[derive(Deserialize)]
pub(super) struct Alert {
    #[serde(default)]
    pub(super) labels: BTreeMap<String, String>,
    pub(super) state: String,
    #[serde(rename = "activeAt")]
    pub(super) active_at: Option<String>,
}

/// One series, reduced to what a labelled sample says.
pub(super) type SeriesKey = (String, Option<String>);

/// A logged-in conversation with the server for one read.
pub(super) struct Api<'a> {
    pub(super) client: &'a reqwest::Client,
    pub(super) base: &'a str,
    pub(super) credentials: &'a Credentials,
    pub(super) polite: &'a crate::sources::polite::Polite,
}

impl Api<'_> {
    pub(super) async fn get(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<QueryData, QueryError> {
        let value = self.data(path, params).await?;
        serde_json::from_value(value)
            .map_err(|e| QueryError::Http(SourceError::Decode(format!("{path}: {e}"))))
    }

    /// The `data` of a reply, or Prometheus's error in its own words.
    pub(super) async fn data(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<serde_json::Value, QueryError> {
        let url = format!("{}{path}", self.base);
        let reply = drift::send(
            self.polite,
            self.credentials,
            self.client.get(&url).query(params),
        )
        .await?;
        envelope_data(&reply)
    }
}

fn envelope_data(reply: &Reply) -> Result<serde_json::Value, QueryError> {
    // Never a query's fault.
    if let Some(e) = reply.auth_refusal() {
        return Err(QueryError::Http(e));
    }
    match http::decode::<Envelope>(&reply.body, &reply.path) {
        Ok(env) if env.status == "error" => Err(QueryError::Prometheus(format!(
            "{}: {}",
            env.error_type.as_deref().unwrap_or("error"),
            env.error.as_deref().unwrap_or("no details")
        ))),
        Ok(env) if reply.is_success() => env.data.ok_or_else(|| {
            QueryError::Http(SourceError::Decode(format!(
                "{}: a success without `data`",
                reply.path
            )))
        }),
        Ok(_) => Err(QueryError::Http(reply.status_error())),
        Err(_) if !reply.is_success() => Err(QueryError::Http(reply.status_error())),
        Err(e) => Err(QueryError::Http(e)),
    }
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueryError::Prometheus(m) => f.write_str(m),
            QueryError::Http(e) => write!(f, "{e}"),
        }
    }
}

pub(super) fn result_kind(data: &QueryData) -> &'static str {
    match data {
        QueryData::Vector(_) => "vector",
        QueryData::Matrix(_) => "range vector (matrix)",
        QueryData::Scalar(_) => "scalar",
        QueryData::String(_) => "string",
    }
}
