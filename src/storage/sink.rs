//! The sink a storage's load feeds: it checks each record on the way in and writes the JSON
//! array of recorded events handed to JS.
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
            times: IsoCache::default(),
        }
    }

    /// A hint for how many payload bytes will follow, to size the output once.
    pub fn reserve(&mut self, bytes: usize) {
        self.json.reserve(bytes);
    }

    /// Adds an event given as a payload; it is decoded and checked unless the storage is
    /// trusted (see [`super::Storage::TRUSTED`]).
    pub fn push(&mut self, version: i64, payload: &str) {
        if !self.accepts(version) {
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
        if !self.accepts(version) {
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

    /// Whether `version` is the next one expected (and nothing went wrong before); if so, the
    /// separator before the event is written. Records the problem otherwise.
    fn accepts(&mut self, version: i64) -> bool {
        if self.corruption.is_some() {
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
        if self.corruption.is_none() {
            self.corruption = Some(Corruption {
                version: self.next_version,
                reason: reason.into(),
            });
        }
    }

    /// Whether a problem was found already (then every further record is ignored).
    pub fn is_corrupt(&self) -> bool {
        self.corruption.is_some()
    }

    /// The JSON array of recorded events, or the first corruption met.
    pub fn finish(mut self) -> Result<String, Corruption> {
        match self.corruption {
            Some(corruption) => Err(corruption),
            None => {
                self.json.push(']');
                Ok(self.json)
            }
        }
    }
}
