//! The storage layer: the contract the core writes through ([`Storage`]), the sink loads feed
//! ([`RecordSink`]), and the default storage ([`MemoryStorage`]).
//!
//! The contract mirrors the JS `StorageAdapter` contract: streams of events by version, a
//! conditional append, and the last version; optionally the global log, every event of every
//! stream by its position in commit order. How a storage encodes the events is its own
//! business: the memory storage keeps compact binary records, the host's adapters get version-1
//! payloads (see [`crate::payload`]).
mod fxhash;
mod log_sink;
mod memory;
mod output;
mod sink;

pub use log_sink::{LogCorruption, LogLoadError, LogSink};
pub use memory::MemoryStorage;
pub use sink::{Corruption, LoadError, RecordSink};

use crate::error::OutOfMemory;
use crate::record::EventFields;

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

    /// The storage's error, if it is running out of memory (reported as `OUT_OF_MEMORY`
    /// rather than as a failed storage).
    fn out_of_memory(_error: &Self::Error) -> Option<OutOfMemory> {
        None
    }

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

    /// Whether the storage keeps a global log ([`Storage::load_all`], [`Storage::last_position`],
    /// positions on loaded records); if not, the message says what is missing.
    fn global_log(&self) -> Result<(), String> {
        Err("the storage has no global log".to_string())
    }

    /// Whether [`Storage::last_position`] is there (for a storage with a global log).
    fn has_last_position(&self) -> Result<(), String> {
        self.global_log()
    }

    /// Feeds the events with position > `after_position`, ascending, at most `limit` (at least
    /// 1), into `sink`. Positions are assigned at commit, in the same atomic step as the events:
    /// strictly increasing in commit order, so an event never commits with a position below one
    /// a reader may already have seen. Only called when [`Storage::global_log`] is `Ok`.
    async fn load_all(
        &self,
        after_position: i64,
        limit: usize,
        sink: &mut LogSink,
    ) -> Result<(), Self::Error> {
        let _ = (after_position, limit, sink);
        Ok(())
    }

    /// The highest position, -1 when the log is empty. Only called when
    /// [`Storage::has_last_position`] is `Ok`.
    async fn last_position(&self) -> Result<i64, Self::Error> {
        Ok(-1)
    }
}
