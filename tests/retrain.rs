//! The retraining loop end to end against a real Apache Airflow 3 and a
//! real MLflow (both started once for this binary by tests/support): a
//! model whose `train` names an Airflow DAG is retrained — a DAG run with
//! the conf filled in — the run succeeds, a new version is registered, and
//! promoting moves the serving alias there. Driven through `update` and
//! the executor as the dashboard does, headless through the binary, and in
//! the dashboard itself in a pseudo-terminal (which also shows the Airflow
//! source's Pipelines tab).
//!
//! The three tests share one Airflow on SQLite, which answers concurrent
//! writes with `500 Database error` now and then: they take turns writing
//! (`WRITES`), and each test writes one thing at a time.

mod common;
mod support;

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::pty::{Must, Spawn, keys};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::app::audit::AuditLog;
use opsdeck::app::executor::Executor;
use opsdeck::app::retrain::{Progress, progress};
use opsdeck::app::state::{Overlay, Tab};
use opsdeck::app::{Command, Effect, Keymap, Msg, State, update};
use opsdeck::model::{RunStatus, Target, TargetKind};
use opsdeck::sources::{Source, SourceEvent, fetch_with_timeout};
use serde_json::json;
use support::airflow::{Airflow, airflow};
use support::mlflow::{Mlflow, alias_version, call, mlflow};
use support::server::block_on_thread;

/// A run of the params DAG goes trigger → success in a few seconds here;
/// give slow boxes room.
const RUN_TIMEOUT: Duration = Duration::from_secs(180);
const POLL: Duration = Duration::from_millis(500);

/// One test writes to Airflow at a time.
static WRITES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Airflow (its params DAG) and MLflow, the model `model` retrained by
/// that DAG with its name and a mode the DAG declares, and a note it
/// does not (sent as extra conf).
fn config(af: &Airflow, ml: &Mlflow, dir: &Path, model: &str) -> String {
    config_with(af, ml, dir, model, "", "\"opsdeck_params\"")
}

/// `config`, with top-level keys before the sources and the DAGs read.
fn config_with(
    af: &Airflow,
    ml: &Mlflow,
    dir: &Path,
    model: &str,
    top: &str,
    dags: &str,
) -> String {
    let airflow = af.config("airflow", "admin", dir, &format!("dags = [{dags}]"));
    format!(
        "{top}{airflow}\n[[source]]\nname = \"mlflow\"\nkind = \"mlflow\"\nurl = \"{}\"\n\n\
         [[source.model]]\nname = \"{model}\"\nexperiment = \"fraud-monitoring\"\n\
         metrics = [\"psi.*\"]\nwarn = 0.1\ncritical = 0.25\n\
         train = {{ pipeline = \"airflow/opsdeck_params\", conf = {{ model = \"{{model}}\", \
         mode = \"full\", note = \"from version {{version}}\" }} }}\n",
        ml.server.url()
    )
}

/// Register a new version of `model` (what the training pipeline would
/// do at its end), as a setup write.
async fn register_version(ml: &Mlflow, model: &str) -> String {
    let client = reqwest::Client::new();
    let url = ml.server.url();
    // Its own MLflow run (the pipeline's training run), in the default experiment.
    let run = call(
        &client,
        &url,
        "runs/create",
        Some(json!({"experiment_id": "0", "run_name": format!("retrain {model}")})),
    )
    .await;
    let run_id = run["run"]["info"]["run_id"].as_str().expect("run id");
    let created = call(
        &client,
        &url,
        "model-versions/create",
        Some(json!({
            "name": model,
            "source": format!("runs:/{run_id}/model"),
            "run_id": run_id,
        })),
    )
    .await;
    created["model_version"]["version"]
        .as_str()
        .expect("version")
        .to_string()
}

/// The dashboard's state and what performs its effects.
struct Dash {
    state: State,
    sources: Vec<Arc<dyn Source>>,
    executor: Executor,
}

impl Dash {
    fn new(text: &str, audit: &Path) -> Dash {
        let config = support::parse_config(text);
        let sources = opsdeck::sources::build_all(&config);
        let states = (sources.iter().zip(&config.sources))
            .map(|(s, c)| opsdeck::cli::source_state(s.as_ref(), c.production))
            .collect();
        let state = State::new(states, Keymap::default(), false, chrono::Utc::now());
        let executor = Executor::new(sources.clone(), AuditLog::new(audit.into(), "test"), false);
        Dash {
            state,
            sources,
            executor,
        }
    }

    async fn read(&mut self, source: usize) {
        let result = fetch_with_timeout(self.sources[source].as_ref()).await;
        let now = chrono::Utc::now();
        update(&mut self.state, Msg::Tick(now));
        update(
            &mut self.state,
            Msg::Source(SourceEvent {
                source,
                at: now,
                result: result.map(Into::into).map_err(|e| e.to_string()),
            }),
        );
    }

    async fn read_all(&mut self) {
        for i in 0..self.sources.len() {
            self.read(i).await;
        }
    }

    /// Apply `msg`, then carry out what it asks for, as the event loop does.
    async fn apply(&mut self, msg: Msg) {
        let mut queue: VecDeque<Effect> = update(&mut self.state, msg).into();
        while let Some(effect) = queue.pop_front() {
            let msgs = match effect {
                Effect::LoadDispatchForm {
                    source,
                    pipeline,
                    git_ref,
                } => {
                    let result = self.executor.dispatch_form(source, &pipeline).await;
                    let name = &self.state.sources[source].name;
                    vec![Msg::DispatchForm {
                        target: Target::new(name, TargetKind::Pipeline, &pipeline),
                        git_ref,
                        result,
                    }]
                }
                Effect::Run { id, action } => {
                    let (outcome, run) = self.executor.execute_started(id, &action).await;
                    let mut msgs: Vec<Msg> = run
                        .map(|run| Msg::Started { id, run })
                        .into_iter()
                        .collect();
                    msgs.push(Msg::Outcome {
                        id,
                        action: *action,
                        outcome,
                    });
                    msgs
                }
                Effect::Refetch(i) => {
                    self.read(i).await;
                    Vec::new()
                }
                _ => Vec::new(),
            };
            for msg in msgs {
                queue.extend(update(&mut self.state, msg));
            }
        }
    }

    fn key(code: KeyCode) -> Msg {
        Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn status(&self) -> String {
        (self.state.status.as_ref()).map_or(String::new(), |s| s.text.clone())
    }

    /// Read the sources again until `done` holds for the retrain of `model`.
    async fn wait(&mut self, model: &Target, what: &str, done: impl Fn(&Progress<'_>) -> bool) {
        let deadline = Instant::now() + RUN_TIMEOUT;
        loop {
            self.read_all().await;
            let now = progress(&self.state, model);
            if now.as_ref().is_some_and(&done) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what} did not happen within {RUN_TIMEOUT:?}: {:?}",
                now.map(|p| opsdeck::app::retrain::words(&p))
            );
            tokio::time::sleep(POLL).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrain_run_new_version_promote_through_update_against_real_airflow_and_mlflow() {
    let Some(af) = airflow() else { return };
    let Some(ml) = mlflow() else { return };
    let _turn = WRITES.lock().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    let mut dash = Dash::new(&config(af, ml, dir.path(), "fraud"), &audit);
    dash.read_all().await;
    let fraud = Target::new("mlflow", TargetKind::Model, "fraud");

    // n on the model: the DAG's params as the form, the train conf in them.
    dash.apply(Msg::Command(Command::TabDrift)).await;
    let row = dash.state.find(&fraud).expect("the model's row");
    let index = (dash.state.pane(Tab::Drift).rows.iter())
        .position(|r| *r == row)
        .expect("shown");
    dash.state.pane_mut(Tab::Drift).selected = index;
    dash.apply(Msg::Command(Command::NewRun)).await;
    let Some(Overlay::Form(form)) = &dash.state.overlay else {
        panic!("the form: {}", dash.status())
    };
    let value = |name: &str| {
        (form.fields.iter())
            .find(|f| f.name == name)
            .map(|f| f.value.clone())
            .unwrap_or_else(|| panic!("no field {name}"))
    };
    assert_eq!(value("model"), "fraud");
    assert_eq!(
        value("mode"),
        "full",
        "the train conf over the DAG's default"
    );
    assert_eq!(value("epochs"), "3", "the DAG's default");
    assert_eq!(value("variables"), "note=from version 3");

    // Enter, y: started through the executor, audited, kept with the model.
    dash.apply(Dash::key(KeyCode::Enter)).await;
    let Some(Overlay::Confirm(confirm)) = &dash.state.overlay else {
        panic!("the confirmation: {}", dash.status())
    };
    assert!(
        confirm
            .action
            .effect
            .ends_with(", to retrain mlflow/fraud (psi.* no data)"),
        "{}",
        confirm.action.effect
    );
    dash.apply(Dash::key(KeyCode::Char('y'))).await;
    let run_id = dash.state.retrains[&fraud]
        .run
        .clone()
        .unwrap_or_else(|| panic!("Airflow named the run: {}", dash.status()));
    let dag_run = run_id
        .strip_prefix("opsdeck_params/")
        .expect("a run of the DAG");
    let sent = af
        .get(&format!(
            "/api/v2/dags/opsdeck_params/dagRuns/{}",
            opsdeck::sources::http::path_segment(dag_run)
        ))
        .await;
    assert_eq!(
        sent["conf"],
        json!({"model": "fraud", "epochs": 3, "mode": "full", "note": "from version 3"}),
        "{sent}"
    );

    // The row follows the run to its end.
    dash.wait(
        &fraud,
        "the retrain run's success",
        |p| matches!(p, Progress::Run { run, .. } if run.status == RunStatus::Success),
    )
    .await;
    dash.apply(Msg::Command(Command::Promote)).await;
    assert!(
        dash.status().contains("success — no new version yet"),
        "{}",
        dash.status()
    );

    // The pipeline registers a version: it is offered, and o promotes it.
    let version = register_version(ml, "fraud").await;
    dash.wait(
        &fraud,
        "the new version",
        |p| matches!(p, Progress::Run { version: Some((v, _)), .. } if v.version == version),
    )
    .await;
    dash.apply(Msg::Command(Command::Promote)).await;
    let Some(Overlay::Confirm(confirm)) = &dash.state.overlay else {
        panic!("the confirmation: {}", dash.status())
    };
    assert_eq!(
        confirm.action.effect,
        format!(
            "promote version {version}: point mlflow/fraud alias \"champion\" from version 3 to {version}"
        )
    );
    dash.apply(Dash::key(KeyCode::Char('y'))).await;
    assert_eq!(
        alias_version(&ml.server.url(), "fraud", "champion").await,
        version,
        "{}",
        dash.status()
    );

    // Both went through the audit log: requested, then done.
    let lines = support::audit_lines(&audit);
    let seen: Vec<(String, String)> = (lines.iter())
        .map(|l| {
            (
                l["action"].as_str().unwrap_or("").to_string(),
                l["outcome"].as_str().unwrap_or("requested").to_string(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("dispatch", "requested"),
            ("dispatch", "done"),
            ("set_model_alias", "requested"),
            ("set_model_alias", "done"),
        ]
        .map(|(a, o)| (a.to_string(), o.to_string())),
        "{lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrain_and_promote_headless_through_the_binary() {
    let Some(af) = airflow() else { return };
    let Some(ml) = mlflow() else { return };
    let _turn = WRITES.lock().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = support::write_config(dir.path(), &config(af, ml, dir.path(), "upsell"));
    let audit = dir.path().join("audit.jsonl");
    let cli = |args: &[&str]| {
        support::run(
            support::opsdeck(dir.path())
                .arg("--config")
                .arg(&path)
                .arg("--audit-log")
                .arg(&audit)
                .args(args),
        )
    };

    // Started: exit 0, the effect and the run it started printed.
    let (code, stdout, stderr) =
        cli(&["retrain", "mlflow/upsell", "--yes", "--input", "mode=fast"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("will start a new run of opsdeck_params (airflow/opsdeck_params) with ")
            && stdout.contains("model=upsell")
            && stdout.contains("mode=fast")
            && stdout.contains("note=from version 3, to retrain mlflow/upsell (psi.* no data)"),
        "{stdout}"
    );
    let run = stdout
        .lines()
        .find_map(|l| l.strip_prefix("run: airflow/opsdeck_params/"))
        .unwrap_or_else(|| panic!("the run it started: {stdout}"));
    let done = af
        .wait_run("opsdeck_params", run, &["success", "failed"], RUN_TIMEOUT)
        .await;
    assert_eq!(done["state"], "success", "{done}");
    assert_eq!(
        done["conf"],
        json!({"model": "upsell", "epochs": 3, "mode": "fast", "note": "from version 3"}),
        "--input wins over the train conf: {done}"
    );

    // Promote: the version named, newer than the serving one.
    let version = register_version(ml, "upsell").await;
    let (code, stdout, stderr) = cli(&["promote", "mlflow/upsell", "--to", &version, "--yes"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "will promote version {version}: point mlflow/upsell alias \"champion\" from version 3 to {version}"
        )),
        "{stdout}"
    );
    assert_eq!(
        alias_version(&ml.server.url(), "upsell", "champion").await,
        version
    );
    // An older version is a rollback, refused as one (exit 1, nothing sent).
    let (code, _, stderr) = cli(&["promote", "mlflow/upsell", "--to", "2", "--yes"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "version 2 is older than the serving version {version}: that is a rollback"
        )),
        "{stderr}"
    );
    // A model with no train link: said, exit 1.
    let (code, _, stderr) = cli(&["retrain", "airflow/opsdeck_params", "--yes"]);
    assert_eq!(code, Some(2), "not a model: {stderr}");

    let actions: Vec<String> = support::audit_lines(&audit)
        .iter()
        .map(|l| format!("{} {} {}", l["via"], l["action"], l["outcome"]))
        .collect();
    assert_eq!(
        actions,
        [
            "\"cli\" \"dispatch\" \"requested\"",
            "\"cli\" \"dispatch\" \"done\"",
            "\"cli\" \"set_model_alias\" \"requested\"",
            "\"cli\" \"set_model_alias\" \"done\"",
        ]
    );
}

#[test]
fn the_dashboard_shows_airflow_runs_and_retrains_and_promotes_in_a_terminal() {
    let Some(af) = airflow() else { return };
    let Some(ml) = mlflow() else { return };
    let _turn = WRITES.blocking_lock();
    let dir = tempfile::tempdir().expect("tempdir");
    // A finished run of another DAG to see on the Pipelines tab.
    block_on_thread(af.trigger("opsdeck_ok", "pty_shown", json!({})));
    block_on_thread(af.wait_run("opsdeck_ok", "pty_shown", &["success"], RUN_TIMEOUT));
    let text = config_with(
        af,
        ml,
        dir.path(),
        "retention",
        "refresh = \"1s\"\n",
        "\"opsdeck_ok\", \"opsdeck_params\"",
    );
    let mut p = Spawn::default().size(200, 40).config(text).start().must();
    let step = Duration::from_secs(30);

    // The Pipelines tab: the DAG runs, the finished one among them.
    p.wait_for("1 Overview", step).must();
    p.send("2");
    p.wait_for_all(&["opsdeck_ok", "✓ success"], step).must();

    // The Drift tab: n retrains the model through its DAG's form.
    p.send("4");
    p.wait_for("retention", step).must();
    p.send("n");
    p.wait_for("Retrain mlflow/retention", step).must();
    p.send_key(keys::ENTER);
    p.wait_for("to retrain mlflow/retention", step).must();
    p.send("y");
    p.wait_for("retraining: manual__", step).must();
    p.wait_for("success — no new version yet", RUN_TIMEOUT)
        .must();

    // A version registered after the run started: o promotes it, old → new.
    let version = block_on_thread(register_version(ml, "retention"));
    p.wait_for(&format!("version {version} to promote"), step)
        .must();
    p.send("o");
    // The confirmation states old → new (wrapped in its dialog).
    p.wait_for_all(
        &[
            &format!("promote version {version}: point mlflow/retention alias"),
            &format!("version 3 to {version}"),
        ],
        step,
    )
    .must();
    p.send("y");
    p.wait_for("move the serving alias of mlflow/retention:", step)
        .must();
    assert_eq!(
        block_on_thread(alias_version(&ml.server.url(), "retention", "champion")),
        version
    );
    p.send("q");
    p.wait_exit(step).must();
}
