//! The dashboard's state on a config's sources, each read once, as the TUI
//! holds them (no terminal): for tests that press keys on real sources.

use std::path::Path;

use opsdeck::app::{Keymap, Msg, State, update};
use opsdeck::sources::SourceEvent;

/// Read every source of `config` once into a fresh dashboard state, with
/// the config's keys.
pub async fn dashboard_of(config: &Path) -> State {
    let config = opsdeck::config::load(config).expect("config");
    let sources = opsdeck::sources::build_all(&config);
    let states = sources
        .iter()
        .zip(&config.sources)
        .map(|(s, c)| opsdeck::cli::source_state(s.as_ref(), c.production))
        .collect();
    let now = chrono::Utc::now();
    let keymap = Keymap::from_config(&config.keys).expect("keys");
    let mut state = State::new(states, keymap, false, now);
    for (index, source) in sources.iter().enumerate() {
        let result = source.fetch().await.map_err(|e| e.to_string());
        assert!(result.is_ok(), "{} reads: {result:?}", source.name());
        let event = SourceEvent {
            source: index,
            at: now,
            result: result.map(Into::into),
        };
        update(&mut state, Msg::Source(event));
    }
    state
}
