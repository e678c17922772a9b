//! The sink a stream's load feeds: it checks each record on the way in and writes the JSON
//! array of recorded events handed to JS.
use super::output::Output;
use crate::error::OutOfMemory;
use crate::json::json_string;
use crate::payload::{self, DecodeError};
use crate::record::{self, EventFields};
use crate::version::MAX_SAFE_INTEGER;

/// What went wrong with a loaded record: the stream version it was found at and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corruption {
    pub version: i64,
    pub reason: String,
}

/// Why a load's records could not become its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    Corrupt(Corruption),
    OutOfMemory(OutOfMemory),
}

/// Whether a position is one a storage may assign: a safe integer from 0.
pub(super) fn valid_position(position: i64) -> bool {
    (0..=MAX_SAFE_INTEGER).contains(&position)
}

/// Collects loaded records into the JSON array text handed to JS, checking each on the way in:
/// versions must start right after the requested one and be contiguous; untrusted payloads must
/// decode and belong to the stream; over a storage with a global log every record must carry a
/// position, increasing with the versions. The first problem is kept and everything after it
/// ignored.
pub struct RecordSink<'a> {
    aggregate_id: &'a str,
    /// The aggregate id as a JSON string literal.
    aggregate_id_json: String,
    next_version: i64,
    verify: bool,
    out: Output,
    corruption: Option<Corruption>,
    /// `Some(last)` when records must carry positions (the storage has a global log): the
    /// position of the previous record, -1 before the first.
    last_position: Option<i64>,
}

impl<'a> RecordSink<'a> {
    pub fn new(aggregate_id: &'a str, after_version: i64, verify: bool) -> Self {
        RecordSink {
            aggregate_id,
            aggregate_id_json: json_string(aggregate_id),
            next_version: after_version.saturating_add(1),
            verify,
            out: Output::new(None),
            corruption: None,
            last_position: None,
        }
    }

    /// Takes at most `limit` events (`loadEvents(id, from, { limit })`); storages may stop
    /// feeding records once [`RecordSink::wants_more`] says no.
    pub fn with_limit(mut self, limit: Option<usize>) -> Self {
        self.out.limit = limit.unwrap_or(usize::MAX);
        self
    }

    /// Every record must carry its position in the storage's global log, and the output
    /// events get a `position` member. Without this, positions given are ignored.
    pub fn with_positions(mut self) -> Self {
        self.last_position = Some(-1);
        self
    }

    /// Whether more records are wanted: no problem met, and the limit not reached.
    pub fn wants_more(&self) -> bool {
        !self.is_corrupt() && !self.out.full()
    }

    /// How many more events the sink takes at most (usize::MAX: no limit).
    pub fn remaining(&self) -> usize {
        self.out.remaining()
    }

    /// A hint for how many bytes will follow, to size the output once. If the memory cannot
    /// give that much, the load fails as out of memory.
    pub fn reserve(&mut self, bytes: usize) {
        self.out.room(bytes);
    }

    /// Bytes of the stream's id as JSON, which every event of the output repeats.
    pub fn aggregate_id_json_len(&self) -> usize {
        self.aggregate_id_json.len()
    }

    /// Adds an event given as a payload; it is decoded and checked unless the storage is
    /// trusted (see [`super::Storage::TRUSTED`]).
    pub fn push(&mut self, version: i64, payload: &str) {
        self.push_at(version, None, payload);
    }

    /// [`RecordSink::push`] for a record with its position in the global log.
    pub fn push_at(&mut self, version: i64, position: Option<i64>, payload: &str) {
        // The output holds the payload's members, re-encoded at most as long as a payload of
        // them (the stream's id and fixed members included).
        let bound = payload.len() + payload::FIXED_BYTES + self.aggregate_id_json.len();
        let Some(position) = self.accepts(version, position, bound) else {
            return;
        };
        let written = if self.verify {
            let stream = payload::Stream {
                id: self.aggregate_id,
                id_json: &self.aggregate_id_json,
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
        if let Err(error) = written {
            self.corruption = Some(Corruption {
                version,
                reason: decode_reason(error),
            });
            return;
        }
        self.accepted(version, position);
    }

    /// Adds an event a storage kept decoded (its members were checked when it was appended).
    pub fn push_fields(&mut self, version: i64, fields: &EventFields<'_>) {
        self.push_fields_at(version, None, fields);
    }

    /// [`RecordSink::push_fields`] for a record with its position in the global log.
    pub fn push_fields_at(
        &mut self,
        version: i64,
        position: Option<i64>,
        fields: &EventFields<'_>,
    ) {
        let bound = fields.payload_len(&self.aggregate_id_json);
        let Some(position) = self.accepts(version, position, bound) else {
            return;
        };
        record::write_event(
            &mut self.out.json,
            &self.aggregate_id_json,
            version,
            fields,
            &mut self.out.times,
        );
        self.accepted(version, position);
    }

    /// Whether `version` is the next one expected, its position (if positions are kept) after
    /// the last one, nothing went wrong before, and there is room for `bound` bytes of its JSON;
    /// if so, the separator before the event is written and the position to write is returned.
    /// Records the problem otherwise.
    fn accepts(
        &mut self,
        version: i64,
        position: Option<i64>,
        bound: usize,
    ) -> Option<Option<i64>> {
        // Past the limit a record is not looked at: it is not part of this load.
        if !self.wants_more() {
            return None;
        }
        if version != self.next_version {
            let reason = if version < self.next_version {
                format!("version {version} is duplicated or out of order")
            } else {
                format!(
                    "versions {} to {} are missing",
                    self.next_version,
                    version - 1
                )
            };
            self.corruption = Some(Corruption {
                version: self.next_version,
                reason,
            });
            return None;
        }
        let position = match (self.last_position, position) {
            (None, _) => None,
            (Some(last), Some(position)) if valid_position(position) && position > last => {
                Some(position)
            }
            (Some(last), given) => {
                self.corruption = Some(Corruption {
                    version,
                    reason: match given {
                        None => "the record has no position, though the storage has a global log"
                            .to_string(),
                        Some(p) if !valid_position(p) => {
                            format!("the record's position {p} is not a safe integer from 0")
                        }
                        Some(p) => format!(
                            "the record's position {p} is not after the previous event's, {last}"
                        ),
                    },
                });
                return None;
            }
        };
        self.out.begin(bound).then_some(position)
    }

    fn accepted(&mut self, version: i64, position: Option<i64>) {
        self.out.end(position);
        self.next_version = version + 1;
        if position.is_some() {
            self.last_position = position;
        }
    }

    /// Records that a record could not even be read (not an object, no version or payload).
    pub fn reject(&mut self, reason: impl Into<String>) {
        if !self.is_corrupt() {
            self.corruption = Some(Corruption {
                version: self.next_version,
                reason: reason.into(),
            });
        }
    }

    /// Whether a problem was found already, or memory ran out (then every further record is
    /// ignored).
    pub fn is_corrupt(&self) -> bool {
        self.corruption.is_some() || self.out.out_of_memory.is_some()
    }

    /// The JSON array of recorded events, or the first problem met.
    pub fn finish(self) -> Result<String, LoadError> {
        if let Some(corruption) = self.corruption {
            return Err(LoadError::Corrupt(corruption));
        }
        self.out.finish().map_err(LoadError::OutOfMemory)
    }
}

/// A payload's decoding failure as the reason a load reports.
pub(super) fn decode_reason(error: DecodeError) -> String {
    match error {
        DecodeError::Malformed(why) => format!("payload does not decode: {why}"),
        DecodeError::Mismatch(why) => why,
    }
}
