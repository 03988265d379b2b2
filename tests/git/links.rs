//! A repository linked to its app: pending commits, the revert of the running
//! commit offered by rollback, and the repository detail on screen.

use super::*;

/// An app as an Argo CD source would report it, running `revision`.
fn deployed_app(repos: &Repos, revision: &str) -> opsdeck::model::GitOpsApp {
    let demo =
        opsdeck::sources::demo::DemoFleet::new(1, chrono::Utc::now(), false).snapshot("argo");
    let mut app = demo
        .apps
        .into_iter()
        .find(|a| a.name == "payments")
        .expect("payments");
    app.revision = Some(revision.to_string());
    app.repo_url = Some(format!("{}/", repos.remote().display()));
    app.path = Some("/apps/payments".into());
    app
}

fn linked_state(repos: &Repos, live: &str) -> opsdeck::app::State {
    use opsdeck::app::state::SourceState;
    use opsdeck::model::Provides;
    let source = GitSource::new(
        "repo",
        repos.config(PushMode::Direct),
        Duration::from_secs(30),
    );
    let repo_snapshot = read(&source);
    let mut state = opsdeck::app::State::new(
        vec![
            SourceState::new("argo", "argocd", Provides::ALL, false),
            SourceState::new("repo", "git", Provides::ALL, false)
                .with_actions([ActionKind::Rollback]),
        ],
        opsdeck::app::Keymap::default(),
        false,
        chrono::Utc::now(),
    );
    let apps = Snapshot {
        apps: vec![deployed_app(repos, live)],
        ..Snapshot::default()
    };
    for (source, snapshot) in [(0, apps), (1, repo_snapshot)] {
        let event = opsdeck::sources::SourceEvent {
            source,
            at: chrono::Utc::now(),
            result: Ok(snapshot.into()),
        };
        opsdeck::app::update(&mut state, opsdeck::app::Msg::Source(event));
    }
    state
}

#[test]
fn a_repository_links_to_the_app_with_its_url_and_path_and_counts_pending_commits() {
    let repos = Repos::new();
    let state = linked_state(&repos, &repos.v2);
    let repo_app = &state.sources[1].snapshot.apps[0];
    assert_eq!(
        repo_app.linked,
        Some(Target::new("argo", TargetKind::App, "payments"))
    );
    assert_eq!(
        repo_app.pending,
        Some(1),
        "v3 touches payments and is not deployed yet"
    );
    assert_eq!(repo_app.sync, opsdeck::model::SyncStatus::OutOfSync);
    assert!(
        repo_app.production,
        "reverting here changes a production app"
    );
    let deployed = &state.sources[0].snapshot.apps[0];
    assert_eq!(
        deployed.linked,
        Some(Target::new("repo", TargetKind::App, "payments"))
    );
    let commit = deployed
        .revision_commit
        .as_ref()
        .expect("the commit it runs");
    assert_eq!(
        (commit.subject.as_str(), commit.author.as_str()),
        ("bump payments to v2", "Alice Deployer")
    );
    // The repository's view does not double the Overview's attention list.
    let overview = &state.pane(opsdeck::app::Tab::Overview).rows;
    assert!(overview.iter().all(|r| r.source == 0), "{overview:?}");

    let in_sync = linked_state(&repos, &repos.v3);
    assert_eq!(in_sync.sources[1].snapshot.apps[0].pending, Some(0));
    assert_eq!(
        in_sync.sources[1].snapshot.apps[0].sync,
        opsdeck::model::SyncStatus::Synced
    );
}

#[test]
fn rollback_on_a_repository_app_offers_a_revert_of_the_running_commit() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use opsdeck::app::state::Overlay;
    use opsdeck::app::{Command, Msg, update};
    let repos = Repos::new();
    let mut state = linked_state(&repos, &repos.v2);
    select_repo_row(&mut state);
    update(&mut state, Msg::Command(Command::Rollback));
    let Some(Overlay::Picker(picker)) = state.overlay.clone() else {
        panic!("picker expected: {:?}", state.status)
    };
    assert!(
        picker
            .title
            .starts_with("Revert which commit of repo/payments"),
        "{}",
        picker.title
    );
    assert!(
        picker.entries.iter().all(|e| !e.current),
        "every commit can be reverted"
    );
    assert_eq!(
        picker.entries[picker.selected].id, repos.v2,
        "the cursor starts on the commit that runs"
    );
    // The picker shows what the commit under the cursor changed.
    let screen = text(&render(&state, (120, 40)));
    assert!(
        screen.contains("+  image: payments:v2") && screen.contains("-  image: payments:v1"),
        "{screen}"
    );
    update(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::Char('k'), KeyModifiers::NONE)),
    );
    let screen = text(&render(&state, (120, 40)));
    assert!(screen.contains("+  image: payments:v3"), "{screen}");
    update(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE)),
    );
    update(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    let Some(Overlay::Confirm(confirm)) = state.overlay.clone() else {
        panic!("confirm expected")
    };
    let effect = &confirm.action.effect;
    assert!(
        effect.starts_with(&format!(
            "revert {} \"bump payments to v2\" by Alice Deployer in repo/payments",
            &repos.v2[..7]
        )),
        "{effect}"
    );
    assert!(
        effect.contains("push it to main, then refresh argo/payments and follow it"),
        "{effect}"
    );
    assert_eq!(
        confirm.action.follow.as_ref().map(|f| f.target.clone()),
        Some(Target::new("argo", TargetKind::App, "payments"))
    );
    assert_eq!(
        confirm.required_text(),
        Some("payments"),
        "production: the name must be typed"
    );
}

/// Select the repository's row in the GitOps tab.
fn select_repo_row(state: &mut opsdeck::app::State) {
    use opsdeck::app::{Command, Msg, update};
    update(state, Msg::Command(Command::TabGitops));
    let pane = state.pane(opsdeck::app::Tab::GitOps);
    let row = pane
        .rows
        .iter()
        .position(|r| r.source == 1)
        .expect("repo row");
    for _ in 0..row {
        update(state, Msg::Command(Command::Down));
    }
}

fn render(state: &opsdeck::app::State, (w, h): (u16, u16)) -> ratatui::buffer::Buffer {
    let theme = opsdeck::theme::Theme::builtin("default").expect("theme");
    let mut terminal =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).expect("terminal");
    terminal
        .draw(|f| opsdeck::ui::draw(f, state, &theme))
        .expect("draw");
    terminal.backend().buffer().clone()
}

fn text(buffer: &ratatui::buffer::Buffer) -> String {
    let area = buffer.area;
    (0..area.height)
        .map(|y| {
            (0..area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
                + "\n"
        })
        .collect()
}

#[test]
fn the_repository_detail_shows_the_link_pending_commits_and_a_coloured_diff() {
    use opsdeck::app::{Command, Msg, update};
    let repos = Repos::new();
    let mut state = linked_state(&repos, &repos.v2);
    select_repo_row(&mut state);
    update(&mut state, Msg::Command(Command::Open));
    let theme = opsdeck::theme::Theme::builtin("default").expect("theme");
    let buffer = render(&state, (120, 80));
    let screen = text(&buffer);
    assert!(
        screen
            .lines()
            .any(|l| l.contains("deploys to") && l.contains("argo/payments")),
        "{screen}"
    );
    assert!(
        screen.contains("(running) bump payments to v2"),
        "the deployed commit is marked: {screen}"
    );
    assert!(
        screen.lines().any(|l| l
            .trim_start_matches(['│', ' '])
            .starts_with("--- a/apps/payments/deployment.yaml")),
        "{screen}"
    );
    assert!(screen.contains("1 commit not deployed yet"), "{screen}");
    assert!(
        screen.contains("Commits touching apps/payments (3)"),
        "{screen}"
    );
    assert!(
        screen.contains("Newest change to apps/payments"),
        "{screen}"
    );
    assert!(screen.contains("+  image: payments:v3"), "{screen}");
    // Removed lines are drawn in the error colour, added ones in the ok colour.
    let find = |needle: &str| {
        (0..buffer.area.height).find_map(|y| {
            let line: String = (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect();
            line.find(needle)
                .map(|col| buffer[(line[..col].chars().count() as u16, y)].fg)
        })
    };
    assert_eq!(
        find("+  image: payments:v3"),
        Some(theme.ok().fg.unwrap_or_default())
    );
    assert_eq!(
        find("-  image: payments:v2"),
        Some(theme.error().fg.unwrap_or_default())
    );
}
