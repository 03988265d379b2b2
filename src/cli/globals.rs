//! The flags every command shares, and the config they load.

use std::path::PathBuf;

use crate::app::audit;
use crate::config::{self, Config, DemoConfig, SourceConfig, SourceKind};

/// Flags shared by every command.
#[derive(Clone, Debug, Default)]
pub struct Globals {
    pub demo: bool,
    pub seed: Option<u64>,
    pub config: Option<PathBuf>,
    pub read_only: bool,
    pub audit_log: Option<PathBuf>,
    pub ascii: Option<bool>,
}

impl Globals {
    /// The config to run with: the file, the demo, or both.
    pub fn load_config(&self) -> Result<Config, String> {
        let path = match (&self.config, self.demo) {
            (Some(p), _) => Some(p.clone()),
            (None, true) => None,
            (None, false) => match config::default_path() {
                Some(p) if p.exists() => Some(p),
                looked => {
                    let at = looked.map_or("$XDG_CONFIG_HOME/opsdeck/config.toml".into(), |p| {
                        p.display().to_string()
                    });
                    return Err(format!(
                        "no config file found (looked at {at}).\n\
                         Try the built-in demo fleet:   opsdeck --demo\n\
                         Write a starter config:        opsdeck init\n\
                         Or point at one:               opsdeck --config PATH"
                    ));
                }
            },
        };
        let mut config = match path {
            Some(p) => config::load(&p).map_err(|e| e.to_string())?,
            None => Config::demo(self.seed.unwrap_or(config::DEFAULT_DEMO_SEED)),
        };
        if self.demo && self.config.is_some() && !config.sources.iter().any(|s| s.name == "demo") {
            config.sources.push(SourceConfig {
                name: "demo".into(),
                production: false,
                refresh: None,
                kind: SourceKind::Demo(DemoConfig {
                    seed: self.seed.unwrap_or(config::DEFAULT_DEMO_SEED),
                    ..DemoConfig::default()
                }),
                at: None,
            });
        }
        if let Some(seed) = self.seed {
            for source in &mut config.sources {
                #[allow(irrefutable_let_patterns)] // more kinds than demo will come
                if let SourceKind::Demo(demo) = &mut source.kind {
                    demo.seed = seed;
                }
            }
        }
        Ok(config)
    }

    pub fn audit_path(&self, config: &Config) -> PathBuf {
        self.audit_log
            .clone()
            .or_else(|| config.audit_log.clone())
            .unwrap_or_else(audit::default_path)
    }
}
