//! Model-based property tests of the core: random sequences of appends (right and wrong expected
//! versions, empty and large batches, several streams, with and without event ids), retries of
//! earlier appends (idempotent when the batch is stored), loads from random versions, pages of
//! the global log and version queries, each checked against a plain reference model. The same runs again over a storage
//! that fails at random, before it touches anything (the failure must leave no trace) or after it
//! stored an append (the README's "outcome unknown": later reads must show it stored), and that
//! makes the core verify payloads. A last property runs random operations concurrently over a
//! storage that suspends and is not atomic, which only the store's per-aggregate lock keeps
//! correct.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use proptest::prelude::*;
use serde_json::{json, Value};
use wasm_event_store::{
    poll_once, storage::LogSink, AppendOutcome, EventFields, EventStore, MemoryStorage, RecordSink,
    Storage, StoreError,
};

#[derive(Debug, Clone)]
enum Op {
    /// `offset` is added to the stream's true version to make the expected version.
    /// `ids`: every event carries an `eventId` (so a retry can be recognised).
    Append {
        stream: usize,
        offset: i64,
        count: usize,
        ids: bool,
    },
    /// Sends again the `back`-th latest append attempted, with its expected version and batch.
    Retry {
        back: usize,
    },
    /// A page of the global log after `from`, at most `limit` events.
    LoadAll {
        from: i64,
        limit: Option<usize>,
    },
    Load {
        stream: usize,
        from: i64,
    },
    Version {
        stream: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..4usize, prop_oneof![6 => Just(0i64), 1 => -3..4i64], prop_oneof![1 => Just(0usize), 8 => 1..6usize, 1 => 40..60usize], any::<bool>())
            .prop_map(|(stream, offset, count, ids)| Op::Append { stream, offset, count, ids }),
        1 => (0..4usize).prop_map(|back| Op::Retry { back }),
        1 => (-3..300i64, prop::option::of(1..40usize)).prop_map(|(from, limit)| Op::LoadAll { from, limit }),
        2 => (0..4usize, -3..70i64).prop_map(|(stream, from)| Op::Load { stream, from }),
        1 => (0..4usize).prop_map(|stream| Op::Version { stream }),
    ]
}

/// `cases` cases, failures kept in tests/proptest-regressions/model.txt (in the repository) and
/// replayed first.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(
                "tests/proptest-regressions/model.txt",
            ),
        )),
        ..ProptestConfig::default()
    }
}

const IDS: [&str; 4] = ["a", "b", "a\"quoted\\", "ünï😀"];

/// What the model holds of one event: enough to tell events apart.
type ModelEvent = (String, Value);

/// The model: each stream's events, and the global log (stream and version by position).
#[derive(Default)]
struct Model<'a> {
    streams: HashMap<&'a str, Vec<ModelEvent>>,
    log: Vec<(&'a str, usize)>,
}

impl<'a> Model<'a> {
    fn version(&self, id: &str) -> i64 {
        self.streams.get(id).map_or(0, Vec::len) as i64 - 1
    }

    fn extend(&mut self, id: &'a str, events: Vec<ModelEvent>) {
        let stream = self.streams.entry(id).or_default();
        for event in events {
            self.log.push((id, stream.len()));
            stream.push(event);
        }
    }

    /// Whether the stream holds `events` (by event id) right after `expected`.
    fn holds(&self, id: &str, expected: i64, events: &[ModelEvent]) -> bool {
        let stream = self.streams.get(id).map(Vec::as_slice).unwrap_or_default();
        let first = (expected + 1) as usize;
        !events.is_empty()
            && events.iter().all(|(_, data)| data.get("id").is_some())
            && stream.len() >= first + events.len()
            && stream[first..first + events.len()]
                .iter()
                .zip(events)
                .all(|((_, a), (_, b))| a["id"] == b["id"])
    }
}

/// A storage over memory that fails at random, before doing anything or (for appends) after
/// storing the events, and (being untrusted) makes the core decode and check every payload it
/// loads.
struct FaultyStorage {
    inner: MemoryStorage,
    seed: Cell<u64>,
    failure_rate: u64, // in percent
    /// Set when an append failed after its events were stored; read (and reset) by `check`.
    stored_then_failed: Cell<bool>,
}

impl FaultyStorage {
    fn fails(&self) -> bool {
        // xorshift64*: deterministic for a given proptest case.
        let mut x = self.seed.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.seed.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d) % 100 < self.failure_rate
    }
}

impl Storage for FaultyStorage {
    type Error = &'static str;
    const TRUSTED: bool = false;
    const SUSPENDS: bool = false;

    async fn load(
        &self,
        id: &str,
        after: i64,
        sink: &mut RecordSink<'_>,
    ) -> Result<(), &'static str> {
        if self.fails() {
            return Err("injected load failure");
        }
        let _ = self.inner.load(id, after, sink).await;
        Ok(())
    }

    async fn version(&self, id: &str) -> Result<i64, &'static str> {
        if self.fails() {
            return Err("injected version failure");
        }
        Ok(self.inner.version(id).await.unwrap_or(-1))
    }

    fn global_log(&self) -> Result<(), String> {
        Ok(())
    }

    async fn load_all(
        &self,
        after: i64,
        limit: usize,
        sink: &mut LogSink,
    ) -> Result<(), &'static str> {
        if self.fails() {
            return Err("injected loadAll failure");
        }
        let _ = self.inner.load_all(after, limit, sink).await;
        Ok(())
    }

    async fn append(
        &self,
        id: &str,
        expected: i64,
        events: &[EventFields<'_>],
    ) -> Result<AppendOutcome, &'static str> {
        if self.fails() {
            return Err("injected append failure");
        }
        let outcome = self
            .inner
            .append(id, expected, events)
            .await
            .unwrap_or(AppendOutcome::Appended);
        if outcome == AppendOutcome::Appended && self.fails() {
            // Stored, then the answer is lost: a dropped connection after the commit.
            self.stored_then_failed.set(true);
            return Err("injected failure after the append was stored");
        }
        Ok(outcome)
    }
}

/// A batch of `count` events; with `ids`, each has an `eventId`, which its data repeats.
fn batch(step: usize, count: usize, ids: bool) -> (String, Vec<ModelEvent>) {
    let events: Vec<ModelEvent> = (0..count)
        .map(|k| {
            let mut data = json!({ "step": step, "k": k, "s": "x\u{1}y" });
            if ids {
                data["id"] = json!(format!("e{step}-{k}"));
            }
            (format!("T{}", k % 3), data)
        })
        .collect();
    let text = Value::from(
        events
            .iter()
            .map(|(t, d)| match d.get("id") {
                Some(id) => json!({ "type": t, "data": d, "eventId": id }),
                None => json!({ "type": t, "data": d }),
            })
            .collect::<Vec<_>>(),
    )
    .to_string();
    (text, events)
}

/// One append (or a retry of one) against the store and the model: it must succeed exactly when
/// the stream is at its expected version, or resolve without writing when the stream holds this
/// batch (same event ids) there already; else conflict.
fn check_append<'a, S: Storage>(
    store: &EventStore<S>,
    model: &mut Model<'a>,
    (stream, expected, text, new_events): &(usize, i64, String, Vec<ModelEvent>),
    stored: impl Fn(&S) -> bool,
) -> Result<(), TestCaseError>
where
    S::Error: std::fmt::Debug + PartialEq,
{
    let id: &'a str = IDS[*stream];
    let (expected, actual) = (*expected, model.version(id));
    let retried = model.holds(id, expected, new_events);
    let result = poll_once(store.append_events(id, expected, text, 1_000)).unwrap();
    let count = new_events.len() as i64;
    match result {
        Ok(version) if retried => {
            prop_assert_eq!(
                version,
                Some(expected + count),
                "a retry resolves as the first attempt"
            );
        }
        Ok(version) => {
            prop_assert_eq!(expected, actual, "append at a wrong version succeeded");
            model.extend(id, new_events.clone());
            let now = model.version(id);
            prop_assert_eq!(version, (now >= 0).then_some(now));
        }
        Err(StoreError::Conflict {
            expected: e,
            actual: a,
            ..
        }) => {
            prop_assert!(!retried, "a retry of a stored batch conflicted");
            prop_assert_eq!(e, expected);
            prop_assert_eq!(a, actual);
            prop_assert_ne!(expected, actual, "conflict at the right version");
        }
        Err(StoreError::Storage(_)) => {
            // Nothing changed, or (outcome unknown) all of it: checked by later steps.
            if stored(store.storage()) && !retried {
                prop_assert_eq!(expected, actual, "stored at a wrong version");
                model.extend(id, new_events.clone());
            }
        }
        Err(other) => prop_assert!(false, "unexpected error {other:?}"),
    }
    Ok(())
}

/// Runs `ops` against the store and the model. A storage error must leave the model's state,
/// unless `stored` says the storage stored the append before it failed: then the model has it.
fn check<S: Storage>(
    store: &EventStore<S>,
    ops: &[Op],
    stored: impl Fn(&S) -> bool + Copy,
) -> Result<(), TestCaseError>
where
    S::Error: std::fmt::Debug + PartialEq,
{
    let mut model = Model::default();
    // Every append attempted: (stream, expected version, batch text, its events).
    let mut attempted: Vec<(usize, i64, String, Vec<ModelEvent>)> = Vec::new();
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Append {
                stream,
                offset,
                count,
                ids,
            } => {
                let expected = (model.version(IDS[stream]) + offset).max(-1);
                let (text, new_events) = batch(step, count, ids);
                attempted.push((stream, expected, text, new_events));
                let attempt = attempted.last().unwrap().clone();
                check_append(store, &mut model, &attempt, stored)?;
            }
            Op::Retry { back } => {
                let Some(attempt) = attempted.iter().rev().nth(back).cloned() else {
                    continue;
                };
                check_append(store, &mut model, &attempt, stored)?;
            }
            Op::LoadAll { from, limit } => {
                match poll_once(store.load_all_events_json(from, limit)).unwrap() {
                    Ok(json) => {
                        let loaded: Vec<Value> = serde_json::from_str(&json).unwrap();
                        let start = usize::try_from(from + 1).unwrap_or(0).min(model.log.len());
                        let end =
                            limit.map_or(model.log.len(), |l| (start + l).min(model.log.len()));
                        prop_assert_eq!(loaded.len(), end - start);
                        for (event, (position, (id, version))) in
                            loaded.iter().zip(model.log[start..end].iter().enumerate())
                        {
                            let (ty, data) = &model.streams[id][*version];
                            prop_assert_eq!(
                                event["position"].as_u64(),
                                Some((start + position) as u64)
                            );
                            prop_assert_eq!(&event["aggregateId"], *id);
                            prop_assert_eq!(event["version"].as_u64(), Some(*version as u64));
                            prop_assert_eq!(&event["type"], ty.as_str());
                            prop_assert_eq!(&event["data"], data);
                        }
                    }
                    Err(StoreError::Storage(_)) => {}
                    Err(other) => prop_assert!(false, "unexpected error {other:?}"),
                }
            }
            Op::Load { stream, from } => {
                let id = IDS[stream];
                match poll_once(store.load_events_json(id, from, None)).unwrap() {
                    Ok(json) => {
                        let loaded: Vec<Value> = serde_json::from_str(&json).unwrap();
                        let all = model.streams.get(id).map(Vec::as_slice).unwrap_or_default();
                        let start = usize::try_from(from + 1).unwrap_or(0).min(all.len());
                        prop_assert_eq!(loaded.len(), all.len() - start);
                        for (offset, (event, (ty, data))) in
                            loaded.iter().zip(&all[start..]).enumerate()
                        {
                            prop_assert_eq!(&event["aggregateId"], id);
                            prop_assert_eq!(
                                event["version"].as_u64(),
                                Some((start + offset) as u64)
                            );
                            prop_assert_eq!(&event["type"], ty.as_str());
                            prop_assert_eq!(&event["data"], data);
                        }
                    }
                    Err(StoreError::Storage(_)) => {}
                    Err(other) => prop_assert!(false, "unexpected error {other:?}"),
                }
            }
            Op::Version { stream } => {
                let id = IDS[stream];
                let expected = Some(model.version(id)).filter(|v| *v >= 0);
                match poll_once(store.current_version(id)).unwrap() {
                    Ok(version) => prop_assert_eq!(version, expected),
                    Err(StoreError::Storage(_)) => {}
                    Err(other) => prop_assert!(false, "unexpected error {other:?}"),
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(300))]

    #[test]
    fn memory_store_matches_the_model(ops in prop::collection::vec(op(), 1..80)) {
        let store = EventStore::new(MemoryStorage::new(), [5; 32]);
        check(&store, &ops, |_| false)?;
    }

    #[test]
    fn faulty_storage_leaves_no_trace_of_failures(
        ops in prop::collection::vec(op(), 1..80),
        seed in 1..u64::MAX,
        failure_rate in 0..60u64,
    ) {
        let storage = FaultyStorage {
            inner: MemoryStorage::new(),
            seed: Cell::new(seed),
            failure_rate,
            stored_then_failed: Cell::new(false),
        };
        let store = EventStore::new(storage, [6; 32]);
        check(&store, &ops, |storage| storage.stored_then_failed.replace(false))?;
    }
}

/// A future that is pending once (waking itself), then ready: a storage awaiting its host.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// A storage that suspends in every operation and whose append is not atomic: it reads the
/// version, suspends, and then writes without checking again. Two appends of one aggregate that
/// interleave would both be written; the store's per-aggregate lock must keep them apart.
#[derive(Default)]
struct NonAtomicStorage {
    streams: RefCell<HashMap<String, Vec<String>>>,
    /// How many times each operation suspends, cycling (so interleavings vary with the case).
    pauses: Cell<u64>,
}

impl NonAtomicStorage {
    async fn pause(&self) {
        let n = self.pauses.get();
        self.pauses
            .set(n.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
        for _ in 0..(n >> 60) % 4 {
            YieldNow(false).await;
        }
    }

    fn version_now(&self, id: &str) -> i64 {
        self.streams.borrow().get(id).map_or(0, Vec::len) as i64 - 1
    }
}

impl Storage for NonAtomicStorage {
    type Error = &'static str;
    const TRUSTED: bool = false;
    const SUSPENDS: bool = true;

    async fn load(
        &self,
        id: &str,
        after: i64,
        sink: &mut RecordSink<'_>,
    ) -> Result<(), &'static str> {
        self.pause().await;
        let streams = self.streams.borrow();
        for (version, payload) in streams.get(id).into_iter().flatten().enumerate() {
            if version as i64 > after {
                sink.push(version as i64, payload);
            }
        }
        Ok(())
    }

    async fn version(&self, id: &str) -> Result<i64, &'static str> {
        self.pause().await;
        Ok(self.version_now(id))
    }

    async fn append(
        &self,
        id: &str,
        expected: i64,
        events: &[EventFields<'_>],
    ) -> Result<AppendOutcome, &'static str> {
        let actual = self.version_now(id);
        self.pause().await; // the window a non-atomic storage leaves open
        if actual != expected {
            return Ok(AppendOutcome::Conflict {
                actual_version: actual,
            });
        }
        let id_json = serde_json::to_string(id).unwrap();
        let mut streams = self.streams.borrow_mut();
        let stream = streams.entry(id.to_string()).or_default();
        for event in events {
            let version = stream.len() as i64;
            stream.push(wasm_event_store::payload::encode(&id_json, version, event));
        }
        Ok(AppendOutcome::Appended)
    }
}

/// What one task did: (stream, expected version, tags of the batch, the append's result).
type Attempt = (
    usize,
    i64,
    Vec<Value>,
    Result<Option<i64>, StoreError<&'static str>>,
);

/// Polls every task in turn (with a waker that does nothing: a task is simply polled again)
/// until all are done. A task stuck for good would make it give up: the lock deadlocked.
fn run_all<T>(mut tasks: Vec<Pin<Box<dyn Future<Output = T> + '_>>>) -> Vec<T> {
    let mut results: Vec<Option<T>> = tasks.iter().map(|_| None).collect();
    let mut cx = Context::from_waker(Waker::noop());
    for _round in 0..100_000 {
        let mut pending = false;
        for (task, result) in tasks.iter_mut().zip(results.iter_mut()) {
            if result.is_none() {
                match task.as_mut().poll(&mut cx) {
                    Poll::Ready(value) => *result = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if !pending {
            return results.into_iter().map(Option::unwrap).collect();
        }
    }
    panic!("tasks still pending after 100,000 rounds: a deadlock");
}

proptest! {
    #![proptest_config(config(200))]

    /// Tasks append concurrently, each at the version it last read: whatever the interleaving,
    /// every acknowledged append is stored whole at the versions it was given, nothing else is
    /// stored, and every conflict names a version other than the expected one.
    #[test]
    fn concurrent_appends_over_a_non_atomic_suspending_storage_stay_correct(
        plans in prop::collection::vec(prop::collection::vec((0..2usize, 1..4usize), 1..6), 2..6),
        pauses in any::<u64>(),
    ) {
        let storage = NonAtomicStorage { pauses: Cell::new(pauses), ..NonAtomicStorage::default() };
        let store = EventStore::new(storage, [8; 32]);
        let store = &store;
        let tasks: Vec<Pin<Box<dyn Future<Output = Vec<Attempt>> + '_>>> = plans
            .iter()
            .enumerate()
            .map(|(task, plan)| {
                let plan = plan.clone();
                Box::pin(async move {
                    let mut attempts = Vec::new();
                    for (step, (stream, count)) in plan.into_iter().enumerate() {
                        let id = IDS[stream];
                        let expected = store.current_version(id).await.unwrap().unwrap_or(-1);
                        let tags: Vec<Value> = (0..count).map(|k| json!([task, step, k])).collect();
                        let batch = Value::from(
                            tags.iter().map(|tag| json!({ "type": "T", "data": tag })).collect::<Vec<_>>(),
                        )
                        .to_string();
                        let result = store.append_events(id, expected, &batch, 1_000).await;
                        attempts.push((stream, expected, tags, result));
                    }
                    attempts
                }) as Pin<Box<dyn Future<Output = Vec<Attempt>> + '_>>
            })
            .collect();
        let attempts: Vec<Attempt> = run_all(tasks).into_iter().flatten().collect();

        let stored: Vec<Vec<Value>> = (0..2)
            .map(|stream| {
                type Load<'s> = Pin<Box<dyn Future<Output = Result<String, StoreError<&'static str>>> + 's>>;
                let load: Load<'_> = Box::pin(store.load_events_json(IDS[stream], -1, None));
                let json = run_all(vec![load]).remove(0).unwrap();
                let events: Vec<Value> = serde_json::from_str(&json).unwrap();
                events.into_iter().map(|e| e["data"].clone()).collect()
            })
            .collect();
        let mut acknowledged = [0usize; 2];
        for (stream, expected, tags, result) in &attempts {
            match result {
                Ok(version) => {
                    let first = (expected + 1) as usize;
                    prop_assert_eq!(*version, Some(expected + tags.len() as i64));
                    prop_assert_eq!(&stored[*stream][first..first + tags.len()], tags.as_slice(),
                        "an acknowledged append is not stored at the versions it was given");
                    acknowledged[*stream] += tags.len();
                }
                Err(StoreError::Conflict { expected: e, actual, .. }) => {
                    prop_assert_eq!(e, expected);
                    prop_assert_ne!(actual, expected);
                }
                Err(other) => prop_assert!(false, "unexpected error {other:?}"),
            }
        }
        for stream in 0..2 {
            prop_assert_eq!(stored[stream].len(), acknowledged[stream], "events stored that no append acknowledged");
        }
    }
}
