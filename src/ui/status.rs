//! Status glyphs and colours for runs, apps, models and sources: every status
//! reads by symbol and word, so it stays clear without colour.

use ratatui::style::Style;
use ratatui::text::Span;

use crate::app::state::{Phase, SourceState, State};
use crate::model::{DriftStatus, Health, RunStatus, SyncStatus};
use crate::theme::Theme;

pub fn run(theme: &Theme, status: RunStatus) -> (&'static str, Style) {
    let g = theme.glyphs();
    match status {
        RunStatus::Queued => (g.queued, theme.warn()),
        RunStatus::Running => (g.running, theme.info()),
        RunStatus::Success => (g.ok, theme.ok()),
        RunStatus::Failure => (g.error, theme.error()),
        RunStatus::Cancelled => (g.cancelled, theme.muted()),
        RunStatus::Skipped => (g.skipped, theme.muted()),
        RunStatus::Unknown => (g.unknown, theme.warn()),
    }
}

pub fn sync(theme: &Theme, status: SyncStatus) -> (&'static str, Style) {
    let g = theme.glyphs();
    match status {
        SyncStatus::Synced => (g.ok, theme.ok()),
        SyncStatus::OutOfSync => (g.out_of_sync, theme.warn()),
        SyncStatus::Unknown => (g.unknown, theme.muted()),
    }
}

pub fn health(theme: &Theme, health: Health) -> (&'static str, Style) {
    let g = theme.glyphs();
    match health {
        Health::Healthy => (g.ok, theme.ok()),
        Health::Progressing => (g.progressing, theme.info()),
        Health::Degraded => (g.error, theme.error()),
        Health::Suspended => (g.suspended, theme.muted()),
        Health::Missing => (g.missing, theme.error()),
        Health::Unknown => (g.unknown, theme.muted()),
    }
}

pub fn drift(theme: &Theme, status: DriftStatus) -> (&'static str, Style) {
    let g = theme.glyphs();
    match status {
        DriftStatus::Ok => (g.ok, theme.ok()),
        DriftStatus::Unknown => (g.unknown, theme.muted()),
        DriftStatus::Warning => (g.warn, theme.warn()),
        DriftStatus::Drifting => (g.error, theme.error()),
    }
}

/// A source's phase: spinner while loading, ✓ or ✗.
pub fn phase(theme: &Theme, state: &State, phase: Phase) -> (&'static str, Style) {
    match phase {
        Phase::Loading => (theme.spinner(state.spinner), theme.info()),
        Phase::Ok => (theme.glyphs().ok, theme.ok()),
        Phase::Error => (theme.glyphs().error, theme.error()),
    }
}

/// Error first, then loading, then ok: what a tab title shows.
pub fn worst_phase<'a>(sources: impl Iterator<Item = &'a SourceState>) -> Option<Phase> {
    sources.map(SourceState::phase).max_by_key(|p| match p {
        Phase::Ok => 0,
        Phase::Loading => 1,
        Phase::Error => 2,
    })
}

/// "✗ failure": the glyph and the word, in the status colour.
pub fn glyph_and_word(glyph: &'static str, word: &str, style: Style) -> Span<'static> {
    Span::styled(format!("{glyph} {word}"), style)
}
