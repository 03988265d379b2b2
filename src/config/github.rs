//! `kind = "github"`: GitHub Actions workflow runs of one repository.

use super::{ConfigError, KindParser, SourceConfig};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GithubConfig {}

pub(super) fn parse(p: &KindParser<'_, '_>) -> Result<SourceConfig, ConfigError> {
    Err(ConfigError::at(
        &p.name_at(),
        "github sources are being built (issue 3)",
    ))
}
