//! A Kubernetes API server for tests, on 127.0.0.1, speaking the parts of
//! the protocol kube-rs uses for custom resources: list (with the list's
//! `resourceVersion` and `fieldSelector=metadata.name=`), get, watch
//! streams (chunked `{"type","object"}` lines: ADDED, MODIFIED, DELETED,
//! BOOKMARK, and ERROR with a 410 Status for an expired resourceVersion),
//! JSON merge patches (`application/merge-patch+json`, bumping the
//! resourceVersion and emitting MODIFIED), 403 Status objects for denied
//! verbs, and an optional bearer token. A built-in "controller" can answer
//! Flux reconcile requests the way the Flux controllers do (and the
//! tofu-controller: a plan whose id `spec.approvePlan` names is applied).

#![allow(dead_code)] // each test file uses its own part

pub mod objects;
pub mod tofu;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::sync::mpsc;

type Body = BoxBody<Bytes, Infallible>;

/// The resources it serves: plural → (group, version, kind).
const RESOURCES: &[(&str, &str, &str, &str)] = &[
    (
        "kustomizations",
        "kustomize.toolkit.fluxcd.io",
        "v1",
        "Kustomization",
    ),
    (
        "helmreleases",
        "helm.toolkit.fluxcd.io",
        "v2",
        "HelmRelease",
    ),
    (
        "gitrepositories",
        "source.toolkit.fluxcd.io",
        "v1",
        "GitRepository",
    ),
    (
        "ocirepositories",
        "source.toolkit.fluxcd.io",
        "v1",
        "OCIRepository",
    ),
    (
        "helmrepositories",
        "source.toolkit.fluxcd.io",
        "v1",
        "HelmRepository",
    ),
    ("helmcharts", "source.toolkit.fluxcd.io", "v1", "HelmChart"),
    ("applications", "argoproj.io", "v1alpha1", "Application"),
    (
        "terraforms",
        "infra.contrib.fluxcd.io",
        "v1alpha2",
        "Terraform",
    ),
    ("deployments", "apps", "v1", "Deployment"),
    ("statefulsets", "apps", "v1", "StatefulSet"),
];

fn resource_of_kind(kind: &str) -> (&'static str, &'static str, &'static str) {
    let r = RESOURCES
        .iter()
        .find(|r| r.3 == kind)
        .unwrap_or_else(|| panic!("the test server does not serve kind {kind}"));
    (r.0, r.1, r.2)
}

type Key = (String, String, String);

struct Watch {
    plural: String,
    namespace: Option<String>,
    name: Option<String>,
    /// `labelSelector=key=value`.
    label: Option<(String, String)>,
    tx: mpsc::UnboundedSender<Bytes>,
    /// Tells this watch apart when its time is up.
    id: u64,
}

impl Watch {
    fn matches(&self, plural: &str, ns: &str, name: &str, object: &Value) -> bool {
        self.plural == plural
            && self.namespace.as_deref().is_none_or(|n| n == ns)
            && self.name.as_deref().is_none_or(|n| n == name)
            && has_label(object, &self.label)
    }
}

fn has_label(object: &Value, label: &Option<(String, String)>) -> bool {
    label.as_ref().is_none_or(|(k, v)| {
        object
            .pointer("/metadata/labels")
            .and_then(|l| l.get(k))
            .and_then(Value::as_str)
            == Some(v.as_str())
    })
}

#[derive(Default)]
struct State {
    rv: u64,
    objects: BTreeMap<Key, Value>,
    /// Every change: (resourceVersion, key, event type, object).
    log: Vec<(u64, Key, &'static str, Value)>,
    /// Watches from a resourceVersion older than this get 410 Gone.
    oldest: u64,
    watches: Vec<Watch>,
    /// (verb, plural) pairs answered with 403.
    forbidden: Vec<(String, String)>,
    /// Answer watch requests with 500 (the API server is "down").
    refuse_watches: bool,
    /// Act like the Flux controllers on `reconcile.fluxcd.io/requestedAt`.
    controller: bool,
    /// Each request: "METHOD path?query".
    requests: Vec<String>,
    /// Authorization headers seen.
    auth: Vec<String>,
    /// The bearer token required, if any.
    token: Option<String>,
    gone_served: usize,
    /// The longest a watch stays open (the API server's request timeout);
    /// `timeoutSeconds` may ask for less.
    watch_timeout: Option<std::time::Duration>,
    next_watch: u64,
    /// Watch streams held open that never say anything again, like a
    /// half-open connection; while `silent`, every new watch joins them.
    silenced: Vec<Watch>,
    silent: bool,
}

/// One fake cluster.
#[derive(Clone)]
pub struct KubeServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl KubeServer {
    pub async fn start() -> KubeServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State {
            rv: 100,
            controller: true,
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
        KubeServer { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("server state")
    }

    /// Create or replace an object (its kind says where it lives).
    pub fn apply(&self, object: Value) {
        let mut s = self.lock();
        s.apply(object);
    }

    pub fn delete(&self, kind: &str, namespace: &str, name: &str) {
        let mut s = self.lock();
        let (plural, _, _) = resource_of_kind(kind);
        let key = (plural.to_string(), namespace.to_string(), name.to_string());
        if let Some(mut object) = s.objects.remove(&key) {
            s.rv += 1;
            let rv = s.rv;
            object["metadata"]["resourceVersion"] = json!(rv.to_string());
            s.emit(rv, key, "DELETED", object);
        }
    }

    /// The stored object, as the server has it now.
    pub fn get(&self, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        let (plural, _, _) = resource_of_kind(kind);
        self.lock()
            .objects
            .get(&(plural.to_string(), namespace.to_string(), name.to_string()))
            .cloned()
    }

    /// Answer `verb` on `plural` with 403.
    pub fn forbid(&self, verb: &str, plural: &str) {
        self.lock()
            .forbidden
            .push((verb.to_string(), plural.to_string()));
    }

    pub fn set_controller(&self, on: bool) {
        self.lock().controller = on;
    }

    pub fn require_token(&self, token: &str) {
        self.lock().token = Some(token.to_string());
    }

    /// Cut every open watch stream; while `down`, new watches get 500.
    pub fn cut_watches(&self, down: bool) {
        let mut s = self.lock();
        s.watches.clear();
        s.refuse_watches = down;
    }

    /// Keep every watch stream open but let nothing more through it, now
    /// and for every watch that starts while `on` (a half-open connection
    /// that no timeout ends); off: the silent streams close.
    pub fn silence_watches(&self, on: bool) {
        let mut s = self.lock();
        s.silent = on;
        if on {
            let open = std::mem::take(&mut s.watches);
            s.silenced.extend(open);
        } else {
            s.silenced.clear();
        }
    }

    pub fn watches_up(&self) {
        self.lock().refuse_watches = false;
    }

    /// Cut every watch and, in the same step, change `object` and forget
    /// the history before it: resuming a watch from an older version gets
    /// `410 Gone`, so the client must list again to see the change.
    pub fn compact_with(&self, object: Value) {
        let mut s = self.lock();
        s.watches.clear();
        s.apply(object);
        s.oldest = s.rv;
    }

    /// End every watch after `limit` (as the API server's request timeout does).
    pub fn set_watch_timeout(&self, limit: std::time::Duration) {
        self.lock().watch_timeout = Some(limit);
    }

    pub fn gone_served(&self) -> usize {
        self.lock().gone_served
    }

    pub fn open_watches(&self) -> usize {
        let mut s = self.lock();
        s.watches.retain(|w| !w.tx.is_closed());
        s.watches.len()
    }

    pub fn requests(&self) -> Vec<String> {
        self.lock().requests.clone()
    }

    /// The PATCH requests seen, in order (`PATCH /path?query`).
    pub fn patches(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|r| r.starts_with("PATCH"))
            .collect()
    }

    pub fn auth_seen(&self) -> Vec<String> {
        self.lock().auth.clone()
    }
}

impl State {
    fn apply(&mut self, mut object: Value) {
        let kind = object["kind"].as_str().expect("object kind").to_string();
        let (plural, group, version) = resource_of_kind(&kind);
        object["apiVersion"] = json!(format!("{group}/{version}"));
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .expect("object name")
            .to_string();
        let ns = object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("default")
            .to_string();
        let key = (plural.to_string(), ns, name);
        self.rv += 1;
        let rv = self.rv;
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), json!(rv.to_string()));
        }
        let kind = if self.objects.contains_key(&key) {
            "MODIFIED"
        } else {
            "ADDED"
        };
        self.objects.insert(key.clone(), object.clone());
        self.emit(rv, key, kind, object);
    }

    fn emit(&mut self, rv: u64, key: Key, kind: &'static str, object: Value) {
        let line = event_line(kind, &object);
        self.watches.retain(|w| {
            !w.matches(&key.0, &key.1, &key.2, &object) || w.tx.send(line.clone()).is_ok()
        });
        self.log.push((rv, key, kind, object));
    }

    /// What a Flux controller does with a new reconcile request.
    fn reconcile(&mut self, key: &Key) {
        let Some(object) = self.objects.get(key) else {
            return;
        };
        let Some(requested) = object
            .pointer("/metadata/annotations/reconcile.fluxcd.io~1requestedAt")
            .and_then(Value::as_str)
        else {
            return;
        };
        let handled = object
            .pointer("/status/lastHandledReconcileAt")
            .and_then(Value::as_str);
        let suspended = object
            .pointer("/spec/suspend")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if handled == Some(requested) || suspended {
            return;
        }
        let mut object = object.clone();
        let requested = requested.to_string();
        object["status"]["lastHandledReconcileAt"] = json!(requested);
        if object["kind"] == "Terraform" {
            objects::tofu_controller_reconciles(&mut object);
            self.apply(object);
            return;
        }
        let revision = object
            .pointer("/status/lastAttemptedRevision")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        object["status"]["conditions"] = json!([{
            "type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
            "message": format!("Applied revision: {revision}"),
            "lastTransitionTime": "2026-11-22T10:00:00Z"
        }]);
        self.apply(object);
    }
}

fn event_line(kind: &str, object: &Value) -> Bytes {
    let mut line = serde_json::to_vec(&json!({"type": kind, "object": object})).expect("json");
    line.push(b'\n');
    Bytes::from(line)
}

fn full(status: StatusCode, body: Value) -> Response<Body> {
    let mut response = Response::new(
        Full::new(Bytes::from(serde_json::to_vec(&body).expect("json")))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// A Kubernetes `Status` object.
fn status(code: u16, reason: &str, message: String) -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code
    })
}

fn status_response(code: u16, reason: &str, message: String) -> Response<Body> {
    full(
        StatusCode::from_u16(code).expect("status code"),
        status(code, reason, message),
    )
}

/// `/apis/{group}/{version}[/namespaces/{ns}]/{plural}[/{name}]`.
struct Route {
    plural: String,
    group: String,
    version: String,
    kind: String,
    namespace: Option<String>,
    name: Option<String>,
}

fn route(path: &str) -> Option<Route> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match parts.as_slice() {
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return None,
    };
    let (namespace, plural, name) = match rest {
        ["namespaces", ns, plural] => (Some(*ns), *plural, None),
        ["namespaces", ns, plural, name] => (Some(*ns), *plural, Some(*name)),
        [plural] => (None, *plural, None),
        _ => return None,
    };
    let r = RESOURCES
        .iter()
        .find(|r| r.0 == plural && r.1 == group && r.2 == version)?;
    Some(Route {
        plural: plural.to_string(),
        group: group.to_string(),
        version: version.to_string(),
        kind: r.3.to_string(),
        namespace: namespace.map(str::to_string),
        name: name.map(str::to_string),
    })
}

fn query(req: &Request<Incoming>) -> BTreeMap<String, String> {
    req.uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

async fn handle(state: &Arc<Mutex<State>>, req: Request<Incoming>) -> Response<Body> {
    let q = query(&req);
    let auth = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    {
        let mut s = state.lock().expect("state");
        s.requests.push(format!(
            "{} {}",
            req.method(),
            req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("")
        ));
        s.auth.push(auth.clone());
        if let Some(token) = &s.token
            && auth != format!("Bearer {token}")
        {
            return status_response(401, "Unauthorized", "Unauthorized".into());
        }
    }
    let Some(r) = route(req.uri().path()) else {
        return status_response(
            404,
            "NotFound",
            format!(
                "the server could not find the requested resource ({})",
                req.uri().path()
            ),
        );
    };
    let watching = matches!(q.get("watch").map(String::as_str), Some("true" | "1"));
    let verb = match (req.method(), &r.name, watching) {
        (&Method::GET, _, true) => "watch",
        (&Method::GET, Some(_), false) => "get",
        (&Method::GET, None, false) => "list",
        (&Method::PATCH, Some(_), _) => "patch",
        _ => return status_response(405, "MethodNotAllowed", "not supported here".into()),
    };
    {
        let s = state.lock().expect("state");
        if s.forbidden.iter().any(|(v, p)| v == verb && *p == r.plural) {
            let place = match &r.namespace {
                Some(ns) => format!(" in the namespace \"{ns}\""),
                None => " at the cluster scope".into(),
            };
            return status_response(
                403,
                "Forbidden",
                format!(
                    "{}.{} is forbidden: User \"tester\" cannot {verb} resource \"{}\" in API group \"{}\"{place}",
                    r.plural, r.group, r.plural, r.group
                ),
            );
        }
    }
    let field_name = q
        .get("fieldSelector")
        .and_then(|f| f.strip_prefix("metadata.name="))
        .map(str::to_string);
    let label = q
        .get("labelSelector")
        .and_then(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()));
    match verb {
        "list" => {
            let s = state.lock().expect("state");
            let items: Vec<Value> = s
                .objects
                .iter()
                .filter(|((p, ns, name), _)| {
                    *p == r.plural
                        && r.namespace.as_deref().is_none_or(|n| n == ns)
                        && field_name.as_deref().is_none_or(|n| n == name)
                })
                .filter(|(_, o)| has_label(o, &label))
                .map(|(_, o)| o.clone())
                .collect();
            full(
                StatusCode::OK,
                json!({
                    "apiVersion": format!("{}/{}", r.group, r.version),
                    "kind": format!("{}List", r.kind),
                    "metadata": {"resourceVersion": s.rv.to_string()},
                    "items": items
                }),
            )
        }
        "get" => {
            let s = state.lock().expect("state");
            let name = r.name.clone().unwrap_or_default();
            let key = (
                r.plural.clone(),
                r.namespace.clone().unwrap_or_default(),
                name.clone(),
            );
            match s.objects.get(&key) {
                Some(o) => full(StatusCode::OK, o.clone()),
                None => status_response(
                    404,
                    "NotFound",
                    format!("{}.{} \"{name}\" not found", r.plural, r.group),
                ),
            }
        }
        "watch" => watch(state, &r, &q, field_name, label),
        _ => patch(state, &r, req).await,
    }
}

fn watch(
    state: &Arc<Mutex<State>>,
    r: &Route,
    q: &BTreeMap<String, String>,
    name: Option<String>,
    label: Option<(String, String)>,
) -> Response<Body> {
    let mut s = state.lock().expect("state");
    if s.refuse_watches {
        return status_response(500, "InternalError", "etcd is unavailable".into());
    }
    let (tx, rx) = mpsc::unbounded_channel::<Bytes>();
    let since: u64 = q
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let w = Watch {
        plural: r.plural.clone(),
        namespace: r.namespace.clone(),
        name,
        label,
        tx,
        id: s.next_watch,
    };
    s.next_watch += 1;
    if s.silent {
        s.silenced.push(w);
    } else if since != 0 && since < s.oldest {
        s.gone_served += 1;
        let gone = status(
            410,
            "Expired",
            format!("too old resource version: {since} ({})", s.oldest),
        );
        let _ = w.tx.send(event_line("ERROR", &gone));
        // Dropping `w` ends the stream after the error, as the API server does.
    } else {
        if since == 0 {
            for ((p, ns, n), o) in &s.objects {
                if w.matches(p, ns, n, o) {
                    let _ = w.tx.send(event_line("ADDED", o));
                }
            }
        } else {
            for (rv, (p, ns, n), kind, o) in &s.log {
                if *rv > since && w.matches(p, ns, n, o) {
                    let _ = w.tx.send(event_line(kind, o));
                }
            }
        }
        if q.get("allowWatchBookmarks").map(String::as_str) == Some("true") {
            let bookmark = json!({
                "kind": r.kind, "apiVersion": format!("{}/{}", r.group, r.version),
                "metadata": {"resourceVersion": s.rv.to_string()}
            });
            let _ = w.tx.send(event_line("BOOKMARK", &bookmark));
        }
        let asked = q
            .get("timeoutSeconds")
            .and_then(|t| t.parse().ok())
            .map(std::time::Duration::from_secs);
        let limit = match (asked, s.watch_timeout) {
            (Some(a), Some(c)) => Some(a.min(c)),
            (a, c) => a.or(c),
        };
        if let Some(limit) = limit {
            // The API server ends a watch at its timeout; the client watches again.
            let id = w.id;
            let state = state.clone();
            tokio::spawn(async move {
                tokio::time::sleep(limit).await;
                if let Ok(mut s) = state.lock() {
                    s.watches.retain(|w| w.id != id);
                }
            });
        }
        s.watches.push(w);
    }
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|line| (Ok::<_, Infallible>(Frame::data(line)), rx))
    });
    let mut response = Response::new(BodyExt::boxed(StreamBody::new(stream)));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// RFC 7386 JSON merge patch.
fn merge(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(fields) => {
            if !target.is_object() {
                *target = json!({});
            }
            let map = target.as_object_mut().expect("object");
            for (k, v) in fields {
                if v.is_null() {
                    map.remove(k);
                } else {
                    merge(map.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

async fn patch(state: &Arc<Mutex<State>>, r: &Route, req: Request<Incoming>) -> Response<Body> {
    let content_type = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if content_type != "application/merge-patch+json" {
        return status_response(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format: {content_type}"),
        );
    }
    let Ok(body) = req.into_body().collect().await else {
        return status_response(400, "BadRequest", "cannot read the body".into());
    };
    let Ok(patch) = serde_json::from_slice::<Value>(&body.to_bytes()) else {
        return status_response(400, "BadRequest", "the patch is not JSON".into());
    };
    let name = r.name.clone().unwrap_or_default();
    let key = (
        r.plural.clone(),
        r.namespace.clone().unwrap_or_default(),
        name.clone(),
    );
    let mut s = state.lock().expect("state");
    let Some(mut object) = s.objects.get(&key).cloned() else {
        return status_response(
            404,
            "NotFound",
            format!("{}.{} \"{name}\" not found", r.plural, r.group),
        );
    };
    // A resourceVersion in the patch is a precondition.
    if let Some(wanted) = patch
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        && object
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            != Some(wanted)
    {
        return status_response(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {}.{} \"{name}\": the object has been modified; \
                 please apply your changes to the latest version and try again",
                r.plural, r.group
            ),
        );
    }
    merge(&mut object, &patch);
    s.apply(object);
    let patched = s.objects.get(&key).cloned().unwrap_or_default();
    if s.controller
        && (r.group.ends_with("toolkit.fluxcd.io") || r.group == "infra.contrib.fluxcd.io")
    {
        s.reconcile(&key);
    }
    full(StatusCode::OK, patched)
}

/// How a kubeconfig user authenticates.
pub enum User {
    Token(String),
    /// An exec credential plugin: the command and its arguments.
    Exec(String, Vec<String>),
}

/// Write a kubeconfig with one context (and cluster and user) per entry:
/// (context name, server URL, user).
pub fn write_kubeconfig(dir: &Path, contexts: &[(&str, String, User)]) -> PathBuf {
    let mut clusters = Vec::new();
    let mut ctxs = Vec::new();
    let mut users = Vec::new();
    for (name, server, user) in contexts {
        clusters.push(json!({"name": name, "cluster": {"server": server}}));
        ctxs.push(json!({"name": name, "context": {"cluster": name, "user": name}}));
        let user = match user {
            User::Token(t) => json!({"token": t}),
            User::Exec(command, args) => json!({"exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "command": command, "args": args, "interactiveMode": "Never"
            }}),
        };
        users.push(json!({"name": name, "user": user}));
    }
    let config = json!({
        "apiVersion": "v1", "kind": "Config",
        "current-context": contexts.first().map(|c| c.0).unwrap_or(""),
        "clusters": clusters, "contexts": ctxs, "users": users, "preferences": {}
    });
    let path = dir.join("kubeconfig");
    // JSON is YAML.
    std::fs::write(&path, serde_json::to_vec_pretty(&config).expect("json")).expect("kubeconfig");
    path
}

/// An exec credential plugin (a shell script) that hands out `token`.
pub fn credential_plugin(dir: &Path, token: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("credential-plugin");
    let script = format!(
        "#!/bin/sh\ncat <<'EOF'\n{{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{token}\"}}}}\nEOF\n"
    );
    std::fs::write(&path, script).expect("plugin");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}
