//! The single store. Plain data, no I/O: `update` changes it, `ui` reads it.
//! Each part lives in its own file; everything is re-exported here so
//! `crate::app::state::X` names every part.

use std::collections::BTreeMap;

use crate::app::keymap::Keymap;
use crate::model::{GitOpsApp, ModelDrift, PipelineRun, Target, TargetKind, Timestamp};

mod derived;
mod detail;
mod form;
mod overlay;
mod pane;
mod retrain;
mod source;
mod status;
mod tab;
mod timeline;

pub use derived::{AppMoves, Derived, Kept, Kinds, Scored, SourceRows};
pub use detail::{AppDetailState, Detail, LogState, LogView};
pub use form::{FieldRole, Form, FormField, Inputs};
pub use overlay::{CommandConfirm, Confirm, Overlay, Picker, PickerEntry};
pub use pane::{Pane, RowRef};
pub use retrain::{Retrain, RetrainAsk, RetrainOf};
pub use source::{Phase, SourceError, SourceState};
pub use status::{InFlight, Level, StatusLine};
pub use tab::{TABS, Tab};
pub use timeline::{MAX_EXTRA, TimelineState, WhyView};

/// Everything the dashboard knows and shows.
#[derive(Clone, Debug)]
pub struct State {
    pub now: Timestamp,
    pub tab: Tab,
    pub sources: Vec<SourceState>,
    /// Indexed by `Tab::index()`.
    pub panes: [Pane; TABS],
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
    /// What derived data is stale and the pieces it is rebuilt from (see
    /// `app::settle`).
    pub derived: Derived,
    /// The attention list over time: what is new, what was resolved.
    pub problems: crate::app::problems::Problems,
    /// When the engineer last left the Overview: problems that came after
    /// are marked new there.
    pub overview_left_at: Option<Timestamp>,
    /// The help overlay's first line shown (the overlay clamps it).
    pub help_scroll: usize,
    /// The `:` jump prompt, while open.
    pub jump: Option<crate::app::jump::Jump>,
    /// The timeline, its extra events and the open "why?" view.
    pub timeline: TimelineState,
    /// Retrains started from the Drift tab, by model.
    pub retrains: BTreeMap<Target, Retrain>,
    /// A retrain's form is being read: what it pre-fills.
    pub retrain_ask: Option<RetrainAsk>,
    /// Custom commands (`[[command]]`) and their background runs.
    pub custom: crate::app::custom::Custom,
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
            derived: Derived::default(),
            problems: Default::default(),
            overview_left_at: None,
            help_scroll: 0,
            jump: None,
            timeline: TimelineState::default(),
            retrains: BTreeMap::new(),
            retrain_ask: None,
            custom: Default::default(),
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

    /// The timeline event a Timeline row points at.
    pub fn event(&self, row: RowRef) -> Option<&crate::timeline::Event> {
        self.timeline.timeline.events.get(row.index as usize)
    }

    /// The row under the cursor in `tab`.
    pub fn selected_row(&self, tab: Tab) -> Option<RowRef> {
        let pane = self.pane(tab);
        pane.rows.get(pane.selected).copied()
    }

    /// The target a row stands for.
    pub fn target_of(&self, row: RowRef) -> Option<Target> {
        if row.tab == Tab::Timeline {
            return self.event(row).and_then(|e| e.item());
        }
        let source = &self.sources.get(row.source as usize)?.name;
        let (kind, id) = match row.tab {
            Tab::Pipelines => (TargetKind::Run, self.run(row)?.id.clone()),
            Tab::GitOps => (TargetKind::App, self.app(row)?.name.clone()),
            Tab::Drift => (TargetKind::Model, self.model(row)?.model.clone()),
            Tab::Overview | Tab::Timeline => return None,
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

    /// The Overview row is a problem that came while the dashboard was
    /// open, after the engineer last left the Overview.
    pub fn is_new_problem(&self, row: RowRef) -> bool {
        self.problems
            .known_for(self, row)
            .is_some_and(|k| k.fresh && self.overview_left_at.is_none_or(|left| k.since >= left))
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
