//! One configured source: what it is, what it can do, and the last thing
//! it told us.

use crate::model::{ActionKind, Provides, Snapshot, Timestamp};

/// Where a source stands, as shown in tab titles and the Overview.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Never read yet.
    Loading,
    Ok,
    /// The last read failed (the last good data is still shown), or it
    /// could not read some configured items (the rest is shown).
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SourceError {
    pub message: String,
    pub at: Timestamp,
}

/// One configured source and the last thing it told us.
#[derive(Clone, Debug)]
pub struct SourceState {
    pub name: String,
    pub kind: String,
    pub provides: Provides,
    pub production: bool,
    pub snapshot: Snapshot,
    /// Last successful read.
    pub updated_at: Option<Timestamp>,
    /// The last read's error; cleared by the next success.
    pub error: Option<SourceError>,
    /// The action kinds this source can carry out (others are refused upfront).
    pub actions: Vec<ActionKind>,
    /// Shown beside the source's name (e.g. certificate checks are off).
    pub warning: Option<String>,
    /// Drill-downs and options it offers (set from the source).
    pub capabilities: crate::model::Capabilities,
}

impl SourceState {
    /// The state of a built source before its first read: what it offers
    /// (actions, capabilities) and its set-up warning, as the dashboard
    /// and the headless commands both see it.
    pub fn of(source: &dyn crate::sources::Source, production: bool) -> Self {
        let actions =
            <ActionKind as strum::IntoEnumIterator>::iter().filter(|k| source.supports(*k));
        SourceState::new(source.name(), source.kind(), source.provides(), production)
            .with_actions(actions)
            .with_warning(source.warning())
            .with_capabilities(source.capabilities())
    }

    pub fn new(
        name: impl Into<String>,
        kind: impl Into<String>,
        provides: Provides,
        production: bool,
    ) -> Self {
        SourceState {
            name: name.into(),
            kind: kind.into(),
            provides,
            production,
            snapshot: Snapshot::default(),
            updated_at: None,
            error: None,
            actions: <ActionKind as strum::IntoEnumIterator>::iter().collect(),
            warning: None,
            capabilities: crate::model::Capabilities::default(),
        }
    }

    /// A warning to show beside the source's name.
    pub fn with_warning(mut self, warning: Option<String>) -> Self {
        self.warning = warning;
        self
    }

    /// Its apps have a drill-down to load.
    pub fn has_app_detail(&self) -> bool {
        self.capabilities.app_detail
    }

    /// What the source offers beyond reading and its actions.
    pub fn with_capabilities(mut self, capabilities: crate::model::Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// Only these action kinds are offered for this source.
    pub fn with_actions(mut self, actions: impl IntoIterator<Item = ActionKind>) -> Self {
        self.actions = actions.into_iter().collect();
        self
    }

    /// What is wrong with the source: the last read's error, else the
    /// configured items its last snapshot could not read.
    pub fn error_message(&self) -> Option<String> {
        match &self.error {
            Some(e) => Some(e.message.clone()),
            None => self.snapshot.problems_text(),
        }
    }

    pub fn phase(&self) -> Phase {
        if self.error.is_some() || !self.snapshot.problems.is_empty() {
            Phase::Error
        } else if self.updated_at.is_none() {
            Phase::Loading
        } else {
            Phase::Ok
        }
    }
}
