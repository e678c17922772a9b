use std::time::Instant;
use wasm_event_store::{poll_once, EventStore, MemoryStorage};
fn main() {
    let s = EventStore::new(MemoryStorage::new(), [1; 32]);
    let jsons: Vec<String> = (0..100_000).map(|i| format!(r#"[{{"type":"ItemAdded","data":{{"sku":"sku-{i}","qty":{},"price":12.5,"tags":["a","b"]}}}}]"#, i % 7)).collect();
    let ids: Vec<String> = (0..1000).map(|i| format!("stream-{i}")).collect();
    let mut versions = vec![-1i64; 1000];
    let t = Instant::now();
    for (n, j) in jsons.iter().enumerate() {
        let i = n % 1000;
        poll_once(s.append_events(&ids[i], versions[i], j, 1_700_000_000_000))
            .unwrap()
            .unwrap();
        versions[i] += 1;
    }
    println!(
        "native append us/op {:.3}",
        t.elapsed().as_secs_f64() * 1e6 / 100_000.0
    );
    let t = Instant::now();
    let mut c = 0;
    for id in &ids {
        c += poll_once(s.load_events_json(id, -1, None))
            .unwrap()
            .unwrap()
            .len();
    }
    println!(
        "native load us/stream {:.3} ({c} bytes)",
        t.elapsed().as_secs_f64() * 1e6 / 1000.0
    );
    let t = Instant::now();
    for _ in 0..100_000 {
        let _ = wasm_event_store::batch::parse_batch(&jsons[5]).unwrap();
    }
    println!(
        "parse us {:.3}",
        t.elapsed().as_secs_f64() * 1e6 / 100_000.0
    );
    let t = Instant::now();
    let mut x = 0;
    for i in 0..100_000 {
        x += wasm_event_store::time::format_iso(1_700_000_000_000 + i).len();
    }
    println!(
        "format_iso us {:.3} {x}",
        t.elapsed().as_secs_f64() * 1e6 / 100_000.0
    );
}
#[allow(dead_code)]
fn unused() {}
