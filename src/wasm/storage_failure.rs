//! `StorageFailure`: what a host adapter's failure becomes in the core (a `STORAGE` error, with
//! what it threw as `cause`), and how host values are named in messages without touching them.
use std::fmt;

use js_sys::Reflect;
use wasm_bindgen::JsValue;

use super::convert::Cause;
use crate::error::OutOfMemory;

/// A failure of the host's adapter: what it threw or rejected with (`cause`), or a reply that
/// breaks the adapter contract.
pub struct StorageFailure {
    message: String,
    cause: Option<JsValue>,
    /// Set when what failed was an allocation of this side (see `Storage::out_of_memory`).
    out_of_memory: Option<OutOfMemory>,
}

impl fmt::Display for StorageFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Cause for StorageFailure {
    fn cause(&self) -> Option<JsValue> {
        self.cause.clone()
    }
}

impl StorageFailure {
    /// The allocation that failed, if that is what this failure is.
    pub(crate) fn out_of_memory_error(&self) -> Option<OutOfMemory> {
        self.out_of_memory.clone()
    }

    pub(crate) fn thrown(method: &str, cause: JsValue) -> Self {
        // Read the message through Reflect (which reports a throwing getter or a revoked proxy
        // as an error) rather than `instanceof Error`, which would throw right through the wasm.
        let detail = cause
            .as_string()
            .or_else(|| {
                Reflect::get(&cause, &JsValue::from_str("message"))
                    .ok()
                    .and_then(|m| m.as_string())
            })
            .unwrap_or_else(|| format!("a thrown {}", type_name(&cause)));
        StorageFailure {
            message: format!("storage adapter's {method}() failed: {detail}"),
            cause: Some(cause),
            out_of_memory: None,
        }
    }

    pub(crate) fn contract(message: String) -> Self {
        StorageFailure {
            message,
            cause: None,
            out_of_memory: None,
        }
    }

    pub(crate) fn out_of_memory(error: OutOfMemory) -> Self {
        StorageFailure {
            message: error.to_string(),
            cause: None,
            out_of_memory: Some(error),
        }
    }
}

/// What an adapter's answer is, for messages, without touching it (`typeof` runs no JS code;
/// formatting the value itself could call its getters).
pub(crate) fn type_name(value: &JsValue) -> String {
    if value.is_null() {
        "null".to_string()
    } else {
        value.js_typeof().as_string().unwrap_or_default()
    }
}

/// `type_name` with its article, for a sentence: "an object", "a number", "null", "undefined".
pub(crate) fn described(type_name: &str) -> String {
    match type_name {
        "null" | "undefined" => type_name.to_string(),
        "object" => "an object".to_string(),
        other => format!("a {other}"),
    }
}
