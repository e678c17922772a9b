//! The default storage: streams in memory, each event kept in compact form, and the global log.
//!
//! A stream keeps only what no other place holds: its id and the events' versions are implied by
//! where things are, an event id is 16 bytes rather than 38 characters of JSON, a time 8 bytes
//! rather than 26, metadata `{}` nothing. `loadEvents` writes the JSON of the recorded events
//! from these parts. How a stream is laid out is in [`chunk`]; the global log, which names each
//! position's stream and version, in [`log`]. Positions are a counter: contiguous from 0.
//!
//! Memory runs out as an error, never a trap: every buffer an append or a load grows is
//! reserved fallibly, before anything is changed, so a failed operation leaves the storage as it
//! was ([`OutOfMemory`]).
mod chunk;
mod log;

use std::cell::RefCell;

use super::fxhash::FxHashMap;
use super::{AppendOutcome, LogSink, RecordSink, Storage};
use crate::error::OutOfMemory;
use crate::record::EventFields;
use chunk::{reserve, reserve_text, Chunk, Stream};
use log::{Entry, Log};

#[derive(Default)]
struct State {
    /// The number of each stream, by id: its index in `streams`.
    numbers: FxHashMap<Box<str>, u32>,
    streams: Vec<Stream>,
    log: Log,
}

#[derive(Default)]
pub struct MemoryStorage {
    // Borrowed only inside the synchronous bodies below, never across an await.
    state: RefCell<State>,
}

impl MemoryStorage {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of streams held.
    pub fn stream_count(&self) -> usize {
        self.state.borrow().streams.len()
    }
}

/// A copy of `text`, made fallibly.
fn boxed(text: &str) -> Result<Box<str>, OutOfMemory> {
    let mut owned = String::new();
    reserve_text(&mut owned, text.len())?;
    owned.push_str(text);
    Ok(owned.into_boxed_str())
}

impl State {
    fn stream(&self, aggregate_id: &str) -> Option<&Stream> {
        let number = *self.numbers.get(aggregate_id)?;
        self.streams.get(number as usize)
    }

    /// Adds the new stream `aggregate_id` with room for `count` events of `text` bytes; its
    /// number. Everything it needs is had before it is added, so a failure adds nothing.
    fn add_stream(
        &mut self,
        aggregate_id: &str,
        text: usize,
        count: usize,
    ) -> Result<u32, OutOfMemory> {
        let number = u32::try_from(self.streams.len())
            .map_err(|_| OutOfMemory::new("the map of streams", 0))?;
        let mut stream = Stream {
            id: boxed(aggregate_id)?,
            chunks: Vec::new(),
        };
        stream.room(text, count)?;
        let key = boxed(aggregate_id)?;
        reserve(&mut self.streams, 1)?;
        self.numbers
            .try_reserve(1)
            .map_err(|_| OutOfMemory::new("the map of streams", 0))?;
        self.streams.push(stream);
        self.numbers.insert(key, number);
        Ok(number)
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

    fn global_log(&self) -> Result<(), String> {
        Ok(())
    }

    async fn load(
        &self,
        aggregate_id: &str,
        after_version: i64,
        sink: &mut RecordSink<'_>,
    ) -> Result<(), OutOfMemory> {
        let state = self.state.borrow();
        let Some(stream) = state.stream(aggregate_id) else {
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
        // The JSON of an event is its text plus about 200 bytes of keys, id, version, position
        // and time, and the stream's id.
        let per_event = 200 + sink.aggregate_id_json_len();
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
                    Some(fields) => {
                        sink.push_fields_at(version, Some(record.position as i64), &fields)
                    }
                    None => sink.reject(format!("in-memory event {version} does not decode")),
                }
                start = record.end;
            }
        }
        Ok(())
    }

    async fn version(&self, aggregate_id: &str) -> Result<i64, OutOfMemory> {
        Ok(self
            .state
            .borrow()
            .stream(aggregate_id)
            .map_or(-1, Stream::version))
    }

    async fn append(
        &self,
        aggregate_id: &str,
        expected_version: i64,
        events: &[EventFields<'_>],
    ) -> Result<AppendOutcome, OutOfMemory> {
        let mut state = self.state.borrow_mut();
        let number = state.numbers.get(aggregate_id).copied();
        let actual_version = number
            .and_then(|n| state.streams.get(n as usize))
            .map_or(-1, Stream::version);
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
        // The log names versions in 32 bits: more events than a 4 GiB memory holds.
        let first_version = u32::try_from(expected_version + 1)
            .ok()
            .filter(|&first| {
                u32::try_from(events.len() - 1).is_ok_and(|more| first.checked_add(more).is_some())
            })
            .ok_or_else(|| OutOfMemory::new("a stream", usize::MAX))?;
        // Everything is had before anything changes: the log's room, the stream, its room.
        state.log.reserve(events.len())?;
        let number = match number {
            Some(number) => number,
            None => state.add_stream(aggregate_id, text, events.len())?,
        };
        let State { streams, log, .. } = &mut *state;
        let Some(stream) = streams.get_mut(number as usize) else {
            return Err(OutOfMemory::new("a stream", 0)); // unreachable: the number is the map's
        };
        // A new stream has its room already: this finds it (and cannot fail then).
        let chunk = stream.room(text, events.len())?;
        let first_position = log.len() as u64;
        for ((event, position), version) in events.iter().zip(first_position..).zip(first_version..)
        {
            chunk.push(event, position);
            log.push(Entry {
                stream: number,
                version,
            });
        }
        Ok(AppendOutcome::Appended)
    }

    async fn load_all(
        &self,
        after_position: i64,
        limit: usize,
        sink: &mut LogSink,
    ) -> Result<(), OutOfMemory> {
        let state = self.state.borrow();
        let first = usize::try_from(after_position.saturating_add(1).max(0)).unwrap_or(usize::MAX);
        let end = state.log.len().min(first.saturating_add(limit));
        for position in first..end {
            if !sink.wants_more() {
                break;
            }
            let event = state.log.get(position).and_then(|entry| {
                let stream = state.streams.get(entry.stream as usize)?;
                Some((
                    stream,
                    entry.version,
                    stream.event_at(entry.version as usize)?,
                ))
            });
            match event {
                Some((stream, version, (fields, _))) => {
                    sink.push_fields(&stream.id, version.into(), position as i64, &fields)
                }
                None => sink.reject(format!("in-memory position {position} does not decode")),
            }
        }
        Ok(())
    }

    async fn last_position(&self) -> Result<i64, OutOfMemory> {
        Ok(self.state.borrow().log.len() as i64 - 1)
    }
}

#[cfg(test)]
mod tests;
