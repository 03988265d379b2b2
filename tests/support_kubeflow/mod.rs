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

fn set_state(run: &mut Value, to: &str, now: i64) {
    run["state"] = json!(to);
    if let Some(history) = run["state_history"].as_array_mut() {
        history.push(json!({"update_time": at(now), "state": to}));
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

/// `page_size`: 0 or absent is 20, above 200 is 200, negative is refused.
fn page_size(state: &State, q: &dyn Fn(&str) -> Option<String>) -> Result<usize, Refused> {
    let size: i64 = match q("page_size") {
        None => 0,
        Some(s) => s.parse().map_err(|_| {
            refused(
                StatusCode::BAD_REQUEST,
                3,
                &format!("Invalid input error: page_size `{s}` is not a number"),
            )
        })?,
    };
    if size < 0 {
        return Err(refused(
            StatusCode::BAD_REQUEST,
            3,
            "Invalid input error: The page size should be greater than 0. Got -1",
        ));
    }
    let size = if size == 0 {
        DEFAULT_PAGE_SIZE
    } else {
        (size as usize).min(MAX_PAGE_SIZE)
    };
    Ok(size.min(state.page_cap.unwrap_or(MAX_PAGE_SIZE)))
}

/// The page token: base64 of `{"offset", "sort_by", "filter"}`.
fn token_of(offset: usize, sort_by: &str, filter: &str) -> String {
    base64(
        json!({"offset": offset, "sort_by": sort_by, "filter": filter})
            .to_string()
            .as_bytes(),
    )
}

/// Where a page starts and the sort it continues; a token whose criteria
/// differ from the ones given is refused, as KFP does.
fn page_start(
    q: &dyn Fn(&str) -> Option<String>,
    filter: &str,
) -> Result<(usize, String), Refused> {
    let Some(token) = q("page_token").filter(|t| !t.is_empty()) else {
        return Ok((0, q("sort_by").unwrap_or_default()));
    };
    let bad = || {
        refused(
            StatusCode::BAD_REQUEST,
            3,
            "Invalid input error: Invalid package token",
        )
    };
    let decoded = unbase64(&token).ok_or_else(bad)?;
    let token: Value = serde_json::from_slice(&decoded).map_err(|_| bad())?;
    let sort_by = token["sort_by"].as_str().unwrap_or_default().to_string();
    let mismatch = q("sort_by").is_some_and(|s| s != sort_by) || token["filter"] != filter;
    if mismatch {
        return Err(refused(
            StatusCode::BAD_REQUEST,
            3,
            "Invalid input error: page token does not match the supplied sort by and/or filtering criteria",
        ));
    }
    Ok((token["offset"].as_u64().unwrap_or(0) as usize, sort_by))
}

fn sorted(mut items: Vec<Value>, sort_by: &str) -> Result<Vec<Value>, Refused> {
    let (field, desc) = match sort_by.split_whitespace().collect::<Vec<_>>().as_slice() {
        [] => ("created_at", false),
        [f] => (*f, false),
        [f, "asc"] => (*f, false),
        [f, "desc"] => (*f, true),
        _ => {
            return Err(refused(
                StatusCode::BAD_REQUEST,
                3,
                &format!("Invalid input error: Invalid sorting field: \"{sort_by}\""),
            ));
        }
    };
    if !matches!(
        field,
        "created_at" | "finished_at" | "display_name" | "run_id" | "experiment_id"
    ) {
        return Err(refused(
            StatusCode::BAD_REQUEST,
            3,
            &format!("Invalid input error: Invalid sorting field: \"{field}\" on listable type"),
        ));
    }
    items.sort_by(|a, b| a[field].as_str().cmp(&b[field].as_str()));
    if desc {
        items.reverse();
    }
    Ok(items)
}

fn page_of(
    items: Vec<Value>,
    key: &str,
    start: usize,
    size: usize,
    sort_by: &str,
    filter: &str,
) -> Response<Full<Bytes>> {
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(start).take(size).collect();
    let mut body = json!({ key: page });
    if total > 0 {
        body["total_size"] = json!(total);
    }
    if start + size < total {
        body["next_page_token"] = json!(token_of(start + size, sort_by, filter));
    }
    respond(StatusCode::OK, body)
}

fn list_runs(state: &State, q: &dyn Fn(&str) -> Option<String>) -> Response<Full<Bytes>> {
    let namespace = q("namespace").unwrap_or_default();
    let experiment = q("experiment_id").filter(|e| !e.is_empty());
    if state.multi_user && namespace.is_empty() && experiment.is_none() {
        return status(
            StatusCode::BAD_REQUEST,
            3,
            "Invalid input error: ListRuns must filter by namespace or experiment: A run cannot have an empty namespace in multi-user mode",
        );
    }
    let size = match page_size(state, q) {
        Ok(s) => s,
        Err(e) => return *e,
    };
    let filter = format!("{namespace}|{}", experiment.clone().unwrap_or_default());
    let (start, sort_by) = match page_start(q, &filter) {
        Ok(s) => s,
        Err(e) => return *e,
    };
    let namespace_of = |run: &Value| {
        state
            .experiments
            .iter()
            .find(|e| e["experiment_id"] == run["experiment_id"])
            .and_then(|e| e["namespace"].as_str())
            .unwrap_or("")
            .to_string()
    };
    let runs: Vec<Value> = state
        .runs
        .iter()
        .filter(|r| experiment.as_ref().is_none_or(|e| r["experiment_id"] == *e))
        .filter(|r| !state.multi_user || namespace.is_empty() || namespace_of(r) == namespace)
        .cloned()
        .collect();
    match sorted(runs, &sort_by) {
        Ok(runs) => page_of(runs, "runs", start, size, &sort_by, &filter),
        Err(e) => *e,
    }
}

fn list_experiments(state: &State, q: &dyn Fn(&str) -> Option<String>) -> Response<Full<Bytes>> {
    let namespace = q("namespace").unwrap_or_default();
    if state.multi_user && namespace.is_empty() {
        return status(
            StatusCode::BAD_REQUEST,
            3,
            "Invalid input error: In multi-user mode, ListExperiment requires filtering by namespace",
        );
    }
    let size = match page_size(state, q) {
        Ok(s) => s,
        Err(e) => return *e,
    };
    let (start, sort_by) = match page_start(q, &namespace) {
        Ok(s) => s,
        Err(e) => return *e,
    };
    let experiments: Vec<Value> = state
        .experiments
        .iter()
        .filter(|e| !state.multi_user || e["namespace"] == namespace.as_str())
        .cloned()
        .collect();
    page_of(
        experiments,
        "experiments",
        start,
        size,
        &sort_by,
        &namespace,
    )
}

fn run_verb(state: &mut State, id: &str, verb: &str) -> Response<Full<Bytes>> {
    let now = state.now;
    let Some(run) = state.runs.iter_mut().find(|r| r["run_id"] == id) else {
        return status(
            StatusCode::NOT_FOUND,
            5,
            &format!("Failed to {verb} run {id}: Run {id} not found"),
        );
    };
    let current = run["state"].as_str().unwrap_or_default().to_string();
    match verb {
        "retry" if matches!(current.as_str(), "FAILED" | "CANCELED") => {
            set_state(run, "RUNNING", now);
            run["finished_at"] = json!(ZERO_TIME);
            respond(StatusCode::OK, json!({}))
        }
        "retry" => status(
            StatusCode::BAD_REQUEST,
            9,
            &format!(
                "Failed to retry run {id}: FailedPrecondition: a run in state {current} cannot be retried"
            ),
        ),
        "terminate" if matches!(current.as_str(), "PENDING" | "RUNNING" | "PAUSED") => {
            set_state(run, "CANCELING", now);
            respond(StatusCode::OK, json!({}))
        }
        "terminate" => status(
            StatusCode::BAD_REQUEST,
            9,
            &format!(
                "Failed to terminate run {id}: FailedPrecondition: the run is already {current}"
            ),
        ),
        _ => status(StatusCode::NOT_FOUND, 5, &format!("Not Found: :{verb}")),
    }
}

fn create_run(state: &mut State, body: &str) -> Response<Full<Bytes>> {
    let bad = |m: &str| {
        status(
            StatusCode::BAD_REQUEST,
            3,
            &format!("Invalid input error: {m}"),
        )
    };
    let Ok(Value::Object(run)) = serde_json::from_str::<Value>(body) else {
        return bad("the body is not a Run object");
    };
    if let Some(unknown) = run.keys().find(|k| !RUN_FIELDS.contains(&k.as_str())) {
        return bad(&format!("proto: (line 1:2): unknown field \"{unknown}\""));
    }
    let Some(name) = run
        .get("display_name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    else {
        return bad("The run name is empty. Please specify a valid name");
    };
    let reference = run
        .get("pipeline_version_reference")
        .cloned()
        .unwrap_or(Value::Null);
    let Some(pipeline) = reference["pipeline_id"].as_str() else {
        return bad("Failed to create a run due to missing pipeline_version_reference");
    };
    let version = match reference["pipeline_version_id"].as_str() {
        Some(v) => state
            .versions
            .iter()
            .find(|x| x["pipeline_id"] == pipeline && x["pipeline_version_id"] == v),
        None => state
            .versions
            .iter()
            .rev()
            .find(|x| x["pipeline_id"] == pipeline),
    };
    let Some(version) = version.cloned() else {
        return status(
            StatusCode::NOT_FOUND,
            5,
            &format!("Failed to create a run: pipeline version of {pipeline} not found"),
        );
    };
    let params = run
        .get("runtime_config")
        .and_then(|c| c.get("parameters"))
        .cloned()
        .unwrap_or(json!({}));
    let declared = version["pipeline_spec"]["root"]["inputDefinitions"]["parameters"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (pname, p) in &declared {
        let given = &params[pname];
        if given.is_null() && p.get("defaultValue").is_none() {
            return bad(&format!("input parameter {pname} is required"));
        }
        let ok = match (p["parameterType"].as_str(), given) {
            (_, Value::Null) => true,
            (Some("NUMBER_INTEGER"), v) => v.is_i64(),
            (Some("NUMBER_DOUBLE"), v) => v.is_number(),
            (Some("BOOLEAN"), v) => v.is_boolean(),
            (Some("STRING"), v) => v.is_string(),
            _ => true,
        };
        if !ok {
            return bad(&format!(
                "input parameter {pname} has the wrong type: {given}"
            ));
        }
    }
    let experiment = run
        .get("experiment_id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if state.multi_user && experiment.is_empty() {
        return bad("A run cannot have an empty namespace in multi-user mode");
    }
    let id = format!("new-{}", state.next_id);
    state.next_id += 1;
    let now = state.now;
    let created = json!({
        "experiment_id": experiment,
        "run_id": id,
        "display_name": name,
        "storage_state": "AVAILABLE",
        "pipeline_version_reference": {"pipeline_id": pipeline, "pipeline_version_id": version["pipeline_version_id"]},
        "runtime_config": {"parameters": params},
        "service_account": "pipeline-runner",
        "created_at": at(now),
        "scheduled_at": at(now),
        "finished_at": ZERO_TIME,
        "state": "PENDING",
        "state_history": [{"update_time": at(now), "state": "PENDING"}]
    });
    state.runs.push(created.clone());
    respond(StatusCode::OK, created)
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (KFP's page tokens).
fn base64(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn unbase64(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u32> = text
        .trim_end_matches('=')
        .bytes()
        .map(|c| ALPHABET.iter().position(|a| *a == c).map(|p| p as u32))
        .collect::<Option<_>>()?;
    let mut out = Vec::new();
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, d)| n | d << (18 - 6 * i));
        for i in 0..chunk.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i) & 255) as u8);
        }
    }
    Some(out)
}
