//! The sync protocol's version and limits, and the server's check of a push request.
//!
//! A push is `{"protocol":1,"batches":[{"aggregateId","expectedVersion","events":[…]}…]}`.
//! The whole request is checked before anything is written: one bad batch refuses it all, and
//! the refusal names every bad batch, so that a client can drop those and send the rest again.
//! Events are checked by the rules of `appendEvents`, and must carry their `eventId` and
//! `occurredOn` (a replica stamps them once, so that a retry is recognised).
use serde::Deserialize;
use serde_json::value::RawValue;

use super::stamped::{write_push_batch, StampedBatch};
use crate::version::MAX_SAFE_INTEGER;

/// The protocol version every message carries.
pub const PROTOCOL: i64 = 1;

/// The prefix of a replica's own streams in its device storage (its outbox, its checkpoint).
/// No one may push to such a stream: pulled by a replica, its events would be taken for the
/// replica's own bookkeeping.
pub const RESERVED_PREFIX: &str = "$wes-sync/";

/// What a server takes in one push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_batches: usize,
    pub max_events: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_batches: 100,
            max_events: 1000,
        }
    }
}

/// One checked batch of a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushBatch {
    pub aggregate_id: String,
    pub expected_version: i64,
    pub events: StampedBatch,
}

/// Why a push was refused as a whole: an HTTP status, a code for the client (`invalid`,
/// `too-large`, `protocol`), a message, and the bad batches' indexes (when it is about some).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRefusal {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub batches: Vec<usize>,
}

impl PushRefusal {
    fn request(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        PushRefusal {
            status,
            code,
            message: message.into(),
            batches: Vec::new(),
        }
    }
}

// Members are read as raw JSON and checked by hand: serde_json's `Value` would cost the wasm
// more than all of this module.
#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow)]
    protocol: Option<&'a RawValue>,
    #[serde(borrow)]
    batches: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct BatchBody<'a> {
    #[serde(rename = "aggregateId", borrow)]
    aggregate_id: Option<&'a RawValue>,
    #[serde(rename = "expectedVersion", borrow)]
    expected_version: Option<&'a RawValue>,
    #[serde(borrow)]
    events: Option<&'a RawValue>,
}

/// The `protocol` member checked: `PROTOCOL`, else the refusal to send.
fn check_protocol(value: Option<&RawValue>) -> Result<(), PushRefusal> {
    match value.map(RawValue::get) {
        Some("1") => Ok(()),
        other => {
            let shown: String = other.unwrap_or("nothing").chars().take(40).collect();
            Err(PushRefusal::request(
                400,
                "protocol",
                format!("this server speaks sync protocol {PROTOCOL}; the request says {shown}"),
            ))
        }
    }
}

fn check_batch(raw: &RawValue) -> Result<PushBatch, String> {
    let body: BatchBody<'_> =
        serde_json::from_str(raw.get()).map_err(|_| "is not an object".to_string())?;
    let aggregate_id = body
        .aggregate_id
        .filter(|raw| raw.get().starts_with('"'))
        .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
        .filter(|id| !id.is_empty())
        .ok_or("aggregateId must be a non-empty string")?;
    if aggregate_id.starts_with(RESERVED_PREFIX) {
        return Err(format!(
            "aggregateId must not start with {RESERVED_PREFIX}: replicas keep their own bookkeeping under that prefix"
        ));
    }
    let expected_version = body
        .expected_version
        .and_then(|raw| raw.get().parse::<i64>().ok())
        .filter(|v| (-1..=MAX_SAFE_INTEGER).contains(v))
        .ok_or_else(|| {
            format!("expectedVersion must be an integer from -1 to {MAX_SAFE_INTEGER}")
        })?;
    let events = body.events.ok_or("events must be an array of events")?;
    let events = StampedBatch::parse(events.get()).map_err(|error| error.to_string())?;
    if events.is_empty() {
        return Err("events must not be empty".into());
    }
    if expected_version + events.len() as i64 > MAX_SAFE_INTEGER {
        return Err("events would take the stream past the largest safe version (2^53-1)".into());
    }
    Ok(PushBatch {
        aggregate_id,
        expected_version,
        events,
    })
}

/// Checks a push request's body: its batches, or why the whole request is refused.
pub fn parse_push(body: &str, limits: &Limits) -> Result<Vec<PushBatch>, PushRefusal> {
    let body: Body<'_> = serde_json::from_str(body).map_err(|error| {
        PushRefusal::request(
            400,
            "malformed",
            format!("the body is not a push request: {error}"),
        )
    })?;
    check_protocol(body.protocol)?;
    let raw = body
        .batches
        .ok_or_else(|| PushRefusal::request(400, "malformed", "the body has no batches array"))?;
    if raw.len() > limits.max_batches {
        return Err(PushRefusal::request(
            413,
            "too-large",
            format!(
                "a push takes at most {} batches, this one has {}",
                limits.max_batches,
                raw.len()
            ),
        ));
    }
    let mut batches = Vec::with_capacity(raw.len());
    let mut bad = Vec::new();
    let mut first_reason = String::new();
    for (index, batch) in raw.iter().enumerate() {
        match check_batch(batch) {
            Ok(batch) => batches.push(batch),
            Err(reason) => {
                if bad.is_empty() {
                    first_reason = format!("batches[{index}]: {reason}");
                }
                bad.push(index);
            }
        }
    }
    if !bad.is_empty() {
        return Err(PushRefusal {
            status: 400,
            code: "invalid",
            message: first_reason,
            batches: bad,
        });
    }
    let events: usize = batches.iter().map(|b| b.events.len()).sum();
    if events > limits.max_events {
        return Err(PushRefusal::request(
            413,
            "too-large",
            format!(
                "a push takes at most {} events, this one has {events}",
                limits.max_events
            ),
        ));
    }
    Ok(batches)
}

/// The checked batches as JSON, for the server to append one by one.
pub fn batches_json(batches: &[PushBatch]) -> String {
    let mut out = String::from("[");
    for (index, batch) in batches.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        write_push_batch(
            &mut out,
            &batch.aggregate_id,
            batch.expected_version,
            &batch.events,
        );
    }
    out.push(']');
    out
}
