//! Random UUID v4 event ids from a ChaCha stream cipher seeded once per store.
//!
//! Seeding once (from `crypto.getRandomValues` in JS) and generating in wasm keeps id generation
//! off the JS/wasm boundary: one crossing per store instead of one per event.
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

pub struct IdGenerator {
    rng: ChaCha8Rng,
}

impl IdGenerator {
    pub fn new(seed: [u8; 32]) -> Self {
        IdGenerator {
            rng: ChaCha8Rng::from_seed(seed),
        }
    }

    /// Appends a lowercase hyphenated UUID v4 (RFC 9562) to `out`.
    pub fn write_uuid_v4(&mut self, out: &mut String) {
        let mut bytes = [0u8; 16];
        self.rng.fill_bytes(&mut bytes);
        bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
        bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 9562 variant
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for (i, byte) in bytes.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                out.push('-');
            }
            for nibble in [byte >> 4, byte & 0x0f] {
                out.push(char::from(
                    HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn is_uuid_v4(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() == 36
            && b.iter().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => *c == b'-',
                14 => *c == b'4',
                19 => matches!(c, b'8' | b'9' | b'a' | b'b'),
                _ => c.is_ascii_hexdigit() && !c.is_ascii_uppercase(),
            })
    }

    #[test]
    fn generates_distinct_v4_uuids() {
        let mut ids = IdGenerator::new([7; 32]);
        let mut seen = HashSet::new();
        for _ in 0..10_000 {
            let mut s = String::new();
            ids.write_uuid_v4(&mut s);
            assert!(is_uuid_v4(&s), "{s}");
            assert!(seen.insert(s));
        }
    }

    #[test]
    fn different_seeds_give_different_ids() {
        let (mut a, mut b) = (IdGenerator::new([1; 32]), IdGenerator::new([2; 32]));
        let (mut x, mut y) = (String::new(), String::new());
        a.write_uuid_v4(&mut x);
        b.write_uuid_v4(&mut y);
        assert_ne!(x, y);
    }
}
