//! The `#[wasm_bindgen]` layer: converts arguments and errors, nothing else.
//!
//! Methods are synchronous on purpose: the in-memory store completes every operation without
//! suspending, so no exported method keeps `self` borrowed while JS runs, and concurrent calls
//! from JS can never meet a "recursive use of an object" error. The JS wrapper turns results and
//! errors into Promises.
use js_sys::{Error as JsError, Reflect};
use wasm_bindgen::prelude::*;

use crate::error::StoreError;
use crate::memory::MemoryStorage;
use crate::ready::poll_once;
use crate::store::EventStore;
use crate::version;

/// Sets `key` on an error object. `Reflect::set` on a fresh `Error` cannot fail; a failure would
/// only lose a field, never the error itself.
fn set(target: &JsValue, key: &str, value: JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), &value);
}

/// A core error as a JS `Error` with `code` (and the conflict fields); the wrapper turns it into
/// the public typed error classes.
fn to_js<E: std::fmt::Display>(error: StoreError<E>) -> JsValue {
    let js = JsValue::from(JsError::new(&error.to_string()));
    set(&js, "code", JsValue::from_str(error.code()));
    match &error {
        StoreError::Conflict {
            aggregate_id,
            expected,
            actual,
        } => {
            set(&js, "aggregateId", JsValue::from_str(aggregate_id));
            set(&js, "expectedVersion", JsValue::from_f64(*expected as f64));
            set(&js, "actualVersion", JsValue::from_f64(*actual as f64));
        }
        StoreError::Corrupt {
            aggregate_id,
            version,
            ..
        } => {
            set(&js, "aggregateId", JsValue::from_str(aggregate_id));
            set(&js, "version", JsValue::from_f64(*version as f64));
        }
        StoreError::InvalidArgument(_) | StoreError::Storage(_) => {}
    }
    js
}

fn invalid(message: String) -> JsValue {
    to_js(StoreError::<std::convert::Infallible>::InvalidArgument(
        message,
    ))
}

fn internal(message: &str) -> JsValue {
    let js = JsValue::from(JsError::new(message));
    set(&js, "code", JsValue::from_str("INTERNAL"));
    js
}

/// Runs an operation of the in-memory store, which never suspends.
fn run<T, E: std::fmt::Display>(
    future: impl std::future::Future<Output = Result<T, StoreError<E>>>,
) -> Result<T, JsValue> {
    poll_once(future)
        .ok_or_else(|| internal("in-memory operation did not complete"))?
        .map_err(to_js)
}

/// `None` crosses to JS as -1, which the wrapper maps to `null`.
fn version_to_js(version: Option<i64>) -> f64 {
    version.map_or(-1.0, |v| v as f64)
}

/// The in-memory event store behind the JS `EventStore` class.
#[wasm_bindgen]
pub struct MemoryEventStore {
    inner: EventStore<MemoryStorage>,
}

#[wasm_bindgen]
impl MemoryEventStore {
    /// `seed`: 32 random bytes for the event id generator.
    #[wasm_bindgen(constructor)]
    pub fn new(seed: &[u8]) -> Result<MemoryEventStore, JsValue> {
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| internal("the id seed must be 32 bytes"))?;
        Ok(MemoryEventStore {
            inner: EventStore::new(MemoryStorage::new(), seed),
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

    /// The recorded events after `from_version` as JSON text (an array).
    pub fn load(&self, aggregate_id: &str, from_version: f64) -> Result<String, JsValue> {
        let after = version::from_version(from_version).map_err(invalid)?;
        run(self.inner.load_events_json(aggregate_id, after))
    }

    /// The stream's version, -1 for "no stream".
    pub fn version(&self, aggregate_id: &str) -> Result<f64, JsValue> {
        run(self.inner.current_version(aggregate_id)).map(version_to_js)
    }
}
