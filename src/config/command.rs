//! `[[command]]`: custom commands, as k9s plugins. A key on a kind of row
//! runs a shell command built from a template whose placeholders are filled
//! from the selected item, each value shell-quoted. Which keys are free is
//! decided by the keymap (`app::custom`); everything else is checked here.

use serde::Deserialize;
use toml::Spanned;
use toml::de::DeValue;

use super::location::LineIndex;
use super::parse::deserialize_table;
use super::{ConfigError, Located, Location};

/// The kind of row a custom command applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// A pipeline run.
    Run,
    /// An app of a GitOps controller (Argo CD, Flux…).
    App,
    /// A model (Drift tab).
    Model,
    /// An app of a desired-state repository (a `git` source).
    Repo,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Run, Scope::App, Scope::Model, Scope::Repo];

    /// As written in `scope`.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Run => "run",
            Scope::App => "app",
            Scope::Model => "model",
            Scope::Repo => "repo",
        }
    }

    /// "a run", "an app": what a row of this kind is, in words.
    pub fn described(self) -> &'static str {
        match self {
            Scope::Run => "a run",
            Scope::App => "an app",
            Scope::Model => "a model",
            Scope::Repo => "a repository app",
        }
    }

    /// Where rows of this kind are, in words.
    pub fn plural(self) -> &'static str {
        match self {
            Scope::Run => "pipeline runs (tab 2)",
            Scope::App => "GitOps apps (tab 3)",
            Scope::Model => "models (tab 4)",
            Scope::Repo => "repository apps (tab 3)",
        }
    }
}

/// A value a template can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Placeholder {
    Source,
    Name,
    Namespace,
    Cluster,
    Revision,
    Url,
    Project,
    Branch,
    Version,
}

impl Placeholder {
    pub const ALL: [Placeholder; 9] = [
        Placeholder::Source,
        Placeholder::Name,
        Placeholder::Namespace,
        Placeholder::Cluster,
        Placeholder::Revision,
        Placeholder::Url,
        Placeholder::Project,
        Placeholder::Branch,
        Placeholder::Version,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Placeholder::Source => "source",
            Placeholder::Name => "name",
            Placeholder::Namespace => "namespace",
            Placeholder::Cluster => "cluster",
            Placeholder::Revision => "revision",
            Placeholder::Url => "url",
            Placeholder::Project => "project",
            Placeholder::Branch => "branch",
            Placeholder::Version => "version",
        }
    }

    fn from_name(name: &str) -> Option<Placeholder> {
        Placeholder::ALL.into_iter().find(|p| p.name() == name)
    }
}

impl std::fmt::Display for Placeholder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{{{}}}", self.name())
    }
}

/// One piece of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// Shell text, as written (`{{` and `}}` already made single braces).
    Text(String),
    /// A value, shell-quoted when substituted.
    Value(Placeholder),
}

/// A command template: shell text with `{placeholder}`s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// As written in the config.
    pub text: String,
    pub parts: Vec<Part>,
}

/// Why a template could not be filled for an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RenderError {
    /// The item has no value for it (a run has no namespace).
    Missing(Placeholder),
    /// Its value holds a NUL byte, which no shell word can carry.
    Nul(Placeholder),
}

impl Template {
    /// Parse `text`. `{name}` is a placeholder; `{{` and `}}` are literal
    /// braces; any other brace (`{}`, awk's `{print $1}`) is shell text. A
    /// placeholder inside quotes is an error: its value is quoted already,
    /// and quoting it again would split it. Errors carry the byte offset.
    pub fn parse(text: &str) -> Result<Template, (usize, String)> {
        if text.trim().is_empty() {
            return Err((0, "run is empty: give the command to run".into()));
        }
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut quote: Option<char> = None;
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().is_some_and(|(_, n)| *n == '{') => {
                    chars.next();
                    literal.push('{');
                    continue;
                }
                '}' if chars.peek().is_some_and(|(_, n)| *n == '}') => {
                    chars.next();
                    literal.push('}');
                    continue;
                }
                '{' => {
                    if let Some(word) = identifier_at(&text[at + 1..]) {
                        let Some(p) = Placeholder::from_name(word) else {
                            return Err((at, unknown_placeholder(word)));
                        };
                        if let Some(q) = quote {
                            return Err((
                                at,
                                format!(
                                    "{p} is inside {q}quotes{q}: each value is shell-quoted when \
                                     substituted, so remove the quotes around it"
                                ),
                            ));
                        }
                        if !literal.is_empty() {
                            parts.push(Part::Text(std::mem::take(&mut literal)));
                        }
                        parts.push(Part::Value(p));
                        // Skip the word and its closing brace.
                        for _ in 0..=word.chars().count() {
                            chars.next();
                        }
                        continue;
                    }
                }
                '\\' if quote != Some('\'') => {
                    literal.push(c);
                    if let Some((_, n)) = chars.next() {
                        literal.push(n);
                    }
                    continue;
                }
                '\'' | '"' if quote.is_none() => quote = Some(c),
                q if quote == Some(q) => quote = None,
                _ => {}
            }
            literal.push(c);
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Template {
            text: text.to_string(),
            parts,
        })
    }

    /// The placeholders it uses, in order, each once.
    pub fn placeholders(&self) -> Vec<Placeholder> {
        let mut out = Vec::new();
        for part in &self.parts {
            if let Part::Value(p) = part {
                if !out.contains(p) {
                    out.push(*p);
                }
            }
        }
        out
    }

    /// The command line for an item: each placeholder replaced by its
    /// value, shell-quoted. A placeholder without a value (or an empty one)
    /// is an error, never an empty string.
    pub fn render(
        &self,
        value: impl Fn(Placeholder) -> Option<String>,
    ) -> Result<String, RenderError> {
        let mut line = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => line.push_str(t),
                Part::Value(p) => {
                    let v = value(*p)
                        .filter(|v| !v.is_empty())
                        .ok_or(RenderError::Missing(*p))?;
                    let quoted = shlex::try_quote(&v).map_err(|_| RenderError::Nul(*p))?;
                    line.push_str(&quoted);
                }
            }
        }
        Ok(line)
    }
}

/// `name` in `{name}`: letters, digits, `_` and `-`, starting with a letter
/// or `_`, closed by `}`.
fn identifier_at(rest: &str) -> Option<&str> {
    let end = rest.find('}')?;
    let word = &rest[..end];
    let mut chars = word.chars();
    let first = chars.next()?;
    ((first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    .then_some(word)
}

fn unknown_placeholder(word: &str) -> String {
    let known: Vec<String> = Placeholder::ALL.iter().map(ToString::to_string).collect();
    format!(
        "unknown placeholder `{{{word}}}` (expected one of: {}); write {{{{ and }}}} for a literal brace",
        known.join(", ")
    )
}

/// One validated `[[command]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandConfig {
    pub name: String,
    /// Parsed and checked against the keymap by `app::custom`.
    pub key: Located<String>,
    pub scopes: Vec<Scope>,
    pub run: Template,
    /// Ask first, showing the exact command line (default true).
    pub confirm: bool,
    /// Run detached with its output in a view (default false: it gets the terminal).
    pub background: bool,
    /// It changes something: refused when read-only (default false).
    pub mutating: bool,
    /// Where its table starts.
    pub at: Location,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommand {
    name: Spanned<String>,
    key: Spanned<String>,
    scope: Spanned<RawScopes>,
    run: Spanned<String>,
    confirm: Option<bool>,
    background: Option<bool>,
    mutating: Option<bool>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawScopes {
    One(String),
    Many(Vec<String>),
}

/// Every `[[command]]` table; each problem goes to `errors` with its place.
pub(super) fn parse_all(
    raw: Option<Spanned<DeValue<'_>>>,
    lines: &LineIndex,
    errors: &mut Vec<ConfigError>,
) -> Vec<CommandConfig> {
    let Some(raw) = raw else {
        return Vec::new();
    };
    let DeValue::Array(items) = raw.get_ref() else {
        errors.push(ConfigError::at(
            &lines.at(raw.span().start),
            "`command` must be an array of tables: write each command as [[command]]",
        ));
        return Vec::new();
    };
    let mut commands: Vec<CommandConfig> = Vec::new();
    for item in items {
        let at = lines.at(item.span().start);
        let DeValue::Table(table) = item.get_ref() else {
            errors.push(ConfigError::at(&at, "each [[command]] must be a table"));
            continue;
        };
        let raw = match deserialize_table::<RawCommand>(item.span(), table.clone()) {
            Ok(r) => r,
            Err(e) => {
                errors.push(lines.toml_error(&e));
                continue;
            }
        };
        if let Some(c) = parse_one(raw, at, lines, errors) {
            if commands.iter().any(|o| o.name == c.name) {
                errors.push(ConfigError::at(
                    &c.at,
                    format!(
                        "[[command]] `{}` is defined twice: names must be unique",
                        c.name
                    ),
                ));
            }
            commands.push(c);
        }
    }
    commands
}

fn parse_one(
    raw: RawCommand,
    at: Location,
    lines: &LineIndex,
    errors: &mut Vec<ConfigError>,
) -> Option<CommandConfig> {
    let before = errors.len();
    let name = raw.name.get_ref().trim().to_string();
    if name.is_empty() {
        errors.push(ConfigError::at(
            &lines.at(raw.name.span().start),
            "[[command]] name is empty: give it a name",
        ));
    }
    let scopes = scopes(&raw.scope, &name, lines, errors);
    let run = match Template::parse(raw.run.get_ref()) {
        Ok(t) => Some(t),
        Err((offset, message)) => {
            errors.push(ConfigError::at(
                &lines.at(lines.offset_in_string(raw.run.span(), raw.run.get_ref(), offset)),
                format!("[[command]] `{name}`: {message}"),
            ));
            None
        }
    };
    let key = Located {
        at: lines.at(raw.key.span().start),
        value: raw.key.into_inner(),
    };
    let run = run?;
    (errors.len() == before).then_some(CommandConfig {
        name,
        key,
        scopes,
        run,
        confirm: raw.confirm.unwrap_or(true),
        background: raw.background.unwrap_or(false),
        mutating: raw.mutating.unwrap_or(false),
        at,
    })
}

fn scopes(
    raw: &Spanned<RawScopes>,
    name: &str,
    lines: &LineIndex,
    errors: &mut Vec<ConfigError>,
) -> Vec<Scope> {
    let at = lines.at(raw.span().start);
    let words = match raw.get_ref() {
        RawScopes::One(w) => vec![w.as_str()],
        RawScopes::Many(ws) => ws.iter().map(String::as_str).collect(),
    };
    if words.is_empty() {
        errors.push(ConfigError::at(
            &at,
            format!("[[command]] `{name}`: scope is empty (expected run, app, model or repo)"),
        ));
    }
    let mut out = Vec::new();
    for word in words {
        match Scope::ALL.into_iter().find(|s| s.name() == word) {
            Some(s) if !out.contains(&s) => out.push(s),
            Some(_) => {}
            None => errors.push(ConfigError::at(
                &at,
                format!(
                    "[[command]] `{name}`: unknown scope `{word}` (expected run, app, model or repo)"
                ),
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(text: &str) -> Vec<Part> {
        Template::parse(text).expect("valid").parts
    }

    #[test]
    fn placeholders_braces_and_shell_text() {
        assert_eq!(
            parts("kubectl -n {namespace} logs deploy/{name}"),
            vec![
                Part::Text("kubectl -n ".into()),
                Part::Value(Placeholder::Namespace),
                Part::Text(" logs deploy/".into()),
                Part::Value(Placeholder::Name),
            ]
        );
        assert_eq!(
            parts("echo ${{HOME}} {name} | awk '{print $1}' {}"),
            vec![
                Part::Text("echo ${HOME} ".into()),
                Part::Value(Placeholder::Name),
                Part::Text(" | awk '{print $1}' {}".into()),
            ]
        );
    }

    #[test]
    fn bad_templates_say_what_and_where() {
        let (at, message) = Template::parse("echo {nmae}").expect_err("unknown");
        assert_eq!(at, 5);
        assert!(
            message.starts_with("unknown placeholder `{nmae}`"),
            "{message}"
        );
        let (at, message) = Template::parse("echo \"x {name}\"").expect_err("quoted");
        assert_eq!(at, 8);
        assert!(message.contains("inside \"quotes\""), "{message}");
        assert!(Template::parse("echo '{name}'").is_err());
        // A backslash-escaped quote opens nothing.
        assert!(Template::parse("echo \\' {name}").is_ok());
        assert!(Template::parse("   ").is_err());
    }

    #[test]
    fn values_are_quoted_and_missing_ones_refused() {
        let t = Template::parse("argocd app diff {name} --server {url}").expect("valid");
        let line = t.render(|p| match p {
            Placeholder::Name => Some("pay ments".into()),
            Placeholder::Url => Some("https://a/b".into()),
            _ => None,
        });
        assert_eq!(
            line,
            Ok("argocd app diff 'pay ments' --server https://a/b".into())
        );
        assert_eq!(
            t.render(|p| (p == Placeholder::Name).then(|| "x".into())),
            Err(RenderError::Missing(Placeholder::Url))
        );
        assert_eq!(
            t.render(|_| Some(String::new())),
            Err(RenderError::Missing(Placeholder::Name))
        );
        assert_eq!(
            t.render(|_| Some("a\0b".into())),
            Err(RenderError::Nul(Placeholder::Name))
        );
    }
}
