//! The real binary: the headless sync and its options, Argo-only
//! commands, and TLS (an untrusted certificate, then `ca_file`).

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_headless_sync_goes_through_the_real_binary() {
    let f = fixture().await;
    f.serve_list(vec![web(), payments()]).await;
    Mock::given(method("POST"))
        .and(path("/api/v1/applications/payments/sync"))
        .respond_with(ResponseTemplate::new(200).set_body_json(payments()))
        .expect(1)
        .mount(&f.server)
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(&f, dir.path());
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(["--config"])
        .arg(&config)
        .args(["sync", "argo/payments", "--yes"])
        .env("XDG_STATE_HOME", dir.path())
        .output()
        .await
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(
            "will sync argo/payments (prod-eu/payments) to ddddddd (live ccccccc, 2 resources out of sync)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("done: sync started (operation Failed)"),
        "{stdout}"
    );
    let requests = f.action_requests().await;
    assert_eq!(
        requests,
        vec![(
            "POST".to_string(),
            "/api/v1/applications/payments/sync".to_string(),
            String::new(),
            json!({"prune": false, "dryRun": false})
        )]
    );
    let audit = f.audit_lines();
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0]["via"], "cli");
    assert_eq!(audit[1]["outcome"], "done");

    // The status JSON reads the same source.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .arg("--config")
        .arg(&config)
        .args(["status", "--format", "json"])
        .env("XDG_STATE_HOME", dir.path())
        .output()
        .await
        .expect("runs");
    let status: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let payments = status["gitops"]
        .as_array()
        .and_then(|apps| apps.iter().find(|a| a["app"] == "payments"))
        .expect("payments in the status");
    assert_eq!(payments["sync"], "out_of_sync");
    assert_eq!(payments["health"], "degraded");
    assert_eq!(out.status.code(), Some(1), "something needs attention");
}

#[tokio::test(flavor = "multi_thread")]
async fn headless_sync_options_and_argo_only_commands_reach_the_api() {
    let f = fixture().await;
    f.serve_list(vec![web(), payments(), auto()]).await;
    for (m, p) in [
        ("POST", "/api/v1/applications/payments/sync"),
        ("PATCH", "/api/v1/applications/auto"),
    ] {
        Mock::given(method(m))
            .and(path(p))
            .respond_with(ResponseTemplate::new(200).set_body_json(payments()))
            .mount(&f.server)
            .await;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(&f, dir.path());
    let run = |args: Vec<&'static str>| {
        let config = config.clone();
        let state = dir.path().to_path_buf();
        async move {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
                .arg("--config")
                .arg(&config)
                .args(args)
                .env("XDG_STATE_HOME", state)
                .output()
                .await
                .expect("runs")
        }
    };
    let out = run(vec![
        "sync",
        "argo/payments",
        "--prune",
        "--server-dry-run",
        "--yes",
    ])
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("[prune: delete resources no longer in Git; dry run: change nothing]"),
        "the effect states the options: {stdout}"
    );
    let out = run(vec!["disable-auto-sync", "argo/auto", "--yes"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let requests = f.action_requests().await;
    let bodies: Vec<(String, String, Value)> =
        requests.into_iter().map(|(m, p, _, b)| (m, p, b)).collect();
    assert_eq!(
        bodies,
        vec![
            (
                "POST".into(),
                "/api/v1/applications/payments/sync".into(),
                json!({"prune": true, "dryRun": true})
            ),
            (
                "PATCH".into(),
                "/api/v1/applications/auto".into(),
                json!({"name": "auto", "patch": "{\"spec\":{\"syncPolicy\":{\"automated\":null}}}", "patchType": "merge"})
            ),
        ]
    );
    // Options a source does not take are refused before anything is sent.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(["--demo", "sync", "demo/web", "--prune", "--yes"])
        .env("XDG_STATE_HOME", dir.path())
        .output()
        .await
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--prune and --server-dry-run apply to an Argo CD sync or rollback")
    );
}

/// Run openssl with `args` in `dir`; false when it is not installed.
fn openssl(dir: &Path, args: &[&str]) -> bool {
    match std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
    {
        Ok(status) => {
            assert!(status.success(), "openssl {args:?} failed");
            true
        }
        Err(_) => false,
    }
}

/// Kills the TLS server when the test ends, however it ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn an_untrusted_certificate_names_the_ca_file_fix_and_ca_file_fixes_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let ca = [
        &["req", "-x509"][..],
        &ec,
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=opsdeck test CA",
        ],
    ]
    .concat();
    if !openssl(d, &ca) {
        server::Missing::new("openssl", "not on PATH")
            .skip("Install it with `apt-get install -y openssl`.");
        return;
    }
    let csr = [
        &["req"][..],
        &ec,
        &[
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    ]
    .concat();
    assert!(openssl(d, &csr));
    std::fs::write(
        d.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext");
    assert!(openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "2",
            "-extfile",
            "leaf.ext"
        ]
    ));
    // Port 0: s_server binds a free port itself and says which on stdout
    // ("ACCEPT 127.0.0.1:N"), so no other process can take it in between.
    let accepted = d.join("s_server.out");
    let server = std::process::Command::new("openssl")
        .args(["s_server", "-www", "-cert", "leaf.pem", "-key", "leaf.key"])
        .args(["-accept", "127.0.0.1:0"])
        .current_dir(d)
        .stdin(std::process::Stdio::piped())
        .stdout(std::fs::File::create(&accepted).expect("s_server output file"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl s_server starts");
    let _server = Killed(server);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let port = loop {
        let said = std::fs::read_to_string(&accepted).unwrap_or_default();
        let port = said
            .lines()
            .find_map(|l| l.strip_prefix("ACCEPT 127.0.0.1:"))
            .and_then(|p| p.trim().parse::<u16>().ok());
        if let Some(port) = port {
            break port;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the TLS server did not say where it listens: {said}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    std::fs::write(d.join("token"), "t").expect("token");
    let config = |ca_file: Option<PathBuf>| ArgoCdConfig {
        url: format!("https://127.0.0.1:{port}"),
        token: ArgoToken::Secret(Secret::File(d.join("token"))),
        project: None,
        selector: None,
        ca_file,
        insecure: false,
    };
    let untrusted = ArgoCdSource::new("argo", config(None), Duration::from_secs(30));
    let e = untrusted.fetch().await.expect_err("untrusted").to_string();
    assert!(
        e.contains("the server's certificate is not trusted: set `ca_file` to its CA (PEM)"),
        "{e}"
    );
    // Trusting the CA, TLS succeeds: what fails now is the page, which is not Argo CD's JSON.
    let trusted = ArgoCdSource::new(
        "argo",
        config(Some(d.join("ca.pem"))),
        Duration::from_secs(30),
    );
    let e = trusted.fetch().await.expect_err("not Argo CD").to_string();
    assert!(
        e.starts_with(
            "cannot understand the backend's answer: the server answered an HTML page where JSON \
             was expected (the application list)"
        ),
        "{e}"
    );
}
