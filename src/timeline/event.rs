//! One event of the timeline, exactly as the headless JSON contract spells
//! it: enumerations in lower snake case, times RFC 3339 UTC, `links` always
//! a list. What the dashboard needs beyond the contract (the item to jump
//! to, the cluster and namespace) is kept beside it, never serialized.

use std::sync::Arc;

use serde::Serialize;

use crate::model::{Target, TargetKind as ItemKind, Timestamp};

/// What happened.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, strum::Display, strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum EventKind {
    /// A run finished.
    Run,
    RunStarted,
    Commit,
    Deploy,
    Health,
    Sync,
    ModelVersion,
    Alias,
    DriftOnset,
    DriftRecovery,
    /// A line of opsdeck's audit log.
    Action,
}

impl EventKind {
    /// A change someone or something made (a suspect), rather than a state
    /// the target went into.
    pub fn is_change(self) -> bool {
        matches!(
            self,
            EventKind::Run
                | EventKind::RunStarted
                | EventKind::Commit
                | EventKind::Deploy
                | EventKind::ModelVersion
                | EventKind::Alias
                | EventKind::Action
        )
    }

    /// The loop it belongs to, as one symbol: CI, GitOps, ML, opsdeck.
    pub fn symbol(self) -> &'static str {
        match self {
            EventKind::Run | EventKind::RunStarted => "⚙",
            EventKind::Commit | EventKind::Deploy | EventKind::Health | EventKind::Sync => "⎈",
            EventKind::ModelVersion
            | EventKind::Alias
            | EventKind::DriftOnset
            | EventKind::DriftRecovery => "◆",
            EventKind::Action => "▶",
        }
    }
}

/// What the event's target is.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, strum::Display, strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum TargetKind {
    Run,
    App,
    /// An app of a desired-state repository (a `git` source).
    Repo,
    Model,
    Pipeline,
}

/// How a linked item relates to the event.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, strum::Display, strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Rel {
    /// A git commit this event is about.
    Commit,
    /// A run that built or tested this revision.
    BuiltBy,
    /// A deploy of this revision.
    Deploys,
    /// App → the model it serves.
    Serves,
    /// Model → the app serving it.
    ServedBy,
    /// App ↔ its repository app.
    Repo,
    /// Deploy ↔ the container image it runs (`REGISTRY/REPOSITORY:TAG`),
    /// with the revision the image was built from.
    Image,
}

/// A deploy's verdict once its settle window has passed.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    strum::Display,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Verdict {
    Healthy,
    Pending,
    Drift,
    Degraded,
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Link {
    pub rel: Rel,
    /// `SOURCE/NAME` (shared: many events link the same item).
    pub target: Arc<str>,
    /// Shared with every other link of that revision.
    pub revision: Option<Arc<str>>,
}

/// One change or state change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    #[serde(serialize_with = "rfc3339")]
    pub time: Timestamp,
    /// When a deploy began, as the backend recorded it (Argo CD
    /// `deployStartedAt`, the operation's `startedAt`); `None` otherwise (a
    /// run's start is its own `run_started` event).
    #[serde(serialize_with = "opt_rfc3339")]
    pub started_at: Option<Timestamp>,
    pub source: String,
    pub kind: EventKind,
    /// `SOURCE/NAME`.
    pub target: String,
    pub target_kind: TargetKind,
    /// Full SHA when known, else the backend's revision (a chart version).
    pub revision: Option<String>,
    pub status: String,
    pub verdict: Option<Verdict>,
    pub summary: String,
    pub observed: bool,
    pub links: Vec<Link>,
    /// The kind of item Enter jumps to (`item()`: this source's item of
    /// the name in `target`; not a copy of both, per event).
    #[serde(skip)]
    pub item_kind: Option<ItemKind>,
    /// "cluster/namespace" of an app's events.
    #[serde(skip)]
    pub place: Option<String>,
    /// A deploy's history id (what a rollback goes back to).
    #[serde(skip)]
    pub deploy_id: Option<String>,
    /// The images the deploy runs that a registry source knows (rel
    /// `image`, with the revision each was built from): `links` adds them
    /// and the runs and commits of their revisions.
    #[serde(skip)]
    pub images: Vec<Link>,
}

impl Event {
    /// The item Enter jumps to.
    pub fn item(&self) -> Option<Target> {
        Some(Target::new(&self.source, self.item_kind?, self.name()))
    }

    /// The name part of `target`.
    pub fn name(&self) -> &str {
        self.target
            .split_once('/')
            .map_or(self.target.as_str(), |(_, n)| n)
    }
}

/// RFC 3339 UTC with second precision, `Z` suffix.
pub fn format_time(t: &Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn rfc3339<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_time(t))
}

/// An optional time as RFC 3339 UTC, or `null`.
pub fn opt_rfc3339<S: serde::Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&format_time(t)),
        None => s.serialize_none(),
    }
}

impl Event {
    /// When the change began: its start when recorded, else its time. A
    /// deploy still running when a problem began is a suspect of it.
    pub fn began(&self) -> Timestamp {
        self.started_at.unwrap_or(self.time)
    }
}

/// `SOURCE/NAME`.
pub fn target(source: &str, name: &str) -> String {
    format!("{source}/{name}")
}
