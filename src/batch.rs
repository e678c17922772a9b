//! Input events: the batch the JS wrapper serialised, decoded and checked.
//!
//! The batch arrives as JSON text (what `JSON.stringify(events)` writes; the wrapper writes it
//! itself while rejecting what JSON cannot carry faithfully). Values are kept as raw JSON slices:
//! `data` and `metadata` are stored verbatim, never re-serialised.
//!
//! A small scanner written for this one shape reads the batch in one pass: it checks the whole
//! text is JSON (as strictly as `serde_json`, which a property test holds it to) but only
//! decodes the event members it needs, and hands each event over as soon as it is read, so the
//! store stamps ids and times without a second vector. It reads about as fast as `serde_json`
//! (natively, 125 ns per benchmark event), with no nesting limit and no recursion.
use std::borrow::Cow;

use crate::error::OutOfMemory;
use crate::json::{Scanner, Syntax};
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

/// The members of an event object, each kept as raw JSON text (`null` included).
#[derive(Default)]
struct RawMembers<'a> {
    type_json: Option<&'a str>,
    data: Option<&'a str>,
    metadata: Option<&'a str>,
    event_id: Option<&'a str>,
    occurred_on: Option<&'a str>,
}

/// A failure while reading one event: bad JSON, or a member given twice.
enum MemberError {
    Syntax(Syntax),
    Duplicate(&'static str),
}

impl From<Syntax> for MemberError {
    fn from(syntax: Syntax) -> Self {
        MemberError::Syntax(syntax)
    }
}

/// The members of an event object (at its opening brace), each kept as raw JSON text.
fn event_members<'a>(scanner: &mut Scanner<'a>) -> Result<RawMembers<'a>, MemberError> {
    let mut members = RawMembers::default();
    scanner.eat(b'{');
    scanner.skip_whitespace();
    if scanner.eat(b'}') {
        return Ok(members);
    }
    loop {
        scanner.skip_whitespace();
        let name_start = scanner.position();
        if scanner.peek() != Some(b'"') {
            return Err(scanner.error("expected a member name").into());
        }
        let escaped = scanner.string()?;
        let name_json = scanner.slice(name_start)?;
        scanner.skip_whitespace();
        if !scanner.eat(b':') {
            return Err(scanner.error("expected ':'").into());
        }
        scanner.skip_whitespace();
        let value_start = scanner.position();
        scanner.value()?;
        let value = scanner.slice(value_start)?;
        let name: Cow<'_, str> = if escaped {
            // JSON.stringify escapes no letter, but a name may still be spelled with escapes.
            serde_json::from_str(name_json)
                .map_err(|_| Syntax::at("invalid member name", name_start))?
        } else {
            Cow::Borrowed(name_json.get(1..name_json.len() - 1).unwrap_or_default())
        };
        let (slot, key) = match name.as_ref() {
            "type" => (&mut members.type_json, "type"),
            "data" => (&mut members.data, "data"),
            "metadata" => (&mut members.metadata, "metadata"),
            "eventId" => (&mut members.event_id, "eventId"),
            "occurredOn" => (&mut members.occurred_on, "occurredOn"),
            // Other members are not part of an event and are not stored.
            _ => (&mut None, ""),
        };
        if !key.is_empty() {
            if slot.is_some() {
                return Err(MemberError::Duplicate(key));
            }
            *slot = Some(value);
        }
        scanner.skip_whitespace();
        if scanner.eat(b'}') {
            return Ok(members);
        }
        if !scanner.eat(b',') {
            return Err(scanner.error("expected ',' or '}'").into());
        }
    }
}

/// Why a batch was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchError {
    /// Not a valid batch: the message names the argument and the event's index.
    Invalid(String),
    /// The list of its events could not grow.
    OutOfMemory(OutOfMemory),
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BatchError::Invalid(message) => f.write_str(message),
            BatchError::OutOfMemory(error) => error.fmt(f),
        }
    }
}

impl From<String> for BatchError {
    fn from(message: String) -> Self {
        BatchError::Invalid(message)
    }
}

fn is_json_string(raw: &str) -> bool {
    raw.starts_with('"')
}

/// Decodes and checks a batch in one pass over its text. Errors name the argument and the
/// index of the offending event.
pub fn parse_batch(batch_json: &str) -> Result<Vec<InputEvent<'_>>, BatchError> {
    parse_batch_with(batch_json, |event| event)
}

/// `parse_batch`, handing each checked event to `map` as it is read, so that a caller that
/// turns events into something else needs one vector, not two.
pub fn parse_batch_with<'a, T>(
    batch_json: &'a str,
    mut map: impl FnMut(InputEvent<'a>) -> T,
) -> Result<Vec<T>, BatchError> {
    let not_json = |syntax: Syntax| {
        BatchError::Invalid(format!(
            "events must be an array of event objects ({syntax})"
        ))
    };
    let mut scanner = Scanner::new(batch_json);
    let mut events = Vec::new();
    scanner.skip_whitespace();
    if !scanner.eat(b'[') {
        return Err(not_json(scanner.error("expected an array")));
    }
    scanner.skip_whitespace();
    if !scanner.eat(b']') {
        loop {
            let index = events.len();
            scanner.skip_whitespace();
            if scanner.peek() == Some(b'{') {
                let members = event_members(&mut scanner).map_err(|error| match error {
                    MemberError::Syntax(syntax) => not_json(syntax),
                    MemberError::Duplicate(key) => {
                        format!("events[{index}] has a duplicate member {key}").into()
                    }
                })?;
                let event = map(check_event(index, members)?);
                if events.len() == events.capacity() {
                    events.try_reserve(events.len().max(4)).map_err(|_| {
                        let bytes = events.len().max(4) * size_of::<T>();
                        BatchError::OutOfMemory(OutOfMemory::new("the batch's events", bytes))
                    })?;
                }
                events.push(event);
            } else {
                scanner.value().map_err(not_json)?;
                return Err(format!("events[{index}] must be a plain object").into());
            }
            scanner.skip_whitespace();
            if scanner.eat(b']') {
                break;
            }
            if !scanner.eat(b',') {
                return Err(not_json(scanner.error("expected ',' or ']'")));
            }
        }
    }
    scanner.skip_whitespace();
    if scanner.peek().is_some() {
        return Err(not_json(scanner.error("trailing characters")));
    }
    Ok(events)
}

fn check_event(index: usize, members: RawMembers<'_>) -> Result<InputEvent<'_>, String> {
    let type_json = members
        .type_json
        .filter(|t| is_json_string(t) && *t != "\"\"")
        .ok_or_else(|| format!("events[{index}].type must be a non-empty string"))?;
    let metadata_json = match members.metadata {
        None => "{}",
        Some(m) if m.starts_with('{') => m,
        Some(_) => return Err(format!("events[{index}].metadata must be a plain object")),
    };
    let event_id_json = match members.event_id {
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
            serde_json::from_str::<Cow<'_, str>>(raw)
                .ok()
                .and_then(|text| time::parse_iso(&text))
                .ok_or_else(|| {
                    // The value as given, shortened: it may be megabytes of text.
                    let shown: String = raw.chars().take(80).collect();
                    let more = if shown.len() < raw.len() { "…" } else { "" };
                    format!(
                        "events[{index}].occurredOn must be a valid Date or an ISO-8601 \
                         date-time with a time zone, got {shown}{more}"
                    )
                })?,
        ),
    };
    Ok(InputEvent {
        type_json,
        data_json: members.data.unwrap_or("null"),
        metadata_json,
        event_id_json,
        occurred_on_ms,
    })
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod serde_reference;
#[cfg(test)]
mod tests;
