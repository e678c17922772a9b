//! The decoder `batch` had before its scanner: `serde_json`'s deserializer with visitors.
//! Kept as the reference the scanner is tested against (`tests::scanner_agrees_with_serde_json`).
use super::InputEvent;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

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

/// The members as the scanner gives them, then the same checks as the scanner's path: the
/// reference is for the reading of the text, not for the checks.
fn check_event(index: usize, members: RawMembers<'_>) -> Result<InputEvent<'_>, String> {
    super::check_event(
        index,
        super::RawMembers {
            type_json: members.type_json.map(RawValue::get),
            data: members.data.map(RawValue::get),
            metadata: members.metadata.map(RawValue::get),
            event_id: members.event_id.map(RawValue::get),
            occurred_on: members.occurred_on.map(RawValue::get),
        },
    )
}
