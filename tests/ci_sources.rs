//! CI/CD sources side by side: a Jenkins that accepts connections and never
//! answers must not hold up GitHub or the screen. Both sources run through
//! the real poller (`spawn_all`), their events through `update`, the screen
//! through `ui::draw`.

use std::net::TcpListener;
use std::time::Duration;

use opsdeck::app::state::{Phase, SourceState, State, Tab};
use opsdeck::app::{Command, Keymap, Msg, update};
use opsdeck::sources::{self, SourceEvent};
use opsdeck::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A server that takes every connection and never says a word, like a
/// Jenkins stuck in a long GC pause. The connections stay open while the
/// listener thread lives (the whole test binary).
fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    format!("http://{address}")
}

fn github_run() -> serde_json::Value {
    json!({
        "id": 30433642,
        "name": "Build",
        "head_branch": "main",
        "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d",
        "path": ".github/workflows/build.yml",
        "run_number": 562,
        "event": "push",
        "display_title": "Update README.md",
        "status": "completed",
        "conclusion": "failure",
        "workflow_id": 159038,
        "url": "https://api.github.com/repos/octo-org/octo-repo/actions/runs/30433642",
        "html_url": "https://github.com/octo-org/octo-repo/actions/runs/30433642",
        "created_at": "2020-01-22T19:33:08Z",
        "updated_at": "2020-01-22T19:35:08Z",
        "run_attempt": 1,
        "run_started_at": "2020-01-22T19:33:08Z",
        "actor": {"login": "octocat", "id": 1},
        "triggering_actor": {"login": "octocat", "id": 1},
        "jobs_url": "https://api.github.com/repos/octo-org/octo-repo/actions/runs/30433642/jobs",
        "logs_url": "https://api.github.com/repos/octo-org/octo-repo/actions/runs/30433642/logs",
        "repository": {"id": 1296269, "full_name": "octo-org/octo-repo", "name": "octo-repo"},
        "head_repository": {"id": 1296269, "full_name": "octo-org/octo-repo", "name": "octo-repo"}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_jenkins_never_holds_up_github_or_the_screen() {
    let github = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octo-org/octo-repo/actions/runs"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"runs-1\"")
                .set_body_json(json!({"total_count": 1, "workflow_runs": [github_run()]})),
        )
        .mount(&github)
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("token");
    std::fs::write(&token, "ghp_notarealtoken\n").expect("token file");
    let config_path = dir.path().join("opsdeck.toml");
    let text = format!(
        r#"
[[source]]
name = "gh"
kind = "github"
repo = "octo-org/octo-repo"
api_url = "{github}"
token = {{ file = "{token}" }}
refresh = "100ms"

[[source]]
name = "jenkins"
kind = "jenkins"
url = "{jenkins}"
jobs = ["deploy"]
timeout = "2s"
"#,
        github = github.uri(),
        token = token.display(),
        jenkins = silent_server(),
    );
    let config = opsdeck::config::parse(&text, &config_path).expect("valid config");
    let built = sources::build_all(&config);
    let states = built
        .iter()
        .map(|s| SourceState::new(s.name(), s.kind(), s.provides(), false))
        .collect();
    let mut state = State::new(states, Keymap::default(), false, chrono::Utc::now());
    update(&mut state, Msg::Resize(100, 20));
    update(&mut state, Msg::Command(Command::TabPipelines));

    let (tx, mut rx) = tokio::sync::mpsc::channel::<SourceEvent>(64);
    let (_wakes, handles) = sources::spawn_all(&built, tx);
    let mut github_reads = 0;
    let jenkins = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let event = rx.recv().await.expect("the pollers run");
            let from_jenkins = event.source == 1;
            if event.source == 0 {
                assert!(event.result.is_ok(), "{:?}", event.result);
                github_reads += 1;
            }
            let result = event.result.clone();
            update(&mut state, Msg::Source(event));
            if from_jenkins {
                return result;
            }
            // While Jenkins has not answered, GitHub's runs are on screen.
            if github_reads == 3 {
                assert_eq!(state.sources[1].phase(), Phase::Loading);
                assert_eq!(state.pane(Tab::Pipelines).rows.len(), 1);
            }
        }
    })
    .await
    .expect("Jenkins reports its timeout within 30 s");
    // Jenkins gave up at its own timeout, on its own row...
    let error = jenkins.expect_err("a silent Jenkins is an error");
    assert!(error.contains("no answer within 2s"), "{error}");
    // ...while GitHub was read again and again, every 100 ms.
    assert!(
        github_reads >= 5,
        "only {github_reads} GitHub reads while Jenkins hung for 2 s"
    );
    // And GitHub keeps going after.
    let next = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let event = rx.recv().await.expect("the pollers run");
            if event.source == 0 {
                return event;
            }
        }
    })
    .await
    .expect("GitHub is read again");
    update(&mut state, Msg::Source(next));
    assert_eq!(state.sources[0].phase(), Phase::Ok);
    assert_eq!(state.sources[1].phase(), Phase::Error);

    let theme = Theme::builtin("default").expect("theme");
    let mut terminal = Terminal::new(TestBackend::new(100, 20)).expect("terminal");
    terminal
        .draw(|frame| opsdeck::ui::draw(frame, &state, &theme))
        .expect("draw");
    let screen: String = terminal
        .backend()
        .buffer()
        .content()
        .chunks(100)
        .map(|row| row.iter().map(|c| c.symbol()).collect::<String>() + "\n")
        .collect();
    assert!(screen.contains("Build"), "GitHub's run is shown:\n{screen}");
    assert!(
        screen.contains("no answer within 2s"),
        "Jenkins's timeout is on its row:\n{screen}"
    );
    // No token anywhere on screen.
    assert!(!screen.contains("ghp_notarealtoken"));
    handles.iter().for_each(|h| h.abort());
}
