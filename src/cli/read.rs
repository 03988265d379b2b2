//! Reading sources once for a headless command, joined as the dashboard
//! joins them (repositories with the apps they deploy to), into the same
//! `SourceState`s the resolver decides on.

use std::sync::Arc;

use crate::app::links;
use crate::app::state::SourceState;
use crate::config::SourceConfig;
use crate::model::{Snapshot, Timestamp};
use crate::sources::{self, Source};

/// One source as read: its state (the snapshot, linked) and the read's
/// error, if it failed.
pub struct Read {
    pub at: Timestamp,
    pub state: SourceState,
    pub error: Option<String>,
}

/// A source's state before its first read (`SourceState::of`).
pub fn source_state(source: &dyn Source, production: bool) -> SourceState {
    SourceState::of(source, production)
}

/// Read every source once (`configs` are theirs, in the same order) and
/// link them.
pub async fn read_all(sources: &[Arc<dyn Source>], configs: &[SourceConfig]) -> Vec<Read> {
    let reads = sources::fetch_all(sources).await;
    let mut states = Vec::new();
    let mut rest = Vec::new();
    for (i, (source, (at, read))) in sources.iter().zip(reads).enumerate() {
        let production = configs.get(i).is_some_and(|c| c.production);
        let mut state = source_state(source.as_ref(), production);
        let error = match read {
            Ok(snapshot) => {
                state.snapshot = snapshot;
                None
            }
            Err(e) => Some(e.to_string()),
        };
        states.push(state);
        rest.push((at, error));
    }
    links::link(&mut states);
    rest.into_iter()
        .zip(states)
        .map(|((at, error), state)| Read { at, state, error })
        .collect()
}

/// Read every source once and join them, as snapshots (for `status`).
pub async fn read_linked(
    sources: &[Arc<dyn Source>],
    configs: &[SourceConfig],
) -> Vec<(Timestamp, Result<Snapshot, String>)> {
    read_all(sources, configs)
        .await
        .into_iter()
        .map(|r| match r.error {
            None => (r.at, Ok(r.state.snapshot)),
            Some(e) => (r.at, Err(e)),
        })
        .collect()
}
