//! A headless new run's values: the form its source asks for, filled from
//! `--ref` and `--input`, with the same checks as the dashboard's form.

use crate::app::state::{Form, Inputs};
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
    form.fill(given)?;
    form.values().map_err(|why| format!("{target}: {why}"))
}
