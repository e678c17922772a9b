//! The reference design's conformance cases (castlecraft_engineer's EventStore), run natively
//! against the pure core over the in-memory storage.
#![cfg(not(target_arch = "wasm32"))]

use serde_json::{json, Value};
use wasm_event_store::{error::OutOfMemory, poll_once, EventStore, MemoryStorage, StoreError};

type Store = EventStore<MemoryStorage>;
type Error = StoreError<OutOfMemory>;

const NOW: i64 = 1_714_557_600_000;

fn store() -> Store {
    EventStore::new(MemoryStorage::new(), [42; 32])
}

fn events(types: &[&str]) -> String {
    Value::from(
        types
            .iter()
            .map(|t| json!({ "type": t, "data": { "name": t } }))
            .collect::<Vec<_>>(),
    )
    .to_string()
}

fn append(store: &Store, id: &str, expected: i64, types: &[&str]) -> Result<Option<i64>, Error> {
    poll_once(store.append_events(id, expected, &events(types), NOW)).unwrap()
}

fn load(store: &Store, id: &str, from: i64) -> Vec<Value> {
    let json = poll_once(store.load_events_json(id, from, None))
        .unwrap()
        .unwrap();
    serde_json::from_str(&json).unwrap()
}

fn version(store: &Store, id: &str) -> Option<i64> {
    poll_once(store.current_version(id)).unwrap().unwrap()
}

fn types_of(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

fn versions_of(events: &[Value]) -> Vec<i64> {
    events
        .iter()
        .map(|e| e["version"].as_i64().unwrap())
        .collect()
}

#[test]
fn append_to_new_stream_with_events() {
    let s = store();
    assert_eq!(append(&s, "a", -1, &["E0", "E1"]), Ok(Some(1)));
    let loaded = load(&s, "a", -1);
    assert_eq!(types_of(&loaded), ["E0", "E1"]);
    assert_eq!(versions_of(&loaded), [0, 1]);
    assert_eq!(version(&s, "a"), Some(1));
}

#[test]
fn append_to_new_stream_without_events_creates_nothing() {
    let s = store();
    assert_eq!(append(&s, "a", -1, &[]), Ok(None));
    assert_eq!(version(&s, "a"), None);
    assert!(load(&s, "a", -1).is_empty());
    assert_eq!(s.storage().stream_count(), 0);
}

#[test]
fn append_to_existing_stream_with_and_without_events() {
    let s = store();
    append(&s, "a", -1, &["E0"]).unwrap();
    assert_eq!(append(&s, "a", 0, &["E1", "E2"]), Ok(Some(2)));
    assert_eq!(append(&s, "a", 2, &[]), Ok(Some(2)));
    assert_eq!(types_of(&load(&s, "a", -1)), ["E0", "E1", "E2"]);
}

#[test]
fn conflict_on_new_stream() {
    let s = store();
    let error = append(&s, "a", 0, &["E0"]).unwrap_err();
    assert_eq!(
        error,
        StoreError::Conflict {
            aggregate_id: "a".into(),
            expected: 0,
            actual: -1
        }
    );
    assert_eq!(
        error.to_string(),
        "Conflict appending events for aggregate a. Expected version 0, but current version is -1."
    );
    assert_eq!(error.code(), "CONFLICT");
    assert_eq!(version(&s, "a"), None);
    // An empty batch still checks the expected version.
    assert!(matches!(
        append(&s, "a", 0, &[]),
        Err(StoreError::Conflict { actual: -1, .. })
    ));
}

#[test]
fn conflict_on_existing_stream_leaves_it_unchanged() {
    let s = store();
    append(&s, "a", -1, &["E0", "E1"]).unwrap();
    for expected in [-1, 0, 2, 7] {
        assert_eq!(
            append(&s, "a", expected, &["X"]),
            Err(StoreError::Conflict {
                aggregate_id: "a".into(),
                expected,
                actual: 1
            })
        );
    }
    assert!(matches!(
        append(&s, "a", 0, &[]),
        Err(StoreError::Conflict { actual: 1, .. })
    ));
    assert_eq!(types_of(&load(&s, "a", -1)), ["E0", "E1"]);
    assert_eq!(version(&s, "a"), Some(1));
}

#[test]
fn load_of_unknown_stream_is_empty() {
    assert!(load(&store(), "nope", -1).is_empty());
}

#[test]
fn load_from_version_is_exclusive() {
    let s = store();
    append(&s, "a", -1, &["E0", "E1", "E2", "E3", "E4"]).unwrap();
    // -1 stands for null/undefined in the core API; any negative value loads everything.
    assert_eq!(versions_of(&load(&s, "a", -1)), [0, 1, 2, 3, 4]);
    assert_eq!(versions_of(&load(&s, "a", -10)), [0, 1, 2, 3, 4]);
    assert_eq!(versions_of(&load(&s, "a", 0)), [1, 2, 3, 4]);
    assert_eq!(versions_of(&load(&s, "a", 2)), [3, 4]);
    assert_eq!(versions_of(&load(&s, "a", 4)), Vec::<i64>::new());
    assert_eq!(versions_of(&load(&s, "a", 100)), Vec::<i64>::new());
    assert_eq!(versions_of(&load(&s, "a", i64::MAX)), Vec::<i64>::new());
}

#[test]
fn load_returns_a_copy() {
    let s = store();
    append(&s, "a", -1, &["E0"]).unwrap();
    let mut first = poll_once(s.load_events_json("a", -1, None))
        .unwrap()
        .unwrap();
    // Each load is a fresh value the caller owns: changing one answer changes neither the store
    // nor the next answer.
    let original = first.clone();
    first.clear();
    first.push_str("[]");
    let second = poll_once(s.load_events_json("a", -1, None))
        .unwrap()
        .unwrap();
    assert_eq!(second, original);
    assert_eq!(versions_of(&load(&s, "a", -1)), [0]);
}

#[test]
fn current_version_of_unknown_first_and_several() {
    let s = store();
    assert_eq!(version(&s, "a"), None);
    append(&s, "a", -1, &["E0"]).unwrap();
    assert_eq!(version(&s, "a"), Some(0));
    append(&s, "a", 0, &["E1"]).unwrap();
    append(&s, "a", 1, &["E2", "E3"]).unwrap();
    assert_eq!(version(&s, "a"), Some(3));
}

#[test]
fn streams_are_isolated() {
    let s = store();
    append(&s, "a", -1, &["A0", "A1"]).unwrap();
    append(&s, "b", -1, &["B0"]).unwrap();
    assert_eq!(types_of(&load(&s, "a", -1)), ["A0", "A1"]);
    assert_eq!(types_of(&load(&s, "b", -1)), ["B0"]);
    assert!(load(&s, "a", -1).iter().all(|e| e["aggregateId"] == "a"));
    assert_eq!(version(&s, "b"), Some(0));
}

#[test]
fn fifty_events_in_one_batch() {
    let s = store();
    let names: Vec<String> = (0..50).map(|i| format!("E{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_eq!(append(&s, "a", -1, &refs), Ok(Some(49)));
    let loaded = load(&s, "a", -1);
    assert_eq!(versions_of(&loaded), (0..50).collect::<Vec<_>>());
    assert_eq!(types_of(&loaded), refs);
}

#[test]
fn recorded_event_has_every_member() {
    let s = store();
    let batch = json!([
        { "type": "Given", "data": [1, "two"], "metadata": { "user": "u" },
          "eventId": "my-id", "occurredOn": "2024-05-01T12:00:00+02:00" },
        { "type": "Defaults" }
    ]);
    poll_once(s.append_events("a", -1, &batch.to_string(), NOW))
        .unwrap()
        .unwrap();
    let loaded = load(&s, "a", -1);
    assert_eq!(
        loaded[0],
        json!({ "aggregateId": "a", "version": 0, "type": "Given", "data": [1, "two"],
                "metadata": { "user": "u" }, "eventId": "my-id",
                "occurredOn": "2024-05-01T10:00:00.000Z", "position": 0 })
    );
    assert_eq!(loaded[1]["data"], Value::Null);
    assert_eq!(loaded[1]["metadata"], json!({}));
    assert_eq!(loaded[1]["occurredOn"], "2024-05-01T10:00:00.000Z");
    let id = loaded[1]["eventId"].as_str().unwrap();
    assert_eq!(id.len(), 36);
    assert_eq!(&id[14..15], "4");
}

#[test]
fn invalid_arguments_change_nothing() {
    let s = store();
    append(&s, "a", -1, &["E0"]).unwrap();
    let bad_batches = [
        "{}",
        "[1]",
        r#"[{"type":"ok"},{"type":""}]"#,
        r#"[{"type":"ok"},{"type":"x","metadata":[]}]"#,
        r#"[{"type":"ok"},{"type":"x","occurredOn":"never"}]"#,
    ];
    for batch in bad_batches {
        let error = poll_once(s.append_events("a", 0, batch, NOW))
            .unwrap()
            .unwrap_err();
        assert_eq!(error.code(), "INVALID_ARGUMENT", "{batch}");
    }
    for (id, expected) in [("", -1), ("a", -2), ("a", 1 << 53)] {
        let error = poll_once(s.append_events(id, expected, "[]", NOW))
            .unwrap()
            .unwrap_err();
        assert_eq!(error.code(), "INVALID_ARGUMENT");
    }
    assert!(matches!(
        poll_once(s.load_events_json("", -1, None)).unwrap(),
        Err(StoreError::InvalidArgument(_))
    ));
    assert_eq!(types_of(&load(&s, "a", -1)), ["E0"]);
    assert_eq!(version(&s, "a"), Some(0));
}

#[test]
fn stores_share_nothing() {
    let (one, two) = (store(), store());
    append(&one, "a", -1, &["E0"]).unwrap();
    assert_eq!(version(&two, "a"), None);
    assert_eq!(append(&two, "a", -1, &["F0"]), Ok(Some(0)));
    assert_eq!(types_of(&load(&one, "a", -1)), ["E0"]);
}

#[test]
fn load_with_a_limit_takes_at_most_that_many_after_from_version() {
    let s = store();
    append(&s, "a", -1, &["E0", "E1", "E2", "E3", "E4"]).unwrap();
    let limited = |from, limit| {
        let json = poll_once(s.load_events_json("a", from, Some(limit)))
            .unwrap()
            .unwrap();
        versions_of(&serde_json::from_str::<Vec<Value>>(&json).unwrap())
    };
    assert_eq!(limited(-1, 2), [0, 1]);
    assert_eq!(limited(1, 2), [2, 3]);
    assert_eq!(limited(3, 2), [4]);
    assert_eq!(limited(4, 2), Vec::<i64>::new());
    assert_eq!(limited(-1, usize::MAX), [0, 1, 2, 3, 4]);
}
