//! Writers of JSON text that do not go through `serde_json` or `core::fmt`: they run once per
//! event on the append and load paths, where both measured slower.
use std::fmt::Write as _;

/// `value` as a JSON string literal.
pub fn json_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    push_json_string(&mut out, value);
    out
}

/// Appends `value` as a JSON string literal.
pub fn push_json_string(out: &mut String, value: &str) {
    out.push('"');
    let mut start = 0;
    for (i, byte) in value.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x00..=0x1f => "",
            _ => continue,
        };
        // Escaped bytes are ASCII, so `start` and `i` are always character boundaries.
        out.push_str(value.get(start..i).unwrap_or_default());
        if escape.is_empty() {
            let _ = write!(out, "\\u{byte:04x}");
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(value.get(start..).unwrap_or_default());
    out.push('"');
}

/// Appends bytes that are ASCII (anything else is dropped) to `out`. For formatting on the load
/// path: `str::from_utf8` is a call with a general UTF-8 check, `is_ascii` a few word tests.
pub fn push_ascii(out: &mut String, bytes: &[u8]) {
    debug_assert!(bytes.is_ascii(), "push_ascii given non-ASCII bytes");
    if bytes.is_ascii() {
        // SAFETY: ASCII bytes are valid UTF-8 on their own, so `out` stays valid UTF-8.
        unsafe { out.as_mut_vec() }.extend_from_slice(bytes);
    }
}

/// Appends a decimal integer without going through `core::fmt`.
pub fn push_integer(out: &mut String, value: i64) {
    if value < 0 {
        out.push('-');
    }
    push_ascii(out, decimal(value.unsigned_abs(), &mut [0; 20]));
}

/// The decimal digits of `value`, written at the end of `digits`.
pub fn decimal(mut value: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut at = digits.len();
    loop {
        at -= 1;
        if let Some(slot) = digits.get_mut(at) {
            *slot = b'0' + (value % 10) as u8;
        }
        value /= 10;
        if value == 0 || at == 0 {
            break;
        }
    }
    digits.get(at..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_controls_quotes_and_backslashes() {
        let mut out = String::new();
        push_json_string(&mut out, "a\"\\\u{1}\u{7f}é");
        assert_eq!(out, "\"a\\\"\\\\\\u0001\u{7f}é\"");
        assert_eq!(
            serde_json::from_str::<String>(&out).unwrap(),
            "a\"\\\u{1}\u{7f}é"
        );
    }
}
