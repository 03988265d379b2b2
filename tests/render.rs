//! Rendering snapshots: the demo fleet at a fixed seed and clock, driven
//! through `update` like a person would, drawn into a `TestBackend`.

use chrono::TimeZone;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::app::state::{Overlay, SourceState, State, Tab};
use opsdeck::app::{Command, Keymap, Msg, update};
use opsdeck::model::{Provides, RunStatus, Timestamp};
use opsdeck::sources::SourceEvent;
use opsdeck::sources::demo::DemoFleet;
use opsdeck::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

const SEED: u64 = 42;
/// Steps of the simulation (2 s each) before the snapshot: payments is out
/// of sync and degraded, two models drift, runs are in flight.
const STEPS: usize = 33;
const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];
const TINY_SIZES: [(u16, u16); 3] = [(1, 1), (20, 5), (40, 10)];

fn start() -> Timestamp {
    chrono::Utc
        .with_ymd_and_hms(2025, 3, 14, 9, 0, 0)
        .single()
        .expect("valid time")
}

/// The demo fleet after `STEPS` steps, read once, in a state sized `size`.
/// `production` marks the source itself as production.
fn demo_state(size: (u16, u16), read_only: bool, production: bool) -> State {
    demo_state_with(size, read_only, production, |_| {})
}

/// `demo_state`, with the snapshot changed by `edit` before it is read.
fn demo_state_with(
    size: (u16, u16),
    read_only: bool,
    production: bool,
    edit: impl FnOnce(&mut opsdeck::model::Snapshot),
) -> State {
    let mut fleet = DemoFleet::new(SEED, start(), true);
    for _ in 0..STEPS {
        fleet.step();
    }
    let now = fleet.now();
    let source = SourceState::new("demo", "demo", Provides::ALL, production);
    let mut state = State::new(vec![source], Keymap::default(), read_only, now);
    update(&mut state, Msg::Resize(size.0, size.1));
    let mut snapshot = fleet.snapshot("demo");
    edit(&mut snapshot);
    let event = SourceEvent {
        source: 0,
        at: now,
        result: Ok(snapshot.into()),
    };
    update(&mut state, Msg::Source(event));
    // A few seconds later: ages read "5s", the spinner has moved.
    update(&mut state, Msg::Tick(now + chrono::Duration::seconds(5)));
    state
}

fn command(state: &mut State, command: Command) {
    update(state, Msg::Command(command));
}

fn key(state: &mut State, code: KeyCode) {
    update(state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn type_text(state: &mut State, text: &str) {
    text.chars().for_each(|c| key(state, KeyCode::Char(c)));
}

/// Moves the selection of the current tab down to the first row matching `pick`.
fn select(state: &mut State, pick: impl Fn(&State, opsdeck::app::state::RowRef) -> bool) {
    let rows = state.pane(state.tab).rows.clone();
    let index = rows
        .iter()
        .position(|r| pick(state, *r))
        .expect("a row to select");
    command(state, Command::Top);
    for _ in 0..index {
        command(state, Command::Down);
    }
    assert_eq!(state.pane(state.tab).selected, index);
}

fn render(state: &State, theme: &Theme, (w, h): (u16, u16)) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    terminal
        .draw(|frame| opsdeck::ui::draw(frame, state, theme))
        .expect("draw");
    terminal.backend().buffer().clone()
}

/// The buffer as text, one line per row, trailing blanks trimmed.
fn text(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let mut line = String::new();
        let mut hidden = 0;
        for x in area.left()..area.right() {
            if hidden > 0 {
                hidden -= 1;
                continue;
            }
            let symbol = buffer[(x, y)].symbol();
            hidden = ratatui::text::Span::raw(symbol).width().saturating_sub(1);
            line.push_str(symbol);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Snapshots `state` at 80×24 and 160×48; `setup` runs on a fresh state of each size.
fn snapshot_both(name: &str, setup: impl Fn(&mut State)) {
    let theme = Theme::builtin("default").expect("default theme");
    for size in SIZES {
        let mut state = demo_state(size, false, false);
        setup(&mut state);
        let screen = text(&render(&state, &theme, size));
        insta::assert_snapshot!(format!("{name}_{}x{}", size.0, size.1), screen);
    }
}

fn needs_attention_app(state: &State, row: opsdeck::app::state::RowRef) -> bool {
    state
        .app(row)
        .is_some_and(|a| a.needs_attention() && !a.history.is_empty())
}

#[test]
fn overview_tab() {
    snapshot_both("overview", |_| {});
}

#[test]
fn pipelines_tab() {
    snapshot_both("pipelines", |s| command(s, Command::TabPipelines));
}

#[test]
fn gitops_tab() {
    snapshot_both("gitops", |s| command(s, Command::TabGitops));
}

#[test]
fn drift_tab() {
    snapshot_both("drift", |s| command(s, Command::TabDrift));
}

#[test]
fn timeline_tab() {
    snapshot_both("timeline", |s| command(s, Command::TabTimeline));
}

#[test]
fn why_view() {
    snapshot_both("why", |s| {
        command(s, Command::TabGitops);
        select(s, |s, r| s.app(r).is_some_and(|a| a.name == "payments"));
        command(s, Command::Why);
        assert!(s.timeline.why.is_some());
    });
}

#[test]
fn pipeline_run_detail() {
    snapshot_both("pipelines_detail", |s| {
        command(s, Command::TabPipelines);
        select(s, |s, r| {
            s.run(r)
                .is_some_and(|run| run.status == RunStatus::Failure && run.jobs.is_some())
        });
        command(s, Command::Open);
        assert!(s.pane(Tab::Pipelines).detail.is_some());
    });
}

#[test]
fn gitops_app_detail() {
    snapshot_both("gitops_detail", |s| {
        command(s, Command::TabGitops);
        select(s, needs_attention_app);
        command(s, Command::Open);
        assert!(s.pane(Tab::GitOps).detail.is_some());
    });
}

#[test]
fn drift_model_detail() {
    snapshot_both("drift_detail", |s| {
        command(s, Command::TabDrift);
        command(s, Command::Open);
        assert!(s.pane(Tab::Drift).detail.is_some());
    });
}

/// A read that was not full: one run carries its own error, and one
/// configured pipeline could not be read at all. The source's title says
/// so while its runs show; the run is marked, and its detail says why.
#[test]
fn a_partial_read_marks_the_item_and_names_what_could_not_be_read() {
    let theme = Theme::builtin("default").expect("default theme");
    let size = (80, 24);
    let mut state = demo_state_with(size, false, false, |snapshot| {
        snapshot.pipelines[0].error =
            Some("its jobs could not be read: 502 on /repos/acme/web/actions/runs/1/jobs".into());
        snapshot.problems =
            vec!["demo: workflow gone.yml in acme/web not found (404 on /repos/acme/web/actions/workflows/gone.yml/runs)".into()];
    });
    command(&mut state, Command::TabPipelines);
    select(&mut state, |s, r| {
        s.run(r).is_some_and(|run| run.error.is_some())
    });
    let screen = text(&render(&state, &theme, size));
    assert!(screen.contains("workflow gone.yml"), "{screen}");
    let mark = format!("{} Deploy", theme.glyphs().warn);
    assert!(screen.contains(&mark), "the run is marked: {screen}");
    insta::assert_snapshot!("partial_read_pipelines_80x24", screen);
    command(&mut state, Command::Open);
    let screen = text(&render(&state, &theme, size));
    assert!(
        screen.contains("its jobs could not be read: 502 on"),
        "{screen}"
    );
    insta::assert_snapshot!("partial_read_detail_80x24", screen);
}

#[test]
fn detail_of_an_item_that_is_gone() {
    let theme = Theme::builtin("default").expect("default theme");
    let size = (80, 24);
    let mut state = demo_state(size, false, false);
    command(&mut state, Command::TabGitops);
    command(&mut state, Command::Open);
    let now = state.now;
    let mut snapshot = state.sources[0].snapshot.clone();
    let open = state.pane(Tab::GitOps).detail.clone().expect("detail open");
    snapshot.apps.retain(|a| a.name != open.target.id);
    update(
        &mut state,
        Msg::Source(SourceEvent {
            source: 0,
            at: now,
            result: Ok(snapshot.into()),
        }),
    );
    let screen = text(&render(&state, &theme, size));
    assert!(
        screen.contains(&format!("{} is gone from demo", open.target.id)),
        "{screen}"
    );
}

#[test]
fn confirm_dialog() {
    // A staging app, not production: y/Enter confirms.
    snapshot_both("confirm", |s| {
        command(s, Command::TabGitops);
        select(s, |s, r| s.app(r).is_some_and(|a| a.name == "inventory"));
        command(s, Command::Sync);
        assert!(
            matches!(&s.overlay, Some(Overlay::Confirm(c)) if c.required_text().is_none()),
            "{:?}",
            s.status
        );
    });
}

#[test]
fn confirm_dialog_production_partially_typed() {
    snapshot_both("confirm_production", |s| {
        command(s, Command::TabGitops);
        select(s, |s, r| s.app(r).is_some_and(|a| a.name == "payments"));
        command(s, Command::Rollback);
        assert!(
            matches!(s.overlay, Some(Overlay::Picker(_))),
            "{:?}",
            s.status
        );
        key(s, KeyCode::Enter);
        type_text(s, "paym");
        match &s.overlay {
            Some(Overlay::Confirm(c)) => assert_eq!(
                (c.required_text(), c.typed.as_str()),
                (Some("payments"), "paym")
            ),
            other => panic!(
                "expected the typed confirmation, got {other:?} ({:?})",
                s.status
            ),
        }
    });
}

#[test]
fn confirm_dialog_production_fully_typed() {
    let theme = Theme::builtin("default").expect("default theme");
    let mut state = demo_state((80, 24), false, false);
    command(&mut state, Command::TabGitops);
    select(&mut state, |s, r| {
        s.app(r).is_some_and(|a| a.name == "payments")
    });
    command(&mut state, Command::Rollback);
    key(&mut state, KeyCode::Enter);
    type_text(&mut state, "payments");
    let screen = text(&render(&state, &theme, (80, 24)));
    assert!(screen.contains("✓ matches"), "{screen}");
    type_text(&mut state, "x");
    let screen = text(&render(&state, &theme, (80, 24)));
    assert!(screen.contains("✗ does not match"), "{screen}");
}

#[test]
fn the_production_prompt_survives_the_smallest_dashboard() {
    // 40×10 is the smallest size that still draws the dashboard: the effect,
    // the name to type and what was typed must all still show.
    let theme = Theme::builtin("default").expect("default theme");
    let mut state = demo_state((40, 10), false, false);
    command(&mut state, Command::TabGitops);
    select(&mut state, |s, r| {
        s.app(r).is_some_and(|a| a.name == "payments")
    });
    command(&mut state, Command::Rollback);
    key(&mut state, KeyCode::Enter);
    type_text(&mut state, "pay");
    let screen = text(&render(&state, &theme, (40, 10)));
    assert!(screen.contains("roll back"), "{screen}");
    assert!(screen.contains("to confirm:"), "{screen}");
    assert!(screen.contains("pay▏"), "{screen}");
}

#[test]
fn help_overlay() {
    snapshot_both("help", |s| {
        command(s, Command::Help);
        assert_eq!(s.overlay, Some(Overlay::Help));
    });
}

#[test]
fn rollback_picker() {
    snapshot_both("picker", |s| {
        command(s, Command::TabGitops);
        select(s, |s, r| s.app(r).is_some_and(|a| a.name == "payments"));
        command(s, Command::Rollback);
        assert!(
            matches!(s.overlay, Some(Overlay::Picker(_))),
            "{:?}",
            s.status
        );
    });
}

#[test]
fn read_only_refusal() {
    let theme = Theme::builtin("default").expect("default theme");
    for size in SIZES {
        let mut state = demo_state(size, true, false);
        command(&mut state, Command::TabGitops);
        command(&mut state, Command::Sync);
        assert!(state.overlay.is_none());
        let screen = text(&render(&state, &theme, size));
        insta::assert_snapshot!(format!("read_only_refusal_{}x{}", size.0, size.1), screen);
    }
}

#[test]
fn no_color_ascii_rendering() {
    let mut theme = Theme::builtin("default").expect("default theme");
    theme.no_color = true;
    theme.ascii = true;
    for (name, setup) in [
        ("gitops", Command::TabGitops),
        ("drift_detail", Command::TabDrift),
    ] {
        let mut state = demo_state((80, 24), false, false);
        command(&mut state, setup);
        if name == "drift_detail" {
            command(&mut state, Command::Open);
        }
        let buffer = render(&state, &theme, (80, 24));
        for cell in buffer.content() {
            assert!(
                cell.symbol().is_ascii(),
                "non-ASCII {:?} in the ASCII rendering",
                cell.symbol()
            );
            assert_eq!(
                (cell.fg, cell.bg),
                (Color::Reset, Color::Reset),
                "a colour in the NO_COLOR rendering"
            );
        }
        // The selection stays visible without colour.
        assert!(
            buffer
                .content()
                .iter()
                .any(|c| c.modifier.contains(Modifier::REVERSED))
        );
        insta::assert_snapshot!(format!("no_color_ascii_{name}_80x24"), text(&buffer));
    }
}

/// Puts a fresh state where a test wants it.
type Setup = Box<dyn Fn(&mut State)>;

/// Every tab, detail and overlay at sizes down to 1×1 draws without panicking.
#[test]
fn no_panic_at_tiny_sizes() {
    let theme = Theme::builtin("default").expect("default theme");
    let mut ascii = theme.clone();
    ascii.ascii = true;
    let setups: Vec<(&str, Setup)> = vec![
        ("overview", Box::new(|_| {})),
        ("pipelines", Box::new(|s| command(s, Command::TabPipelines))),
        ("gitops", Box::new(|s| command(s, Command::TabGitops))),
        ("drift", Box::new(|s| command(s, Command::TabDrift))),
        (
            "pipelines detail",
            Box::new(|s| {
                command(s, Command::TabPipelines);
                command(s, Command::Open);
            }),
        ),
        ("job log", Box::new(open_failed_job_log)),
        (
            "gitops detail",
            Box::new(|s| {
                command(s, Command::TabGitops);
                command(s, Command::Open);
            }),
        ),
        (
            "drift detail",
            Box::new(|s| {
                command(s, Command::TabDrift);
                command(s, Command::Open);
            }),
        ),
        ("help", Box::new(|s| command(s, Command::Help))),
        (
            "picker",
            Box::new(|s| {
                command(s, Command::TabGitops);
                select(s, |s, r| s.app(r).is_some_and(|a| a.name == "payments"));
                command(s, Command::Rollback);
            }),
        ),
        (
            "confirm",
            Box::new(|s| {
                command(s, Command::TabGitops);
                select(s, |s, r| s.app(r).is_some_and(|a| a.name == "inventory"));
                command(s, Command::Sync);
            }),
        ),
        (
            "confirm production",
            Box::new(|s| {
                command(s, Command::TabGitops);
                select(s, |s, r| s.app(r).is_some_and(|a| a.name == "payments"));
                command(s, Command::Rollback);
                key(s, KeyCode::Enter);
                type_text(s, "pay");
            }),
        ),
        (
            "filter",
            Box::new(|s| {
                command(s, Command::TabPipelines);
                command(s, Command::Filter);
                type_text(s, "zzzz-nothing");
            }),
        ),
    ];
    for (name, setup) in &setups {
        for size in TINY_SIZES
            .into_iter()
            .chain([(41, 11), (79, 23), (300, 100)])
        {
            let mut state = demo_state(size, false, false);
            setup(&mut state);
            for theme in [&theme, &ascii] {
                let screen = text(&render(&state, theme, size));
                assert_eq!(
                    screen.lines().count(),
                    usize::from(size.1),
                    "{name} at {size:?}"
                );
            }
        }
    }
}

/// The selection stays on screen however far down it is, and only the
/// visible window is drawn.
#[test]
fn selection_far_down_is_visible() {
    let theme = Theme::builtin("default").expect("default theme");
    let mut state = demo_state((80, 24), false, false);
    command(&mut state, Command::TabPipelines);
    command(&mut state, Command::Bottom);
    let pane = state.pane(Tab::Pipelines);
    let last_commit = state
        .run(pane.rows[pane.rows.len() - 1])
        .expect("last run")
        .commit
        .clone();
    // Then the offset goes stale (as after a resize); the draw still shows it.
    state.panes[Tab::Pipelines.index()].offset = 0;
    let screen = text(&render(&state, &theme, (80, 24)));
    let position = format!("{}/{}", pane_len(&state), pane_len(&state));
    assert!(screen.contains(&position), "{screen}");
    let table_bottom = screen.lines().nth(21).expect("23 lines");
    assert!(
        table_bottom.contains(opsdeck::model::short_rev(&last_commit)),
        "{screen}"
    );
}

fn pane_len(state: &State) -> usize {
    state.pane(Tab::Pipelines).rows.len()
}

// ---- Argo CD ----------------------------------------------------------------

/// An Argo CD source (with `insecure = true`, warned about in the title)
/// holding one out-of-sync, degraded app, its drill-down loaded.
fn argocd_state(size: (u16, u16)) -> State {
    let now = start();
    let source = SourceState::new(
        "argo",
        "argocd",
        Provides {
            gitops: true,
            ..Provides::default()
        },
        false,
    )
    .with_warning(Some("TLS NOT VERIFIED (insecure = true)".into()))
    .with_capabilities(opsdeck::model::Capabilities {
        app_detail: true,
        sync_options: true,
        ..Default::default()
    });
    let mut state = State::new(vec![source], Keymap::default(), false, now);
    update(&mut state, Msg::Resize(size.0, size.1));
    let app: opsdeck::sources::argocd::api::Application = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "payments"},
        "spec": {
            "source": {"repoURL": "https://git.example.com/acme/deploy.git", "path": "apps/payments"},
            "destination": {"name": "prod-eu", "namespace": "payments"}
        },
        "status": {
            "sync": {"status": "OutOfSync", "revision": "ddddddd4444444"},
            "health": {"status": "Degraded", "message": "Deployment payments exceeded its progress deadline"},
            "resources": [{"kind": "ConfigMap", "namespace": "payments", "name": "payments-config", "status": "OutOfSync"}],
            "operationState": {"phase": "Failed", "message": "one or more objects failed to apply",
                "startedAt": "2025-03-14T08:00:00Z", "finishedAt": "2025-03-14T08:00:30Z",
                "syncResult": {"revision": "ddddddd4444444"}},
            "history": [
                {"id": 5, "revision": "bbbbbbb2222222", "deployedAt": "2025-03-12T08:00:00Z"},
                {"id": 6, "revision": "ccccccc3333333", "deployedAt": "2025-03-13T08:00:00Z"}
            ]
        }
    }))
    .expect("an application");
    let event = SourceEvent {
        source: 0,
        at: now,
        result: Ok(opsdeck::model::Snapshot {
            apps: vec![opsdeck::sources::argocd::api::to_app("argo", app)],
            ..Default::default()
        }
        .into()),
    };
    update(&mut state, Msg::Source(event));
    command(&mut state, Command::TabGitops);
    let effects = update(&mut state, Msg::Command(Command::Open));
    assert!(
        effects.iter().any(
            |e| matches!(e, opsdeck::app::Effect::LoadAppDetail { app, .. } if app == "payments")
        ),
        "opening an Argo CD app loads its drill-down: {effects:?}"
    );
    let node =
        |depth, kind: &str, name: &str, health, message: Option<&str>| opsdeck::model::TreeNode {
            depth,
            kind: kind.into(),
            namespace: "payments".into(),
            name: name.into(),
            health,
            message: message.map(Into::into),
        };
    use opsdeck::model::Health;
    let detail = opsdeck::model::AppDetail {
        results: vec![
            opsdeck::model::ResourceResult {
                kind: "ConfigMap".into(),
                namespace: "payments".into(),
                name: "payments-config".into(),
                status: "Synced".into(),
                message: "configmap/payments-config configured".into(),
            },
            opsdeck::model::ResourceResult {
                kind: "Deployment".into(),
                namespace: "payments".into(),
                name: "payments".into(),
                status: "SyncFailed".into(),
                message: "admission webhook denied the request".into(),
            },
        ],
        revisions: vec![opsdeck::model::RevisionInfo {
            revision: "ccccccc3333333".into(),
            author: Some("Alice Deployer <alice@example.com>".into()),
            date: None,
            message: Some("payments: raise memory limit".into()),
        }],
        tree: vec![
            node(0, "ConfigMap", "payments-config", None, None),
            node(0, "Deployment", "payments", Some(Health::Degraded), None),
            node(
                1,
                "ReplicaSet",
                "payments-7d9",
                Some(Health::Degraded),
                None,
            ),
            node(
                2,
                "Pod",
                "payments-7d9-x1",
                Some(Health::Degraded),
                Some("CrashLoopBackOff"),
            ),
        ],
        diffs: vec![opsdeck::model::ResourceDiff {
            kind: "ConfigMap".into(),
            namespace: "payments".into(),
            name: "payments-config".into(),
            lines: [
                "--- live ConfigMap/payments/payments-config",
                "+++ desired ConfigMap/payments/payments-config",
                "@@ -1,6 +1,6 @@",
                " apiVersion: v1",
                " data:",
                "-  LOG_LEVEL: info",
                "+  LOG_LEVEL: debug",
                "   TIMEOUT: 5s",
                " kind: ConfigMap",
            ]
            .map(String::from)
            .to_vec(),
        }],
        problems: Vec::new(),
    };
    let target = opsdeck::model::Target::new("argo", opsdeck::model::TargetKind::App, "payments");
    update(
        &mut state,
        Msg::AppDetail {
            target,
            result: Ok(detail),
        },
    );
    state
}

/// Scroll the open detail until `heading` is among its first body rows.
fn scroll_to(state: &mut State, theme: &Theme, size: (u16, u16), heading: &str) {
    for _ in 0..200 {
        let screen = text(&render(state, theme, size));
        if screen.lines().skip(2).take(3).any(|l| l.contains(heading)) {
            return;
        }
        command(state, Command::Down);
    }
    panic!("{heading} never reached the top of the detail");
}

#[test]
fn argocd_detail_tree_and_diff() {
    let theme = Theme::builtin("default").expect("default theme");
    for size in SIZES {
        let mut state = argocd_state(size);
        // The history carries the authors loaded with the drill-down.
        let app = &state.sources[0].snapshot.apps[0];
        assert_eq!(
            app.history[0].author.as_deref(),
            Some("Alice Deployer <alice@example.com>")
        );
        let top = text(&render(&state, &theme, size));
        insta::assert_snapshot!(format!("argocd_detail_{}x{}", size.0, size.1), top);
        scroll_to(&mut state, &theme, size, "Resource tree");
        let tree = text(&render(&state, &theme, size));
        insta::assert_snapshot!(format!("argocd_tree_{}x{}", size.0, size.1), tree);
        scroll_to(&mut state, &theme, size, "Diff: live");
        let diff = text(&render(&state, &theme, size));
        insta::assert_snapshot!(format!("argocd_diff_{}x{}", size.0, size.1), diff);
    }
}

#[test]
fn argocd_sync_dialog_toggles_prune_and_dry_run() {
    let theme = Theme::builtin("default").expect("default theme");
    for size in SIZES {
        let mut state = argocd_state(size);
        command(&mut state, Command::Sync);
        key(&mut state, KeyCode::Char('p'));
        let Some(Overlay::Confirm(confirm)) = &state.overlay else {
            panic!("the sync dialog is open");
        };
        assert!(confirm.action.sync.prune && !confirm.action.sync.dry_run);
        assert!(
            confirm
                .action
                .effect
                .ends_with("[prune: delete resources no longer in Git]")
        );
        let screen = text(&render(&state, &theme, size));
        insta::assert_snapshot!(format!("argocd_sync_confirm_{}x{}", size.0, size.1), screen);
    }
}

/// The failed run's failed job, its log loaded from the same demo fleet.
fn open_failed_job_log(state: &mut State) {
    let mut fleet = DemoFleet::new(SEED, start(), true);
    for _ in 0..STEPS {
        fleet.step();
    }
    state.sources[0].capabilities.job_logs = true;
    command(state, Command::TabPipelines);
    select(state, |s, r| {
        s.run(r)
            .is_some_and(|run| run.status == RunStatus::Failure && run.jobs.is_some())
    });
    command(state, Command::Logs);
    let detail = state.pane(Tab::Pipelines).detail.clone().expect("detail");
    let view = detail.log.expect("log view");
    let text = fleet
        .job_log(&detail.target.id, &view.job_id)
        .expect("demo log");
    update(
        state,
        Msg::Log {
            target: detail.target.clone(),
            job: view.job_id.clone(),
            result: Ok(opsdeck::model::LogTail::from_text(
                &view.job_name,
                &text,
                false,
            )),
        },
    );
}

#[test]
fn job_log_tail() {
    snapshot_both("pipelines_log", open_failed_job_log);
}

#[test]
fn new_run_form() {
    snapshot_both("new_run_form", |s| {
        command(s, Command::TabPipelines);
        select(s, |s, r| {
            s.run(r).is_some_and(|run| run.pipeline == "Deploy")
        });
        let row = s.selected_row(Tab::Pipelines).expect("row");
        let run = s.run(row).cloned().expect("run");
        let spec = opsdeck::model::DispatchForm {
            pipeline: run.pipeline_id.clone(),
            name: run.pipeline.clone(),
            git_ref: Some("main".into()),
            inputs: vec![
                opsdeck::model::FormInput {
                    name: "environment".into(),
                    default: "staging".into(),
                    description: "where to deploy".into(),
                    choices: vec!["staging".into(), "production".into()],
                    required: true,
                },
                opsdeck::model::FormInput {
                    name: "reason".into(),
                    description: "said in the run's title".into(),
                    ..Default::default()
                },
            ],
            free_inputs: true,
        };
        update(
            s,
            Msg::DispatchForm {
                target: opsdeck::model::Target::new(
                    "demo",
                    opsdeck::model::TargetKind::Pipeline,
                    &run.pipeline_id,
                ),
                git_ref: Some(run.branch.clone()),
                result: Ok(spec),
            },
        );
        key(s, KeyCode::Tab);
        assert!(matches!(s.overlay, Some(Overlay::Form(_))));
    });
}

/// An app running an image a registry source holds: its row names the
/// image and how many newer ones exist, its detail the build and the
/// newer tags. The registry's read arrives after the app's, alone in its
/// batch: the link is made then.
#[test]
fn an_apps_image_shows_its_build_and_the_newer_images() {
    use opsdeck::model::{AppImage, ImageTag, RegistryRepo, Snapshot};
    let theme = Theme::builtin("default").expect("default theme");
    let size = (160, 48);
    let now = start();
    let demo = SourceState::new("demo", "demo", Provides::ALL, false);
    let registry = SourceState::new("images", "registry", Provides::default(), false);
    let mut state = State::new(vec![demo, registry], Keymap::default(), false, now);
    update(&mut state, Msg::Resize(size.0, size.1));
    let mut fleet = DemoFleet::new(SEED, now, false).snapshot("demo");
    fleet.apps.truncate(1);
    fleet.apps[0].images = vec![AppImage::new("ghcr.io/acme/payments:1.4.2")];
    let send = |state: &mut State, source, snapshot: Snapshot| {
        let event = SourceEvent {
            source,
            at: now,
            result: Ok(snapshot.into()),
        };
        update(state, Msg::Source(event));
    };
    send(&mut state, 0, fleet);
    let tag = |name: &str, hours: i64, rev: &str| ImageTag {
        tag: name.into(),
        digest: Some(format!("sha256:{name}")),
        created_at: Some(now - chrono::Duration::hours(hours)),
        revision: Some(rev.into()),
    };
    let repo = RegistryRepo {
        source: "images".into(),
        host: "ghcr.io".into(),
        repository: "acme/payments".into(),
        tags: vec![
            tag("1.4.4", 1, "9d194cc2"),
            tag("1.4.3", 2, "8c083bb1"),
            tag("1.4.2", 3, "7b972aa0"),
        ],
        error: None,
    };
    send(
        &mut state,
        1,
        Snapshot {
            registries: vec![repo],
            ..Snapshot::default()
        },
    );
    command(&mut state, Command::TabGitops);
    let screen = text(&render(&state, &theme, size));
    assert!(screen.contains("payments:1.4.2, 2 newer"), "{screen}");
    command(&mut state, Command::Open);
    let screen = text(&render(&state, &theme, size));
    for words in [
        "Images (1)",
        "running payments:1.4.2 (built 3h ago from 7b972aa), 2 newer images",
        "ghcr.io/acme/payments:1.4.2",
        "newer: 1.4.4, 1.4.3",
        "images: ghcr.io/acme/payments, 3 tags",
    ] {
        assert!(screen.contains(words), "{words}:\n{screen}");
    }
}
