//! Where things are in a config file: locations, located values, the
//! `file:line:column: message` errors, and the byte-offset → line:column index.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// A place in a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: Arc<Path>,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// A value with where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    pub at: Location,
}

/// One problem with a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub at: Option<Location>,
    pub file: Option<Arc<Path>>,
    pub message: String,
}

impl ConfigError {
    pub fn at(at: &Location, message: impl Into<String>) -> Self {
        ConfigError {
            at: Some(at.clone()),
            file: Some(at.file.clone()),
            message: message.into(),
        }
    }

    pub fn without_location(message: impl Into<String>) -> Self {
        ConfigError {
            at: None,
            file: None,
            message: message.into(),
        }
    }

    pub(super) fn in_file(file: &Arc<Path>, message: impl Into<String>) -> Self {
        ConfigError {
            at: None,
            file: Some(file.clone()),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.at, &self.file) {
            (Some(at), _) => write!(f, "{at}: {}", self.message),
            (None, Some(file)) => write!(f, "{}: {}", file.display(), self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

/// Every error of one file, reported together.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Turns byte offsets into line:column.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
    text_len: usize,
    file: Arc<Path>,
    text: String,
}

impl LineIndex {
    pub(super) fn new(text: &str, file: Arc<Path>) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex {
            starts,
            text_len: text.len(),
            file,
            text: text.to_string(),
        }
    }

    pub(super) fn at(&self, offset: usize) -> Location {
        let offset = offset.min(self.text_len);
        let line = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let line_start = self.starts[line];
        let column = self
            .text
            .get(line_start..offset)
            .map_or(1, |s| s.chars().count() + 1);
        Location {
            file: self.file.clone(),
            line: line + 1,
            column,
        }
    }

    /// Where byte `offset` of a string value is in the file: exact when the
    /// value is written on one line without escapes, else the value's start.
    pub(super) fn offset_in_string(
        &self,
        span: std::ops::Range<usize>,
        value: &str,
        offset: usize,
    ) -> usize {
        let written = self.text.get(span.clone()).unwrap_or("");
        let plain = ['"', '\''].into_iter().any(|q| {
            written.len() == value.len() + 2
                && written.starts_with(q)
                && written.ends_with(q)
                && &written[1..written.len() - 1] == value
        });
        if plain {
            span.start + 1 + offset
        } else {
            span.start
        }
    }

    pub(super) fn toml_error(&self, e: &toml::de::Error) -> ConfigError {
        let message = e.message().trim().to_string();
        match e.span() {
            Some(span) => ConfigError::at(&self.at(span.start), message),
            None => ConfigError::in_file(&self.file, message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters_not_bytes() {
        let index = LineIndex::new("a = \"é\"\nb = 1\n", Arc::from(Path::new("f.toml")));
        let at = index.at(9);
        assert_eq!((at.line, at.column), (2, 1));
        // The closing quote after the two-byte é is the 7th character.
        let at = index.at(7);
        assert_eq!((at.line, at.column), (1, 7));
    }
}
