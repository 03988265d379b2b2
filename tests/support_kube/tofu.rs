//! The tofu-controller fixture on the test server: four `Terraform`
//! objects (one awaiting approval, one drifted, one applied, one failed)
//! applied by the Kustomization `flux-system/infra`, and the source and
//! helpers the tofu tests read them with.

use std::path::{Path, PathBuf};
use std::time::Duration;

use opsdeck::config::{KubeTarget, TofuConfig};
use opsdeck::model::{Action, ActionKind, GitOpsApp, Snapshot, Target, TargetKind};
use opsdeck::sources::tofu::TofuSource;
use serde_json::{Value, json};

use super::objects::{
    SHA_A, SHA_B, condition, git_repository, kustomization, plan_id, ready, terraform,
};
use super::{KubeServer, User, write_kubeconfig};

pub const WAIT_TIMEOUT: Duration = Duration::from_secs(30);
pub const TOKEN: &str = "cluster-token";

/// `infra/vpc` waits for approval of the plan of SHA_B; `infra/dns`
/// drifted; `infra/db` applied what it planned; `infra/queue` failed to
/// apply. All applied by the Kustomization `flux-system/infra`.
pub async fn cluster() -> KubeServer {
    let server = KubeServer::start().await;
    server.apply(git_repository("flux-system", "fleet", SHA_B));
    server.apply(kustomization(
        "flux-system",
        "infra",
        SHA_A,
        ready(
            "True",
            "ReconciliationSucceeded",
            "Applied revision: main@sha1:aaaa",
        ),
    ));
    let waiting = format!(
        "Plan generated: set approvePlan: \"{}\" to approve this plan.",
        plan_id(SHA_B)
    );
    server.apply(terraform(
        "infra",
        "vpc",
        Some(SHA_A),
        Some(SHA_B),
        &plan_id(SHA_B),
        vec![
            condition("Ready", "Unknown", "TerraformPlannedWithChanges", &waiting),
            condition(
                "Plan",
                "True",
                "TerraformPlannedWithChanges",
                "Plan generated",
            ),
        ],
    ));
    let mut dns = terraform(
        "infra",
        "dns",
        Some(SHA_A),
        Some(SHA_A),
        "",
        vec![condition(
            "Ready",
            "False",
            "DriftDetected",
            "Note: Objects have changed outside of Terraform\n\n  ~ aws_route53_record.www",
        )],
    );
    dns["status"]["lastDriftDetectedAt"] = json!("2026-11-22T09:25:00Z");
    server.apply(dns);
    server.apply(terraform(
        "infra",
        "db",
        Some(SHA_A),
        Some(SHA_A),
        "",
        vec![
            condition(
                "Ready",
                "True",
                "TerraformPlannedNoChanges",
                "Plan no changes",
            ),
            condition(
                "Plan",
                "False",
                "TerraformPlannedNoChanges",
                "Plan no changes",
            ),
        ],
    ));
    server.apply(terraform(
        "infra",
        "queue",
        Some(SHA_A),
        Some(SHA_B),
        "",
        vec![
            condition(
                "Ready",
                "False",
                "TFExecApplyFailed",
                "error applying: quota",
            ),
            condition(
                "Apply",
                "False",
                "TerraformAppliedFail",
                "error applying: quota",
            ),
        ],
    ));
    server
}

pub fn kubeconfig(dir: &Path, server: &KubeServer) -> PathBuf {
    write_kubeconfig(dir, &[("prod", server.url(), User::Token(TOKEN.into()))])
}

pub fn source(kubeconfig: &Path) -> TofuSource {
    TofuSource::new(
        "tofu",
        TofuConfig {
            cluster: KubeTarget {
                context: Some("prod".into()),
                kubeconfig: Some(kubeconfig.to_path_buf()),
                namespaces: Vec::new(),
            },
        },
        Duration::from_secs(60),
    )
}

pub fn app<'a>(snapshot: &'a Snapshot, name: &str) -> &'a GitOpsApp {
    snapshot
        .apps
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("no app {name}"))
}

pub fn action(kind: ActionKind, app: &str, to: Option<&str>) -> Action {
    Action {
        kind,
        target: Target::new("tofu", TargetKind::App, app),
        to: to.map(str::to_string),
        effect: format!("{kind} {app}"),
        production: false,
        follow: None,
        sync: Default::default(),
        inputs: Vec::new(),
    }
}

pub fn stored(server: &KubeServer, name: &str) -> Value {
    server.get("Terraform", "infra", name).expect("object")
}
