//! Records as JSON: typed values kept (numbers, booleans, lists; unset
//! properties null); a node that sends no types gives the text.

use crossforest_shared::proto::management::v1 as pb;
use pb::property_value::Kind;
use serde_json::Value;

fn value(property: &pb::Property) -> Value {
    match property.typed.as_ref().and_then(|t| t.kind.as_ref()) {
        Some(Kind::Text(t)) => Value::String(t.clone()),
        Some(Kind::Integer(n)) => Value::from(*n),
        Some(Kind::Boolean(b)) => Value::Bool(*b),
        Some(Kind::List(l)) => Value::from(l.values.clone()),
        Some(Kind::Null(_)) => Value::Null,
        None => Value::String(property.value.clone()),
    }
}

/// One record as a JSON object, properties in display order.
pub fn object(record: &pb::Record) -> serde_json::Map<String, Value> {
    record
        .properties
        .iter()
        .map(|p| (p.name.clone(), value(p)))
        .collect()
}
