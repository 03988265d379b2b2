//! Where the token comes from, never naming it; an inline token refused; a command
//! token run once and once more after a 401.

use super::*;

#[tokio::test]
async fn a_rejected_token_is_named_by_where_it_came_from_never_by_itself() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .and(path(api("/pipelines")))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"message": "401 Unauthorized"})),
        )
        .mount(&f.server)
        .await;
    let err = f.source().fetch().await.expect_err("refused");
    let text = err.to_string();
    assert!(matches!(err, SourceError::Auth(_)), "{text}");
    assert!(text.contains("ci: token rejected by GitLab (401"), "{text}");
    assert!(
        text.contains(&format!("file {}", f.token_file.display())),
        "{text}"
    );
    assert!(!text.contains(TOKEN), "{text}");
}

#[tokio::test]
async fn the_default_token_comes_from_env_gitlab_token() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .and(path(api("/pipelines")))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"message": "401 Unauthorized"})),
        )
        .mount(&f.server)
        .await;
    let home = f.dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let config = f.dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[source]]\nname = \"ci\"\nkind = \"gitlab\"\nurl = \"{}\"\nproject = \"{PROJECT}\"\n",
            f.server.uri()
        ),
    )
    .expect("config");
    // The real binary, so the token is looked up as configured (and the
    // test process's environment is left alone).
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .arg("--config")
        .arg(&config)
        .args(["status", "--format", "json"])
        .env_remove("OPSDECK_CONFIG")
        .env("GITLAB_TOKEN", TOKEN)
        .env("HOME", &home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("NO_COLOR", "1")
        .output()
        .await
        .expect("run opsdeck");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    let error = report["sources"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("token rejected by GitLab"), "{error}");
    assert!(
        error.contains("check the token from env GITLAB_TOKEN"),
        "{error}"
    );
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));
    let request = &f.requests().await[0];
    assert_eq!(private_token(request).as_deref(), Some(TOKEN));
    // Nor does it reach the log file.
    for entry in walk(&home) {
        let text = std::fs::read(&entry).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&text).contains(TOKEN),
            "{} holds the token",
            entry.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            files.extend(walk(&p));
        } else {
            files.push(p);
        }
    }
    files
}

#[tokio::test]
async fn an_inline_token_is_refused_without_being_repeated() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config/invalid/gitlab_inline_token.toml");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .arg("--config")
        .arg(&file)
        .args(["config", "check"])
        .env_remove("OPSDECK_CONFIG")
        .output()
        .await
        .expect("run opsdeck");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(":6:9: token must not be written inline"),
        "{stderr}"
    );
    assert!(!stderr.contains("glpat-inline-secret-value"), "{stderr}");
}

#[tokio::test]
async fn a_command_token_runs_once_and_once_more_after_a_401_for_reads_and_logs() {
    let f = fixture().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let runs = dir.path().join("runs");
    let script = dir.path().join("token.sh");
    std::fs::write(
        &script,
        format!(
            "n=$(( $(cat {runs} 2>/dev/null || echo 0) + 1 ))\necho $n > {runs}\nprintf 'glpat-%s' $n\n",
            runs = runs.display()
        ),
    )
    .expect("script");
    let counted = || {
        std::fs::read_to_string(&runs)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            .unwrap_or(0)
    };
    Mock::given(header("private-token", "glpat-1"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"message": "401 Unauthorized"})),
        )
        .mount(&f.server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/pipelines/61/jobs")))
        .and(header("private-token", "glpat-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json([job(
            705,
            "test",
            "rspec",
            "failed",
            Some(88.2),
        )]))
        .mount(&f.server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/jobs/705/trace")))
        .and(header("private-token", "glpat-2"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("done\n", "text/plain"))
        .mount(&f.server)
        .await;
    let mut config = f.config();
    config.token = opsdeck::config::Secret::Command(format!("sh {}", script.display()));
    let source = GitlabSource::new(NAME, config, Duration::from_secs(30));
    for _ in 0..3 {
        let jobs = source
            .run_jobs("61")
            .await
            .expect("jobs with the renewed token");
        assert_eq!(jobs.len(), 1);
    }
    let tail = source.job_log("61", "705").await.expect("log");
    assert_eq!(tail.lines, ["done"]);
    assert_eq!(counted(), 2, "one run, and one more after the 401");
    let tokens: Vec<String> = f
        .server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| {
            r.headers
                .get("private-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(
        tokens,
        ["glpat-1", "glpat-2", "glpat-2", "glpat-2", "glpat-2"]
    );
}
