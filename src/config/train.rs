//! `train = { pipeline = "SOURCE/PIPELINE", conf = { … } }` on a model
//! entry: the pipeline that retrains the model and the conf its new run
//! starts with. Its form and templates are checked here; whether the
//! source exists and starts runs, once every source is read
//! (`parse::check_links`).

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::{ConfigError, KindParser, Located};
use crate::model::TrainLink;

/// A model entry's `train`, validated in form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Train {
    /// `SOURCE/PIPELINE`, where it was written.
    pub pipeline: Located<String>,
    /// Input name and template (placeholders checked), sorted by name.
    pub conf: Vec<(String, String)>,
}

impl Train {
    /// The link the model carries (`ModelDrift::train`).
    pub fn link(&self) -> TrainLink {
        let (source, pipeline) = self
            .pipeline
            .value
            .split_once('/')
            .unwrap_or((self.pipeline.value.as_str(), ""));
        TrainLink {
            source: source.to_string(),
            pipeline: pipeline.to_string(),
            conf: self.conf.clone(),
        }
    }
}

/// As written in the file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTrain {
    pipeline: Spanned<String>,
    #[serde(default)]
    conf: BTreeMap<String, Spanned<String>>,
}

/// Check a model entry's `train`: `SOURCE/PIPELINE`, and each conf value a
/// template with known placeholders only.
pub(crate) fn parse(
    p: &KindParser<'_, '_>,
    raw: Option<&RawTrain>,
) -> Result<Option<Train>, ConfigError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let ok = raw
        .pipeline
        .get_ref()
        .split_once('/')
        .is_some_and(|(s, name)| !s.trim().is_empty() && !name.trim().is_empty());
    if !ok {
        return Err(p.error(
            &raw.pipeline,
            format!(
                "train: pipeline `{}` is not SOURCE/PIPELINE (for example \"airflow/retrain_fraud\")",
                raw.pipeline.get_ref()
            ),
        ));
    }
    let mut conf = Vec::new();
    for (name, template) in &raw.conf {
        crate::model::train::check_template(template.get_ref())
            .map_err(|why| p.error(template, format!("train.conf.{name}: {why}")))?;
        conf.push((name.clone(), template.get_ref().clone()));
    }
    Ok(Some(Train {
        pipeline: Located {
            value: raw.pipeline.get_ref().clone(),
            at: p.at(raw.pipeline.span()),
        },
        conf,
    }))
}
