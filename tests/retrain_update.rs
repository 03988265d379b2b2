//! The retraining loop through `update`, as a person drives it, without
//! servers: `n` on a drifting model opens its `train` pipeline's form
//! pre-filled, the confirmed run is kept with the model and found in the
//! pipeline source's reads, and once it succeeded and a version was
//! registered, `o` promotes it — each step the same action the headless
//! commands plan through the resolver. (Against a real Airflow and MLflow:
//! tests/retrain.rs.)

use std::path::Path;

use chrono::{TimeDelta, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::app::resolver::{self, Context, Request, Resolved};
use opsdeck::app::state::{Overlay, SourceState, Tab};
use opsdeck::app::{Command, Effect, Keymap, Msg, State, retrain, update};
use opsdeck::model::{
    Action, ActionKind, DispatchForm, FormInput, Metric, ModelDrift, ModelVersion, Outcome,
    PipelineRun, RunStatus, Snapshot, Target, TargetKind, Timestamp, Worse,
};
use opsdeck::sources::SourceEvent;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const CONFIG: &str = r#"
[[source]]
name = "af"
kind = "airflow"
url = "http://127.0.0.1:9/"
token = { env = "AIRFLOW_JWT" }

[[source]]
name = "ml"
kind = "mlflow"
url = "http://127.0.0.1:9/"

[[source.model]]
name = "fraud"
experiment = "fraud"
metrics = ["psi.*"]
warn = 0.1
critical = 0.25
train = { pipeline = "af/retrain_fraud", conf = { model = "{model}", reason = "{reason}" } }

[[source]]
name = "prom"
kind = "prometheus"
url = "http://127.0.0.1:9/"

[[source.model]]
name = "churn"
query = "psi"
warn = 0.1
critical = 0.25
"#;

fn start() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 14, 9, 0, 0)
        .single()
        .expect("valid time")
}

fn version(v: &str, created: Timestamp) -> ModelVersion {
    ModelVersion {
        version: v.into(),
        created_at: Some(created),
        status: "READY".into(),
        description: None,
        run_id: None,
        revision: None,
    }
}

/// A drifting model as its source reads it, with its config's `train`.
fn model(config: &opsdeck::config::Config, source: &str, name: &str) -> ModelDrift {
    let mut m = opsdeck::sources::drift::empty_model(source, name, "champion", false);
    m.version = Some("3".into());
    m.versions = vec![version("3", start() - TimeDelta::days(3))];
    m.metrics = vec![Metric {
        name: "psi".into(),
        feature: Some("amount".into()),
        value: Some(0.31),
        warn: 0.1,
        critical: 0.25,
        worse: Worse::Above,
        series: Vec::new(),
    }];
    let configured = config.sources.iter().find(|s| s.name == source);
    m.train = configured.and_then(|s| s.kind.trains().first().map(|t| t.link()));
    m
}

/// A run of `af/retrain_fraud` (shaped from the demo fleet's runs).
fn run(id: &str, status: RunStatus, started: Timestamp) -> PipelineRun {
    let demo = opsdeck::sources::demo::DemoFleet::new(7, start(), true);
    let mut run = demo.snapshot("af").pipelines.remove(0);
    run.id = format!("retrain_fraud/{id}");
    run.pipeline = "retrain_fraud".into();
    run.pipeline_id = "retrain_fraud".into();
    run.branch.clear();
    run.commit.clear();
    run.status = status;
    run.created_at = Some(started);
    run.started_at = Some(started);
    run
}

struct Fleet {
    state: State,
    models: Vec<(usize, ModelDrift)>,
}

impl Fleet {
    fn new(read_only: bool) -> Fleet {
        let config = opsdeck::config::parse(CONFIG, Path::new("retrain.toml"))
            .unwrap_or_else(|e| panic!("{e}"));
        let states: Vec<SourceState> = opsdeck::sources::build_all(&config)
            .iter()
            .zip(&config.sources)
            .map(|(s, c)| opsdeck::cli::source_state(s.as_ref(), c.production))
            .collect();
        let state = State::new(states, Keymap::default(), read_only, start());
        let models = vec![
            (1, model(&config, "ml", "fraud")),
            (2, model(&config, "prom", "churn")),
        ];
        let mut fleet = Fleet { state, models };
        fleet.read(0, Snapshot::default());
        fleet.read_models();
        fleet
    }

    fn read(&mut self, source: usize, snapshot: Snapshot) {
        let at = self.state.now;
        update(
            &mut self.state,
            Msg::Source(SourceEvent {
                source,
                at,
                result: Ok(snapshot.into()),
            }),
        );
    }

    fn read_models(&mut self) {
        for (source, m) in self.models.clone() {
            self.read(
                source,
                Snapshot {
                    models: vec![m],
                    ..Snapshot::default()
                },
            );
        }
    }

    fn runs(&mut self, runs: Vec<PipelineRun>) {
        self.read(
            0,
            Snapshot {
                pipelines: runs,
                ..Snapshot::default()
            },
        );
    }

    fn select(&mut self, model: &Target) {
        update(&mut self.state, Msg::Command(Command::TabDrift));
        let row = self.state.find(model).expect("its row");
        let index = (self.state.pane(Tab::Drift).rows.iter())
            .position(|r| *r == row)
            .expect("shown");
        self.state.pane_mut(Tab::Drift).selected = index;
    }

    fn press(&mut self, command: Command) -> Vec<Effect> {
        update(&mut self.state, Msg::Command(command))
    }

    fn key(&mut self, code: KeyCode) -> Vec<Effect> {
        update(
            &mut self.state,
            Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)),
        )
    }

    fn status(&self) -> String {
        self.state
            .status
            .as_ref()
            .map(|s| s.text.clone())
            .unwrap_or_default()
    }

    fn ctx(&self) -> Context {
        Context {
            read_only: self.state.read_only,
            now: self.state.now,
        }
    }

    /// The headless path: SOURCE/NAME located, resolved.
    fn headless(&self, kind: ActionKind, name: (&str, &str), to: Option<&str>) -> Resolved {
        let target = resolver::locate(&self.state.sources, name.0, name.1, kind);
        resolver::resolve(
            &Request { kind, target, to },
            &self.state.sources,
            self.ctx(),
        )
        .unwrap_or_else(|why| panic!("{kind} {name:?}: {why}"))
    }

    /// The screen shows `text` (printed when it does not).
    fn shows(&self, text: &str) {
        let screen = self.screen();
        assert!(screen.contains(text), "`{text}` not on screen:\n{screen}");
    }

    fn screen(&self) -> String {
        let theme = opsdeck::theme::Theme::builtin("default").expect("theme");
        let mut terminal = Terminal::new(TestBackend::new(160, 30)).expect("terminal");
        terminal
            .draw(|frame| opsdeck::ui::draw(frame, &self.state, &theme))
            .expect("draw");
        let buffer = terminal.backend().buffer();
        let mut out = String::new();
        for y in 0..buffer.area.height {
            for x in 0..buffer.area.width {
                out.push_str(buffer[(x, y)].symbol());
            }
            out.push('\n');
        }
        out
    }
}

/// Airflow's form for the DAG: its params with their defaults, and free
/// conf keys.
fn airflow_form() -> DispatchForm {
    let input = |name: &str, default: &str| FormInput {
        name: name.into(),
        default: default.into(),
        description: String::new(),
        choices: Vec::new(),
        required: false,
    };
    DispatchForm {
        pipeline: "retrain_fraud".into(),
        name: "retrain_fraud".into(),
        git_ref: None,
        inputs: vec![
            input("model", "any"),
            input("reason", ""),
            input("epochs", "3"),
        ],
        free_inputs: true,
    }
}

#[test]
fn retrain_then_promote_from_the_drift_tab_as_headless_plans_them() {
    let mut fleet = Fleet::new(false);
    let fraud = Target::new("ml", TargetKind::Model, "fraud");
    let pipeline = Target::new("af", TargetKind::Pipeline, "retrain_fraud");
    fleet.select(&fraud);

    // n: the pipeline's form is read, to be pre-filled.
    let effects = fleet.press(Command::NewRun);
    assert!(
        effects.iter().any(|e| matches!(e, Effect::LoadDispatchForm { source: 0, pipeline, git_ref: None } if pipeline == "retrain_fraud")),
        "{effects:?}"
    );
    let Resolved::Retrain {
        model,
        pipeline: named,
        inputs,
    } = fleet.headless(ActionKind::Retrain, ("ml", "fraud"), None)
    else {
        panic!("a retrain")
    };
    assert_eq!((&model, &named), (&fraud, &pipeline));
    let reason = "psi[amount] 0.31 ≥ 0.25";
    assert_eq!(
        inputs,
        vec![
            ("model".to_string(), "fraud".to_string()),
            ("reason".to_string(), reason.to_string())
        ]
    );
    update(
        &mut fleet.state,
        Msg::DispatchForm {
            target: pipeline.clone(),
            git_ref: None,
            result: Ok(airflow_form()),
        },
    );
    let Some(Overlay::Form(form)) = &fleet.state.overlay else {
        panic!("the form: {:?}", fleet.state.overlay)
    };
    assert!(form.title.starts_with("Retrain ml/fraud"), "{}", form.title);
    let values: Vec<(&str, &str)> = (form.fields.iter())
        .map(|f| (f.name.as_str(), f.value.as_str()))
        .collect();
    // The train conf overrides the DAG's defaults; the rest keep theirs.
    assert_eq!(
        values[..3],
        [("model", "fraud"), ("reason", reason), ("epochs", "3")]
    );

    // Enter: the confirmation, the same action headless plans.
    fleet.key(KeyCode::Enter);
    let Some(Overlay::Confirm(confirm)) = fleet.state.overlay.clone() else {
        panic!("the confirmation: {}", fleet.status())
    };
    let sent: Vec<(String, String)> = vec![
        ("model".into(), "fraud".into()),
        ("reason".into(), reason.into()),
        ("epochs".into(), "3".into()),
    ];
    let planned = retrain::retrain_run(
        &fleet.state.sources,
        &fraud,
        &pipeline,
        None,
        sent,
        fleet.ctx(),
    )
    .expect("planned");
    assert_eq!(confirm.action, planned);
    assert_eq!(
        confirm.action.effect,
        format!(
            "start a new run of retrain_fraud (af/retrain_fraud) with model=fraud, reason={reason}, \
             epochs=3, to retrain ml/fraud ({reason})"
        )
    );

    // y: sent; the row says it is starting.
    let effects = fleet.key(KeyCode::Char('y'));
    let Some(Effect::Run { id, action }) = effects.first() else {
        panic!("sent: {effects:?}")
    };
    let (id, action): (u64, Action) = (*id, (**action).clone());
    assert_eq!(action.kind, ActionKind::Dispatch);
    fleet.shows("retraining: starting a run…");

    // The backend names the run; until it succeeded there is nothing to promote.
    update(
        &mut fleet.state,
        Msg::Started {
            id,
            run: "retrain_fraud/manual__A".into(),
        },
    );
    update(
        &mut fleet.state,
        Msg::Outcome {
            id,
            action,
            outcome: Outcome::Done("started run retrain_fraud/manual__A (queued)".into()),
        },
    );
    fleet.shows("retraining: run started, not read yet");
    let started = fleet.state.now + TimeDelta::seconds(2);
    let older = run(
        "scheduled__B",
        RunStatus::Success,
        start() - TimeDelta::hours(1),
    );
    fleet.runs(vec![
        run("manual__A", RunStatus::Running, started),
        older.clone(),
    ]);
    let screen = fleet.screen();
    assert!(screen.contains("retraining: manual__A running"), "{screen}");
    // y copies the run's link: the row is linked to its run.
    let link = run("manual__A", RunStatus::Running, started).url;
    let copied: Vec<Effect> = fleet.press(Command::CopyUrl);
    assert_eq!(
        copied.first(),
        link.map(Effect::Copy).as_ref(),
        "{}",
        fleet.status()
    );
    fleet.press(Command::Promote);
    assert_eq!(
        fleet.status(),
        "o: nothing to promote on ml/fraud yet: retraining: retrain_fraud/manual__A running"
    );

    // It succeeded, and the registry has a version registered after it started.
    fleet.runs(vec![run("manual__A", RunStatus::Success, started), older]);
    fleet.press(Command::Promote);
    assert!(
        fleet.status().contains("success — no new version yet"),
        "{}",
        fleet.status()
    );
    let mut fraud_model = fleet.models[0].1.clone();
    fraud_model
        .versions
        .insert(0, version("4", started + TimeDelta::minutes(3)));
    fleet.models[0].1 = fraud_model;
    fleet.read_models();
    fleet.shows("retrained: manual__A success — version 4 to promote");

    // o: the confirmation states old → new, the alias move headless plans.
    fleet.press(Command::Promote);
    let Some(Overlay::Confirm(confirm)) = fleet.state.overlay.clone() else {
        panic!("the confirmation: {}", fleet.status())
    };
    let Resolved::Action(promote) = fleet.headless(ActionKind::Promote, ("ml", "fraud"), Some("4"))
    else {
        panic!("an action")
    };
    assert_eq!(confirm.action, promote);
    assert_eq!(promote.kind, ActionKind::SetModelAlias);
    assert_eq!(promote.to.as_deref(), Some("4"));
    assert_eq!(
        promote.effect,
        "promote version 4: point ml/fraud alias \"champion\" from version 3 to 4"
    );
    let effects = fleet.key(KeyCode::Char('y'));
    assert!(
        matches!(effects.first(), Some(Effect::Run { action, .. }) if **action == promote),
        "{effects:?}"
    );
}

#[test]
fn a_start_that_names_no_run_is_tied_to_the_newest_run_after_the_request() {
    let mut fleet = Fleet::new(false);
    let fraud = Target::new("ml", TargetKind::Model, "fraud");
    fleet.select(&fraud);
    fleet.press(Command::NewRun);
    update(
        &mut fleet.state,
        Msg::DispatchForm {
            target: Target::new("af", TargetKind::Pipeline, "retrain_fraud"),
            git_ref: None,
            result: Ok(airflow_form()),
        },
    );
    fleet.key(KeyCode::Enter);
    let effects = fleet.key(KeyCode::Char('y'));
    let Some(Effect::Run { id, action }) = effects.first() else {
        panic!("sent")
    };
    let (id, action) = (*id, (**action).clone());
    update(
        &mut fleet.state,
        Msg::Outcome {
            id,
            action,
            outcome: Outcome::Done("run started".into()),
        },
    );
    let asked = fleet.state.now;
    // A run from before the request is not it; the first one after is.
    fleet.runs(vec![run(
        "before",
        RunStatus::Running,
        asked - TimeDelta::seconds(5),
    )]);
    fleet.shows("retraining: run started, not read yet");
    fleet.runs(vec![
        run("after", RunStatus::Queued, asked + TimeDelta::seconds(1)),
        run("before", RunStatus::Running, asked - TimeDelta::seconds(5)),
    ]);
    fleet.shows("retraining: after queued");
    // Once found, a later run does not take its place.
    fleet.runs(vec![
        run("later", RunStatus::Running, asked + TimeDelta::minutes(5)),
        run("after", RunStatus::Failure, asked + TimeDelta::seconds(1)),
    ]);
    fleet.shows("retraining: after failure");
}

#[test]
fn the_keys_say_why_when_there_is_nothing_to_retrain_or_promote() {
    let mut fleet = Fleet::new(false);
    let churn = Target::new("prom", TargetKind::Model, "churn");
    fleet.select(&churn);
    assert!(fleet.press(Command::NewRun).is_empty());
    assert_eq!(
        fleet.status(),
        "n: prom/churn names no pipeline that retrains it: add train = { pipeline = \
         \"SOURCE/PIPELINE\" } to its model entry in the config"
    );
    assert!(fleet.press(Command::Promote).is_empty());
    assert!(
        fleet
            .status()
            .starts_with("o: nothing to promote on prom/churn: no retrain was started from here"),
        "{}",
        fleet.status()
    );
    // Headless: a registry is needed to promote, and a version.
    let target = resolver::locate(&fleet.state.sources, "prom", "churn", ActionKind::Promote);
    let refused = resolver::resolve(
        &Request {
            kind: ActionKind::Promote,
            target,
            to: Some("4"),
        },
        &fleet.state.sources,
        fleet.ctx(),
    );
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.starts_with("prometheus sources cannot move the serving alias")),
        "{refused:?}"
    );
    let target = resolver::locate(&fleet.state.sources, "ml", "fraud", ActionKind::Promote);
    let older = resolver::resolve(
        &Request {
            kind: ActionKind::Promote,
            target,
            to: Some("3"),
        },
        &fleet.state.sources,
        fleet.ctx(),
    );
    assert_eq!(older, Err("ml/fraud already serves version 3".to_string()));

    // Read-only: refused before any form is read.
    let mut fleet = Fleet::new(true);
    fleet.select(&Target::new("ml", TargetKind::Model, "fraud"));
    assert!(fleet.press(Command::NewRun).is_empty());
    assert!(
        fleet
            .status()
            .starts_with("n: read-only: retrain ml/fraud refused"),
        "{}",
        fleet.status()
    );
}
