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

    /// A random UUID v4 (RFC 9562), as its 16 bytes.
    pub fn next_uuid_v4(&mut self) -> [u8; 16] {
        // Two words rather than fill_bytes: the same bytes of the stream, in 7 ns instead of 10
        // (natively).
        let high = self.rng.next_u64().to_le_bytes();
        let low = self.rng.next_u64().to_le_bytes();
        let mut bytes = [0u8; 16];
        let (first, second) = bytes.split_at_mut(8);
        first.copy_from_slice(&high);
        second.copy_from_slice(&low);
        bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
        bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 9562 variant
        bytes
    }
}

/// Appends `bytes` as a lowercase hyphenated UUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`).
/// Runs once per loaded event: a table lookup per digit and no UTF-8 check (measured: both
/// arithmetic digits and `str::from_utf8` cost more than the rest of the event).
pub fn write_uuid(out: &mut String, bytes: &[u8; 16]) {
    // Where each byte's two digits go; the hyphens are in the template already.
    const AT: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hex = |nibble: u8| HEX.get(usize::from(nibble)).copied().unwrap_or(b'0');
    let mut text = *b"00000000-0000-0000-0000-000000000000";
    for (&byte, &at) in bytes.iter().zip(AT.iter()) {
        if let Some([high, low]) = text.get_mut(at..at + 2) {
            *high = hex(byte >> 4);
            *low = hex(byte & 0x0f);
        }
    }
    crate::json::push_ascii(out, &text);
}

/// The 16 bytes of `text` if it is a UUID in exactly the form `write_uuid` writes (lowercase,
/// hyphenated), so that writing them back gives the same text; `None` for anything else.
pub fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let text = text.as_bytes();
    if text.len() != 36 {
        return None;
    }
    let mut bytes = [0u8; 16];
    let mut digits = text
        .iter()
        .enumerate()
        .filter(|&(i, &c)| !(matches!(i, 8 | 13 | 18 | 23) && c == b'-'))
        .map(|(_, &c)| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        });
    for byte in bytes.iter_mut() {
        let high = digits.next()??;
        let low = digits.next()??;
        *byte = (high << 4) | low;
    }
    // 32 digits and exactly the four hyphens (a misplaced hyphen fails as a digit above).
    digits.next().is_none().then_some(bytes)
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
            write_uuid(&mut s, &ids.next_uuid_v4());
            assert!(is_uuid_v4(&s), "{s}");
            assert!(seen.insert(s));
        }
    }

    #[test]
    fn different_seeds_give_different_ids() {
        let (mut a, mut b) = (IdGenerator::new([1; 32]), IdGenerator::new([2; 32]));
        let (mut x, mut y) = (String::new(), String::new());
        write_uuid(&mut x, &a.next_uuid_v4());
        write_uuid(&mut y, &b.next_uuid_v4());
        assert_ne!(x, y);
    }

    #[test]
    fn uuid_text_round_trips_only_in_canonical_form() {
        let mut ids = IdGenerator::new([3; 32]);
        for _ in 0..1000 {
            let bytes = ids.next_uuid_v4();
            let mut text = String::new();
            write_uuid(&mut text, &bytes);
            assert!(is_uuid_v4(&text), "{text}");
            assert_eq!(parse_uuid(&text), Some(bytes));
        }
        for other in [
            "",
            "e-1",
            "6F9619FF-8B86-D011-B42D-00CF4FC964FF",
            "6f9619ff8b86d011b42d00cf4fc964ff",
            "6f9619ff-8b86-d011-b42d-00cf4fc964f",
            "6f9619ff-8b86-d011-b42d-00cf4fc964fff",
            "6f9619ff-8b86d-011-b42d-00cf4fc964ff",
            "6f9619ff-8b86-d011-b42d-00cf4fc964fg",
            "{f9619ff-8b86-d011-b42d-00cf4fc964ff",
        ] {
            assert_eq!(parse_uuid(other), None, "{other}");
        }
        let zero = "00000000-0000-0000-0000-000000000000";
        assert_eq!(parse_uuid(zero), Some([0; 16]));
    }
}
