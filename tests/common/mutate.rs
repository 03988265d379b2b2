//! Mutations of a real JSON document for property tests: one node
//! replaced by something a backend might send instead (null, a removed key,
//! odd strings and dates, extreme numbers, the wrong shape).

use proptest::prelude::*;
use serde_json::{Value, json};

/// What replaces one node of the document.
#[derive(Clone, Debug)]
pub enum Replacement {
    Null,
    Remove,
    Text(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
    EmptyArray,
    EmptyObject,
    /// The node wrapped in an array (a single value where a list was
    /// expected, or the other way round).
    Wrapped,
}

pub fn replacement() -> impl Strategy<Value = Replacement> {
    prop_oneof![
        Just(Replacement::Null),
        Just(Replacement::Remove),
        prop_oneof![
            Just(String::new()),
            Just("2026-13-45T99:99:99Z".to_string()),
            Just("1970-01-01T00:00:00Z".to_string()),
            Just("9999-12-31T23:59:59Z".to_string()),
            Just("-1".to_string()),
            Just("é€\u{0}\u{feff}".to_string()),
            any::<String>(),
        ]
        .prop_map(Replacement::Text),
        prop_oneof![
            Just(i64::MAX),
            Just(i64::MIN),
            Just(-1),
            Just(0),
            any::<i64>()
        ]
        .prop_map(Replacement::Integer),
        prop_oneof![
            Just(f64::MAX),
            Just(-f64::MAX),
            Just(1e300),
            Just(-0.5),
            any::<f64>()
        ]
        .prop_map(Replacement::Float),
        any::<bool>().prop_map(Replacement::Bool),
        Just(Replacement::EmptyArray),
        Just(Replacement::EmptyObject),
        Just(Replacement::Wrapped),
    ]
}

/// How many nodes the document has (itself included).
pub fn count(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(count).sum(),
        Value::Object(map) => map.values().map(count).sum(),
        _ => 0,
    }
}

/// Replace the `target`-th node (pre-order) of `value`.
pub fn mutate(value: &mut Value, target: usize, with: &Replacement) {
    fn walk(value: &mut Value, target: &mut usize, with: &Replacement) -> bool {
        // Children first check: removal needs the parent.
        match value {
            Value::Array(items) => {
                for i in 0..items.len() {
                    if *target == 0 {
                        return false;
                    }
                    *target -= 1;
                    if *target == 0 && matches!(with, Replacement::Remove) {
                        items.remove(i);
                        return true;
                    }
                    if *target == 0 {
                        replace(&mut items[i], with);
                        return true;
                    }
                    if walk(&mut items[i], target, with) {
                        return true;
                    }
                }
                false
            }
            Value::Object(map) => {
                let keys: Vec<String> = map.keys().cloned().collect();
                for key in keys {
                    if *target == 0 {
                        return false;
                    }
                    *target -= 1;
                    if *target == 0 && matches!(with, Replacement::Remove) {
                        map.remove(&key);
                        return true;
                    }
                    if let Some(child) = map.get_mut(&key) {
                        if *target == 0 {
                            replace(child, with);
                            return true;
                        }
                        if walk(child, target, with) {
                            return true;
                        }
                    }
                }
                false
            }
            _ => false,
        }
    }
    fn replace(node: &mut Value, with: &Replacement) {
        *node = match with {
            Replacement::Null | Replacement::Remove => Value::Null,
            Replacement::Text(s) => Value::String(s.clone()),
            Replacement::Integer(i) => json!(i),
            Replacement::Float(f) => json!(f),
            Replacement::Bool(b) => json!(b),
            Replacement::EmptyArray => json!([]),
            Replacement::EmptyObject => json!({}),
            Replacement::Wrapped => json!([node.clone()]),
        };
    }
    let mut target = target % count(value);
    if target == 0 {
        replace(value, with);
    } else {
        walk(value, &mut target, with);
    }
}
