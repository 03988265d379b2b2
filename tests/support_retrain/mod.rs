//! A small fleet for the retraining loop's `update` tests: an Airflow
//! source, an MLflow model with a `train` link and a Prometheus model
//! without, their reads, the keys, the screen, and the headless resolver.
#![allow(dead_code)]

use std::path::Path;

use chrono::{TimeDelta, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::app::resolver::{self, Context, Request, Resolved};
use opsdeck::app::state::{SourceState, Tab};
use opsdeck::app::{Command, Effect, Keymap, Msg, State, update};
use opsdeck::model::{
    ActionKind, DispatchForm, FormInput, Metric, ModelDrift, ModelVersion, PipelineRun, RunStatus,
    Snapshot, Target, Timestamp, Worse,
};
use opsdeck::sources::SourceEvent;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

pub const CONFIG: &str = r#"
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

pub fn start() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 14, 9, 0, 0)
        .single()
        .expect("valid time")
}

pub fn version(v: &str, created: Timestamp) -> ModelVersion {
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
pub fn model(config: &opsdeck::config::Config, source: &str, name: &str) -> ModelDrift {
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
pub fn run(id: &str, status: RunStatus, started: Timestamp) -> PipelineRun {
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

pub struct Fleet {
    pub state: State,
    pub models: Vec<(usize, ModelDrift)>,
}

impl Fleet {
    pub fn new(read_only: bool) -> Fleet {
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

    pub fn read(&mut self, source: usize, snapshot: Snapshot) {
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

    pub fn read_models(&mut self) {
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

    pub fn runs(&mut self, runs: Vec<PipelineRun>) {
        self.read(
            0,
            Snapshot {
                pipelines: runs,
                ..Snapshot::default()
            },
        );
    }

    pub fn select(&mut self, model: &Target) {
        update(&mut self.state, Msg::Command(Command::TabDrift));
        let row = self.state.find(model).expect("its row");
        let index = (self.state.pane(Tab::Drift).rows.iter())
            .position(|r| *r == row)
            .expect("shown");
        self.state.pane_mut(Tab::Drift).selected = index;
    }

    pub fn press(&mut self, command: Command) -> Vec<Effect> {
        update(&mut self.state, Msg::Command(command))
    }

    pub fn key(&mut self, code: KeyCode) -> Vec<Effect> {
        update(
            &mut self.state,
            Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)),
        )
    }

    pub fn status(&self) -> String {
        self.state
            .status
            .as_ref()
            .map(|s| s.text.clone())
            .unwrap_or_default()
    }

    pub fn ctx(&self) -> Context {
        Context {
            read_only: self.state.read_only,
            now: self.state.now,
        }
    }

    /// The headless path: SOURCE/NAME located, resolved.
    pub fn headless(&self, kind: ActionKind, name: (&str, &str), to: Option<&str>) -> Resolved {
        let target = resolver::locate(&self.state.sources, name.0, name.1, kind);
        resolver::resolve(
            &Request { kind, target, to },
            &self.state.sources,
            self.ctx(),
        )
        .unwrap_or_else(|why| panic!("{kind} {name:?}: {why}"))
    }

    /// The screen shows `text` (printed when it does not).
    pub fn shows(&self, text: &str) {
        let screen = self.screen();
        assert!(screen.contains(text), "`{text}` not on screen:\n{screen}");
    }

    pub fn screen(&self) -> String {
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
pub fn airflow_form() -> DispatchForm {
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
