//! What each source kind's parser is handed: its `[[source]]` table and
//! helpers for the checks every kind shares (URLs, secrets, durations).

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use toml::de::DeTable;

use super::parse::deserialize_table;
use super::{ConfigError, LineIndex, Location, Secret, SourceConfig, SourceKind, parse_duration};

/// A kind's parser: its `[[source]]` table in, the validated source out.
pub type KindParse = fn(&KindParser<'_, '_>) -> Result<SourceConfig, ConfigError>;

/// What every source kind's parser gets: its table, and helpers that turn
/// spans into `file:line:column` errors.
pub struct KindParser<'a, 'i> {
    pub(super) lines: &'a LineIndex,
    pub(super) span: std::ops::Range<usize>,
    pub(super) table: &'a DeTable<'i>,
}

impl<'i> KindParser<'_, 'i> {
    /// Deserialize the whole `[[source]]` table into the kind's raw struct
    /// (which declares `name`, `kind`, `production`, `refresh` and its own
    /// keys, with `deny_unknown_fields`).
    pub(crate) fn deserialize<T: Deserialize<'i>>(&self) -> Result<T, ConfigError> {
        deserialize_table::<T>(self.span.clone(), self.table.clone())
            .map_err(|e| self.lines.toml_error(&e))
    }

    /// Where a spanned value was written.
    pub(crate) fn at(&self, span: std::ops::Range<usize>) -> Location {
        self.lines.at(span.start)
    }

    /// An error at a spanned value.
    pub(crate) fn error<T>(&self, value: &Spanned<T>, message: impl Into<String>) -> ConfigError {
        ConfigError::at(&self.at(value.span()), message)
    }

    /// `key`: an http:// or https:// address with a host and no query or
    /// fragment. `example` says how to write it (quoted).
    pub(crate) fn http_url(
        &self,
        url: &Spanned<String>,
        key: &str,
        example: &str,
    ) -> Result<url::Url, ConfigError> {
        let text = url.get_ref();
        let parsed = url::Url::parse(text).map_err(|e| {
            self.error(
                url,
                format!("{key}: `{text}` is not a URL ({e}); write it like {example}"),
            )
        })?;
        if !matches!(parsed.scheme(), "http" | "https")
            || parsed.host_str().is_none()
            || parsed.query().is_some()
            || parsed.fragment().is_some()
        {
            return Err(self.error(
                url,
                format!(
                    "{key}: `{text}` must be an http:// or https:// address with a host and no query"
                ),
            ));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            // Not repeated: the user part may hold a password.
            return Err(self.error(
                url,
                format!("{key} must not carry a user or password (not repeated here): use `token`"),
            ));
        }
        Ok(parsed)
    }

    /// `token = { env | file | command }`; a string is refused without
    /// being repeated (it would be the token itself). `env` names the
    /// variable the example suggests.
    pub(crate) fn secret(
        &self,
        value: &Spanned<toml::Value>,
        key: &str,
        env: &str,
    ) -> Result<Secret, ConfigError> {
        if value.get_ref().is_str() {
            return Err(self.error(
                value,
                format!(
                    "{key} must not be written inline (and is not repeated here): use \
                     {key} = {{ env = \"{env}\" }}, {{ file = \"…\" }} or {{ command = \"…\" }}"
                ),
            ));
        }
        value.get_ref().clone().try_into::<Secret>().map_err(|e| {
            self.error(
                value,
                format!(
                    "{key}: {} (write {{ env | file | command = \"…\" }})",
                    e.message().trim()
                ),
            )
        })
    }

    /// `insecure = true` turns certificate checks off; beside `ca_file` it
    /// is a contradiction.
    pub(crate) fn insecure(
        &self,
        flag: &Option<Spanned<bool>>,
        has_ca_file: bool,
    ) -> Result<bool, ConfigError> {
        match flag {
            Some(flag) if *flag.get_ref() && has_ca_file => Err(self.error(
                flag,
                "give either `ca_file` (trust this CA) or `insecure = true` (trust anything), not both",
            )),
            Some(flag) => Ok(*flag.get_ref()),
            None => Ok(false),
        }
    }

    /// An optional count between 1 and `max` (`limit`, `max_tags`, …),
    /// `default` when absent; `what` says what it counts, in the error.
    pub(crate) fn count<N>(
        &self,
        value: &Option<Spanned<i64>>,
        key: &str,
        default: N,
        max: N,
        what: &str,
    ) -> Result<N, ConfigError>
    where
        N: TryFrom<i64> + PartialOrd + From<u8> + Copy + std::fmt::Display,
    {
        let Some(v) = value else {
            return Ok(default);
        };
        match N::try_from(*v.get_ref()) {
            Ok(n) if n >= N::from(1) && n <= max => Ok(n),
            _ => Err(self.error(
                v,
                format!(
                    "{key} must be between 1 and {max} ({what}), not {}",
                    v.get_ref()
                ),
            )),
        }
    }

    /// An optional duration key ("30s").
    pub(crate) fn duration(
        &self,
        value: &Option<Spanned<String>>,
        key: &str,
    ) -> Result<Option<Duration>, ConfigError> {
        value
            .as_ref()
            .map(|s| parse_duration(s.get_ref()).map_err(|e| self.error(s, format!("{key}: {e}"))))
            .transpose()
    }

    /// The keys every kind shares (`name`, `production`, `refresh`) around
    /// its own part, located at its `name`. `kind` runs after `refresh` is
    /// checked, so the first error reported stays the first one written.
    pub(crate) fn source(
        &self,
        name: String,
        production: bool,
        refresh: &Option<Spanned<String>>,
        kind: impl FnOnce() -> Result<SourceKind, ConfigError>,
    ) -> Result<SourceConfig, ConfigError> {
        Ok(SourceConfig {
            name,
            production,
            refresh: self.duration(refresh, "refresh")?,
            kind: kind()?,
            at: Some(self.name_at()),
        })
    }

    /// The source's own location (its `name`), for later errors.
    pub(crate) fn name_at(&self) -> Location {
        self.table.get("name").map_or_else(
            || self.lines.at(self.span.start),
            |n| self.lines.at(n.span().start),
        )
    }
}
