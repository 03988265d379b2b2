//! The runtime parameters a pipeline version declares, and values typed
//! for them in the new-run form.

use serde_json::Value;

/// A parameter value as it is shown and typed: text as is, anything else
/// as JSON.
pub fn shown_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The runtime parameters a pipeline version declares: name, type
/// (`STRING`, `NUMBER_INTEGER`, …), default, optional, description. The
/// spec may be the IR itself or wrap it (`{pipeline_spec, platform_spec}`).
pub fn declared_parameters(spec: &Value) -> Vec<Declared> {
    let spec = spec.get("pipeline_spec").unwrap_or(spec);
    let Some(params) = spec
        .pointer("/root/inputDefinitions/parameters")
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    params
        .iter()
        .map(|(name, p)| Declared {
            name: name.clone(),
            kind: p
                .get("parameterType")
                .and_then(Value::as_str)
                .unwrap_or("STRING")
                .to_string(),
            default: p.get("defaultValue").cloned(),
            optional: p
                .get("isOptional")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            description: p
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        })
        .collect()
}

/// One declared runtime parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Declared {
    pub name: String,
    /// `STRING`, `NUMBER_INTEGER`, `NUMBER_DOUBLE`, `BOOLEAN`, `LIST`, `STRUCT`.
    pub kind: String,
    pub default: Option<Value>,
    pub optional: bool,
    pub description: String,
}

/// A typed value for a runtime parameter from what was typed, by its
/// declared type; `Err` says what is wrong with it.
pub fn typed(kind: Option<&str>, text: &str) -> Result<Value, String> {
    let text = text.trim();
    match kind {
        Some("NUMBER_INTEGER") => text
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("`{text}` is not a whole number")),
        Some("NUMBER_DOUBLE") => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("`{text}` is not a number")),
        Some("BOOLEAN") => match text {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("`{text}` is not true or false")),
        },
        Some("LIST") => match serde_json::from_str::<Value>(text) {
            Ok(v @ Value::Array(_)) => Ok(v),
            _ => Err(format!("`{text}` is not a JSON list ([…])")),
        },
        Some("STRUCT") => match serde_json::from_str::<Value>(text) {
            Ok(v @ Value::Object(_)) => Ok(v),
            _ => Err(format!("`{text}` is not a JSON object ({{…}})")),
        },
        _ => Ok(Value::String(text.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_values_follow_the_declared_type() {
        assert_eq!(typed(Some("NUMBER_INTEGER"), "5"), Ok(json!(5)));
        assert!(typed(Some("NUMBER_INTEGER"), "5.5").is_err());
        assert_eq!(typed(Some("NUMBER_DOUBLE"), "0.25"), Ok(json!(0.25)));
        assert_eq!(typed(Some("BOOLEAN"), "true"), Ok(json!(true)));
        assert_eq!(typed(Some("LIST"), "[1, 2]"), Ok(json!([1, 2])));
        assert!(typed(Some("STRUCT"), "[1]").is_err());
        assert_eq!(typed(None, "x"), Ok(json!("x")));
    }

    #[test]
    fn declared_parameters_are_read_from_the_ir_or_its_wrapper() {
        let ir = json!({"root": {"inputDefinitions": {"parameters": {
            "lr": {"parameterType": "NUMBER_DOUBLE", "defaultValue": 0.1},
            "data": {"parameterType": "STRING", "isOptional": true}
        }}}});
        let wrapped = json!({"pipeline_spec": ir.clone(), "platform_spec": {}});
        for spec in [ir, wrapped] {
            let p = declared_parameters(&spec);
            assert_eq!(p.len(), 2);
            assert_eq!(p[1].name, "lr");
            assert_eq!(p[1].default, Some(json!(0.1)));
            assert!(p[0].optional);
        }
    }
}
