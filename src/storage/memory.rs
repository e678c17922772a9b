//! The default storage: streams in memory, each event kept in compact form.
//!
//! A stream keeps only what no other place holds: its id and the events' versions are implied by
//! where things are, an event id is 16 bytes rather than 38 characters of JSON, a time 8 bytes
//! rather than 26, metadata `{}` nothing. `loadEvents` writes the JSON of the recorded events
//! from these parts.
//!
//! Per stream, the events' JSON texts (the event id when it is not a canonical UUID, type,
//! metadata unless `{}`, data) go back to back into a `String`, and a fixed-size [`Record`] per
//! event says where they end and holds the binary members. Text and binary are kept apart so
//! that a load slices valid UTF-8 out of the `String` instead of checking bytes again.
//!
//! A stream is a list of [`Chunk`]s, each with its own text and records: a chunk grows up to
//! [`CHUNK_TEXT`] bytes and [`CHUNK_RECORDS`] events, and then the stream goes on in a new one.
//! Growing a buffer copies it, and a copy needs the old and the new buffer at once, so one
//! buffer per stream could fill at most about half of the wasm memory; chunks let a stream use
//! all of it, and keep every copy small.
//!
//! Memory runs out as an error, never a trap: every buffer an append or a load grows is
//! reserved fallibly, before anything is changed, so a failed operation leaves the storage as it
//! was ([`OutOfMemory`]).
use std::cell::RefCell;

use super::fxhash::FxHashMap;
use super::{AppendOutcome, RecordSink, Storage};
use crate::error::OutOfMemory;
use crate::ids;
use crate::record::{EventFields, EventId};

/// A chunk's text grows (by copying) up to this many bytes; beyond, the stream's next append
/// starts a new chunk.
const CHUNK_TEXT: usize = 1 << 20;
/// Likewise for a chunk's records (40 bytes each on wasm32: 640 KiB).
const CHUNK_RECORDS: usize = 1 << 14;

/// One event of a stream, besides its text. 40 bytes on wasm32 (48 natively, where `usize` is 8).
struct Record {
    /// Where the event's text ends in its chunk's `text` (it starts where the previous ends).
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

/// Consecutive events of a stream: from version `first`, one record each, their texts back to
/// back. The events of one append are always in one chunk.
struct Chunk {
    first: usize,
    text: String,
    records: Vec<Record>,
}

impl Chunk {
    /// An empty chunk for `text` bytes and `count` events from version `first`.
    fn with_capacity(first: usize, text: usize, count: usize) -> Result<Self, OutOfMemory> {
        let mut chunk = Chunk {
            first,
            text: String::new(),
            records: Vec::new(),
        };
        reserve_text(&mut chunk.text, text)?;
        reserve(&mut chunk.records, count)?;
        Ok(chunk)
    }

    /// The version after the chunk's last event.
    fn end(&self) -> usize {
        self.first + self.records.len()
    }

    fn has_room(&self, text: usize, count: usize) -> bool {
        self.text.capacity() - self.text.len() >= text
            && self.records.capacity() - self.records.len() >= count
    }

    /// Adds `event`, for which there is room (see [`Stream::room`]).
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

/// One stream: its chunks, oldest first, never empty once the stream exists. The version is
/// the last chunk's end minus one, so `version` is O(1); `load` finds its first chunk by binary
/// search and touches only the events it returns.
#[derive(Default)]
struct Stream {
    chunks: Vec<Chunk>,
}

impl Stream {
    fn len(&self) -> usize {
        self.chunks.last().map_or(0, Chunk::end)
    }

    fn version(&self) -> i64 {
        self.len() as i64 - 1
    }

    /// The chunk the next `count` events with `text` bytes of text go into, with room made for
    /// them: the last chunk if they fit or it may grow that far, else a new one. Fails, changing
    /// nothing, when the memory cannot give the room.
    fn room(&mut self, text: usize, count: usize) -> Result<&mut Chunk, OutOfMemory> {
        let next = self.len();
        let fits_last = self.chunks.last().is_some_and(|last| {
            last.has_room(text, count)
                || (last.text.len() + text <= CHUNK_TEXT
                    && last.records.len() + count <= CHUNK_RECORDS)
        });
        if !fits_last {
            // A chunk after a full one starts at its full size (or the append's), so that the
            // stream does not copy its way up to it again.
            let (text_capacity, records_capacity) = match self.chunks.last() {
                Some(last) => (
                    text.max(last.text.len().min(CHUNK_TEXT)),
                    count.max(last.records.len().min(CHUNK_RECORDS)),
                ),
                None => (text, count),
            };
            // Near the end of the memory, the room for just this append may still be there.
            let chunk = Chunk::with_capacity(next, text_capacity, records_capacity)
                .or_else(|_| Chunk::with_capacity(next, text, count))?;
            reserve(&mut self.chunks, 1)?;
            self.chunks.push(chunk);
        }
        let Some(last) = self.chunks.last_mut() else {
            return Err(OutOfMemory::new("a stream", 0)); // unreachable: a chunk was just added
        };
        // Grow within the chunk's bounds: doubling while small, a quarter when big.
        let text_extra = growth(last.text.len(), last.text.capacity(), text, 4096)
            .min(CHUNK_TEXT.saturating_sub(last.text.len()))
            .max(text);
        let records_extra = growth(last.records.len(), last.records.capacity(), count, 64)
            .min(CHUNK_RECORDS.saturating_sub(last.records.len()))
            .max(count);
        if !last.has_room(text, count) {
            // Both reservations before either buffer is used: a failure of the second leaves
            // the first's spare capacity, which changes no event. Near the end of the memory,
            // just what this append needs may still be there.
            reserve_text(&mut last.text, text_extra)
                .or_else(|_| reserve_text(&mut last.text, text))?;
            reserve(&mut last.records, records_extra)
                .or_else(|_| reserve(&mut last.records, count))?;
        }
        Ok(last)
    }
}

/// How many more items to reserve in a buffer of `len` items (room for `capacity`) before adding
/// `needed`: none if they fit; otherwise at least `needed`, and a quarter of the buffer rather
/// than all of it (doubling), so that a big buffer carries at most 25% of unused capacity (12%
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

/// `buffer.try_reserve_exact(extra)`, as an [`OutOfMemory`] naming what was asked.
fn reserve<T>(buffer: &mut Vec<T>, extra: usize) -> Result<(), OutOfMemory> {
    buffer
        .try_reserve_exact(extra)
        .map_err(|_| OutOfMemory::new("a stream", extra.saturating_mul(size_of::<T>())))
}

fn reserve_text(text: &mut String, extra: usize) -> Result<(), OutOfMemory> {
    text.try_reserve_exact(extra)
        .map_err(|_| OutOfMemory::new("a stream's text", extra))
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
    type Error = OutOfMemory;

    // Only this core writes here, and it checked every event it wrote. (Loads hand over decoded
    // fields with `push_fields`, which never decodes anything; this matters only to payloads.)
    const TRUSTED: bool = true;

    // Every operation completes without awaiting, so none can interleave with another.
    const SUSPENDS: bool = false;

    fn out_of_memory(error: &OutOfMemory) -> Option<OutOfMemory> {
        Some(error.clone())
    }

    async fn load(
        &self,
        aggregate_id: &str,
        after_version: i64,
        sink: &mut RecordSink<'_>,
    ) -> Result<(), OutOfMemory> {
        let streams = self.streams.borrow();
        let Some(stream) = streams.get(aggregate_id) else {
            return Ok(());
        };
        // Below 0 means from the start; past usize (wasm32 is 32-bit) means past the end.
        let first = usize::try_from(after_version.saturating_add(1).max(0)).unwrap_or(usize::MAX);
        if first >= stream.len() {
            return Ok(());
        }
        // The events this load takes: up to the stream's end, or the sink's limit.
        let end = stream.len().min(first.saturating_add(sink.remaining()));
        // The chunk holding `first`, and where that event's text starts in it.
        let at = stream.chunks.partition_point(|c| c.end() <= first);
        let chunks = stream.chunks.get(at..).unwrap_or_default();
        let skip = chunks.first().map_or(0, |c| first - c.first);
        let start_of = |chunk: &Chunk, index: usize| match index.checked_sub(1) {
            Some(previous) => chunk.records.get(previous).map_or(0, |r| r.end),
            None => 0,
        };
        // The JSON of an event is its text plus about 170 bytes of keys, id, version and time,
        // and the stream's id.
        let per_event = 170 + sink.aggregate_id_json_len();
        let text: usize = chunks
            .iter()
            .take_while(|c| c.first < end)
            .enumerate()
            .map(|(i, c)| {
                let from = if i == 0 { skip } else { 0 };
                start_of(c, end.min(c.end()) - c.first) - start_of(c, from)
            })
            .sum();
        sink.reserve(text.saturating_add((end - first).saturating_mul(per_event)));
        for (i, chunk) in chunks.iter().take_while(|c| c.first < end).enumerate() {
            let from = if i == 0 { skip } else { 0 };
            let mut start = start_of(chunk, from);
            let to = end.min(chunk.end()) - chunk.first;
            let records = chunk.records.get(from..to).unwrap_or_default();
            for (version, record) in ((chunk.first + from) as i64..).zip(records) {
                match chunk.event(start, record) {
                    Some(fields) => sink.push_fields(version, &fields),
                    None => sink.reject(format!("in-memory event {version} does not decode")),
                }
                start = record.end;
            }
        }
        Ok(())
    }

    async fn version(&self, aggregate_id: &str) -> Result<i64, OutOfMemory> {
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
    ) -> Result<AppendOutcome, OutOfMemory> {
        let mut streams = self.streams.borrow_mut();
        let actual_version = streams.get(aggregate_id).map_or(-1, Stream::version);
        if actual_version != expected_version {
            return Ok(AppendOutcome::Conflict { actual_version });
        }
        if events.is_empty() {
            return Ok(AppendOutcome::Appended);
        }
        // At most this much text: canonical ids and `{}` metadata take none. (Checked: generated
        // ids add 38 bytes an event that the input did not hold.)
        let text = events
            .iter()
            .try_fold(0usize, |sum, event| sum.checked_add(event.text_len()))
            .ok_or_else(|| OutOfMemory::new("a stream's text", usize::MAX))?;
        let chunk = match streams.get_mut(aggregate_id) {
            Some(stream) => stream.room(text, events.len())?,
            None => {
                // Everything a new stream needs is had before it is added to the map.
                let mut stream = Stream::default();
                stream.room(text, events.len())?;
                let mut key = String::new();
                reserve_text(&mut key, aggregate_id.len())?;
                key.push_str(aggregate_id);
                streams
                    .try_reserve(1)
                    .map_err(|_| OutOfMemory::new("the map of streams", 0))?;
                let stream = streams.entry(key.into_boxed_str()).or_insert(stream);
                stream.room(text, events.len())?
            }
        };
        for event in events {
            chunk.push(event);
        }
        Ok(AppendOutcome::Appended)
    }
}

#[cfg(test)]
mod tests;
