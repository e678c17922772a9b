//! The default storage: streams of payloads in memory.
use std::cell::RefCell;
use std::collections::HashMap;
use std::convert::Infallible;

use crate::storage::{AppendOutcome, RecordSink, Storage, StoredRecord};

/// Streams kept in this process. The version of a stream is its length minus one, so
/// `version` is O(1) and `load` touches only the records it returns.
#[derive(Default)]
pub struct MemoryStorage {
    // Borrowed only inside the synchronous bodies below, never across an await.
    streams: RefCell<HashMap<Box<str>, Vec<Box<str>>>>,
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

fn last_version(stream: Option<&Vec<Box<str>>>) -> i64 {
    stream.map_or(-1, |s| s.len() as i64 - 1)
}

impl Storage for MemoryStorage {
    type Error = Infallible;

    // Only this core writes here, and it wrote every payload it reads back.
    const TRUSTED: bool = true;

    // Every operation completes without awaiting, so none can interleave with another.
    const SUSPENDS: bool = false;

    async fn load(
        &self,
        aggregate_id: &str,
        after_version: i64,
        sink: &mut RecordSink<'_>,
    ) -> Result<(), Infallible> {
        let streams = self.streams.borrow();
        let Some(stream) = streams.get(aggregate_id) else {
            return Ok(());
        };
        // Below 0 means from the start; past usize (wasm32 is 32-bit) means past the end.
        let start = usize::try_from(after_version.saturating_add(1).max(0)).unwrap_or(usize::MAX);
        let tail = stream.get(start..).unwrap_or_default();
        sink.reserve(tail.iter().map(|p| p.len() + 1).sum());
        for (offset, payload) in tail.iter().enumerate() {
            sink.push((start + offset) as i64, payload);
        }
        Ok(())
    }

    async fn version(&self, aggregate_id: &str) -> Result<i64, Infallible> {
        Ok(last_version(self.streams.borrow().get(aggregate_id)))
    }

    async fn append(
        &self,
        aggregate_id: &str,
        expected_version: i64,
        records: Vec<StoredRecord>,
    ) -> Result<AppendOutcome, Infallible> {
        let mut streams = self.streams.borrow_mut();
        let actual_version = last_version(streams.get(aggregate_id));
        if actual_version != expected_version {
            return Ok(AppendOutcome::Conflict { actual_version });
        }
        if records.is_empty() {
            return Ok(AppendOutcome::Appended);
        }
        let stream = match streams.get_mut(aggregate_id) {
            Some(stream) => stream,
            None => streams.entry(aggregate_id.into()).or_default(),
        };
        stream.reserve(records.len());
        stream.extend(records.into_iter().map(|r| r.payload.into_boxed_str()));
        Ok(AppendOutcome::Appended)
    }
}
