//! A headless new run's values: the form its source asks for, filled from
//! `--ref` and `--input`, with the same checks as the dashboard's form.

use crate::app::state::{FieldRole, Form, Inputs};
use crate::model::Target;
use crate::sources;

/// The ref and inputs a new run takes, checked.
pub(super) async fn values(
    source: &dyn sources::Source,
    target: &Target,
    git_ref: Option<&str>,
    given: &[(String, String)],
) -> Result<(Option<String>, Inputs), String> {
    let spec = tokio::time::timeout(source.fetch_timeout(), source.dispatch_form(&target.id))
        .await
        .map_err(|_| {
            format!(
                "{}: no answer within {}s",
                target.source,
                source.fetch_timeout().as_secs()
            )
        })?
        .map_err(|e| format!("cannot start a new run of {target}: {e}"))?;
    let mut form = Form::new(target.clone(), &spec, git_ref);
    if git_ref.is_some() && spec.git_ref.is_none() {
        return Err(format!(
            "{target} takes no ref: {} sources build what the job is configured to (drop --ref)",
            source.kind()
        ));
    }
    let mut extra = Vec::new();
    for (name, value) in given {
        match form
            .fields
            .iter_mut()
            .find(|f| f.role == FieldRole::Input && f.name == *name)
        {
            Some(field) => field.value = value.clone(),
            None if spec.free_inputs => extra.push(format!("{name}={value}")),
            None => {
                let known: Vec<&str> = spec.inputs.iter().map(|i| i.name.as_str()).collect();
                return Err(format!(
                    "{target} has no input `{name}` (it takes: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ));
            }
        }
    }
    if let Some(more) = form.fields.iter_mut().find(|f| f.role == FieldRole::More) {
        more.value = extra.join(", ");
    }
    form.values().map_err(|why| format!("{target}: {why}"))
}
