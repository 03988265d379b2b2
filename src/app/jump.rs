//! `:` jump: a prompt with fuzzy completion over every app, model, pipeline
//! and source name. An exact name wins over a fuzzy match; the rest rank by
//! the matcher's score.

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config as MatcherConfig, Matcher, Utf32Str};

use crate::app::state::State;

/// Longest text the prompt takes.
const MAX_JUMP_INPUT: usize = 128;

/// What a name stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum JumpKind {
    App,
    Model,
    Pipeline,
    Source,
}

impl JumpKind {
    pub fn word(self) -> &'static str {
        match self {
            JumpKind::App => "app",
            JumpKind::Model => "model",
            JumpKind::Pipeline => "pipeline",
            JumpKind::Source => "source",
        }
    }
}

/// One place to jump to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JumpTarget {
    pub kind: JumpKind,
    /// The source's index in `State::sources`.
    pub source: usize,
    /// The name typed and matched (the source's own name for a source).
    pub name: String,
}

/// The open prompt: what is typed, the matches best first, the one Enter takes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Jump {
    pub input: String,
    pub matches: Vec<JumpTarget>,
    pub selected: usize,
}

impl Jump {
    pub fn open(state: &State) -> Jump {
        let mut jump = Jump::default();
        jump.rank(state);
        jump
    }

    pub fn push(&mut self, state: &State, c: char) {
        if self.input.len() < MAX_JUMP_INPUT {
            self.input.push(c);
            self.rank(state);
        }
    }

    pub fn pop(&mut self, state: &State) {
        self.input.pop();
        self.rank(state);
    }

    /// Tab: the next match (around the end); Shift-Tab: the previous.
    pub fn cycle(&mut self, forward: bool) {
        let n = self.matches.len();
        if n == 0 {
            return;
        }
        self.selected = if forward {
            (self.selected + 1) % n
        } else {
            (self.selected + n - 1) % n
        };
    }

    pub fn chosen(&self) -> Option<&JumpTarget> {
        self.matches.get(self.selected)
    }

    fn rank(&mut self, state: &State) {
        self.matches = ranked(state, &self.input);
        self.selected = 0;
    }
}

/// Every name there is to jump to, each once.
pub fn candidates(state: &State) -> Vec<JumpTarget> {
    let mut all = Vec::new();
    for (i, source) in state.sources.iter().enumerate() {
        let snap = &source.snapshot;
        let at = |kind, name: &str| JumpTarget {
            kind,
            source: i,
            name: name.to_string(),
        };
        all.extend(snap.apps.iter().map(|a| at(JumpKind::App, &a.name)));
        all.extend(snap.models.iter().map(|m| at(JumpKind::Model, &m.model)));
        let mut pipelines: Vec<&str> = snap.pipelines.iter().map(|r| r.pipeline.as_str()).collect();
        pipelines.sort_unstable();
        pipelines.dedup();
        all.extend(pipelines.into_iter().map(|p| at(JumpKind::Pipeline, p)));
        all.push(at(JumpKind::Source, &source.name));
    }
    all
}

/// The candidates matching `input`: exact names first (case aside), then by
/// fuzzy score, then by kind and name. Empty input lists everything.
pub fn ranked(state: &State, input: &str) -> Vec<JumpTarget> {
    let mut all = candidates(state);
    let input = input.trim();
    if input.is_empty() {
        all.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        return all;
    }
    let mut matcher = Matcher::new(MatcherConfig::DEFAULT);
    let pattern = Pattern::parse(input, CaseMatching::Smart, Normalization::Smart);
    let mut buf = Vec::new();
    let mut scored: Vec<(bool, u32, JumpTarget)> = all
        .into_iter()
        .filter_map(|t| {
            let score = pattern.score(Utf32Str::new(&t.name, &mut buf), &mut matcher)?;
            Some((t.name.eq_ignore_ascii_case(input), score, t))
        })
        .collect();
    scored.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(b.1.cmp(&a.1))
            .then_with(|| (a.2.kind, &a.2.name).cmp(&(b.2.kind, &b.2.name)))
    });
    scored.into_iter().map(|(_, _, t)| t).collect()
}
