//! `kind = "demo"`: the built-in simulated fleet's keys.

use std::time::Duration;

use serde::Deserialize;
use serde::de::IgnoredAny;
use toml::Spanned;

use super::{
    ConfigError, DEFAULT_DEMO_SEED, DEFAULT_DEMO_STEP_INTERVAL, KindParser, SourceConfig,
    SourceKind,
};

/// Its part of the starter config `opsdeck init` writes.
pub const STARTER: &str = r#"# The built-in demo fleet: a simulated estate that changes over time.
[[source]]
name = "demo"
kind = "demo"
seed = 42
# step = "2s"            # how often the fleet moves
# paused = false         # true: nothing moves by itself
# incidents = true       # false: a calm fleet where nothing fails
# production = true      # every target needs its name typed to confirm
"#;

/// The built-in demo fleet's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoConfig {
    pub seed: u64,
    /// How often the fleet moves one step.
    pub step: Duration,
    /// Frozen: the fleet never moves (actions still change it).
    pub paused: bool,
    /// Let things go wrong (failed runs, degraded apps, drifting models).
    pub incidents: bool,
    /// Simulate a backend that cannot be reached.
    pub outage: bool,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            seed: DEFAULT_DEMO_SEED,
            step: DEFAULT_DEMO_STEP_INTERVAL,
            paused: false,
            incidents: true,
            outage: false,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDemo {
    #[allow(dead_code)] // checked by the dispatcher
    kind: IgnoredAny,
    name: String,
    #[serde(default)]
    production: bool,
    refresh: Option<Spanned<String>>,
    seed: Option<u64>,
    step: Option<Spanned<String>>,
    #[serde(default)]
    paused: bool,
    incidents: Option<bool>,
    #[serde(default)]
    outage: bool,
}

pub(crate) fn parse(p: &KindParser<'_, '_>) -> Result<SourceConfig, ConfigError> {
    let raw: RawDemo = p.deserialize()?;
    let defaults = DemoConfig::default();
    p.source(raw.name, raw.production, &raw.refresh, || {
        Ok(SourceKind::Demo(DemoConfig {
            seed: raw.seed.unwrap_or(defaults.seed),
            step: p.duration(&raw.step, "step")?.unwrap_or(defaults.step),
            paused: raw.paused,
            incidents: raw.incidents.unwrap_or(defaults.incidents),
            outage: raw.outage,
        }))
    })
}
