//! Fuzzing, by proptest with many cases, of everything that reads untrusted input: the batch
//! decoder (JSON from the JS wrapper), the payload decoder and the checks on records coming back
//! from a host adapter, the timestamp parser and the version arguments. No input may panic, and
//! what is accepted must be well-formed.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use serde_json::Value;
use wasm_event_store::{batch, json, payload, record, storage::RecordSink, time, version};

fn valid_payload(id: &str, version: i64) -> String {
    let mut id_json = String::new();
    json::push_json_string(&mut id_json, id);
    payload::encode(
        &id_json,
        version,
        &record::EventFields {
            type_json: "\"T\"",
            data_json: "{\"k\":[1,2,\"x\"]}",
            metadata_json: "{}",
            event_id: record::EventId::Json("\"e\""),
            occurred_on_ms: 1_714_557_600_000,
        },
    )
}

/// A valid payload with some bytes replaced, removed or inserted.
fn mutated_payload() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((any::<prop::sample::Index>(), 0..3u8, any::<char>()), 1..6),
        0..5i64,
    )
        .prop_map(|(edits, version)| {
            let mut chars: Vec<char> = valid_payload("s", version).chars().collect();
            for (at, kind, c) in edits {
                let i = at.index(chars.len().max(1)).min(chars.len());
                match kind {
                    0 if i < chars.len() => chars[i] = c,
                    1 if i < chars.len() => {
                        chars.remove(i);
                    }
                    _ => chars.insert(i, c),
                }
            }
            chars.into_iter().collect()
        })
}

fn json_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\\[\\]{}\",:0-9a-z\\\\ .eE+-]{0,60}",
        "\\[\\{\"type\":\"[a-z]{0,3}\"(,\"(data|metadata|eventId|occurredOn)\":(null|1|\"x\"|\\{\\}|\\[\\]|\"2024-01-01T00:00:00Z\")){0,4}\\}\\]",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn batch_decoder_never_panics_and_accepts_only_well_formed_events(text in json_like()) {
        if let Ok(events) = batch::parse_batch(&text) {
            for e in events {
                prop_assert!(e.type_json.starts_with('"') && e.type_json != "\"\"", "type {}", e.type_json);
                prop_assert!(e.metadata_json.starts_with('{'), "metadata {}", e.metadata_json);
                prop_assert!(serde_json::from_str::<Value>(e.data_json).is_ok(), "data {}", e.data_json);
            }
        }
    }

    #[test]
    fn payload_decoder_never_panics(text in prop_oneof![any::<String>(), mutated_payload()], version in -2..6i64) {
        let mut out = String::new();
        if payload::write_verified_event(&mut out, &text, "s", version).is_ok() {
            // Whatever is accepted is a JSON object of the asked-for stream and version.
            let value: Value = serde_json::from_str(&out).unwrap();
            prop_assert_eq!(&value["aggregateId"], "s");
            prop_assert_eq!(value["version"].as_i64(), Some(version));
        }
    }

    #[test]
    fn loaded_records_are_checked_without_panicking(
        records in prop::collection::vec((-3..8i64, prop_oneof![mutated_payload(), any::<String>()]), 0..8),
        after in -3..4i64,
        verify in any::<bool>(),
    ) {
        let mut sink = RecordSink::new("s", after, verify);
        for (version, payload) in &records {
            sink.push(*version, payload);
        }
        if let Ok(json) = sink.finish() {
            if verify {
                let events: Vec<Value> = serde_json::from_str(&json).unwrap();
                for (i, e) in events.iter().enumerate() {
                    prop_assert_eq!(e["version"].as_i64(), Some(after.max(-1) + 1 + i as i64));
                }
            }
        }
    }

    #[test]
    fn timestamps_parse_or_not_without_panicking(text in prop_oneof![any::<String>(), "[-+]?[0-9]{4,6}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{0,12})?)?([Zz]|[-+][0-9]{2}(:?[0-9]{2})?)?)?"]) {
        if let Some(ms) = time::parse_iso(&text) {
            prop_assert_eq!(time::parse_iso(&time::format_iso(ms)), Some(ms));
        }
    }

    #[test]
    fn version_arguments_never_panic(value in any::<f64>()) {
        if let Ok(v) = version::expected_version(value) {
            prop_assert!((-1..=version::MAX_SAFE_INTEGER).contains(&v));
        }
        let _ = version::from_version(value);
    }
}
