//! Tests of the batch decoder, and the property test that holds it to `serde_json`.
use super::*;

#[test]
fn fills_defaults_and_keeps_raw_values() {
    let events = parse_batch(
        r#"[{"type":"A"},{"type":"B","data":[1,{"x":"y"}],"metadata":{"m":1},
            "eventId":"e","occurredOn":"2024-05-01T12:00:00+02:00","extra":true}]"#,
    )
    .unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].type_json, "\"A\"");
    assert_eq!(events[0].data_json, "null");
    assert_eq!(events[0].metadata_json, "{}");
    assert_eq!(events[0].event_id_json, None);
    assert_eq!(events[1].data_json, "[1,{\"x\":\"y\"}]");
    assert_eq!(events[1].metadata_json, "{\"m\":1}");
    assert_eq!(events[1].event_id_json, Some("\"e\""));
    assert_eq!(events[1].occurred_on_ms, Some(1_714_557_600_000));
}

#[test]
fn escaped_member_names_and_whitespace_are_read() {
    let events =
        parse_batch("\n[ {\"t\\u0079pe\" : \"A\" , \"data\":\t{ \"x\" : [ 1 , -2.5e+3 ] } } ]\r\n")
            .unwrap();
    assert_eq!(events[0].type_json, "\"A\"");
    assert_eq!(events[0].data_json, "{ \"x\" : [ 1 , -2.5e+3 ] }");
}

#[test]
fn nesting_has_no_depth_limit_and_no_recursion() {
    for depth in [1, 127, 128, 129, 300, 100_000] {
        let data = format!("{}1{}", "[{\"a\":".repeat(depth), "}]".repeat(depth));
        let batch = format!("[{{\"type\":\"A\",\"data\":{data}}}]");
        let events = parse_batch(&batch).unwrap();
        assert_eq!(events[0].data_json, data);
        let unbalanced = format!("[{{\"type\":\"A\",\"data\":{data}]}}]");
        assert!(parse_batch(&unbalanced).is_err(), "{depth}");
    }
}

#[cfg(not(target_arch = "wasm32"))]
proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 3000, ..Default::default() })]

    /// The scanner accepts exactly what the serde_json decoder accepted, with the same result.
    #[test]
    fn scanner_agrees_with_serde_json(text in batch_like()) {
        let ours = parse_batch(&text);
        let reference = serde_reference::parse_batch(&text);
        proptest::prop_assert_eq!(ours.is_ok(), reference.is_ok(), "{}: {:?} vs {:?}", text, ours, reference);
        if let (Ok(ours), Ok(reference)) = (ours, reference) {
            proptest::prop_assert_eq!(ours, reference);
        }
    }
}

/// JSON texts near the batch shape: valid batches of random values, then edited.
#[cfg(not(target_arch = "wasm32"))]
fn batch_like() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let scalar = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        Just("false".to_string()),
        "-?(0|[1-9][0-9]{0,3})(\\.[0-9]{1,3})?([eE][-+]?[0-9]{1,3})?",
        "\"([a-z \u{e9}\u{1F600}]|\\\\[\"\\\\/bfnrt]|\\\\u[0-9a-fA-F]{4}|\\\\ud800){0,6}\"",
    ];
    let value = scalar.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4)
                .prop_map(|v| format!("[{}]", v.join(","))),
            proptest::collection::vec(("\"[a-z]{0,3}\"", inner), 0..4).prop_map(|v| {
                let members: Vec<String> = v.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    });
    let name = prop_oneof![
        Just("\"type\"".to_string()),
        Just("\"data\"".to_string()),
        Just("\"metadata\"".to_string()),
        Just("\"eventId\"".to_string()),
        Just("\"occurredOn\"".to_string()),
        Just("\"t\\u0079pe\"".to_string()),
        Just("\"\\ud800\"".to_string()),
        "\"[a-z]{0,4}\"",
    ];
    let member_value = prop_oneof![
        value.clone(),
        Just("\"2024-05-01T12:00:00.000Z\"".to_string()),
        Just("\"A\"".to_string()),
    ];
    let type_member = prop_oneof![
        4 => "\"type\":\"[A-Z\u{e9}]{1,3}\"",
        1 => Just(String::new()),
    ];
    let event = (
        type_member,
        proptest::collection::vec((name, member_value), 0..4),
    )
        .prop_map(|(type_member, members)| {
            let members: Vec<String> = std::iter::once(type_member)
                .filter(|m| !m.is_empty())
                .chain(members.into_iter().map(|(k, v)| format!("{k}:{v}")))
                .collect();
            format!("{{{}}}", members.join(","))
        });
    // Events that are valid but for edits: data any value, metadata an object.
    let valid_event = (
        value.clone(),
        proptest::collection::vec(("\"[a-z]{0,3}\"", value.clone()), 0..3),
        proptest::option::of("\"[a-z0-9-]{1,8}\""),
        proptest::option::of(value.clone()),
    )
        .prop_map(|(data, metadata, event_id, extra)| {
            let metadata: Vec<String> = metadata
                .into_iter()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect();
            let mut event = format!(
                "{{\"type\":\"T\",\"data\":{data},\"metadata\":{{{}}}",
                metadata.join(",")
            );
            if let Some(id) = event_id {
                event.push_str(&format!(",\"eventId\":{id}"));
            }
            if let Some(extra) = extra {
                event.push_str(&format!(",\"extra\":{extra}"));
            }
            event.push('}');
            event
        });
    let element = prop_oneof![4 => valid_event, 3 => event, 1 => value];
    let batch = proptest::collection::vec(element, 0..4)
        .prop_map(|events| format!("[{}]", events.join(",")));
    let edit = (
        any::<proptest::sample::Index>(),
        0..4u8,
        proptest::char::range(' ', '~'),
    );
    (
        batch,
        prop_oneof![Just(Vec::new()), proptest::collection::vec(edit, 1..3)],
    )
        .prop_map(|(text, edits)| {
            let mut chars: Vec<char> = text.chars().collect();
            for (at, kind, c) in edits {
                let i = at.index(chars.len() + 1);
                match kind {
                    0 if i < chars.len() => chars[i] = c,
                    1 if i < chars.len() => {
                        chars.remove(i);
                    }
                    2 => chars.insert(i, ' '),
                    _ => chars.insert(i, c),
                }
            }
            chars.into_iter().collect()
        })
}

#[test]
fn empty_batch_is_fine() {
    assert_eq!(parse_batch("[]").unwrap(), vec![]);
}

#[test]
fn errors_name_the_argument_and_index() {
    let cases = [
        ("{}", "events must be an array"),
        ("[1]", "events[0] must be a plain object"),
        (r#"[{"type":"A"},null]"#, "events[1] must be a plain object"),
        (r#"[{"type":"A"},{"data":1}]"#, "events[1].type"),
        (r#"[{"type":""}]"#, "events[0].type"),
        (r#"[{"type":1}]"#, "events[0].type"),
        (r#"[{"type":"A","metadata":null}]"#, "events[0].metadata"),
        (r#"[{"type":"A","metadata":[]}]"#, "events[0].metadata"),
        (r#"[{"type":"A","eventId":1}]"#, "events[0].eventId"),
        (r#"[{"type":"A","eventId":null}]"#, "events[0].eventId"),
        (
            r#"[{"type":"A","occurredOn":"soon"}]"#,
            "events[0].occurredOn",
        ),
        (
            r#"[{"type":"A","occurredOn":null}]"#,
            "events[0].occurredOn",
        ),
        (
            r#"[{"type":"A","type":"B"}]"#,
            "events[0] has a duplicate member type",
        ),
        ("", "expected an array"),
        ("[", "expected a value"),
        (r#"[{"type":"A"}"#, "expected ',' or ']'"),
        (r#"[{"type":"A"},]"#, "expected a value"),
        (r#"[{"type":"A",}]"#, "expected a member name"),
        (r#"[{"type" "A"}]"#, "expected ':'"),
        (r#"[{"type":"A","data":[1 2]}]"#, "expected ',' or the end"),
        (r#"[{"type":"A","data":01}]"#, "expected ',' or '}'"),
        (r#"[{"type":"A","data":"\x"}]"#, "invalid escape"),
        (r#"[{"type":"A","data":"\u12"}]"#, "invalid \\u escape"),
        ("[{\"type\":\"A\u{1}\"}]", "control character"),
        (r#"[{"type":"A"}] x"#, "trailing characters"),
        (r#"[{"type":"A","data":tru}]"#, "expected a value"),
    ];
    for (input, expected) in cases {
        let error = parse_batch(input).unwrap_err().to_string();
        assert!(error.contains(expected), "{input}: {error}");
    }
}
