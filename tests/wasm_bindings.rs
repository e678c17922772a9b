//! wasm-bindgen-test of the binding layer: values and errors as JS sees them.
//! Runs in Node (`wasm-pack test --node`) and, with the browser issue, in headless Chromium.
#![cfg(target_arch = "wasm32")]

use js_sys::{Error as JsError, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;
use wasm_event_store::wasm::MemoryEventStore;

fn store() -> MemoryEventStore {
    MemoryEventStore::new(&[9; 32]).unwrap()
}

fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(key)).unwrap()
}

const ONE: &str = r#"[{"type":"OrderPlaced","data":{"total":42}}]"#;

#[wasm_bindgen_test]
fn append_load_and_version_round_trip() {
    let s = store();
    assert_eq!(s.version("o").unwrap(), -1.0);
    assert_eq!(s.append("o", -1.0, ONE, 0.0).unwrap(), 0.0);
    assert_eq!(s.append("o", 0.0, "[]", 0.0).unwrap(), 0.0);
    assert_eq!(s.version("o").unwrap(), 0.0);
    let loaded = JSON::parse(&s.load("o", -1.0, -1.0).unwrap()).unwrap();
    let first = Reflect::get_u32(&loaded, 0).unwrap();
    assert_eq!(get(&first, "type"), "OrderPlaced");
    assert_eq!(get(&first, "version"), 0.0);
    assert_eq!(get(&first, "occurredOn"), "1970-01-01T00:00:00.000Z");
    assert_eq!(s.load("o", 0.0, -1.0).unwrap(), "[]");
}

#[wasm_bindgen_test]
fn empty_batch_on_unknown_stream_reports_no_stream() {
    assert_eq!(store().append("o", -1.0, "[]", 0.0).unwrap(), -1.0);
}

#[wasm_bindgen_test]
fn conflict_is_an_error_with_code_and_fields() {
    let s = store();
    s.append("o", -1.0, ONE, 0.0).unwrap();
    let error = s.append("o", -1.0, ONE, 0.0).unwrap_err();
    assert!(error.is_instance_of::<JsError>());
    assert_eq!(get(&error, "code"), "CONFLICT");
    assert_eq!(get(&error, "aggregateId"), "o");
    assert_eq!(get(&error, "expectedVersion"), -1.0);
    assert_eq!(get(&error, "actualVersion"), 0.0);
    assert_eq!(
        JsError::from(error).message(),
        "Conflict appending events for aggregate o. Expected version -1, but current version is 0."
    );
    assert_eq!(s.version("o").unwrap(), 0.0);
}

#[wasm_bindgen_test]
fn bad_numbers_and_batches_are_invalid_arguments_not_traps() {
    let s = store();
    let bad_expected = [f64::NAN, f64::INFINITY, -2.0, 0.5, 9007199254740992.0];
    for expected in bad_expected {
        let error = s.append("o", expected, ONE, 0.0).unwrap_err();
        assert_eq!(get(&error, "code"), "INVALID_ARGUMENT");
        let message = JsError::from(error).message().as_string().unwrap();
        assert!(message.contains("expectedVersion"), "{message}");
    }
    for from in [f64::NAN, 0.5, f64::NEG_INFINITY] {
        let error = s.load("o", from, -1.0).unwrap_err();
        assert_eq!(get(&error, "code"), "INVALID_ARGUMENT");
    }
    for batch in ["", "{", "{}", "[null]", r#"[{"type":""}]"#] {
        let error = s.append("o", -1.0, batch, 0.0).unwrap_err();
        assert_eq!(get(&error, "code"), "INVALID_ARGUMENT", "{batch}");
    }
    let error = s.version("").unwrap_err();
    assert_eq!(get(&error, "code"), "INVALID_ARGUMENT");
    // Timestamps far outside the JS Date range are clamped by `as`, never a trap.
    assert_eq!(s.append("o", -1.0, ONE, f64::NAN).unwrap(), 0.0);
    // The store still works and holds exactly what it held.
    assert_eq!(s.version("o").unwrap(), 0.0);
}

#[wasm_bindgen_test]
fn seed_must_be_32_bytes() {
    let error = MemoryEventStore::new(&[1; 3]).err().unwrap();
    assert_eq!(get(&error, "code"), "INTERNAL");
}

#[wasm_bindgen_test]
fn input_buffer_appends_and_refuses_what_it_does_not_hold() {
    let s = store();
    let address = s.input_buffer(4096).unwrap();
    assert_ne!(address, 0);
    // The wrapper writes through a view of the wasm memory; here, through the same memory. A
    // view is made again after a call that may grow the memory (which detaches the old one).
    let memory = || {
        js_sys::Uint8Array::new(
            &wasm_bindgen::memory()
                .dyn_into::<js_sys::WebAssembly::Memory>()
                .unwrap()
                .buffer(),
        )
    };
    // The batch, then the aggregate id.
    let input = format!("{ONE}o");
    memory().set(&js_sys::Uint8Array::from(input.as_bytes()), address as u32);
    assert_eq!(
        s.append_input(-1.0, ONE.len(), input.len(), 0.0).unwrap(),
        0.0
    );
    // A length past the buffer, an id length past the length, or bytes that are not UTF-8, are
    // an error value, never a trap.
    let error = s.append_input(0.0, 1, 1 << 20, 0.0).unwrap_err();
    assert_eq!(get(&error, "code"), "INTERNAL");
    assert!(s.append_input(0.0, 3, 2, 0.0).is_err());
    memory().set(
        &js_sys::Uint8Array::from(&[0xff_u8, 0xfe, b'o'][..]),
        address as u32,
    );
    assert!(s.append_input(0.0, 2, 3, 0.0).is_err());
    assert_eq!(s.version("o").unwrap(), 0.0);
}
