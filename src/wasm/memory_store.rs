//! `MemoryEventStore`: the in-memory store behind the JS `EventStore` class when no storage is
//! given. Its methods are synchronous (the memory storage never suspends, see
//! [`crate::poll_once`]); the wrapper makes Promises of them.
use std::fmt;

use wasm_bindgen::prelude::*;

use super::convert::{internal, invalid, seed, to_js, version_to_js, Cause};
use super::input_buffer::InputBuffer;
use crate::error::StoreError;
use crate::storage::MemoryStorage;
use crate::store::{poll_once, EventStore};
use crate::version;

/// Runs an operation of the in-memory store, which never suspends.
fn run<T, E: fmt::Display + Cause>(
    future: impl std::future::Future<Output = Result<T, StoreError<E>>>,
) -> Result<T, JsValue> {
    poll_once(future)
        .ok_or_else(|| internal("in-memory operation did not complete"))?
        .map_err(to_js)
}

/// The in-memory event store behind the JS `EventStore` class.
#[wasm_bindgen]
pub struct MemoryEventStore {
    inner: EventStore<MemoryStorage>,
    /// Where the wrapper copies a batch's UTF-8 JSON (which it writes into a byte buffer of its
    /// own) before `append_input`.
    input: InputBuffer,
}

#[wasm_bindgen]
impl MemoryEventStore {
    /// `seed`: 32 random bytes for the event id generator.
    #[wasm_bindgen(constructor)]
    pub fn new(seed_bytes: &[u8]) -> Result<MemoryEventStore, JsValue> {
        Ok(MemoryEventStore {
            inner: EventStore::new(MemoryStorage::new(), seed(seed_bytes)?),
            input: InputBuffer::default(),
        })
    }

    /// Appends a batch given as JSON text. Returns the new version, -1 for "no stream".
    pub fn append(
        &self,
        aggregate_id: &str,
        expected_version: f64,
        events_json: &str,
        now_ms: f64,
    ) -> Result<f64, JsValue> {
        let expected = version::expected_version(expected_version).map_err(invalid)?;
        run(self
            .inner
            .append_events(aggregate_id, expected, events_json, now_ms as i64))
        .map(version_to_js)
    }

    /// Makes the input buffer hold at least `capacity` bytes and returns its address in the wasm
    /// memory. Rejects with `OUT_OF_MEMORY` when the memory cannot give it.
    pub fn input_buffer(&self, capacity: usize) -> Result<usize, JsValue> {
        self.input.address(capacity)
    }

    /// Frees the input buffer; the wrapper's view of it is then stale.
    pub fn release_input(&self) {
        self.input.release();
    }

    /// `append`, with its text arguments in the input buffer: the batch's JSON in the first
    /// `json_length` bytes, then the aggregate id's UTF-8 up to byte `length`. Saves the
    /// crossings and the allocation of passing the id as a string.
    pub fn append_input(
        &self,
        expected_version: f64,
        json_length: usize,
        length: usize,
        now_ms: f64,
    ) -> Result<f64, JsValue> {
        let expected = version::expected_version(expected_version).map_err(invalid)?;
        self.input
            .with_texts(json_length, length, |events_json, aggregate_id| {
                run(self
                    .inner
                    .append_events(aggregate_id, expected, events_json, now_ms as i64))
            })
            .map(version_to_js)
    }

    /// The recorded events after `from_version` as JSON text (an array), at most `limit` (-1: all).
    pub fn load(
        &self,
        aggregate_id: &str,
        from_version: f64,
        limit: f64,
    ) -> Result<String, JsValue> {
        let after = version::from_version(from_version).map_err(invalid)?;
        let limit = version::limit(limit).map_err(invalid)?;
        run(self.inner.load_events_json(aggregate_id, after, limit))
    }

    /// The stream's version, -1 for "no stream".
    pub fn version(&self, aggregate_id: &str) -> Result<f64, JsValue> {
        run(self.inner.current_version(aggregate_id)).map(version_to_js)
    }

    /// The recorded events of every stream after `from_position`, in position order, as JSON
    /// text (an array), at most `limit` (-1: all).
    pub fn load_all(&self, from_position: f64, limit: f64) -> Result<String, JsValue> {
        let after = version::from_position(from_position).map_err(invalid)?;
        let limit = version::limit(limit).map_err(invalid)?;
        run(self.inner.load_all_events_json(after, limit))
    }

    /// The highest position, -1 for an empty store.
    pub fn last_position(&self) -> Result<f64, JsValue> {
        run(self.inner.last_position()).map(version_to_js)
    }

    /// Why the store has no global log, or `undefined` when it has one (always, in memory).
    pub fn log_support(&self) -> Option<String> {
        self.inner.global_log().err()
    }
}
