//! The record payload: how one recorded event is encoded for storage.
//!
//! Encoding version 1 is a JSON object whose first member is the encoding version:
//!
//! ```text
//! {"v":1,"aggregateId":"order-1","version":0,"type":"OrderPlaced","data":{"total":42},
//!  "metadata":{},"eventId":"<uuid>","occurredOn":"2024-05-01T10:00:00.000Z"}
//! ```
//!
//! Members appear in exactly this order. Without its `"v":1,` member the payload is the recorded
//! event as `loadEvents` returns it, so payloads this core wrote become output by dropping that
//! prefix. Payloads from a host's adapter are decoded and checked member by member instead.
use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::json::{decimal, json_string, Scanner};
use crate::record::{write_event, write_members, EventFields, EventId};
use crate::time;

/// The encoding version written into every payload.
pub const FORMAT_VERSION: u32 = 1;

/// What every version-1 payload starts with; dropping it (but for the brace) yields the event.
const PREFIX: &str = "{\"v\":1,";

/// Why a payload could not become an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Not a version-1 payload (bad JSON, missing or ill-typed members, unknown version).
    Malformed(String),
    /// A well-formed payload of another stream or version.
    Mismatch(String),
}

/// Bytes of a payload besides its variable members, at most: keys and punctuation (88), the time
/// (up to 27, `+275760-09-13T00:00:00.000Z`) and the version (up to 16 digits).
pub const FIXED_BYTES: usize = 131;

impl EventFields<'_> {
    /// An upper bound of the bytes of this event's payload, given its stream's id as JSON.
    pub fn payload_len(&self, aggregate_id_json: &str) -> usize {
        FIXED_BYTES + aggregate_id_json.len() + self.text_len()
    }
}

/// Encodes one recorded event as a version-1 payload.
pub fn encode(aggregate_id_json: &str, version: i64, fields: &EventFields<'_>) -> String {
    let mut out = String::with_capacity(fields.payload_len(aggregate_id_json));
    encode_into(
        &mut out,
        aggregate_id_json,
        version,
        fields,
        &mut time::IsoCache::default(),
    );
    out
}

/// Appends the version-1 payload of one recorded event to `out` (`times`: see `write_event`).
pub fn encode_into(
    out: &mut String,
    aggregate_id_json: &str,
    version: i64,
    fields: &EventFields<'_>,
    times: &mut time::IsoCache,
) {
    out.push_str(PREFIX);
    write_members(out, aggregate_id_json, version, fields, times);
}

/// Writes the recorded event of a payload this core wrote itself (no checks beyond the prefix).
pub fn write_trusted_event(out: &mut String, payload: &str) -> Result<(), DecodeError> {
    let body = payload
        .strip_prefix(PREFIX)
        .ok_or_else(|| DecodeError::Malformed("not a version-1 payload".to_string()))?;
    out.push('{');
    out.push_str(body);
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PayloadV1<'a> {
    v: u32,
    #[serde(rename = "aggregateId", borrow)]
    aggregate_id: Cow<'a, str>,
    version: i64,
    #[serde(rename = "type", borrow)]
    type_json: &'a RawValue,
    #[serde(borrow)]
    data: &'a RawValue,
    #[serde(borrow)]
    metadata: &'a RawValue,
    #[serde(rename = "eventId", borrow)]
    event_id: &'a RawValue,
    #[serde(rename = "occurredOn", borrow)]
    occurred_on: Cow<'a, str>,
}

/// Whether `payload` is exactly what `encode_into` writes for event `version` of `aggregate_id`
/// (as every payload this core stored is): members in order, the stream's id and the version
/// spelled as this core spells them, valid JSON values of the right kinds, the time canonical.
/// Checked in one pass without decoding anything; a payload that is not canonical goes through
/// the full decoder, which accepts any member order and spelling. Such a payload decodes, with
/// the same output, there too (a property test holds the two to that).
fn is_canonical(
    payload: &str,
    aggregate_id_json: &str,
    version: i64,
    times: &mut time::IsoCache,
) -> bool {
    let mut scanner = Scanner::new(payload);
    let mut digits = [0; 20];
    let Some(version_text) = u64::try_from(version)
        .ok()
        .and_then(|v| std::str::from_utf8(decimal(v, &mut digits)).ok())
    else {
        return false;
    };
    let non_empty_string = |scanner: &mut Scanner<'_>| {
        let start = scanner.position();
        scanner.peek() == Some(b'"')
            && scanner.string().is_ok()
            && scanner.since(start).is_some_and(|s| s != "\"\"")
    };
    let fixed = scanner.eat_str(PREFIX)
        && scanner.eat_str("\"aggregateId\":")
        && scanner.eat_str(aggregate_id_json)
        && scanner.eat_str(",\"version\":")
        && scanner.eat_str(version_text)
        && scanner.eat_str(",\"type\":")
        && non_empty_string(&mut scanner)
        && scanner.eat_str(",\"data\":")
        && scanner.value().is_ok()
        && scanner.eat_str(",\"metadata\":")
        && scanner.peek() == Some(b'{')
        && scanner.value().is_ok()
        && scanner.eat_str(",\"eventId\":")
        && non_empty_string(&mut scanner)
        && scanner.eat_str(",\"occurredOn\":\"");
    if !fixed {
        return false;
    }
    // The canonical time is 24 to 27 ASCII characters, then `"}` ends the payload.
    let start = scanner.position();
    let Some(end) = payload.len().checked_sub(2) else {
        return false;
    };
    let Some(text) = payload.get(start..end) else {
        return false;
    };
    payload.get(end..) == Some("\"}")
        && text.len() <= 27
        && time::parse_iso(text).is_some_and(|ms| times.get(ms) == text)
}

/// Decodes an untrusted payload, checks it is event `version` of `aggregate_id`, and writes the
/// recorded event in canonical form.
pub fn write_verified_event(
    out: &mut String,
    payload: &str,
    aggregate_id: &str,
    version: i64,
) -> Result<(), DecodeError> {
    let id_json = json_string(aggregate_id);
    let stream = Stream {
        id: aggregate_id,
        id_json: &id_json,
    };
    write_verified_event_with(
        out,
        payload,
        stream,
        version,
        &mut time::IsoCache::default(),
    )
}

/// A stream's id, and the same as a JSON string literal (made once per load, not per event).
#[derive(Clone, Copy)]
pub struct Stream<'a> {
    pub id: &'a str,
    pub id_json: &'a str,
}

/// `write_verified_event`, with `times` keeping the last time formatted: the events of one
/// append share their time, so a load mostly formats it once.
pub fn write_verified_event_with(
    out: &mut String,
    payload: &str,
    stream: Stream<'_>,
    version: i64,
    times: &mut time::IsoCache,
) -> Result<(), DecodeError> {
    if is_canonical(payload, stream.id_json, version, times) {
        return write_trusted_event(out, payload);
    }
    write_decoded_event(out, payload, stream, version, times)
}

/// `write_verified_event_with` for any payload: decoded member by member.
fn write_decoded_event(
    out: &mut String,
    payload: &str,
    stream: Stream<'_>,
    version: i64,
    times: &mut time::IsoCache,
) -> Result<(), DecodeError> {
    let aggregate_id = stream.id;
    let decoded: PayloadV1<'_> =
        serde_json::from_str(payload).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if decoded.v != FORMAT_VERSION {
        return Err(DecodeError::Malformed(format!(
            "unsupported payload encoding version {}",
            decoded.v
        )));
    }
    let type_json = decoded.type_json.get();
    if !type_json.starts_with('"') || type_json == "\"\"" {
        return Err(DecodeError::Malformed(
            "type is not a non-empty string".into(),
        ));
    }
    if !decoded.metadata.get().starts_with('{') {
        return Err(DecodeError::Malformed("metadata is not an object".into()));
    }
    let event_id_json = decoded.event_id.get();
    if !event_id_json.starts_with('"') || event_id_json == "\"\"" {
        return Err(DecodeError::Malformed(
            "eventId is not a non-empty string".into(),
        ));
    }
    let occurred_on_ms = time::parse_iso(&decoded.occurred_on)
        .ok_or_else(|| DecodeError::Malformed("occurredOn is not an ISO-8601 time".into()))?;
    if decoded.aggregate_id != aggregate_id {
        return Err(DecodeError::Mismatch(format!(
            "payload belongs to stream {:?}",
            decoded.aggregate_id
        )));
    }
    if decoded.version != version {
        return Err(DecodeError::Mismatch(format!(
            "payload says version {} but is stored as version {version}",
            decoded.version
        )));
    }
    // The common case: the members are exactly ours (serde refused unknown and duplicate ones)
    // and hold what was asked for, `v` comes first, and the time is in canonical form. Member
    // order means nothing to JSON, so such a payload is output as it is, without re-encoding.
    if payload.starts_with(PREFIX) && decoded.occurred_on == times.get(occurred_on_ms) {
        return write_trusted_event(out, payload);
    }
    let fields = EventFields {
        type_json,
        data_json: decoded.data.get(),
        metadata_json: decoded.metadata.get(),
        event_id: EventId::Json(event_id_json),
        occurred_on_ms,
    };
    write_event(out, stream.id_json, version, &fields, times);
    Ok(())
}

#[cfg(test)]
mod tests;
