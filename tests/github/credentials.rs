//! Where the token comes from (config, GITHUB_TOKEN, GH_TOKEN, `gh auth token`)
//! and the config keys, never echoing an inline token.

use super::*;

/// A fake `gh` in its own directory, written by another process (so this
/// one never holds it open for writing when it is run).
fn fake_gh(dir: &std::path::Path, script: &str) {
    let gh = dir.join("gh");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg("printf '%s' \"$1\" > \"$2\" && chmod 755 \"$2\"")
        .arg("sh")
        .arg(format!("#!/bin/sh\n{script}\n"))
        .arg(&gh)
        .status()
        .expect("sh");
    assert!(status.success());
}

#[tokio::test]
async fn the_token_comes_from_config_then_github_token_then_gh_token_then_gh() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("bin");
    let args = dir.path().join("gh-args");
    fake_gh(
        &bin,
        &format!("echo \"$@\" > {}\necho gho_fromTheGhCli", args.display()),
    );
    let path = bin.display().to_string();
    let all = token::lookup(
        Some(&Secret::Env("CI_BOT_TOKEN".into())),
        &env(&[
            ("CI_BOT_TOKEN", "from-config"),
            ("GITHUB_TOKEN", "from-github-token"),
            ("GH_TOKEN", "from-gh-token"),
            ("PATH", &path),
        ]),
        None,
    )
    .await
    .expect("config");
    assert_eq!(
        (all.value.expose(), all.origin.as_str()),
        ("from-config", "env CI_BOT_TOKEN")
    );
    let t = token::lookup(
        None,
        &env(&[
            ("GITHUB_TOKEN", "from-github-token"),
            ("GH_TOKEN", "from-gh-token"),
            ("PATH", &path),
        ]),
        None,
    )
    .await
    .expect("GITHUB_TOKEN");
    assert_eq!(
        (t.value.expose(), t.origin.as_str()),
        ("from-github-token", "env GITHUB_TOKEN")
    );
    let t = token::lookup(
        None,
        &env(&[
            ("GITHUB_TOKEN", ""),
            ("GH_TOKEN", "from-gh-token"),
            ("PATH", &path),
        ]),
        None,
    )
    .await
    .expect("GH_TOKEN");
    assert_eq!(
        (t.value.expose(), t.origin.as_str()),
        ("from-gh-token", "env GH_TOKEN")
    );
    let t = token::lookup(None, &env(&[("PATH", &path)]), Some("github.example.com"))
        .await
        .expect("gh");
    assert_eq!(
        (t.value.expose(), t.origin.as_str()),
        (
            "gho_fromTheGhCli",
            "`gh auth token --hostname github.example.com`"
        )
    );
    assert_eq!(
        std::fs::read_to_string(&args).expect("gh ran").trim(),
        "auth token --hostname github.example.com"
    );

    // A configured secret that is missing is an error, not a fallback.
    let e = token::lookup(
        Some(&Secret::Env("CI_BOT_TOKEN".into())),
        &env(&[("GITHUB_TOKEN", "x")]),
        None,
    )
    .await
    .expect_err("unset");
    assert_eq!(e, "cannot read the token (env CI_BOT_TOKEN): it is not set");

    // No gh at all: a clear error.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("empty");
    let e = token::lookup(None, &env(&[("PATH", &empty.display().to_string())]), None)
        .await
        .expect_err("no gh");
    assert!(e.starts_with("no GitHub token: set `token = { env = \"…\" }` in the config, or GITHUB_TOKEN or GH_TOKEN, or log in with the GitHub CLI (`gh auth login`)"), "{e}");
    assert!(
        e.ends_with("the GitHub CLI `gh` is not installed (not on PATH)"),
        "{e}"
    );

    // gh present but logged out: its own words.
    let logged_out = dir.path().join("logged-out");
    std::fs::create_dir(&logged_out).expect("dir");
    fake_gh(
        &logged_out,
        "echo 'no oauth token found for github.com' >&2\nexit 1",
    );
    let e = token::lookup(
        None,
        &env(&[("PATH", &logged_out.display().to_string())]),
        None,
    )
    .await
    .expect_err("logged out");
    assert!(
        e.contains("`gh auth token` failed (exit status: 1): no oauth token found for github.com"),
        "{e}"
    );
}

#[tokio::test]
async fn the_gh_token_is_sent_and_named_when_github_rejects_it() {
    let f = fixture().await;
    let bin = f.dir.path().join("bin");
    std::fs::create_dir(&bin).expect("bin");
    fake_gh(&bin, "echo gho_cliTokenRejected");
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .respond_with(ResponseTemplate::new(401).set_body_json(error("Bad credentials", "")))
        .mount(&f.server)
        .await;
    let source = GithubSource::new("gh", f.config(), POLL)
        .with_env(env(&[("PATH", &bin.display().to_string())]));
    let e = source.fetch().await.expect_err("rejected").to_string();
    assert!(e.contains("token rejected by GitHub"), "{e}");
    assert!(
        e.contains("the token came from `gh auth token --hostname 127.0.0.1`"),
        "{e}"
    );
    assert!(!e.contains("gho_cliTokenRejected"));
    let requests = f.requests().await;
    assert_eq!(
        header(&requests[0], "authorization"),
        Some("Bearer gho_cliTokenRejected")
    );
}

#[test]
fn the_config_reads_every_key_and_never_echoes_an_inline_token() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config");
    let valid = dir.join("valid/github.toml");
    let config = opsdeck::config::load(&valid).expect("valid");
    let kinds: Vec<&opsdeck::config::SourceKind> = config.sources.iter().map(|s| &s.kind).collect();
    let opsdeck::config::SourceKind::Github(plain) = kinds[0] else {
        panic!("github")
    };
    assert_eq!(plain, &GithubConfig::for_repo("acme/web"));
    assert_eq!(plain.api_url, "https://api.github.com");
    assert_eq!((plain.limit, plain.timeout), (50, Duration::from_secs(10)));
    let opsdeck::config::SourceKind::Github(ghe) = kinds[1] else {
        panic!("github")
    };
    assert_eq!(ghe.repo, "payments/api.service");
    assert_eq!(ghe.api_url, "https://github.example.com/api/v3");
    assert_eq!(
        ghe.token,
        Some(Secret::Command(
            "gh auth token --hostname github.example.com".into()
        ))
    );
    assert_eq!(ghe.workflows, ["ci.yml", "161335"]);
    assert_eq!(
        (ghe.branch.as_deref(), ghe.event.as_deref()),
        (Some("main"), Some("push"))
    );
    assert_eq!((ghe.limit, ghe.timeout), (200, Duration::from_secs(20)));
    assert!(
        ghe.ca_file
            .as_ref()
            .is_some_and(|p| p.ends_with("certs/ghe-ca.pem"))
    );
    assert!(config.sources[1].production);
    assert_eq!(config.sources[1].refresh, Some(Duration::from_secs(60)));

    let plain_source = GithubSource::new("web-ci", plain.clone(), POLL);
    assert_eq!(plain_source.warning(), None);
    assert_eq!(plain_source.fetch_timeout(), Duration::from_secs(30));
    let unverified = GithubConfig {
        insecure: true,
        ..plain.clone()
    };
    assert_eq!(
        GithubSource::new("web-ci", unverified, POLL)
            .warning()
            .as_deref(),
        Some("TLS NOT VERIFIED (insecure = true)")
    );

    let inline = dir.join("invalid/github_inline_token.toml");
    let e = opsdeck::config::load(&inline)
        .expect_err("inline")
        .to_string();
    assert!(e.contains(":6:9: token must not be written inline"), "{e}");
    assert!(!e.contains("ghp_inlineSecretDoNotEcho"), "{e}");
}
