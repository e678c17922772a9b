//! Times in-memory appends and whole-stream loads natively (`cargo run --release --example load_bench`).
use std::time::Instant;
use wasm_event_store::{poll_once, EventStore, MemoryStorage};

fn main() {
    let store = EventStore::new(MemoryStorage::new(), [1; 32]);
    let batches: Vec<String> = (0..1000)
        .map(|s| {
            let events: Vec<String> = (0..100)
                .map(|k| format!(r#"{{"type":"ItemAdded","data":{{"sku":"sku-{}","qty":{},"price":12.5,"tags":["a","b"]}}}}"#, s * 100 + k, k % 7))
                .collect();
            format!("[{}]", events.join(","))
        })
        .collect();
    let ids: Vec<String> = (0..1000).map(|i| format!("stream-{i}")).collect();
    let start = Instant::now();
    for (id, batch) in ids.iter().zip(&batches) {
        let _ = poll_once(store.append_events(id, -1, batch, 1_700_000_000_000));
    }
    let append = start.elapsed().as_secs_f64() * 1e9 / 100_000.0;
    let start = Instant::now();
    let mut bytes = 0;
    for _ in 0..10 {
        for id in &ids {
            if let Some(Ok(json)) = poll_once(store.load_events_json(id, -1, None)) {
                bytes += json.len();
            }
        }
    }
    let load = start.elapsed().as_secs_f64() * 1e9 / 1_000_000.0;
    println!("append (batch 100) {append:.0} ns/event, load {load:.0} ns/event ({bytes} bytes)");
}
