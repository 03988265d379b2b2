//! Acting: every action's exact request and audit line, the rollback
//! precondition, an app deleted mid-action.

use super::*;

#[tokio::test]
async fn every_action_sends_its_exact_request_and_is_audited() {
    let f = fixture().await;
    for (m, p) in [
        ("POST", "/api/v1/applications/payments/sync"),
        ("GET", "/api/v1/applications/web"),
        ("DELETE", "/api/v1/applications/auto/operation"),
        ("POST", "/api/v1/applications/hist/rollback"),
        ("PATCH", "/api/v1/applications/auto"),
    ] {
        Mock::given(method(m))
            .and(path(p))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "metadata": {"name": "x"},
                "status": {"operationState": {"phase": "Running"}}
            })))
            .mount(&f.server)
            .await;
    }
    let prune = SyncOptions {
        prune: true,
        dry_run: false,
    };
    let (sync, outcome) = act(&f, ActionKind::Sync, payments(), None, prune).await;
    assert_eq!(
        outcome,
        Outcome::Done("sync started (operation Running)".into())
    );
    let (_, outcome) = act(&f, ActionKind::Refresh, web(), None, SyncOptions::default()).await;
    assert_eq!(outcome, Outcome::Done("refresh requested".into()));
    let (_, outcome) = act(
        &f,
        ActionKind::HardRefresh,
        web(),
        None,
        SyncOptions::default(),
    )
    .await;
    assert_eq!(outcome, Outcome::Done("hard refresh requested".into()));
    let (_, outcome) = act(
        &f,
        ActionKind::Terminate,
        auto(),
        None,
        SyncOptions::default(),
    )
    .await;
    assert_eq!(outcome, Outcome::Done("termination requested".into()));
    let dry = SyncOptions {
        prune: false,
        dry_run: true,
    };
    let (rollback, outcome) = act(&f, ActionKind::Rollback, hist(), Some("13"), dry).await;
    assert_eq!(
        outcome,
        Outcome::Done("rollback to history #13 started (operation Running)".into())
    );
    let (_, outcome) = act(
        &f,
        ActionKind::DisableAutoSync,
        auto(),
        None,
        SyncOptions::default(),
    )
    .await;
    assert_eq!(outcome, Outcome::Done("auto-sync is off".into()));

    let requests = f.action_requests().await;
    let expected = vec![
        (
            "POST",
            "/api/v1/applications/payments/sync",
            "",
            json!({"prune": true, "dryRun": false}),
        ),
        (
            "GET",
            "/api/v1/applications/web",
            "refresh=normal",
            Value::Null,
        ),
        (
            "GET",
            "/api/v1/applications/web",
            "refresh=hard",
            Value::Null,
        ),
        (
            "DELETE",
            "/api/v1/applications/auto/operation",
            "",
            Value::Null,
        ),
        (
            "POST",
            "/api/v1/applications/hist/rollback",
            "",
            json!({"id": 13, "prune": false, "dryRun": true}),
        ),
        (
            "PATCH",
            "/api/v1/applications/auto",
            "",
            json!({"name": "auto", "patch": "{\"spec\":{\"syncPolicy\":{\"automated\":null}}}", "patchType": "merge"}),
        ),
    ];
    let got: Vec<(&str, &str, &str, Value)> = requests
        .iter()
        .map(|(m, p, q, b)| (m.as_str(), p.as_str(), q.as_str(), b.clone()))
        .collect();
    assert_eq!(got, expected);

    let audit = f.audit_lines();
    let summary: Vec<(String, String, String)> = audit
        .iter()
        .map(|l| {
            (
                l["action"].as_str().unwrap_or("").to_string(),
                l["target"].as_str().unwrap_or("").to_string(),
                l["outcome"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String, String)> = [
        ("sync", "payments"),
        ("refresh", "web"),
        ("hard_refresh", "web"),
        ("terminate", "auto"),
        ("rollback", "hist"),
        ("disable_auto_sync", "auto"),
    ]
    .iter()
    .flat_map(|(a, t)| {
        [
            (a.to_string(), t.to_string(), "requested".to_string()),
            (a.to_string(), t.to_string(), "done".to_string()),
        ]
    })
    .collect();
    assert_eq!(summary, want);
    assert_eq!(audit[0]["effect"], sync.effect.as_str());
    assert!(
        sync.effect
            .ends_with("[prune: delete resources no longer in Git]"),
        "{}",
        sync.effect
    );
    assert_eq!(audit[8]["to"], "13");
    assert!(rollback.effect.contains("(history #13)") && rollback.effect.contains("dry run"));
    let text = std::fs::read_to_string(&f.audit).expect("audit");
    assert!(
        !text.contains(TOKEN),
        "the token never reaches the audit log"
    );
}

#[tokio::test]
async fn rollback_with_auto_sync_is_explained_before_and_after_sending() {
    let f = fixture().await;
    let a =
        opsdeck::sources::argocd::api::to_app("argo", serde_json::from_value(auto()).expect("app"));
    // Before sending: the planner says why and what to do instead.
    let why = plan_app(ActionKind::Rollback, &a, Some("3"), ctx()).expect_err("refused");
    assert!(
        why.contains("auto-sync on: Argo CD refuses a history rollback")
            && why.contains("disable_auto_sync"),
        "{why}"
    );
    // If auto-sync was turned on meanwhile, Argo CD's own refusal is shown as is.
    Mock::given(method("POST"))
        .and(path("/api/v1/applications/hist/rollback"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "rollback cannot be initiated when auto-sync is enabled",
            "code": 9,
            "message": "rollback cannot be initiated when auto-sync is enabled"
        })))
        .mount(&f.server)
        .await;
    let (_, outcome) = act(
        &f,
        ActionKind::Rollback,
        hist(),
        Some("12"),
        SyncOptions::default(),
    )
    .await;
    let Outcome::Failed(message) = outcome else {
        panic!("refused: {outcome:?}")
    };
    assert!(
        message.starts_with(
            "rollback cannot be initiated when auto-sync is enabled — turn auto-sync off first"
        ),
        "{message}"
    );
}

#[tokio::test]
async fn an_app_deleted_mid_action_is_reported() {
    let f = fixture().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/applications/web/sync"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "error": "applications.argoproj.io \"web\" not found", "code": 5,
            "message": "applications.argoproj.io \"web\" not found"
        })))
        .mount(&f.server)
        .await;
    let (_, outcome) = act(&f, ActionKind::Sync, web(), None, SyncOptions::default()).await;
    assert_eq!(
        outcome,
        Outcome::Failed(
            "web is gone from argo (404): applications.argoproj.io \"web\" not found — it was deleted or renamed meanwhile".into()
        )
    );
}
