//! What each source gives the timeline, against real servers and the test
//! servers, through `opsdeck timeline --format json`: a model version's
//! training commit from a real MLflow, and an app's running image from a
//! real registry, each linked to the CI run that built its commit; a Flux
//! Kustomization's images read from its workloads on the kube test server.
#![recursion_limit = "256"]

mod support;
mod support_github;
mod support_kube;
mod support_registry;

// The registry's harness finds its server starter at `crate::server`.
use support::server;

use serde_json::{Value, json};
use support::mlflow::{call, mlflow};
use support::{opsdeck, run, write_config};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SHA: &str = "7b972aa41c7e0f3b2d1e4f5a6b7c8d9e0f1a2b3c";
const TAGGED: &str = "2222222bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn ago(minutes: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(minutes))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A GitHub Actions server with one finished run of `sha`.
async fn github(sha: &str) -> MockServer {
    let server = MockServer::start().await;
    let built = support_github::run_with(
        101,
        "completed",
        Some("success"),
        json!({"head_sha": sha, "created_at": ago(30), "run_started_at": ago(29),
               "updated_at": ago(20)}),
    );
    Mock::given(method("GET"))
        .and(path(support_github::RUNS_PATH))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(support_github::runs_page(vec![built], 1)),
        )
        .mount(&server)
        .await;
    server
}

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// `opsdeck timeline --format json` with `config`; its events.
async fn timeline(dir: &std::path::Path, config: &str) -> Vec<Value> {
    let config = write_config(dir, config);
    let mut cmd = opsdeck(dir);
    cmd.arg("--config")
        .arg(&config)
        .args(["timeline", "--format", "json"]);
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || run(&mut cmd))
        .await
        .expect("join");
    assert_eq!(code, Some(0), "{stderr}");
    json_of(&stdout)["events"]
        .as_array()
        .expect("events")
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_version_carries_its_training_commit_from_real_mlflow() {
    let Some(ml) = mlflow() else { return };
    let url = ml.server.url();
    let client = reqwest::Client::new();
    // A training run that recorded its commit, one that did not, and a
    // version that carries the commit in its own tags.
    let experiment = call(
        &client,
        &url,
        "experiments/create",
        Some(json!({"name": "tl-training"})),
    )
    .await;
    let experiment = experiment["experiment_id"]
        .as_str()
        .expect("id")
        .to_string();
    let new_run = |tags: Value| {
        let (client, url, experiment) = (client.clone(), url.clone(), experiment.clone());
        async move {
            let r = call(
                &client,
                &url,
                "runs/create",
                Some(json!({"experiment_id": experiment, "run_name": "train", "tags": tags})),
            )
            .await;
            r["run"]["info"]["run_id"]
                .as_str()
                .expect("run id")
                .to_string()
        }
    };
    let with_commit = new_run(json!([{"key": "mlflow.source.git.commit", "value": SHA}])).await;
    let without = new_run(json!([])).await;
    let model = "tl-model";
    call(
        &client,
        &url,
        "registered-models/create",
        Some(json!({"name": model})),
    )
    .await;
    for (run, tags) in [
        (&without, json!([])),
        (&with_commit, json!([])),
        (
            &without,
            json!([{"key": "mlflow.source.git.commit", "value": TAGGED}]),
        ),
    ] {
        call(
            &client,
            &url,
            "model-versions/create",
            Some(
                json!({"name": model, "source": format!("runs:/{run}/model"), "run_id": run,
                        "tags": tags}),
            ),
        )
        .await;
    }

    let gh = github(SHA).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("token");
    std::fs::write(&token, "t0ken\n").expect("token");
    let events = timeline(
        dir.path(),
        &format!(
            "[[source]]\nname = \"ci\"\nkind = \"github\"\nrepo = \"octo-org/octo-repo\"\n\
             api_url = \"{}\"\ntoken = {{ file = \"{}\" }}\n\n\
             [[source]]\nname = \"ml\"\nkind = \"mlflow\"\nurl = \"{url}\"\n\
             [[source.model]]\nname = \"{model}\"\nexperiment = \"tl-training\"\n\
             metrics = [\"psi\"]\nwarn = 0.1\ncritical = 0.25\n",
            gh.uri(),
            token.display()
        ),
    )
    .await;
    let version = |v: &str| {
        events
            .iter()
            .find(|e| {
                e["kind"] == "model_version"
                    && e["target"] == "ml/tl-model"
                    && e["summary"]
                        .as_str()
                        .is_some_and(|s| s.starts_with(&format!("version {v} ")))
            })
            .unwrap_or_else(|| panic!("no version {v} in {events:#?}"))
    };
    // From the run's tag: linked to the CI run that built the commit.
    assert_eq!(version("2")["revision"], SHA);
    assert!(
        version("2")["links"]
            .as_array()
            .expect("links")
            .contains(&json!({"rel": "built_by", "target": "ci/101", "revision": SHA})),
        "{}",
        version("2")
    );
    // From the version's own tag; a run without one gives no revision.
    assert_eq!(version("3")["revision"], TAGGED);
    assert_eq!(version("1")["revision"], Value::Null);
    assert_eq!(version("1")["links"], json!([]));
}

const APP_SHA: &str = "abcdef0123456789abcdef0123456789abcdef01";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_image_links_the_deploy_to_the_run_that_built_it() {
    let Some(registry) = support_registry::open() else {
        return;
    };
    let repo = "team/tl-payments";
    support_registry::Pusher::new(registry)
        .image(
            repo,
            &support_registry::Image {
                tag: "1.4.2",
                created: &ago(40),
                revision: Some(APP_SHA),
                revision_in_label: true,
                content: "tl-payments 1.4.2",
            },
        )
        .await;
    let argo = MockServer::start().await;
    let started = ago(11);
    let app = json!({
        "metadata": {"name": "payments", "namespace": "argocd"},
        "spec": {"destination": {"name": "prod-eu", "namespace": "payments"}},
        "status": {
            "sync": {"status": "Synced", "revision": SHA},
            "health": {"status": "Healthy"},
            "history": [{"id": 7, "revision": SHA, "deployStartedAt": started, "deployedAt": ago(10)}],
            "summary": {"images": [format!("{}/{repo}:1.4.2", registry.host())]}
        }
    });
    Mock::given(method("GET"))
        .and(path("/api/v1/applications"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"metadata": {}, "items": [app]})),
        )
        .mount(&argo)
        .await;
    let gh = github(APP_SHA).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("token");
    std::fs::write(&token, "t0ken\n").expect("token");
    let events = timeline(
        dir.path(),
        &format!(
            "[[source]]\nname = \"ci\"\nkind = \"github\"\nrepo = \"octo-org/octo-repo\"\n\
             api_url = \"{}\"\ntoken = {{ file = \"{t}\" }}\n\n\
             [[source]]\nname = \"argo\"\nkind = \"argocd\"\nurl = \"{}\"\n\
             token = {{ file = \"{t}\" }}\n\n\
             [[source]]\nname = \"images\"\nkind = \"registry\"\nurl = \"{}\"\n\
             repositories = [\"{repo}\"]\n",
            gh.uri(),
            argo.uri(),
            registry.url(),
            t = token.display()
        ),
    )
    .await;
    let deploy = events
        .iter()
        .find(|e| e["kind"] == "deploy" && e["target"] == "argo/payments")
        .unwrap_or_else(|| panic!("no deploy in {events:#?}"));
    assert_eq!(deploy["revision"], SHA);
    assert_eq!(deploy["started_at"], started.as_str());
    let links = deploy["links"].as_array().expect("links");
    assert!(
        links.contains(
            &json!({"rel": "image", "target": format!("images/{repo}:1.4.2"),
                               "revision": APP_SHA})
        ),
        "{deploy}"
    );
    assert!(
        links.contains(&json!({"rel": "built_by", "target": "ci/101", "revision": APP_SHA})),
        "{deploy}"
    );
    let run = events
        .iter()
        .find(|e| e["kind"] == "run" && e["target"] == "ci/101")
        .expect("the run");
    assert!(
        run["links"]
            .as_array()
            .expect("links")
            .contains(&json!({"rel": "deploys", "target": "argo/payments", "revision": APP_SHA})),
        "{run}"
    );
}

/// churn's age PSI climbs past 0.25 between two raw samples a minute apart
/// (`support::prometheus::churn_age_psi`): 1620 s before the newest sample
/// is the first at or past it. The trend (a 180 s step) only knows the
/// crossing to within a step; the onset event has the raw sample's time,
/// for a selector and for an expression alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drift_onset_is_the_raw_sample_that_crossed() {
    let Some(prom) = support::prometheus::prometheus() else {
        return;
    };
    let crossed = chrono::DateTime::from_timestamp(prom.newest - 1620, 0).expect("time");
    assert!(support::prometheus::churn_age_psi(1620) >= 0.25);
    assert!(support::prometheus::churn_age_psi(1680) < 0.25);
    let source = support::source_of(&format!(
        "[[source]]\nname = \"prom\"\nkind = \"prometheus\"\nurl = \"{}\"\n\
         [[source.model]]\nname = \"churn\"\nquery = 'model_feature_psi{{model=\"churn\"}}'\n\
         warn = 0.1\ncritical = 0.25\n\
         [[source.model]]\nname = \"churn-max\"\n\
         query = 'max by (model) (model_feature_psi{{model=\"churn\"}})'\n\
         warn = 0.1\ncritical = 0.25\n",
        prom.server.url()
    ));
    let snapshot = source.fetch().await.expect("read prometheus");
    let now = chrono::Utc::now();
    let timeline = opsdeck::timeline::Timeline::build(
        &[opsdeck::timeline::SourceView {
            name: "prom",
            snapshot: &snapshot,
        }],
        &[],
        &opsdeck::timeline::Settings::default(),
        now,
    );
    for model in ["prom/churn", "prom/churn-max"] {
        let onsets: Vec<_> = timeline
            .events
            .iter()
            .filter(|e| e.target == model && e.kind == opsdeck::timeline::EventKind::DriftOnset)
            .collect();
        assert_eq!(onsets.len(), 1, "{model}: {onsets:#?}");
        assert_eq!(onsets[0].time, crossed, "{model}");
    }
    // The trend alone knows it to a step: at the raw sample only when a
    // trend point falls on it, else later.
    let churn = snapshot
        .models
        .iter()
        .find(|m| m.model == "churn")
        .expect("churn");
    let from_trend = opsdeck::model::onset::model_episodes(&churn.metrics, now);
    assert!(from_trend[0].onset >= crossed, "{from_trend:?}");
    assert!(from_trend[0].onset - crossed < chrono::Duration::seconds(180));
}

/// A Kustomization that sets no images runs those of its inventory's
/// workloads: `gitops[].images` in the status JSON, as for Argo CD.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flux_apps_show_the_images_their_workloads_run() {
    use support_kube::objects::{SHA_A, deployment, git_repository, kustomization, ready};
    let server = support_kube::KubeServer::start().await;
    server.apply(git_repository("flux-system", "fleet", SHA_A));
    let ok = ready("True", "ReconciliationSucceeded", "Applied revision");
    // Its inventory names Deployment web/web (and a Service).
    server.apply(kustomization("flux-system", "web", SHA_A, ok));
    server.apply(deployment(
        "web",
        "web",
        &["ghcr.io/acme/web:1.2", "envoyproxy/envoy:v1.30"],
    ));
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = support_kube::write_kubeconfig(
        dir.path(),
        &[("prod", server.url(), support_kube::User::Token("t".into()))],
    );
    let config = write_config(
        dir.path(),
        &format!(
            "[[source]]\nname = \"flux\"\nkind = \"flux\"\ncontext = \"prod\"\nkubeconfig = \"{}\"\n",
            kubeconfig.display()
        ),
    );
    let mut cmd = opsdeck(dir.path());
    cmd.arg("--config")
        .arg(&config)
        .args(["status", "--format", "json"]);
    let (_, stdout, stderr) = tokio::task::spawn_blocking(move || run(&mut cmd))
        .await
        .expect("join");
    let doc = json_of(&stdout);
    let web = doc["gitops"]
        .as_array()
        .expect("gitops")
        .iter()
        .find(|a| a["app"] == "flux-system/web")
        .unwrap_or_else(|| panic!("no web in {doc} ({stderr})"));
    assert_eq!(
        web["images"],
        json!([
            {"image": "ghcr.io/acme/web:1.2", "digest": null, "revision": null,
             "created_at": null, "newer_tags": null},
            {"image": "envoyproxy/envoy:v1.30", "digest": null, "revision": null,
             "created_at": null, "newer_tags": null}
        ])
    );
    let reads = server
        .requests()
        .iter()
        .filter(|r| r.contains("/deployments/web"))
        .count();
    assert_eq!(reads, 1, "{:?}", server.requests());
}
