//! The JSON primitives every format of the core is made of: a [`Scanner`] that checks and skips
//! JSON text, and writers of string literals and integers. They know nothing of events; the
//! input batch ([`crate::batch`]), the recorded event ([`crate::record`]) and the payload
//! ([`crate::payload`]) are built on them, and so depend on this folder rather than on each
//! other.
mod scanner;
mod write;

pub(crate) use scanner::{Scanner, Syntax};
pub use write::{decimal, json_string, push_ascii, push_integer, push_json_string};
