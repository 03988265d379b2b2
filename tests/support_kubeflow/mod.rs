//! A Kubeflow Pipelines API server for tests, on 127.0.0.1, built from the
//! v2beta1 API description (`../shared/api-specs/kubeflow/`): runs
//! (list with `namespace`, `experiment_id`, `sort_by`, `page_size` and a
//! base64 JSON `page_token` that must agree with the `sort_by` it was made
//! for; get; create; `:retry`; `:terminate`), experiments (paged),
//! pipelines and their versions, `healthz`. Answers follow KFP's JSON:
//! proto field names, zero values left out, int64 as strings, an
//! unfinished run's `finished_at` at 1970-01-01, errors as `googleRpcStatus`
//! `{code, message, details}`, unknown fields in a body refused. Multi-user
//! mode wants a namespace; an optional bearer token is checked.

#![allow(dead_code)] // each test file uses its own part

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

mod paging;
use paging::*;
mod act;
use act::*;

/// KFP's page size when none is asked for, and its largest.
pub const DEFAULT_PAGE_SIZE: usize = 20;
pub const MAX_PAGE_SIZE: usize = 200;
/// The zero time KFP writes for a time not reached yet.
pub const ZERO_TIME: &str = "1970-01-01T00:00:00Z";
/// The fields `POST /runs` accepts (`v2beta1Run`); any other is refused.
const RUN_FIELDS: &[&str] = &[
    "experiment_id",
    "run_id",
    "display_name",
    "storage_state",
    "description",
    "pipeline_version_id",
    "pipeline_spec",
    "pipeline_version_reference",
    "runtime_config",
    "service_account",
    "created_at",
    "scheduled_at",
    "finished_at",
    "state",
    "error",
    "run_details",
    "recurring_run_id",
    "state_history",
    "plugins_input",
    "plugins_output",
];

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: String,
    pub bearer: Option<String>,
}

impl Seen {
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    multi_user: bool,
    /// Bearer tokens accepted (`None`: no authentication).
    tokens: Option<Vec<String>>,
    experiments: Vec<Value>,
    pipelines: Vec<Value>,
    versions: Vec<Value>,
    runs: Vec<Value>,
    seen: Vec<Seen>,
    next_id: u64,
    /// A smaller page cap than KFP's 200, so paging shows with few runs.
    page_cap: Option<usize>,
    /// The clock, in Unix seconds, for created and changed runs.
    now: i64,
}

pub struct KfpServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

/// A time as KFP writes it (whole seconds, UTC).
pub fn at(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| ZERO_TIME.into())
}

/// An error answer from a helper (boxed: a response is large).
type Refused = Box<Response<Full<Bytes>>>;

fn refused(http: StatusCode, code: i64, message: &str) -> Refused {
    Box::new(status(http, code, message))
}

/// A `googleRpcStatus` error answer.
fn status(http: StatusCode, code: i64, message: &str) -> Response<Full<Bytes>> {
    respond(
        http,
        json!({"code": code, "message": message, "details": []}),
    )
}

fn respond(http: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = http;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// A pipeline version's spec declaring these runtime parameters
/// (`(name, parameterType, default)`).
pub fn spec(name: &str, parameters: &[(&str, &str, Option<Value>)]) -> Value {
    let params: serde_json::Map<String, Value> = parameters
        .iter()
        .map(|(n, kind, default)| {
            let mut p = json!({"parameterType": kind});
            if let Some(d) = default {
                p["defaultValue"] = d.clone();
                p["isOptional"] = json!(true);
            }
            (n.to_string(), p)
        })
        .collect();
    json!({
        "pipelineInfo": {"name": name},
        "schemaVersion": "2.1.0",
        "sdkVersion": "kfp-2.14.3",
        "root": {"inputDefinitions": {"parameters": params}, "dag": {"tasks": {}}},
        "components": {}, "deploymentSpec": {}
    })
}

/// A run as the server keeps and returns it.
pub struct RunSpec<'a> {
    pub id: &'a str,
    pub experiment: &'a str,
    pub pipeline: &'a str,
    pub version: &'a str,
    pub state: &'a str,
    pub created: i64,
    pub parameters: Value,
}

impl KfpServer {
    pub async fn start() -> KfpServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State {
            next_id: 1,
            now: 1_796_000_000,
            ..State::default()
        }));
        let shared = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(handle(&state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        KfpServer { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn multi_user(&self) {
        self.lock().multi_user = true;
    }

    pub fn accept_tokens(&self, tokens: &[&str]) {
        self.lock().tokens = Some(tokens.iter().map(|t| t.to_string()).collect());
    }

    pub fn page_cap(&self, cap: usize) {
        self.lock().page_cap = Some(cap);
    }

    pub fn experiment(&self, id: &str, name: &str, namespace: &str) {
        self.lock().experiments.push(json!({
            "experiment_id": id, "display_name": name, "namespace": namespace,
            "created_at": at(1_790_000_000), "storage_state": "AVAILABLE",
            "last_run_created_at": at(1_795_000_000)
        }));
    }

    pub fn pipeline(&self, id: &str, name: &str) {
        self.lock().pipelines.push(json!({
            "pipeline_id": id, "display_name": name, "name": name,
            "created_at": at(1_790_000_000), "description": ""
        }));
    }

    pub fn version(&self, pipeline: &str, id: &str, name: &str, created: i64, spec: Value) {
        self.lock().versions.push(json!({
            "pipeline_id": pipeline, "pipeline_version_id": id, "display_name": name,
            "name": name, "created_at": at(created), "pipeline_spec": spec
        }));
    }

    /// Add a run shaped as KFP returns it (state history up to its state,
    /// one task per stage, times at 1970 until reached).
    pub fn run(&self, r: RunSpec<'_>) {
        let finished = matches!(r.state, "SUCCEEDED" | "FAILED" | "CANCELED" | "SKIPPED");
        let mut history = vec![json!({"update_time": at(r.created), "state": "PENDING"})];
        if r.state != "PENDING" {
            history.push(json!({"update_time": at(r.created + 5), "state": "RUNNING"}));
        }
        if !matches!(r.state, "PENDING" | "RUNNING") {
            history.push(json!({"update_time": at(r.created + 300), "state": r.state}));
        }
        let task_state = if r.state == "PENDING" {
            "PENDING"
        } else {
            r.state
        };
        let mut value = json!({
            "experiment_id": r.experiment,
            "run_id": r.id,
            "display_name": format!("run {}", r.id),
            "storage_state": "AVAILABLE",
            "pipeline_version_reference": {"pipeline_id": r.pipeline, "pipeline_version_id": r.version},
            "runtime_config": {"parameters": r.parameters, "pipeline_root": "minio://mlpipeline/v2/artifacts"},
            "service_account": "pipeline-runner",
            "created_at": at(r.created),
            "scheduled_at": at(r.created),
            "finished_at": if finished { at(r.created + 300) } else { ZERO_TIME.to_string() },
            "state": r.state,
            "state_history": history,
            "run_details": {
                "pipeline_context_id": "101",
                "pipeline_run_context_id": "102",
                "task_details": [
                    {"run_id": r.id, "task_id": format!("{}-prep", r.id), "display_name": "prepare-data",
                     "create_time": at(r.created + 5), "start_time": at(r.created + 6),
                     "end_time": at(r.created + 60), "state": "SUCCEEDED", "execution_id": "7",
                     "pod_name": format!("{}-prep-pod", r.id)},
                    {"run_id": r.id, "task_id": format!("{}-train", r.id), "display_name": "train",
                     "create_time": at(r.created + 61), "start_time": at(r.created + 62),
                     "end_time": if finished { at(r.created + 300) } else { ZERO_TIME.to_string() },
                     "state": task_state, "execution_id": "8", "pod_name": format!("{}-train-pod", r.id)}
                ]
            }
        });
        if r.state == "PENDING" {
            value["run_details"]["task_details"] = json!([]);
        }
        self.lock().runs.push(value);
    }

    /// Add a run given whole (a bad one, a run the server could not read).
    pub fn raw_run(&self, value: Value) {
        self.lock().runs.push(value);
    }

    /// Change a run (the test plays the controller).
    pub fn edit_run(&self, id: &str, edit: impl FnOnce(&mut Value)) {
        let mut state = self.lock();
        if let Some(run) = state.runs.iter_mut().find(|r| r["run_id"] == id) {
            edit(run);
        }
    }

    pub fn run_json(&self, id: &str) -> Option<Value> {
        self.lock().runs.iter().find(|r| r["run_id"] == id).cloned()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    pub fn forget_seen(&self) {
        self.lock().seen.clear();
    }

    /// How many requests went to `path` (under /apis/v2beta1).
    pub fn count(&self, path: &str) -> usize {
        let full = format!("/apis/v2beta1{path}");
        self.lock().seen.iter().filter(|s| s.path == full).count()
    }

    /// The controller finishes what is canceling.
    pub fn settle(&self) {
        let mut state = self.lock();
        let now = state.now;
        for run in &mut state.runs {
            if run["state"] == "CANCELING" {
                set_state(run, "CANCELED", now);
                run["finished_at"] = json!(at(now));
            }
        }
    }
}
async fn handle(state: &Arc<Mutex<State>>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let bearer = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let body = match req.into_body().collect().await {
        Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
        Err(_) => String::new(),
    };
    let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
    state.seen.push(Seen {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        body: body.clone(),
        bearer: bearer.clone(),
    });
    if let Some(tokens) = &state.tokens {
        if !bearer.as_ref().is_some_and(|b| tokens.contains(b)) {
            return status(
                StatusCode::UNAUTHORIZED,
                16,
                "Unauthenticated: Failed to authenticate user: the token is invalid or expired",
            );
        }
    }
    let Some(rest) = path.strip_prefix("/apis/v2beta1") else {
        return respond(
            StatusCode::NOT_FOUND,
            json!({"code": 5, "message": "Not Found"}),
        );
    };
    let q = |key: &str| query.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    match (&method, segments.as_slice()) {
        (&Method::GET, ["healthz"]) => respond(
            StatusCode::OK,
            json!({"commit_sha": "7b70c7b", "tag_name": "2.17.0", "multi_user": state.multi_user, "pipeline_store": "database"}),
        ),
        (&Method::GET, ["runs"]) => list_runs(&state, &q),
        (&Method::POST, ["runs"]) => create_run(&mut state, &body),
        (&Method::GET, ["runs", id]) => match state.runs.iter().find(|r| r["run_id"] == *id) {
            Some(run) => respond(StatusCode::OK, run.clone()),
            None => status(
                StatusCode::NOT_FOUND,
                5,
                &format!("Failed to get run: Run {id} not found"),
            ),
        },
        (&Method::POST, ["runs", verb]) if verb.contains(':') => {
            let (id, verb) = verb.split_once(':').unwrap_or_default();
            run_verb(&mut state, id, verb)
        }
        (&Method::GET, ["experiments"]) => list_experiments(&state, &q),
        (&Method::GET, ["pipelines", id]) => {
            match state.pipelines.iter().find(|p| p["pipeline_id"] == *id) {
                Some(p) => respond(StatusCode::OK, p.clone()),
                None => status(
                    StatusCode::NOT_FOUND,
                    5,
                    &format!("Pipeline {id} not found"),
                ),
            }
        }
        (&Method::GET, ["pipelines", id, "versions"]) => {
            let mut versions: Vec<Value> = state
                .versions
                .iter()
                .filter(|v| v["pipeline_id"] == *id)
                .cloned()
                .collect();
            if q("sort_by").as_deref() == Some("created_at desc") {
                versions.reverse();
            }
            let size = q("page_size")
                .and_then(|s| s.parse().ok())
                .unwrap_or(DEFAULT_PAGE_SIZE);
            let total = versions.len();
            versions.truncate(size.max(1));
            respond(
                StatusCode::OK,
                json!({"pipeline_versions": versions, "total_size": total}),
            )
        }
        (&Method::GET, ["pipelines", p, "versions", v]) => {
            match state
                .versions
                .iter()
                .find(|x| x["pipeline_id"] == *p && x["pipeline_version_id"] == *v)
            {
                Some(x) => respond(StatusCode::OK, x.clone()),
                None => status(
                    StatusCode::NOT_FOUND,
                    5,
                    &format!("Pipeline version {v} not found"),
                ),
            }
        }
        _ => status(
            StatusCode::NOT_FOUND,
            5,
            &format!("Not Found: {method} {path}"),
        ),
    }
}
