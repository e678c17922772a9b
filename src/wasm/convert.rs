//! Values between Rust and JS: core errors as JS `Error`s with a `code`, versions as numbers.
//! The wrapper (`pkg-template/src/core/errors.mjs`) turns these errors into the public typed
//! classes.
use std::fmt;

use js_sys::{Error as JsError, Reflect};
use wasm_bindgen::JsValue;

use crate::error::{ErrorCode, OutOfMemory, StoreError};

/// Sets `key` on an error object. `Reflect::set` on a fresh `Error` cannot fail; a failure would
/// only lose a field, never the error itself.
fn set(target: &JsValue, key: &str, value: JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), &value);
}

/// Storage errors that carry the host's original error, reported as the JS error's `cause`.
pub(crate) trait Cause {
    fn cause(&self) -> Option<JsValue>;
}

impl Cause for std::convert::Infallible {
    fn cause(&self) -> Option<JsValue> {
        None
    }
}

impl Cause for OutOfMemory {
    fn cause(&self) -> Option<JsValue> {
        None
    }
}

/// A core error as a JS `Error` with `code` (and the conflict fields).
pub(crate) fn to_js<E: fmt::Display + Cause>(error: StoreError<E>) -> JsValue {
    let js = JsValue::from(JsError::new(&error.to_string()));
    set(&js, "code", JsValue::from_str(error.code()));
    if let StoreError::Storage(failure) = &error {
        if let Some(cause) = failure.cause() {
            set(&js, "cause", cause);
        }
    }
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
        StoreError::CorruptLog { position, .. } => {
            set(&js, "position", JsValue::from_f64(*position as f64));
        }
        StoreError::InvalidArgument(_)
        | StoreError::Storage(_)
        | StoreError::OutOfMemory(_)
        | StoreError::Unsupported(_) => {}
    }
    js
}

/// An `INVALID_ARGUMENT` error.
pub(crate) fn invalid(message: String) -> JsValue {
    to_js(StoreError::<std::convert::Infallible>::InvalidArgument(
        message,
    ))
}

/// An `INTERNAL` error: the binding was called in a way the wrapper never calls it.
pub(crate) fn internal(message: &str) -> JsValue {
    let js = JsValue::from(JsError::new(message));
    set(&js, "code", JsValue::from_str(ErrorCode::Internal.as_str()));
    js
}

/// `None` crosses to JS as -1, which the wrapper maps to `null`.
pub(crate) fn version_to_js(version: Option<i64>) -> f64 {
    version.map_or(-1.0, |v| v as f64)
}

/// An `OUT_OF_MEMORY` error.
pub(crate) fn out_of_memory(error: OutOfMemory) -> JsValue {
    to_js(StoreError::<std::convert::Infallible>::OutOfMemory(error))
}

/// The longest string V8 makes, in UTF-16 units (2^29 - 24). Text of at most this many UTF-8
/// bytes always fits (a unit never takes fewer bytes than one); longer text may not, and making
/// a JS string of it from inside Rust (a future's result, a value serialised for JS) would throw
/// through the wasm frames, so such text is refused first as out of memory.
pub(crate) const MAX_JS_STRING: usize = (1 << 29) - 24;

/// `text`, unless it is too long to be sure it fits one JS string (see [`MAX_JS_STRING`]).
pub(crate) fn fits_a_js_string(text: &str, what: &'static str) -> Result<(), OutOfMemory> {
    if text.len() <= MAX_JS_STRING {
        Ok(())
    } else {
        Err(OutOfMemory::too_long_for_a_string(what))
    }
}

/// The 32 bytes that seed a store's id generator.
pub(crate) fn seed(bytes: &[u8]) -> Result<[u8; 32], JsValue> {
    bytes
        .try_into()
        .map_err(|_| internal("the id seed must be 32 bytes"))
}
