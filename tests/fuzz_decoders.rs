//! Fuzzing, by proptest with many cases, of everything that reads untrusted input: the batch
//! decoder (JSON from the JS wrapper), the payload decoder and the checks on records coming back
//! from a host adapter, the timestamp parser and the version arguments. No input may panic, and
//! what is accepted must be well-formed.
//!
//! Random text is almost never accepted, and a property that only asserts "if accepted" then
//! checks nothing. So every generator mixes garbage with mostly-valid inputs (valid values with
//! small edits, respelled but equivalent forms), the valid ones are asserted to be accepted with
//! the right result, and each run counts its accepted cases and fails below a minimum.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::Cell;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use serde_json::{json, Value};
use wasm_event_store::{batch, json, payload, record, storage::RecordSink, time, version};

const CASES: u32 = 4000;

/// Runs `property` on `CASES` inputs of `strategy`; `property` answers whether the input was
/// accepted. Fails if fewer than `min_accepted` were. Failing inputs are kept in
/// tests/proptest-regressions/fuzz_decoders.txt (in the repository) and replayed first.
fn run_counted<S: Strategy>(
    name: &str,
    strategy: S,
    min_accepted: u32,
    property: impl Fn(S::Value) -> Result<bool, TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let config = Config {
        cases: CASES,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/proptest-regressions/fuzz_decoders.txt",
        ))),
        source_file: Some(file!()),
        ..Config::default()
    };
    let accepted = Cell::new(0u32);
    TestRunner::new(config)
        .run(&strategy, |input| {
            if property(input)? {
                accepted.set(accepted.get() + 1);
            }
            Ok(())
        })
        .unwrap_or_else(|failure| panic!("{name}: {failure}"));
    assert!(
        accepted.get() >= min_accepted,
        "{name}: only {} of {CASES} cases were accepted (at least {min_accepted} expected): the \
         generator no longer exercises the accepting path",
        accepted.get()
    );
}

fn id_json(id: &str) -> String {
    let mut out = String::new();
    json::push_json_string(&mut out, id);
    out
}

/// The parts of a valid event, as JSON texts.
#[derive(Debug, Clone)]
struct Parts {
    type_json: String,
    data_json: String,
    metadata_json: String,
    event_id_json: String,
    occurred_on_ms: i64,
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-1_000_000i64..1_000_000).prop_map(Value::from),
        "[a-z\u{e9}\u{1F600}\"\\\\\n]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn parts() -> impl Strategy<Value = Parts> {
    (
        "[A-Za-z\u{e9}]{1,6}",
        json_value(),
        prop::collection::btree_map("[a-z]{1,3}", json_value(), 0..3),
        "[a-z0-9-]{1,12}",
        -time::MAX_MS..time::MAX_MS,
    )
        .prop_map(|(ty, data, metadata, id, ms)| Parts {
            type_json: Value::from(ty).to_string(),
            data_json: data.to_string(),
            metadata_json: Value::Object(metadata.into_iter().collect()).to_string(),
            event_id_json: Value::from(id).to_string(),
            occurred_on_ms: ms,
        })
}

fn encoded(stream: &str, version: i64, parts: &Parts) -> String {
    payload::encode(
        &id_json(stream),
        version,
        &record::EventFields {
            type_json: &parts.type_json,
            data_json: &parts.data_json,
            metadata_json: &parts.metadata_json,
            event_id: record::EventId::Json(&parts.event_id_json),
            occurred_on_ms: parts.occurred_on_ms,
        },
    )
}

/// A valid payload of `stream` at `version`, spelled as this core writes it or respelled: its
/// members in another order, with whitespace, the time in another zone. Every one must decode
/// to the same event.
fn respelled(stream: &str, version: i64, parts: &Parts, how: u8) -> String {
    let canonical = encoded(stream, version, parts);
    let value: Value = serde_json::from_str(&canonical).unwrap();
    match how % 4 {
        0 => canonical,
        1 => serde_json::to_string_pretty(&value).unwrap(),
        2 => {
            // Members in reverse order, `v` last.
            let object = value.as_object().unwrap();
            let members: Vec<String> = object
                .iter()
                .rev()
                .map(|(k, v)| format!("{}:{v}", Value::from(k.as_str())))
                .collect();
            format!("{{{}}}", members.join(" , "))
        }
        _ => {
            // The same instant written with a +01:30 offset.
            let mut value = value;
            let shifted = time::format_iso(parts.occurred_on_ms + 90 * 60 * 1000);
            let with_offset = shifted.trim_end_matches('Z').to_string() + "+01:30";
            value["occurredOn"] = Value::from(with_offset);
            value.to_string()
        }
    }
}

/// A valid payload with some bytes replaced, removed or inserted (mostly no longer valid).
fn mutated(text: String, edits: &[(prop::sample::Index, u8, char)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for (at, kind, c) in edits {
        let i = at.index(chars.len().max(1)).min(chars.len());
        match kind {
            0 if i < chars.len() => chars[i] = *c,
            1 if i < chars.len() => {
                chars.remove(i);
            }
            _ => chars.insert(i, *c),
        }
    }
    chars.into_iter().collect()
}

type Edits = Vec<(prop::sample::Index, u8, char)>;

fn edits() -> impl Strategy<Value = Edits> {
    prop::collection::vec((any::<prop::sample::Index>(), 0..3u8, any::<char>()), 1..4)
}

/// What the recorded event written for `parts` must be.
fn expected_event(stream: &str, version: i64, parts: &Parts) -> Value {
    json!({
        "aggregateId": stream,
        "version": version,
        "type": serde_json::from_str::<Value>(&parts.type_json).unwrap(),
        "data": serde_json::from_str::<Value>(&parts.data_json).unwrap(),
        "metadata": serde_json::from_str::<Value>(&parts.metadata_json).unwrap(),
        "eventId": serde_json::from_str::<Value>(&parts.event_id_json).unwrap(),
        "occurredOn": time::format_iso(parts.occurred_on_ms),
    })
}

/// A batch of valid events (some members omitted).
fn batch_text() -> impl Strategy<Value = String> {
    prop::collection::vec((parts(), 0..8u8), 0..4).prop_map(|events| {
        let events: Vec<String> = events
            .iter()
            .map(|(p, omit)| {
                let mut members = vec![format!("\"type\":{}", p.type_json)];
                if omit & 1 == 0 {
                    members.push(format!("\"data\":{}", p.data_json));
                }
                if omit & 2 == 0 {
                    members.push(format!("\"metadata\":{}", p.metadata_json));
                }
                if omit & 4 == 0 {
                    members.push(format!("\"eventId\":{}", p.event_id_json));
                }
                members.push(format!(
                    "\"occurredOn\":\"{}\"",
                    time::format_iso(p.occurred_on_ms)
                ));
                format!("{{{}}}", members.join(","))
            })
            .collect();
        format!("[{}]", events.join(","))
    })
}

#[test]
fn batch_decoder_accepts_valid_batches_and_only_well_formed_events() {
    // Valid batches, edited ones, or garbage.
    let input = prop_oneof![
        3 => batch_text().prop_map(|text| (text, true)),
        2 => (batch_text(), edits()).prop_map(|(text, edits)| (mutated(text, &edits), false)),
        1 => any::<String>().prop_map(|text| (text, false)),
        1 => "[\\[\\]{}\",:0-9a-z\\\\ .eE+-]{0,60}".prop_map(|text| (text, false)),
    ];
    run_counted(
        "batch decoder",
        input,
        CASES * 2 / 5,
        |(text, valid): (String, bool)| match batch::parse_batch(&text) {
            Ok(events) => {
                for e in events {
                    prop_assert!(e.type_json.starts_with('"') && e.type_json != "\"\"");
                    prop_assert!(e.metadata_json.starts_with('{'), "{}", e.metadata_json);
                    prop_assert!(serde_json::from_str::<Value>(e.data_json).is_ok());
                    prop_assert!(!valid || e.occurred_on_ms.is_some());
                }
                Ok(true)
            }
            Err(error) => {
                prop_assert!(!valid, "a valid batch was refused: {error}: {text}");
                Ok(false)
            }
        },
    );
}

#[test]
fn payload_decoder_accepts_valid_spellings_and_only_the_asked_event() {
    // (payload text, the event it must decode to if it is valid, the version asked for)
    let input = (
        parts(),
        0..4u8,
        0..5i64,
        prop_oneof![3 => Just(0i64), 1 => -2..3i64],
    )
        .prop_flat_map(|(parts, how, version, offset)| {
            let valid = respelled("s", version, &parts, how);
            let asked = version + offset;
            let expected = (offset == 0).then(|| expected_event("s", version, &parts));
            prop_oneof![
                3 => Just((valid.clone(), expected, asked)),
                2 => edits().prop_map(move |e| (mutated(valid.clone(), &e), None, asked)),
                1 => any::<String>().prop_map(move |t| (t, None, asked)),
            ]
        });
    run_counted(
        "payload decoder",
        input,
        CASES * 3 / 10,
        |(text, expected, asked)| {
            let mut out = String::new();
            match payload::write_verified_event(&mut out, &text, "s", asked) {
                Ok(()) => {
                    // Whatever is accepted is a JSON object of the asked-for stream and version.
                    // (Read member by member as raw JSON: an edited payload may hold a number
                    // like 1E999, valid JSON that serde_json's f64 cannot hold.)
                    let members: std::collections::HashMap<
                        String,
                        Box<serde_json::value::RawValue>,
                    > = serde_json::from_str(&out).unwrap();
                    prop_assert_eq!(members["aggregateId"].get(), "\"s\"");
                    prop_assert_eq!(members["version"].get(), asked.to_string());
                    if let Some(expected) = expected {
                        prop_assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), expected);
                    }
                    Ok(true)
                }
                Err(error) => {
                    prop_assert!(
                        expected.is_none(),
                        "a valid payload was refused: {error:?}: {text}"
                    );
                    Ok(false)
                }
            }
        },
    );
}

#[test]
fn loaded_records_are_checked_and_valid_ones_returned() {
    // Records at contiguous versions from `after + 1`, mostly valid; sometimes one is edited,
    // skipped, repeated or of another stream.
    let input = (
        prop::collection::vec((parts(), 0..4u8), 0..6),
        -1..3i64,
        any::<bool>(),
        prop_oneof![4 => Just(None), 1 => (any::<prop::sample::Index>(), 0..4u8, edits()).prop_map(Some)],
    )
        .prop_map(|(events, after, verify, damage)| {
            let mut records: Vec<(i64, String)> = events
                .iter()
                .enumerate()
                .map(|(i, (p, how))| {
                    // A trusted storage holds only what this core wrote: no respellings there.
                    let version = after + 1 + i as i64;
                    (version, respelled("s", version, p, if verify { *how } else { 0 }))
                })
                .collect();
            let damaged = match damage {
                Some((at, kind, e)) if !records.is_empty() => {
                    let i = at.index(records.len());
                    match kind {
                        0 => records[i].1 = mutated(records[i].1.clone(), &e),
                        1 => {
                            records.remove(i);
                        }
                        2 => {
                            let copy = records[i].clone();
                            records.insert(i, copy);
                        }
                        _ => records[i].1 = respelled("t", records[i].0, &events[i].0, 0),
                    }
                    true
                }
                _ => false,
            };
            let expected: Vec<Value> = events
                .iter()
                .enumerate()
                .map(|(i, (p, _))| expected_event("s", after + 1 + i as i64, p))
                .collect();
            (records, after, verify, damaged, expected)
        });
    run_counted(
        "loaded records",
        input,
        CASES / 2,
        |(records, after, verify, damaged, expected)| {
            let mut sink = RecordSink::new("s", after, verify);
            for (version, payload) in &records {
                sink.push(*version, payload);
            }
            match sink.finish() {
                // A trusted storage's payloads are not checked again: what a damaged one makes
                // of the output is not this test's business.
                Ok(_) if damaged && !verify => Ok(true),
                Ok(json) => {
                    let events: Vec<Value> = serde_json::from_str(&json).unwrap();
                    for (i, e) in events.iter().enumerate() {
                        prop_assert_eq!(e["version"].as_i64(), Some(after + 1 + i as i64));
                    }
                    if !damaged {
                        prop_assert_eq!(&events, &expected);
                    }
                    Ok(true)
                }
                Err(error) => {
                    prop_assert!(damaged, "undamaged records were refused: {error:?}");
                    Ok(false)
                }
            }
        },
    );
}

#[test]
fn timestamps_parse_valid_dates_and_round_trip() {
    // Valid date-times (with a zone, in any precision) and small perturbations of them.
    let valid = (
        0..10_000i64,
        1..13u32,
        1..29u32,
        0..24u32,
        0..60u32,
        0..60u32,
        0..1000u32,
        prop_oneof![
            Just("Z".to_string()),
            (-14..15i32, 0..2u32).prop_map(|(h, m)| format!("{h:+03}:{:02}", m * 30))
        ],
    )
        .prop_map(|(y, mo, d, h, mi, s, ms, zone)| {
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}{zone}")
        });
    let input = prop_oneof![
        3 => valid.clone().prop_map(|t| (t, true)),
        2 => (valid, edits()).prop_map(|(t, e)| (mutated(t, &e), false)),
        1 => any::<String>().prop_map(|t| (t, false)),
    ];
    run_counted(
        "timestamps",
        input,
        CASES * 2 / 5,
        |(text, valid)| match time::parse_iso(&text) {
            Some(ms) => {
                prop_assert_eq!(time::parse_iso(&time::format_iso(ms)), Some(ms));
                Ok(true)
            }
            None => {
                prop_assert!(!valid, "a valid date-time was refused: {text}");
                Ok(false)
            }
        },
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    #[test]
    fn version_arguments_never_panic(value in prop_oneof![any::<f64>(), (-3..10i64).prop_map(|v| v as f64)]) {
        if let Ok(v) = version::expected_version(value) {
            prop_assert!((-1..=version::MAX_SAFE_INTEGER).contains(&v));
            prop_assert_eq!(v as f64, value);
        }
        let _ = version::from_version(value);
    }
}
