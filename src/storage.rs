//! The storage contract the core writes through. It mirrors the JS `StorageAdapter` contract:
//! streams of records `{ version, payload }`, a conditional append, and the last version.
use crate::payload::{self, DecodeError};

/// The records of one append: consecutive versions from `first_version`, their payloads
/// written back to back into one buffer (one allocation per batch, not per event).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordBatch {
    first_version: i64,
    text: String,
    ends: Vec<usize>,
}

impl RecordBatch {
    pub fn new(first_version: i64, events: usize, bytes: usize) -> Self {
        RecordBatch {
            first_version,
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(events),
        }
    }

    /// Empties the batch for reuse, keeping its buffers, for records from `first_version`.
    pub fn reset(&mut self, first_version: i64, events: usize, bytes: usize) {
        self.first_version = first_version;
        self.text.clear();
        self.ends.clear();
        self.text.reserve(bytes);
        self.ends.reserve(events);
    }

    /// Bytes the batch holds on to.
    pub fn capacity(&self) -> usize {
        self.text.capacity() + self.ends.capacity() * std::mem::size_of::<usize>()
    }

    /// Adds the next record; `write` appends its payload to the buffer.
    pub fn push_with(&mut self, write: impl FnOnce(&mut String)) {
        write(&mut self.text);
        self.ends.push(self.text.len());
    }

    pub fn first_version(&self) -> i64 {
        self.first_version
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// All payloads back to back, and where each ends: for storages that keep them that way.
    pub fn parts(&self) -> (&str, &[usize]) {
        (&self.text, &self.ends)
    }

    /// `(version, payload)` of each record, in order.
    pub fn iter(&self) -> impl Iterator<Item = (i64, &str)> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .zip(self.first_version..)
            .map(|((start, end), version)| (version, self.text.get(start..end).unwrap_or_default()))
    }
}

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

    /// Feeds the records of the stream with version > `after_version`, ascending, into `sink`.
    /// An unknown stream feeds nothing.
    async fn load(
        &self,
        aggregate_id: &str,
        after_version: i64,
        sink: &mut RecordSink,
    ) -> Result<(), Self::Error>;

    /// The stream's last version, or -1 if it does not exist.
    async fn version(&self, aggregate_id: &str) -> Result<i64, Self::Error>;

    /// Atomically: if the stream's last version is `expected_version`, stores every record and
    /// answers `Appended`; otherwise stores nothing and answers `Conflict`. The records' versions
    /// start at `expected_version + 1`.
    async fn append(
        &self,
        aggregate_id: &str,
        expected_version: i64,
        records: &RecordBatch,
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
    next_version: i64,
    verify: bool,
    json: String,
    count: usize,
    corruption: Option<Corruption>,
}

impl<'a> RecordSink<'a> {
    pub fn new(aggregate_id: &'a str, after_version: i64, verify: bool) -> Self {
        let mut json = String::new();
        json.push('[');
        RecordSink {
            aggregate_id,
            next_version: after_version.saturating_add(1),
            verify,
            json,
            count: 0,
            corruption: None,
        }
    }

    /// A hint for how many payload bytes will follow, to size the output once.
    pub fn reserve(&mut self, bytes: usize) {
        self.json.reserve(bytes);
    }

    pub fn push(&mut self, version: i64, payload: &str) {
        if self.corruption.is_some() {
            return;
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
            return;
        }
        if self.count > 0 {
            self.json.push(',');
        }
        let written = if self.verify {
            payload::write_verified_event(&mut self.json, payload, self.aggregate_id, version)
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
