//! What a template's placeholders stand for on each kind of row. An empty
//! field is no value: the run is refused, never filled with "".

use crate::app::state::State;
use crate::config::{Placeholder, Scope};
use crate::model::{GitOpsApp, ModelDrift, PipelineRun, Target, TargetKind};

/// The item a target names, in its source's last read.
enum Item<'a> {
    Run(&'a PipelineRun),
    App(&'a GitOpsApp),
    Model(&'a ModelDrift),
}

fn item<'a>(state: &'a State, target: &Target) -> Option<Item<'a>> {
    let snapshot = &state
        .sources
        .iter()
        .find(|s| s.name == target.source)?
        .snapshot;
    match target.kind {
        TargetKind::Run => snapshot
            .pipelines
            .iter()
            .find(|r| r.id == target.id)
            .map(Item::Run),
        TargetKind::App => snapshot
            .apps
            .iter()
            .find(|a| a.name == target.id)
            .map(Item::App),
        TargetKind::Model => snapshot
            .models
            .iter()
            .find(|m| m.model == target.id)
            .map(Item::Model),
        TargetKind::Pipeline => None,
    }
}

/// The kind of row `target` is, as scopes name it: a repository's app is
/// `repo`, a controller's app `app`. None when it is none of them (a
/// pipeline) or is gone from its source.
pub fn row_kind(state: &State, target: &Target) -> Option<Scope> {
    Some(match item(state, target)? {
        Item::Run(_) => Scope::Run,
        Item::App(app) if app.repo.is_some() => Scope::Repo,
        Item::App(_) => Scope::App,
        Item::Model(_) => Scope::Model,
    })
}

/// The item, or its whole source, is marked production.
pub fn is_production(state: &State, target: &Target) -> bool {
    let source = state
        .sources
        .iter()
        .any(|s| s.name == target.source && s.production);
    source
        || match item(state, target) {
            Some(Item::App(a)) => a.production,
            Some(Item::Model(m)) => m.production,
            _ => false,
        }
}

/// The value of `placeholder` for the item `target` names; None when it
/// has none.
///
/// | placeholder   | run            | app / repo app                 | model                     |
/// |---------------|----------------|--------------------------------|---------------------------|
/// | `{source}`    | source name    | source name                    | source name               |
/// | `{name}`      | run id         | app name                       | model name                |
/// | `{namespace}` | –              | namespace                      | –                         |
/// | `{cluster}`   | –              | cluster                        | –                         |
/// | `{revision}`  | commit         | live revision (repo: head)     | serving version's commit  |
/// | `{url}`       | run link       | desired-state repository URL   | –                         |
/// | `{project}`   | repository     | –                              | –                         |
/// | `{branch}`    | branch         | repo app: its branch           | –                         |
/// | `{version}`   | –              | –                              | serving version           |
pub fn value(state: &State, target: &Target, placeholder: Placeholder) -> Option<String> {
    let item = item(state, target)?;
    let text = |s: &str| (!s.is_empty()).then(|| s.to_string());
    match (placeholder, item) {
        (Placeholder::Source, _) => text(&target.source),
        (Placeholder::Name, _) => text(&target.id),
        (Placeholder::Namespace, Item::App(a)) => text(&a.namespace),
        (Placeholder::Cluster, Item::App(a)) => text(&a.cluster),
        (Placeholder::Revision, Item::Run(r)) => text(&r.commit),
        (Placeholder::Revision, Item::App(a)) => a
            .revision
            .clone()
            .or_else(|| a.repo.as_ref().map(|r| r.head.clone())),
        (Placeholder::Revision, Item::Model(m)) => m
            .versions
            .iter()
            .find(|v| Some(&v.version) == m.version.as_ref())
            .and_then(|v| v.revision.clone()),
        (Placeholder::Url, Item::Run(r)) => r.url.clone(),
        (Placeholder::Url, Item::App(a)) => a.repo_url.clone(),
        (Placeholder::Project, Item::Run(r)) => text(&r.project),
        (Placeholder::Branch, Item::Run(r)) => text(&r.branch),
        (Placeholder::Branch, Item::App(a)) => a.repo.as_ref().map(|r| r.branch.clone()),
        (Placeholder::Version, Item::Model(m)) => m.version.clone(),
        _ => None,
    }
    .filter(|v| !v.is_empty())
}
