//! Input events: the batch the JS wrapper serialised, decoded and checked.
//!
//! The batch arrives as JSON text (`JSON.stringify(events)` in the wrapper, which also rejects what
//! JSON cannot carry faithfully). Values are kept as raw JSON slices: `data` and `metadata` are
//! stored verbatim, never re-serialised.
use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::time;

/// One checked input event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputEvent<'a> {
    /// The `type` member as a JSON string literal (non-empty).
    pub type_json: &'a str,
    /// The `data` member as JSON text; `null` when absent.
    pub data_json: &'a str,
    /// The `metadata` member as a JSON object; `{}` when absent.
    pub metadata_json: &'a str,
    /// The `eventId` member as a JSON string literal, when given.
    pub event_id_json: Option<&'a str>,
    /// `occurredOn` in milliseconds since the epoch, when given.
    pub occurred_on_ms: Option<i64>,
}

/// The members of an event object, each kept as raw JSON (`null` included, unlike `Option`).
#[derive(Default)]
struct RawMembers<'a> {
    type_json: Option<&'a RawValue>,
    data: Option<&'a RawValue>,
    metadata: Option<&'a RawValue>,
    event_id: Option<&'a RawValue>,
    occurred_on: Option<&'a RawValue>,
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = RawMembers<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an event object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = RawMembers::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let slot = match key.as_ref() {
                "type" => &mut members.type_json,
                "data" => &mut members.data,
                "metadata" => &mut members.metadata,
                "eventId" => &mut members.event_id,
                "occurredOn" => &mut members.occurred_on,
                _ => {
                    // Other members are not part of an event and are not stored.
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            if slot.is_some() {
                return Err(de::Error::custom(format!("duplicate member {key}")));
            }
            *slot = Some(map.next_value::<&'de RawValue>()?);
        }
        Ok(members)
    }
}

fn is_json_string(raw: &str) -> bool {
    raw.starts_with('"')
}

/// One element of the batch array: an object's members, or something else.
enum Element<'a> {
    Object(RawMembers<'a>),
    NotObject,
}

impl<'de> Deserialize<'de> for Element<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ElementVisitor;
        impl<'de> Visitor<'de> for ElementVisitor {
            type Value = Element<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                MembersVisitor.visit_map(map).map(Element::Object)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Element::NotObject)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Element::NotObject)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Element::NotObject)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Element::NotObject)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Element::NotObject)
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Element::NotObject)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Element::NotObject)
            }
        }
        deserializer.deserialize_any(ElementVisitor)
    }
}

/// Visits the batch array, checking each element as it is read.
struct BatchVisitor<'s> {
    /// The first invalid event's message; the parse then stops with a placeholder error.
    invalid: &'s mut Option<String>,
}

impl<'de> Visitor<'de> for BatchVisitor<'_> {
    type Value = Vec<InputEvent<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of event objects")
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut events = Vec::with_capacity(seq.size_hint().unwrap_or(1));
        while let Some(element) = seq.next_element::<Element<'de>>()? {
            let index = events.len();
            let checked = match element {
                Element::Object(members) => check_event(index, members),
                Element::NotObject => Err(format!("events[{index}] must be a plain object")),
            };
            match checked {
                Ok(event) => events.push(event),
                Err(message) => {
                    *self.invalid = Some(message);
                    return Err(de::Error::custom("invalid event"));
                }
            }
        }
        Ok(events)
    }
}

/// Decodes and checks a batch in one pass over its text. Errors name the argument and the
/// index of the offending event.
pub fn parse_batch(batch_json: &str) -> Result<Vec<InputEvent<'_>>, String> {
    let mut invalid = None;
    let mut deserializer = serde_json::Deserializer::from_str(batch_json);
    let parsed = deserializer
        .deserialize_seq(BatchVisitor {
            invalid: &mut invalid,
        })
        .and_then(|events| deserializer.end().map(|()| events));
    match (parsed, invalid) {
        (_, Some(message)) => Err(message),
        (Ok(events), None) => Ok(events),
        (Err(e), None) => Err(format!("events must be an array of event objects ({e})")),
    }
}

fn check_event(index: usize, members: RawMembers<'_>) -> Result<InputEvent<'_>, String> {
    let type_json = members
        .type_json
        .map(RawValue::get)
        .filter(|t| is_json_string(t) && *t != "\"\"")
        .ok_or_else(|| format!("events[{index}].type must be a non-empty string"))?;
    let metadata_json = match members.metadata.map(RawValue::get) {
        None => "{}",
        Some(m) if m.starts_with('{') => m,
        Some(_) => return Err(format!("events[{index}].metadata must be a plain object")),
    };
    let event_id_json = match members.event_id.map(RawValue::get) {
        None => None,
        Some(id) if is_json_string(id) && id != "\"\"" => Some(id),
        Some(_) => {
            return Err(format!(
                "events[{index}].eventId must be a non-empty string"
            ))
        }
    };
    let occurred_on_ms = match members.occurred_on {
        None => None,
        Some(raw) => Some(
            serde_json::from_str::<Cow<'_, str>>(raw.get())
                .ok()
                .and_then(|text| time::parse_iso(&text))
                .ok_or_else(|| {
                    format!(
                        "events[{index}].occurredOn must be a valid Date or an ISO-8601 \
                         date-time with a time zone, got {}",
                        raw.get()
                    )
                })?,
        ),
    };
    Ok(InputEvent {
        type_json,
        data_json: members.data.map_or("null", RawValue::get),
        metadata_json,
        event_id_json,
        occurred_on_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_defaults_and_keeps_raw_values() {
        let events = parse_batch(
            r#"[{"type":"A"},{"type":"B","data":[1,{"x":"y"}],"metadata":{"m":1},
                "eventId":"e","occurredOn":"2024-05-01T12:00:00+02:00","extra":true}]"#,
        )
        .unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].type_json, "\"A\"");
        assert_eq!(events[0].data_json, "null");
        assert_eq!(events[0].metadata_json, "{}");
        assert_eq!(events[0].event_id_json, None);
        assert_eq!(events[1].data_json, "[1,{\"x\":\"y\"}]");
        assert_eq!(events[1].metadata_json, "{\"m\":1}");
        assert_eq!(events[1].event_id_json, Some("\"e\""));
        assert_eq!(events[1].occurred_on_ms, Some(1_714_557_600_000));
    }

    #[test]
    fn empty_batch_is_fine() {
        assert_eq!(parse_batch("[]").unwrap(), vec![]);
    }

    #[test]
    fn errors_name_the_argument_and_index() {
        let cases = [
            ("{}", "events must be an array"),
            ("[1]", "events[0] must be a plain object"),
            (r#"[{"type":"A"},null]"#, "events[1] must be a plain object"),
            (r#"[{"type":"A"},{"data":1}]"#, "events[1].type"),
            (r#"[{"type":""}]"#, "events[0].type"),
            (r#"[{"type":1}]"#, "events[0].type"),
            (r#"[{"type":"A","metadata":null}]"#, "events[0].metadata"),
            (r#"[{"type":"A","metadata":[]}]"#, "events[0].metadata"),
            (r#"[{"type":"A","eventId":1}]"#, "events[0].eventId"),
            (r#"[{"type":"A","eventId":null}]"#, "events[0].eventId"),
            (
                r#"[{"type":"A","occurredOn":"soon"}]"#,
                "events[0].occurredOn",
            ),
            (
                r#"[{"type":"A","occurredOn":null}]"#,
                "events[0].occurredOn",
            ),
            (r#"[{"type":"A","type":"B"}]"#, "duplicate member type"),
        ];
        for (input, expected) in cases {
            let error = parse_batch(input).unwrap_err();
            assert!(error.contains(expected), "{input}: {error}");
        }
    }
}
