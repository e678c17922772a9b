//! The event store: the contract of `appendEvents`, `loadEvents` and `getCurrentVersion` over
//! any [`Storage`].
use std::cell::{Cell, RefCell};

use crate::error::StoreError;
use crate::event::{self, InputEvent};
use crate::ids::IdGenerator;
use crate::lock::{Guard, KeyedLock};
use crate::payload::{self, EventFields};
use crate::storage::{AppendOutcome, RecordBatch, RecordSink, Storage};
use crate::time;
use crate::version::{self, MAX_SAFE_INTEGER};

pub struct EventStore<S> {
    storage: S,
    // Borrowed only while a batch is encoded, before any await.
    ids: RefCell<IdGenerator>,
    // Serialises operations per aggregate when the storage can suspend.
    locks: KeyedLock,
    // A record batch kept between appends so that its buffers are reused, not reallocated.
    // Taken out for the length of an append (never borrowed across an await).
    spare: Cell<Option<RecordBatch>>,
}

/// Batches larger than this are not kept for reuse, so one huge append does not pin memory.
const SPARE_BATCH_BYTES: usize = 64 * 1024;

type Result<T, S> = std::result::Result<T, StoreError<<S as Storage>::Error>>;

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
            spare: Cell::new(None),
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
        let events = event::parse_batch(events_json).map_err(StoreError::InvalidArgument)?;
        let count = events.len() as i64;
        let _turn = self.turn(aggregate_id).await;
        // An empty batch only checks the expected version. So does a batch whose versions would
        // pass 2^53-1: it is a conflict if the stream is elsewhere, and rejected otherwise.
        let overflows = expected_version + count > MAX_SAFE_INTEGER;
        let outcome = if count > 0 && !overflows {
            let records = self.encode(aggregate_id, expected_version, &events, now_ms);
            let outcome = self
                .storage
                .append(aggregate_id, expected_version, &records)
                .await;
            if records.capacity() <= SPARE_BATCH_BYTES {
                self.spare.set(Some(records));
            }
            outcome.map_err(StoreError::Storage)?
        } else {
            let actual_version = self
                .storage
                .version(aggregate_id)
                .await
                .map_err(StoreError::Storage)?;
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
            AppendOutcome::Conflict { actual_version } => Err(StoreError::Conflict {
                aggregate_id: aggregate_id.to_string(),
                expected: expected_version,
                actual: actual_version,
            }),
        }
    }

    /// Encodes the batch as records, stamping ids and times where the caller gave none.
    fn encode(
        &self,
        aggregate_id: &str,
        expected_version: i64,
        events: &[InputEvent<'_>],
        now_ms: i64,
    ) -> RecordBatch {
        let mut id_json = String::with_capacity(aggregate_id.len() + 2);
        payload::push_json_string(&mut id_json, aggregate_id);
        let bytes: usize = events
            .iter()
            .map(|e| {
                payload::FIXED_BYTES
                    + id_json.len()
                    + e.type_json.len()
                    + e.data_json.len()
                    + e.metadata_json.len()
                    + e.event_id_json.map_or(38, str::len)
            })
            .sum();
        let mut batch = self.spare.take().unwrap_or_default();
        batch.reset(expected_version + 1, events.len(), bytes);
        let mut ids = self.ids.borrow_mut();
        let mut generated = String::with_capacity(38);
        let now_ms = now_ms.clamp(-time::MAX_MS, time::MAX_MS);
        for (event, version) in events.iter().zip(expected_version + 1..) {
            let event_id_json = match event.event_id_json {
                Some(given) => given,
                None => {
                    generated.clear();
                    generated.push('"');
                    ids.write_uuid_v4(&mut generated);
                    generated.push('"');
                    &generated
                }
            };
            let fields = EventFields {
                type_json: event.type_json,
                data_json: event.data_json,
                metadata_json: event.metadata_json,
                event_id_json,
                occurred_on_ms: event.occurred_on_ms.unwrap_or(now_ms),
            };
            batch.push_with(|text| payload::encode_into(text, &id_json, version, &fields));
        }
        batch
    }

    /// The events with version > `from_version` (any negative value: all), as a JSON array of
    /// recorded events, oldest first.
    pub async fn load_events_json(
        &self,
        aggregate_id: &str,
        from_version: i64,
    ) -> Result<String, S> {
        check_aggregate_id(aggregate_id)?;
        let after = from_version.max(-1);
        let _turn = self.turn(aggregate_id).await;
        let mut sink = RecordSink::new(aggregate_id, after, !S::TRUSTED);
        self.storage
            .load(aggregate_id, after, &mut sink)
            .await
            .map_err(StoreError::Storage)?;
        sink.finish().map_err(|c| StoreError::Corrupt {
            aggregate_id: aggregate_id.to_string(),
            version: c.version,
            reason: c.reason,
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
            .map_err(StoreError::Storage)?;
        Ok((version >= 0).then_some(version))
    }
}
