//! The default storage: streams in memory, each event kept in compact form.
//!
//! A stream keeps only what no other place holds: its id and the events' versions are implied by
//! where things are, an event id is 16 bytes rather than 38 characters of JSON, a time 8 bytes
//! rather than 26, metadata `{}` nothing. `loadEvents` writes the JSON of the recorded events
//! from these parts.
//!
//! Per stream, the events' JSON texts (the event id when it is not a canonical UUID, type,
//! metadata unless `{}`, data) go back to back into one `String`, and a fixed-size [`Record`]
//! per event says where they end and holds the binary members. Text and binary are kept apart so that a load slices valid UTF-8 out of the `String`
//! instead of checking bytes again.
use std::cell::RefCell;
use std::convert::Infallible;

use super::fxhash::FxHashMap;
use super::{AppendOutcome, RecordSink, Storage};
use crate::ids;
use crate::record::{EventFields, EventId};

/// One event of a stream, besides its text. 40 bytes on wasm32 (48 natively, where `usize` is 8).
struct Record {
    /// Where the event's text ends in the stream's `text` (it starts where the previous ends).
    end: usize,
    /// Bytes of the id's JSON text at the start of the event's text; 0 when `uuid` is the id.
    id_len: u32,
    /// Bytes of the type's JSON text, which follows the id's.
    type_len: u32,
    /// Bytes of the metadata's JSON text, which follows the type's; 0 for `{}` (not stored).
    metadata_len: u32,
    occurred_on_ms: i64,
    uuid: [u8; 16],
}

/// One stream. Appending a batch writes each event once, in place; the version is
/// `records.len() - 1`, so `version` is O(1) and `load` touches only the events it returns.
#[derive(Default)]
struct Stream {
    text: String,
    records: Vec<Record>,
}

impl Stream {
    fn version(&self) -> i64 {
        self.records.len() as i64 - 1
    }

    /// Adds `event` (the version check was done by the caller).
    fn push(&mut self, event: &EventFields<'_>) {
        // A given id that is a canonical UUID (no escapes, lowercase) is kept as bytes too.
        let event_id = match event.event_id {
            EventId::Json(text) => text
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .and_then(ids::parse_uuid)
                .map_or(EventId::Json(text), EventId::Uuid),
            generated => generated,
        };
        let (uuid, id_text) = match event_id {
            EventId::Uuid(bytes) => (bytes, ""),
            EventId::Json(text) => ([0; 16], text),
        };
        let metadata = if event.metadata_json == "{}" {
            ""
        } else {
            event.metadata_json
        };
        self.text.push_str(id_text);
        self.text.push_str(event.type_json);
        self.text.push_str(metadata);
        self.text.push_str(event.data_json);
        self.records.push(Record {
            end: self.text.len(),
            // Texts come from one JS string, far below 4 GiB; saturating keeps them unreadable
            // rather than wrong if that ever changed.
            id_len: u32::try_from(id_text.len()).unwrap_or(u32::MAX),
            type_len: u32::try_from(event.type_json.len()).unwrap_or(u32::MAX),
            metadata_len: u32::try_from(metadata.len()).unwrap_or(u32::MAX),
            occurred_on_ms: event.occurred_on_ms,
            uuid,
        });
    }

    /// The event of `record`, whose text starts at `start`. `None` only if the record does not
    /// fit its text (a bug), which the load then reports as corruption.
    fn event(&self, start: usize, record: &Record) -> Option<EventFields<'_>> {
        let text = self.text.get(start..record.end)?;
        let (id_text, text) = text.split_at_checked(record.id_len as usize)?;
        let (type_json, text) = text.split_at_checked(record.type_len as usize)?;
        let (metadata_json, data_json) = text.split_at_checked(record.metadata_len as usize)?;
        Some(EventFields {
            type_json,
            data_json,
            metadata_json: if metadata_json.is_empty() {
                "{}"
            } else {
                metadata_json
            },
            event_id: if id_text.is_empty() {
                EventId::Uuid(record.uuid)
            } else {
                EventId::Json(id_text)
            },
            occurred_on_ms: record.occurred_on_ms,
        })
    }
}

/// How many more items to reserve in a buffer of `len` items (room for `capacity`) before adding
/// `needed`: none if they fit; otherwise at least `needed`, and a quarter of the buffer rather
/// than all of it (doubling), so that a big stream carries at most 25% of unused capacity (12%
/// on average), for a few more copies. Buffers under `small` items double, so that a stream's
/// first appends do not copy it every time.
fn growth(len: usize, capacity: usize, needed: usize, small: usize) -> usize {
    if capacity - len >= needed {
        0
    } else if len < small {
        needed.max(len)
    } else {
        needed.max(len / 4)
    }
}

#[derive(Default)]
pub struct MemoryStorage {
    // Borrowed only inside the synchronous bodies below, never across an await.
    streams: RefCell<FxHashMap<Box<str>, Stream>>,
}

impl MemoryStorage {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of streams held.
    pub fn stream_count(&self) -> usize {
        self.streams.borrow().len()
    }
}

impl Storage for MemoryStorage {
    type Error = Infallible;

    // Only this core writes here, and it checked every event it wrote. (Loads hand over decoded
    // fields with `push_fields`, which never decodes anything; this matters only to payloads.)
    const TRUSTED: bool = true;

    // Every operation completes without awaiting, so none can interleave with another.
    const SUSPENDS: bool = false;

    async fn load(
        &self,
        aggregate_id: &str,
        after_version: i64,
        sink: &mut RecordSink<'_>,
    ) -> Result<(), Infallible> {
        let streams = self.streams.borrow();
        let Some(stream) = streams.get(aggregate_id) else {
            return Ok(());
        };
        // Below 0 means from the start; past usize (wasm32 is 32-bit) means past the end.
        let first = usize::try_from(after_version.saturating_add(1).max(0)).unwrap_or(usize::MAX);
        let Some(records) = stream.records.get(first..) else {
            return Ok(());
        };
        let mut start = match first.checked_sub(1) {
            Some(previous) => stream.records.get(previous).map_or(0, |r| r.end),
            None => 0,
        };
        // The JSON of an event is its text plus about 170 bytes of keys, id, version and time.
        sink.reserve(records.last().map_or(0, |r| r.end - start) + records.len() * 170);
        for (version, record) in (first as i64..).zip(records) {
            match stream.event(start, record) {
                Some(fields) => sink.push_fields(version, &fields),
                None => sink.reject(format!("in-memory event {version} does not decode")),
            }
            start = record.end;
        }
        Ok(())
    }

    async fn version(&self, aggregate_id: &str) -> Result<i64, Infallible> {
        Ok(self
            .streams
            .borrow()
            .get(aggregate_id)
            .map_or(-1, Stream::version))
    }

    async fn append(
        &self,
        aggregate_id: &str,
        expected_version: i64,
        events: &[EventFields<'_>],
    ) -> Result<AppendOutcome, Infallible> {
        let mut streams = self.streams.borrow_mut();
        let actual_version = streams.get(aggregate_id).map_or(-1, Stream::version);
        if actual_version != expected_version {
            return Ok(AppendOutcome::Conflict { actual_version });
        }
        if events.is_empty() {
            return Ok(AppendOutcome::Appended);
        }
        let stream = match streams.get_mut(aggregate_id) {
            Some(stream) => stream,
            None => streams.entry(aggregate_id.into()).or_default(),
        };
        // At most this much text: canonical ids and `{}` metadata take none.
        let text: usize = events.iter().map(EventFields::text_len).sum();
        let (bytes, records) = (&mut stream.text, &mut stream.records);
        bytes.reserve_exact(growth(bytes.len(), bytes.capacity(), text, 4096));
        records.reserve_exact(growth(records.len(), records.capacity(), events.len(), 64));
        for event in events {
            stream.push(event);
        }
        Ok(AppendOutcome::Appended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(event: &EventFields<'_>) -> String {
        let mut out = String::new();
        let mut times = crate::time::IsoCache::default();
        crate::record::write_event(&mut out, "\"s\"", 0, event, &mut times);
        out
    }

    #[test]
    fn events_round_trip() {
        let long = format!("\"{}\"", "x".repeat(300));
        let mut stream = Stream::default();
        let mut events = Vec::new();
        for event_id in [
            EventId::Uuid([0xab; 16]),
            EventId::Json("\"e-1\""),
            EventId::Json("\"6f9619ff-8b86-d011-b42d-00cf4fc964ff\""),
            EventId::Json("\"6F9619FF-8B86-D011-B42D-00CF4FC964FF\""),
            EventId::Json("\"\\u0061\""),
            EventId::Json(&long),
        ] {
            for metadata_json in ["{}", "{\"m\":[1,2]}", "{ }"] {
                for occurred_on_ms in [0, -1, crate::time::MAX_MS, -crate::time::MAX_MS] {
                    events.push(EventFields {
                        type_json: "\"T\\\"é\"",
                        data_json: "{\"k\":\"ü\"}",
                        metadata_json,
                        event_id,
                        occurred_on_ms,
                    });
                }
            }
        }
        for event in &events {
            stream.push(event);
        }
        let mut start = 0;
        for (event, record) in events.iter().zip(&stream.records) {
            assert_eq!(render(&stream.event(start, record).unwrap()), render(event));
            start = record.end;
        }
    }

    #[test]
    fn canonical_ids_and_empty_metadata_take_no_text() {
        let mut stream = Stream::default();
        stream.push(&EventFields {
            type_json: "\"T\"",
            data_json: "null",
            metadata_json: "{}",
            event_id: EventId::Json("\"6f9619ff-8b86-d011-b42d-00cf4fc964ff\""),
            occurred_on_ms: 0,
        });
        assert_eq!(stream.text, "\"T\"null");
        let record = stream.records.first().unwrap();
        assert!(matches!(
            stream.event(0, record).unwrap().event_id,
            EventId::Uuid(_)
        ));
    }

    #[test]
    fn buffers_double_while_small_then_grow_by_a_quarter() {
        assert_eq!(growth(0, 0, 3, 64), 3);
        assert_eq!(growth(8, 8, 1, 64), 8);
        assert_eq!(growth(40, 40, 100, 64), 100);
        assert_eq!(growth(1000, 1000, 10, 64), 250);
        assert_eq!(growth(1000, 1100, 100, 64), 0);
        assert_eq!(growth(1000, 1000, 400, 64), 400);
        assert_eq!(growth(1000, 1000, 10, 4096), 1000);
    }

    #[test]
    fn a_record_that_does_not_fit_its_text_is_none() {
        let mut stream = Stream::default();
        stream.text.push_str("\"é\"null");
        for (end, type_len) in [(100, 3), (8, 2), (8, 9)] {
            let record = Record {
                end,
                id_len: 0,
                type_len,
                metadata_len: 0,
                occurred_on_ms: 0,
                uuid: [0; 16],
            };
            assert!(stream.event(0, &record).is_none(), "{end} {type_len}");
        }
    }
}
