//! Runs: logs of the failed job, the new-run form, force-cancel.

use super::*;

/// The demo state with its source offering job logs (as the demo source does).
fn demo_state_with_logs() -> State {
    let mut state = demo_state(false);
    state.sources[0].capabilities.job_logs = true;
    state
}

/// Select the run whose status is `status` in the Pipelines tab.
fn select_run(state: &mut State, wanted: impl Fn(&opsdeck::model::PipelineRun) -> bool) -> Target {
    cmd(state, Command::TabPipelines);
    cmd(state, Command::Top);
    let pane = state.pane(Tab::Pipelines);
    let index = pane
        .rows
        .iter()
        .position(|r| state.run(*r).is_some_and(&wanted))
        .expect("a matching run");
    for _ in 0..index {
        cmd(state, Command::Down);
    }
    let row = state.selected_row(Tab::Pipelines).expect("row");
    state.target_of(row).expect("target")
}

#[test]
fn logs_open_on_the_failed_job_then_cycle_and_start_at_the_end() {
    let mut state = demo_state_with_logs();
    let target = select_run(&mut state, |r| {
        r.status == opsdeck::model::RunStatus::Failure && r.jobs.is_some()
    });
    let failed_job = state
        .find(&target)
        .and_then(|row| state.run(row))
        .and_then(|r| {
            r.jobs
                .iter()
                .flatten()
                .find(|j| j.status == opsdeck::model::RunStatus::Failure)
                .cloned()
        })
        .expect("a failed job");
    // From the table: `l` opens the run and the failed job's log at once.
    let effects = key(&mut state, KeyCode::Char('l'));
    assert_eq!(
        effects,
        vec![Effect::LoadLog {
            source: 0,
            run_id: target.id.clone(),
            job_id: failed_job.id.clone()
        }]
    );
    let detail = state
        .pane(Tab::Pipelines)
        .detail
        .clone()
        .expect("detail open");
    assert_eq!(detail.target, target);
    assert_eq!(
        detail.log.as_ref().map(|l| l.job_name.as_str()),
        Some(failed_job.name.as_str())
    );
    // 300 lines arrive: the tail keeps 200 and the view opens on the last page.
    let text: String = (1..=300).map(|i| format!("line {i}\n")).collect();
    update(
        &mut state,
        Msg::Log {
            target: target.clone(),
            job: failed_job.id.clone(),
            result: Ok(opsdeck::model::LogTail::from_text(
                &failed_job.name,
                &text,
                false,
            )),
        },
    );
    let page = usize::from(state.size.1) - 6;
    let scroll = state
        .pane(Tab::Pipelines)
        .detail
        .as_ref()
        .expect("detail")
        .scroll;
    assert_eq!(scroll, 200 - page);
    // Scrolling stops at the last page, and goes back up.
    cmd(&mut state, Command::Bottom);
    assert_eq!(
        state
            .pane(Tab::Pipelines)
            .detail
            .as_ref()
            .expect("detail")
            .scroll,
        200 - page
    );
    cmd(&mut state, Command::Up);
    assert_eq!(
        state
            .pane(Tab::Pipelines)
            .detail
            .as_ref()
            .expect("detail")
            .scroll,
        200 - page - 1
    );
    // `l` again: the next job's log.
    let effects = key(&mut state, KeyCode::Char('l'));
    let [Effect::LoadLog { job_id, .. }] = effects.as_slice() else {
        panic!("a log load expected: {effects:?}")
    };
    assert_ne!(*job_id, failed_job.id);
    // Esc goes back to the run, a second Esc to the table.
    key(&mut state, KeyCode::Esc);
    let detail = state
        .pane(Tab::Pipelines)
        .detail
        .clone()
        .expect("still open");
    assert!(detail.log.is_none());
    key(&mut state, KeyCode::Esc);
    assert!(state.pane(Tab::Pipelines).detail.is_none());
}

#[test]
fn logs_wait_for_the_jobs_and_say_when_a_source_has_none() {
    let mut state = demo_state(false);
    let target = select_run(&mut state, |r| r.jobs.is_some());
    // A source without job logs says so.
    key(&mut state, KeyCode::Char('l'));
    assert!(
        status_text(&state).contains("demo sources have no job logs"),
        "{}",
        status_text(&state)
    );
    // …and offers the run's own page (a Kubeflow run's UI link), which `y` copies.
    let url = (state.sources[0].snapshot.pipelines.iter())
        .find(|r| r.id == target.id)
        .and_then(|r| r.url.clone())
        .expect("demo runs have a link");
    assert!(
        status_text(&state).contains(&format!("the run's page is {url} (y copies it)")),
        "{}",
        status_text(&state)
    );
    key(&mut state, KeyCode::Esc);
    // Jobs not loaded yet: they are asked for, and the log follows them.
    let mut state = demo_state_with_logs();
    select_run(&mut state, |r| r.id == target.id);
    let row = state.find(&target).expect("row");
    let jobs = state.run(row).and_then(|r| r.jobs.clone()).expect("jobs");
    let source = &mut state.sources[0];
    let run = source
        .snapshot
        .pipelines
        .iter_mut()
        .find(|r| r.id == target.id)
        .expect("run");
    run.jobs = None;
    let effects = key(&mut state, KeyCode::Char('l'));
    assert_eq!(
        effects,
        vec![Effect::LoadJobs {
            source: 0,
            run_id: target.id.clone()
        }]
    );
    let effects = update(
        &mut state,
        Msg::Jobs {
            target: target.clone(),
            result: Ok(jobs.clone()),
        },
    );
    assert!(
        matches!(effects.as_slice(), [Effect::LoadLog { run_id, .. }] if *run_id == target.id),
        "{effects:?}"
    );
}

#[test]
fn a_new_run_goes_through_the_form_and_a_confirmation() {
    let mut state = demo_state(false);
    let target = select_run(&mut state, |r| r.pipeline == "Deploy");
    let run = state
        .find(&target)
        .and_then(|row| state.run(row))
        .cloned()
        .expect("run");
    let effects = key(&mut state, KeyCode::Char('n'));
    assert_eq!(
        effects,
        vec![Effect::LoadDispatchForm {
            source: 0,
            pipeline: run.pipeline_id.clone(),
            git_ref: Some(run.branch.clone()),
        }]
    );
    let pipeline = Target::new("demo", TargetKind::Pipeline, &run.pipeline_id);
    let spec = opsdeck::model::DispatchForm {
        pipeline: run.pipeline_id.clone(),
        name: "Deploy".into(),
        git_ref: Some("main".into()),
        inputs: vec![opsdeck::model::FormInput {
            name: "environment".into(),
            default: "staging".into(),
            description: "where to deploy".into(),
            choices: vec!["staging".into(), "production".into()],
            required: true,
        }],
        free_inputs: true,
    };
    update(
        &mut state,
        Msg::DispatchForm {
            target: pipeline.clone(),
            git_ref: Some("release/2.4".into()),
            result: Ok(spec),
        },
    );
    let Some(Overlay::Form(form)) = state.overlay.clone() else {
        panic!("the form expected: {:?}", state.overlay)
    };
    // The ref is pre-filled with the run's branch, inputs with their defaults.
    assert_eq!(form.fields[0].value, "release/2.4");
    assert_eq!(form.fields[1].value, "staging");
    // Edit: ref → main; environment → production by choice; a variable.
    for _ in 0.."release/2.4".len() {
        key(&mut state, KeyCode::Backspace);
    }
    type_text(&mut state, "main");
    key(&mut state, KeyCode::Tab);
    key(&mut state, KeyCode::Right);
    key(&mut state, KeyCode::Tab);
    type_text(&mut state, "BAD");
    key(&mut state, KeyCode::Enter);
    // Not name=value: the form stays, on that field, and says why.
    let Some(Overlay::Form(form)) = state.overlay.clone() else {
        panic!("the form stays open")
    };
    assert_eq!(form.focused, 2);
    assert!(
        status_text(&state).contains("`BAD` is not name=value"),
        "{}",
        status_text(&state)
    );
    for _ in 0..3 {
        key(&mut state, KeyCode::Backspace);
    }
    type_text(&mut state, "TRACE=1");
    key(&mut state, KeyCode::Enter);
    let Some(Overlay::Confirm(confirm)) = state.overlay.clone() else {
        panic!("the confirmation expected: {:?}", state.overlay)
    };
    assert_eq!(confirm.action.kind, ActionKind::Dispatch);
    assert_eq!(confirm.action.target, pipeline);
    assert_eq!(confirm.action.to.as_deref(), Some("main"));
    assert_eq!(
        confirm.action.inputs,
        vec![
            ("environment".to_string(), "production".to_string()),
            ("TRACE".to_string(), "1".to_string())
        ]
    );
    assert_eq!(
        confirm.action.effect,
        format!(
            "start a new run of Deploy (demo/{}) on main with environment=production, TRACE=1",
            run.pipeline_id
        )
    );
    let effects = key(&mut state, KeyCode::Char('y'));
    assert!(
        matches!(effects.as_slice(), [Effect::Run { action, .. }] if action.kind == ActionKind::Dispatch)
    );
}

#[test]
fn a_required_input_left_empty_keeps_the_form_and_read_only_refuses_a_new_run() {
    let mut state = demo_state(false);
    let target = select_run(&mut state, |r| r.pipeline == "Deploy");
    let run = state
        .find(&target)
        .and_then(|row| state.run(row))
        .cloned()
        .expect("run");
    let pipeline = Target::new("demo", TargetKind::Pipeline, &run.pipeline_id);
    let spec = opsdeck::model::DispatchForm {
        pipeline: run.pipeline_id.clone(),
        name: "Deploy".into(),
        git_ref: Some("main".into()),
        inputs: vec![opsdeck::model::FormInput {
            name: "ticket".into(),
            required: true,
            ..Default::default()
        }],
        free_inputs: false,
    };
    update(
        &mut state,
        Msg::DispatchForm {
            target: pipeline,
            git_ref: None,
            result: Ok(spec),
        },
    );
    key(&mut state, KeyCode::Enter);
    let Some(Overlay::Form(form)) = state.overlay.clone() else {
        panic!("the form stays open")
    };
    assert_eq!(form.focused, 1);
    assert_eq!(status_text(&state), "ticket is required");
    key(&mut state, KeyCode::Esc);
    assert!(state.overlay.is_none());

    let mut state = demo_state(true);
    select_run(&mut state, |r| r.pipeline == "Deploy");
    let effects = key(&mut state, KeyCode::Char('n'));
    assert!(effects.is_empty());
    assert!(
        status_text(&state).starts_with("read-only: start a new run of demo/"),
        "{}",
        status_text(&state)
    );
}

#[test]
fn a_cancel_that_did_not_take_is_offered_as_a_force_cancel() {
    let mut state = demo_state(false);
    let target = select_run(&mut state, |r| r.status.is_active());
    key(&mut state, KeyCode::Char('x'));
    let Some(Overlay::Confirm(confirm)) = state.overlay.clone() else {
        panic!("confirm expected")
    };
    assert_eq!(confirm.action.kind, ActionKind::Cancel);
    let effects = key(&mut state, KeyCode::Char('y'));
    let [Effect::Run { id, action }] = effects.as_slice() else {
        panic!("run expected")
    };
    update(
        &mut state,
        Msg::Outcome {
            id: *id,
            action: (**action).clone(),
            outcome: Outcome::Done("cancel requested".into()),
        },
    );
    assert!(
        status_text(&state).contains("x again force-cancels it"),
        "{}",
        status_text(&state)
    );
    // Right away: still a plain cancel's grace period.
    key(&mut state, KeyCode::Char('x'));
    assert!(state.overlay.is_none());
    assert!(
        status_text(&state).contains("may still be taking effect"),
        "{}",
        status_text(&state)
    );
    // Later, still running: force-cancel, stated as such.
    let later = state.now + chrono::Duration::seconds(11);
    update(&mut state, Msg::Tick(later));
    key(&mut state, KeyCode::Char('x'));
    let Some(Overlay::Confirm(confirm)) = state.overlay.clone() else {
        panic!("confirm expected: {}", status_text(&state))
    };
    assert_eq!(confirm.action.kind, ActionKind::ForceCancel);
    assert_eq!(confirm.action.target, target);
    assert!(
        confirm
            .action
            .effect
            .starts_with(&format!("force-cancel {target} (")),
        "{}",
        confirm.action.effect
    );
    assert!(confirm.action.effect.contains("skipping always() steps"));
    // A source without force-cancel just cancels again.
    key(&mut state, KeyCode::Esc);
    state.sources[0]
        .actions
        .retain(|k| *k != ActionKind::ForceCancel);
    key(&mut state, KeyCode::Char('x'));
    let Some(Overlay::Confirm(confirm)) = state.overlay.clone() else {
        panic!("confirm expected")
    };
    assert_eq!(confirm.action.kind, ActionKind::Cancel);
}

// ---- batches -----------------------------------------------------------------
