//! Sync of offline replicas through a server, as plain data in and decisions out.
//!
//! No I/O happens here: the JS package reads and writes the device's storage, talks HTTP and
//! calls the app's `rebase`, and asks these types what to do at each step; `tests/sync_model.rs`
//! drives the very same steps over a simulated device, network and server.
//!
//! - [`stamped`]: a batch with every event's id and time decided, as the outbox keeps it and
//!   the protocol carries it;
//! - [`outbox`]: the replica's pending batches per aggregate, folded from its outbox entries,
//!   and the decisions over them: local appends, reconciling with confirmed events, pushes;
//! - [`pull`]: how a page of the server's log becomes appends to the device's streams;
//! - [`protocol`]: the messages' version and limits, and the server's check of a push.
pub mod outbox;
pub mod protocol;
pub mod pull;
pub mod stamped;

pub use outbox::{Confirmed, Outbox, PrepareError, Reconcile, Refusal};
pub use protocol::{Limits, PushBatch, PushRefusal, PROTOCOL};
pub use pull::{plan_pull, PullAppend};
pub use stamped::StampedBatch;
