//! Errors of the core, as values, and the one list of the error codes the package reports.
use thiserror::Error;

/// Declares `ErrorCode` from one list, so that `ALL` and `as_str` cannot miss a variant.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident => $text:literal,)*) => {
        /// Every `code` an `EventStoreError` of the JS package can carry: the core's errors
        /// ([`StoreError::code`]) and the ones the binding, the wrapper and FileStorage add. The
        /// strings are public API; `tests/error_codes.rs` fails when the JS wrapper, the types or
        /// the README list others.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode {
            $($(#[doc = $doc])* $variant,)*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $text,)*
                }
            }
        }
    };
}

error_codes! {
    InvalidArgument => "INVALID_ARGUMENT",
    Conflict => "CONFLICT",
    Storage => "STORAGE",
    Corrupt => "CORRUPT",
    /// The storage lacks an optional capability the call needs (the global log: an adapter
    /// without `loadAll` or `lastPosition`); the message names the missing method.
    Unsupported => "UNSUPPORTED",
    /// The wasm memory could not give what an operation needed; nothing was changed.
    OutOfMemory => "OUT_OF_MEMORY",
    /// A `FileStorage` whose directory another process holds, or whose lock was taken from it
    /// (reported by the storage itself; through a store, the `cause` of a `STORAGE` error).
    Locked => "LOCKED",
    /// A store used after `free()` (reported by the JS wrapper).
    Freed => "FREED",
    /// The wasm was not loaded (yet): `init()` of the init entry not awaited, or it failed.
    NotInitialized => "NOT_INITIALIZED",
    /// A replica could not reach its sync server, or the server answered that it cannot serve
    /// (5xx, a protocol it does not speak); everything stays pending (reported by the JS
    /// `Replica` and `HttpRemote`).
    Network => "NETWORK",
    /// A bug: a trap, a broken invariant of the binding, anything unforeseen.
    Internal => "INTERNAL",
}

/// An allocation the memory could not satisfy: `what` needed `bytes` more. Every buffer that
/// input can grow is reserved with `try_reserve` before anything changes, so this is an error
/// value that leaves the store as it was, not a trap that would leave the wasm instance broken.
/// `one_string`: the limit met was not the wasm memory but the longest string JS can make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfMemory {
    pub what: &'static str,
    pub bytes: usize,
    pub one_string: bool,
}

impl OutOfMemory {
    pub fn new(what: &'static str, bytes: usize) -> Self {
        OutOfMemory {
            what,
            bytes,
            one_string: false,
        }
    }

    /// `what` is more text than one JS string holds.
    pub fn too_long_for_a_string(what: &'static str) -> Self {
        OutOfMemory {
            what,
            bytes: 0,
            one_string: true,
        }
    }
}

impl std::fmt::Display for OutOfMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.one_string {
            return write!(
                f,
                "out of memory: {} are more text than one JS string holds; nothing was \
                 changed: load them in parts, loadEvents(id, fromVersion, {{ limit }})",
                self.what
            );
        }
        write!(
            f,
            "out of memory: {} needed {} more bytes than the wasm memory (at most 4 GiB) could \
             give; nothing was changed, and the store still works (free() stores you no longer \
             need, or load fewer events at once)",
            self.what, self.bytes
        )
    }
}

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

    /// Memory ran out; nothing was changed.
    #[error("{0}")]
    OutOfMemory(OutOfMemory),

    /// The storage returned records that cannot be what was written.
    #[error("corrupt stream {aggregate_id} at version {version}: {reason}")]
    Corrupt {
        aggregate_id: String,
        version: i64,
        reason: String,
    },

    /// The storage's global log returned records that cannot be what was written; `position`
    /// is the bad record's own, when it has a valid one, else the one after the last good record.
    #[error("corrupt global log at position {position}: {reason}")]
    CorruptLog { position: i64, reason: String },

    /// The storage cannot do what was asked (it has no global log); nothing was read or written.
    #[error("{0}")]
    Unsupported(String),
}

impl<E> StoreError<E> {
    /// The stable machine-readable code, the same strings the JS errors carry in `code`.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::InvalidArgument(_) => ErrorCode::InvalidArgument,
            StoreError::Conflict { .. } => ErrorCode::Conflict,
            StoreError::Storage(_) => ErrorCode::Storage,
            StoreError::Corrupt { .. } | StoreError::CorruptLog { .. } => ErrorCode::Corrupt,
            StoreError::Unsupported(_) => ErrorCode::Unsupported,
            StoreError::OutOfMemory(_) => ErrorCode::OutOfMemory,
        }
        .as_str()
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        StoreError::InvalidArgument(message.into())
    }
}
