//! A real MLflow tracking server (from PyPI), started once per test binary
//! with a SQLite store in a temp dir, and seeded through its REST API:
//! registered models with three versions and the `champion` alias, and a
//! monitoring experiment whose newest run logged drift metrics with history.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};

use super::server::{Missing, Server, block_on_thread, locate, shared};

/// First start creates the SQLite schema (many migrations): give it time.
const START_TIMEOUT: Duration = Duration::from_secs(180);
const HOW: &str = "Install it with `python3 -m venv ~/.cache/opsdeck/mlflow-venv && \
                   ~/.cache/opsdeck/mlflow-venv/bin/pip install mlflow`, or set OPSDECK_MLFLOW.";

/// Models seeded with versions 1–3 and `champion` → 3. Each test that moves
/// an alias has a model of its own, so tests can run in parallel.
pub const MODELS: &[&str] = &["churn", "fraud", "upsell", "retention", "aliasless"];
/// Hourly points of churn's `psi.age` in the newest monitoring run, oldest first.
pub const CHURN_AGE_PSI: &[f64] = &[
    0.04, 0.05, 0.05, 0.04, 0.06, 0.05, 0.12, 0.09, 0.11, 0.14, 0.19, 0.24, 0.31,
];
/// Index in `CHURN_AGE_PSI` where the newest stretch past warn (0.1) begins.
pub const CHURN_DRIFT_START: usize = 8;
pub const CHURN_SAMPLE_COUNT: u64 = 5000;

pub struct Mlflow {
    pub server: Server,
    /// Timestamp (ms) of each point of `CHURN_AGE_PSI`.
    pub churn_times_ms: Vec<i64>,
}

static MLFLOW: OnceLock<Result<Mlflow, Missing>> = OnceLock::new();

/// The shared server, or None (after the calling test said it is skipped,
/// or failed under CI) when MLflow is not installed.
pub fn mlflow() -> Option<&'static Mlflow> {
    shared(&MLFLOW, start, HOW)
}

fn start() -> Result<Mlflow, Missing> {
    let venv = dirs::home_dir()
        .map(|h| h.join(".cache/opsdeck/mlflow-venv/bin/mlflow"))
        .into_iter()
        .collect::<Vec<PathBuf>>();
    let mlflow = locate("OPSDECK_MLFLOW", "mlflow", &venv)?;
    let dir: PathBuf = tempfile::Builder::new()
        .prefix("opsdeck-mlflow-")
        .tempdir()
        .expect("temp dir")
        .keep();
    let args = vec![
        "server".to_string(),
        "--host".into(),
        "127.0.0.1".into(),
        // Port 0: uvicorn binds a free port itself and logs which.
        "--port".into(),
        "0".into(),
        "--backend-store-uri".into(),
        format!("sqlite:///{}", dir.join("mlflow.db").display()),
        "--default-artifact-root".into(),
        dir.join("artifacts").display().to_string(),
        "--workers".into(),
        "1".into(),
    ];
    // No telemetry: tests reach nothing beyond 127.0.0.1.
    let env = [
        ("MLFLOW_DISABLE_TELEMETRY", "true"),
        ("DO_NOT_TRACK", "true"),
        ("MLFLOW_TRACKING_URI", ""),
    ];
    let server = Server::start(&mlflow, &args, dir, &env, START_TIMEOUT);
    server.wait_ready("/health", START_TIMEOUT);
    let url = server.url();
    let churn_times_ms = block_on_thread(seed(&url));
    Ok(Mlflow {
        server,
        churn_times_ms,
    })
}

/// One REST call; panics with MLflow's answer if it fails (setup only).
pub async fn call(
    client: &reqwest::Client,
    url: &str,
    endpoint: &str,
    body: Option<Value>,
) -> Value {
    let full = format!("{url}/api/2.0/mlflow/{endpoint}");
    let request = match &body {
        Some(b) => client.post(&full).json(b),
        None => client.get(&full),
    };
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{endpoint}: {e}"));
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "{endpoint} {body:?}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A GET with query parameters.
pub async fn get(
    client: &reqwest::Client,
    url: &str,
    endpoint: &str,
    query: &[(&str, &str)],
) -> Value {
    let response = client
        .get(format!("{url}/api/2.0/mlflow/{endpoint}"))
        .query(query)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{endpoint}: {e}"));
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "{endpoint} {query:?}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// The version an alias points at now, read from the server.
pub async fn alias_version(url: &str, model: &str, alias: &str) -> String {
    let client = reqwest::Client::new();
    let v = get(
        &client,
        url,
        "registered-models/alias",
        &[("name", model), ("alias", alias)],
    )
    .await;
    v["model_version"]["version"]
        .as_str()
        .unwrap_or_else(|| panic!("alias {alias} of {model}: {v}"))
        .to_string()
}

/// A version's tags as (key, value).
pub async fn version_tags(url: &str, model: &str, version: &str) -> Vec<(String, String)> {
    let client = reqwest::Client::new();
    let v = get(
        &client,
        url,
        "model-versions/get",
        &[("name", model), ("version", version)],
    )
    .await;
    v["model_version"]["tags"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .map(|t| {
                    (
                        t["key"].as_str().unwrap_or_default().to_string(),
                        t["value"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn seed(url: &str) -> Vec<i64> {
    let client = reqwest::Client::new();
    let training = call(
        &client,
        url,
        "experiments/create",
        Some(json!({"name": "training"})),
    )
    .await;
    let training_id = training["experiment_id"]
        .as_str()
        .expect("experiment id")
        .to_string();
    let run = call(
        &client,
        url,
        "runs/create",
        Some(json!({"experiment_id": training_id, "run_name": "train"})),
    )
    .await;
    let train_run = run["run"]["info"]["run_id"]
        .as_str()
        .expect("run id")
        .to_string();
    for model in MODELS {
        call(
            &client,
            url,
            "registered-models/create",
            Some(json!({"name": model})),
        )
        .await;
        for _ in 0..3 {
            call(
                &client,
                url,
                "model-versions/create",
                Some(json!({
                    "name": model,
                    "source": format!("runs:/{train_run}/model"),
                    "run_id": train_run,
                })),
            )
            .await;
        }
        if *model != "aliasless" {
            call(
                &client,
                url,
                "registered-models/alias",
                Some(json!({"name": model, "alias": "champion", "version": "3"})),
            )
            .await;
        }
    }

    // churn's monitoring: an older run that must be ignored, then the newest.
    let monitoring = call(
        &client,
        url,
        "experiments/create",
        Some(json!({"name": "churn-monitoring"})),
    )
    .await;
    let monitoring_id = monitoring["experiment_id"]
        .as_str()
        .expect("id")
        .to_string();
    call(
        &client,
        url,
        "experiments/create",
        Some(json!({"name": "fraud-monitoring"})),
    )
    .await;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let hour_ms = 3_600_000;
    let start =
        |ms: i64| json!({"experiment_id": monitoring_id, "start_time": ms, "run_name": "drift"});
    let old = call(
        &client,
        url,
        "runs/create",
        Some(start(now_ms - 48 * hour_ms)),
    )
    .await;
    let old_run = old["run"]["info"]["run_id"]
        .as_str()
        .expect("run id")
        .to_string();
    call(
        &client,
        url,
        "runs/log-metric",
        Some(json!({"run_id": old_run, "key": "psi.age", "value": 0.9, "timestamp": now_ms - 48 * hour_ms, "step": 0})),
    )
    .await;
    let new = call(
        &client,
        url,
        "runs/create",
        Some(start(now_ms - 13 * hour_ms)),
    )
    .await;
    let new_run = new["run"]["info"]["run_id"]
        .as_str()
        .expect("run id")
        .to_string();
    let n = CHURN_AGE_PSI.len() as i64;
    let times: Vec<i64> = (0..n).map(|i| now_ms - (n - 1 - i) * hour_ms).collect();
    let mut metrics = Vec::new();
    for (i, t) in times.iter().enumerate() {
        metrics
            .push(json!({"key": "psi.age", "value": CHURN_AGE_PSI[i], "timestamp": t, "step": i}));
        metrics.push(json!({"key": "psi.income", "value": 0.02 + 0.001 * i as f64, "timestamp": t, "step": i}));
        metrics.push(json!({"key": "drift_share", "value": 0.05, "timestamp": t, "step": i}));
    }
    metrics.push(
        json!({"key": "n_samples", "value": CHURN_SAMPLE_COUNT, "timestamp": now_ms, "step": 0}),
    );
    metrics.push(json!({"key": "psi.nan", "value": "NaN", "timestamp": now_ms, "step": 0}));
    call(
        &client,
        url,
        "runs/log-batch",
        Some(json!({"run_id": new_run, "metrics": metrics})),
    )
    .await;
    times
}
