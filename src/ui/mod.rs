//! Drawing: a pure function of `&State` that builds only what is visible.
//! One file per pane, shared widgets beside them; reads app's State only.

mod app_detail;
mod chart;
mod chrome;
mod command;
mod confirm;
mod detail;
mod drift;
mod form;
pub mod format;
mod gitops;
mod help;
mod images;
mod jump;
mod overview;
mod pane;
mod picker;
mod pipelines;
mod repo;
mod status;
pub mod table;
mod timeline;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Block, Clear};

use crate::app::State;
use crate::app::state::{Overlay, Tab};
use crate::theme::Theme;

/// Below this many columns and rows the layout is replaced by a one-line note.
pub const MIN_SIZE: (u16, u16) = (40, 10);

/// Draws the whole screen from `state`. Never blocks; never panics at any size.
pub fn draw(frame: &mut Frame, state: &State, theme: &Theme) {
    let area = frame.area();
    frame.render_widget(Block::new().style(theme.base()), area);
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        chrome::too_small(frame, area, theme, MIN_SIZE);
        return;
    }
    let [top, body, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    chrome::tab_bar(frame, top, state, theme);
    let in_detail = state.pane(state.tab).detail.is_some();
    let hints = match state.tab {
        Tab::Overview => {
            overview::draw(frame, body, state, theme);
            overview::HINTS
        }
        Tab::Pipelines => {
            pipelines::draw(frame, body, state, theme);
            if state
                .pane(Tab::Pipelines)
                .detail
                .as_ref()
                .is_some_and(|d| d.log.is_some())
            {
                pipelines::LOG_HINTS
            } else if in_detail {
                pipelines::DETAIL_HINTS
            } else {
                pipelines::HINTS
            }
        }
        Tab::GitOps => {
            gitops::draw(frame, body, state, theme);
            if in_detail {
                gitops::DETAIL_HINTS
            } else {
                gitops::HINTS
            }
        }
        Tab::Drift => {
            drift::draw(frame, body, state, theme);
            if in_detail {
                drift::DETAIL_HINTS
            } else {
                drift::HINTS
            }
        }
        Tab::Timeline => {
            timeline::draw(frame, body, state, theme);
            timeline::HINTS
        }
    };
    chrome::footer(frame, bottom, state, theme, hints);
    if let Some(why) = &state.timeline.why {
        timeline::draw_why(frame, body, state, theme, why);
    }
    match &state.overlay {
        None => {}
        Some(Overlay::Help) => help::draw(frame, body, state, theme),
        Some(Overlay::Picker(picker)) => picker::draw(frame, body, state, theme, picker),
        Some(Overlay::Confirm(confirm)) => confirm::draw(frame, body, state, theme, confirm),
        Some(Overlay::Form(form)) => form::draw(frame, body, state, theme, form),
        Some(Overlay::Command(c)) => command::draw_confirm(frame, body, theme, c),
        Some(Overlay::Output(view)) => command::draw_output(frame, body, state, theme, view),
    }
    if let Some(jump) = &state.jump {
        jump::draw(frame, body, state, theme, jump);
    }
}

/// A `width`×`height` box centred in `area` (shrunk to fit), cleared and
/// painted with the popup style.
fn popup(frame: &mut Frame, area: Rect, theme: &Theme, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, rect);
    frame.render_widget(Block::new().style(theme.popup()), rect);
    rect
}

/// The busy marker of a row: a spinner frame while an action on it is in flight.
fn busy_marker(
    state: &State,
    theme: &Theme,
    row: crate::app::state::RowRef,
) -> ratatui::text::Line<'static> {
    if state.in_flight.is_empty() {
        return ratatui::text::Line::from("");
    }
    match state.target_of(row) {
        Some(target) if state.is_busy(&target) => ratatui::text::Line::from(
            ratatui::text::Span::styled(theme.spinner(state.spinner), theme.info()),
        ),
        _ => ratatui::text::Line::from(""),
    }
}
