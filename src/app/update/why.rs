//! The Timeline tab's Enter (go to the event's item) and the "why?" view:
//! opened with `why` on any item, moved with the usual keys, closed with
//! `back`; action keys apply to the suspect under the cursor (`rollback`
//! on a deploy picks the history entry before that deploy).

use crate::app::command::Command;
use crate::app::state::{Level, State, Tab, WhyView};
use crate::app::views::{self, keep_visible, table_rows_for_height};
use crate::model::{Target, TargetKind};
use crate::timeline::{EventKind, SourceView};

use super::{Effect, say};

/// Open "why?" on the selected item (or the open detail's, or on the
/// Timeline tab the event's item).
pub(super) fn open_why(state: &mut State) {
    crate::app::settle::fresh_timeline(state);
    let target = match &state.pane(state.tab).detail {
        Some(d) => Some(d.target.clone()),
        None => state
            .selected_row(state.tab)
            .and_then(|row| state.target_of(row)),
    };
    let Some(target) = target else {
        say(state, Level::Warning, "nothing selected");
        return;
    };
    match answer(state, &target) {
        Ok(why) => {
            state.timeline.why = Some(WhyView {
                target,
                why,
                selected: 0,
            })
        }
        Err(e) => say(state, Level::Error, e),
    }
    state.dirty = true;
}

fn answer(state: &State, target: &Target) -> Result<crate::timeline::Why, String> {
    let views: Vec<SourceView> = state
        .sources
        .iter()
        .map(|s| SourceView {
            name: &s.name,
            snapshot: &s.snapshot,
        })
        .collect();
    crate::timeline::why::why(
        &state.timeline.timeline,
        &views,
        &target.to_string(),
        &state.timeline.settings,
        state.now,
    )
}

/// Keep an open view's answer current after the data changed.
pub(crate) fn refresh_why(state: &mut State) {
    let Some(view) = &state.timeline.why else {
        return;
    };
    let target = view.target.clone();
    let selected = view.selected;
    if let Ok(why) = answer(state, &target) {
        let selected = selected.min(why.suspects.len().saturating_sub(1));
        state.timeline.why = Some(WhyView {
            target,
            why,
            selected,
        });
    }
}

/// A command while the view is open: `None` when it is not the view's
/// (the caller handles it as usual).
pub(super) fn on_why_command(state: &mut State, command: Command) -> Option<Vec<Effect>> {
    let view = state.timeline.why.as_mut()?;
    let last = view.why.suspects.len().saturating_sub(1);
    let page = table_rows_for_height(state.size.1);
    let moved = |to: usize| to.min(last);
    match command {
        Command::Up => view.selected = view.selected.saturating_sub(1),
        Command::Down => view.selected = moved(view.selected + 1),
        Command::PageUp => view.selected = view.selected.saturating_sub(page),
        Command::PageDown => view.selected = moved(view.selected + page),
        Command::Top => view.selected = 0,
        Command::Bottom => view.selected = last,
        Command::Back | Command::Why => state.timeline.why = None,
        Command::Open => {
            let item = view.suspect().and_then(|s| s.event.item());
            state.timeline.why = None;
            if let Some(item) = item {
                go_to(state, &item);
            }
        }
        _ => return None,
    }
    state.dirty = true;
    Some(Vec::new())
}

/// The suspect an action key applies to, and where a rollback goes: the
/// deploy history entry just before the suspect deploy.
pub(super) fn suspect_target(state: &State) -> Option<(Target, Option<String>)> {
    let suspect = state.timeline.why.as_ref()?.suspect()?;
    let item = suspect.event.item()?;
    let to = match (suspect.event.kind, &suspect.event.deploy_id) {
        (EventKind::Deploy, Some(id)) => state
            .sources
            .iter()
            .find(|s| s.name == item.source)
            .and_then(|s| s.snapshot.apps.iter().find(|a| a.name == item.id))
            .and_then(|app| {
                let at = app.history.iter().position(|d| &d.id == id)?;
                app.history.get(at + 1).map(|d| d.id.clone())
            }),
        _ => None,
    };
    Some((item, to))
}

/// Enter on the Timeline tab: go to the event's item in its own tab.
pub(super) fn open_event(state: &mut State) -> Vec<Effect> {
    let item = state
        .selected_row(Tab::Timeline)
        .and_then(|row| state.event(row))
        .and_then(|e| e.item());
    match item {
        Some(item) => go_to(state, &item),
        None => say(state, Level::Warning, "this event has no item to go to"),
    }
    Vec::new()
}

/// Select `item` in its tab (clearing a filter that hides it) and show it.
fn go_to(state: &mut State, item: &Target) {
    let Some(row) = state.find(item) else {
        say(state, Level::Warning, format!("{item} is no longer there"));
        return;
    };
    let tab = match item.kind {
        TargetKind::Run | TargetKind::Pipeline => Tab::Pipelines,
        TargetKind::App => Tab::GitOps,
        TargetKind::Model => Tab::Drift,
    };
    if !state.pane(tab).rows.contains(&row) {
        state.pane_mut(tab).filter.clear();
        views::refilter(state, tab);
    }
    let visible = table_rows_for_height(state.size.1);
    let pane = state.pane_mut(tab);
    pane.detail = None;
    if let Some(i) = pane.rows.iter().position(|r| *r == row) {
        pane.selected = i;
    }
    keep_visible(pane, visible);
    state.tab = tab;
    state.dirty = true;
}
