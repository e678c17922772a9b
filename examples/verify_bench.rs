//! Times the check of a payload coming back from a host adapter (`cargo run --release --example verify_bench`).
use std::time::Instant;
use wasm_event_store::payload;
use wasm_event_store::record::{EventFields, EventId};

fn main() {
    let p = payload::encode(
        "\"stream-1\"",
        5,
        &EventFields {
            type_json: "\"ItemAdded\"",
            data_json: "{\"sku\":\"sku-1\",\"qty\":1,\"price\":12.5,\"tags\":[\"a\",\"b\"]}",
            metadata_json: "{}",
            event_id: EventId::Json("\"0b0c6f1e-8b9a-4c61-9f43-2f6c1d2a3b4c\""),
            occurred_on_ms: 1_714_557_600_000,
        },
    );
    let mut out = String::with_capacity(1 << 20);
    let mut times = wasm_event_store::time::IsoCache::default();
    let t = Instant::now();
    for _ in 0..200_000 {
        out.clear();
        payload::write_verified_event_with(
            &mut out,
            &p,
            payload::Stream {
                id: "stream-1",
                id_json: "\"stream-1\"",
            },
            5,
            &mut times,
        )
        .unwrap();
    }
    println!(
        "verify us/payload {:.3}",
        t.elapsed().as_secs_f64() * 1e6 / 200_000.0
    );
    let t = Instant::now();
    for _ in 0..200_000 {
        out.clear();
        payload::write_trusted_event(&mut out, &p).unwrap();
    }
    println!(
        "trusted us/payload {:.3}",
        t.elapsed().as_secs_f64() * 1e6 / 200_000.0
    );
}
