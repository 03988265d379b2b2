//! The backend table of the fault matrix: each backend kind's healthy test
//! upstream (wiremock with real-shaped payloads, the kube test server, a
//! `git daemon`), its opsdeck config pointed at a base URL, and which faults
//! apply to it.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support_kube::objects::{application, condition, kustomization, ready, terraform};
use crate::support_kube::{KubeServer, User, write_kubeconfig};
use crate::support_kubeflow::{KfpServer, RunSpec};
use crate::{support_github, support_gitlab};

/// The per-request timeout configured where the kind has one.
pub const SOURCE_TIMEOUT: &str = "3s";
/// The poll interval of every faulted source.
pub const REFRESH: &str = "2s";

/// One backend kind of the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Github,
    Gitlab,
    Jenkins,
    ArgoRest,
    ArgoKube,
    Flux,
    Prometheus,
    Mlflow,
    Evidently,
    Git,
    Registry,
    Airflow,
    Kubeflow,
    TerraformCloud,
    Tofu,
}

pub const KINDS: [Kind; 15] = [
    Kind::Github,
    Kind::Gitlab,
    Kind::Jenkins,
    Kind::ArgoRest,
    Kind::ArgoKube,
    Kind::Flux,
    Kind::Prometheus,
    Kind::Mlflow,
    Kind::Evidently,
    Kind::Git,
    Kind::Registry,
    Kind::Airflow,
    Kind::Kubeflow,
    Kind::TerraformCloud,
    Kind::Tofu,
];

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Github => "github",
            Kind::Gitlab => "gitlab",
            Kind::Jenkins => "jenkins",
            Kind::ArgoRest => "argocd-rest",
            Kind::ArgoKube => "argocd-kube",
            Kind::Flux => "flux",
            Kind::Prometheus => "prometheus",
            Kind::Mlflow => "mlflow",
            Kind::Evidently => "evidently",
            Kind::Git => "git",
            Kind::Registry => "registry",
            Kind::Airflow => "airflow",
            Kind::Kubeflow => "kubeflow",
            Kind::TerraformCloud => "terraform-cloud",
            Kind::Tofu => "tofu",
        }
    }

    /// Reads through a kube client (the token lives in a kubeconfig).
    pub fn is_kube(self) -> bool {
        matches!(self, Kind::ArgoKube | Kind::Flux | Kind::Tofu)
    }

    /// Has a live feed (an event stream or watches).
    pub fn streams(self) -> bool {
        matches!(
            self,
            Kind::ArgoRest | Kind::ArgoKube | Kind::Flux | Kind::Tofu
        )
    }

    /// What an error about a failed read should name: a path, or the
    /// resource read in words (kube reads have no path to show) — any one.
    pub fn where_words(self) -> &'static [&'static str] {
        match self {
            Kind::Github => &["/repos/octo-org/octo-repo/actions/runs"],
            Kind::Gitlab => &["/api/v4/projects/", "/pipelines", "acme/platform/web"],
            Kind::Jenkins => &["/job/deploy", "/queue"],
            Kind::ArgoRest => &["/api/v1/applications", "application list"],
            Kind::ArgoKube => &["applications"],
            Kind::Flux => &["kustomizations", "gitrepositories", "helmreleases"],
            Kind::Tofu => &["terraforms"],
            Kind::Prometheus => &["/api/v1/query", "/api/v1/alerts"],
            Kind::Mlflow => &["/api/2.0/mlflow/"],
            Kind::Evidently => &["/api/projects", "/api/v2/snapshots"],
            Kind::Git => &["remote.git"],
            Kind::Registry => &["/v2/team/web"],
            Kind::Airflow => &["/api/v2/dags", "/auth/token"],
            Kind::Kubeflow => &["/apis/v2beta1/runs", "/apis/v2beta1"],
            Kind::TerraformCloud => &[
                "/api/v2/organizations/acme/workspaces",
                "workspaces of organization acme",
            ],
        }
    }

    /// The requests that mutate (sent by actions), by method.
    pub fn is_mutating(method: &str) -> bool {
        !matches!(method, "GET" | "HEAD" | "(not HTTP)")
    }
}

/// A healthy test server standing in for the backend.
pub enum Upstream {
    Mock(MockServer),
    Kube(KubeServer),
    Git(GitDaemon),
    Kfp(KfpServer),
}

impl Upstream {
    pub fn addr(&self) -> SocketAddr {
        match self {
            Upstream::Mock(server) => *server.address(),
            Upstream::Kube(server) => server.addr,
            Upstream::Git(daemon) => SocketAddr::from(([127, 0, 0, 1], daemon.port)),
            Upstream::Kfp(server) => server.addr,
        }
    }

    pub async fn start(kind: Kind, dir: &Path) -> Upstream {
        match kind {
            Kind::ArgoKube => {
                let server = KubeServer::start().await;
                server.apply(application("argocd", "web"));
                Upstream::Kube(server)
            }
            Kind::Flux => {
                let server = KubeServer::start().await;
                server.apply(kustomization(
                    "flux-system",
                    "apps",
                    "main@sha1:0123456789abcdef0123456789abcdef01234567",
                    ready("True", "ReconciliationSucceeded", "Applied revision"),
                ));
                Upstream::Kube(server)
            }
            Kind::Tofu => {
                let server = KubeServer::start().await;
                let waiting = "Plan generated: set approvePlan: \"plan-main-0123456789\" to approve this plan.";
                server.apply(terraform(
                    "flux-system",
                    "vpc",
                    None,
                    Some("0123456789abcdef0123456789abcdef01234567"),
                    "plan-main-0123456789",
                    vec![condition(
                        "Ready",
                        "Unknown",
                        "TerraformPlannedWithChanges",
                        waiting,
                    )],
                ));
                Upstream::Kube(server)
            }
            Kind::Git => Upstream::Git(GitDaemon::start(dir).await),
            Kind::Kubeflow => {
                let server = KfpServer::start().await;
                server.experiment("e1", "fraud", "team-ml");
                server.pipeline("p1", "fraud-training");
                server.version("p1", "v4", "v4", 1_795_000_000, json!({}));
                for (id, state) in [("r1", "FAILED"), ("r2", "RUNNING")] {
                    server.run(RunSpec {
                        id,
                        experiment: "e1",
                        pipeline: "p1",
                        version: "v4",
                        state,
                        created: 1_796_000_000,
                        parameters: json!({"lr": 0.1}),
                    });
                }
                Upstream::Kfp(server)
            }
            _ => {
                let server = MockServer::start().await;
                mount(kind, &server).await;
                Upstream::Mock(server)
            }
        }
    }
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

async fn get(server: &MockServer, at: &str, body: Value) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(ok(body))
        .mount(server)
        .await;
}

async fn mount(kind: Kind, server: &MockServer) {
    match kind {
        Kind::Github => {
            let runs = vec![
                support_github::run(11, "completed", Some("failure")),
                support_github::run(12, "in_progress", None),
            ];
            get(
                server,
                support_github::RUNS_PATH,
                support_github::runs_page(runs, 2),
            )
            .await;
            Mock::given(method("POST"))
                .and(path_regex(r"/actions/runs/\d+/rerun$"))
                .respond_with(ResponseTemplate::new(201))
                .mount(server)
                .await;
        }
        Kind::Gitlab => {
            let list = vec![
                support_gitlab::pipeline(62, "running", "main", "2026-11-20T10:02:00.000Z"),
                support_gitlab::pipeline(61, "failed", "main", "2026-11-20T10:01:00.000Z"),
            ];
            get(server, &support_gitlab::api("/pipelines"), json!(list)).await;
            Mock::given(method("GET"))
                .and(path_regex(r"^/api/v4/projects/[^/]+/pipelines/\d+$"))
                .respond_with(support_gitlab::details_of(list.clone()))
                .mount(server)
                .await;
            Mock::given(method("POST"))
                .and(path_regex(r"/pipelines/\d+/retry$"))
                .respond_with(support_gitlab::created(61, "main", "pending"))
                .mount(server)
                .await;
        }
        Kind::Jenkins => {
            let root = server.uri();
            get(server, "/job/deploy/api/json", jenkins_job(&root)).await;
            get(
                server,
                "/queue/api/json",
                json!({"_class": "hudson.model.Queue", "items": []}),
            )
            .await;
            Mock::given(method("POST"))
                .and(path_regex(r"^/job/deploy/build"))
                .respond_with(
                    ResponseTemplate::new(201)
                        .insert_header("location", format!("{root}/queue/item/7/")),
                )
                .mount(server)
                .await;
            get(
                server,
                "/queue/item/7/api/json",
                json!({"_class": "hudson.model.Queue$LeftItem", "cancelled": false,
                       "executable": {"_class": "hudson.model.FreeStyleBuild", "number": 2,
                                      "url": format!("{root}/job/deploy/2/")}}),
            )
            .await;
        }
        Kind::ArgoRest => {
            get(
                server,
                "/api/v1/applications",
                json!({"metadata": {"resourceVersion": "1234"}, "items": [argo_app()]}),
            )
            .await;
            let event = json!({"result": {"type": "MODIFIED", "application": argo_app()}});
            Mock::given(method("GET"))
                .and(path("/api/v1/stream/applications"))
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_body_raw(format!("{event}\n"), "application/json"),
                )
                .mount(server)
                .await;
            Mock::given(method("POST"))
                .and(path("/api/v1/applications/web/sync"))
                .respond_with(ok(argo_app()))
                .mount(server)
                .await;
        }
        Kind::Prometheus => {
            let vector = json!({"status": "success", "data": {"resultType": "vector", "result": [
                {"metric": {"__name__": "model_feature_psi", "model": "churn", "feature": "age", "method": "psi"},
                 "value": [1_763_800_000.123, "0.05"]}]}});
            let matrix = json!({"status": "success", "data": {"resultType": "matrix", "result": [
                {"metric": {"model": "churn", "feature": "age", "method": "psi"},
                 "values": [[1_763_790_000, "0.05"], [1_763_790_180, "0.06"]]}]}});
            get(server, "/api/v1/query", vector).await;
            get(server, "/api/v1/query_range", matrix).await;
            get(
                server,
                "/api/v1/alerts",
                json!({"status": "success", "data": {"alerts": []}}),
            )
            .await;
        }
        Kind::Mlflow => mount_mlflow(server).await,
        Kind::TerraformCloud => mount_terraform_cloud(server).await,
        Kind::Evidently => mount_evidently(server).await,
        Kind::Registry => mount_registry(server).await,
        Kind::Airflow => mount_airflow(server).await,
        Kind::ArgoKube | Kind::Flux | Kind::Tofu | Kind::Git | Kind::Kubeflow => {
            unreachable!("not a wiremock upstream")
        }
    }
}

/// A freestyle job with one finished build, as Jenkins' `tree=` read gives it.
fn jenkins_job(root: &str) -> Value {
    let url = format!("{root}/job/deploy/");
    json!({
        "_class": "hudson.model.FreeStyleProject",
        "name": "deploy", "fullName": "deploy", "url": url, "buildable": true,
        "property": [],
        "builds": [{
            "_class": "hudson.model.FreeStyleBuild", "actions": [], "building": false,
            "duration": 312_000, "number": 1, "result": "SUCCESS",
            "timestamp": 1_795_176_000_000_i64, "url": format!("{url}1/")
        }]
    })
}

/// A synced, healthy Argo CD application (argocd-server's swagger shape).
fn argo_app() -> Value {
    json!({
        "metadata": {"name": "web", "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://git.example.com/acme/deploy.git", "path": "apps/web", "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"}
        },
        "status": {
            "sync": {"status": "Synced", "revision": "bbbbbbb2222222"},
            "health": {"status": "Healthy"},
            "history": [{"id": 2, "revision": "bbbbbbb2222222", "deployedAt": "2026-11-20T10:01:00Z"}]
        }
    })
}

async fn mount_mlflow(server: &MockServer) {
    const API: &str = "/api/2.0/mlflow";
    let version = |v: &str| {
        json!({"name": "churn", "version": v, "creation_timestamp": 1_763_800_000_000_i64,
            "last_updated_timestamp": 1_763_800_000_000_i64, "current_stage": "None", "description": "",
            "source": "runs:/abc/model", "run_id": "abc", "status": "READY", "run_link": ""})
    };
    get(
        server,
        &format!("{API}/registered-models/get"),
        json!({"registered_model": {"name": "churn", "creation_timestamp": 1, "last_updated_timestamp": 1,
            "latest_versions": [version("2")], "aliases": [{"alias": "champion", "version": "2"}]}}),
    )
    .await;
    get(
        server,
        &format!("{API}/model-versions/search"),
        json!({"model_versions": [version("2"), version("1")]}),
    )
    .await;
    get(
        server,
        &format!("{API}/registered-models/alias"),
        json!({"model_version": {"name": "churn", "version": "2", "status": "READY", "aliases": ["champion"]}}),
    )
    .await;
    get(
        server,
        &format!("{API}/experiments/get-by-name"),
        json!({"experiment": {"experiment_id": "7", "name": "churn-monitoring", "lifecycle_stage": "active"}}),
    )
    .await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/runs/search")))
        .respond_with(ok(json!({"runs": [{"info": {"run_id": "r1", "run_uuid": "r1",
            "experiment_id": "7", "status": "FINISHED", "start_time": 1_763_800_000_000_i64},
            "data": {"metrics": [{"key": "psi.age", "value": 0.05, "timestamp": 1_763_800_000_000_i64, "step": 0}]}}]})))
        .mount(server)
        .await;
}

/// Airflow 3.3's REST API v2 as recorded (api-specs/airflow/samples): one
/// DAG with a failed and a running run, the failed run's task instances,
/// and a clear of its failed tasks.
async fn mount_airflow(server: &MockServer) {
    let run = |id: &str, state: &str| {
        let done = state != "running";
        json!({"dag_run_id": id, "dag_id": "retrain_fraud", "logical_date": null,
            "queued_at": "2026-12-04T14:35:07.642970Z", "start_date": "2026-12-04T14:35:08.49Z",
            "end_date": if done { json!("2026-12-04T14:35:11.5Z") } else { Value::Null },
            "duration": if done { json!(3.0) } else { Value::Null },
            "run_after": "2026-12-04T14:35:07.635755Z", "run_type": "manual", "state": state,
            "triggered_by": "rest_api", "triggering_user_name": "admin",
            "conf": {"model": "fraud"}, "note": null})
    };
    let task = |id: &str, state: &str, tries: u32| {
        json!({"id": format!("01a2417a-{id}"), "task_id": id, "dag_id": "retrain_fraud",
            "dag_run_id": "r1", "map_index": -1, "state": state, "try_number": tries,
            "start_date": if tries > 0 { json!("2026-12-04T14:35:09.7Z") } else { Value::Null },
            "duration": if tries > 0 { json!(1.385) } else { Value::Null }})
    };
    let tasks = json!({"task_instances": [task("train", "failed", 1),
        task("register", "upstream_failed", 0)], "total_entries": 2});
    get(
        server,
        "/api/v2/dags",
        json!({"dags": [{"dag_id": "retrain_fraud", "dag_display_name": "retrain_fraud",
            "is_paused": false, "tags": [{"name": "ml", "dag_id": "retrain_fraud"}]}],
            "total_entries": 1}),
    )
    .await;
    get(
        server,
        "/api/v2/dags/retrain_fraud/dagRuns",
        json!({"dag_runs": [run("r2", "running"), run("r1", "failed")], "total_entries": 2,
            "next_cursor": null, "previous_cursor": null}),
    )
    .await;
    for at in [
        "/api/v2/dags/~/dagRuns/~/taskInstances/list",
        "/api/v2/dags/retrain_fraud/clearTaskInstances",
    ] {
        Mock::given(method("POST"))
            .and(path(at))
            .respond_with(ok(tasks.clone()))
            .mount(server)
            .await;
    }
}

/// One workspace with its current run waiting for confirmation, as the
/// workspace list with `include` gives it, and the apply action's 202.
async fn mount_terraform_cloud(server: &MockServer) {
    let list = json!({
        "data": [{"id": "ws-web", "type": "workspaces",
            "attributes": {"name": "web", "locked": false, "assessments-enabled": false, "auto-apply": false},
            "relationships": {"current-run": {"data": {"id": "run-aaa1", "type": "runs"}},
                              "current-assessment-result": {"data": null}}}],
        "included": [{"id": "run-aaa1", "type": "runs",
            "attributes": {"status": "planned", "auto-apply": false, "message": "deploy",
                           "created-at": "2026-12-01T10:00:00.000Z", "trigger-reason": "manual"}}],
        "meta": {"pagination": {"current-page": 1, "next-page": null, "total-pages": 1}}
    });
    get(server, "/api/v2/organizations/acme/workspaces", list).await;
    Mock::given(method("POST"))
        .and(path("/api/v2/runs/run-aaa1/actions/apply"))
        .respond_with(ResponseTemplate::new(202))
        .mount(server)
        .await;
}

const EVIDENTLY_PROJECT: &str = "01a204d2-cad3-78f6-a0d3-80aef13c24dc";

fn evidently_fixture(name: &str) -> Value {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/evidently")
        .join(name);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    serde_json::from_str(&text).expect("fixture is JSON")
}

async fn mount_evidently(server: &MockServer) {
    get(
        server,
        "/api/projects/search/churn-monitoring",
        evidently_fixture("search_project.json"),
    )
    .await;
    get(
        server,
        &format!("/api/projects/{EVIDENTLY_PROJECT}/info"),
        evidently_fixture("project_info.json"),
    )
    .await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/api/v2/snapshots/{EVIDENTLY_PROJECT}/data_series_batch"
        )))
        .respond_with(ok(evidently_fixture("data_series_batch.json")))
        .mount(server)
        .await;
}

/// One repository with one tag, as an OCI Distribution registry serves it.
async fn mount_registry(server: &MockServer) {
    get(
        server,
        "/v2/team/web/tags/list",
        json!({"name": "team/web", "tags": ["1.0"]}),
    )
    .await;
    Mock::given(method("HEAD"))
        .and(path("/v2/team/web/manifests/1.0"))
        .respond_with(
            ResponseTemplate::new(200).insert_header("docker-content-digest", "sha256:m1"),
        )
        .mount(server)
        .await;
    get(
        server,
        "/v2/team/web/manifests/sha256:m1",
        json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
               "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:c1", "size": 2},
               "layers": [], "annotations": {"org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567"}}),
    )
    .await;
    get(
        server,
        "/v2/team/web/blobs/sha256:c1",
        json!({"created": "2026-11-20T10:00:00Z", "config": {}}),
    )
    .await;
}

/// Write the token file (its value is `marker`) and the kubeconfig a kind
/// needs, then the config text of one source named `name` reading `base`.
pub fn config(kind: Kind, name: &str, base: &str, dir: &Path, marker: &str) -> String {
    let token = dir.join(format!("{name}-token"));
    std::fs::write(&token, format!("{marker}\n")).expect("token file");
    let token = format!("token = {{ file = \"{}\" }}", token.display());
    let head = format!("[[source]]\nname = \"{name}\"\nrefresh = \"{REFRESH}\"\n");
    let timeout = format!("timeout = \"{SOURCE_TIMEOUT}\"");
    match kind {
        Kind::Github => format!(
            "{head}kind = \"github\"\nrepo = \"octo-org/octo-repo\"\napi_url = \"{base}\"\n{token}\n{timeout}\n"
        ),
        Kind::Gitlab => format!(
            "{head}kind = \"gitlab\"\nproject = \"{}\"\nurl = \"{base}\"\n{token}\n{timeout}\n",
            support_gitlab::PROJECT
        ),
        Kind::Jenkins => format!(
            "{head}kind = \"jenkins\"\nurl = \"{base}\"\njobs = [\"deploy\"]\nuser = \"alice\"\n{token}\n{timeout}\n"
        ),
        Kind::ArgoRest => format!("{head}kind = \"argocd\"\nurl = \"{base}\"\n{token}\n"),
        Kind::ArgoKube | Kind::Flux | Kind::Tofu => {
            let kube_dir = dir.join(name);
            std::fs::create_dir_all(&kube_dir).expect("kubeconfig dir");
            let kubeconfig = write_kubeconfig(
                &kube_dir,
                &[("fault", base.to_string(), User::Token(marker.to_string()))],
            );
            let (kind, ns) = match kind {
                Kind::Flux => ("flux", "flux-system"),
                Kind::Tofu => ("tofu", "flux-system"),
                _ => ("argocd", "argocd"),
            };
            format!(
                "{head}kind = \"{kind}\"\ncontext = \"fault\"\nkubeconfig = \"{}\"\nnamespaces = [\"{ns}\"]\n",
                kubeconfig.display()
            )
        }
        Kind::Prometheus => format!(
            "{head}kind = \"prometheus\"\nurl = \"{base}\"\n{token}\n{timeout}\n\
             [[source.model]]\nname = \"churn\"\nquery = 'model_feature_psi{{model=\"churn\"}}'\nwarn = 0.1\ncritical = 0.25\n"
        ),
        Kind::Mlflow => format!(
            "{head}kind = \"mlflow\"\nurl = \"{base}\"\n{token}\n{timeout}\n\
             [[source.model]]\nname = \"churn\"\nexperiment = \"churn-monitoring\"\nmetrics = [\"psi.*\"]\nwarn = 0.1\ncritical = 0.25\n"
        ),
        Kind::Airflow => {
            format!("{head}kind = \"airflow\"\nurl = \"{base}\"\n{token}\n{timeout}\n")
        }
        Kind::Kubeflow => {
            format!("{head}kind = \"kubeflow\"\nurl = \"{base}\"\n{token}\n{timeout}\n")
        }
        Kind::Evidently => format!(
            "{head}kind = \"evidently\"\nurl = \"{base}\"\nproject = \"churn-monitoring\"\n{token}\n{timeout}\n"
        ),
        Kind::Registry => format!(
            "{head}kind = \"registry\"\nurl = \"{base}\"\nrepositories = [\"team/web\"]\n{token}\n{timeout}\n"
        ),
        Kind::TerraformCloud => format!(
            "{head}kind = \"terraform-cloud\"\nurl = \"{base}\"\norganization = \"acme\"\n{token}\n{timeout}\n"
        ),
        Kind::Git => {
            // A clone whose `origin` is the remote behind `base` (git://).
            let clone = dir.join(format!("{name}-clone"));
            if !clone.exists() {
                git(
                    dir,
                    &[
                        "clone",
                        "-q",
                        &dir.join("remote.git").display().to_string(),
                        &clone.display().to_string(),
                    ],
                );
            }
            let url = format!("{}/remote.git", base.replacen("http://", "git://", 1));
            git(&clone, &["remote", "set-url", "origin", &url]);
            format!(
                "{head}kind = \"git\"\npath = \"{}\"\nbranch = \"main\"\n\
                 [[source.app]]\nname = \"web\"\npath = \"apps/web\"\n",
                clone.display()
            )
        }
    }
}

/// Run git in `dir`; panics with its stderr when it fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "On Call")
        .env("GIT_AUTHOR_EMAIL", "oncall@example.com")
        .env("GIT_COMMITTER_NAME", "On Call")
        .env("GIT_COMMITTER_EMAIL", "oncall@example.com")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `git daemon --inetd` behind a listener on 127.0.0.1 that this test
/// keeps: one daemon per connection, serving `dir/remote.git` (one commit
/// under apps/web).
pub struct GitDaemon {
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl GitDaemon {
    async fn start(dir: &Path) -> GitDaemon {
        let work = dir.join("work");
        std::fs::create_dir_all(work.join("apps/web")).expect("work tree");
        git(&work, &["init", "-q", "-b", "main"]);
        std::fs::write(work.join("apps/web/deploy.yaml"), "image: web:v1\n").expect("file");
        git(&work, &["add", "."]);
        git(&work, &["commit", "-q", "-m", "web v1"]);
        git(dir, &["clone", "-q", "--bare", "work", "remote.git"]);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let base = dir.to_path_buf();
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let base = base.clone();
                tokio::spawn(async move {
                    let Ok(mut child) = tokio::process::Command::new("git")
                        .args(["daemon", "--inetd", "--export-all"])
                        .arg(format!("--base-path={}", base.display()))
                        .arg(&base)
                        .stdin(Stdio::piped())
                        .stdout(Stdio::piped())
                        .stderr(Stdio::null())
                        .kill_on_drop(true)
                        .spawn()
                    else {
                        return;
                    };
                    let (Some(mut stdin), Some(mut stdout)) =
                        (child.stdin.take(), child.stdout.take())
                    else {
                        return;
                    };
                    let (mut read, mut write) = conn.into_split();
                    let feed = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut read, &mut stdin).await;
                    });
                    let _ = tokio::io::copy(&mut stdout, &mut write).await;
                    feed.abort();
                    let _ = child.wait().await;
                });
            }
        });
        GitDaemon { port, task }
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        self.task.abort();
    }
}
