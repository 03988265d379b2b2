//! The new-run form: its fields, pre-filled from what the backend asks
//! for, and the ref and inputs it sends.

use crate::model::{DispatchForm, Target};

/// One field of the new-run form.
#[derive(Clone, Debug, PartialEq)]
pub struct FormField {
    /// `ref`, an input's name, or `more` for free `name=value` pairs.
    pub name: String,
    pub value: String,
    /// What the backend says about it (description, choices).
    pub hint: String,
    pub choices: Vec<String>,
    pub required: bool,
    pub role: FieldRole,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldRole {
    Ref,
    Input,
    /// `name=value, name=value` (GitLab variables).
    More,
}

/// A new run's inputs, `name = value`, in the order given.
pub type Inputs = Vec<(String, String)>;

/// The small form that starts a new run: its ref and inputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Form {
    /// The pipeline (`TargetKind::Pipeline`).
    pub target: Target,
    pub title: String,
    pub fields: Vec<FormField>,
    pub focused: usize,
    /// The model this run retrains (a retrain from the Drift tab).
    pub retrain: Option<super::RetrainOf>,
}

impl Form {
    /// The form a backend asks for, pre-filled with its defaults (and
    /// `git_ref` when given: the branch of the run it was opened from).
    pub fn new(target: Target, spec: &DispatchForm, git_ref: Option<&str>) -> Form {
        let mut fields = Vec::new();
        if let Some(default) = &spec.git_ref {
            fields.push(FormField {
                name: "ref".into(),
                value: git_ref.unwrap_or(default).to_string(),
                hint: "branch or tag to run on".into(),
                choices: Vec::new(),
                required: true,
                role: FieldRole::Ref,
            });
        }
        for input in &spec.inputs {
            let mut hint = input.description.clone();
            if !input.choices.is_empty() {
                if !hint.is_empty() {
                    hint.push_str(" — ");
                }
                hint.push_str(&format!("one of: {}", input.choices.join(", ")));
            }
            fields.push(FormField {
                name: input.name.clone(),
                value: input.default.clone(),
                hint,
                choices: input.choices.clone(),
                required: input.required,
                role: FieldRole::Input,
            });
        }
        if spec.free_inputs {
            fields.push(FormField {
                name: "variables".into(),
                value: String::new(),
                hint: "more inputs: name=value, name=value".into(),
                choices: Vec::new(),
                required: false,
                role: FieldRole::More,
            });
        }
        let name = if spec.name.is_empty() {
            &target.id
        } else {
            &spec.name
        };
        Form {
            title: format!("Start a new run of {name} ({})", target.source),
            target,
            fields,
            focused: 0,
            retrain: None,
        }
    }

    /// Put `given` values into the fields of their names; names it does not
    /// ask for go into its free `name=value` field when it has one, else
    /// are refused naming what it takes.
    pub fn fill(&mut self, given: &[(String, String)]) -> Result<(), String> {
        let free = self.fields.iter().any(|f| f.role == FieldRole::More);
        let mut extra = Vec::new();
        for (name, value) in given {
            let field = self
                .fields
                .iter_mut()
                .find(|f| f.role == FieldRole::Input && f.name == *name);
            match field {
                Some(field) => field.value = value.clone(),
                None if free => extra.push(format!("{name}={value}")),
                None => {
                    let known: Vec<&str> = (self.fields.iter())
                        .filter(|f| f.role == FieldRole::Input)
                        .map(|f| f.name.as_str())
                        .collect();
                    return Err(format!(
                        "{} has no input `{name}` (it takes: {})",
                        self.target,
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ));
                }
            }
        }
        if let Some(more) = self.fields.iter_mut().find(|f| f.role == FieldRole::More) {
            if !extra.is_empty() {
                more.value = extra.join(", ");
            }
        }
        Ok(())
    }

    /// The ref and inputs to send, or what is wrong with them (naming the field).
    pub fn values(&self) -> Result<(Option<String>, Inputs), String> {
        let mut git_ref = None;
        let mut inputs = Vec::new();
        for field in &self.fields {
            let value = field.value.trim();
            if field.required && value.is_empty() {
                return Err(format!("{} is required", field.name));
            }
            if !field.choices.is_empty()
                && !value.is_empty()
                && !field.choices.iter().any(|c| c == value)
            {
                return Err(format!(
                    "{} must be one of: {}",
                    field.name,
                    field.choices.join(", ")
                ));
            }
            match field.role {
                FieldRole::Ref => git_ref = Some(value.to_string()),
                FieldRole::Input => inputs.push((field.name.clone(), value.to_string())),
                FieldRole::More => {
                    for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                        let Some((k, v)) = pair.split_once('=') else {
                            return Err(format!("{}: `{pair}` is not name=value", field.name));
                        };
                        let k = k.trim();
                        if k.is_empty() {
                            return Err(format!("{}: `{pair}` has no name", field.name));
                        }
                        inputs.push((k.to_string(), v.trim().to_string()));
                    }
                }
            }
        }
        Ok((git_ref, inputs))
    }
}
