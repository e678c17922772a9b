//! wasm-event-store: an append-only event store with optimistic concurrency.
//!
//! The layers, from the bottom (each depends only on the ones above it in this list; see
//! ARCHITECTURE.md for the data flow of an append and a load):
//!
//! - primitives: [`json`] (scanner and writers), [`time`], [`version`], [`ids`];
//! - formats: [`batch`] (the input events the JS wrapper serialised), [`record`] (a recorded
//!   event and its JSON), [`payload`] (the version-1 encoding a host's adapter stores);
//! - [`storage`]: the contract, the load sink and the in-memory storage;
//! - [`store`]: the event store over any storage, and its [`error`]s;
//! - `wasm` (wasm32 only): the thin `#[wasm_bindgen]` layer that converts values and errors for
//!   the JS package built from `pkg-template/`, and adapts a host's JS storage adapter.
//!
//! Everything but `wasm` is plain Rust with no wasm types, tested with a native `cargo test`.
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

pub mod ids;
pub mod json;
pub mod time;
pub mod version;

pub mod batch;
pub mod payload;
pub mod record;

pub mod storage;

pub mod error;
pub mod store;
pub mod sync;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{ErrorCode, StoreError};
pub use record::{EventFields, EventId};
pub use storage::{AppendOutcome, MemoryStorage, RecordSink, Storage};
pub use store::{poll_once, EventStore};
