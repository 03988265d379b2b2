//! The fleet's GitOps apps: their deploy history, commits landing in the
//! desired-state repository, and colleagues who sync them (sometimes to a
//! bad revision that degrades the app until a fix lands).

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;

use super::cast::{ACTORS, APPS, COMMIT_SUBJECTS};
use super::{DemoFleet, SimApp};
use crate::model::{
    Deployment, GitOpsApp, Health, Operation, OperationPhase, ResourceRef, SyncStatus, short_rev,
};

/// How long a deploy's sync runs in demo time (its start to its finish).
pub const SYNC_TIME: chrono::Duration = chrono::Duration::seconds(8);
/// How long after a deploy finishes its health settles (healthy, or
/// degraded for a bad revision): long enough that the timeline and "why?"
/// read like a real rollout (`deploy of X 40 s before payments went
/// degraded`).
pub const SETTLE_TIME: std::time::Duration = std::time::Duration::from_secs(40);

/// Steps of `step_len` until a deploy's health settles (at least one).
fn settle_steps(step_len: std::time::Duration) -> u32 {
    let steps = SETTLE_TIME.as_secs_f64() / step_len.as_secs_f64().max(f64::MIN_POSITIVE);
    (steps.ceil() as u32).max(1)
}

/// The app runs a bad revision deployed more than a step ago (or degraded).
fn broken(sim: &SimApp, settle: u32) -> bool {
    let bad = sim
        .app
        .revision
        .as_ref()
        .is_some_and(|r| sim.bad_revisions.contains(r));
    let shows = sim.settle_in.is_none_or(|n| n < settle);
    sim.app.health == Health::Degraded || (bad && shows && !sim.app.suspended)
}

/// Deploy history entries kept per app: Argo CD's own default
/// (`revisionHistoryLimit`), so a long-running demo stays the same size.
pub const MAX_HISTORY: usize = 10;

/// Forget what no longer matters: history past `MAX_HISTORY`, and the
/// subjects and bad marks of revisions neither in the history, live, nor
/// the target.
fn forget_old(sim: &mut SimApp) {
    sim.app.history.truncate(MAX_HISTORY);
    let app = &sim.app;
    let kept = |revision: &String| {
        app.revision.as_ref() == Some(revision)
            || app.target_revision.as_ref() == Some(revision)
            || app.history.iter().any(|d| &d.revision == revision)
    };
    sim.subjects.retain(|revision, _| kept(revision));
    sim.bad_revisions.retain(|revision| kept(revision));
}

impl DemoFleet {
    pub(super) fn seed_apps(&mut self) {
        for (i, &(name, namespace, cluster, production, auto_sync)) in APPS.iter().enumerate() {
            let history_len = 4 + (i % 3) * 3;
            let mut history = Vec::new();
            for h in 0..history_len {
                let revision = self.sha();
                let author = self.pick(ACTORS).to_string();
                let subject = self.pick(COMMIT_SUBJECTS).to_string();
                let age = chrono::Duration::hours(((history_len - h) * 7) as i64);
                history.push(Deployment {
                    id: (30 + h).to_string(),
                    revision,
                    deployed_at: Some(self.now - age),
                    started_at: Some(self.now - age - SYNC_TIME),
                    failed: false,
                    author: Some(author),
                    message: Some(subject),
                });
            }
            history.reverse(); // newest first
            let live = history[0].revision.clone();
            let resources = [
                "Deployment",
                "Service",
                "ConfigMap",
                "HorizontalPodAutoscaler",
            ];
            let app = GitOpsApp {
                health_since: None,
                error: None,
                source: String::new(),
                name: name.to_string(),
                namespace: namespace.to_string(),
                cluster: cluster.to_string(),
                sync: SyncStatus::Synced,
                health: Health::Healthy,
                health_message: None,
                revision: Some(live.clone()),
                target_revision: Some(live.clone()),
                out_of_sync: Vec::new(),
                auto_sync,
                suspended: false,
                last_operation: Some(Operation {
                    kind: "sync".into(),
                    phase: OperationPhase::Succeeded,
                    message: format!(
                        "successfully synced (all tasks run) to {}",
                        short_rev(&live)
                    ),
                    revision: Some(live.clone()),
                    started_at: history[0].started_at,
                    finished_at: history[0].deployed_at,
                }),
                last_change: history[0].deployed_at,
                history,
                repo_url: Some("https://git.demo.invalid/acme/deploy.git".into()),
                path: Some(format!("apps/{cluster}/{name}")),
                production,
                repo: None,
                linked: None,
                pending: None,
                revision_commit: None,
                images: Vec::new(),
                plan: None,
            };
            let _ = resources;
            self.apps.push(SimApp {
                app,
                bad_revisions: BTreeSet::new(),
                subjects: BTreeMap::new(),
                human_sync_in: None,
                settle_in: None,
                next_history_id: (30 + history_len) as u64,
                health_before_suspend: None,
            });
        }
        if self.incidents {
            // payments: a bad change is waiting to be synced by a colleague;
            // the red CI run of payments on main is the one that built it.
            self.push_commit(0, true);
            let bad = self
                .apps
                .first()
                .and_then(|a| a.app.target_revision.clone());
            if let (Some(bad), Some(run)) = (
                bad,
                self.runs
                    .iter_mut()
                    .rev()
                    .find(|r| r.run.project == "acme/payments" && r.run.pipeline == "CI"),
            ) {
                run.run.commit = bad;
            }
            if let Some(app) = self.apps.get_mut(0) {
                app.human_sync_in = Some(3);
            }
            // web: drifted by hand in the cluster.
            if let Some(app) = self.apps.get_mut(2) {
                app.app.sync = SyncStatus::OutOfSync;
                app.app.out_of_sync = vec![ResourceRef {
                    kind: "ConfigMap".into(),
                    namespace: "web".into(),
                    name: "web-flags".into(),
                }];
            }
        }
    }

    /// A new commit lands in the desired-state repository for app `i`.
    fn push_commit(&mut self, i: usize, bad: bool) {
        let revision = self.sha();
        let subject = self.pick(COMMIT_SUBJECTS).to_string();
        let now = self.now;
        let Some(sim) = self.apps.get_mut(i) else {
            return;
        };
        sim.subjects.insert(revision.clone(), subject);
        if bad {
            sim.bad_revisions.insert(revision.clone());
        }
        sim.app.target_revision = Some(revision);
        sim.app.sync = SyncStatus::OutOfSync;
        let ns = sim.app.namespace.clone();
        let name = sim.app.name.clone();
        sim.app.out_of_sync = vec![
            ResourceRef {
                kind: "Deployment".into(),
                namespace: ns.clone(),
                name: format!("{name}-api"),
            },
            ResourceRef {
                kind: "ConfigMap".into(),
                namespace: ns,
                name: format!("{name}-config"),
            },
        ];
        sim.app.last_change = Some(now);
        if sim.app.auto_sync && !sim.app.suspended {
            sim.human_sync_in = Some(1);
        }
        forget_old(sim);
    }

    /// Deploy `revision` to app `i` (a sync, rollback or auto-sync).
    pub(super) fn deploy(&mut self, i: usize, revision: String, kind: String, author: &str) -> u64 {
        let now = self.now;
        let settle = settle_steps(self.step_len);
        let Some(sim) = self.apps.get_mut(i) else {
            return 0;
        };
        let id = sim.next_history_id;
        sim.next_history_id += 1;
        sim.app.revision = Some(revision.clone());
        sim.app.sync = if sim.app.target_revision.as_deref() == Some(revision.as_str()) {
            sim.app.out_of_sync.clear();
            SyncStatus::Synced
        } else {
            SyncStatus::OutOfSync
        };
        sim.app.health = Health::Progressing;
        sim.app.health_since = Some(now);
        sim.app.health_message =
            Some("waiting for rollout to finish: 1 of 3 updated replicas are available".into());
        sim.app.last_change = Some(now);
        sim.app.last_operation = Some(Operation {
            kind,
            phase: OperationPhase::Succeeded,
            message: format!(
                "successfully synced (all tasks run) to {}",
                short_rev(&revision)
            ),
            revision: Some(revision.clone()),
            started_at: Some(now - SYNC_TIME),
            finished_at: Some(now),
        });
        let message = sim
            .app
            .history
            .iter()
            .find(|d| d.revision == revision)
            .and_then(|d| d.message.clone())
            .or_else(|| sim.subjects.get(&revision).cloned())
            .unwrap_or_default();
        sim.app.history.insert(
            0,
            Deployment {
                id: id.to_string(),
                revision,
                deployed_at: Some(now),
                started_at: Some(now - SYNC_TIME),
                failed: false,
                author: Some(author.to_string()),
                message: Some(message),
            },
        );
        // This step counts one down already.
        sim.settle_in = Some(settle + 1);
        forget_old(sim);
        id
    }

    pub(super) fn step_apps(&mut self) {
        for i in 0..self.apps.len() {
            let suspended = self.apps[i].app.suspended;
            if let Some(n) = self.apps[i].human_sync_in {
                if n <= 1 && !suspended {
                    self.apps[i].human_sync_in = None;
                    if let Some(target) = self.apps[i].app.target_revision.clone() {
                        let who = if self.apps[i].app.auto_sync {
                            "argocd (auto-sync)"
                        } else {
                            "carol"
                        };
                        self.deploy(i, target, "sync".into(), who);
                    }
                } else {
                    self.apps[i].human_sync_in = Some(n.saturating_sub(1));
                }
            }
            let sim = &mut self.apps[i];
            if let Some(n) = sim.settle_in {
                if n <= 1 {
                    sim.settle_in = None;
                    let bad = sim
                        .app
                        .revision
                        .as_ref()
                        .is_some_and(|r| sim.bad_revisions.contains(r));
                    // Argo CD records when health changed.
                    sim.app.health_since = Some(self.now);
                    if sim.app.suspended {
                        sim.app.health = Health::Suspended;
                    } else if bad {
                        sim.app.health = Health::Degraded;
                        sim.app.health_message = Some(format!(
                            "Deployment {}-api: 0/3 replicas available: CrashLoopBackOff",
                            sim.app.name
                        ));
                    } else {
                        sim.app.health = Health::Healthy;
                        sim.app.health_message = None;
                    }
                } else {
                    sim.settle_in = Some(n - 1);
                }
            }
        }
        // Somebody pushes a change now and then; with incidents some are bad,
        // and a degraded app gets a fix pushed after a while.
        let i = self.rng.random_range(0..self.apps.len());
        let push = self.rng.random_bool(0.04);
        let bad = self.incidents && self.rng.random_bool(0.4);
        // A colleague notices a bad deploy by its first errors, a step in,
        // well before its health settles: so how long health takes to
        // settle does not reshuffle the rest of the fleet.
        let settle = settle_steps(self.step_len);
        let fix = broken(&self.apps[i], settle) && self.rng.random_bool(0.05);
        if (push || fix) && self.apps[i].human_sync_in.is_none() && !self.apps[i].app.suspended {
            self.push_commit(i, bad && !fix);
            let delay = self.rng.random_range(3..9);
            if let Some(sim) = self.apps.get_mut(i) {
                sim.human_sync_in.get_or_insert(delay);
            }
        }
    }
}
