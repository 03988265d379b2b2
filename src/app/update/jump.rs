//! The `:` prompt's keys, and the jump itself: to the item's tab, its
//! filter cleared and its detail closed, the cursor on the item.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::say;
use crate::app::jump::{Jump, JumpKind, JumpTarget};
use crate::app::state::{Level, RowRef, State, Tab};
use crate::app::views::{self, keep_visible, table_rows_for_height};

/// Open the prompt.
pub(super) fn open(state: &mut State) {
    state.jump = Some(Jump::open(state));
    state.dirty = true;
}

/// A key while the prompt is open: type, Tab/Shift-Tab cycle, Enter jumps
/// to the chosen match (the top one unless cycled), Esc cancels.
pub(super) fn on_jump_key(state: &mut State, key: KeyEvent) {
    let Some(mut jump) = state.jump.take() else {
        return;
    };
    state.dirty = true;
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Esc => return,
        KeyCode::Char('c') if ctrl => return,
        KeyCode::Enter => {
            match jump.chosen().cloned() {
                Some(target) => go(state, &target),
                None => say(
                    state,
                    Level::Warning,
                    format!(
                        ":{}: no app, model, pipeline or source by that name",
                        jump.input
                    ),
                ),
            }
            return;
        }
        KeyCode::Tab | KeyCode::Down => jump.cycle(true),
        KeyCode::BackTab | KeyCode::Up => jump.cycle(false),
        KeyCode::Backspace => jump.pop(state),
        KeyCode::Char('u') if ctrl => {
            jump = Jump::open(state);
        }
        KeyCode::Char(c) if !ctrl => jump.push(state, c),
        _ => {}
    }
    state.jump = Some(jump);
}

/// Whether a row of the tab is the item jumped to.
type IsTarget<'a> = dyn Fn(&State, RowRef) -> bool + 'a;

/// Show `target` selected in its tab.
fn go(state: &mut State, target: &JumpTarget) {
    let source = target.source as u32;
    let (tab, found): (Tab, Box<IsTarget>) = match target.kind {
        JumpKind::App => (
            Tab::GitOps,
            Box::new(|s, r| s.app(r).is_some_and(|a| a.name == target.name)),
        ),
        JumpKind::Model => (
            Tab::Drift,
            Box::new(|s, r| s.model(r).is_some_and(|m| m.model == target.name)),
        ),
        JumpKind::Pipeline => (
            Tab::Pipelines,
            Box::new(|s, r| s.run(r).is_some_and(|run| run.pipeline == target.name)),
        ),
        JumpKind::Source => {
            let provides = state.sources.get(target.source).map(|s| s.provides);
            let tab = [Tab::Pipelines, Tab::GitOps, Tab::Drift]
                .into_iter()
                .find(|t| provides.is_some_and(|p| t.shows(p)))
                .unwrap_or(Tab::Overview);
            (tab, Box::new(|_, _| true))
        }
    };
    state.tab = tab;
    state.editing_filter = false;
    let pane = state.pane_mut(tab);
    pane.detail = None;
    if !pane.filter.is_empty() {
        pane.filter.clear();
        views::refilter(state, tab);
    }
    let at = state
        .pane(tab)
        .rows
        .iter()
        .position(|r| r.source == source && found(state, *r));
    let name = state
        .sources
        .get(target.source)
        .map_or(String::new(), |s| s.name.clone());
    let what = match target.kind {
        JumpKind::Source => name,
        _ => format!("{name}/{}", target.name),
    };
    match at {
        Some(at) => {
            let visible = table_rows_for_height(state.size.1);
            let pane = state.pane_mut(tab);
            pane.selected = at;
            keep_visible(pane, visible);
            say(state, Level::Info, format!("{} {what}", target.kind.word()));
        }
        None => say(
            state,
            Level::Warning,
            format!(
                "{} {what} is no longer in {}",
                target.kind.word(),
                tab.title()
            ),
        ),
    }
}
