//! The sink a global-log load (`loadAllEvents`) feeds: records of any stream, in position
//! order, each checked on the way in and written as a recorded event with its `position`.
use super::output::Output;
use super::sink::{decode_reason, valid_position};
use crate::error::OutOfMemory;
use crate::json::push_json_string;
use crate::payload;
use crate::record::{self, EventFields};
use crate::version::MAX_SAFE_INTEGER;

/// What went wrong with the global log: the position concerned and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogCorruption {
    pub position: i64,
    pub reason: String,
}

/// Why a global-log load's records could not become its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogLoadError {
    Corrupt(LogCorruption),
    OutOfMemory(OutOfMemory),
}

/// Collects the global log's records into the JSON array handed to JS. Positions must increase
/// strictly from the one asked after, across the pages a load is read in; every record must
/// name a stream and a version, and an untrusted payload must decode and be that stream's event
/// at that version. A page must hold no more records than it asked for. The first problem is
/// kept and everything after it ignored.
pub struct LogSink {
    verify: bool,
    out: Output,
    /// The position of the last record taken (at first, the one the load is after).
    last_position: i64,
    corruption: Option<LogCorruption>,
    /// The last record's stream id and the same as JSON: consecutive events often share them.
    last_id: String,
    last_id_json: String,
    /// Records fed in the page being read, and how many it asked for.
    page_count: usize,
    page_limit: usize,
}

impl LogSink {
    /// A load of the events after `after_position` (-1: from the start), at most `limit`.
    pub fn new(after_position: i64, verify: bool, limit: Option<usize>) -> Self {
        LogSink {
            verify,
            out: Output::new(limit),
            last_position: after_position.max(-1),
            corruption: None,
            last_id: String::new(),
            last_id_json: String::new(),
            page_count: 0,
            page_limit: usize::MAX,
        }
    }

    /// Starts a page that asks for at most `limit` records.
    pub fn begin_page(&mut self, limit: usize) {
        self.page_count = 0;
        self.page_limit = limit;
    }

    /// Records fed in this page.
    pub fn page_count(&self) -> usize {
        self.page_count
    }

    /// The position the next page is read after.
    pub fn last_position(&self) -> i64 {
        self.last_position
    }

    /// Whether more records are wanted: no problem met, and the limit not reached.
    pub fn wants_more(&self) -> bool {
        !self.is_corrupt() && !self.out.full()
    }

    /// How many more events the load takes at most (usize::MAX: no limit).
    pub fn remaining(&self) -> usize {
        self.out.remaining()
    }

    /// A hint for how many bytes will follow (see `RecordSink::reserve`).
    pub fn reserve(&mut self, bytes: usize) {
        self.out.room(bytes);
    }

    /// Adds the event at `position`, event `version` of `aggregate_id`, given as a payload; it
    /// is decoded and checked unless the storage is trusted.
    pub fn push(&mut self, aggregate_id: &str, version: i64, position: i64, payload: &str) {
        let bound = payload.len() + payload::FIXED_BYTES;
        if !self.accepts(aggregate_id, version, position, bound) {
            return;
        }
        let written = if self.verify {
            let stream = payload::Stream {
                id: &self.last_id,
                id_json: &self.last_id_json,
            };
            payload::write_verified_event_with(
                &mut self.out.json,
                payload,
                stream,
                version,
                &mut self.out.times,
            )
        } else {
            payload::write_trusted_event(&mut self.out.json, payload)
        };
        match written {
            Ok(()) => self.accepted(position),
            Err(error) => {
                self.corruption = Some(LogCorruption {
                    position,
                    reason: format!(
                        "event {version} of stream {}: {}",
                        shortened(aggregate_id),
                        decode_reason(error)
                    ),
                })
            }
        }
    }

    /// Adds an event a storage kept decoded (its members were checked when it was appended).
    pub fn push_fields(
        &mut self,
        aggregate_id: &str,
        version: i64,
        position: i64,
        fields: &EventFields<'_>,
    ) {
        let bound = fields.payload_len("");
        if !self.accepts(aggregate_id, version, position, bound) {
            return;
        }
        record::write_event(
            &mut self.out.json,
            &self.last_id_json,
            version,
            fields,
            &mut self.out.times,
        );
        self.accepted(position);
    }

    /// Whether the record can be taken (see the type's checks) and there is room for its JSON:
    /// `bound` bytes and its stream's id; if so, the separator is written and the stream's id
    /// made current.
    fn accepts(&mut self, aggregate_id: &str, version: i64, position: i64, bound: usize) -> bool {
        if !self.wants_more() {
            return false;
        }
        let problem = if self.page_count >= self.page_limit {
            Some(format!(
                "loadAll answered more records than the {} asked for",
                self.page_limit
            ))
        } else if !valid_position(position) {
            Some(format!("position {position} is not a safe integer from 0"))
        } else if position <= self.last_position {
            Some(format!(
                "position {position} is not after position {}: out of order or duplicated",
                self.last_position
            ))
        } else if aggregate_id.is_empty() {
            Some("the record names no stream (an empty aggregateId)".to_string())
        } else if !(0..=MAX_SAFE_INTEGER).contains(&version) {
            Some(format!(
                "the record's version {version} is not a safe integer from 0"
            ))
        } else {
            None
        };
        if let Some(reason) = problem {
            self.corruption = Some(LogCorruption {
                position: if valid_position(position) {
                    position
                } else {
                    self.last_position + 1
                },
                reason,
            });
            return false;
        }
        self.page_count += 1;
        if self.last_id != aggregate_id && !self.current_stream(aggregate_id) {
            return false;
        }
        self.out
            .begin(bound.saturating_add(self.last_id_json.len()))
    }

    /// Makes `aggregate_id` the current stream (its id and its JSON kept), fallibly.
    fn current_stream(&mut self, aggregate_id: &str) -> bool {
        self.last_id.clear();
        self.last_id_json.clear();
        let room = self.last_id.try_reserve(aggregate_id.len()).is_ok()
            && self
                .last_id_json
                .try_reserve(aggregate_id.len().saturating_mul(6).saturating_add(2))
                .is_ok();
        if !room {
            self.out.out_of_memory =
                Some(OutOfMemory::new("the loaded events", aggregate_id.len()));
            return false;
        }
        self.last_id.push_str(aggregate_id);
        push_json_string(&mut self.last_id_json, aggregate_id);
        true
    }

    fn accepted(&mut self, position: i64) {
        self.out.end(Some(position));
        self.last_position = position;
    }

    /// Records that a record could not even be read.
    pub fn reject(&mut self, reason: impl Into<String>) {
        if !self.is_corrupt() {
            self.corruption = Some(LogCorruption {
                position: self.last_position + 1,
                reason: reason.into(),
            });
        }
    }

    /// Whether a problem was found already, or memory ran out.
    pub fn is_corrupt(&self) -> bool {
        self.corruption.is_some() || self.out.out_of_memory.is_some()
    }

    /// The JSON array of recorded events, or the first problem met.
    pub fn finish(self) -> Result<String, LogLoadError> {
        if let Some(corruption) = self.corruption {
            return Err(LogLoadError::Corrupt(corruption));
        }
        self.out.finish().map_err(LogLoadError::OutOfMemory)
    }
}

/// A stream id for a message: quoted, and cut after 60 characters (an untrusted id may be huge).
fn shortened(id: &str) -> String {
    match id.char_indices().nth(60) {
        Some((end, _)) => format!("{:?}…", id.get(..end).unwrap_or_default()),
        None => format!("{id:?}"),
    }
}
