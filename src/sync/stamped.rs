//! A stamped batch: input events with every `eventId` and `occurredOn` decided, as JSON text.
//!
//! Pending events are stamped once, when the app appends them, so that every push of a batch
//! (a retry after a lost answer, another tab's push of the same outbox) carries the same ids,
//! and the server's idempotent retries can recognise it.
use crate::batch::{self, BatchError};
use crate::ids::{self, IdGenerator};
use crate::json::{push_integer, push_json_string};
use crate::record::{self, EventFields, EventId};
use crate::time;

/// Events as a JSON array of `{type, data, metadata, eventId, occurredOn}`, and their ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StampedBatch {
    json: String,
    ids: Vec<String>,
}

fn id_text(id: &EventId<'_>) -> Result<String, BatchError> {
    match id {
        EventId::Uuid(bytes) => {
            let mut out = String::with_capacity(36);
            ids::write_uuid(&mut out, bytes);
            Ok(out)
        }
        EventId::Json(json) => serde_json::from_str(json)
            .map_err(|_| BatchError::Invalid("an eventId is not a JSON string".into())),
    }
}

impl StampedBatch {
    /// Checks `events_json` by the rules of `appendEvents` and stamps it: ids the caller gave
    /// are kept, the others are new UUIDs; events without `occurredOn` get `now_ms`.
    pub fn stamp(
        events_json: &str,
        now_ms: i64,
        generator: &mut IdGenerator,
    ) -> Result<StampedBatch, BatchError> {
        let now_ms = now_ms.clamp(-time::MAX_MS, time::MAX_MS);
        let events = batch::parse_batch_with(events_json, |event| EventFields {
            type_json: event.type_json,
            data_json: event.data_json,
            metadata_json: event.metadata_json,
            event_id: match event.event_id_json {
                Some(given) => EventId::Json(given),
                None => EventId::Uuid(generator.next_uuid_v4()),
            },
            occurred_on_ms: event.occurred_on_ms.unwrap_or(now_ms),
        })?;
        Self::from_fields(&events)
    }

    /// A batch stamped before (read back from the outbox, or pushed by a replica): every event
    /// must carry its `eventId` and `occurredOn`.
    pub fn parse(events_json: &str) -> Result<StampedBatch, BatchError> {
        let mut unstamped = None;
        let events = batch::parse_batch_with(events_json, |event| {
            let (Some(id), Some(at)) = (event.event_id_json, event.occurred_on_ms) else {
                unstamped.get_or_insert(());
                return None;
            };
            Some(EventFields {
                type_json: event.type_json,
                data_json: event.data_json,
                metadata_json: event.metadata_json,
                event_id: EventId::Json(id),
                occurred_on_ms: at,
            })
        })?;
        let events: Option<Vec<EventFields<'_>>> = events.into_iter().collect();
        match events {
            Some(events) if unstamped.is_none() => Self::from_fields(&events),
            _ => Err(BatchError::Invalid(
                "every event must carry an eventId and an occurredOn".into(),
            )),
        }
    }

    fn from_fields(events: &[EventFields<'_>]) -> Result<StampedBatch, BatchError> {
        let mut json = String::with_capacity(events.iter().map(|e| e.text_len() + 80).sum());
        let mut ids = Vec::with_capacity(events.len());
        let mut times = time::IsoCache::default();
        json.push('[');
        for (index, event) in events.iter().enumerate() {
            if index > 0 {
                json.push(',');
            }
            json.push('{');
            record::write_fields(&mut json, event, &mut times);
            json.push('}');
            ids.push(id_text(&event.event_id)?);
        }
        json.push(']');
        Ok(StampedBatch { json, ids })
    }

    /// The events as a JSON array of input events (what `appendEvents` takes).
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The events' ids, decoded.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Appends the events as recorded events of `aggregate_id` from version `first` on, each
    /// marked `"pending":true` (no position: the server has not given them one), comma-separated,
    /// skipping versions up to `after` and stopping at `limit` events in `out` counted by `count`.
    pub(crate) fn write_pending(
        &self,
        out: &mut String,
        aggregate_id_json: &str,
        first: i64,
        after: i64,
        count: &mut usize,
        limit: Option<usize>,
    ) {
        let Ok(events) = batch::parse_batch(&self.json) else {
            return; // stamped by this module: it always parses
        };
        let mut times = time::IsoCache::default();
        for (offset, event) in events.iter().enumerate() {
            let version = first + offset as i64;
            if version <= after {
                continue;
            }
            if limit.is_some_and(|limit| *count >= limit) {
                return;
            }
            if *count > 0 {
                out.push(',');
            }
            let fields = EventFields {
                type_json: event.type_json,
                data_json: event.data_json,
                metadata_json: event.metadata_json,
                event_id: EventId::Json(event.event_id_json.unwrap_or("\"\"")),
                occurred_on_ms: event.occurred_on_ms.unwrap_or_default(),
            };
            out.push('{');
            record::write_members(out, aggregate_id_json, version, &fields, &mut times);
            out.pop(); // the closing brace: the pending mark goes inside
            out.push_str(",\"pending\":true}");
            *count += 1;
        }
    }
}

/// Appends `{"aggregateId":…,"expectedVersion":…,"events":…}`: one batch of a push.
pub(crate) fn write_push_batch(
    out: &mut String,
    aggregate_id: &str,
    expected: i64,
    batch: &StampedBatch,
) {
    out.push_str("{\"aggregateId\":");
    push_json_string(out, aggregate_id);
    out.push_str(",\"expectedVersion\":");
    push_integer(out, expected);
    out.push_str(",\"events\":");
    out.push_str(batch.json());
    out.push('}');
}
