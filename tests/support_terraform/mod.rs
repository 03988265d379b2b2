//! An HCP Terraform / Terraform Enterprise API server for tests, shaped by
//! the reference in `shared/api-specs/terraform/`: JSON:API documents with
//! `include` and `meta.pagination`, bearer tokens (401 for a bad one, 404
//! for a token without access), 429 with its rate-limit headers and the
//! documented error body, and runs and workspaces that move when acted on.

#![allow(dead_code)]

mod docs;
use docs::{doc, included_for, list_workspaces, run_included, run_json, workspace_json};

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

pub const ORG: &str = "acme";
pub const TOKEN: &str = "tfc-Test.atlasv1.secret-7f3a";
/// A valid token whose user can see nothing: every read is a 404.
pub const STRANGER: &str = "tfc-Stranger.atlasv1.other";

#[derive(Clone, Debug, Default)]
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub project: Option<(String, String)>,
    pub locked: bool,
    pub assessments: bool,
    pub auto_apply: bool,
    pub tags: Vec<String>,
    /// (drifted, succeeded, resources drifted, drifted addresses)
    pub assessment: Option<(bool, bool, u64, Vec<String>)>,
    pub current_run: Option<String>,
    /// Served with attributes no client can read (a broken workspace).
    pub broken: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Run {
    pub id: String,
    pub workspace: String,
    pub status: String,
    pub message: String,
    pub refresh_only: bool,
    pub auto_apply: bool,
    pub trigger: String,
    /// (commit sha, branch, sender)
    pub commit: Option<(String, String, String)>,
    pub plan: (u64, u64, u64),
    pub created_at: String,
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub body: Option<Value>,
    pub content_type: Option<String>,
}

#[derive(Default)]
struct State {
    workspaces: Vec<Workspace>,
    runs: HashMap<String, Run>,
    seen: Vec<Seen>,
    /// The next this many requests are answered 429.
    throttle: usize,
    next_id: u64,
}

pub struct TfcServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl TfcServer {
    pub async fn start() -> TfcServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State::default()));
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
        TfcServer { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("server state")
    }

    pub fn add_workspace(&self, ws: Workspace) {
        self.lock().workspaces.push(ws);
    }

    pub fn add_run(&self, run: Run) {
        let mut state = self.lock();
        if let Some(ws) = state.workspaces.iter_mut().find(|w| w.id == run.workspace) {
            ws.current_run = Some(run.id.clone());
        }
        state.runs.insert(run.id.clone(), run);
    }

    pub fn run(&self, id: &str) -> Option<Run> {
        self.lock().runs.get(id).cloned()
    }

    pub fn workspace(&self, name: &str) -> Option<Workspace> {
        self.lock()
            .workspaces
            .iter()
            .find(|w| w.name == name)
            .cloned()
    }

    pub fn runs_of(&self, ws: &str) -> Vec<Run> {
        self.lock()
            .runs
            .values()
            .filter(|r| r.workspace == ws)
            .cloned()
            .collect()
    }

    pub fn throttle(&self, requests: usize) {
        self.lock().throttle = requests;
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }
}

/// A workspace called `name` (id `ws-<name>`), assessments on.
pub fn workspace(name: &str) -> Workspace {
    Workspace {
        id: format!("ws-{name}"),
        name: name.to_string(),
        assessments: true,
        ..Workspace::default()
    }
}

/// A run of workspace `ws` in `status`, from a VCS commit.
pub fn run(id: &str, ws: &str, status: &str) -> Run {
    Run {
        id: id.to_string(),
        workspace: format!("ws-{ws}"),
        status: status.to_string(),
        message: format!("Merge pull request #7 for {id}"),
        trigger: "manual".into(),
        commit: Some((
            format!("{:0>40}", id.trim_start_matches("run-").to_lowercase()),
            "main".into(),
            "alice".into(),
        )),
        plan: (1, 2, 0),
        created_at: "2026-12-01T10:00:00.000Z".into(),
        ..Run::default()
    }
}

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

fn respond(status: StatusCode, body: Option<Value>, headers: &[(&str, String)]) -> Response<Body> {
    let bytes = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
    let mut response = Response::new(Full::new(bytes).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/vnd.api+json"),
    );
    for (k, v) in headers {
        response.headers_mut().insert(
            hyper::header::HeaderName::from_bytes(k.as_bytes()).expect("header"),
            hyper::header::HeaderValue::from_str(v).expect("value"),
        );
    }
    response
}

/// A JSON:API error document (`status` a string, as the spec says).
fn error(status: StatusCode, title: &str, detail: &str) -> Response<Body> {
    respond(
        status,
        Some(
            json!({"errors": [{"status": status.as_u16().to_string(), "title": title, "detail": detail}]}),
        ),
        &[],
    )
}

fn not_found() -> Response<Body> {
    error(StatusCode::NOT_FOUND, "not found", "")
}

async fn handle(state: &Arc<Mutex<State>>, req: Request<Incoming>) -> Response<Body> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query: BTreeMap<String, String> = req
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let auth = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let content_type = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body = serde_json::from_slice::<Value>(&bytes).ok();
    let mut state = state.lock().expect("state");
    state.seen.push(Seen {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        body: body.clone(),
        content_type: content_type.clone(),
    });
    if state.throttle > 0 {
        state.throttle -= 1;
        return respond(
            StatusCode::TOO_MANY_REQUESTS,
            Some(
                json!({"errors": [{"detail": "You have exceeded the API's rate limit.", "status": 429, "title": "Too many requests"}]}),
            ),
            &[
                ("x-ratelimit-limit", "30".into()),
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-reset", "0.05".into()),
            ],
        );
    }
    match auth.as_deref().and_then(|a| a.strip_prefix("Bearer ")) {
        Some(TOKEN) => {}
        Some(STRANGER) => return not_found(),
        _ => return error(StatusCode::UNAUTHORIZED, "unauthorized", "invalid token"),
    }
    let segments: Vec<&str> = path.trim_start_matches("/api/v2/").split('/').collect();
    match (method, segments.as_slice()) {
        (Method::GET, ["organizations", org, "workspaces"]) if *org == ORG => {
            list_workspaces(&state, &query)
        }
        (Method::GET, ["organizations", org, "workspaces", name]) if *org == ORG => {
            match state.workspaces.iter().find(|w| w.name == *name) {
                Some(ws) => doc(workspace_json(ws), Vec::new()),
                None => not_found(),
            }
        }
        (Method::GET, ["workspaces", id]) => match state.workspaces.iter().find(|w| w.id == *id) {
            Some(ws) => {
                let included =
                    included_for(&state, ws, query.get("include").map_or("", String::as_str));
                doc(workspace_json(ws), included)
            }
            None => not_found(),
        },
        (Method::GET, ["workspaces", id, "runs"]) => {
            let mut runs: Vec<&Run> = state.runs.values().filter(|r| r.workspace == *id).collect();
            runs.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
            let size = query
                .get("page[size]")
                .and_then(|s| s.parse().ok())
                .unwrap_or(20);
            let data: Vec<Value> = runs.iter().take(size).map(|r| run_json(r)).collect();
            let mut included = Vec::new();
            for r in runs.iter().take(size) {
                included.extend(run_included(
                    r,
                    "plan,configuration_version,configuration_version.ingress_attributes",
                ));
            }
            respond(
                StatusCode::OK,
                Some(
                    json!({"data": data, "included": included, "meta": {"pagination": {"current-page": 1, "next-page": null}}}),
                ),
                &[],
            )
        }
        (Method::GET, ["runs", id]) => match state.runs.get(*id) {
            Some(r) => {
                let mut included = run_included(r, "plan");
                included.push(json!({"id": format!("apply-{}", r.id), "type": "applies",
                    "attributes": {"status": if r.status == "applied" { "finished" } else { "pending" }}}));
                doc(run_json(r), included)
            }
            None => not_found(),
        },
        (Method::GET, ["assessment-results", id, "json-output"]) => {
            let ws = state
                .workspaces
                .iter()
                .find(|w| format!("asmtres-{}", w.name) == *id);
            match ws.and_then(|w| w.assessment.clone()) {
                Some((_, _, _, addresses)) => respond(
                    StatusCode::OK,
                    Some(
                        json!({"format_version": "1.2", "resource_drift": addresses.iter().map(|a| json!({
                        "address": a, "mode": "managed",
                        "type": a.split('.').next().unwrap_or(""), "name": a.split('.').nth(1).unwrap_or(""),
                        "change": {"actions": ["update"]}
                    })).collect::<Vec<_>>()}),
                    ),
                    &[],
                ),
                None => not_found(),
            }
        }
        (Method::POST, ["runs"]) => create_run(&mut state, body, content_type),
        (Method::POST, ["runs", id, "actions", verb]) => run_action(&mut state, id, verb),
        (Method::POST, ["workspaces", id, "actions", verb]) => {
            let Some(ws) = state.workspaces.iter_mut().find(|w| w.id == *id) else {
                return not_found();
            };
            match (*verb, ws.locked) {
                ("lock", false) => ws.locked = true,
                ("unlock", true) => ws.locked = false,
                ("lock", true) => {
                    return error(
                        StatusCode::CONFLICT,
                        "conflict",
                        "Unable to lock workspace. The workspace is already locked.",
                    );
                }
                ("unlock", false) => {
                    return error(
                        StatusCode::CONFLICT,
                        "conflict",
                        "Unable to unlock workspace. The workspace is already unlocked.",
                    );
                }
                _ => return not_found(),
            }
            let ws = ws.clone();
            doc(workspace_json(&ws), Vec::new())
        }
        _ => not_found(),
    }
}

fn create_run(
    state: &mut State,
    body: Option<Value>,
    content_type: Option<String>,
) -> Response<Body> {
    if content_type.as_deref() != Some("application/vnd.api+json") {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported media type",
            "send application/vnd.api+json",
        );
    }
    let Some(body) = body else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "invalid body", "");
    };
    let ws_id = body["data"]["relationships"]["workspace"]["data"]["id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    if body["data"]["type"] != "runs" || !state.workspaces.iter().any(|w| w.id == ws_id) {
        return not_found();
    }
    state.next_id += 1;
    let attributes = &body["data"]["attributes"];
    let run = Run {
        id: format!("run-new{}", state.next_id),
        workspace: ws_id.clone(),
        // The plan finishes at once and waits for confirmation.
        status: "planned".into(),
        message: attributes["message"]
            .as_str()
            .unwrap_or("Queued manually via the Terraform Enterprise API")
            .into(),
        refresh_only: attributes["refresh-only"].as_bool().unwrap_or(false),
        auto_apply: attributes["auto-apply"].as_bool().unwrap_or(false),
        trigger: "manual".into(),
        commit: None,
        plan: (0, 0, 0),
        created_at: format!("2026-12-02T10:00:{:02}.000Z", state.next_id),
    };
    if let Some(ws) = state.workspaces.iter_mut().find(|w| w.id == ws_id) {
        ws.current_run = Some(run.id.clone());
    }
    let json = run_json(&run);
    state.runs.insert(run.id.clone(), run);
    respond(StatusCode::CREATED, Some(json!({"data": json})), &[])
}

fn run_action(state: &mut State, id: &str, verb: &str) -> Response<Body> {
    let Some(run) = state.runs.get_mut(id) else {
        return not_found();
    };
    let next = match (verb, run.status.as_str()) {
        ("apply", "planned" | "cost_estimated" | "policy_checked" | "planned_and_saved") => {
            "applied"
        }
        (
            "discard",
            "pending"
            | "planned"
            | "cost_estimated"
            | "policy_checked"
            | "policy_override"
            | "planned_and_saved"
            | "post_plan_completed",
        ) => "discarded",
        ("cancel", "planning" | "applying" | "plan_queued" | "apply_queued") => "canceled",
        ("apply" | "discard" | "cancel", _) => {
            let why = match verb {
                "apply" => "Run was not paused for confirmation or priority; apply failed.",
                "discard" => "Run was not paused for confirmation or priority; discard failed.",
                _ => "Run is not planning or applying; cancel failed.",
            };
            return error(StatusCode::CONFLICT, "transition not allowed", why);
        }
        _ => return not_found(),
    };
    run.status = next.to_string();
    respond(StatusCode::ACCEPTED, None, &[])
}
