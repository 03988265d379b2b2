//! `kind = "prometheus"`: against a real Prometheus (backfilled drift
//! history, alert rules), through the real binary, and over an in-process
//! HTTP server for the error paths (bad PromQL, 5xx, timeouts, 401/403,
//! malformed JSON) with payloads shaped like Prometheus's own.

mod support;

use std::time::Duration;

use opsdeck::model::{DriftStatus, ModelDrift, Snapshot};
use opsdeck::sources::SourceError;
use support::prometheus::{churn_age_psi, prometheus};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn config(url: &str, extra: &str, models: &str) -> String {
    format!(
        "[[source]]\nname = \"prom\"\nkind = \"prometheus\"\nurl = \"{url}\"\n{extra}\n{models}"
    )
}

const CHURN: &str = r#"
  [[source.model]]
  name = "churn"
  query = 'model_feature_psi{model="churn"}'
  warn = 0.1
  critical = 0.25
  version_query = 'model_info{model="churn"}'
"#;

const REAL_MODELS: &str = r#"
  [[source.model]]
  name = "churn"
  query = 'model_feature_psi{model="churn"}'
  warn = 0.1
  critical = 0.25
  version_query = 'model_info{model="churn"}'
  [[source.model]]
  name = "fraud"
  query = 'model_feature_ks_pvalue{model="fraud"}'
  warn = 0.05
  critical = 0.01
  worse = "below"
  [[source.model]]
  name = "empty"
  query = 'model_feature_psi{model="nobody"}'
  warn = 0.1
  critical = 0.25
  [[source.model]]
  name = "broken"
  query = 'model_feature_psi{model="churn"'
  warn = 0.1
  critical = 0.25
  [[source.model]]
  name = "weird"
  query = 'model_feature_psi{model="weird"}'
  warn = 0.1
  critical = 0.25
"#;

fn model<'a>(snapshot: &'a Snapshot, name: &str) -> &'a ModelDrift {
    snapshot
        .models
        .iter()
        .find(|m| m.model == name)
        .unwrap_or_else(|| panic!("no model {name} in {snapshot:#?}"))
}

#[tokio::test]
async fn real_prometheus_gives_values_trends_versions_and_alerts() {
    let Some(prom) = prometheus() else { return };
    let source = support::source_of(&config(&prom.server.url(), "", REAL_MODELS));
    let snapshot = source.fetch().await.expect("read prometheus");
    assert_eq!(snapshot.models.len(), 5);

    let churn = model(&snapshot, "churn");
    assert_eq!(churn.error, None);
    assert_eq!(
        churn.version.as_deref(),
        Some("7"),
        "the version with value 1 serves"
    );
    let versions: Vec<&str> = churn.versions.iter().map(|v| v.version.as_str()).collect();
    assert_eq!(versions, ["7", "6"]);
    assert_eq!(churn.status(), DriftStatus::Drifting);
    let labels: Vec<String> = churn
        .metrics_by_severity()
        .iter()
        .map(|m| m.label())
        .collect();
    assert_eq!(labels, ["psi[age]", "psi[tenure]", "psi[income]"]);
    let age = churn.worst_metric().expect("worst");
    assert!((age.value.expect("age value") - churn_age_psi(0)).abs() < 1e-9);
    // Six hours at a step of 180 s: about 120 points, oldest first, ending at
    // the newest sample.
    assert!(
        (115..=122).contains(&age.series.len()),
        "{} points",
        age.series.len()
    );
    assert!(age.series.windows(2).all(|w| w[0].0 < w[1].0));
    let last = age.series.last().expect("points");
    assert!((last.1 - churn_age_psi(0)).abs() < 0.01, "{last:?}");
    assert!((age.series[0].1 - 0.05).abs() < 1e-9);
    // Drifting since the ModelDrifting alert became active.
    let since = churn
        .drifting_since
        .expect("firing alert gives drifting_since");
    assert!(
        since <= chrono::Utc::now() && since > chrono::Utc::now() - chrono::Duration::minutes(30)
    );

    let fraud = model(&snapshot, "fraud");
    assert_eq!(fraud.status(), DriftStatus::Warning, "p = 0.04 ≤ warn 0.05");
    assert!(fraud.drifting_since.is_some(), "a pending alert counts");

    // An empty result is no data, not ok.
    let empty = model(&snapshot, "empty");
    assert_eq!(empty.error, None);
    assert_eq!(empty.status(), DriftStatus::Unknown);
    assert_eq!(empty.metrics.len(), 1);
    assert_eq!(empty.metrics[0].value, None);
    assert_eq!(empty.drifting_since, None);

    // A bad query shows Prometheus's own words on that model only.
    let broken = model(&snapshot, "broken");
    let error = broken.error.as_deref().expect("bad query error");
    assert!(error.starts_with("bad_data: "), "{error}");
    assert!(error.contains("parse error"), "{error}");

    // NaN and +Inf are no data, never a crash or a value.
    let weird = model(&snapshot, "weird");
    assert_eq!(weird.status(), DriftStatus::Unknown);
    assert!(
        weird
            .metrics
            .iter()
            .all(|m| m.value.is_none() && m.series.is_empty())
    );
}

#[test]
fn status_json_through_the_real_binary_reports_drift_and_exits_1() {
    let Some(prom) = prometheus() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let file = support::write_config(dir.path(), &config(&prom.server.url(), "", CHURN));
    let (code, stdout, stderr) = support::run(
        support::opsdeck(dir.path())
            .arg("--config")
            .arg(&file)
            .args(["status", "--format", "json"]),
    );
    assert_eq!(code, Some(1), "a drifting model needs attention: {stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(json["sources"][0]["kind"], "prometheus");
    assert_eq!(json["sources"][0]["ok"], true);
    let drift = &json["drift"][0];
    assert_eq!(drift["model"], "churn");
    assert_eq!(drift["version"], "7");
    assert_eq!(drift["status"], "drifting");
    assert_eq!(drift["metrics"][0]["name"], "psi");
    assert_eq!(drift["metrics"][0]["feature"], "age");
    assert_eq!(drift["metrics"][0]["status"], "drifting");
}

#[test]
fn rollback_on_a_prometheus_model_is_refused_without_sending_anything() {
    let Some(prom) = prometheus() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let file = support::write_config(dir.path(), &config(&prom.server.url(), "", CHURN));
    let audit = dir.path().join("audit.jsonl");
    let (code, _stdout, stderr) = support::run(
        support::opsdeck(dir.path())
            .arg("--config")
            .arg(&file)
            .arg("--audit-log")
            .arg(&audit)
            .args(["rollback", "prom/churn", "--to", "6", "--yes"]),
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("prometheus sources cannot"), "{stderr}");
    assert!(!audit.exists(), "nothing was sent, so nothing is audited");
}

// ---- error paths over an in-process server ------------------------------

fn vector(series: &[(&str, &str)]) -> serde_json::Value {
    let result: Vec<serde_json::Value> = series
        .iter()
        .map(|(feature, value)| {
            serde_json::json!({
                "metric": {"__name__": "model_feature_psi", "model": "churn", "feature": feature, "method": "psi"},
                "value": [1_763_800_000.123, value],
            })
        })
        .collect();
    serde_json::json!({"status": "success", "data": {"resultType": "vector", "result": result}})
}

fn matrix() -> serde_json::Value {
    serde_json::json!({"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"model": "churn", "feature": "age", "method": "psi"},
         "values": [[1_763_790_000, "0.05"], [1_763_790_180, "NaN"], [1_763_790_360, "0.3"]]}
    ]}})
}

fn no_alerts() -> serde_json::Value {
    serde_json::json!({"status": "success", "data": {"alerts": []}})
}

async fn healthy_mock(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/v1/alerts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(no_alerts()))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/query_range"))
        .respond_with(ResponseTemplate::new(200).set_body_json(matrix()))
        .mount(server)
        .await;
}

#[tokio::test]
async fn bad_promql_shows_prometheus_own_error_on_that_model_only() {
    let server = MockServer::start().await;
    let bad = serde_json::json!({
        "status": "error",
        "errorType": "bad_data",
        "error": "invalid parameter \"query\": 1:27: parse error: unexpected end of input inside braces",
    });
    Mock::given(method("GET"))
        .and(path("/api/v1/query"))
        .and(query_param("query", "model_feature_psi{model=\"churn\""))
        .respond_with(ResponseTemplate::new(400).set_body_json(&bad))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/query_range"))
        .and(query_param("query", "model_feature_psi{model=\"churn\""))
        .respond_with(ResponseTemplate::new(400).set_body_json(&bad))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/query"))
        .respond_with(ResponseTemplate::new(200).set_body_json(vector(&[("age", "0.3")])))
        .mount(&server)
        .await;
    healthy_mock(&server).await;
    let models = r#"
  [[source.model]]
  name = "broken"
  query = 'model_feature_psi{model="churn"'
  warn = 0.1
  critical = 0.25
  [[source.model]]
  name = "churn"
  query = 'model_feature_psi{model="churn"}'
  warn = 0.1
  critical = 0.25
"#;
    let snapshot = support::source_of(&config(&server.uri(), "", models))
        .fetch()
        .await
        .expect("the source stays up");
    assert_eq!(
        model(&snapshot, "broken").error.as_deref(),
        Some(
            "bad_data: invalid parameter \"query\": 1:27: parse error: unexpected end of input inside braces"
        )
    );
    let churn = model(&snapshot, "churn");
    assert_eq!(churn.error, None);
    assert_eq!(churn.status(), DriftStatus::Drifting);
    // The NaN point of the trend is dropped, the others kept in order.
    let values: Vec<f64> = churn.metrics[0].series.iter().map(|(_, v)| *v).collect();
    assert_eq!(values, [0.05, 0.3]);
}

#[tokio::test]
async fn server_errors_and_garbage_stay_on_the_model() {
    for (status, body, expect) in [
        (
            500,
            "<html>internal error</html>",
            "500 Internal Server Error from /api/v1/query",
        ),
        (
            503,
            r#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#,
            "timeout: query timed out in expression evaluation",
        ),
        (
            422,
            r#"{"status":"error","errorType":"execution","error":"found duplicate series for the match group"}"#,
            "execution: found duplicate series for the match group",
        ),
        (
            200,
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{}"#,
            "cannot understand the backend's answer: /api/v1/query",
        ),
        (
            200,
            r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#,
            "expected an instant vector, got a range vector",
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v1/query"))
            .respond_with(ResponseTemplate::new(status).set_body_string(body))
            .mount(&server)
            .await;
        healthy_mock(&server).await;
        let snapshot = support::source_of(&config(&server.uri(), "", CHURN))
            .fetch()
            .await
            .unwrap_or_else(|e| panic!("{status} {body}: the source must stay up: {e}"));
        let churn = model(&snapshot, "churn");
        let error = churn.error.as_deref().unwrap_or_default();
        assert!(error.contains(expect), "{status} {body}: {error}");
        assert_ne!(churn.status(), DriftStatus::Ok);
    }
}

const TWO_MODELS: &str = r#"
  [[source.model]]
  name = "fraud"
  query = 'model_feature_psi{model="fraud"}'
  warn = 0.1
  critical = 0.25
  [[source.model]]
  name = "churn"
  query = 'model_feature_psi{model="churn"}'
  warn = 0.1
  critical = 0.25
"#;

#[tokio::test]
async fn one_models_failed_queries_stay_on_it_and_every_query_failing_fails_the_source() {
    // fraud's queries answer 502 (value and trend); churn's read fine.
    let server = MockServer::start().await;
    for endpoint in ["/api/v1/query", "/api/v1/query_range"] {
        Mock::given(method("GET"))
            .and(path(endpoint))
            .and(query_param("query", "model_feature_psi{model=\"fraud\"}"))
            .respond_with(ResponseTemplate::new(502).set_body_string("upstream gone"))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/api/v1/query"))
        .respond_with(ResponseTemplate::new(200).set_body_json(vector(&[("age", "0.3")])))
        .mount(&server)
        .await;
    healthy_mock(&server).await;
    let snapshot = support::source_of(&config(&server.uri(), "", TWO_MODELS))
        .fetch()
        .await
        .expect("one model's failure leaves the source up");
    let fraud = model(&snapshot, "fraud");
    let error = fraud.error.as_deref().unwrap_or_default();
    assert!(
        error.contains("502") && error.contains("/api/v1/query"),
        "{error}"
    );
    assert_eq!(fraud.status(), DriftStatus::Unknown);
    let churn = model(&snapshot, "churn");
    assert_eq!(churn.error, None);
    assert_eq!(churn.status(), DriftStatus::Drifting);

    // Every query of every model answers 502: the backend is broken, and
    // the source says so with the cause instead of two unknown models.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502).set_body_string("upstream gone"))
        .mount(&server)
        .await;
    let e = support::source_of(&config(&server.uri(), "", TWO_MODELS))
        .fetch()
        .await
        .expect_err("nothing could be read");
    let e = e.to_string();
    assert!(e.contains("502") && e.contains("/api/v1/query"), "{e}");
}

#[tokio::test]
async fn a_slow_model_times_out_alone_and_an_all_slow_backend_fails_the_source() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/query"))
        .and(query_param("query", "slow_metric"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(vector(&[("age", "0.3")]))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/query"))
        .respond_with(ResponseTemplate::new(200).set_body_json(vector(&[("age", "0.02")])))
        .mount(&server)
        .await;
    healthy_mock(&server).await;
    let models = r#"
  [[source.model]]
  name = "slow"
  query = 'slow_metric'
  warn = 0.1
  critical = 0.25
  [[source.model]]
  name = "churn"
  query = 'model_feature_psi{model="churn"}'
  warn = 0.1
  critical = 0.25
"#;
    let source = support::source_of(&config(&server.uri(), "timeout = \"500ms\"", models));
    let started = std::time::Instant::now();
    let snapshot = source
        .fetch()
        .await
        .expect("one slow model does not fail the source");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let slow = model(&snapshot, "slow");
    assert!(
        slow.error
            .as_deref()
            .unwrap_or_default()
            .contains("no answer within 500ms"),
        "{:?}",
        slow.error
    );
    assert_eq!(model(&snapshot, "churn").status(), DriftStatus::Ok);

    // Only slow models: the backend is not answering.
    let only_slow = r#"
  [[source.model]]
  name = "slow"
  query = 'slow_metric'
  warn = 0.1
  critical = 0.25
"#;
    let source = support::source_of(&config(&server.uri(), "timeout = \"500ms\"", only_slow));
    // It says where nothing answered.
    match source.fetch().await.expect_err("all timed out") {
        SourceError::NoAnswer { within, from } => {
            assert_eq!(within, Duration::from_millis(500));
            assert!(from.starts_with(&server.uri()), "{from}");
        }
        other => panic!("not a timeout naming the server: {other:?}"),
    }
}

#[tokio::test]
async fn unauthorised_or_unreachable_fails_the_whole_source() {
    for status in [401, 403] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(status).set_body_string("Unauthorized"))
            .mount(&server)
            .await;
        let err = support::source_of(&config(&server.uri(), "", CHURN))
            .fetch()
            .await
            .expect_err("auth failure fails the source");
        assert!(matches!(err, SourceError::Auth(_)), "{status}: {err}");
        assert!(err.to_string().contains(&status.to_string()), "{err}");
    }
    let (_held, port) = support::server::refused_port();
    let err = support::source_of(&config(&format!("http://127.0.0.1:{port}"), "", CHURN))
        .fetch()
        .await
        .expect_err("nobody listens");
    assert!(matches!(err, SourceError::Unreachable(_)), "{err}");
}

#[tokio::test]
async fn tokens_and_basic_auth_are_sent_and_never_shown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "s3cret-bearer\n").expect("write token");
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer s3cret-bearer"))
        .and(path("/api/v1/query"))
        .respond_with(ResponseTemplate::new(200).set_body_json(vector(&[("age", "0.02")])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        // ops:pa55 in base64
        .and(header("authorization", "Basic b3BzOnBhNTU="))
        .and(path("/api/v1/query"))
        .respond_with(ResponseTemplate::new(200).set_body_json(vector(&[("age", "0.2")])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/query"))
        .respond_with(ResponseTemplate::new(401).set_body_string("no credentials"))
        .mount(&server)
        .await;
    healthy_mock(&server).await;

    let bearer = format!("token = {{ file = \"{}\" }}", token_file.display());
    let snapshot = support::source_of(&config(&server.uri(), &bearer, CHURN))
        .fetch()
        .await
        .expect("bearer accepted");
    assert_eq!(model(&snapshot, "churn").status(), DriftStatus::Ok);

    let basic = "username = \"ops\"\npassword = { command = \"printf pa55\" }";
    let snapshot = support::source_of(&config(&server.uri(), basic, CHURN))
        .fetch()
        .await
        .expect("basic auth accepted");
    assert_eq!(model(&snapshot, "churn").status(), DriftStatus::Warning);

    // A missing secret fails the source, naming where it was looked for only.
    let missing = "token = { env = \"OPSDECK_TEST_NO_SUCH_TOKEN\" }";
    let err = support::source_of(&config(&server.uri(), missing, CHURN))
        .fetch()
        .await
        .expect_err("no token");
    assert_eq!(
        err.to_string(),
        "not allowed: cannot read the token: environment variable OPSDECK_TEST_NO_SUCH_TOKEN is not set"
    );
    let config_debug = format!(
        "{:?}",
        support::parse_config(&config(&server.uri(), &bearer, CHURN))
    );
    assert!(!config_debug.contains("s3cret"), "{config_debug}");
}

#[tokio::test]
async fn firing_and_pending_alerts_of_the_model_give_drifting_since() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/query"))
        .respond_with(ResponseTemplate::new(200).set_body_json(vector(&[("age", "0.3")])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/query_range"))
        .respond_with(ResponseTemplate::new(200).set_body_json(matrix()))
        .mount(&server)
        .await;
    let alerts = serde_json::json!({"status": "success", "data": {"alerts": [
        {"labels": {"alertname": "ModelDrifting", "model_name": "churn"}, "annotations": {},
         "state": "firing", "activeAt": "2026-11-22T18:00:00.5+01:00", "value": "3.1e-01"},
        {"labels": {"alertname": "ModelDriftSlow", "model_name": "churn"}, "annotations": {},
         "state": "pending", "activeAt": "2026-11-22T16:30:00Z", "value": "3.1e-01"},
        {"labels": {"alertname": "ModelDrifting", "model_name": "fraud"}, "annotations": {},
         "state": "firing", "activeAt": "2026-11-20T00:00:00Z", "value": "1e+00"},
        {"labels": {"alertname": "Old", "model_name": "churn"}, "annotations": {},
         "state": "inactive", "activeAt": "2026-11-01T00:00:00Z", "value": "0"}
    ]}});
    Mock::given(method("GET"))
        .and(path("/api/v1/alerts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(alerts))
        .mount(&server)
        .await;
    let snapshot = support::source_of(&config(
        &server.uri(),
        "alert_label = \"model_name\"",
        CHURN,
    ))
    .fetch()
    .await
    .expect("read");
    assert_eq!(
        model(&snapshot, "churn")
            .drifting_since
            .map(|t| t.to_rfc3339()),
        Some("2026-11-22T16:30:00+00:00".to_string())
    );
}

#[tokio::test]
async fn the_trend_asks_for_about_120_points_over_the_configured_range() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/query_range"))
        .and(query_param("step", "30s"))
        .respond_with(ResponseTemplate::new(200).set_body_json(matrix()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/query"))
        .respond_with(ResponseTemplate::new(200).set_body_json(vector(&[("age", "0.3")])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/alerts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(no_alerts()))
        .mount(&server)
        .await;
    let snapshot = support::source_of(&config(&server.uri(), "range = \"1h\"", CHURN))
        .fetch()
        .await
        .expect("read");
    assert_eq!(model(&snapshot, "churn").metrics[0].series.len(), 2);
    server.verify().await;
}
