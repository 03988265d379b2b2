//! The drift backends' decoders, through their whole read: Prometheus,
//! MLflow and Evidently served their real answers with one of them mutated
//! (a node replaced, the body cut short, or arbitrary bytes). The read
//! never panics; it gives models (each perhaps with its own error) or an
//! error that says something.

#[path = "common/mutate.rs"]
mod mutate;

use std::sync::LazyLock;

use mutate::{mutate, replacement};
use proptest::prelude::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MLFLOW: &str = "/api/2.0/mlflow";
const EVIDENTLY_PROJECT: &str = "01a204d2-cad3-78f6-a0d3-80aef13c24dc";

/// One answer of a backend: method, path, real body.
struct Route {
    method: &'static str,
    path: String,
    body: Value,
}

fn route(method: &'static str, path: impl Into<String>, body: Value) -> Route {
    Route {
        method,
        path: path.into(),
        body,
    }
}

fn fixture(name: &str) -> Value {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/evidently")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&file).expect("fixture")).expect("JSON")
}

fn prometheus() -> (String, Vec<Route>) {
    let config = r#"
  [[source.model]]
  name = "churn"
  query = 'model_feature_psi{model="churn"}'
  warn = 0.1
  critical = 0.25
  version_query = 'model_info{model="churn"}'
"#;
    let vector = json!({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"__name__": "model_feature_psi", "model": "churn", "feature": "age", "method": "psi", "version": "7"},
         "value": [1_763_800_000.123, "0.31"]},
        {"metric": {"__name__": "model_feature_psi", "model": "churn", "feature": "tenure", "method": "psi"},
         "value": [1_763_800_000.123, "NaN"]}]}});
    let matrix = json!({"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"model": "churn", "feature": "age", "method": "psi"},
         "values": [[1_763_790_000, "0.05"], [1_763_790_180, "NaN"], [1_763_790_360, "0.3"]]}]}});
    let alerts = json!({"status": "success", "data": {"alerts": [
        {"labels": {"alertname": "ModelDrift", "model": "churn"}, "state": "firing",
         "activeAt": "2026-11-22T10:00:00.123Z", "value": "3.1e-01"}]}});
    (
        format!("kind = \"prometheus\"\n{config}"),
        vec![
            route("GET", "/api/v1/query", vector),
            route("GET", "/api/v1/query_range", matrix),
            route("GET", "/api/v1/alerts", alerts),
        ],
    )
}

fn mlflow() -> (String, Vec<Route>) {
    let version = |v: &str| {
        json!({"name": "churn", "version": v, "creation_timestamp": 1_763_000_000_000_i64 + 1000,
               "current_stage": "None", "source": "runs:/abc/model", "run_id": "abc", "status": "READY"})
    };
    let config = "timeout = \"5s\"\n  [[source.model]]\n  name = \"churn\"\n  experiment = \"churn-monitoring\"\n  metrics = [\"psi.*\", \"drift_share\"]\n  warn = 0.1\n  critical = 0.25\n  sample_count_metric = \"n_samples\"\n";
    (
        format!("kind = \"mlflow\"\n{config}"),
        vec![
            route(
                "GET",
                format!("{MLFLOW}/registered-models/get"),
                json!({
                "registered_model": {"name": "churn", "creation_timestamp": 1, "last_updated_timestamp": 1,
                    "latest_versions": [version("3")], "aliases": [{"alias": "champion", "version": "3"}]}}),
            ),
            route(
                "GET",
                format!("{MLFLOW}/model-versions/search"),
                json!({"model_versions": [version("3"), version("2"), version("1")]}),
            ),
            route(
                "GET",
                format!("{MLFLOW}/registered-models/alias"),
                json!({"model_version": {"name": "churn", "version": "3", "status": "READY", "aliases": ["champion"]}}),
            ),
            route(
                "GET",
                format!("{MLFLOW}/experiments/get-by-name"),
                json!({"experiment": {"experiment_id": "7", "name": "churn-monitoring", "lifecycle_stage": "active"}}),
            ),
            route(
                "POST",
                format!("{MLFLOW}/runs/search"),
                json!({"runs": [{
                "info": {"run_id": "r1", "run_uuid": "r1", "experiment_id": "7", "status": "FINISHED",
                         "start_time": 1_763_800_000_000_i64},
                "data": {"metrics": [
                    {"key": "psi.age", "value": 0.31, "timestamp": 1_763_800_000_000_i64, "step": 0},
                    {"key": "drift_share", "value": 0.2, "timestamp": 1_763_800_000_000_i64, "step": 0},
                    {"key": "n_samples", "value": 5000.0, "timestamp": 1_763_800_000_000_i64, "step": 0}]}}]}),
            ),
            route(
                "GET",
                format!("{MLFLOW}/metrics/get-history"),
                json!({"metrics": [
                {"key": "psi.age", "value": 0.05, "timestamp": 1_763_700_000_000_i64, "step": 0},
                {"key": "psi.age", "value": 0.31, "timestamp": 1_763_800_000_000_i64, "step": 1}]}),
            ),
        ],
    )
}

fn evidently() -> (String, Vec<Route>) {
    (
        "kind = \"evidently\"\nproject = \"churn-monitoring\"\n".to_string(),
        vec![
            route(
                "GET",
                "/api/projects/search/churn-monitoring",
                fixture("search_project.json"),
            ),
            route(
                "GET",
                format!("/api/projects/{EVIDENTLY_PROJECT}/info"),
                fixture("project_info.json"),
            ),
            route(
                "POST",
                format!("/api/v2/snapshots/{EVIDENTLY_PROJECT}/data_series_batch"),
                fixture("data_series_batch.json"),
            ),
        ],
    )
}

/// The three backends, each: its config (after url) and its routes.
fn backends() -> Vec<(String, Vec<Route>)> {
    vec![prometheus(), mlflow(), evidently()]
}

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
});

/// One server per backend, reused by every case (reset in between).
static SERVERS: LazyLock<Vec<MockServer>> = LazyLock::new(|| {
    RUNTIME.block_on(async {
        let mut servers = Vec::new();
        for _ in backends() {
            servers.push(MockServer::start().await);
        }
        servers
    })
});

/// The servers are shared: one test at a time uses them.
static IN_USE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// What the mutated answer is.
#[derive(Clone, Debug)]
enum Answer {
    Mutated(Vec<(usize, mutate::Replacement)>),
    Cut(usize),
    Bytes(Vec<u8>),
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        6 => proptest::collection::vec((any::<usize>(), replacement()), 1..4).prop_map(Answer::Mutated),
        2 => any::<usize>().prop_map(Answer::Cut),
        1 => proptest::collection::vec(any::<u8>(), 0..256).prop_map(Answer::Bytes),
    ]
}

/// Read backend `which` with route `target` answering `answer`; the rest
/// answer as the real service does.
fn read(which: usize, target: usize, answer: &Answer) -> Result<(), TestCaseError> {
    let backends = backends();
    let (config, routes) = &backends[which % backends.len()];
    let server = &SERVERS[which % backends.len()];
    let target = target % routes.len();
    let _turn = IN_USE.lock().unwrap_or_else(|p| p.into_inner());
    let result = RUNTIME.block_on(async {
        server.reset().await;
        for (i, r) in routes.iter().enumerate() {
            let body = if i == target {
                match answer {
                    Answer::Mutated(edits) => {
                        let mut body = r.body.clone();
                        for (node, with) in edits {
                            mutate(&mut body, *node, with);
                        }
                        serde_json::to_vec(&body).expect("json")
                    }
                    Answer::Cut(at) => {
                        let whole = serde_json::to_vec(&r.body).expect("json");
                        whole[..at % whole.len().max(1)].to_vec()
                    }
                    Answer::Bytes(bytes) => bytes.clone(),
                }
            } else {
                serde_json::to_vec(&r.body).expect("json")
            };
            Mock::given(method(r.method))
                .and(path(r.path.as_str()))
                .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
                .mount(server)
                .await;
        }
        let text = format!(
            "[[source]]\nname = \"drift\"\nurl = \"{}\"\n{config}",
            server.uri()
        );
        let parsed = opsdeck::config::parse(&text, std::path::Path::new("drift.toml"))
            .expect("a valid config");
        let source = opsdeck::sources::build_all(&parsed).remove(0);
        source.fetch().await
    });
    match result {
        Ok(snapshot) => {
            for model in &snapshot.models {
                if let Some(e) = &model.error {
                    prop_assert!(!e.trim().is_empty(), "an empty model error");
                }
            }
        }
        Err(e) => prop_assert!(!e.to_string().trim().is_empty(), "an empty error"),
    }
    Ok(())
}

#[test]
fn the_real_answers_read_whole() {
    for which in 0..backends().len() {
        let backends = backends();
        let server = &SERVERS[which];
        let _turn = IN_USE.lock().unwrap_or_else(|p| p.into_inner());
        let snapshot = RUNTIME.block_on(async {
            server.reset().await;
            for r in &backends[which].1 {
                Mock::given(method(r.method))
                    .and(path(r.path.as_str()))
                    .respond_with(ResponseTemplate::new(200).set_body_json(&r.body))
                    .mount(server)
                    .await;
            }
            let text = format!(
                "[[source]]\nname = \"drift\"\nurl = \"{}\"\n{}",
                server.uri(),
                backends[which].0
            );
            let parsed = opsdeck::config::parse(&text, std::path::Path::new("drift.toml"))
                .expect("a valid config");
            opsdeck::sources::build_all(&parsed).remove(0).fetch().await
        });
        let snapshot = snapshot.unwrap_or_else(|e| panic!("backend {which}: {e}"));
        assert_eq!(snapshot.models.len(), 1, "backend {which}");
        let model = &snapshot.models[0];
        assert!(model.error.is_none(), "backend {which}: {:?}", model.error);
        assert!(
            model.metrics.iter().any(|m| m.value.is_some()),
            "backend {which} read no value: the mutations would start from nothing"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_answers_never_panic(which in 0usize..3, target in any::<usize>(), answer in answer()) {
        read(which, target, &answer)?;
    }
}
