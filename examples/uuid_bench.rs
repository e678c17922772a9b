//! Times event id generation (`cargo run --release --example uuid_bench`).
use std::time::Instant;
use wasm_event_store::ids::IdGenerator;

fn main() {
    let mut ids = IdGenerator::new([9; 32]);
    let start = Instant::now();
    let mut x = 0u8;
    for _ in 0..10_000_000 {
        x ^= std::hint::black_box(ids.next_uuid_v4())[3];
    }
    println!(
        "next_uuid_v4: {:.1} ns ({x})",
        start.elapsed().as_secs_f64() * 1e9 / 1e7
    );
}
