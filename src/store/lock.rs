//! Per-aggregate serialisation for storages that suspend.
//!
//! With a host adapter, an append is "call adapter, await, map the answer"; two appends on one
//! aggregate from one store must not interleave there, or a non-atomic adapter could store both.
//! Tickets are served in order, so waiters get the lock first come, first served. Single-threaded
//! (wasm has one thread), so `RefCell` is enough; no borrow is held across an await.
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

#[derive(Default)]
struct Queue {
    next_ticket: u64,
    serving: u64,
    /// Tickets whose futures were dropped before their turn; skipped when reached.
    abandoned: Vec<u64>,
    waiters: Vec<(u64, Waker)>,
}

#[derive(Default)]
pub struct KeyedLock {
    queues: RefCell<HashMap<String, Queue>>,
}

impl KeyedLock {
    /// Waits for the turn of `key`; the turn lasts until the guard is dropped.
    pub fn lock<'a>(&'a self, key: &str) -> Acquire<'a> {
        let mut queues = self.queues.borrow_mut();
        let queue = queues.entry(key.to_string()).or_default();
        let ticket = queue.next_ticket;
        queue.next_ticket += 1;
        Acquire {
            lock: self,
            key: key.to_string(),
            ticket,
            acquired: false,
        }
    }

    /// Number of keys with a holder or waiters (0 when idle: nothing leaks). For the tests.
    #[cfg(test)]
    pub fn busy_keys(&self) -> usize {
        self.queues.borrow().len()
    }

    /// Passes the turn on from `ticket`, skipping abandoned tickets, and wakes the next holder.
    fn release(&self, key: &str, ticket: u64) {
        let mut queues = self.queues.borrow_mut();
        let Some(queue) = queues.get_mut(key) else {
            return;
        };
        if queue.serving != ticket {
            queue.abandoned.push(ticket);
            return;
        }
        queue.serving += 1;
        while let Some(pos) = queue.abandoned.iter().position(|t| *t == queue.serving) {
            queue.abandoned.swap_remove(pos);
            queue.serving += 1;
        }
        if queue.serving == queue.next_ticket {
            queues.remove(key);
            return;
        }
        let serving = queue.serving;
        let next = queue
            .waiters
            .iter()
            .position(|(t, _)| *t == serving)
            .map(|pos| queue.waiters.swap_remove(pos).1);
        // Wake only after the borrow ends: an executor may poll the woken future right away.
        drop(queues);
        if let Some(waker) = next {
            waker.wake();
        }
    }
}

pub struct Acquire<'a> {
    lock: &'a KeyedLock,
    key: String,
    ticket: u64,
    acquired: bool,
}

impl<'a> Future for Acquire<'a> {
    type Output = Guard<'a>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Guard<'a>> {
        if self.acquired {
            // Polled again after it completed: never hand out a second guard.
            return Poll::Pending;
        }
        let mut queues = self.lock.queues.borrow_mut();
        let Some(queue) = queues.get_mut(&self.key) else {
            // Cannot happen while this ticket is outstanding; fail open rather than hang.
            drop(queues);
            return Poll::Ready(self.take_guard());
        };
        if queue.serving == self.ticket {
            drop(queues);
            return Poll::Ready(self.take_guard());
        }
        let ticket = self.ticket;
        match queue.waiters.iter_mut().find(|(t, _)| *t == ticket) {
            Some((_, waker)) => waker.clone_from(cx.waker()),
            None => queue.waiters.push((ticket, cx.waker().clone())),
        }
        Poll::Pending
    }
}

impl<'a> Acquire<'a> {
    fn take_guard(&mut self) -> Guard<'a> {
        self.acquired = true;
        Guard {
            lock: self.lock,
            key: std::mem::take(&mut self.key),
            ticket: self.ticket,
        }
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        if !self.acquired {
            // Dropped while waiting: give up the ticket so later waiters are not stuck.
            let mut queues = self.lock.queues.borrow_mut();
            if let Some(queue) = queues.get_mut(&self.key) {
                queue.waiters.retain(|(t, _)| *t != self.ticket);
            }
            drop(queues);
            self.lock.release(&self.key, self.ticket);
        }
    }
}

/// Holds the turn of one key.
pub struct Guard<'a> {
    lock: &'a KeyedLock,
    key: String,
    ticket: u64,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.lock.release(&self.key, self.ticket);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::Wake;

    struct Flag(std::sync::atomic::AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn poll<F: Future + Unpin>(f: &mut F, flag: &Arc<Flag>) -> Poll<F::Output> {
        let waker = Waker::from(flag.clone());
        Pin::new(f).poll(&mut Context::from_waker(&waker))
    }

    fn flag() -> Arc<Flag> {
        Arc::new(Flag(false.into()))
    }

    #[test]
    fn second_waits_for_first_and_is_woken() {
        let lock = KeyedLock::default();
        let (f1, f2) = (flag(), flag());
        let mut a = lock.lock("k");
        let mut b = lock.lock("k");
        let guard_a = match poll(&mut a, &f1) {
            Poll::Ready(g) => g,
            Poll::Pending => panic!("first must acquire"),
        };
        assert!(poll(&mut b, &f2).is_pending());
        drop(guard_a);
        assert!(f2.0.load(std::sync::atomic::Ordering::SeqCst));
        let guard_b = poll(&mut b, &f2);
        assert!(guard_b.is_ready());
        drop(guard_b);
        assert_eq!(lock.busy_keys(), 0);
    }

    #[test]
    fn other_keys_do_not_wait() {
        let lock = KeyedLock::default();
        let f = flag();
        let mut a = lock.lock("a");
        let mut b = lock.lock("b");
        let ga = poll(&mut a, &f);
        let gb = poll(&mut b, &f);
        assert!(ga.is_ready() && gb.is_ready());
    }

    #[test]
    fn abandoned_waiter_does_not_block_the_next() {
        let lock = KeyedLock::default();
        let f = flag();
        let mut a = lock.lock("k");
        let b = lock.lock("k");
        let mut c = lock.lock("k");
        let ga = poll(&mut a, &f);
        drop(b); // gives up before its turn
        assert!(poll(&mut c, &f).is_pending());
        drop(ga);
        let gc = poll(&mut c, &f);
        assert!(gc.is_ready());
        drop(gc);
        assert_eq!(lock.busy_keys(), 0);
    }
}
