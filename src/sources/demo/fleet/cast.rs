//! What the simulated estate is made of: its projects, people, apps and
//! models, and the drift thresholds its metrics are judged by.

/// Where the demo's links point: a reserved name, never a real host.
pub(super) const URL_BASE: &str = "https://ci.demo.invalid";

pub(super) const PROJECTS: &[(&str, &[&str])] = &[
    ("acme/web", &["CI", "Deploy"]),
    ("acme/payments", &["CI", "Release"]),
    ("acme/checkout", &["CI"]),
    ("ml/churn-model", &["train"]),
];
pub(super) const BRANCHES: &[&str] = &[
    "main",
    "main",
    "main",
    "release/2.4",
    "feat/faster-search",
    "fix/login-timeout",
];
pub(super) const ACTORS: &[&str] = &["alice", "bob", "carol", "dmitri", "erin", "renovate[bot]"];
pub(super) const EVENTS: &[&str] = &[
    "push",
    "push",
    "pull_request",
    "schedule",
    "workflow_dispatch",
];
pub(super) const COMMIT_SUBJECTS: &[&str] = &[
    "bump payments-api to 2.4.1",
    "raise memory limit for worker",
    "enable canary for checkout",
    "roll out new TLS ciphers",
    "scale search replicas to 6",
    "update feature flags",
    "pin base image to debian 12.8",
    "add readiness probe",
];

/// (name, namespace, cluster, production, auto-sync, kinds managed)
pub(super) const APPS: &[(&str, &str, &str, bool, bool)] = &[
    ("payments", "payments", "prod-eu", true, false),
    ("checkout", "checkout", "prod-eu", true, true),
    ("web", "web", "prod-us", true, false),
    ("billing-worker", "billing", "prod-us", true, false),
    ("search", "search", "staging", false, true),
    ("inventory", "inventory", "staging", false, false),
];

/// (model, serving version number, features)
pub(super) const MODELS: &[(&str, u32, &[&str])] = &[
    ("churn", 7, &["tenure", "age", "monthly_spend", "region"]),
    ("fraud", 12, &["amount", "merchant_risk", "hour"]),
    ("eta", 21, &["distance", "traffic"]),
    ("recommender", 3, &["clicks_7d", "category"]),
];

pub(super) const PSI_WARN: f64 = 0.1;
pub(super) const PSI_CRITICAL: f64 = 0.25;
pub(super) const KS_P_WARN: f64 = 0.05;
pub(super) const KS_P_CRITICAL: f64 = 0.01;
pub(super) const SHARE_WARN: f64 = 0.3;
pub(super) const SHARE_CRITICAL: f64 = 0.5;

/// Which app serves which model (`serving = "SOURCE/APP"` in a config):
/// churn drifts a minute after payments deploys a new revision.
pub(super) const SERVING: &[(&str, &str)] = &[("churn", "payments"), ("fraud", "checkout")];
