//! wasm-event-store: an append-only event store with optimistic concurrency.
//!
//! The core (everything but [`wasm`]) is plain Rust with no wasm types, so it is tested with a
//! native `cargo test`. The `wasm` module is a thin `#[wasm_bindgen]` layer that converts values
//! and errors for the JS package built from `pkg-template/`, and adapts a host's JS storage
//! adapter to the core's storage trait.
//!
//! Data flow: the JS wrapper serialises a batch of events to JSON text once (that is also where
//! JS-only checks such as BigInt or cycles happen); the core validates it, stamps versions, ids and
//! times, and hands the events to a storage, which encodes them its own way (compact binary
//! records in memory, version-1 payloads for a host's adapter, see [`payload`]). Loads emit a JSON array of
//! recorded events that JS parses once, which gives every caller fresh objects.
// No panic may reach JS (it would poison the instance): nothing that input can reach unwraps,
// expects, panics or indexes out of bounds.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::string_slice
    )
)]

pub mod error;
pub mod event;
pub mod fxhash;
pub mod ids;
pub mod lock;
pub mod memory;
pub mod payload;
pub mod ready;
pub mod storage;
pub mod store;
pub mod time;
pub mod version;

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
mod alloc;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::StoreError;
pub use memory::MemoryStorage;
pub use payload::{EventFields, EventId};
pub use storage::{AppendOutcome, RecordSink, Storage};
pub use store::EventStore;
