//! `AdapterEventStore`: the store over a host-provided adapter, behind the JS `EventStore` class
//! when `options.storage` is given. Every method returns a Promise; each clones an `Rc` of the
//! core into the future it returns, so no call keeps `self` borrowed while JS runs.
use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::adapter_values::Helpers;
use super::convert::{
    fits_a_js_string, internal, invalid, out_of_memory, seed, to_js, version_to_js,
};
use super::input_buffer::InputBuffer;
use super::js_storage::JsStorage;
use crate::error::OutOfMemory;
use crate::store::EventStore;
use crate::version;

#[wasm_bindgen]
pub struct AdapterEventStore {
    inner: Rc<EventStore<JsStorage>>,
    /// Where the wrapper copies a batch's UTF-8 JSON before `append_input`; the future an
    /// append returns holds a copy, never a borrow of it.
    input: InputBuffer,
}

fn into_promise<T: Into<JsValue>>(
    future: impl std::future::Future<Output = Result<T, JsValue>> + 'static,
) -> Promise {
    future_to_promise(async move { future.await.map(Into::into) })
}

#[wasm_bindgen]
impl AdapterEventStore {
    /// Checks the adapter's shape: load, version and append must be functions.
    /// `helpers`: the wrapper's readers of adapter answers and its UTF-8 copier, see
    /// [`Helpers`].
    #[wasm_bindgen(constructor)]
    pub fn new(
        adapter: JsValue,
        seed_bytes: &[u8],
        helpers: JsValue,
    ) -> Result<AdapterEventStore, JsValue> {
        let seed = seed(seed_bytes)?;
        let helpers: Helpers = serde_wasm_bindgen::from_value(helpers)
            .map_err(|error| internal(&format!("the wrapper's helpers: {error}")))?;
        let storage = JsStorage::new(adapter, helpers).map_err(invalid)?;
        Ok(AdapterEventStore {
            inner: Rc::new(EventStore::new(storage, seed)),
            input: InputBuffer::default(),
        })
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

    /// Resolves to the new version (-1 for "no stream"). The batch's JSON and the aggregate id
    /// are in the input buffer, as for `MemoryEventStore::append_input`; they are copied out
    /// (fallibly) before this returns, so the buffer is free for the next append at once.
    pub fn append_input(
        &self,
        expected_version: f64,
        json_length: usize,
        length: usize,
        now_ms: f64,
    ) -> Promise {
        let texts = self.input.with_texts(json_length, length, |json, id| {
            let mut owned = String::new();
            owned
                .try_reserve_exact(json.len() + id.len())
                .map_err(|_| out_of_memory(OutOfMemory::new("the batch's JSON", length)))?;
            owned.push_str(json);
            owned.push_str(id);
            Ok(owned)
        });
        let inner = Rc::clone(&self.inner);
        into_promise(async move {
            let expected = version::expected_version(expected_version).map_err(invalid)?;
            let texts = texts?;
            let (events_json, aggregate_id) = texts
                .split_at_checked(json_length)
                .ok_or_else(|| internal("the input buffer does not hold UTF-8 of that length"))?;
            inner
                .append_events(aggregate_id, expected, events_json, now_ms as i64)
                .await
                .map(version_to_js)
                .map_err(to_js)
        })
    }

    /// Resolves to the recorded events after `from_version` as JSON text (an array), at most
    /// `limit` (-1: all). The adapter's load() is asked for all of them (its contract has no
    /// limit); the core stops reading its answer at the limit.
    pub fn load(&self, aggregate_id: String, from_version: f64, limit: f64) -> Promise {
        let inner = Rc::clone(&self.inner);
        into_promise(async move {
            let after = version::from_version(from_version).map_err(invalid)?;
            let limit = version::limit(limit).map_err(invalid)?;
            inner
                .load_events_json(&aggregate_id, after, limit)
                .await
                .map_err(to_js)
                .and_then(|json| {
                    // Made into a JS string in here (not by the caller's glue): check first.
                    fits_a_js_string(&json, "the loaded events").map_err(out_of_memory)?;
                    Ok(json)
                })
        })
    }

    /// Resolves to the recorded events of every stream after `from_position`, in position
    /// order, as JSON text (an array), at most `limit` (-1: all), read from the adapter's
    /// `loadAll` a page at a time.
    pub fn load_all(&self, from_position: f64, limit: f64) -> Promise {
        let inner = Rc::clone(&self.inner);
        into_promise(async move {
            let after = version::from_position(from_position).map_err(invalid)?;
            let limit = version::limit(limit).map_err(invalid)?;
            let json = inner
                .load_all_events_json(after, limit)
                .await
                .map_err(to_js)?;
            fits_a_js_string(&json, "the loaded events").map_err(out_of_memory)?;
            Ok(json)
        })
    }

    /// Resolves to the highest position (-1 for an empty log).
    pub fn last_position(&self) -> Promise {
        let inner = Rc::clone(&self.inner);
        into_promise(async move {
            inner
                .last_position()
                .await
                .map(version_to_js)
                .map_err(to_js)
        })
    }

    /// Why the adapter has no global log (the message names the missing method), or
    /// `undefined` when it has one.
    pub fn log_support(&self) -> Option<String> {
        self.inner.global_log().err()
    }

    /// Resolves to the stream's version (-1 for "no stream").
    pub fn version(&self, aggregate_id: String) -> Promise {
        let inner = Rc::clone(&self.inner);
        into_promise(async move {
            inner
                .current_version(&aggregate_id)
                .await
                .map(version_to_js)
                .map_err(to_js)
        })
    }
}
