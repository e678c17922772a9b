//! Input events: the batch the JS wrapper serialised, decoded and checked.
//!
//! The batch arrives as JSON text (what `JSON.stringify(events)` writes; the wrapper writes it
//! itself while rejecting what JSON cannot carry faithfully). Values are kept as raw JSON slices:
//! `data` and `metadata` are stored verbatim, never re-serialised.
//!
//! A small scanner written for this one shape reads the batch in one pass: it checks the whole
//! text is JSON (as strictly as `serde_json`, which a property test holds it to) but only
//! decodes the event members it needs, and hands each event over as soon as it is read, so the
//! store stamps ids and times without a second vector. It reads about as fast as `serde_json`
//! (natively, 125 ns per benchmark event), with no nesting limit and no recursion.
use std::borrow::Cow;
use std::fmt;

use crate::time;

/// One checked input event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputEvent<'a> {
    /// The `type` member as a JSON string literal (non-empty).
    pub type_json: &'a str,
    /// The `data` member as JSON text; `null` when absent.
    pub data_json: &'a str,
    /// The `metadata` member as a JSON object; `{}` when absent.
    pub metadata_json: &'a str,
    /// The `eventId` member as a JSON string literal, when given.
    pub event_id_json: Option<&'a str>,
    /// `occurredOn` in milliseconds since the epoch, when given.
    pub occurred_on_ms: Option<i64>,
}

/// The members of an event object, each kept as raw JSON text (`null` included).
#[derive(Default)]
struct RawMembers<'a> {
    type_json: Option<&'a str>,
    data: Option<&'a str>,
    metadata: Option<&'a str>,
    event_id: Option<&'a str>,
    occurred_on: Option<&'a str>,
}

/// Why the text is not JSON, and where.
#[derive(Debug)]
pub(crate) struct Syntax {
    what: &'static str,
    at: usize,
}

impl fmt::Display for Syntax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.at)
    }
}

/// A failure while reading one event: bad JSON, or a member given twice.
enum MemberError {
    Syntax(Syntax),
    Duplicate(&'static str),
}

impl From<Syntax> for MemberError {
    fn from(syntax: Syntax) -> Self {
        MemberError::Syntax(syntax)
    }
}

/// Which containers a value being skipped is nested in: a bit per level, true for an object.
/// 128 levels fit inline; deeper ones (rare, but JSON sets no limit) spill into a vector.
#[derive(Default)]
struct Nesting {
    depth: usize,
    inline: u128,
    deeper: Vec<bool>,
}

impl Nesting {
    fn push(&mut self, object: bool) {
        if self.depth < 128 {
            let bit = 1u128 << self.depth;
            self.inline = if object {
                self.inline | bit
            } else {
                self.inline & !bit
            };
        } else {
            self.deeper.push(object);
        }
        self.depth += 1;
    }

    /// Whether the innermost container is an object; `None` outside every container.
    fn innermost(&self) -> Option<bool> {
        let level = self.depth.checked_sub(1)?;
        if level < 128 {
            Some(self.inline >> level & 1 == 1)
        } else {
            self.deeper.last().copied()
        }
    }

    fn pop(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        if self.depth >= 128 {
            self.deeper.pop();
        }
    }
}

/// A cursor over JSON text. Positions only ever stop at ASCII delimiters, so slices between
/// them are on character boundaries. Also used by the payload decoder's fast path.
pub(crate) struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Scanner {
            text,
            bytes: text.as_bytes(),
            pos: 0,
        }
    }

    fn error(&self, what: &'static str) -> Syntax {
        Syntax { what, at: self.pos }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Consumes `expected` if the text continues with exactly it.
    pub(crate) fn eat_str(&mut self, expected: &str) -> bool {
        let matched =
            self.bytes.get(self.pos..self.pos + expected.len()) == Some(expected.as_bytes());
        if matched {
            self.pos += expected.len();
        }
        matched
    }

    /// The text from `start` to the cursor.
    pub(crate) fn since(&self, start: usize) -> Option<&'a str> {
        self.text.get(start..self.pos)
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    fn eat(&mut self, byte: u8) -> bool {
        let matched = self.peek() == Some(byte);
        self.pos += usize::from(matched);
        matched
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    fn slice(&self, start: usize) -> Result<&'a str, Syntax> {
        self.text
            .get(start..self.pos)
            .ok_or_else(|| self.error("not on a character boundary"))
    }

    /// Skips a string literal (at its opening quote). Returns whether it holds escapes.
    pub(crate) fn string(&mut self) -> Result<bool, Syntax> {
        if !self.eat(b'"') {
            return Err(self.error("expected a string"));
        }
        let mut escaped = false;
        loop {
            // Bytes of multi-byte characters are all >= 0x80: only ASCII needs a look.
            while let Some(byte) = self.peek() {
                if byte == b'"' || byte == b'\\' || byte < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(escaped);
                }
                Some(b'\\') => {
                    escaped = true;
                    self.pos += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.pos += 1
                        }
                        Some(b'u') => {
                            self.pos += 1;
                            for _ in 0..4 {
                                if !self.peek().is_some_and(|b| b.is_ascii_hexdigit()) {
                                    return Err(self.error("invalid \\u escape"));
                                }
                                self.pos += 1;
                            }
                        }
                        _ => return Err(self.error("invalid escape")),
                    }
                }
                Some(_) => return Err(self.error("control character in a string")),
                None => return Err(self.error("unterminated string")),
            }
        }
    }

    fn digits(&mut self) -> Result<(), Syntax> {
        if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
            return Err(self.error("expected a digit"));
        }
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        Ok(())
    }

    fn number(&mut self) -> Result<(), Syntax> {
        self.eat(b'-');
        if !self.eat(b'0') {
            self.digits()?;
        }
        if self.eat(b'.') {
            self.digits()?;
        }
        if self.eat(b'e') || self.eat(b'E') {
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            self.digits()?;
        }
        Ok(())
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), Syntax> {
        if self.bytes.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.error("expected a value"))
        }
    }

    /// A member name and its colon, leaving the cursor at the value.
    fn member_name(&mut self) -> Result<(), Syntax> {
        self.skip_whitespace();
        if self.peek() != Some(b'"') {
            return Err(self.error("expected a member name"));
        }
        self.string()?;
        self.skip_whitespace();
        if !self.eat(b':') {
            return Err(self.error("expected ':'"));
        }
        Ok(())
    }

    /// Skips one JSON value of any nesting depth, without recursion.
    pub(crate) fn value(&mut self) -> Result<(), Syntax> {
        let mut nesting = Nesting::default();
        loop {
            self.skip_whitespace();
            match self.peek() {
                Some(b'{') => {
                    self.pos += 1;
                    self.skip_whitespace();
                    if !self.eat(b'}') {
                        nesting.push(true);
                        self.member_name()?;
                        continue;
                    }
                }
                Some(b'[') => {
                    self.pos += 1;
                    self.skip_whitespace();
                    if !self.eat(b']') {
                        nesting.push(false);
                        continue;
                    }
                }
                Some(b'"') => {
                    self.string()?;
                }
                Some(b'-' | b'0'..=b'9') => self.number()?,
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(b'n') => self.literal(b"null")?,
                _ => return Err(self.error("expected a value")),
            }
            // A value is complete: close what it completes, or go on to the next element.
            loop {
                let Some(in_object) = nesting.innermost() else {
                    return Ok(());
                };
                self.skip_whitespace();
                let next = self.peek();
                self.pos += 1;
                match next {
                    Some(b',') => {
                        if in_object {
                            self.member_name()?;
                        }
                        break;
                    }
                    Some(b'}') if in_object => nesting.pop(),
                    Some(b']') if !in_object => nesting.pop(),
                    _ => {
                        self.pos -= 1;
                        return Err(self.error("expected ',' or the end of the container"));
                    }
                }
            }
        }
    }

    /// The members of an event object (at its opening brace), each kept as raw JSON text.
    fn event_members(&mut self) -> Result<RawMembers<'a>, MemberError> {
        let mut members = RawMembers::default();
        self.pos += 1; // the opening brace
        self.skip_whitespace();
        if self.eat(b'}') {
            return Ok(members);
        }
        loop {
            self.skip_whitespace();
            let name_start = self.pos;
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a member name").into());
            }
            let escaped = self.string()?;
            let name_json = self.slice(name_start)?;
            self.skip_whitespace();
            if !self.eat(b':') {
                return Err(self.error("expected ':'").into());
            }
            self.skip_whitespace();
            let value_start = self.pos;
            self.value()?;
            let value = self.slice(value_start)?;
            let name: Cow<'_, str> = if escaped {
                // JSON.stringify escapes no letter, but a name may still be spelled with escapes.
                serde_json::from_str(name_json).map_err(|_| Syntax {
                    what: "invalid member name",
                    at: name_start,
                })?
            } else {
                Cow::Borrowed(name_json.get(1..name_json.len() - 1).unwrap_or_default())
            };
            let (slot, key) = match name.as_ref() {
                "type" => (&mut members.type_json, "type"),
                "data" => (&mut members.data, "data"),
                "metadata" => (&mut members.metadata, "metadata"),
                "eventId" => (&mut members.event_id, "eventId"),
                "occurredOn" => (&mut members.occurred_on, "occurredOn"),
                // Other members are not part of an event and are not stored.
                _ => (&mut None, ""),
            };
            if !key.is_empty() {
                if slot.is_some() {
                    return Err(MemberError::Duplicate(key));
                }
                *slot = Some(value);
            }
            self.skip_whitespace();
            let next = self.peek();
            self.pos += 1;
            match next {
                Some(b',') => {}
                Some(b'}') => return Ok(members),
                _ => {
                    self.pos -= 1;
                    return Err(self.error("expected ',' or '}'").into());
                }
            }
        }
    }
}

fn is_json_string(raw: &str) -> bool {
    raw.starts_with('"')
}

/// Decodes and checks a batch in one pass over its text. Errors name the argument and the
/// index of the offending event.
pub fn parse_batch(batch_json: &str) -> Result<Vec<InputEvent<'_>>, String> {
    parse_batch_with(batch_json, |event| event)
}

/// `parse_batch`, handing each checked event to `map` as it is read, so that a caller that
/// turns events into something else needs one vector, not two.
pub fn parse_batch_with<'a, T>(
    batch_json: &'a str,
    mut map: impl FnMut(InputEvent<'a>) -> T,
) -> Result<Vec<T>, String> {
    let not_json = |syntax: Syntax| format!("events must be an array of event objects ({syntax})");
    let mut scanner = Scanner::new(batch_json);
    let mut events = Vec::new();
    scanner.skip_whitespace();
    if !scanner.eat(b'[') {
        return Err(not_json(scanner.error("expected an array")));
    }
    scanner.skip_whitespace();
    if !scanner.eat(b']') {
        loop {
            let index = events.len();
            scanner.skip_whitespace();
            if scanner.peek() == Some(b'{') {
                let members = scanner.event_members().map_err(|error| match error {
                    MemberError::Syntax(syntax) => not_json(syntax),
                    MemberError::Duplicate(key) => {
                        format!("events[{index}] has a duplicate member {key}")
                    }
                })?;
                events.push(map(check_event(index, members)?));
            } else {
                scanner.value().map_err(not_json)?;
                return Err(format!("events[{index}] must be a plain object"));
            }
            scanner.skip_whitespace();
            let next = scanner.peek();
            scanner.pos += 1;
            match next {
                Some(b',') => {}
                Some(b']') => break,
                _ => {
                    scanner.pos -= 1;
                    return Err(not_json(scanner.error("expected ',' or ']'")));
                }
            }
        }
    }
    scanner.skip_whitespace();
    if scanner.peek().is_some() {
        return Err(not_json(scanner.error("trailing characters")));
    }
    Ok(events)
}

fn check_event(index: usize, members: RawMembers<'_>) -> Result<InputEvent<'_>, String> {
    let type_json = members
        .type_json
        .filter(|t| is_json_string(t) && *t != "\"\"")
        .ok_or_else(|| format!("events[{index}].type must be a non-empty string"))?;
    let metadata_json = match members.metadata {
        None => "{}",
        Some(m) if m.starts_with('{') => m,
        Some(_) => return Err(format!("events[{index}].metadata must be a plain object")),
    };
    let event_id_json = match members.event_id {
        None => None,
        Some(id) if is_json_string(id) && id != "\"\"" => Some(id),
        Some(_) => {
            return Err(format!(
                "events[{index}].eventId must be a non-empty string"
            ))
        }
    };
    let occurred_on_ms = match members.occurred_on {
        None => None,
        Some(raw) => Some(
            serde_json::from_str::<Cow<'_, str>>(raw)
                .ok()
                .and_then(|text| time::parse_iso(&text))
                .ok_or_else(|| {
                    format!(
                        "events[{index}].occurredOn must be a valid Date or an ISO-8601 \
                         date-time with a time zone, got {raw}"
                    )
                })?,
        ),
    };
    Ok(InputEvent {
        type_json,
        data_json: members.data.unwrap_or("null"),
        metadata_json,
        event_id_json,
        occurred_on_ms,
    })
}

/// The decoder this module had before its scanner: `serde_json`'s deserializer with visitors.
/// Kept as the reference the scanner is tested against.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod serde_reference {
    use super::InputEvent;
    use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
    use serde::Deserialize;
    use serde_json::value::RawValue;
    use std::borrow::Cow;
    use std::fmt;

    /// The members of an event object, each kept as raw JSON (`null` included, unlike `Option`).
    #[derive(Default)]
    struct RawMembers<'a> {
        type_json: Option<&'a RawValue>,
        data: Option<&'a RawValue>,
        metadata: Option<&'a RawValue>,
        event_id: Option<&'a RawValue>,
        occurred_on: Option<&'a RawValue>,
    }

    struct MembersVisitor;

    impl<'de> Visitor<'de> for MembersVisitor {
        type Value = RawMembers<'de>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an event object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut members = RawMembers::default();
            while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                let slot = match key.as_ref() {
                    "type" => &mut members.type_json,
                    "data" => &mut members.data,
                    "metadata" => &mut members.metadata,
                    "eventId" => &mut members.event_id,
                    "occurredOn" => &mut members.occurred_on,
                    _ => {
                        // Other members are not part of an event and are not stored.
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                };
                if slot.is_some() {
                    return Err(de::Error::custom(format!("duplicate member {key}")));
                }
                *slot = Some(map.next_value::<&'de RawValue>()?);
            }
            Ok(members)
        }
    }

    /// One element of the batch array: an object's members, or something else.
    enum Element<'a> {
        Object(RawMembers<'a>),
        NotObject,
    }

    impl<'de> Deserialize<'de> for Element<'de> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct ElementVisitor;
            impl<'de> Visitor<'de> for ElementVisitor {
                type Value = Element<'de>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a JSON value")
                }
                fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                    MembersVisitor.visit_map(map).map(Element::Object)
                }
                fn visit_seq<A: de::SeqAccess<'de>>(
                    self,
                    mut seq: A,
                ) -> Result<Self::Value, A::Error> {
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    Ok(Element::NotObject)
                }
                fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                    Ok(Element::NotObject)
                }
                fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                    Ok(Element::NotObject)
                }
                fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                    Ok(Element::NotObject)
                }
                fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                    Ok(Element::NotObject)
                }
                fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                    Ok(Element::NotObject)
                }
                fn visit_unit<E>(self) -> Result<Self::Value, E> {
                    Ok(Element::NotObject)
                }
            }
            deserializer.deserialize_any(ElementVisitor)
        }
    }

    /// Visits the batch array, checking each element as it is read.
    struct BatchVisitor<'s> {
        /// The first invalid event's message; the parse then stops with a placeholder error.
        invalid: &'s mut Option<String>,
    }

    impl<'de> Visitor<'de> for BatchVisitor<'_> {
        type Value = Vec<InputEvent<'de>>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an array of event objects")
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut events = Vec::with_capacity(seq.size_hint().unwrap_or(1));
            while let Some(element) = seq.next_element::<Element<'de>>()? {
                let index = events.len();
                let checked = match element {
                    Element::Object(members) => check_event(index, members),
                    Element::NotObject => Err(format!("events[{index}] must be a plain object")),
                };
                match checked {
                    Ok(event) => events.push(event),
                    Err(message) => {
                        *self.invalid = Some(message);
                        return Err(de::Error::custom("invalid event"));
                    }
                }
            }
            Ok(events)
        }
    }

    /// Decodes and checks a batch in one pass over its text. Errors name the argument and the
    /// index of the offending event.
    pub fn parse_batch(batch_json: &str) -> Result<Vec<InputEvent<'_>>, String> {
        let mut invalid = None;
        let mut deserializer = serde_json::Deserializer::from_str(batch_json);
        let parsed = deserializer
            .deserialize_seq(BatchVisitor {
                invalid: &mut invalid,
            })
            .and_then(|events| deserializer.end().map(|()| events));
        match (parsed, invalid) {
            (_, Some(message)) => Err(message),
            (Ok(events), None) => Ok(events),
            (Err(e), None) => Err(format!("events must be an array of event objects ({e})")),
        }
    }

    /// The members as the scanner gives them, then the same checks as the scanner's path: the
    /// reference is for the reading of the text, not for the checks.
    fn check_event(index: usize, members: RawMembers<'_>) -> Result<InputEvent<'_>, String> {
        super::check_event(
            index,
            super::RawMembers {
                type_json: members.type_json.map(RawValue::get),
                data: members.data.map(RawValue::get),
                metadata: members.metadata.map(RawValue::get),
                event_id: members.event_id.map(RawValue::get),
                occurred_on: members.occurred_on.map(RawValue::get),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_defaults_and_keeps_raw_values() {
        let events = parse_batch(
            r#"[{"type":"A"},{"type":"B","data":[1,{"x":"y"}],"metadata":{"m":1},
                "eventId":"e","occurredOn":"2024-05-01T12:00:00+02:00","extra":true}]"#,
        )
        .unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].type_json, "\"A\"");
        assert_eq!(events[0].data_json, "null");
        assert_eq!(events[0].metadata_json, "{}");
        assert_eq!(events[0].event_id_json, None);
        assert_eq!(events[1].data_json, "[1,{\"x\":\"y\"}]");
        assert_eq!(events[1].metadata_json, "{\"m\":1}");
        assert_eq!(events[1].event_id_json, Some("\"e\""));
        assert_eq!(events[1].occurred_on_ms, Some(1_714_557_600_000));
    }

    #[test]
    fn escaped_member_names_and_whitespace_are_read() {
        let events = parse_batch(
            "\n[ {\"t\\u0079pe\" : \"A\" , \"data\":\t{ \"x\" : [ 1 , -2.5e+3 ] } } ]\r\n",
        )
        .unwrap();
        assert_eq!(events[0].type_json, "\"A\"");
        assert_eq!(events[0].data_json, "{ \"x\" : [ 1 , -2.5e+3 ] }");
    }

    #[test]
    fn nesting_has_no_depth_limit_and_no_recursion() {
        for depth in [1, 127, 128, 129, 300, 100_000] {
            let data = format!("{}1{}", "[{\"a\":".repeat(depth), "}]".repeat(depth));
            let batch = format!("[{{\"type\":\"A\",\"data\":{data}}}]");
            let events = parse_batch(&batch).unwrap();
            assert_eq!(events[0].data_json, data);
            let unbalanced = format!("[{{\"type\":\"A\",\"data\":{data}]}}]");
            assert!(parse_batch(&unbalanced).is_err(), "{depth}");
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 3000, ..Default::default() })]

        /// The scanner accepts exactly what the serde_json decoder accepted, with the same result.
        #[test]
        fn scanner_agrees_with_serde_json(text in batch_like()) {
            let ours = parse_batch(&text);
            let reference = serde_reference::parse_batch(&text);
            proptest::prop_assert_eq!(ours.is_ok(), reference.is_ok(), "{}: {:?} vs {:?}", text, ours, reference);
            if let (Ok(ours), Ok(reference)) = (ours, reference) {
                proptest::prop_assert_eq!(ours, reference);
            }
        }
    }

    /// JSON texts near the batch shape: valid batches of random values, then edited.
    #[cfg(not(target_arch = "wasm32"))]
    fn batch_like() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let scalar = prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            Just("false".to_string()),
            "-?(0|[1-9][0-9]{0,3})(\\.[0-9]{1,3})?([eE][-+]?[0-9]{1,3})?",
            "\"([a-z \u{e9}\u{1F600}]|\\\\[\"\\\\/bfnrt]|\\\\u[0-9a-fA-F]{4}|\\\\ud800){0,6}\"",
        ];
        let value = scalar.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                proptest::collection::vec(("\"[a-z]{0,3}\"", inner), 0..4).prop_map(|v| {
                    let members: Vec<String> =
                        v.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
                    format!("{{{}}}", members.join(","))
                }),
            ]
        });
        let name = prop_oneof![
            Just("\"type\"".to_string()),
            Just("\"data\"".to_string()),
            Just("\"metadata\"".to_string()),
            Just("\"eventId\"".to_string()),
            Just("\"occurredOn\"".to_string()),
            Just("\"t\\u0079pe\"".to_string()),
            Just("\"\\ud800\"".to_string()),
            "\"[a-z]{0,4}\"",
        ];
        let member_value = prop_oneof![
            value.clone(),
            Just("\"2024-05-01T12:00:00.000Z\"".to_string()),
            Just("\"A\"".to_string()),
        ];
        let type_member = prop_oneof![
            4 => "\"type\":\"[A-Z\u{e9}]{1,3}\"",
            1 => Just(String::new()),
        ];
        let event = (
            type_member,
            proptest::collection::vec((name, member_value), 0..4),
        )
            .prop_map(|(type_member, members)| {
                let members: Vec<String> = std::iter::once(type_member)
                    .filter(|m| !m.is_empty())
                    .chain(members.into_iter().map(|(k, v)| format!("{k}:{v}")))
                    .collect();
                format!("{{{}}}", members.join(","))
            });
        // Events that are valid but for edits: data any value, metadata an object.
        let valid_event = (
            value.clone(),
            proptest::collection::vec(("\"[a-z]{0,3}\"", value.clone()), 0..3),
            proptest::option::of("\"[a-z0-9-]{1,8}\""),
            proptest::option::of(value.clone()),
        )
            .prop_map(|(data, metadata, event_id, extra)| {
                let metadata: Vec<String> = metadata
                    .into_iter()
                    .map(|(k, v)| format!("{k}:{v}"))
                    .collect();
                let mut event = format!(
                    "{{\"type\":\"T\",\"data\":{data},\"metadata\":{{{}}}",
                    metadata.join(",")
                );
                if let Some(id) = event_id {
                    event.push_str(&format!(",\"eventId\":{id}"));
                }
                if let Some(extra) = extra {
                    event.push_str(&format!(",\"extra\":{extra}"));
                }
                event.push('}');
                event
            });
        let element = prop_oneof![4 => valid_event, 3 => event, 1 => value];
        let batch = proptest::collection::vec(element, 0..4)
            .prop_map(|events| format!("[{}]", events.join(",")));
        let edit = (
            any::<proptest::sample::Index>(),
            0..4u8,
            proptest::char::range(' ', '~'),
        );
        (
            batch,
            prop_oneof![Just(Vec::new()), proptest::collection::vec(edit, 1..3)],
        )
            .prop_map(|(text, edits)| {
                let mut chars: Vec<char> = text.chars().collect();
                for (at, kind, c) in edits {
                    let i = at.index(chars.len() + 1);
                    match kind {
                        0 if i < chars.len() => chars[i] = c,
                        1 if i < chars.len() => {
                            chars.remove(i);
                        }
                        2 => chars.insert(i, ' '),
                        _ => chars.insert(i, c),
                    }
                }
                chars.into_iter().collect()
            })
    }

    #[test]
    fn empty_batch_is_fine() {
        assert_eq!(parse_batch("[]").unwrap(), vec![]);
    }

    #[test]
    fn errors_name_the_argument_and_index() {
        let cases = [
            ("{}", "events must be an array"),
            ("[1]", "events[0] must be a plain object"),
            (r#"[{"type":"A"},null]"#, "events[1] must be a plain object"),
            (r#"[{"type":"A"},{"data":1}]"#, "events[1].type"),
            (r#"[{"type":""}]"#, "events[0].type"),
            (r#"[{"type":1}]"#, "events[0].type"),
            (r#"[{"type":"A","metadata":null}]"#, "events[0].metadata"),
            (r#"[{"type":"A","metadata":[]}]"#, "events[0].metadata"),
            (r#"[{"type":"A","eventId":1}]"#, "events[0].eventId"),
            (r#"[{"type":"A","eventId":null}]"#, "events[0].eventId"),
            (
                r#"[{"type":"A","occurredOn":"soon"}]"#,
                "events[0].occurredOn",
            ),
            (
                r#"[{"type":"A","occurredOn":null}]"#,
                "events[0].occurredOn",
            ),
            (
                r#"[{"type":"A","type":"B"}]"#,
                "events[0] has a duplicate member type",
            ),
            ("", "expected an array"),
            ("[", "expected a value"),
            (r#"[{"type":"A"}"#, "expected ',' or ']'"),
            (r#"[{"type":"A"},]"#, "expected a value"),
            (r#"[{"type":"A",}]"#, "expected a member name"),
            (r#"[{"type" "A"}]"#, "expected ':'"),
            (r#"[{"type":"A","data":[1 2]}]"#, "expected ',' or the end"),
            (r#"[{"type":"A","data":01}]"#, "expected ',' or '}'"),
            (r#"[{"type":"A","data":"\x"}]"#, "invalid escape"),
            (r#"[{"type":"A","data":"\u12"}]"#, "invalid \\u escape"),
            ("[{\"type\":\"A\u{1}\"}]", "control character"),
            (r#"[{"type":"A"}] x"#, "trailing characters"),
            (r#"[{"type":"A","data":tru}]"#, "expected a value"),
        ];
        for (input, expected) in cases {
            let error = parse_batch(input).unwrap_err();
            assert!(error.contains(expected), "{input}: {error}");
        }
    }
}
