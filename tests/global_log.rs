//! The global log and idempotent retries, natively over the in-memory storage: positions in
//! commit order over all streams, `loadAllEvents` paging, the last position, and a retried
//! append (same event ids) that resolves instead of conflicting.
#![cfg(not(target_arch = "wasm32"))]

use serde_json::{json, Value};
use wasm_event_store::{error::OutOfMemory, poll_once, EventStore, MemoryStorage, StoreError};

type Store = EventStore<MemoryStorage>;
type Error = StoreError<OutOfMemory>;

fn store() -> Store {
    EventStore::new(MemoryStorage::new(), [7; 32])
}

fn append_json(store: &Store, id: &str, expected: i64, batch: Value) -> Result<Option<i64>, Error> {
    poll_once(store.append_events(id, expected, &batch.to_string(), 0)).unwrap()
}

fn append(store: &Store, id: &str, expected: i64, count: usize) -> Option<i64> {
    let batch: Vec<Value> = (0..count)
        .map(|i| json!({ "type": "T", "data": i }))
        .collect();
    append_json(store, id, expected, Value::from(batch)).unwrap()
}

fn all(store: &Store, after: i64, limit: Option<usize>) -> Vec<Value> {
    let json = poll_once(store.load_all_events_json(after, limit))
        .unwrap()
        .unwrap();
    serde_json::from_str(&json).unwrap()
}

fn places(events: &[Value]) -> Vec<(String, i64, i64)> {
    events
        .iter()
        .map(|e| {
            (
                e["aggregateId"].as_str().unwrap().to_string(),
                e["version"].as_i64().unwrap(),
                e["position"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn last(store: &Store) -> Option<i64> {
    poll_once(store.last_position()).unwrap().unwrap()
}

#[test]
fn positions_follow_commit_order_over_all_streams() {
    let s = store();
    assert_eq!(last(&s), None);
    assert!(all(&s, -1, None).is_empty());
    append(&s, "a", -1, 2);
    append(&s, "b", -1, 1);
    append(&s, "a", 1, 1);
    let expected = [("a", 0, 0), ("a", 1, 1), ("b", 0, 2), ("a", 2, 3)];
    let expected: Vec<_> = expected
        .iter()
        .map(|(id, v, p)| (id.to_string(), *v, *p))
        .collect();
    assert_eq!(places(&all(&s, -1, None)), expected);
    assert_eq!(last(&s), Some(3));
    // A stream's own load carries the same positions.
    let json = poll_once(s.load_events_json("a", -1, None))
        .unwrap()
        .unwrap();
    let a: Vec<Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(
        a.iter()
            .map(|e| e["position"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [0, 1, 3]
    );
    // The same event either way.
    assert_eq!(a[2], all(&s, 2, None)[0]);
}

#[test]
fn paging_with_the_last_position_sees_every_event_once() {
    let s = store();
    for round in 0..30 {
        for (i, id) in ["x", "y", "z"].iter().enumerate() {
            if (round + i) % 2 == 0 {
                let version = poll_once(s.current_version(id))
                    .unwrap()
                    .unwrap()
                    .unwrap_or(-1);
                append(&s, id, version, 1 + (round % 3));
            }
        }
    }
    let everything = all(&s, -1, None);
    for limit in [1, 2, 7, 1000, 5000] {
        let mut seen = Vec::new();
        let mut after = -1;
        loop {
            let page = all(&s, after, Some(limit));
            assert!(page.len() <= limit);
            let Some(last) = page.last() else { break };
            after = last["position"].as_i64().unwrap();
            seen.extend(page);
        }
        assert_eq!(seen, everything, "pages of {limit}");
    }
    let positions: Vec<i64> = places(&everything).iter().map(|p| p.2).collect();
    assert_eq!(positions, (0..everything.len() as i64).collect::<Vec<_>>());
    assert!(all(&s, everything.len() as i64 - 1, None).is_empty());
    assert_eq!(all(&s, -50, Some(1)).len(), 1);
}

#[test]
fn a_log_longer_than_a_page_is_read_whole() {
    let s = store();
    append(&s, "big", -1, 2500);
    append(&s, "other", -1, 1);
    let events = all(&s, -1, None);
    assert_eq!(events.len(), 2501);
    assert_eq!(events[2500]["aggregateId"], "other");
    assert_eq!(all(&s, 10, Some(1500)).len(), 1500);
}

fn with_ids(ids: &[&str]) -> Value {
    Value::from(
        ids.iter()
            .map(|id| json!({ "type": "T", "eventId": id }))
            .collect::<Vec<_>>(),
    )
}

#[test]
fn a_retried_append_with_the_same_ids_resolves_and_writes_nothing() {
    let s = store();
    assert_eq!(
        append_json(&s, "a", -1, with_ids(&["e1", "e2"])),
        Ok(Some(1))
    );
    // The answer was lost; the caller retries the same batch.
    assert_eq!(
        append_json(&s, "a", -1, with_ids(&["e1", "e2"])),
        Ok(Some(1))
    );
    // Also after the stream moved on: it resolves to the version its last event has.
    append(&s, "a", 1, 3);
    assert_eq!(
        append_json(&s, "a", -1, with_ids(&["e1", "e2"])),
        Ok(Some(1))
    );
    // Ids are compared as the JSON text the JS package writes: another spelling of the same
    // id (which it never writes) is taken for another id, a conflict and never a false success.
    assert!(matches!(
        poll_once(s.append_events(
            "a",
            -1,
            r#"[{"type":"T","eventId":"\u00651"},{"type":"T","eventId":"e2"}]"#,
            0
        ))
        .unwrap(),
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(last(&s), Some(4));
    assert_eq!(poll_once(s.current_version("a")).unwrap(), Ok(Some(4)));
}

#[test]
fn anything_else_that_finds_the_stream_elsewhere_is_a_conflict() {
    let s = store();
    append_json(&s, "a", -1, with_ids(&["e1", "e2"])).unwrap();
    let conflict = |batch: Value, expected: i64| {
        matches!(
            append_json(&s, "a", expected, batch),
            Err(StoreError::Conflict { actual: 1, .. })
        )
    };
    assert!(conflict(with_ids(&["e2", "e1"]), -1), "other order");
    assert!(
        conflict(with_ids(&["e1", "e2", "e3"]), -1),
        "longer than the stream"
    );
    assert!(
        conflict(with_ids(&["e2"]), -1),
        "ids compared from the expected version"
    );
    assert!(conflict(with_ids(&["e1", "x"]), -1), "one id differs");
    // Without ids on every event nothing can be recognised.
    assert!(conflict(
        json!([{ "type": "T", "eventId": "e1" }, { "type": "T" }]),
        -1
    ));
    assert!(conflict(json!([{ "type": "T" }, { "type": "T" }]), -1));
    // An empty batch only checks the version, as before.
    assert!(conflict(json!([]), -1));
    assert_eq!(last(&s), Some(1));
    // Ids only are compared, from the expected version: the batch's own ids there are the batch.
    assert_eq!(append_json(&s, "a", -1, with_ids(&["e1"])), Ok(Some(0)));
    assert_eq!(append_json(&s, "a", 0, with_ids(&["e2"])), Ok(Some(1)));
    assert_eq!(last(&s), Some(1));
}
