//! The sink a storage's load feeds: it checks each record on the way in and writes the JSON
//! array of recorded events handed to JS.
use crate::error::OutOfMemory;
use crate::json::json_string;
use crate::payload::{self, DecodeError};
use crate::record::{self, EventFields};
use crate::time::IsoCache;

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

/// Collects loaded records into the JSON array text handed to JS, checking each on the way in:
/// versions must start right after the requested one and be contiguous; untrusted payloads must
/// decode and belong to the stream. The first problem is kept and everything after it ignored.
pub struct RecordSink<'a> {
    aggregate_id: &'a str,
    /// The aggregate id as a JSON string literal.
    aggregate_id_json: String,
    next_version: i64,
    verify: bool,
    json: String,
    count: usize,
    corruption: Option<Corruption>,
    /// Set when the output could not grow; the load then stops and reports it.
    out_of_memory: Option<OutOfMemory>,
    /// At most this many events are taken (usize::MAX: all); the records after are ignored.
    limit: usize,
    times: IsoCache,
}

impl<'a> RecordSink<'a> {
    pub fn new(aggregate_id: &'a str, after_version: i64, verify: bool) -> Self {
        let mut json = String::new();
        json.push('[');
        RecordSink {
            aggregate_id,
            aggregate_id_json: json_string(aggregate_id),
            next_version: after_version.saturating_add(1),
            verify,
            json,
            count: 0,
            corruption: None,
            out_of_memory: None,
            limit: usize::MAX,
            times: IsoCache::default(),
        }
    }

    /// Takes at most `limit` events (`loadEvents(id, from, { limit })`); storages may stop
    /// feeding records once [`RecordSink::wants_more`] says no.
    pub fn with_limit(mut self, limit: Option<usize>) -> Self {
        self.limit = limit.unwrap_or(usize::MAX);
        self
    }

    /// Whether more records are wanted: no problem met, and the limit not reached.
    pub fn wants_more(&self) -> bool {
        !self.is_corrupt() && self.count < self.limit
    }

    /// How many more events the sink takes at most.
    pub fn remaining(&self) -> usize {
        self.limit.saturating_sub(self.count)
    }

    /// A hint for how many bytes will follow, to size the output once. If the memory cannot
    /// give that much, the load fails as out of memory.
    pub fn reserve(&mut self, bytes: usize) {
        self.room(bytes);
    }

    /// Bytes of the stream's id as JSON, which every event of the output repeats.
    pub fn aggregate_id_json_len(&self) -> usize {
        self.aggregate_id_json.len()
    }

    /// Makes room for `bytes` more output, or records that the memory could not. Amortised
    /// growth first, and where that is too much for what is left, exactly what is needed.
    fn room(&mut self, bytes: usize) -> bool {
        if self.json.try_reserve(bytes).is_ok() || self.json.try_reserve_exact(bytes).is_ok() {
            return true;
        }
        if self.out_of_memory.is_none() {
            self.out_of_memory = Some(OutOfMemory::new("the loaded events", bytes));
        }
        false
    }

    /// Adds an event given as a payload; it is decoded and checked unless the storage is
    /// trusted (see [`super::Storage::TRUSTED`]).
    pub fn push(&mut self, version: i64, payload: &str) {
        // The output holds the payload's members, re-encoded at most as long as a payload of
        // them (the stream's id and fixed members included).
        let bound = payload.len() + payload::FIXED_BYTES + self.aggregate_id_json.len();
        if !self.accepts(version, bound) {
            return;
        }
        let written = if self.verify {
            let stream = payload::Stream {
                id: self.aggregate_id,
                id_json: &self.aggregate_id_json,
            };
            payload::write_verified_event_with(
                &mut self.json,
                payload,
                stream,
                version,
                &mut self.times,
            )
        } else {
            payload::write_trusted_event(&mut self.json, payload)
        };
        if let Err(error) = written {
            self.corruption = Some(Corruption {
                version,
                reason: match error {
                    DecodeError::Malformed(why) => format!("payload does not decode: {why}"),
                    DecodeError::Mismatch(why) => why,
                },
            });
            return;
        }
        self.accepted(version);
    }

    /// Adds an event a storage kept decoded (its members were checked when it was appended).
    pub fn push_fields(&mut self, version: i64, fields: &EventFields<'_>) {
        if !self.accepts(version, fields.payload_len(&self.aggregate_id_json)) {
            return;
        }
        record::write_event(
            &mut self.json,
            &self.aggregate_id_json,
            version,
            fields,
            &mut self.times,
        );
        self.accepted(version);
    }

    /// Whether `version` is the next one expected (and nothing went wrong before) and there is
    /// room for `bound` bytes of its JSON; if so, the separator before the event is written.
    /// Records the problem otherwise.
    fn accepts(&mut self, version: i64, bound: usize) -> bool {
        // Past the limit a record is not looked at: it is not part of this load.
        if !self.wants_more() {
            return false;
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
            return false;
        }
        if !self.room(bound.saturating_add(1)) {
            return false;
        }
        if self.count > 0 {
            self.json.push(',');
        }
        true
    }

    fn accepted(&mut self, version: i64) {
        self.count += 1;
        self.next_version = version + 1;
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
        self.corruption.is_some() || self.out_of_memory.is_some()
    }

    /// The JSON array of recorded events, or the first problem met.
    pub fn finish(mut self) -> Result<String, LoadError> {
        if let Some(corruption) = self.corruption {
            return Err(LoadError::Corrupt(corruption));
        }
        if let Some(out_of_memory) = self.out_of_memory {
            return Err(LoadError::OutOfMemory(out_of_memory));
        }
        if !self.room(1) {
            return Err(LoadError::OutOfMemory(OutOfMemory::new(
                "the loaded events",
                1,
            )));
        }
        self.json.push(']');
        Ok(self.json)
    }
}
