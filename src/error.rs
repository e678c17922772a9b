//! Errors of the core, as values. Each variant has a stable `code` the JS layer exposes.
use thiserror::Error;

/// Every way an operation of the store can fail. `E` is the storage's own error type.
#[derive(Debug, Error, PartialEq)]
pub enum StoreError<E> {
    /// The caller passed something the contract does not allow; nothing was written.
    #[error("{0}")]
    InvalidArgument(String),

    /// The stream's version was not the expected one; nothing was written.
    /// `actual` is -1 when the stream does not exist.
    #[error("Conflict appending events for aggregate {aggregate_id}. Expected version {expected}, but current version is {actual}.")]
    Conflict {
        aggregate_id: String,
        expected: i64,
        actual: i64,
    },

    /// The storage failed (threw, rejected, or broke its contract in its reply).
    #[error("storage failed: {0}")]
    Storage(E),

    /// The storage returned records that cannot be what was written.
    #[error("corrupt stream {aggregate_id} at version {version}: {reason}")]
    Corrupt {
        aggregate_id: String,
        version: i64,
        reason: String,
    },
}

impl<E> StoreError<E> {
    /// The stable machine-readable code, the same strings the JS errors carry in `code`.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::InvalidArgument(_) => "INVALID_ARGUMENT",
            StoreError::Conflict { .. } => "CONFLICT",
            StoreError::Storage(_) => "STORAGE",
            StoreError::Corrupt { .. } => "CORRUPT",
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        StoreError::InvalidArgument(message.into())
    }
}
