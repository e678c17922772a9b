//! How the memory storage lays out one stream: a list of [`Chunk`]s, each with its events' texts
//! back to back in a `String` and a fixed-size [`Record`] per event.
//!
//! A chunk grows up to [`CHUNK_TEXT`] bytes and [`CHUNK_RECORDS`] events, and then the stream
//! goes on in a new one. Growing a buffer copies it, and a copy needs the old and the new buffer
//! at once, so one buffer per stream could fill at most about half of the wasm memory; chunks let
//! a stream use all of it, and keep every copy small. Every buffer is grown fallibly
//! ([`OutOfMemory`]), before anything is changed.
use crate::error::OutOfMemory;
use crate::ids;
use crate::record::{EventFields, EventId};

/// A chunk's text grows (by copying) up to this many bytes; beyond, the stream's next append
/// starts a new chunk.
pub(super) const CHUNK_TEXT: usize = 1 << 20;
/// Likewise for a chunk's records (40 bytes each on wasm32: 640 KiB).
pub(super) const CHUNK_RECORDS: usize = 1 << 14;

/// One event of a stream, besides its text. 48 bytes on wasm32 (56 natively, where `usize` is 8).
pub(super) struct Record {
    /// Where the event's text ends in its chunk's `text` (it starts where the previous ends).
    pub(super) end: usize,
    /// Bytes of the id's JSON text at the start of the event's text; 0 when `uuid` is the id.
    pub(super) id_len: u32,
    /// Bytes of the type's JSON text, which follows the id's.
    pub(super) type_len: u32,
    /// Bytes of the metadata's JSON text, which follows the type's; 0 for `{}` (not stored).
    pub(super) metadata_len: u32,
    pub(super) occurred_on_ms: i64,
    pub(super) uuid: [u8; 16],
    /// The event's place in the storage's global log.
    pub(super) position: u64,
}

/// Consecutive events of a stream: from version `first`, one record each, their texts back to
/// back. The events of one append are always in one chunk.
pub(super) struct Chunk {
    pub(super) first: usize,
    pub(super) text: String,
    pub(super) records: Vec<Record>,
}

impl Chunk {
    /// An empty chunk for `text` bytes and `count` events from version `first`.
    pub(super) fn with_capacity(
        first: usize,
        text: usize,
        count: usize,
    ) -> Result<Self, OutOfMemory> {
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
    pub(super) fn end(&self) -> usize {
        self.first + self.records.len()
    }

    pub(super) fn has_room(&self, text: usize, count: usize) -> bool {
        self.text.capacity() - self.text.len() >= text
            && self.records.capacity() - self.records.len() >= count
    }

    /// Adds `event`, at `position` of the global log, for which there is room (see
    /// [`Stream::room`]).
    pub(super) fn push(&mut self, event: &EventFields<'_>, position: u64) {
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
            position,
        });
    }

    /// The event of `record`, whose text starts at `start`. `None` only if the record does not
    /// fit its text (a bug), which the load then reports as corruption.
    pub(super) fn event(&self, start: usize, record: &Record) -> Option<EventFields<'_>> {
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
pub(super) struct Stream {
    /// The stream's id (the map of streams holds it too): the global log names streams by
    /// number, and its loads need the id of each.
    pub(super) id: Box<str>,
    pub(super) chunks: Vec<Chunk>,
}

impl Stream {
    pub(super) fn len(&self) -> usize {
        self.chunks.last().map_or(0, Chunk::end)
    }

    /// The event at `version` (which the stream holds) and its record; `None` if it does not
    /// hold it or the record does not fit its text.
    pub(super) fn event_at(&self, version: usize) -> Option<(EventFields<'_>, &Record)> {
        let chunk = self
            .chunks
            .get(self.chunks.partition_point(|c| c.end() <= version))?;
        let index = version.checked_sub(chunk.first)?;
        let record = chunk.records.get(index)?;
        let start = match index.checked_sub(1) {
            Some(previous) => chunk.records.get(previous)?.end,
            None => 0,
        };
        Some((chunk.event(start, record)?, record))
    }

    pub(super) fn version(&self) -> i64 {
        self.len() as i64 - 1
    }

    /// The chunk the next `count` events with `text` bytes of text go into, with room made for
    /// them: the last chunk if they fit or it may grow that far, else a new one. Fails, changing
    /// nothing, when the memory cannot give the room.
    pub(super) fn room(&mut self, text: usize, count: usize) -> Result<&mut Chunk, OutOfMemory> {
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
pub(super) fn growth(len: usize, capacity: usize, needed: usize, small: usize) -> usize {
    if capacity - len >= needed {
        0
    } else if len < small {
        needed.max(len)
    } else {
        needed.max(len / 4)
    }
}

/// `buffer.try_reserve_exact(extra)`, as an [`OutOfMemory`] naming what was asked.
pub(super) fn reserve<T>(buffer: &mut Vec<T>, extra: usize) -> Result<(), OutOfMemory> {
    buffer
        .try_reserve_exact(extra)
        .map_err(|_| OutOfMemory::new("a stream", extra.saturating_mul(size_of::<T>())))
}

pub(super) fn reserve_text(text: &mut String, extra: usize) -> Result<(), OutOfMemory> {
    text.try_reserve_exact(extra)
        .map_err(|_| OutOfMemory::new("a stream's text", extra))
}
