//! Argo CD's keys (hard refresh, terminate, auto-sync off, the sync
//! dialog, the drill-down) and a reconciling source's refresh key.

use super::*;

/// An Argo CD source with two apps: `auto` (auto-sync on, an operation
/// running, linked to a repository app) and `manual` (auto-sync off,
/// deployed twice).
pub(super) fn argocd_state() -> State {
    use opsdeck::model::{Deployment, GitOpsApp, Operation, OperationPhase};
    let app = |name: &str, auto_sync: bool| GitOpsApp {
        health_since: None,
        error: None,
        source: "argo".into(),
        name: name.into(),
        namespace: name.into(),
        cluster: "prod-eu".into(),
        sync: SyncStatus::Synced,
        health: Health::Healthy,
        health_message: None,
        revision: Some("bbbbbbb2222222".into()),
        target_revision: Some("bbbbbbb2222222".into()),
        out_of_sync: Vec::new(),
        auto_sync,
        suspended: false,
        last_operation: None,
        history: vec![
            Deployment {
                id: "2".into(),
                revision: "bbbbbbb2222222".into(),
                deployed_at: None,
                started_at: None,
                failed: false,
                author: None,
                message: None,
            },
            Deployment {
                id: "1".into(),
                revision: "aaaaaaa1111111".into(),
                deployed_at: None,
                started_at: None,
                failed: false,
                author: None,
                message: None,
            },
        ],
        last_change: None,
        repo_url: None,
        path: None,
        production: false,
        repo: None,
        linked: None,
        pending: None,
        revision_commit: None,
        images: Vec::new(),
        plan: None,
    };
    let mut auto = app("auto", true);
    auto.last_operation = Some(Operation {
        kind: "sync".into(),
        phase: OperationPhase::Running,
        message: "waiting for healthy state".into(),
        revision: Some("bbbbbbb2222222".into()),
        started_at: None,
        finished_at: None,
    });
    let source = SourceState::new(
        "argo",
        "argocd",
        Provides {
            gitops: true,
            ..Provides::default()
        },
        false,
    )
    .with_actions([
        ActionKind::Sync,
        ActionKind::Refresh,
        ActionKind::HardRefresh,
        ActionKind::Terminate,
        ActionKind::Rollback,
        ActionKind::DisableAutoSync,
    ])
    .with_capabilities(opsdeck::model::Capabilities {
        app_detail: true,
        sync_options: true,
        ..Default::default()
    });
    // The desired-state repository of `auto`, linked to it.
    let mut repo_app = app("auto", false);
    repo_app.source = "repo".into();
    repo_app.repo = Some(opsdeck::model::RepoInfo {
        branch: "main".into(),
        head: "bbbbbbb2222222".into(),
        commits: Vec::new(),
        push: "direct".into(),
        link: Some("argo/auto".into()),
        diffs: Vec::new(),
        follow: std::time::Duration::from_secs(60),
    });
    let repo = SourceState::new(
        "repo",
        "git",
        Provides {
            gitops: true,
            ..Provides::default()
        },
        false,
    );
    let mut state = State::new(vec![source, repo], Keymap::default(), false, start());
    let snapshot = Snapshot {
        apps: vec![auto, app("manual", false)],
        ..Snapshot::default()
    };
    feed(&mut state, snapshot, start());
    update(
        &mut state,
        Msg::Source(SourceEvent {
            source: 1,
            at: start(),
            result: Ok(Snapshot {
                apps: vec![repo_app],
                ..Snapshot::default()
            }
            .into()),
        }),
    );
    state
}

#[test]
fn argocd_keys_plan_hard_refresh_terminate_and_auto_sync_off() {
    let mut state = argocd_state();
    select_app(&mut state, "auto");
    // R: a hard refresh changes nothing, so it runs without a dialog.
    let effects = key(&mut state, KeyCode::Char('R'));
    assert!(
        matches!(&effects[..], [Effect::Run { action, .. }] if action.kind == ActionKind::HardRefresh),
        "{effects:?}"
    );
    let id = state.in_flight.values().next().expect("in flight").id;
    let action = state
        .in_flight
        .values()
        .next()
        .expect("in flight")
        .action
        .clone();
    update(
        &mut state,
        Msg::Outcome {
            id,
            action,
            outcome: Outcome::Done("hard refresh requested".into()),
        },
    );
    // X: terminate the running operation, confirmed first.
    assert!(key(&mut state, KeyCode::Char('X')).is_empty());
    let action = confirm_action(&state);
    assert_eq!(action.kind, ActionKind::Terminate);
    assert_eq!(
        action.effect,
        "terminate the running sync of argo/auto (to bbbbbbb): resources already applied stay as they are"
    );
    key(&mut state, KeyCode::Esc);
    // A: auto-sync off, confirmed and stated.
    key(&mut state, KeyCode::Char('A'));
    let action = confirm_action(&state);
    assert_eq!(action.kind, ActionKind::DisableAutoSync);
    assert!(
        action
            .effect
            .contains("set spec.syncPolicy.automated to null")
    );
    let effects = key(&mut state, KeyCode::Char('y'));
    assert!(
        matches!(&effects[..], [Effect::Run { action, .. }] if action.kind == ActionKind::DisableAutoSync)
    );

    // On an app without a running operation or auto-sync, both are refused with why.
    select_app(&mut state, "manual");
    key(&mut state, KeyCode::Char('X'));
    assert!(state.overlay.is_none());
    assert_eq!(
        status_text(&state),
        "argo/manual has no running operation to terminate"
    );
    key(&mut state, KeyCode::Char('A'));
    assert_eq!(status_text(&state), "argo/manual already has auto-sync off");
}

#[test]
fn argocd_rollback_with_auto_sync_names_both_ways_out() {
    let mut state = argocd_state();
    select_app(&mut state, "auto");
    key(&mut state, KeyCode::Char('b'));
    assert!(state.overlay.is_none(), "no picker for a refused rollback");
    let text = status_text(&state);
    assert!(
        text.contains("auto-sync on: Argo CD refuses a history rollback"),
        "{text}"
    );
    assert!(
        text.contains("rollback on repo/auto reverts it and pushes"),
        "{text}"
    );
    assert!(text.contains("disable_auto_sync"), "{text}");
}

#[test]
fn argocd_sync_dialog_toggles_prune_and_dry_run_into_the_effect() {
    let mut state = argocd_state();
    select_app(&mut state, "manual");
    key(&mut state, KeyCode::Char('s'));
    let plain = confirm_action(&state).effect;
    key(&mut state, KeyCode::Char('p'));
    key(&mut state, KeyCode::Char('d'));
    let action = confirm_action(&state);
    assert!(action.sync.prune && action.sync.dry_run);
    assert_eq!(
        action.effect,
        format!("{plain} [prune: delete resources no longer in Git; dry run: change nothing]")
    );
    key(&mut state, KeyCode::Char('p'));
    let action = confirm_action(&state);
    assert_eq!(action.effect, format!("{plain} [dry run: change nothing]"));
    let effects = key(&mut state, KeyCode::Enter);
    assert!(
        matches!(&effects[..], [Effect::Run { action, .. }] if !action.sync.prune && action.sync.dry_run),
        "{effects:?}"
    );
}

#[test]
fn argocd_production_dialog_toggles_with_ctrl_and_types_p_and_d() {
    let mut state = argocd_state();
    state.sources[0].production = true;
    select_app(&mut state, "manual");
    key(&mut state, KeyCode::Char('s'));
    type_text(&mut state, "pd");
    let action = confirm_action(&state);
    assert!(
        !action.sync.prune && !action.sync.dry_run,
        "typed, not toggled"
    );
    update(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::Char('p'), KeyModifiers::CONTROL)),
    );
    assert!(confirm_action(&state).sync.prune);
    match &state.overlay {
        Some(Overlay::Confirm(c)) => assert_eq!(c.typed, "pd"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn opening_an_argocd_app_loads_its_drill_down_and_fills_history_authors() {
    let mut state = argocd_state();
    select_app(&mut state, "manual");
    let effects = cmd(&mut state, Command::Open);
    assert_eq!(
        effects,
        vec![Effect::LoadAppDetail {
            source: 0,
            app: "manual".into()
        }]
    );
    let target = Target::new("argo", TargetKind::App, "manual");
    assert_eq!(
        state.app_details.get(&target),
        Some(&opsdeck::app::state::AppDetailState::Loading)
    );
    let detail = opsdeck::model::AppDetail {
        revisions: vec![opsdeck::model::RevisionInfo {
            revision: "aaaaaaa1111111".into(),
            author: Some("Bob".into()),
            date: None,
            message: Some("first deploy".into()),
        }],
        ..Default::default()
    };
    update(
        &mut state,
        Msg::AppDetail {
            target: target.clone(),
            result: Ok(detail),
        },
    );
    let author = |state: &State| state.sources[0].snapshot.apps[1].history[1].author.clone();
    assert_eq!(author(&state).as_deref(), Some("Bob"));
    // A new read keeps the authors already loaded.
    let snapshot = state.sources[0].snapshot.clone();
    let mut fresh = snapshot.clone();
    fresh
        .apps
        .iter_mut()
        .for_each(|a| a.history.iter_mut().for_each(|d| d.author = None));
    feed(&mut state, fresh, start());
    assert_eq!(author(&state).as_deref(), Some("Bob"));
    // A failed load is kept to be shown, not a crash.
    update(
        &mut state,
        Msg::AppDetail {
            target: target.clone(),
            result: Err("403 on /resource-tree".into()),
        },
    );
    assert!(matches!(
        state.app_details.get(&target),
        Some(opsdeck::app::state::AppDetailState::Failed(_))
    ));
}

#[test]
fn the_refresh_key_on_a_reconciling_source_is_a_confirmed_reconcile_refused_when_read_only() {
    let reconciling = |read_only: bool| {
        let fleet = DemoFleet::new(7, start(), true);
        let source = SourceState::new("flux-prod", "flux", Provides::ALL, false).with_actions([
            ActionKind::Reconcile,
            ActionKind::Sync,
            ActionKind::Suspend,
            ActionKind::Resume,
        ]);
        let mut state = State::new(vec![source], Keymap::default(), read_only, fleet.now());
        feed(&mut state, fleet.snapshot("flux-prod"), fleet.now());
        select_app(&mut state, "inventory");
        state
    };
    let mut state = reconciling(false);
    assert!(
        key(&mut state, KeyCode::Char('r')).is_empty(),
        "nothing is sent before confirmation"
    );
    let Some(Overlay::Confirm(confirm)) = state.overlay.clone() else {
        panic!("confirm expected: {:?}", state.status)
    };
    assert_eq!(confirm.action.kind, ActionKind::Reconcile);
    assert!(
        confirm
            .action
            .effect
            .starts_with("reconcile flux-prod/inventory"),
        "{}",
        confirm.action.effect
    );
    assert!(
        confirm.action.effect.contains("apply"),
        "{}",
        confirm.action.effect
    );

    let mut state = reconciling(true);
    assert!(key(&mut state, KeyCode::Char('r')).is_empty());
    assert!(state.overlay.is_none());
    assert!(
        status_text(&state).starts_with("read-only: reconcile flux-prod/inventory refused"),
        "{}",
        status_text(&state)
    );
}
