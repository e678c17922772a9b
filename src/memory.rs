//! The default storage: streams in memory.
use std::cell::RefCell;
use std::convert::Infallible;

use crate::fxhash::FxHashMap;
use crate::storage::{AppendOutcome, RecordBatch, RecordSink, Storage};

/// One stream: every payload back to back in one buffer, and where each ends. Appending a batch
/// is one copy; the version is `ends.len() - 1`, so `version` is O(1) and `load` touches only the
/// records it returns. About 8 bytes of bookkeeping per event besides the payload.
#[derive(Default)]
struct Stream {
    text: String,
    ends: Vec<usize>,
}

impl Stream {
    fn version(&self) -> i64 {
        self.ends.len() as i64 - 1
    }
}

#[derive(Default)]
pub struct MemoryStorage {
    // Borrowed only inside the synchronous bodies below, never across an await.
    streams: RefCell<FxHashMap<Box<str>, Stream>>,
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
        let first = usize::try_from(after_version.saturating_add(1).max(0)).unwrap_or(usize::MAX);
        let Some(ends) = stream.ends.get(first..) else {
            return Ok(());
        };
        let mut start = match first.checked_sub(1) {
            Some(previous) => stream.ends.get(previous).copied().unwrap_or(0),
            None => 0,
        };
        sink.reserve(ends.last().map_or(0, |end| end - start) + ends.len());
        for (version, &end) in (first as i64..).zip(ends) {
            sink.push(version, stream.text.get(start..end).unwrap_or_default());
            start = end;
        }
        Ok(())
    }

    async fn version(&self, aggregate_id: &str) -> Result<i64, Infallible> {
        Ok(self
            .streams
            .borrow()
            .get(aggregate_id)
            .map_or(-1, Stream::version))
    }

    async fn append(
        &self,
        aggregate_id: &str,
        expected_version: i64,
        records: &RecordBatch,
    ) -> Result<AppendOutcome, Infallible> {
        let mut streams = self.streams.borrow_mut();
        let actual_version = streams.get(aggregate_id).map_or(-1, Stream::version);
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
        let (text, ends) = records.parts();
        let base = stream.text.len();
        // Grow by a quarter instead of doubling: a stream's buffer then carries at most 25% of
        // unused capacity (12% on average) instead of up to 100%, for a few more copies.
        if stream.text.capacity() - base < text.len() {
            stream.text.reserve_exact(text.len().max(base / 4));
        }
        stream.text.push_str(text);
        stream.ends.extend(ends.iter().map(|end| base + end));
        Ok(AppendOutcome::Appended)
    }
}
