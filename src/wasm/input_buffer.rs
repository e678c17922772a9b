//! `InputBuffer`: where the wrapper copies a batch's UTF-8 JSON and the aggregate id before an
//! append, with one native copy instead of wasm-bindgen's allocation (which traps when the
//! memory is full) and per-character string copy. Both exported stores hold one.
use std::cell::RefCell;

use wasm_bindgen::JsValue;

use super::convert::{internal, out_of_memory};
use crate::error::OutOfMemory;

/// Borrowed only inside its own synchronous methods, so no borrow can outlive a call or be held
/// across an await.
#[derive(Default)]
pub(crate) struct InputBuffer(RefCell<Vec<u8>>);

impl InputBuffer {
    /// Makes the buffer hold at least `capacity` bytes, fallibly, and returns its address in the
    /// wasm memory (valid until the buffer is grown again or released).
    pub(crate) fn address(&self, capacity: usize) -> Result<usize, JsValue> {
        let mut input = self.0.borrow_mut();
        let len = input.len();
        if len < capacity {
            input
                .try_reserve_exact(capacity - len)
                .map_err(|_| out_of_memory(OutOfMemory::new("the batch's JSON", capacity)))?;
            input.resize(capacity, 0);
        }
        Ok(input.as_mut_ptr() as usize)
    }

    /// Gives the memory back (after a batch larger than the wrapper keeps buffers for): one huge
    /// append must not hold its size of the shared wasm memory until `free()`.
    pub(crate) fn release(&self) {
        *self.0.borrow_mut() = Vec::new();
    }

    /// Calls `use_texts` with the batch's JSON (the first `json_length` bytes) and the aggregate
    /// id (the UTF-8 up to byte `length`) that the wrapper wrote.
    pub(crate) fn with_texts<T>(
        &self,
        json_length: usize,
        length: usize,
        use_texts: impl FnOnce(&str, &str) -> Result<T, JsValue>,
    ) -> Result<T, JsValue> {
        let input = self.0.borrow();
        let text = |range: std::ops::Range<usize>| {
            input
                .get(range)
                .and_then(|bytes| std::str::from_utf8(bytes).ok())
                .ok_or_else(|| internal("the input buffer does not hold UTF-8 of that length"))
        };
        use_texts(text(0..json_length)?, text(json_length..length)?)
    }
}
