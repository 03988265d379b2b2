//! `kind = "jenkins"`: Jenkins jobs and their builds.

use super::{ConfigError, KindParser, SourceConfig};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JenkinsConfig {}

pub(super) fn parse(p: &KindParser<'_, '_>) -> Result<SourceConfig, ConfigError> {
    Err(ConfigError::at(
        &p.name_at(),
        "jenkins sources are being built (issue 3)",
    ))
}
