//! The storage contract the core writes through. It mirrors the JS `StorageAdapter` contract:
//! streams of events by version, a conditional append, and the last version. How a storage
//! encodes the events is its own business: the memory storage keeps compact binary records, the
//! host's adapters get version-1 payloads (see [`payload`]).
use crate::payload::{self, DecodeError, EventFields};
use crate::time::IsoCache;

/// The answer of a conditional append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendOutcome {
    /// All records were stored.
    Appended,
    /// The stream's last version was not the expected one; nothing was stored.
    Conflict { actual_version: i64 },
}

/// Where the core keeps its records.
///
/// The futures may complete at once (memory) or await the host (JS adapters). The core never
/// holds a borrow of its own state across these awaits.
#[allow(async_fn_in_trait)]
pub trait Storage {
    type Error;

    /// True when the storage only ever returns records this process's core wrote into it, so
    /// payloads need not be decoded and checked again on load. Hosts' adapters are not trusted.
    const TRUSTED: bool = false;

    /// True when operations may suspend (await the host). The store then serialises operations
    /// on one aggregate, so even a non-atomic storage is correct for a single store.
    const SUSPENDS: bool = true;

    /// Feeds the events of the stream with version > `after_version`, ascending, into `sink`
    /// (as payloads with [`RecordSink::push`] or decoded with [`RecordSink::push_fields`]).
    /// An unknown stream feeds nothing.
    async fn load(
        &self,
        aggregate_id: &str,
        after_version: i64,
        sink: &mut RecordSink,
    ) -> Result<(), Self::Error>;

    /// The stream's last version, or -1 if it does not exist.
    async fn version(&self, aggregate_id: &str) -> Result<i64, Self::Error>;

    /// Atomically: if the stream's last version is `expected_version`, stores every event and
    /// answers `Appended`; otherwise stores nothing and answers `Conflict`. The events' versions
    /// are `expected_version + 1` onwards; `events` is never empty.
    async fn append(
        &self,
        aggregate_id: &str,
        expected_version: i64,
        events: &[EventFields<'_>],
    ) -> Result<AppendOutcome, Self::Error>;
}

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
            aggregate_id_json: payload::json_string(aggregate_id),
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
    /// trusted (see [`Storage::TRUSTED`]).
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
        payload::write_event(
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
