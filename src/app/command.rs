//! The one verb enum: every key, the help overlay and the keymap config speak
//! in these. Each variant's doc comment is its help text.

use serde::{Deserialize, Serialize};
use strum::{EnumIter, EnumMessage, EnumString, IntoStaticStr};

use crate::model::ActionKind;

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
    Deserialize,
    EnumIter,
    EnumString,
    EnumMessage,
    IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Command {
    /// Quit opsdeck
    Quit,
    /// Show or hide this help
    Help,
    /// Next tab
    NextTab,
    /// Previous tab
    PrevTab,
    /// Go to the Overview tab
    TabOverview,
    /// Go to the Pipelines tab
    TabPipelines,
    /// Go to the GitOps tab
    TabGitops,
    /// Go to the Drift tab
    TabDrift,
    /// Go to the Timeline tab
    TabTimeline,
    /// Move up
    Up,
    /// Move down
    Down,
    /// Go to the first row
    Top,
    /// Go to the last row
    Bottom,
    /// Page up
    PageUp,
    /// Page down
    PageDown,
    /// Open the selected item (detail view, or jump to it from Overview)
    Open,
    /// Go back: close the detail view, clear the filter
    Back,
    /// Filter the table (fuzzy); Esc clears
    Filter,
    /// Copy the selected item's link (OSC 52) and show it
    CopyUrl,
    /// Sync the selected app to its target revision
    Sync,
    /// Refresh: ask the app's controller to look again (Flux: reconcile, confirmed; elsewhere re-read the sources)
    Refresh,
    /// Hard refresh: like refresh, and the controller drops its manifest cache (Argo CD)
    HardRefresh,
    /// Terminate the selected app's running sync or rollback (Argo CD)
    Terminate,
    /// Turn auto-sync off for the selected app, so a history rollback is allowed (Argo CD)
    DisableAutoSync,
    /// Roll back the selected app (history picker) or model (version picker)
    Rollback,
    /// Suspend reconciliation of the selected app
    Suspend,
    /// Resume reconciliation of the selected app
    Resume,
    /// Approve the selected Terraform object's plan by patching the live object, not Git (tofu; Flux resets it)
    ApproveLive,
    /// Re-run the selected pipeline run
    Rerun,
    /// Re-run only the failed jobs of the selected run
    RerunFailed,
    /// Cancel the selected queued or running run (again, when it ignored the cancel: force-cancel)
    Cancel,
    /// Show the log tail of the run's failed job (again: the next job)
    Logs,
    /// Start a new run of the selected run's pipeline (a form for its ref and inputs); on a model, retrain it (its `train` pipeline)
    NewRun,
    /// Promote the version a model's retrain registered: move the serving alias to it
    Promote,
    /// Jump to an app, model, pipeline or source by name (fuzzy; Tab cycles, Enter goes)
    Jump,
    /// Why? The selected item's problem, its chain and the changes before it (actions apply to the suspect)
    Why,
    /// Show a background custom command's output again, the newest first (again: the next older one)
    Output,
}

impl Command {
    /// Its snake_case name, as written in the config's `[keys]` table.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// Its help text (the variant's doc comment).
    pub fn help(self) -> &'static str {
        self.get_documentation().unwrap_or("")
    }

    /// The action kind a command asks for, if it is an action (the Drift
    /// tab turns `Rollback` into `SetModelAlias`).
    pub fn action_kind(self) -> Option<ActionKind> {
        Some(match self {
            Command::Sync => ActionKind::Sync,
            Command::Refresh => ActionKind::Refresh,
            Command::HardRefresh => ActionKind::HardRefresh,
            Command::Terminate => ActionKind::Terminate,
            Command::DisableAutoSync => ActionKind::DisableAutoSync,
            Command::Rollback => ActionKind::Rollback,
            Command::Suspend => ActionKind::Suspend,
            Command::Resume => ActionKind::Resume,
            Command::ApproveLive => ActionKind::ApproveLive,
            Command::Rerun => ActionKind::Rerun,
            Command::RerunFailed => ActionKind::RerunFailed,
            Command::Cancel => ActionKind::Cancel,
            Command::NewRun => ActionKind::Dispatch,
            Command::Promote => ActionKind::Promote,
            _ => return None,
        })
    }

    /// Which help section it is listed under.
    pub fn section(self) -> &'static str {
        match self {
            Command::Quit | Command::Help | Command::CopyUrl | Command::Output => "General",
            Command::NextTab
            | Command::PrevTab
            | Command::TabOverview
            | Command::TabPipelines
            | Command::TabGitops
            | Command::TabDrift
            | Command::TabTimeline => "Tabs",
            Command::Sync
            | Command::Refresh
            | Command::HardRefresh
            | Command::Terminate
            | Command::DisableAutoSync
            | Command::Rollback
            | Command::Suspend
            | Command::Resume
            | Command::ApproveLive
            | Command::Rerun
            | Command::RerunFailed
            | Command::Cancel
            | Command::NewRun
            | Command::Promote => "Actions",
            _ => "Navigation",
        }
    }
}
