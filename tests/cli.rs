//! The headless commands through the real binary: the `status` JSON contract
//! and its exit codes, and the action commands' confirmation, read-only and
//! audit behaviour.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn opsdeck(state_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    cmd.env_remove("OPSDECK_CONFIG")
        .env_remove("OPSDECK_AUDIT_LOG")
        .env("XDG_STATE_HOME", state_dir)
        .env("XDG_CONFIG_HOME", state_dir.join("config"))
        .stdin(Stdio::null());
    cmd
}

fn run(cmd: &mut Command) -> (Option<i32>, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run opsdeck");
    (
        status.code(),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

fn write_config(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("opsdeck.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

fn keys(value: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = value
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

fn sorted(mut v: Vec<&str>) -> Vec<&str> {
    v.sort_unstable();
    v
}

fn assert_rfc3339_or_null(v: &Value, what: &str) {
    match v {
        Value::Null => {}
        Value::String(s) => {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap_or_else(|e| panic!("{what}: {s} is not RFC 3339: {e}"));
        }
        other => panic!("{what}: {other} is neither a time nor null"),
    }
}

#[test]
fn status_json_follows_the_contract_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, stdout, stderr) =
        run(opsdeck(dir.path()).args(["--demo", "status", "--format", "json"]));
    assert_eq!(
        code,
        Some(1),
        "the demo with incidents needs attention: {stderr}"
    );
    let doc: Value = serde_json::from_str(&stdout).expect("valid JSON");
    assert_eq!(
        keys(&doc),
        vec!["drift", "gitops", "pipelines", "registries", "sources"]
    );
    // No registry source in the demo: an empty list, not an absent key.
    assert_eq!(doc["registries"], serde_json::json!([]));

    let sources = doc["sources"].as_array().expect("sources");
    assert_eq!(sources.len(), 1);
    assert_eq!(
        keys(&sources[0]),
        sorted(vec!["name", "kind", "ok", "error", "updated_at"])
    );
    assert_eq!(sources[0]["ok"], Value::Bool(true));
    assert_eq!(sources[0]["error"], Value::Null);
    assert_rfc3339_or_null(&sources[0]["updated_at"], "updated_at");

    let run_keys = sorted(vec![
        "source",
        "id",
        "pipeline",
        "project",
        "branch",
        "commit",
        "actor",
        "status",
        "started_at",
        "duration_s",
        "url",
        "error",
    ]);
    let runs = doc["pipelines"].as_array().expect("pipelines");
    assert!(runs.len() > 10);
    for run in runs {
        assert_eq!(keys(run), run_keys);
        let status = run["status"].as_str().expect("status");
        assert!(
            [
                "queued",
                "running",
                "success",
                "failure",
                "cancelled",
                "skipped",
                "unknown"
            ]
            .contains(&status),
            "{status}"
        );
        assert_rfc3339_or_null(&run["started_at"], "started_at");
        assert!(run["duration_s"].is_null() || run["duration_s"].is_u64());
        assert_eq!(run["commit"].as_str().map(str::len), Some(40), "full SHA");
        // Always present; the demo's runs (failed ones too) were read fine.
        assert_eq!(run["error"], Value::Null, "{run}");
    }
    // Queued runs have not started: null, not omitted.
    assert!(runs.iter().any(|r| r["status"] == "queued"
        && r["started_at"].is_null()
        && r["duration_s"].is_null()));

    let app_keys = sorted(vec![
        "source",
        "app",
        "namespace",
        "cluster",
        "sync",
        "health",
        "revision",
        "target_revision",
        "auto_sync",
        "suspended",
        "out_of_sync",
        "message",
        "images",
        "error",
    ]);
    let apps = doc["gitops"].as_array().expect("gitops");
    assert_eq!(apps.len(), 6);
    for app in apps {
        assert_eq!(keys(app), app_keys);
        assert!(
            ["synced", "out_of_sync", "unknown"].contains(&app["sync"].as_str().expect("sync"))
        );
        assert!(
            [
                "healthy",
                "progressing",
                "degraded",
                "suspended",
                "missing",
                "unknown"
            ]
            .contains(&app["health"].as_str().expect("health"))
        );
        for resource in app["out_of_sync"].as_array().expect("array") {
            assert_eq!(keys(resource), vec!["kind", "name", "namespace"]);
        }
        assert_eq!(app["error"], Value::Null, "{app}");
        assert!(app["images"].is_array(), "images always present: {app}");
    }
    assert!(
        apps.iter().any(|a| a["sync"] == "out_of_sync"),
        "the demo opens with an out-of-sync app"
    );

    let models = doc["drift"].as_array().expect("drift");
    assert_eq!(models.len(), 4);
    for model in models {
        assert_eq!(
            keys(model),
            sorted(vec![
                "source", "model", "version", "status", "metrics", "error"
            ])
        );
        assert_eq!(model["error"], Value::Null, "{model}");
        assert!(
            ["ok", "warning", "drifting", "unknown"]
                .contains(&model["status"].as_str().expect("status"))
        );
        for metric in model["metrics"].as_array().expect("metrics") {
            assert_eq!(
                keys(metric),
                sorted(vec![
                    "name", "feature", "value", "warn", "critical", "status"
                ])
            );
        }
    }
}

#[test]
fn status_exits_0_when_all_is_healthy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        "[[source]]\nname = \"calm\"\nkind = \"demo\"\nincidents = false\npaused = true\n",
    );
    let (code, stdout, stderr) = run(opsdeck(dir.path())
        .arg("--config")
        .arg(&config)
        .args(["status", "--format", "json"]));
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let doc: Value = serde_json::from_str(&stdout).expect("json");
    assert!(
        doc["gitops"]
            .as_array()
            .expect("apps")
            .iter()
            .all(|a| a["sync"] == "synced" && a["health"] == "healthy")
    );
}

#[test]
fn status_exits_2_when_a_source_cannot_be_read_and_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        "[[source]]\nname = \"up\"\nkind = \"demo\"\n\n[[source]]\nname = \"down\"\nkind = \"demo\"\noutage = true\n",
    );
    let (code, stdout, _) = run(opsdeck(dir.path())
        .arg("--config")
        .arg(&config)
        .args(["status", "--format", "json"]));
    assert_eq!(code, Some(2));
    let doc: Value = serde_json::from_str(&stdout).expect("json is still printed");
    let down = &doc["sources"][1];
    assert_eq!(down["name"], "down");
    assert_eq!(down["ok"], false);
    assert_eq!(down["updated_at"], Value::Null);
    assert!(
        down["error"]
            .as_str()
            .is_some_and(|e| e.contains("connection refused"))
    );
    // The source that answered is still reported.
    assert_eq!(doc["sources"][0]["ok"], true);
    assert!(!doc["gitops"].as_array().expect("apps").is_empty());
}

#[test]
fn status_exits_2_on_a_bad_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        "[[source]]\nname = \"x\"\nkind = \"demo\"\nsede = 1\n",
    );
    let (code, _, stderr) = run(opsdeck(dir.path())
        .arg("--config")
        .arg(&config)
        .arg("status"));
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("opsdeck.toml:4:1: unknown field `sede`"),
        "{stderr}"
    );
}

#[test]
fn status_table_lists_what_needs_attention() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, stdout, _) = run(opsdeck(dir.path()).args(["--demo", "status"]));
    assert_eq!(code, Some(1));
    assert!(stdout.contains("NEEDS ATTENTION"));
    assert!(stdout.contains("app    demo/payments"), "{stdout}");
}

#[test]
fn the_demo_seed_makes_status_reproducible() {
    let dir = tempfile::tempdir().expect("tempdir");
    let revisions = |seed: &str| {
        let (_, stdout, _) =
            run(opsdeck(dir.path()).args(["--demo", "--seed", seed, "status", "--format", "json"]));
        let doc: Value = serde_json::from_str(&stdout).expect("json");
        doc["gitops"]
            .as_array()
            .expect("apps")
            .iter()
            .map(|a| a["revision"].to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(revisions("5"), revisions("5"));
    assert_ne!(revisions("5"), revisions("6"));
}

fn audit_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
        .collect()
}

#[test]
fn an_action_with_yes_is_done_and_audited_before_and_after() {
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    let (code, stdout, stderr) = run(opsdeck(dir.path())
        .args(["--demo", "--audit-log"])
        .arg(&audit)
        .args(["rollback", "demo/inventory", "--yes"]));
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.starts_with("will roll back demo/inventory from "),
        "{stdout}"
    );
    assert!(stdout.contains("done: rolled back to"));
    let lines = audit_lines(&audit);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["outcome"], "requested");
    assert_eq!(lines[1]["outcome"], "done");
    assert_eq!(lines[0]["id"], lines[1]["id"]);
    for line in &lines {
        assert_eq!(line["action"], "rollback");
        assert_eq!(line["source"], "demo");
        assert_eq!(line["target"], "inventory");
        assert_eq!(line["via"], "cli");
        assert!(line["user"].as_str().is_some_and(|u| !u.is_empty()));
        assert!(line["host"].as_str().is_some_and(|h| !h.is_empty()));
        assert!(
            line["effect"]
                .as_str()
                .is_some_and(|e| e.starts_with("roll back demo/inventory"))
        );
        assert_rfc3339_or_null(&line["time"], "time");
    }
}

#[test]
fn the_default_audit_log_lives_under_the_xdg_state_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, _, stderr) =
        run(opsdeck(dir.path()).args(["--demo", "suspend", "demo/search", "--yes"]));
    assert_eq!(code, Some(0), "{stderr}");
    let lines = audit_lines(&dir.path().join("opsdeck/audit.jsonl"));
    assert_eq!(
        lines
            .iter()
            .map(|l| l["outcome"].as_str().unwrap_or(""))
            .collect::<Vec<_>>(),
        vec!["requested", "done"]
    );
}

#[test]
fn without_a_terminal_and_without_yes_an_action_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    let (code, stdout, stderr) = run(opsdeck(dir.path())
        .args(["--demo", "--audit-log"])
        .arg(&audit)
        .args(["sync", "demo/web"]));
    assert_eq!(code, Some(1));
    assert!(
        stdout.contains("will sync demo/web"),
        "the effect is still stated: {stdout}"
    );
    assert!(
        stderr.contains("stdin is not a terminal (pass --yes to confirm)"),
        "{stderr}"
    );
    assert!(!audit.exists(), "nothing was sent, nothing audited");
}

#[test]
fn dry_run_states_the_effect_and_sends_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    let (code, stdout, _) = run(opsdeck(dir.path())
        .args(["--demo", "--audit-log"])
        .arg(&audit)
        .args(["rollback", "demo/churn", "--to", "5", "--dry-run"]));
    assert_eq!(code, Some(0));
    assert!(
        stdout
            .contains("will point demo/churn alias \"champion\" from version 7 to 5 [PRODUCTION]"),
        "{stdout}"
    );
    assert!(stdout.contains("dry run: nothing sent"));
    assert!(!audit.exists());
}

#[test]
fn read_only_refuses_headless_actions_and_audits_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    for args in [
        ["--read-only", "sync", "demo/web"],
        ["--read-only", "cancel", "demo/4137"],
    ] {
        let (code, _, stderr) = run(opsdeck(dir.path())
            .args(["--demo", "--audit-log"])
            .arg(&audit)
            .args(args)
            .arg("--yes"));
        assert_eq!(code, Some(1), "{stderr}");
        assert!(stderr.contains("read-only:"), "{stderr}");
    }
    let config = write_config(
        dir.path(),
        "read_only = true\n[[source]]\nname = \"demo\"\nkind = \"demo\"\n",
    );
    let (code, _, stderr) = run(opsdeck(dir.path())
        .arg("--config")
        .arg(&config)
        .arg("--audit-log")
        .arg(&audit)
        .args(["resume", "demo/web", "--yes"]));
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("read-only: resume demo/web refused"),
        "{stderr}"
    );
    assert!(!audit.exists());
}

#[test]
fn a_refused_precondition_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, _, stderr) =
        run(opsdeck(dir.path()).args(["--demo", "rollback", "demo/checkout", "--yes"]));
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("auto-sync on: Argo CD refuses a history rollback"),
        "{stderr}"
    );
    let (code, _, stderr) = run(opsdeck(dir.path()).args([
        "--demo",
        "rollback",
        "demo/inventory",
        "--to",
        "999",
        "--yes",
    ]));
    assert_eq!(code, Some(1));
    assert!(stderr.contains("has no history entry #999"), "{stderr}");
}

#[test]
fn a_headless_action_is_resolved_as_the_dashboard_resolves_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A model's rollback moves its serving alias back.
    let (code, stdout, stderr) =
        run(opsdeck(dir.path()).args(["--demo", "rollback", "demo/churn", "--dry-run"]));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.starts_with("will point demo/churn alias \"champion\" from version"),
        "{stdout}"
    );
    // A run's refresh is a read, which the command just did.
    let (code, stdout, stderr) = run(opsdeck(dir.path()).args(["--demo", "refresh", "demo/4137"]));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("nothing to send"), "{stdout}");
    // An action on the wrong kind of target says what it applies to.
    let (code, _, stderr) =
        run(opsdeck(dir.path()).args(["--demo", "cancel", "demo/web", "--yes"]));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("cancel applies to pipeline runs (tab 2), not to an app"),
        "{stderr}"
    );
}

#[test]
fn bad_targets_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, _, stderr) = run(opsdeck(dir.path()).args(["--demo", "sync", "payments"]));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("`payments` is not SOURCE/NAME"), "{stderr}");
    let (code, _, stderr) = run(opsdeck(dir.path()).args(["--demo", "sync", "prod/payments"]));
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("no source named `prod` (configured: demo)"),
        "{stderr}"
    );
    let (code, _, stderr) = run(opsdeck(dir.path()).args(["--demo", "sync", "demo/nothing"]));
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("demo/nothing is not in demo's last read"),
        "{stderr}"
    );
}

#[test]
fn an_unreachable_backend_makes_the_action_fail_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        "[[source]]\nname = \"down\"\nkind = \"demo\"\noutage = true\n",
    );
    let (code, _, stderr) = run(opsdeck(dir.path())
        .arg("--config")
        .arg(&config)
        .args(["sync", "down/web", "--yes"]));
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("cannot read down: cannot reach the backend: connection refused"),
        "{stderr}"
    );
}

#[test]
fn an_action_the_source_cannot_do_is_refused_by_kind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("deploy");
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(&repo)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "a")
            .env("GIT_AUTHOR_EMAIL", "a@example.com")
            .env("GIT_COMMITTER_NAME", "a")
            .env("GIT_COMMITTER_EMAIL", "a@example.com")
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::fs::create_dir_all(repo.join("apps/payments")).expect("mkdir");
    std::fs::write(repo.join("apps/payments/app.yaml"), "replicas: 1\n").expect("write");
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "add payments"]);
    git(&[
        "remote",
        "add",
        "origin",
        repo.to_str().expect("utf-8 path"),
    ]);
    let config = write_config(
        dir.path(),
        &format!(
            "[[source]]\nname = \"repo\"\nkind = \"git\"\npath = \"{}\"\nbranch = \"main\"\n\n[[source.app]]\nname = \"payments\"\npath = \"apps/payments\"\n",
            repo.display()
        ),
    );
    let audit = dir.path().join("audit.jsonl");
    let (code, _, stderr) = run(opsdeck(dir.path())
        .arg("--config")
        .arg(&config)
        .arg("--audit-log")
        .arg(&audit)
        .args(["sync", "repo/payments", "--yes"]));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("git sources cannot sync repo/payments"),
        "{stderr}"
    );
    assert!(!audit.exists());
}

#[test]
fn a_new_run_is_started_headless_with_its_form_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    let dispatch = |args: &[&str]| {
        run(opsdeck(dir.path())
            .args(["--demo", "--audit-log"])
            .arg(&audit)
            .args(["dispatch", "demo/acme/web:Deploy"])
            .args(args))
    };
    // A value outside the input's choices, or an input the pipeline does
    // not take: refused before anything is sent or audited.
    let (code, _, stderr) = dispatch(&["--input", "environment=prod", "--yes"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("environment must be one of: staging, production"),
        "{stderr}"
    );
    let (code, _, stderr) = dispatch(&["--input", "colour=red", "--yes"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("has no input `colour` (it takes: environment, debug)"),
        "{stderr}"
    );
    let (code, _, stderr) = dispatch(&["--input", "novalue", "--yes"]);
    assert_eq!(code, Some(2), "clap refuses it");
    assert!(stderr.contains("`novalue` is not NAME=VALUE"), "{stderr}");
    assert!(audit_lines(&audit).is_empty());
    // Defaults fill what is not given; --ref picks the branch.
    let (code, stdout, stderr) = dispatch(&[
        "--ref",
        "release/2.4",
        "--input",
        "environment=production",
        "--yes",
    ]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.starts_with(
            "will start a new run of Deploy (demo/acme/web:Deploy) on release/2.4 with environment=production, debug=false"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("of Deploy queued on release/2.4"),
        "{stdout}"
    );
    let lines = audit_lines(&audit);
    assert_eq!(lines.len(), 2);
    for line in &lines {
        assert_eq!(line["action"], "dispatch");
        assert_eq!(line["target_kind"], "pipeline");
        assert_eq!(line["target"], "acme/web:Deploy");
        assert_eq!(line["to"], "release/2.4");
    }
    assert_eq!(lines[1]["outcome"], "done");
    // An unknown pipeline is the source's refusal, named.
    let (code, _, stderr) =
        run(opsdeck(dir.path()).args(["--demo", "dispatch", "demo/acme/web:Nope", "--yes"]));
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("no pipeline acme/web:Nope in the demo fleet"),
        "{stderr}"
    );
}

#[test]
fn logs_print_the_failed_jobs_tail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, stdout, _) = run(opsdeck(dir.path()).args(["--demo", "status", "--format", "json"]));
    let status: Value = serde_json::from_str(&stdout).expect("status json");
    let failed = status["pipelines"]
        .as_array()
        .expect("pipelines")
        .iter()
        .find(|r| r["status"] == "failure")
        .map(|r| {
            format!(
                "{}/{}",
                r["source"].as_str().expect("source"),
                r["id"].as_str().expect("id")
            )
        })
        .expect("a failed run");
    let (code, stdout, stderr) = run(opsdeck(dir.path()).args(["--demo", "logs", &failed]));
    assert_eq!(code, Some(0), "{stderr}");
    let mut lines = stdout.lines();
    let header = lines.next().expect("header");
    assert!(
        header.starts_with(&format!("== {failed} job ")) && header.contains("(failure)"),
        "{header}"
    );
    let body: Vec<&str> = lines.collect();
    assert!(
        body.last()
            .is_some_and(|l| l.ends_with("##[error]Process completed with exit code 101.")),
        "{body:?}"
    );
    assert!(body.len() <= opsdeck::model::LOG_TAIL_LINES);
    // A job that does not exist is named with the ones that do.
    let (code, _, stderr) =
        run(opsdeck(dir.path()).args(["--demo", "logs", &failed, "--job", "nope"]));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("has no job `nope` (its jobs: "), "{stderr}");
    // Piped into a reader that stops early: no panic, no noise.
    let mut child = opsdeck(dir.path())
        .args(["--demo", "logs", &failed])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
