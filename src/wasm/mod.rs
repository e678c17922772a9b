//! The `#[wasm_bindgen]` layer: converts arguments and errors, nothing else. One file per
//! exported class (`memory_store`, `adapter_store`), what they share (`convert`, `input_buffer`), and
//! the host adapter they wrap (`js_storage`, with `adapter_reads`, `adapter_values` and
//! `storage_failure`).
//!
//! No exported method keeps `self` borrowed while JS runs, so concurrent calls from JS can never
//! meet a "recursive use of an object" error: the in-memory store's methods are synchronous (it
//! never suspends; the JS wrapper makes Promises of them), and the adapter-backed store's methods
//! clone an `Rc` of the core into the future they return as a Promise.
mod adapter_reads;
mod adapter_store;
mod adapter_values;
#[cfg(not(target_feature = "atomics"))]
mod alloc;
mod convert;
mod input_buffer;
mod js_storage;
mod memory_store;
mod storage_failure;
mod sync;

pub use adapter_store::AdapterEventStore;
pub use memory_store::MemoryEventStore;
pub use sync::SyncOutbox;

use wasm_bindgen::prelude::*;

/// The wasm memory, for the wrapper to write inputs into (see `MemoryEventStore::input_buffer`).
#[wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}
