//! The rollback that is the linked repository's revert, alike in the
//! dashboard and the real binary, and the binary reading two clusters.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_of_a_flux_app_is_the_linked_repository_revert_or_is_explained() {
    use opsdeck::app::state::Overlay;
    use opsdeck::app::{Command, Msg, update};
    let server = cluster().await;
    let fixture = kubeconfig(&[("prod", &server)]);
    let flux = source("flux-prod", &fixture, "prod");
    assert!(
        !flux.supports(ActionKind::Rollback),
        "not Flux's own action"
    );
    let mut state = dashboard_with_repository(&flux).await;

    select(&mut state, "flux-prod", "flux-system/web");
    let effects = update(&mut state, Msg::Command(Command::Rollback));
    assert!(effects.is_empty(), "nothing runs before a choice");
    let Some(Overlay::Picker(picker)) = &state.overlay else {
        panic!(
            "the revert picker, not {:?} ({:?})",
            state.overlay, state.status
        );
    };
    assert_eq!(picker.kind, ActionKind::Rollback);
    assert_eq!(
        picker.target,
        Target::new("fleet", TargetKind::App, "web"),
        "the repository app's revert"
    );

    state.overlay = None;
    select(&mut state, "flux-prod", "flux-system/api");
    update(&mut state, Msg::Command(Command::Rollback));
    assert_eq!(state.overlay, None, "nothing offered");
    let said = state
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default();
    assert!(
        said.starts_with("flux-prod/flux-system/api: Flux has no rollback of its own"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_binary_reads_two_clusters_and_suspends_headless() {
    let prod = cluster().await;
    let staging = KubeServer::start().await;
    staging.apply(git_repository("flux-system", "fleet", SHA_A));
    staging.apply(kustomization(
        "flux-system",
        "web",
        SHA_A,
        ready("True", "ReconciliationSucceeded", "Applied"),
    ));
    let fixture = kubeconfig(&[("prod", &prod), ("staging", &staging)]);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    let kubeconfig = fixture.kubeconfig.display().to_string();
    std::fs::write(
        &config,
        format!(
            "[[source]]\nname = \"flux-prod\"\nkind = \"flux\"\ncontext = \"prod\"\nkubeconfig = \"{kubeconfig}\"\n\n\
             [[source]]\nname = \"flux-staging\"\nkind = \"flux\"\ncontext = \"staging\"\nkubeconfig = \"{kubeconfig}\"\n"
        ),
    )
    .expect("config");
    let opsdeck = |args: &[&str]| binary(&config, dir.path(), args);

    let out = opsdeck(&["status", "--format", "json"])
        .output()
        .await
        .expect("runs");
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let apps: Vec<(String, String, String, String)> = status["gitops"]
        .as_array()
        .expect("gitops")
        .iter()
        .map(|a| {
            let s = |k: &str| a[k].as_str().unwrap_or("").to_string();
            (s("source"), s("app"), s("cluster"), s("health"))
        })
        .collect();
    for want in [
        ("flux-prod", "flux-system/jobs", "prod", "degraded"),
        ("flux-prod", "flux-system/web", "prod", "healthy"),
        ("flux-staging", "flux-system/web", "staging", "healthy"),
    ] {
        let want = (
            want.0.to_string(),
            want.1.to_string(),
            want.2.to_string(),
            want.3.to_string(),
        );
        assert!(apps.contains(&want), "{want:?} in {apps:?}");
    }
    assert_eq!(out.status.code(), Some(1), "jobs is degraded");

    let out = opsdeck(&["suspend", "flux-staging/flux-system/web", "--yes"])
        .output()
        .await
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Kustomization flux-system/web suspended (spec.suspend = true)"),
        "{stdout}"
    );
    assert_eq!(
        staging
            .get("Kustomization", "flux-system", "web")
            .and_then(|o| o.pointer("/spec/suspend").cloned()),
        Some(json!(true))
    );
    assert_eq!(
        prod.get("Kustomization", "flux-system", "web")
            .and_then(|o| o.pointer("/spec/suspend").cloned()),
        None,
        "the other cluster is untouched"
    );

    // `reconcile --with-source`: the GitRepository, then the object.
    let out = opsdeck(&[
        "reconcile",
        "flux-prod/flux-system/api",
        "--with-source",
        "--yes",
    ])
    .output()
    .await
    .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with(
            "will reconcile the source of flux-prod/flux-system/api (prod/api), then \
             flux-prod/flux-system/api"
        ) && stdout.contains("GitRepository flux-system/fleet reconciled: Ready")
            && stdout.contains("then Kustomization flux-system/api reconciled"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flux_rollback_is_the_same_revert_in_the_dashboard_and_headless() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use opsdeck::app::state::Overlay;
    use opsdeck::app::{Command, Msg, update};
    let server = cluster().await;
    let fixture = kubeconfig(&[("prod", &server)]);
    let dir = tempfile::tempdir().expect("tempdir");
    let clone = fleet_repository(dir.path());
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[source]]\nname = \"flux-prod\"\nkind = \"flux\"\ncontext = \"prod\"\nkubeconfig = \"{}\"\n\n\
             [[source]]\nname = \"fleet\"\nkind = \"git\"\npath = \"{}\"\nbranch = \"main\"\nfollow = \"1s\"\n\n\
             [[source.app]]\nname = \"web\"\npath = \"apps/web\"\nlink = \"flux-prod/flux-system/web\"\n",
            fixture.kubeconfig.display(),
            clone.display()
        ),
    )
    .expect("config");
    let opsdeck = |args: &[&str]| binary(&config, dir.path(), args);

    // The dashboard: `b` on the Flux app, the picker's default, the confirmation.
    let mut state = dashboard_of(&config).await;
    select(&mut state, "flux-prod", "flux-system/web");
    update(&mut state, Msg::Command(Command::Rollback));
    assert!(
        matches!(state.overlay, Some(Overlay::Picker(_))),
        "the revert picker, not {:?} ({:?})",
        state.overlay,
        state.status
    );
    let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    update(&mut state, Msg::Key(enter));
    let Some(Overlay::Confirm(confirm)) = state.overlay.clone() else {
        panic!(
            "a confirmation, not {:?} ({:?})",
            state.overlay, state.status
        );
    };
    let on_screen = confirm.action;
    assert_eq!(on_screen.kind, ActionKind::Rollback);
    assert_eq!(
        on_screen.target,
        Target::new("fleet", TargetKind::App, "web")
    );
    assert!(
        on_screen.effect.starts_with("revert ")
            && on_screen.effect.contains("\"web: 3 replicas\"")
            && on_screen
                .effect
                .ends_with("then refresh flux-prod/flux-system/web and follow it"),
        "{}",
        on_screen.effect
    );

    // Headless: the same action, sent: the revert is pushed, the Flux app reconciled.
    let out = opsdeck(&["rollback", "flux-prod/flux-system/web", "--yes"])
        .output()
        .await
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(
        stdout.lines().next(),
        Some(format!("will {}", on_screen.effect).as_str()),
        "{stdout}"
    );
    assert!(stdout.contains("pushed to main"), "{stdout}");
    let remote = dir.path().join("remote.git");
    assert_eq!(
        git(&remote, &["show", "main:apps/web/values.yaml"]),
        "replicas: 2"
    );
    assert!(
        git(&remote, &["log", "-1", "--format=%s", "main"]).starts_with("Revert"),
        "a revert commit on top"
    );
    assert!(
        server
            .get("Kustomization", "flux-system", "web")
            .and_then(|o| o
                .pointer("/metadata/annotations/reconcile.fluxcd.io~1requestedAt")
                .cloned())
            .is_some(),
        "the Flux app was asked to reconcile after the push"
    );

    // A Flux app without a repository: the same refusal in both.
    let mut state = dashboard_of(&config).await;
    select(&mut state, "flux-prod", "flux-system/api");
    update(&mut state, Msg::Command(Command::Rollback));
    assert_eq!(state.overlay, None, "nothing offered");
    let said = state.status.as_ref().map(|s| s.text.clone());
    assert_eq!(
        said,
        Some(format!(
            "flux-prod/flux-system/api: {}",
            opsdeck::sources::flux::NO_ROLLBACK
        ))
    );
    let out = opsdeck(&["rollback", "flux-prod/flux-system/api", "--yes"])
        .output()
        .await
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        format!("opsdeck: {}", said.unwrap_or_default())
    );
}
