//! Driving a future that is known to be ready without an executor.
//!
//! The in-memory storage never suspends, so its operations complete on the first poll. Polling
//! once (instead of going through a JS Promise per call) keeps the hot in-memory path synchronous
//! inside wasm; the JS wrapper still hands callers a Promise.
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Polls `future` once. `None` if it did not complete, which callers treat as an internal error.
pub fn poll_once<F: Future>(future: F) -> Option<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(value) => Some(value),
        Poll::Pending => None,
    }
}
