//! A scale server for benchmarks: one in-process HTTP server on 127.0.0.1
//! standing in for an Argo CD, a GitHub and a Prometheus at once, with
//! generated data in the shapes the other test servers use:
//!
//! - Argo CD: `GET /api/v1/applications` lists `apps` swagger-shaped
//!   applications (about 3.6 KB each: 10,000 make a list of ~36 MB; the
//!   `fields` selection is ignored, as an older server does);
//!   `GET /api/v1/stream/applications` sends `MODIFIED` events, one JSON
//!   object per line, at `events_per_s` for `stream_for`, then keeps the
//!   stream open with blank keep-alive lines until the server's lifetime
//!   ends. Event `n` sets its app's deployed revision to `e{n:06}…`, which
//!   the GitOps table's `rev` column shows: even events go to the first
//!   `HOT_APPS` apps (the top rows), odd ones are spread over the fleet.
//! - GitHub: `GET /repos/{o}/{r}/actions/runs` for `repos` repositories of
//!   `runs_per_repo` runs each, paged by `per_page`/`page` with `Link`.
//! - Prometheus: `/api/v1/query`, `/api/v1/query_range` (one point a
//!   minute, or at the asked step if coarser) and `/api/v1/alerts` for
//!   `models` models of `FEATURES` features each.
//!
//! Bounded: the server stops by itself after `lifetime`, or when dropped.

#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

#[path = "../support_github/mod.rs"]
mod github;

type Body = BoxBody<Bytes, Infallible>;

/// Even events go to these apps (the top rows of the GitOps table).
pub const HOT_APPS: usize = 30;
/// Features (series) per model.
pub const FEATURES: usize = 4;
/// The bearer token every backend accepts.
pub const TOKEN: &str = "scale-token";

/// What to serve.
#[derive(Clone, Debug)]
pub struct Scale {
    pub apps: usize,
    pub events_per_s: u32,
    pub stream_for: Duration,
    pub repos: usize,
    pub runs_per_repo: usize,
    pub models: usize,
    /// The server stops by itself after this.
    pub lifetime: Duration,
}

impl Scale {
    /// The issue's scale: 10,000 apps and 100 events/s; 50 repositories of
    /// 200 runs; 200 models.
    pub fn full(stream_for: Duration, lifetime: Duration) -> Scale {
        Scale {
            apps: 10_000,
            events_per_s: 100,
            stream_for,
            repos: 50,
            runs_per_repo: 200,
            models: 200,
            lifetime,
        }
    }

    /// A small scale, to check that the bench still works.
    pub fn smoke(stream_for: Duration, lifetime: Duration) -> Scale {
        Scale {
            apps: 300,
            events_per_s: 20,
            stream_for,
            repos: 2,
            runs_per_repo: 150,
            models: 5,
            lifetime,
        }
    }
}

/// What the stream has done, for the bench to compare with the screen.
#[derive(Debug, Default)]
pub struct StreamLog {
    /// When the first event of the first stream was written.
    pub started: Option<Instant>,
    /// When the last event was written.
    pub finished: Option<Instant>,
    /// Events written (the last one is number `sent`).
    pub sent: u64,
    /// Streams opened.
    pub streams: u64,
}

struct Shared {
    scale: Scale,
    port: u16,
    list: Bytes,
    /// (repo index, page) → body, for `per_page = 100`.
    run_pages: Mutex<HashMap<(usize, usize, usize), Bytes>>,
    log: Mutex<StreamLog>,
    requests: AtomicU64,
    list_requests: AtomicU64,
    stop: AtomicBool,
}

/// The running server.
pub struct ScaleServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl ScaleServer {
    /// Generate the data and serve it from a thread of its own (its own
    /// two-worker runtime).
    pub fn start(scale: Scale) -> ScaleServer {
        let list = argo_list(scale.apps);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared {
            scale,
            port: addr.port(),
            list,
            run_pages: Mutex::new(HashMap::new()),
            log: Mutex::new(StreamLog::default()),
            requests: AtomicU64::new(0),
            list_requests: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = shared.clone();
        let thread = std::thread::Builder::new()
            .name("scale-server".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(serve(listener, serving, stopped));
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .expect("server thread");
        ScaleServer {
            addr,
            shared,
            thread: Some(thread),
            shutdown: Some(shutdown),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Bytes of the application list.
    pub fn list_bytes(&self) -> usize {
        self.shared.list.len()
    }

    pub fn list_requests(&self) -> u64 {
        self.shared.list_requests.load(Ordering::Relaxed)
    }

    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// A copy of the stream's log.
    pub fn stream(&self) -> StreamLog {
        let l = self.shared.log.lock().expect("log");
        StreamLog {
            started: l.started,
            finished: l.finished,
            sent: l.sent,
            streams: l.streams,
        }
    }

    /// The config for everything served (`token_file` holds [`TOKEN`]);
    /// the polled sources (GitHub, Prometheus) refresh every `refresh`.
    pub fn config(&self, token_file: &std::path::Path, with: Parts, refresh: &str) -> String {
        let url = self.url();
        let token = format!("{{ file = \"{}\" }}", token_file.display());
        let mut out = String::new();
        if with.argocd {
            out += &format!(
                "[[source]]\nname = \"argo\"\nkind = \"argocd\"\nurl = \"{url}\"\ntoken = {token}\n\n"
            );
        }
        if with.github {
            for r in 0..self.shared.scale.repos {
                out += &format!(
                    "[[source]]\nname = \"ci-{r:02}\"\nkind = \"github\"\nrepo = \"scale-org/repo-{r:02}\"\n\
                     api_url = \"{url}\"\ntoken = {token}\nlimit = {}\nrefresh = \"{refresh}\"\n\n",
                    self.shared.scale.runs_per_repo
                );
            }
        }
        if with.prometheus {
            out += &format!(
                "[[source]]\nname = \"prom\"\nkind = \"prometheus\"\nurl = \"{url}\"\nrange = \"3h\"\nrefresh = \"{refresh}\"\n\n"
            );
            for m in 0..self.shared.scale.models {
                out += &format!(
                    "[[source.model]]\nname = \"model-{m:03}\"\nquery = 'drift_score{{model=\"model-{m:03}\"}}'\n\
                     warn = 0.1\ncritical = 0.25\n\n"
                );
            }
        }
        out
    }
}

/// Which backends a config names.
#[derive(Clone, Copy, Debug)]
pub struct Parts {
    pub argocd: bool,
    pub github: bool,
    pub prometheus: bool,
}

impl Parts {
    pub const ARGOCD: Parts = Parts {
        argocd: true,
        github: false,
        prometheus: false,
    };
    pub const ALL: Parts = Parts {
        argocd: true,
        github: true,
        prometheus: true,
    };
}

impl Drop for ScaleServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
    let end = tokio::time::sleep(shared.scale.lifetime);
    tokio::pin!(end);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = &mut end => break,
            _ = &mut stopped => break,
        };
        let Ok((stream, _)) = accepted else { break };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(handle(&shared, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
    shared.stop.store(true, Ordering::Relaxed);
}

fn query(req: &Request<Incoming>) -> HashMap<String, String> {
    req.uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

fn bytes(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Full::new(body).map_err(|never| match never {}).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

fn json_response(body: &Value) -> Response<Body> {
    bytes(
        StatusCode::OK,
        Bytes::from(serde_json::to_vec(body).expect("json")),
    )
}

async fn handle(shared: &Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let q = query(&req);
    let path = req.uri().path().to_string();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["api", "v1", "applications"] => {
            shared.list_requests.fetch_add(1, Ordering::Relaxed);
            bytes(StatusCode::OK, shared.list.clone())
        }
        ["api", "v1", "stream", "applications"] => stream(shared),
        ["repos", _owner, repo, "actions", "runs"] => runs(shared, repo, &q),
        ["api", "v1", "query"] => prom_query(shared, &q),
        ["api", "v1", "query_range"] => prom_range(shared, &q),
        ["api", "v1", "alerts"] => prom_alerts(shared),
        _ => bytes(
            StatusCode::NOT_FOUND,
            Bytes::from_static(br#"{"message":"Not Found"}"#),
        ),
    }
}

// ---- Argo CD --------------------------------------------------------------

fn rev(i: usize, n: usize) -> String {
    format!("{:040x}", i * 16 + n)
}

/// One app as the list returns it (the shape of benches/argocd.rs): spec,
/// sync, health, a finished operation, five resources (one out of sync in
/// every third app) and ten history entries; `deployed` replaces the
/// newest history entry's revision.
pub fn app(i: usize, deployed: Option<&str>) -> Value {
    let history: Vec<Value> = (0..10)
        .map(|n| {
            let revision = match deployed {
                Some(d) if n == 9 => d.to_string(),
                _ => rev(i, n),
            };
            json!({"id": n + 1, "revision": revision, "deployedAt": "2026-11-20T10:00:00Z",
                   "deployStartedAt": "2026-11-20T09:59:00Z",
                   "source": {"repoURL": "https://git.example.com/acme/deploy.git", "path": format!("apps/app-{i}")}})
        })
        .collect();
    let resources: Vec<Value> = ["Deployment", "Service", "ConfigMap", "Ingress", "ServiceAccount"]
        .iter()
        .enumerate()
        .map(|(n, kind)| json!({"group": "apps", "version": "v1", "kind": kind, "namespace": format!("ns-{}", i % 50),
                                "name": format!("app-{i}"), "status": if n == 2 && i % 3 == 0 { "OutOfSync" } else { "Synced" },
                                "health": {"status": "Healthy"}}))
        .collect();
    json!({
        "metadata": {"name": format!("app-{i:05}"), "namespace": "argocd"},
        "spec": {
            "project": format!("team-{}", i % 20),
            "source": {"repoURL": "https://git.example.com/acme/deploy.git", "path": format!("apps/app-{i}"), "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": format!("ns-{}", i % 50)},
            "syncPolicy": if i % 2 == 0 { json!({"automated": {"prune": true, "selfHeal": true}}) } else { json!({}) }
        },
        "status": {
            "sync": {"status": if i % 3 == 0 { "OutOfSync" } else { "Synced" }, "revision": deployed.map_or_else(|| rev(i, 9), str::to_string)},
            "health": {"status": if i % 7 == 0 { "Degraded" } else { "Healthy" }},
            "operationState": {"phase": "Succeeded", "message": "successfully synced (all tasks run)",
                               "startedAt": "2026-11-20T09:59:00Z", "finishedAt": "2026-11-20T10:00:00Z",
                               "syncResult": {"revision": deployed.map_or_else(|| rev(i, 9), str::to_string)}},
            "resources": resources,
            "reconciledAt": "2026-11-20T10:05:00Z",
            "conditions": [],
            "history": history
        }
    })
}

/// The whole list, serialized once: `{"metadata":{…},"items":[…]}`.
pub fn argo_list(apps: usize) -> Bytes {
    let mut out = Vec::with_capacity(apps * 3_700 + 64);
    out.extend_from_slice(br#"{"metadata":{"resourceVersion":"1000"},"items":["#);
    for i in 0..apps {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, &app(i, None)).expect("json");
    }
    out.extend_from_slice(b"]}");
    Bytes::from(out)
}

/// The revision event `n` deploys: the `rev` column shows its first seven
/// characters, `e` and six digits.
pub fn event_revision(n: u64) -> String {
    format!("e{n:06}{}", "a".repeat(33))
}

/// What the `rev` column shows for event `n`.
pub fn event_marker(n: u64) -> String {
    format!("e{n:06}")
}

/// The app event `n` modifies.
pub fn event_app(n: u64, apps: usize) -> usize {
    if n % 2 == 0 {
        (n as usize / 2) % HOT_APPS.min(apps)
    } else {
        (n as usize).wrapping_mul(7919) % apps
    }
}

fn event_line(n: u64, apps: usize) -> Bytes {
    let app = app(event_app(n, apps), Some(&event_revision(n)));
    let mut line = serde_json::to_vec(&json!({"result": {"type": "MODIFIED", "application": app}}))
        .expect("json");
    line.push(b'\n');
    Bytes::from(line)
}

/// The event stream: `events_per_s` for `stream_for` (numbered on from
/// the last stream's), then keep-alives until the server stops.
fn stream(shared: &Arc<Shared>) -> Response<Body> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(256);
    shared.log.lock().expect("log").streams += 1;
    let shared = shared.clone();
    tokio::spawn(async move {
        let scale = shared.scale.clone();
        let every = Duration::from_secs_f64(1.0 / f64::from(scale.events_per_s.max(1)));
        let begun = tokio::time::Instant::now();
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut budget = (scale.stream_for.as_secs_f64() * f64::from(scale.events_per_s)) as u64;
        while budget > 0 && !shared.stop.load(Ordering::Relaxed) {
            tick.tick().await;
            let n = shared.log.lock().expect("log").sent + 1;
            if tx.send(event_line(n, scale.apps)).await.is_err() {
                return;
            }
            let now = Instant::now();
            let mut log = shared.log.lock().expect("log");
            log.sent = n;
            log.started.get_or_insert(now);
            log.finished = Some(now);
            budget -= 1;
            if begun.elapsed() > scale.lifetime {
                break;
            }
        }
        // Quiet, but alive: a keep-alive line every second.
        while !shared.stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if tx.send(Bytes::from_static(b"\n")).await.is_err() {
                return;
            }
        }
    });
    let body = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|line| (Ok::<_, Infallible>(Frame::data(line)), rx))
    });
    let mut response = Response::new(BodyExt::boxed(StreamBody::new(body)));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

// ---- GitHub ---------------------------------------------------------------

/// Run `k` of repository `r`, newest first (k = 0 is the newest).
fn run(r: usize, k: usize) -> Value {
    let id = (r * 100_000 + 10_000 - k) as u64;
    let (status, conclusion) = match k % 10 {
        0 => ("in_progress", None),
        1 => ("completed", Some("failure")),
        2 => ("queued", None),
        _ => ("completed", Some("success")),
    };
    let created = chrono::DateTime::parse_from_rfc3339("2026-11-20T12:00:00Z")
        .expect("time")
        .to_utc()
        - chrono::Duration::minutes((k * 7 + r) as i64);
    let at = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let full_name = format!("scale-org/repo-{r:02}");
    let workflow = ["CI", "Deploy", "Release", "nightly"][k % 4];
    let branch = ["main", "release/2.4", "fix/login", "feat/search"][k % 4];
    github::run_with(
        id,
        status,
        conclusion,
        json!({
            "name": workflow,
            "run_number": 10_000 - k,
            "head_branch": branch,
            "head_sha": format!("{:040x}", id * 7919),
            "created_at": at(created),
            "run_started_at": at(created),
            "updated_at": at(created + chrono::Duration::minutes(4)),
            "html_url": format!("https://github.com/{full_name}/actions/runs/{id}"),
            "url": format!("https://api.github.com/repos/{full_name}/actions/runs/{id}"),
        }),
    )
}

fn runs(shared: &Arc<Shared>, repo: &str, q: &HashMap<String, String>) -> Response<Body> {
    let scale = &shared.scale;
    let Some(r) = repo
        .strip_prefix("repo-")
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|r| *r < scale.repos)
    else {
        return bytes(
            StatusCode::NOT_FOUND,
            Bytes::from_static(br#"{"message":"Not Found"}"#),
        );
    };
    let per_page = q
        .get("per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page = q
        .get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let total = scale.runs_per_repo;
    let from = (page - 1) * per_page;
    let body = {
        let mut cache = shared.run_pages.lock().expect("cache");
        cache
            .entry((r, per_page, page))
            .or_insert_with(|| {
                let items: Vec<Value> = (from..(from + per_page).min(total))
                    .map(|k| run(r, k))
                    .collect();
                Bytes::from(serde_json::to_vec(&github::runs_page(items, total)).expect("json"))
            })
            .clone()
    };
    let mut response = bytes(StatusCode::OK, body);
    if from + per_page < total {
        let base = format!("http://127.0.0.1:{}", shared.port);
        let link = format!(
            "<{base}/repos/scale-org/{repo}/actions/runs?per_page={per_page}&exclude_pull_requests=true&page={}>; rel=\"next\"",
            page + 1
        );
        response.headers_mut().insert(
            hyper::header::LINK,
            hyper::header::HeaderValue::from_str(&link).expect("link"),
        );
    }
    response
}

// ---- Prometheus -----------------------------------------------------------

fn model_of(q: &HashMap<String, String>) -> Option<String> {
    let query = q.get("query")?;
    let start = query.find("model=\"")? + "model=\"".len();
    let end = query[start..].find('"')? + start;
    Some(query[start..end].to_string())
}

fn model_number(model: &str) -> usize {
    model
        .strip_prefix("model-")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn score(m: usize, f: usize, t: i64) -> f64 {
    let phase = (m * 13 + f * 7) as f64;
    let base = 0.05 + 0.03 * f as f64 + if m % 10 == 0 { 0.15 } else { 0.0 };
    base + 0.02 * ((t as f64 / 600.0) + phase).sin()
}

fn metric(model: &str, f: usize) -> Value {
    json!({"__name__": "drift_score", "model": model, "feature": format!("feature_{f}"), "method": "psi"})
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

fn prom_query(_shared: &Arc<Shared>, q: &HashMap<String, String>) -> Response<Body> {
    let Some(model) = model_of(q) else {
        return json_response(
            &json!({"status": "success", "data": {"resultType": "vector", "result": []}}),
        );
    };
    let m = model_number(&model);
    let now = now_secs();
    let result: Vec<Value> = (0..FEATURES)
        .map(|f| json!({"metric": metric(&model, f), "value": [now, format!("{:.4}", score(m, f, now))]}))
        .collect();
    json_response(&json!({"status": "success", "data": {"resultType": "vector", "result": result}}))
}

fn prom_range(_shared: &Arc<Shared>, q: &HashMap<String, String>) -> Response<Body> {
    let model = model_of(q).unwrap_or_default();
    let m = model_number(&model);
    let num = |k: &str| q.get(k).and_then(|v| v.parse::<f64>().ok());
    let end = num("end").unwrap_or(now_secs() as f64) as i64;
    let start = num("start").unwrap_or((end - 3 * 3600) as f64) as i64;
    let step = q
        .get("step")
        .and_then(|s| s.trim_end_matches('s').parse::<f64>().ok())
        .unwrap_or(60.0)
        .max(60.0) as i64;
    let result: Vec<Value> = (0..FEATURES)
        .map(|f| {
            let values: Vec<Value> = (start..=end)
                .step_by(step as usize)
                .map(|t| json!([t, format!("{:.4}", score(m, f, t))]))
                .collect();
            json!({"metric": metric(&model, f), "values": values})
        })
        .collect();
    json_response(&json!({"status": "success", "data": {"resultType": "matrix", "result": result}}))
}

fn prom_alerts(shared: &Arc<Shared>) -> Response<Body> {
    let alerts: Vec<Value> = (0..shared.scale.models)
        .filter(|m| m % 10 == 0)
        .map(|m| {
            json!({"labels": {"alertname": "ModelDrift", "model": format!("model-{m:03}"), "severity": "warning"},
                   "annotations": {}, "state": "firing", "activeAt": "2026-11-20T10:00:00Z", "value": "0.2"})
        })
        .collect();
    json_response(&json!({"status": "success", "data": {"alerts": alerts}}))
}
