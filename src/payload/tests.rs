//! Tests of the version-1 payload codec: its documented shape, the fast path against the full
//! decoder, and what verification refuses.
use super::*;

fn sample(aggregate_id: &str, version: i64) -> String {
    encode(
        &json_string(aggregate_id),
        version,
        &EventFields {
            type_json: "\"OrderPlaced\"",
            data_json: "{\"total\":42}",
            metadata_json: "{}",
            event_id: EventId::Json("\"e-1\""),
            occurred_on_ms: 0,
        },
    )
}

#[cfg(not(target_arch = "wasm32"))]
proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 3000, ..Default::default() })]

    /// What the fast path accepts, the full decoder accepts too, with the same output.
    #[test]
    fn fast_path_agrees_with_the_decoder(
        edits in proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), 0..3u8, proptest::char::range(' ', '~')), 0..3),
        id in "[a-z\"\\\\é]{1,4}",
        version in 0..3i64,
        asked in 0..3i64,
    ) {
        let mut chars: Vec<char> = sample(&id, version).chars().collect();
        for (at, kind, c) in edits {
            let i = at.index(chars.len());
            match kind {
                0 => chars[i] = c,
                1 => { chars.remove(i); }
                _ => chars.insert(i, c),
            }
        }
        let payload: String = chars.into_iter().collect();
        let mut times = time::IsoCache::default();
        let id_json = json_string(&id);
        if is_canonical(&payload, &id_json, asked, &mut times) {
            let (mut fast, mut decoded) = (String::new(), String::new());
            write_trusted_event(&mut fast, &payload).unwrap();
            write_decoded_event(&mut decoded, &payload, Stream { id: &id, id_json: &id_json }, asked, &mut times).unwrap();
            proptest::prop_assert_eq!(fast, decoded);
        }
    }
}

#[test]
fn canonical_payloads_take_the_fast_path() {
    let mut times = time::IsoCache::default();
    let id_json = json_string;
    assert!(is_canonical(
        &sample("a\"b\n", 2),
        &id_json("a\"b\n"),
        2,
        &mut times
    ));
    // (payload's stream, payload's version, asked stream, asked version): another version,
    // another stream, or a version that is a prefix of the other.
    for (stream, version, asked_stream, asked) in [
        ("a", 2, "a", 3),
        ("a", 2, "ab", 2),
        ("ab", 2, "a", 2),
        ("a", 12, "a", 1),
        ("a", 1, "a", 12),
    ] {
        assert!(
            !is_canonical(
                &sample(stream, version),
                &id_json(asked_stream),
                asked,
                &mut times
            ),
            "{stream} v{version} taken for {asked_stream} v{asked}"
        );
    }
    let respelled = sample("a", 2).replace("1970-01-01T00:00:00.000Z", "1970-01-01T00:00:00Z");
    assert!(!is_canonical(&respelled, &id_json("a"), 2, &mut times));
    let mut out = String::new();
    write_verified_event(&mut out, &respelled, "a", 2).unwrap();
    assert!(out.contains("1970-01-01T00:00:00.000Z"));
}

#[test]
fn fixed_bytes_bound_every_payload() {
    let fields = EventFields {
        type_json: "\"T\"",
        data_json: "null",
        metadata_json: "{}",
        event_id: EventId::Json("\"e\""),
        occurred_on_ms: time::MAX_MS,
    };
    for version in [0, crate::version::MAX_SAFE_INTEGER] {
        let payload = encode("\"s\"", version, &fields);
        assert!(payload.len() <= fields.payload_len("\"s\""), "{payload}");
    }
}

#[test]
fn payload_is_documented_shape() {
    assert_eq!(
        sample("order-1", 3),
        "{\"v\":1,\"aggregateId\":\"order-1\",\"version\":3,\"type\":\"OrderPlaced\",\
         \"data\":{\"total\":42},\"metadata\":{},\"eventId\":\"e-1\",\
         \"occurredOn\":\"1970-01-01T00:00:00.000Z\"}"
    );
}

#[test]
fn trusted_and_verified_output_agree() {
    let payload = sample("a\"b\n", 2);
    let (mut trusted, mut verified) = (String::new(), String::new());
    write_trusted_event(&mut trusted, &payload).unwrap();
    write_verified_event(&mut verified, &payload, "a\"b\n", 2).unwrap();
    assert_eq!(trusted, verified);
    let value: serde_json::Value = serde_json::from_str(&trusted).unwrap();
    assert_eq!(value["aggregateId"], "a\"b\n");
    assert!(value.get("v").is_none());
}

#[test]
fn verification_rejects_foreign_and_broken_payloads() {
    let payload = sample("order-1", 2);
    let mut out = String::new();
    assert!(matches!(
        write_verified_event(&mut out, &payload, "order-2", 2),
        Err(DecodeError::Mismatch(_))
    ));
    assert!(matches!(
        write_verified_event(&mut out, &payload, "order-1", 3),
        Err(DecodeError::Mismatch(_))
    ));
    for broken in [
        "",
        "not json",
        "{\"v\":2}",
        &payload[..payload.len() - 1],
        &payload.replace("\"v\":1", "\"v\":2"),
        &payload.replace("\"metadata\":{}", "\"metadata\":[]"),
        &payload.replace("1970-01-01T00:00:00.000Z", "soon"),
        &payload.replace("\"metadata\":{}", "\"metadata\":{},\"extra\":1"),
        &payload.replace("\"metadata\":{}", "\"metadata\":{},\"data\":2"),
        &payload.replace("\"e-1\"", "\"\""),
    ] {
        assert!(matches!(
            write_verified_event(&mut out, broken, "order-1", 2),
            Err(DecodeError::Malformed(_))
        ));
    }
}

#[test]
fn verified_output_is_canonical_even_for_reordered_or_respelled_payloads() {
    let payload = sample("order-1", 2);
    let mut expected = String::new();
    write_trusted_event(&mut expected, &payload).unwrap();
    // `v` last instead of first, then also a time in another zone.
    let reordered = format!("{{{},\"v\":1}}", &payload[7..payload.len() - 1]);
    let respelled = reordered.replace("1970-01-01T00:00:00.000Z", "1970-01-01T02:00:00+02:00");
    let want: serde_json::Value = serde_json::from_str(&expected).unwrap();
    for variant in [reordered, respelled] {
        let mut out = String::new();
        write_verified_event(&mut out, &variant, "order-1", 2).unwrap();
        let got: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(got, want, "{variant}");
    }
}
