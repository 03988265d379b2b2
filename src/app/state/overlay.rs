//! Modal layers over the tabs: help, pickers, the confirmation dialogs
//! and a background command's output (the new-run form has its own file).

use super::Form;
use crate::app::custom::{CommandRun, OutputView};
use crate::model::{Action, ActionKind, Target, Timestamp};

/// A modal layer over the tabs.
#[derive(Clone, Debug, PartialEq)]
pub enum Overlay {
    Help,
    Picker(Picker),
    Confirm(Confirm),
    Form(Form),
    /// The confirmation of a custom command: its exact command line.
    Command(CommandConfirm),
    /// A background custom command's output.
    Output(OutputView),
}

/// The confirmation dialog for one custom command run.
#[derive(Clone, Debug, PartialEq)]
pub struct CommandConfirm {
    pub run: CommandRun,
    /// What has been typed so far (a changing command on production needs
    /// its target's name typed).
    pub typed: String,
}

impl CommandConfirm {
    /// The text to type: a mutating command on a production target.
    pub fn required_text(&self) -> Option<&str> {
        (self.run.production && self.run.mutating).then_some(self.run.target.id.as_str())
    }
}

/// The confirmation dialog for one planned action.
#[derive(Clone, Debug, PartialEq)]
pub struct Confirm {
    pub action: Action,
    /// What has been typed so far (production targets need their name typed).
    pub typed: String,
    /// The model a new run retrains (kept with the model once sent).
    pub retrain: Option<super::RetrainOf>,
}

impl Confirm {
    /// The text to type, for production targets.
    pub fn required_text(&self) -> Option<&str> {
        self.action
            .production
            .then_some(self.action.target.id.as_str())
    }

    pub fn is_satisfied(&self) -> bool {
        self.required_text().is_none_or(|t| self.typed == t)
    }
}

/// One choice in a picker (a deploy-history entry or a model version).
#[derive(Clone, Debug, PartialEq)]
pub struct PickerEntry {
    /// What the action is sent with (history id, model version).
    pub id: String,
    pub revision: String,
    pub time: Option<Timestamp>,
    pub author: String,
    pub message: String,
    /// The one running now (not selectable as a target).
    pub current: bool,
    /// A deploy's verdict from the timeline (`healthy`, `degraded`…).
    pub verdict: Option<String>,
}

/// Choose where to roll back to.
#[derive(Clone, Debug, PartialEq)]
pub struct Picker {
    pub kind: ActionKind,
    pub target: Target,
    pub title: String,
    pub entries: Vec<PickerEntry>,
    pub selected: usize,
}
