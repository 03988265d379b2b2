//! `kind = "evidently"`: against a real Evidently UI service, and over an
//! in-process HTTP server. The payloads under tests/fixtures/evidently/ were
//! captured from a real Evidently UI (evidently 0.7.23, `evidently ui`)
//! after `capture.py` logged four daily DataDriftPreset + RowCount
//! snapshots; the error bodies are its own too. The real service is seeded
//! by the same script, so its answers and the fixtures must agree.

mod support;

use opsdeck::model::{DriftStatus, ModelDrift, Worse};
use opsdeck::sources::SourceError;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PROJECT_ID: &str = "01a204d2-cad3-78f6-a0d3-80aef13c24dc";

fn config(url: &str, project: &str, extra: &str) -> String {
    format!(
        "[[source]]\nname = \"ev\"\nkind = \"evidently\"\nurl = \"{url}\"\nproject = \"{project}\"\n{extra}\n"
    )
}

fn json_fixture(name: &str) -> serde_json::Value {
    serde_json::from_str(&support::fixture(&format!("evidently/{name}"))).expect("fixture is JSON")
}

async fn evidently(series: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/projects/search/churn-monitoring"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json_fixture("search_project.json")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/projects/{PROJECT_ID}/info")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json_fixture("project_info.json")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/projects/search/nope"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(
            "/api/projects/00000000-0000-0000-0000-000000000000/info",
        ))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json_fixture("project_not_found.json")),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/api/v2/snapshots/{PROJECT_ID}/data_series_batch"
        )))
        .and(body_partial_json(serde_json::json!({"series_filter": [
            {"metric": "evidently:metric_v2:ValueDrift"},
            {"metric": "evidently:metric_v2:DriftedColumnsCount"},
            {"metric": "evidently:metric_v2:RowCount"}]})))
        .respond_with(series)
        .mount(&server)
        .await;
    server
}

async fn read(text: &str) -> Result<ModelDrift, SourceError> {
    let mut snapshot = support::source_of(text).fetch().await?;
    assert_eq!(snapshot.models.len(), 1);
    Ok(snapshot.models.remove(0))
}

#[tokio::test]
async fn drift_per_column_and_share_from_the_latest_snapshot_with_trends() {
    let server =
        evidently(ResponseTemplate::new(200).set_body_json(json_fixture("data_series_batch.json")))
            .await;
    for project in ["churn-monitoring", PROJECT_ID] {
        let model = read(&config(&server.uri(), project, ""))
            .await
            .expect("read");
        assert_eq!(model.error, None);
        assert_eq!(model.model, "churn-monitoring");
        assert_eq!(model.status(), DriftStatus::Drifting);
        assert_eq!(model.sample_count, Some(500));
        let labels: Vec<String> = model
            .metrics_by_severity()
            .iter()
            .map(|m| m.label())
            .collect();
        assert_eq!(
            labels,
            [
                "K-S p_value[tenure]",
                "K-S p_value[age]",
                "drift_share",
                "K-S p_value[income]"
            ],
            "p = 1e-66 is worse than 5e-62"
        );
        let age = model
            .metrics
            .iter()
            .find(|m| m.label() == "K-S p_value[age]")
            .expect("age");
        assert_eq!(
            age.worse,
            Worse::Below,
            "p-values alarm below their threshold"
        );
        assert_eq!(
            (age.warn, age.critical),
            (0.05, 0.05),
            "the column test's own threshold"
        );
        assert_eq!(age.series.len(), 4);
        let share = model
            .metrics
            .iter()
            .find(|m| m.name == "drift_share")
            .expect("share");
        assert!((share.value.expect("share value") - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!((share.warn, share.critical), (0.3, 0.5));
        assert_eq!(share.status(), DriftStatus::Drifting);
        let income = model
            .metrics
            .iter()
            .find(|m| m.label() == "K-S p_value[income]")
            .expect("income");
        assert_eq!(income.status(), DriftStatus::Ok);
        // Past warn since the first snapshot (age p = 0.029, share 0.33 ≥ 0.3).
        assert_eq!(
            model.drifting_since.map(|t| t.to_rfc3339()),
            Some("2026-11-20T00:00:00+00:00".to_string())
        );
        assert_eq!(model.version, None);
        assert!(model.versions.is_empty());
    }
}

#[tokio::test]
async fn the_real_service_agrees_with_the_captured_payloads() {
    let Some(ev) = support::evidently::evidently() else {
        return;
    };
    let server =
        evidently(ResponseTemplate::new(200).set_body_json(json_fixture("data_series_batch.json")))
            .await;
    let captured = read(&config(&server.uri(), "churn-monitoring", ""))
        .await
        .expect("captured");
    for project in ["churn-monitoring", ev.project_id.as_str()] {
        let real = read(&config(&ev.server.url(), project, ""))
            .await
            .expect("read the real service");
        assert_eq!(real.error, None);
        assert_eq!(real.model, "churn-monitoring");
        assert_eq!(real.status(), DriftStatus::Drifting);
        assert_eq!(real.sample_count, Some(500));
        let summary = |m: &ModelDrift| {
            let mut rows: Vec<(String, Option<String>, usize, DriftStatus)> = m
                .metrics
                .iter()
                .map(|x| {
                    (
                        x.label(),
                        x.value.map(|v| format!("{v:.6e}")),
                        x.series.len(),
                        x.status(),
                    )
                })
                .collect();
            rows.sort_by(|a, b| a.0.cmp(&b.0));
            rows
        };
        assert_eq!(summary(&real), summary(&captured));
        assert_eq!(real.drifting_since, captured.drifting_since);
    }
}

#[tokio::test]
async fn configured_share_thresholds_and_model_name_apply() {
    let server =
        evidently(ResponseTemplate::new(200).set_body_json(json_fixture("data_series_batch.json")))
            .await;
    let model = read(&config(
        &server.uri(),
        "churn-monitoring",
        "model = \"churn\"\nwarn = 0.5\ncritical = 0.7",
    ))
    .await
    .expect("read");
    assert_eq!(model.model, "churn");
    let share = model
        .metrics
        .iter()
        .find(|m| m.name == "drift_share")
        .expect("share");
    assert_eq!(
        share.status(),
        DriftStatus::Warning,
        "0.67 between 0.5 and 0.7"
    );
}

#[tokio::test]
async fn no_snapshots_is_no_data_not_ok() {
    // What the UI answers for a project without snapshots.
    let server = evidently(
        ResponseTemplate::new(200).set_body_json(serde_json::json!({"sources": [], "series": []})),
    )
    .await;
    let model = read(&config(&server.uri(), "churn-monitoring", ""))
        .await
        .expect("read");
    assert_eq!(model.error, None);
    assert_eq!(model.status(), DriftStatus::Unknown);
    assert_eq!(model.metrics.len(), 1);
    assert_eq!(model.metrics[0].value, None);
    assert_eq!(model.sample_count, None);
}

#[tokio::test]
async fn a_missing_column_value_in_the_latest_snapshot_is_no_data() {
    let mut body = json_fixture("data_series_batch.json");
    let series = body["series"].as_array_mut().expect("series");
    for s in series.iter_mut() {
        if s["params"]["column"] == "age" {
            s["values"][3] = serde_json::Value::Null;
        }
        if s["params"]["column"] == "income" {
            s["values"][3] = serde_json::json!("NaN");
        }
    }
    let server = evidently(ResponseTemplate::new(200).set_body_json(body)).await;
    let model = read(&config(&server.uri(), "churn-monitoring", ""))
        .await
        .expect("read");
    for column in ["age", "income"] {
        let m = model
            .metrics
            .iter()
            .find(|m| m.feature.as_deref() == Some(column))
            .expect("column");
        assert_eq!(m.value, None, "{column}");
        assert_eq!(
            m.series.len(),
            3,
            "{column}: the other snapshots still chart"
        );
    }
}

/// An Evidently source reads one model: when its read fails, every request
/// of the source failed, so the source is in error with that cause (not an
/// ok source with one unknown model).
#[tokio::test]
async fn unknown_projects_and_backend_errors_are_the_sources_error() {
    let server =
        evidently(ResponseTemplate::new(500).set_body_json(
            serde_json::json!({"status_code": 500, "detail": "Internal Server Error"}),
        ))
        .await;
    let cases = [
        ("nope", "no project named `nope`"),
        (
            "00000000-0000-0000-0000-000000000000",
            "404 on /api/projects/00000000-0000-0000-0000-000000000000/info: project not found",
        ),
        (
            "churn-monitoring",
            "500 on /api/v2/snapshots/01a204d2-cad3-78f6-a0d3-80aef13c24dc/data_series_batch: Internal Server Error",
        ),
    ];
    for (project, expect) in cases {
        let error = read(&config(&server.uri(), project, ""))
            .await
            .expect_err("nothing read")
            .to_string();
        assert!(error.contains(expect), "{project}: {error}");
    }

    let garbage = evidently(ResponseTemplate::new(200).set_body_string("{\"sources\": [")).await;
    let error = read(&config(&garbage.uri(), "churn-monitoring", ""))
        .await
        .expect_err("nothing understood")
        .to_string();
    assert!(
        error.starts_with("cannot understand the backend's answer"),
        "{error}"
    );
}

#[tokio::test]
async fn refused_or_unreachable_fails_the_source_and_the_token_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::header(
            "authorization",
            "Bearer ev-token",
        ))
        .and(path("/api/projects/search/churn-monitoring"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json_fixture("search_project.json")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::header(
            "authorization",
            "Bearer ev-token",
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json_fixture("data_series_batch.json")),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(serde_json::json!({"status_code": 401, "detail": "Unauthorized"})),
        )
        .mount(&server)
        .await;
    let with_token = read(&config(
        &server.uri(),
        "churn-monitoring",
        "token = { command = \"echo ev-token\" }",
    ))
    .await
    .expect("token accepted");
    assert_eq!(with_token.status(), DriftStatus::Drifting);
    let err = read(&config(&server.uri(), "churn-monitoring", ""))
        .await
        .expect_err("refused");
    assert!(matches!(err, SourceError::Auth(_)), "{err}");

    let (_held, port) = support::server::refused_port();
    let err = read(&config(
        &format!("http://127.0.0.1:{port}"),
        "churn-monitoring",
        "",
    ))
    .await
    .expect_err("nobody listens");
    assert!(matches!(err, SourceError::Unreachable(_)), "{err}");
}

#[tokio::test]
async fn evidently_is_read_only() {
    let source = support::source_of(&config("http://127.0.0.1:1", "p", ""));
    for kind in [
        opsdeck::model::ActionKind::SetModelAlias,
        opsdeck::model::ActionKind::Rollback,
    ] {
        assert!(!source.supports(kind));
    }
    assert_eq!(source.kind(), "evidently");
    assert_eq!(source.warning(), None);
    let insecure = support::source_of(&config("https://127.0.0.1:1", "p", "insecure = true"));
    assert_eq!(
        insecure.warning().as_deref(),
        Some("TLS NOT VERIFIED (insecure = true)"),
        "skipped certificate checks are shown"
    );
    assert!(source.provides().drift && !source.provides().pipelines && !source.provides().gitops);
}
