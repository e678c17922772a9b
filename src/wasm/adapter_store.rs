//! `AdapterEventStore`: the store over a host-provided adapter, behind the JS `EventStore` class
//! when `options.storage` is given. Every method returns a Promise; each clones an `Rc` of the
//! core into the future it returns, so no call keeps `self` borrowed while JS runs.
use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::convert::{internal, invalid, seed, to_js, version_to_js};
use super::js_storage::{Helpers, JsStorage};
use crate::store::EventStore;
use crate::version;

#[wasm_bindgen]
pub struct AdapterEventStore {
    inner: Rc<EventStore<JsStorage>>,
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
        })
    }

    /// Resolves to the new version (-1 for "no stream"). `events_json`: the batch's JSON as
    /// UTF-8, which the wrapper writes into a byte buffer (the glue copies it into the wasm
    /// memory before this returns, so the wrapper may reuse its buffer at once).
    pub fn append(
        &self,
        aggregate_id: String,
        expected_version: f64,
        events_json: Vec<u8>,
        now_ms: f64,
    ) -> Promise {
        let inner = Rc::clone(&self.inner);
        into_promise(async move {
            let expected = version::expected_version(expected_version).map_err(invalid)?;
            let events_json =
                String::from_utf8(events_json).map_err(|_| internal("the batch is not UTF-8"))?;
            inner
                .append_events(&aggregate_id, expected, &events_json, now_ms as i64)
                .await
                .map(version_to_js)
                .map_err(to_js)
        })
    }

    /// Resolves to the recorded events after `from_version` as JSON text (an array).
    pub fn load(&self, aggregate_id: String, from_version: f64) -> Promise {
        let inner = Rc::clone(&self.inner);
        into_promise(async move {
            let after = version::from_version(from_version).map_err(invalid)?;
            inner
                .load_events_json(&aggregate_id, after)
                .await
                .map_err(to_js)
        })
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
