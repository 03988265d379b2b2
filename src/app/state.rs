//! The single store. Plain data, no I/O: `update` changes it, `ui` reads it.

use std::collections::BTreeMap;

use crate::app::keymap::Keymap;
use crate::model::{
    Action, ActionKind, AppDetail, DispatchForm, GitOpsApp, LogTail, ModelDrift, PipelineRun,
    Provides, Snapshot, Target, TargetKind, Timestamp,
};

/// The four tabs, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tab {
    Overview,
    Pipelines,
    GitOps,
    Drift,
}

impl Tab {
    pub const ALL: [Tab; 4] = [Tab::Overview, Tab::Pipelines, Tab::GitOps, Tab::Drift];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn title(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Pipelines => "Pipelines",
            Tab::GitOps => "GitOps",
            Tab::Drift => "Drift",
        }
    }

    pub fn next(self) -> Tab {
        Tab::ALL[(self.index() + 1) % Tab::ALL.len()]
    }

    pub fn prev(self) -> Tab {
        Tab::ALL[(self.index() + Tab::ALL.len() - 1) % Tab::ALL.len()]
    }

    /// Whether a source that provides `p` shows in this tab.
    pub fn shows(self, p: Provides) -> bool {
        match self {
            Tab::Overview => true,
            Tab::Pipelines => p.pipelines,
            Tab::GitOps => p.gitops,
            Tab::Drift => p.drift,
        }
    }
}

/// An app's drill-down, loaded when its detail view opens.
#[derive(Clone, Debug, PartialEq)]
pub enum AppDetailState {
    Loading,
    Loaded(Box<AppDetail>),
    Failed(String),
}

/// A job's log tail, loaded when its log view opens.
#[derive(Clone, Debug, PartialEq)]
pub enum LogState {
    Loading,
    Loaded(LogTail),
    Failed(String),
}

/// A run's detail view shows this job's log instead of the run.
#[derive(Clone, Debug, PartialEq)]
pub struct LogView {
    pub job_id: String,
    pub job_name: String,
}

/// Where a source stands, as shown in tab titles and the Overview.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Never read yet.
    Loading,
    Ok,
    /// The last read failed (the last good data is still shown).
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

    pub fn phase(&self) -> Phase {
        if self.error.is_some() {
            Phase::Error
        } else if self.updated_at.is_none() {
            Phase::Loading
        } else {
            Phase::Ok
        }
    }
}

/// A row of a table: which tab's item, of which source, at which index of
/// that source's snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RowRef {
    pub tab: Tab,
    pub source: u32,
    pub index: u32,
}

/// A detail view open on one item, found again by key after each refresh.
#[derive(Clone, Debug, PartialEq)]
pub struct Detail {
    pub target: Target,
    /// First visible line of the scrollable body.
    pub scroll: usize,
    /// A job's log is shown (runs only); its own scroll is `scroll`.
    pub log: Option<LogView>,
    /// `logs` was asked for before the run's jobs were loaded: open the
    /// log of the job that failed once they are.
    pub log_pending: bool,
}

impl Detail {
    pub fn new(target: Target) -> Self {
        Detail {
            target,
            scroll: 0,
            log: None,
            log_pending: false,
        }
    }
}

/// One tab's table: its visible (filtered, sorted) rows and position.
#[derive(Clone, Debug, Default)]
pub struct Pane {
    /// For Overview: the attention list, worst first. Elsewhere the table's
    /// rows in display order, already filtered.
    pub rows: Vec<RowRef>,
    /// Every row in display order before the filter (so a filter keystroke
    /// only filters; sorting happens when the data changes).
    pub sorted: Vec<RowRef>,
    pub selected: usize,
    /// First visible row; kept so the selection stays on screen.
    pub offset: usize,
    pub filter: String,
    pub detail: Option<Detail>,
}

/// The confirmation dialog for one planned action.
#[derive(Clone, Debug, PartialEq)]
pub struct Confirm {
    pub action: Action,
    /// What has been typed so far (production targets need their name typed).
    pub typed: String,
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

/// One field of the new-run form.
#[derive(Clone, Debug, PartialEq)]
pub struct FormField {
    /// `ref`, an input's name, or `more` for free `name=value` pairs.
    pub name: String,
    pub value: String,
    /// What the backend says about it (description, choices).
    pub hint: String,
    pub choices: Vec<String>,
    pub required: bool,
    pub role: FieldRole,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldRole {
    Ref,
    Input,
    /// `name=value, name=value` (GitLab variables).
    More,
}

/// A new run's inputs, `name = value`, in the order given.
pub type Inputs = Vec<(String, String)>;

/// The small form that starts a new run: its ref and inputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Form {
    /// The pipeline (`TargetKind::Pipeline`).
    pub target: Target,
    pub title: String,
    pub fields: Vec<FormField>,
    pub focused: usize,
}

impl Form {
    /// The form a backend asks for, pre-filled with its defaults (and
    /// `git_ref` when given: the branch of the run it was opened from).
    pub fn new(target: Target, spec: &DispatchForm, git_ref: Option<&str>) -> Form {
        let mut fields = Vec::new();
        if let Some(default) = &spec.git_ref {
            fields.push(FormField {
                name: "ref".into(),
                value: git_ref.unwrap_or(default).to_string(),
                hint: "branch or tag to run on".into(),
                choices: Vec::new(),
                required: true,
                role: FieldRole::Ref,
            });
        }
        for input in &spec.inputs {
            let mut hint = input.description.clone();
            if !input.choices.is_empty() {
                if !hint.is_empty() {
                    hint.push_str(" — ");
                }
                hint.push_str(&format!("one of: {}", input.choices.join(", ")));
            }
            fields.push(FormField {
                name: input.name.clone(),
                value: input.default.clone(),
                hint,
                choices: input.choices.clone(),
                required: input.required,
                role: FieldRole::Input,
            });
        }
        if spec.free_inputs {
            fields.push(FormField {
                name: "variables".into(),
                value: String::new(),
                hint: "more inputs: name=value, name=value".into(),
                choices: Vec::new(),
                required: false,
                role: FieldRole::More,
            });
        }
        let name = if spec.name.is_empty() {
            &target.id
        } else {
            &spec.name
        };
        Form {
            title: format!("Start a new run of {name} ({})", target.source),
            target,
            fields,
            focused: 0,
        }
    }

    /// The ref and inputs to send, or what is wrong with them (naming the field).
    pub fn values(&self) -> Result<(Option<String>, Inputs), String> {
        let mut git_ref = None;
        let mut inputs = Vec::new();
        for field in &self.fields {
            let value = field.value.trim();
            if field.required && value.is_empty() {
                return Err(format!("{} is required", field.name));
            }
            if !field.choices.is_empty()
                && !value.is_empty()
                && !field.choices.iter().any(|c| c == value)
            {
                return Err(format!(
                    "{} must be one of: {}",
                    field.name,
                    field.choices.join(", ")
                ));
            }
            match field.role {
                FieldRole::Ref => git_ref = Some(value.to_string()),
                FieldRole::Input => inputs.push((field.name.clone(), value.to_string())),
                FieldRole::More => {
                    for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                        let Some((k, v)) = pair.split_once('=') else {
                            return Err(format!("{}: `{pair}` is not name=value", field.name));
                        };
                        let k = k.trim();
                        if k.is_empty() {
                            return Err(format!("{}: `{pair}` has no name", field.name));
                        }
                        inputs.push((k.to_string(), v.trim().to_string()));
                    }
                }
            }
        }
        Ok((git_ref, inputs))
    }
}

/// A modal layer over the tabs.
#[derive(Clone, Debug, PartialEq)]
pub enum Overlay {
    Help,
    Picker(Picker),
    Confirm(Confirm),
    Form(Form),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Success,
    Warning,
    Error,
}

/// The one-line message at the bottom (action outcomes, refusals).
#[derive(Clone, Debug, PartialEq)]
pub struct StatusLine {
    pub level: Level,
    pub text: String,
    pub at: Timestamp,
}

/// An action sent and not yet answered.
#[derive(Clone, Debug, PartialEq)]
pub struct InFlight {
    pub id: u64,
    pub action: Action,
    pub started: Timestamp,
}

/// Everything the dashboard knows and shows.
#[derive(Clone, Debug)]
pub struct State {
    pub now: Timestamp,
    pub tab: Tab,
    pub sources: Vec<SourceState>,
    /// Indexed by `Tab::index()`.
    pub panes: [Pane; 4],
    /// The filter prompt has the keyboard.
    pub editing_filter: bool,
    pub overlay: Option<Overlay>,
    pub status: Option<StatusLine>,
    pub in_flight: BTreeMap<Target, InFlight>,
    /// Apps' drill-downs, by app.
    pub app_details: BTreeMap<Target, AppDetailState>,
    /// Job log tails, by run and job id.
    pub logs: BTreeMap<(Target, String), LogState>,
    /// Runs a cancel was sent to (and done): cancelling one again while it
    /// still runs offers force-cancel.
    pub cancel_sent: BTreeMap<Target, Timestamp>,
    pub read_only: bool,
    pub keymap: Keymap,
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    /// Advances on each tick while something animates (the spinner).
    pub spinner: usize,
    /// Something changed since the last draw.
    pub dirty: bool,
    pub should_quit: bool,
    /// `quit` was pressed once with actions in flight; the next press quits.
    pub quit_armed: bool,
    pub next_action_id: u64,
}

impl State {
    pub fn new(sources: Vec<SourceState>, keymap: Keymap, read_only: bool, now: Timestamp) -> Self {
        State {
            now,
            tab: Tab::Overview,
            sources,
            panes: Default::default(),
            editing_filter: false,
            overlay: None,
            status: None,
            in_flight: BTreeMap::new(),
            app_details: BTreeMap::new(),
            logs: BTreeMap::new(),
            cancel_sent: BTreeMap::new(),
            read_only,
            keymap,
            size: (80, 24),
            spinner: 0,
            dirty: true,
            should_quit: false,
            quit_armed: false,
            next_action_id: 1,
        }
    }

    pub fn pane(&self, tab: Tab) -> &Pane {
        &self.panes[tab.index()]
    }

    pub fn pane_mut(&mut self, tab: Tab) -> &mut Pane {
        &mut self.panes[tab.index()]
    }

    pub fn run(&self, row: RowRef) -> Option<&PipelineRun> {
        self.sources
            .get(row.source as usize)?
            .snapshot
            .pipelines
            .get(row.index as usize)
    }

    pub fn app(&self, row: RowRef) -> Option<&GitOpsApp> {
        self.sources
            .get(row.source as usize)?
            .snapshot
            .apps
            .get(row.index as usize)
    }

    pub fn model(&self, row: RowRef) -> Option<&ModelDrift> {
        self.sources
            .get(row.source as usize)?
            .snapshot
            .models
            .get(row.index as usize)
    }

    /// The row under the cursor in `tab`.
    pub fn selected_row(&self, tab: Tab) -> Option<RowRef> {
        let pane = self.pane(tab);
        pane.rows.get(pane.selected).copied()
    }

    /// The target a row stands for.
    pub fn target_of(&self, row: RowRef) -> Option<Target> {
        let source = &self.sources.get(row.source as usize)?.name;
        let (kind, id) = match row.tab {
            Tab::Pipelines => (TargetKind::Run, self.run(row)?.id.clone()),
            Tab::GitOps => (TargetKind::App, self.app(row)?.name.clone()),
            Tab::Drift => (TargetKind::Model, self.model(row)?.model.clone()),
            Tab::Overview => return None,
        };
        Some(Target::new(source.clone(), kind, id))
    }

    /// Find an item again by its target (after a refresh moved it).
    pub fn find(&self, target: &Target) -> Option<RowRef> {
        let source = self.sources.iter().position(|s| s.name == target.source)?;
        let snap = &self.sources[source].snapshot;
        let (tab, index) = match target.kind {
            TargetKind::Run => (
                Tab::Pipelines,
                snap.pipelines.iter().position(|r| r.id == target.id)?,
            ),
            TargetKind::App => (
                Tab::GitOps,
                snap.apps.iter().position(|a| a.name == target.id)?,
            ),
            TargetKind::Model => (
                Tab::Drift,
                snap.models.iter().position(|m| m.model == target.id)?,
            ),
            // Its newest run stands for a pipeline.
            TargetKind::Pipeline => (
                Tab::Pipelines,
                snap.pipelines
                    .iter()
                    .position(|r| r.pipeline_id == target.id)?,
            ),
        };
        Some(RowRef {
            tab,
            source: source as u32,
            index: index as u32,
        })
    }

    /// The sources shown in `tab`.
    pub fn tab_sources(&self, tab: Tab) -> impl Iterator<Item = &SourceState> {
        self.sources.iter().filter(move |s| tab.shows(s.provides))
    }

    /// The item the detail view of the current tab is open on, if any.
    pub fn detail_row(&self) -> Option<RowRef> {
        let detail = self.pane(self.tab).detail.as_ref()?;
        self.find(&detail.target)
    }

    /// An action on `target` is in flight.
    pub fn is_busy(&self, target: &Target) -> bool {
        self.in_flight.contains_key(target)
    }

    /// Anything animating (a source loading, an action in flight).
    pub fn is_animating(&self) -> bool {
        !self.in_flight.is_empty() || self.sources.iter().any(|s| s.phase() == Phase::Loading)
    }
}
