//! A cursor over JSON text, for the two readers of JSON in the core: the input batch
//! ([`crate::batch`]) and the payload fast path ([`crate::payload`]).
//!
//! It checks JSON as strictly as `serde_json` (a property test in `batch` holds it to that), skips
//! values of any nesting depth without recursion, and decodes nothing: callers slice out the raw
//! text they need.
use std::fmt;

/// Why the text is not JSON, and where.
#[derive(Debug)]
pub struct Syntax {
    what: &'static str,
    at: usize,
}

impl Syntax {
    /// A syntax error `what` at byte `at` of the text.
    pub fn at(what: &'static str, at: usize) -> Self {
        Syntax { what, at }
    }
}

impl fmt::Display for Syntax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.at)
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
/// them are on character boundaries.
pub struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    pub fn new(text: &'a str) -> Self {
        Scanner {
            text,
            bytes: text.as_bytes(),
            pos: 0,
        }
    }

    pub fn error(&self, what: &'static str) -> Syntax {
        Syntax { what, at: self.pos }
    }

    pub fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Consumes `expected` if the text continues with exactly it.
    pub fn eat_str(&mut self, expected: &str) -> bool {
        let matched =
            self.bytes.get(self.pos..self.pos + expected.len()) == Some(expected.as_bytes());
        if matched {
            self.pos += expected.len();
        }
        matched
    }

    /// The text from `start` to the cursor.
    pub fn since(&self, start: usize) -> Option<&'a str> {
        self.text.get(start..self.pos)
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn eat(&mut self, byte: u8) -> bool {
        let matched = self.peek() == Some(byte);
        self.pos += usize::from(matched);
        matched
    }

    pub fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    pub fn slice(&self, start: usize) -> Result<&'a str, Syntax> {
        self.text
            .get(start..self.pos)
            .ok_or_else(|| self.error("not on a character boundary"))
    }

    /// Skips a string literal (at its opening quote). Returns whether it holds escapes.
    pub fn string(&mut self) -> Result<bool, Syntax> {
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
    pub fn value(&mut self) -> Result<(), Syntax> {
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
}
