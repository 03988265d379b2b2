//! `kind = "gitlab"`: GitLab CI pipelines of one project.

use super::{ConfigError, KindParser, SourceConfig};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitlabConfig {}

pub(super) fn parse(p: &KindParser<'_, '_>) -> Result<SourceConfig, ConfigError> {
    Err(ConfigError::at(
        &p.name_at(),
        "gitlab sources are being built (issue 3)",
    ))
}
