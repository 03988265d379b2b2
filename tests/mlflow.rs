//! `kind = "mlflow"`: against a real MLflow tracking server (seeded through
//! its REST API), the alias rollback through the executor and through the
//! real binary, and the error paths over an in-process HTTP server with
//! payloads shaped like MLflow's own.

mod support;

use std::sync::Arc;
use std::time::Duration;

use opsdeck::app::actions::{PlanContext, plan_model};
use opsdeck::app::audit::AuditLog;
use opsdeck::app::executor::Executor;
use opsdeck::model::{ActionKind, DriftStatus, ModelDrift, Outcome, Snapshot};
use opsdeck::sources::SourceError;
use support::mlflow::{
    CHURN_AGE_PSI, CHURN_DRIFT_START, CHURN_SAMPLE_COUNT, alias_version, mlflow, version_tags,
};
use wiremock::matchers::{body_partial_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn config(url: &str, models: &[&str]) -> String {
    let mut text = format!(
        "[[source]]\nname = \"registry\"\nkind = \"mlflow\"\nurl = \"{url}\"\ntimeout = \"5s\"\n"
    );
    for m in models {
        let experiment = if *m == "churn" {
            "churn-monitoring"
        } else {
            "fraud-monitoring"
        };
        text.push_str(&format!(
            "  [[source.model]]\n  name = \"{m}\"\n  experiment = \"{experiment}\"\n  \
             metrics = [\"psi.*\", \"drift_share\", \"accuracy\"]\n  warn = 0.1\n  critical = 0.25\n  \
             sample_count_metric = \"n_samples\"\n"
        ));
    }
    text
}

fn model<'a>(snapshot: &'a Snapshot, name: &str) -> &'a ModelDrift {
    snapshot
        .models
        .iter()
        .find(|m| m.model == name)
        .unwrap_or_else(|| panic!("no model {name} in {snapshot:#?}"))
}

fn ctx() -> PlanContext {
    PlanContext {
        read_only: false,
        source_production: false,
        now: chrono::Utc::now(),
        rerun_starts_new: false,
        cancel_marks_failed: false,
    }
}

#[tokio::test]
async fn real_mlflow_gives_versions_alias_drift_and_history() {
    let Some(ml) = mlflow() else { return };
    let source = support::source_of(&config(&ml.server.url(), &["churn"]));
    let snapshot = source.fetch().await.expect("read mlflow");
    let churn = model(&snapshot, "churn");
    assert_eq!(churn.error, None);
    assert_eq!(churn.alias, "champion");
    assert_eq!(churn.version.as_deref(), Some("3"));
    let versions: Vec<(&str, &str)> = churn
        .versions
        .iter()
        .map(|v| (v.version.as_str(), v.status.as_str()))
        .collect();
    assert_eq!(versions, [("3", "READY"), ("2", "READY"), ("1", "READY")]);
    assert_eq!(
        churn.previous_version().map(|v| v.version.as_str()),
        Some("2")
    );
    assert_eq!(churn.status(), DriftStatus::Drifting);
    assert_eq!(churn.sample_count, Some(CHURN_SAMPLE_COUNT));

    let age = churn.worst_metric().expect("a metric");
    assert_eq!(age.label(), "psi[age]");
    assert_eq!(
        age.value,
        CHURN_AGE_PSI.last().copied(),
        "from the newest run, not the older one"
    );
    let history: Vec<f64> = age.series.iter().map(|(_, v)| *v).collect();
    assert_eq!(history, CHURN_AGE_PSI);
    let since = churn.drifting_since.expect("drift began");
    assert_eq!(
        since.timestamp_millis(),
        ml.churn_times_ms[CHURN_DRIFT_START]
    );

    let by_label = |label: &str| {
        churn
            .metrics
            .iter()
            .find(|m| m.label() == label)
            .unwrap_or_else(|| panic!("no {label} in {:#?}", churn.metrics))
    };
    assert_eq!(by_label("psi[income]").status(), DriftStatus::Ok);
    assert_eq!(by_label("drift_share").status(), DriftStatus::Ok);
    // A key the run never logged: MLflow answers `{}`; no data, not ok.
    assert_eq!(by_label("accuracy").value, None);
    assert_eq!(by_label("accuracy").status(), DriftStatus::Unknown);
    // Logged as NaN: no data.
    assert_eq!(by_label("psi[nan]").value, None);
}

#[tokio::test]
async fn real_mlflow_one_broken_model_does_not_fail_the_others() {
    let Some(ml) = mlflow() else { return };
    let text = format!(
        "{}  [[source.model]]\n  name = \"ghost\"\n  experiment = \"nowhere\"\n  metrics = [\"psi.*\"]\n  warn = 0.1\n  critical = 0.25\n",
        config(&ml.server.url(), &["aliasless", "fraud"])
    );
    let snapshot = support::source_of(&text).fetch().await.expect("read");

    let aliasless = model(&snapshot, "aliasless");
    let error = aliasless.error.as_deref().expect("alias error");
    assert!(
        error.contains("alias \"champion\" is not set on aliasless"),
        "{error}"
    );
    assert_eq!(aliasless.version, None);
    assert_eq!(aliasless.versions.len(), 3);

    let ghost = model(&snapshot, "ghost");
    let error = ghost.error.as_deref().expect("ghost error");
    assert!(
        error.contains("registered model ghost: RESOURCE_DOES_NOT_EXIST"),
        "{error}"
    );
    assert!(
        error.contains("experiment nowhere: RESOURCE_DOES_NOT_EXIST"),
        "{error}"
    );

    // An experiment without runs: every configured metric shows no data.
    let fraud = model(&snapshot, "fraud");
    assert_eq!(fraud.error, None);
    assert_eq!(fraud.version.as_deref(), Some("3"));
    assert_eq!(fraud.status(), DriftStatus::Unknown);
    assert!(fraud.metrics.iter().all(|m| m.value.is_none()));
}

#[tokio::test]
async fn rollback_through_the_executor_moves_the_alias_tags_the_version_and_audits() {
    let Some(ml) = mlflow() else { return };
    let url = ml.server.url();
    let source = support::source_of(&config(&url, &["fraud"]));
    let snapshot = source.fetch().await.expect("read");
    let fraud = model(&snapshot, "fraud");
    let action = plan_model(ActionKind::SetModelAlias, fraud, None, ctx()).expect("plan");
    assert_eq!(
        action.to.as_deref(),
        Some("2"),
        "the highest READY version below 3"
    );
    assert_eq!(
        action.effect,
        "point registry/fraud alias \"champion\" from version 3 to 2"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    let executor = Executor::new(
        vec![source.clone()],
        AuditLog::new(audit.clone(), "test"),
        false,
    );
    let outcome = executor.execute(1, &action).await;
    let Outcome::Done(message) = &outcome else {
        panic!("rollback failed: {outcome:?}");
    };
    assert!(
        message.contains("now points at version 2 (was 3)"),
        "{message}"
    );

    assert_eq!(alias_version(&url, "fraud", "champion").await, "2");
    let tags = version_tags(&url, "fraud", "2").await;
    assert!(
        tags.contains(&("rolled_back_from".to_string(), "3".to_string())),
        "{tags:?}"
    );
    let lines = support::audit_lines(&audit);
    let outcomes: Vec<&str> = lines.iter().filter_map(|l| l["outcome"].as_str()).collect();
    assert_eq!(outcomes, ["requested", "done"]);
    assert_eq!(lines[0]["action"], "set_model_alias");
    assert_eq!(lines[0]["target"], "fraud");
    assert_eq!(lines[0]["to"], "2");
    assert_eq!(lines[1]["id"], lines[0]["id"]);

    // The next read shows the move.
    let snapshot = source.fetch().await.expect("read again");
    assert_eq!(model(&snapshot, "fraud").version.as_deref(), Some("2"));
    // Moving it where it already is: the backend is asked and refused cleanly.
    let again = opsdeck::model::Action {
        to: Some("2".into()),
        ..action
    };
    let outcome = executor.execute(2, &again).await;
    assert!(
        matches!(&outcome, Outcome::Failed(m) if m.contains("already points at version 2")),
        "{outcome:?}"
    );
}

#[test]
fn rollback_through_the_real_binary_default_and_to() {
    let Some(ml) = mlflow() else { return };
    let url = ml.server.url();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = support::write_config(dir.path(), &config(&url, &["upsell", "retention"]));
    let audit = dir.path().join("audit.jsonl");
    let rollback = |args: &[&str]| {
        support::run(
            support::opsdeck(dir.path())
                .arg("--config")
                .arg(&file)
                .arg("--audit-log")
                .arg(&audit)
                .arg("rollback")
                .args(args),
        )
    };

    let (code, stdout, stderr) = rollback(&["registry/upsell", "--yes"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("will point registry/upsell alias \"champion\" from version 3 to 2"),
        "{stdout}"
    );
    assert!(
        stdout.contains("done: upsell alias \"champion\" now points at version 2"),
        "{stdout}"
    );

    let (code, stdout, stderr) = rollback(&["registry/retention", "--to", "1", "--yes"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("from version 3 to 1"), "{stdout}");

    let (code, _, stderr) = rollback(&["registry/retention", "--to", "9", "--yes"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("registry/retention has no version 9"),
        "{stderr}"
    );

    let (upsell, retention, tags) = support::server::block_on_thread(async {
        (
            alias_version(&url, "upsell", "champion").await,
            alias_version(&url, "retention", "champion").await,
            version_tags(&url, "retention", "1").await,
        )
    });
    assert_eq!((upsell.as_str(), retention.as_str()), ("2", "1"));
    assert!(
        tags.contains(&("rolled_back_from".into(), "3".into())),
        "{tags:?}"
    );
    let outcomes: Vec<String> = support::audit_lines(&audit)
        .iter()
        .map(|l| {
            format!(
                "{} {}",
                l["target"].as_str().unwrap_or(""),
                l["outcome"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            "upsell requested",
            "upsell done",
            "retention requested",
            "retention done"
        ]
    );
}

// ---- error paths over an in-process server ------------------------------

const API: &str = "/api/2.0/mlflow";

fn mlflow_error(code: &str, message: &str) -> serde_json::Value {
    serde_json::json!({"error_code": code, "message": message})
}

fn version(v: &str) -> serde_json::Value {
    serde_json::json!({"name": "churn", "version": v, "creation_timestamp": 1_763_800_000_000_i64,
        "last_updated_timestamp": 1_763_800_000_000_i64, "current_stage": "None", "description": "",
        "source": "runs:/abc/model", "run_id": "abc", "status": "READY", "run_link": ""})
}

/// A registry with churn v1–v3, champion → 3, and an experiment with one run.
async fn registry(server: &MockServer, run: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path(format!("{API}/registered-models/get")))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "registered_model": {"name": "churn", "creation_timestamp": 1, "last_updated_timestamp": 1,
                "latest_versions": [version("3")], "aliases": [{"alias": "champion", "version": "3"}]}})))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/model-versions/search")))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"model_versions": [version("3"), version("2"), version("1")]}),
        ))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/registered-models/alias")))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"model_version": {"name": "churn", "version": "3", "status": "READY", "aliases": ["champion"]}}),
        ))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/experiments/get-by-name")))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"experiment": {"experiment_id": "7", "name": "churn-monitoring", "lifecycle_stage": "active"}}),
        ))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/runs/search")))
        .respond_with(ResponseTemplate::new(200).set_body_json(run))
        .mount(server)
        .await;
}

fn one_run(metrics: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"runs": [{"info": {"run_id": "r1", "run_uuid": "r1", "experiment_id": "7",
        "status": "FINISHED", "start_time": 1_763_800_000_000_i64}, "data": {"metrics": metrics}}]})
}

#[tokio::test]
async fn empty_answers_for_unknown_runs_and_metrics_are_no_data_not_ok() {
    // No run at all: MLflow answers runs/search with `{}`.
    let server = MockServer::start().await;
    registry(&server, serde_json::json!({})).await;
    let snapshot = support::source_of(&config(&server.uri(), &["churn"]))
        .fetch()
        .await
        .expect("read");
    let churn = model(&snapshot, "churn");
    assert_eq!(churn.error, None);
    assert_eq!(churn.status(), DriftStatus::Unknown);
    assert_eq!(churn.metrics.len(), 3);

    // A run without the metric: get-history answers `{}`.
    let server = MockServer::start().await;
    registry(
        &server,
        one_run(serde_json::json!([{"key": "other", "value": 1.0, "timestamp": 1, "step": 0}])),
    )
    .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/metrics/get-history")))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
        .expect(2) // drift_share and accuracy: plain keys are always asked for
        .mount(&server)
        .await;
    let snapshot = support::source_of(&config(&server.uri(), &["churn"]))
        .fetch()
        .await
        .expect("read");
    let churn = model(&snapshot, "churn");
    assert_eq!(churn.status(), DriftStatus::Unknown);
    assert!(
        churn.metrics.iter().all(|m| m.value.is_none()),
        "{:#?}",
        churn.metrics
    );
    server.verify().await;
}

#[tokio::test]
async fn history_is_read_page_by_page() {
    let server = MockServer::start().await;
    registry(
        &server,
        one_run(
            serde_json::json!([{"key": "psi.age", "value": 0.3, "timestamp": 3000, "step": 2}]),
        ),
    )
    .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/metrics/get-history")))
        .and(query_param("metric_key", "psi.age"))
        .and(query_param("page_token", "p2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"metrics": [
            {"key": "psi.age", "value": 0.3, "timestamp": 3000, "step": 2}]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/metrics/get-history")))
        .and(query_param("metric_key", "psi.age"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"metrics": [
            {"key": "psi.age", "value": 0.1, "timestamp": 1000, "step": 0},
            {"key": "psi.age", "value": "NaN", "timestamp": 2000, "step": 1}],
            "next_page_token": "p2"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/metrics/get-history")))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
        .mount(&server)
        .await;
    let snapshot = support::source_of(&config(&server.uri(), &["churn"]))
        .fetch()
        .await
        .expect("read");
    let churn = model(&snapshot, "churn");
    let age = churn
        .metrics
        .iter()
        .find(|m| m.label() == "psi[age]")
        .expect("psi[age]");
    let series: Vec<(i64, f64)> = age
        .series
        .iter()
        .map(|(t, v)| (t.timestamp_millis(), *v))
        .collect();
    assert_eq!(
        series,
        [(1000, 0.1), (3000, 0.3)],
        "NaN dropped, pages joined"
    );
    assert_eq!(churn.status(), DriftStatus::Drifting);
}

#[tokio::test]
async fn unknown_alias_shows_on_the_model() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/registered-models/alias")))
        .respond_with(ResponseTemplate::new(404).set_body_json(mlflow_error(
            "RESOURCE_DOES_NOT_EXIST",
            "Registered model alias champion not found.",
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/registered-models/get")))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"registered_model": {"name": "churn", "latest_versions": [version("2")]}}),
        ))
        .mount(&server)
        .await;
    registry(&server, serde_json::json!({})).await;
    let snapshot = support::source_of(&config(&server.uri(), &["churn"]))
        .fetch()
        .await
        .expect("read");
    let churn = model(&snapshot, "churn");
    assert_eq!(churn.version, None);
    let error = churn.error.as_deref().expect("alias error");
    assert!(
        error.contains("alias \"champion\" is not set on churn"),
        "{error}"
    );
}

#[tokio::test]
async fn failures_stay_on_their_model_unless_the_backend_refuses_us() {
    // 500 and malformed JSON: on the model.
    for (status, body, expect) in [
        (
            500,
            r#"{"error_code":"INTERNAL_ERROR","message":"database is locked"}"#,
            "INTERNAL_ERROR: database is locked",
        ),
        (
            502,
            "<html>Bad Gateway</html>",
            "502 Bad Gateway from /api/2.0/mlflow/experiments/get-by-name",
        ),
        (
            200,
            r#"{"experiment": {"experiment_id": "#,
            "cannot understand the backend's answer",
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(format!("{API}/experiments/get-by-name")))
            .respond_with(ResponseTemplate::new(status).set_body_string(body))
            .mount(&server)
            .await;
        registry(&server, serde_json::json!({})).await;
        let snapshot = support::source_of(&config(&server.uri(), &["churn"]))
            .fetch()
            .await
            .unwrap_or_else(|e| panic!("{body}: source must stay up: {e}"));
        let churn = model(&snapshot, "churn");
        let error = churn.error.as_deref().unwrap_or_default();
        assert!(error.contains(expect), "{body}: {error}");
        assert_eq!(churn.version.as_deref(), Some("3"), "the rest still reads");
    }

    // 401/403: the whole source.
    for status in [401, 403] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(status).set_body_json(mlflow_error(
                "PERMISSION_DENIED",
                "User does not have permission",
            )))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(status))
            .mount(&server)
            .await;
        let err = support::source_of(&config(&server.uri(), &["churn"]))
            .fetch()
            .await
            .expect_err("refused");
        assert!(matches!(err, SourceError::Auth(_)), "{err}");
    }

    // Every request of every model fails: the backend is broken, and the
    // source says so with the cause instead of showing unknown models.
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(503).set_body_string(r#"{"message":"service unavailable"}"#),
        )
        .mount(&server)
        .await;
    let err = support::source_of(&config(&server.uri(), &["churn", "fraud"]))
        .fetch()
        .await
        .expect_err("nothing read")
        .to_string();
    assert!(
        err.contains("503") && err.contains("/api/2.0/mlflow/"),
        "{err}"
    );
}

#[tokio::test]
async fn a_slow_model_times_out_alone() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/registered-models/get")))
        .and(query_param("name", "slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    registry(&server, serde_json::json!({})).await;
    let text = config(&server.uri(), &["churn", "slow"])
        .replace("timeout = \"5s\"", "timeout = \"300ms\"");
    let snapshot = support::source_of(&text).fetch().await.expect("read");
    assert!(
        model(&snapshot, "slow")
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("no answer within 300ms")
    );
    assert_eq!(model(&snapshot, "churn").error, None);
}

#[tokio::test]
async fn the_alias_is_moved_with_the_version_as_a_string_and_integers_are_refused() {
    let server = MockServer::start().await;
    registry(&server, serde_json::json!({})).await;
    // As MLflow does: a string version is taken, an integer refused.
    Mock::given(method("POST"))
        .and(path(format!("{API}/registered-models/alias")))
        .and(body_partial_json(
            serde_json::json!({"name": "churn", "alias": "champion", "version": "2"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/registered-models/alias")))
        .respond_with(ResponseTemplate::new(400).set_body_json(mlflow_error(
            "INVALID_PARAMETER_VALUE",
            "Invalid value 2 for parameter 'version' supplied:  Hint: Value was of type 'int'.",
        )))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/model-versions/set-tag")))
        .and(body_partial_json(serde_json::json!({"name": "churn", "version": "2", "key": "rolled_back_from", "value": "3"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let source = support::source_of(&config(&server.uri(), &["churn"]));
    let snapshot = source.fetch().await.expect("read");
    let action = plan_model(
        ActionKind::SetModelAlias,
        model(&snapshot, "churn"),
        None,
        ctx(),
    )
    .expect("plan");
    let dir = tempfile::tempdir().expect("tempdir");
    let executor = Executor::new(
        vec![source],
        AuditLog::new(dir.path().join("a.jsonl"), "test"),
        false,
    );
    let outcome = executor.execute(1, &action).await;
    assert!(
        matches!(&outcome, Outcome::Done(m) if m.contains("tagged version 2 rolled_back_from=3")),
        "{outcome:?}"
    );
    server.verify().await;
}

#[tokio::test]
async fn a_refused_or_unreachable_rollback_fails_cleanly_and_a_failed_tag_is_said() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Refused by MLflow.
    let server = MockServer::start().await;
    registry(&server, serde_json::json!({})).await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/registered-models/alias")))
        .respond_with(ResponseTemplate::new(404).set_body_json(mlflow_error(
            "RESOURCE_DOES_NOT_EXIST",
            "Model Version (name=churn, version=2) not found",
        )))
        .mount(&server)
        .await;
    let source = support::source_of(&config(&server.uri(), &["churn"]));
    let snapshot = source.fetch().await.expect("read");
    let action = plan_model(
        ActionKind::SetModelAlias,
        model(&snapshot, "churn"),
        None,
        ctx(),
    )
    .expect("plan");
    let executor = Executor::new(
        vec![source],
        AuditLog::new(dir.path().join("a.jsonl"), "test"),
        false,
    );
    let outcome = executor.execute(1, &action).await;
    assert_eq!(
        outcome,
        Outcome::Failed(
            "MLflow refused registered-models/alias: RESOURCE_DOES_NOT_EXIST: Model Version (name=churn, version=2) not found"
                .into()
        )
    );

    // Alias moved but the tag refused: done, and it says what is missing.
    let server = MockServer::start().await;
    registry(&server, serde_json::json!({})).await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/registered-models/alias")))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/model-versions/set-tag")))
        .respond_with(
            ResponseTemplate::new(500).set_body_json(mlflow_error("INTERNAL_ERROR", "boom")),
        )
        .mount(&server)
        .await;
    let source = support::source_of(&config(&server.uri(), &["churn"]));
    let executor = Executor::new(
        vec![source],
        AuditLog::new(dir.path().join("b.jsonl"), "test"),
        false,
    );
    let outcome = executor.execute(1, &action).await;
    assert!(
        matches!(&outcome, Outcome::Done(m) if m.contains("but the rolled_back_from tag could not be set")),
        "{outcome:?}"
    );

    // Nobody listening: nothing was sent.
    let (_held, port) = support::server::refused_port();
    let source: Arc<dyn opsdeck::sources::Source> =
        support::source_of(&config(&format!("http://127.0.0.1:{port}"), &["churn"]));
    let executor = Executor::new(
        vec![source],
        AuditLog::new(dir.path().join("c.jsonl"), "test"),
        false,
    );
    let outcome = executor.execute(1, &action).await;
    assert!(
        matches!(&outcome, Outcome::Failed(m) if m.contains("cannot read alias")),
        "{outcome:?}"
    );
}
