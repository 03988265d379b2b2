//! Actions through the real binary: rerun (retry), cancel (terminate) with KFP's
//! refusal in its words, and a new run typed as its version declares.

use super::*;

/// The real binary against the test server: `--yes`, its own audit log.
async fn opsdeck(s: &KfpServer, dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let config = dir.join("opsdeck.toml");
    std::fs::write(
        &config,
        format!(
            "[[source]]\nname = \"kfp\"\nkind = \"kubeflow\"\nurl = \"{}\"\n",
            s.url()
        ),
    )
    .expect("config");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .arg("--config")
        .arg(&config)
        .arg("--audit-log")
        .arg(dir.join("audit.jsonl"))
        .args(args)
        .env_remove("OPSDECK_CONFIG")
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("run opsdeck");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn posts(s: &KfpServer) -> Vec<(String, String)> {
    s.seen()
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r| (r.path, r.body))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerun_retries_failed_and_canceled_runs_only() {
    let s = server().await;
    add(&s, "failed", "e-fraud", "FAILED", T0);
    add(&s, "stopped", "e-fraud", "CANCELED", T0 + 1);
    add(&s, "fine", "e-fraud", "SUCCEEDED", T0 + 2);
    let dir = tempfile::tempdir().expect("tempdir");
    for id in ["failed", "stopped"] {
        s.forget_seen();
        let (code, out, err) =
            opsdeck(&s, dir.path(), &["rerun", &format!("kfp/{id}"), "--yes"]).await;
        assert_eq!(code, Some(0), "{out}{err}");
        assert!(out.contains(&format!("run {id} retried")), "{out}");
        assert_eq!(
            posts(&s),
            [(format!("/apis/v2beta1/runs/{id}:retry"), String::new())]
        );
    }
    let snapshot = source(&s, |_| {}).fetch().await.expect("read");
    let runs = by_id(&snapshot.pipelines);
    for id in ["failed", "stopped"] {
        assert_eq!(runs[id].status, RunStatus::Running, "{id}");
        assert_eq!(runs[id].attempt, 2, "{id}");
        assert_eq!(runs[id].duration, None, "{id}");
    }
    // KFP retries failed and canceled runs only: refused before sending.
    s.forget_seen();
    let (code, _, err) = opsdeck(&s, dir.path(), &["rerun", "kfp/fine", "--yes"]).await;
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("did not fail and was not cancelled"), "{err}");
    assert!(posts(&s).is_empty());
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).expect("audit");
    assert_eq!(audit.lines().count(), 4, "requested + done, twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_terminates_a_live_run_and_kfps_refusal_is_shown_in_its_words() {
    let s = server().await;
    add(&s, "live", "e-fraud", "RUNNING", T0);
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err) = opsdeck(&s, dir.path(), &["cancel", "kfp/live", "--yes"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(
        posts(&s),
        [(
            "/apis/v2beta1/runs/live:terminate".to_string(),
            String::new()
        )]
    );
    let kfp = source(&s, |_| {});
    let runs = kfp.fetch().await.expect("read").pipelines;
    assert_eq!(
        runs[0].status,
        RunStatus::Running,
        "canceling is still live"
    );
    s.settle();
    let runs = kfp.fetch().await.expect("read").pipelines;
    assert_eq!(runs[0].status, RunStatus::Cancelled);
    // A run that ended meanwhile: KFP's refusal, in its words.
    s.edit_run("live", |r| r["state"] = json!("RUNNING"));
    let reread = kfp.fetch().await.expect("read");
    assert_eq!(reread.pipelines[0].status, RunStatus::Running);
    s.edit_run("live", |r| r["state"] = json!("SUCCEEDED"));
    let action = opsdeck::model::Action {
        kind: opsdeck::model::ActionKind::Cancel,
        target: opsdeck::model::Target::new("kfp", opsdeck::model::TargetKind::Run, "live"),
        to: None,
        effect: "cancel".into(),
        production: false,
        follow: None,
        sync: Default::default(),
        inputs: Vec::new(),
    };
    let e = kfp.execute(&action).await.expect_err("refused");
    assert!(
        matches!(&e, opsdeck::sources::ActionError::Rejected(w) if w.contains("the run is already SUCCEEDED")),
        "{e:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_run_starts_from_a_run_with_its_parameters_typed_as_declared() {
    let s = server().await;
    add(&s, "base", "e-fraud", "SUCCEEDED", T0);
    let kfp = source(&s, |_| {});
    kfp.fetch().await.expect("read");
    // The form: the version's parameters, pre-filled from the run.
    let form = kfp.dispatch_form("p-fraud/v4/base").await.expect("form");
    assert_eq!(form.name, "fraud-training v4");
    assert_eq!(form.git_ref, None);
    let values: Vec<(&str, &str, bool)> = form
        .inputs
        .iter()
        .map(|i| (i.name.as_str(), i.default.as_str(), i.required))
        .collect();
    assert_eq!(
        values,
        [
            ("dataset", "gs://fraud/2026-12", true),
            ("epochs", "5", false),
            ("lr", "0.3", false)
        ]
    );
    // Headless: the pipeline and version named, one parameter given.
    let dir = tempfile::tempdir().expect("tempdir");
    s.forget_seen();
    let (code, out, err) = opsdeck(
        &s,
        dir.path(),
        &[
            "dispatch",
            "kfp/p-fraud/v4",
            "--input",
            "dataset=gs://fraud/2027-01",
            "--input",
            "lr=0.05",
            "--yes",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("new run new-1 created (pending)"), "{out}");
    let posted = posts(&s);
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].0, "/apis/v2beta1/runs");
    let body: Value = serde_json::from_str(&posted[0].1).expect("JSON body");
    assert_eq!(
        body["pipeline_version_reference"],
        json!({"pipeline_id": "p-fraud", "pipeline_version_id": "v4"})
    );
    assert_eq!(
        body["runtime_config"]["parameters"],
        json!({"dataset": "gs://fraud/2027-01", "epochs": 5, "lr": 0.05})
    );
    assert!(
        body["display_name"]
            .as_str()
            .is_some_and(|n| n.starts_with("opsdeck run of p-fraud/v4"))
    );
    let created = s.run_json("new-1").expect("created");
    assert_eq!(created["state"], "PENDING");
    // A value that is not of the declared type is refused before sending.
    s.forget_seen();
    let (code, _, err) = opsdeck(
        &s,
        dir.path(),
        &[
            "dispatch",
            "kfp/p-fraud/v4",
            "--input",
            "dataset=x",
            "--input",
            "epochs=many",
            "--yes",
        ],
    )
    .await;
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("parameter epochs: `many` is not a whole number"),
        "{err}"
    );
    assert!(posts(&s).is_empty());
    // From the run: its experiment, its values where none is given.
    let action = opsdeck::model::Action {
        kind: opsdeck::model::ActionKind::Dispatch,
        target: opsdeck::model::Target::new(
            "kfp",
            opsdeck::model::TargetKind::Pipeline,
            "p-fraud/v4/base",
        ),
        to: None,
        effect: "start".into(),
        production: false,
        follow: None,
        sync: Default::default(),
        inputs: form
            .inputs
            .iter()
            .map(|i| (i.name.clone(), i.default.clone()))
            .collect(),
    };
    let done = kfp.execute(&action).await.expect("created");
    assert!(done.starts_with("new run new-2 created"), "{done}");
    let created = s.run_json("new-2").expect("created");
    assert_eq!(created["experiment_id"], "e-fraud");
    assert_eq!(
        created["runtime_config"]["parameters"],
        json!({"dataset": "gs://fraud/2026-12", "epochs": 5, "lr": 0.3})
    );
}
