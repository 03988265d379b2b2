//! The retraining loop through `update`, as a person drives it, without
//! servers: `n` on a drifting model opens its `train` pipeline's form
//! pre-filled, the confirmed run is kept with the model and found in the
//! pipeline source's reads, and once it succeeded and a version was
//! registered, `o` promotes it — each step the same action the headless
//! commands plan through the resolver. (Against a real Airflow and MLflow:
//! tests/retrain.rs.)

mod support_retrain;

use chrono::TimeDelta;
use crossterm::event::KeyCode;
use opsdeck::app::resolver::{self, Request, Resolved};
use opsdeck::app::state::Overlay;
use opsdeck::app::{Command, Effect, Msg, retrain, update};
use opsdeck::model::{Action, ActionKind, Outcome, RunStatus, Target, TargetKind};
use support_retrain::{Fleet, airflow_form, run, start, version};

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
    // Asked by one name, its runs carry another (a GitHub workflow asked
    // by its file runs under its number): the form says which.
    let mut form = airflow_form();
    form.pipeline = "161335".into();
    update(
        &mut fleet.state,
        Msg::DispatchForm {
            target: Target::new("af", TargetKind::Pipeline, "retrain_fraud"),
            git_ref: None,
            result: Ok(form),
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
    let numbered = |id: &str, status, at| {
        let mut r = run(id, status, at);
        r.id = id.to_string();
        r.pipeline_id = "161335".into();
        r
    };
    // A run from before the request is not it, nor one of another
    // pipeline; the first one after is.
    fleet.runs(vec![
        numbered("9000", RunStatus::Running, asked - TimeDelta::seconds(5)),
        run("other", RunStatus::Running, asked + TimeDelta::seconds(1)),
    ]);
    fleet.shows("retraining: run started, not read yet");
    fleet.runs(vec![
        numbered("9001", RunStatus::Queued, asked + TimeDelta::seconds(1)),
        numbered("9000", RunStatus::Running, asked - TimeDelta::seconds(5)),
    ]);
    fleet.shows("retraining: 9001 queued");
    // Once found, a later run does not take its place.
    fleet.runs(vec![
        numbered("9002", RunStatus::Running, asked + TimeDelta::minutes(5)),
        numbered("9001", RunStatus::Failure, asked + TimeDelta::seconds(1)),
    ]);
    fleet.shows("retraining: 9001 failure");
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
