//! Reads of the global log: every event of every stream by position (`loadAllEvents`) and the
//! last position (`getLastPosition`), over a storage that keeps one.
use super::{storage_error, EventStore, Result};
use crate::error::StoreError;
use crate::storage::{LogLoadError, LogSink, Storage};
use crate::version::MAX_SAFE_INTEGER;

/// The most records asked of the storage at once: a page of a load, whatever its limit.
pub const PAGE: usize = 1000;

impl<S: Storage> EventStore<S> {
    /// The events with position > `after_position` (any negative value: from the start), at
    /// most `limit` (`None`: all), as a JSON array of recorded events in position order.
    ///
    /// The storage is read a page at a time, each after the last position read, until a page
    /// comes back empty or the limit is reached: a storage may answer fewer records than asked
    /// without being at its end.
    pub async fn load_all_events_json(
        &self,
        after_position: i64,
        limit: Option<usize>,
    ) -> Result<String, S> {
        self.storage.global_log().map_err(StoreError::Unsupported)?;
        let mut sink = LogSink::new(after_position, !S::TRUSTED, limit);
        while sink.wants_more() {
            let page = sink.remaining().min(PAGE);
            sink.begin_page(page);
            self.storage
                .load_all(sink.last_position(), page, &mut sink)
                .await
                .map_err(storage_error::<S>)?;
            if sink.page_count() == 0 {
                break;
            }
        }
        sink.finish().map_err(|error| match error {
            LogLoadError::Corrupt(c) => StoreError::CorruptLog {
                position: c.position,
                reason: c.reason,
            },
            LogLoadError::OutOfMemory(error) => StoreError::OutOfMemory(error),
        })
    }

    /// The highest position of the global log, `None` when it is empty.
    pub async fn last_position(&self) -> Result<Option<i64>, S> {
        self.storage
            .global_log()
            .and_then(|()| self.storage.has_last_position())
            .map_err(StoreError::Unsupported)?;
        let position = self
            .storage
            .last_position()
            .await
            .map_err(storage_error::<S>)?;
        if !(-1..=MAX_SAFE_INTEGER).contains(&position) {
            return Err(StoreError::CorruptLog {
                position: 0,
                reason: format!("the last position is {position}, not a safe integer from -1"),
            });
        }
        Ok((position >= 0).then_some(position))
    }

    /// Whether the storage keeps a global log; if not, why.
    pub fn global_log(&self) -> std::result::Result<(), String> {
        self.storage.global_log()
    }
}
