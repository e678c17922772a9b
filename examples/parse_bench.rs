//! Times the batch decoder (`cargo run --release --example parse_bench`).
use std::time::Instant;
use wasm_event_store::batch;

fn main() {
    let one = r#"[{"type":"ItemAdded","data":{"sku":"sku-12345","qty":3,"price":12.5,"tags":["a","b"]}}]"#;
    let hundred = format!("[{}]", vec![&one[1..one.len() - 1]; 100].join(","));
    for (name, text, n) in [
        ("batch 1", one.to_string(), 1_000_000),
        ("batch 100", hundred, 10_000),
    ] {
        let start = Instant::now();
        let mut count = 0;
        for _ in 0..n {
            count += batch::parse_batch(std::hint::black_box(&text)).map_or(0, |e| e.len());
        }
        let ns = start.elapsed().as_secs_f64() * 1e9 / count as f64;
        println!(
            "{name}: {ns:.1} ns/event ({:.2} ns/byte)",
            ns * n as f64 * 1.0 / (text.len() as f64 * n as f64) * (count as f64 / n as f64)
        );
    }
}
