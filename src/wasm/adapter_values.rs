//! The structured values that cross between the core and the wrapper around a host adapter,
//! converted by serde-wasm-bindgen: the wrapper's helpers, the records an append hands the
//! adapter, and the adapter's append answer as the wrapper read it. (Payloads cross as JSON
//! text, the measured hot path; see `js_storage.rs`.)
use js_sys::Function;
use serde::{Deserialize, Serialize};

/// The wrapper's helpers, handed over once per store (see `createApi` in event-store.mjs).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Helpers {
    /// Reads load()'s answer: `[payloads joined by NUL, Float64Array of versions, problem?]`.
    #[serde(with = "serde_wasm_bindgen::preserve")]
    pub(crate) read_records: Function,
    /// Reads append()'s answer into a plain [`AppendAnswer`]; never throws.
    #[serde(with = "serde_wasm_bindgen::preserve")]
    pub(crate) read_append_answer: Function,
    /// `(text, from, address, capacity) => [units read, bytes written]`: copies `text` from
    /// UTF-16 unit `from` as UTF-8 into the wasm memory at `address`, at most `capacity` bytes
    /// (see `JsStorage::utf8`).
    #[serde(with = "serde_wasm_bindgen::preserve")]
    pub(crate) encode_into: Function,
}

/// One record of an append, as the adapter's `append(aggregateId, expectedVersion, records)`
/// receives it.
#[derive(Serialize)]
pub(crate) struct StoredRecord<'a> {
    pub(crate) version: f64,
    pub(crate) payload: &'a str,
}

/// append()'s answer as the wrapper read it: `ok` and `actualVersion` when they had the right
/// types, and what the answer was (`typeof`, or `null`) for messages.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AppendAnswer {
    pub(crate) ok: Option<bool>,
    pub(crate) actual_version: Option<f64>,
    #[serde(rename = "type")]
    pub(crate) type_name: String,
}
