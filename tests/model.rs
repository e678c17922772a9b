//! Model-based property tests of the core: random sequences of appends (right and wrong expected
//! versions, empty and large batches, several streams), loads from random versions and version
//! queries, each checked against a plain reference model. The same runs again over a storage
//! that fails at random (every failed operation must leave no trace) and re-verifies payloads.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::Cell;
use std::collections::HashMap;

use proptest::prelude::*;
use serde_json::{json, Value};
use wasm_event_store::{
    poll_once, AppendOutcome, EventFields, EventStore, MemoryStorage, RecordSink, Storage,
    StoreError,
};

#[derive(Debug, Clone)]
enum Op {
    /// `offset` is added to the stream's true version to make the expected version.
    Append {
        stream: usize,
        offset: i64,
        count: usize,
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
        4 => (0..4usize, prop_oneof![6 => Just(0i64), 1 => -3..4i64], prop_oneof![1 => Just(0usize), 8 => 1..6usize, 1 => 40..60usize])
            .prop_map(|(stream, offset, count)| Op::Append { stream, offset, count }),
        2 => (0..4usize, -3..70i64).prop_map(|(stream, from)| Op::Load { stream, from }),
        1 => (0..4usize).prop_map(|stream| Op::Version { stream }),
    ]
}

const IDS: [&str; 4] = ["a", "b", "a\"quoted\\", "ünï😀"];

/// What the model holds of one event: enough to tell events apart.
type ModelEvent = (String, Value);

/// A storage over memory that fails at random before doing anything, and (being untrusted)
/// makes the core decode and check every payload it loads.
struct FaultyStorage {
    inner: MemoryStorage,
    seed: Cell<u64>,
    failure_rate: u64, // in percent
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

    async fn append(
        &self,
        id: &str,
        expected: i64,
        events: &[EventFields<'_>],
    ) -> Result<AppendOutcome, &'static str> {
        if self.fails() {
            return Err("injected append failure");
        }
        Ok(self
            .inner
            .append(id, expected, events)
            .await
            .unwrap_or(AppendOutcome::Appended))
    }
}

fn batch(step: usize, count: usize) -> (String, Vec<ModelEvent>) {
    let events: Vec<ModelEvent> = (0..count)
        .map(|k| {
            (
                format!("T{}", k % 3),
                json!({ "step": step, "k": k, "s": "x\u{1}y" }),
            )
        })
        .collect();
    let text = Value::from(
        events
            .iter()
            .map(|(t, d)| json!({ "type": t, "data": d }))
            .collect::<Vec<_>>(),
    )
    .to_string();
    (text, events)
}

/// Runs `ops` against the store and the model; a storage error must leave the model's state.
fn check<S: Storage>(store: &EventStore<S>, ops: &[Op]) -> Result<(), TestCaseError>
where
    S::Error: std::fmt::Debug + PartialEq,
{
    let mut model: HashMap<&str, Vec<ModelEvent>> = HashMap::new();
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Append {
                stream,
                offset,
                count,
            } => {
                let id = IDS[stream];
                let events = model.entry(id).or_default();
                let actual = events.len() as i64 - 1;
                let expected = (actual + offset).max(-1);
                let (text, new_events) = batch(step, count);
                let result = poll_once(store.append_events(id, expected, &text, 1_000)).unwrap();
                match result {
                    Ok(version) => {
                        prop_assert_eq!(expected, actual, "append at a wrong version succeeded");
                        events.extend(new_events);
                        let now = events.len() as i64 - 1;
                        prop_assert_eq!(version, (now >= 0).then_some(now));
                    }
                    Err(StoreError::Conflict {
                        expected: e,
                        actual: a,
                        ..
                    }) => {
                        prop_assert_eq!(e, expected);
                        prop_assert_eq!(a, actual);
                        prop_assert_ne!(expected, actual, "conflict at the right version");
                    }
                    Err(StoreError::Storage(_)) => {} // nothing may have changed: checked by later steps
                    Err(other) => prop_assert!(false, "unexpected error {other:?}"),
                }
            }
            Op::Load { stream, from } => {
                let id = IDS[stream];
                match poll_once(store.load_events_json(id, from)).unwrap() {
                    Ok(json) => {
                        let loaded: Vec<Value> = serde_json::from_str(&json).unwrap();
                        let all = model.get(id).map(Vec::as_slice).unwrap_or_default();
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
                let expected = model
                    .get(id)
                    .map(|e| e.len() as i64 - 1)
                    .filter(|v| *v >= 0);
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
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn memory_store_matches_the_model(ops in prop::collection::vec(op(), 1..80)) {
        let store = EventStore::new(MemoryStorage::new(), [5; 32]);
        check(&store, &ops)?;
    }

    #[test]
    fn faulty_storage_leaves_no_trace_of_failures(
        ops in prop::collection::vec(op(), 1..80),
        seed in 1..u64::MAX,
        failure_rate in 0..60u64,
    ) {
        let storage = FaultyStorage { inner: MemoryStorage::new(), seed: Cell::new(seed), failure_rate };
        let store = EventStore::new(storage, [6; 32]);
        check(&store, &ops)?;
    }
}
