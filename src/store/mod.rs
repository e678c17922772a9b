//! The event store: the contract of `appendEvents`, `loadEvents` and `getCurrentVersion` over
//! any [`Storage`], with the per-aggregate [`lock`] that orders operations over storages that
//! suspend, and [`poll_once`] that runs them at once over storages that do not. The global log's
//! reads are in [`global_log`], the recognition of a retried append in [`retry`].
mod global_log;
mod lock;
mod ready;
mod retry;

pub use ready::poll_once;

use std::cell::RefCell;

use crate::batch::{self, BatchError};
use crate::error::StoreError;
use crate::ids::IdGenerator;
use crate::record::{EventFields, EventId};
use crate::storage::{AppendOutcome, LoadError, RecordSink, Storage};
use crate::time;
use crate::version::{self, MAX_SAFE_INTEGER};
use lock::{Guard, KeyedLock};

pub struct EventStore<S> {
    storage: S,
    // Borrowed only while a batch is encoded, before any await.
    ids: RefCell<IdGenerator>,
    // Serialises operations per aggregate when the storage can suspend.
    locks: KeyedLock,
}

type Result<T, S> = std::result::Result<T, StoreError<<S as Storage>::Error>>;

/// A storage's error as the store reports it: running out of memory is `OutOfMemory`, anything
/// else a failed storage.
pub(crate) fn storage_error<S: Storage>(error: S::Error) -> StoreError<S::Error> {
    match S::out_of_memory(&error) {
        Some(out_of_memory) => StoreError::OutOfMemory(out_of_memory),
        None => StoreError::Storage(error),
    }
}

fn check_aggregate_id<E>(aggregate_id: &str) -> std::result::Result<(), StoreError<E>> {
    if aggregate_id.is_empty() {
        Err(StoreError::invalid(
            "aggregateId must be a non-empty string",
        ))
    } else {
        Ok(())
    }
}

impl<S: Storage> EventStore<S> {
    /// A store over `storage`; `seed` seeds the generator of event ids (use 32 random bytes).
    pub fn new(storage: S, seed: [u8; 32]) -> Self {
        EventStore {
            storage,
            ids: RefCell::new(IdGenerator::new(seed)),
            locks: KeyedLock::default(),
        }
    }

    /// The aggregate's turn, for storages that can suspend (see [`Storage::SUSPENDS`]).
    async fn turn(&self, aggregate_id: &str) -> Option<Guard<'_>> {
        if S::SUSPENDS {
            Some(self.locks.lock(aggregate_id).await)
        } else {
            None
        }
    }

    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// Appends the events in `events_json` (a JSON array of input events) if the stream is at
    /// `expected_version` (-1: must not exist). Resolves to the stream's version afterwards,
    /// `None` if it still does not exist. `now_ms` stamps events without `occurredOn`.
    pub async fn append_events(
        &self,
        aggregate_id: &str,
        expected_version: i64,
        events_json: &str,
        now_ms: i64,
    ) -> Result<Option<i64>, S> {
        check_aggregate_id(aggregate_id)?;
        // The same check as the JS argument gets; an i64 outside it stays outside as an f64.
        version::expected_version(expected_version as f64).map_err(StoreError::InvalidArgument)?;
        let events = self
            .stamped_events(events_json, now_ms)
            .map_err(|error| match error {
                BatchError::Invalid(message) => StoreError::InvalidArgument(message),
                BatchError::OutOfMemory(error) => StoreError::OutOfMemory(error),
            })?;
        let count = events.len() as i64;
        let _turn = self.turn(aggregate_id).await;
        // An empty batch only checks the expected version. So does a batch whose versions would
        // pass 2^53-1: it is a conflict if the stream is elsewhere, and rejected otherwise.
        let overflows = expected_version + count > MAX_SAFE_INTEGER;
        let outcome = if count > 0 && !overflows {
            self.storage
                .append(aggregate_id, expected_version, &events)
                .await
                .map_err(storage_error::<S>)?
        } else {
            let actual_version = self
                .storage
                .version(aggregate_id)
                .await
                .map_err(storage_error::<S>)?;
            if actual_version != expected_version {
                AppendOutcome::Conflict { actual_version }
            } else if overflows {
                return Err(StoreError::invalid(
                    "events would take the stream past the largest safe version (2^53-1)",
                ));
            } else {
                AppendOutcome::Appended
            }
        };
        match outcome {
            AppendOutcome::Appended => {
                let version = expected_version + count;
                Ok((version >= 0).then_some(version))
            }
            AppendOutcome::Conflict { actual_version }
                if actual_version >= expected_version + count
                    && count > 0
                    && self
                        .already_appended(aggregate_id, expected_version, &events)
                        .await? =>
            {
                // A retry of an append that succeeded (its answer was lost): nothing is written
                // twice, and it resolves as the first attempt did.
                Ok(Some(expected_version + count))
            }
            AppendOutcome::Conflict { actual_version } => Err(StoreError::Conflict {
                aggregate_id: aggregate_id.to_string(),
                expected: expected_version,
                actual: actual_version,
            }),
        }
    }

    /// The batch decoded and checked, with an id and a time for every event: the caller's, or
    /// a new UUID v4 and `now_ms`.
    fn stamped_events<'a>(
        &self,
        events_json: &'a str,
        now_ms: i64,
    ) -> std::result::Result<Vec<EventFields<'a>>, BatchError> {
        let mut ids = self.ids.borrow_mut();
        let now_ms = now_ms.clamp(-time::MAX_MS, time::MAX_MS);
        batch::parse_batch_with(events_json, |event| EventFields {
            type_json: event.type_json,
            data_json: event.data_json,
            metadata_json: event.metadata_json,
            event_id: match event.event_id_json {
                Some(given) => EventId::Json(given),
                None => EventId::Uuid(ids.next_uuid_v4()),
            },
            occurred_on_ms: event.occurred_on_ms.unwrap_or(now_ms),
        })
    }

    /// The events with version > `from_version` (any negative value: all), at most `limit` of
    /// them (`None`: all), as a JSON array of recorded events, oldest first.
    pub async fn load_events_json(
        &self,
        aggregate_id: &str,
        from_version: i64,
        limit: Option<usize>,
    ) -> Result<String, S> {
        check_aggregate_id(aggregate_id)?;
        let _turn = self.turn(aggregate_id).await;
        self.load_json(aggregate_id, from_version, limit).await
    }

    /// `load_events_json` for a caller that has the aggregate's turn.
    async fn load_json(
        &self,
        aggregate_id: &str,
        from_version: i64,
        limit: Option<usize>,
    ) -> Result<String, S> {
        let after = from_version.max(-1);
        let mut sink = RecordSink::new(aggregate_id, after, !S::TRUSTED).with_limit(limit);
        if self.storage.global_log().is_ok() {
            sink = sink.with_positions();
        }
        self.storage
            .load(aggregate_id, after, &mut sink)
            .await
            .map_err(storage_error::<S>)?;
        sink.finish().map_err(|error| match error {
            LoadError::Corrupt(c) => StoreError::Corrupt {
                aggregate_id: aggregate_id.to_string(),
                version: c.version,
                reason: c.reason,
            },
            LoadError::OutOfMemory(error) => StoreError::OutOfMemory(error),
        })
    }

    /// The stream's last version, `None` if it does not exist.
    pub async fn current_version(&self, aggregate_id: &str) -> Result<Option<i64>, S> {
        check_aggregate_id(aggregate_id)?;
        let _turn = self.turn(aggregate_id).await;
        let version = self
            .storage
            .version(aggregate_id)
            .await
            .map_err(storage_error::<S>)?;
        Ok((version >= 0).then_some(version))
    }
}
