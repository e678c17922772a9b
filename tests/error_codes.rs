//! The error codes are public API, spelled in several places: the core's `ErrorCode`, the JS
//! wrapper's `ERROR_CODES` (and the literals its error handling compares with), the `ErrorCode`
//! union of `index.d.ts` and its type test, the README's error table and the hammer test's list
//! of known codes.
//! This test fails when any of them names a code the others do not.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use wasm_event_store::ErrorCode;

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    fs::read_to_string(&full).unwrap_or_else(|e| panic!("cannot read {}: {e}", full.display()))
}

/// The text between `start` and the next `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str, what: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{what}: no {start:?}"))
        + start.len();
    let to = text[from..]
        .find(end)
        .unwrap_or_else(|| panic!("{what}: no {end:?} after {start:?}"));
    &text[from..from + to]
}

/// Every quoted word of capitals and underscores in `text` (`'STORAGE'`, `"CONFLICT"`).
fn quoted_codes(text: &str) -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    for quote in ['\'', '"'] {
        for (i, piece) in text.split(quote).enumerate() {
            let is_code = piece.len() >= 3
                && piece.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
                && piece.bytes().next().is_some_and(|b| b.is_ascii_uppercase());
            if i % 2 == 1 && is_code {
                codes.insert(piece.to_string());
            }
        }
    }
    codes
}

fn core_codes() -> BTreeSet<String> {
    ErrorCode::ALL
        .iter()
        .map(|code| code.as_str().to_string())
        .collect()
}

#[test]
fn every_place_names_the_same_error_codes() {
    let core = core_codes();
    assert_eq!(core.len(), ErrorCode::ALL.len(), "a code is listed twice");

    let errors_js = read("pkg-template/src/core/errors.mjs");
    let places = [
        (
            "ERROR_CODES in pkg-template/src/core/errors.mjs",
            quoted_codes(between(
                &errors_js,
                "ERROR_CODES = Object.freeze([",
                "]",
                "errors.mjs",
            )),
        ),
        (
            "the ErrorCode union in pkg-template/types/index.d.ts",
            quoted_codes(between(
                &read("pkg-template/types/index.d.ts"),
                "export type ErrorCode =",
                ";",
                "index.d.ts",
            )),
        ),
        (
            "the README's error table",
            read("README.md")
                .lines()
                .filter(|line| line.starts_with("| `EventStore") && line.contains("Error` |"))
                .flat_map(|line| quoted_codes(line.split('|').nth(2).unwrap_or_default()))
                .collect(),
        ),
        (
            "the ErrorCode type test in tests/js/packed/types/usage.ts",
            quoted_codes(between(
                &read("tests/js/packed/types/usage.ts"),
                "expectType<Equal<ErrorCode,",
                ">>",
                "usage.ts",
            )),
        ),
        (
            "KNOWN_CODES in tests/js/packed/hammer.test.mjs",
            quoted_codes(between(
                &read("tests/js/packed/hammer.test.mjs"),
                "const KNOWN_CODES = new Set([",
                "]",
                "hammer.test.mjs",
            )),
        ),
    ];
    for (place, codes) in places {
        assert_eq!(
            codes, core,
            "{place} disagrees with the core's ErrorCode::ALL"
        );
    }
}

#[test]
fn the_wrapper_compares_and_makes_no_other_codes() {
    let core = core_codes();
    for path in [
        "pkg-template/src/core/errors.mjs",
        "pkg-template/src/core/event-store.mjs",
        "pkg-template/src/core/json-writer.mjs",
    ] {
        // Node's own codes (ERR_STRING_TOO_LONG...) are compared with, never made.
        let unknown: Vec<String> = quoted_codes(&read(path))
            .into_iter()
            .filter(|code| !core.contains(code) && !code.starts_with("ERR_"))
            .collect();
        assert!(
            unknown.is_empty(),
            "{path} spells codes the core does not know: {unknown:?}"
        );
    }
}

#[test]
fn the_check_would_see_a_code_missing_or_added() {
    // The parsing above must find something to compare, or the test would pass on empty sets.
    assert_eq!(
        quoted_codes("['INVALID_ARGUMENT', \"CONFLICT\", 'x', 'Ab', 'OK_']"),
        ["CONFLICT", "INVALID_ARGUMENT", "OK_"]
            .into_iter()
            .map(String::from)
            .collect()
    );
    let mut fewer = core_codes();
    fewer.remove("FREED");
    assert_ne!(fewer, core_codes());
}
