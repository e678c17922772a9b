//! ISO-8601 timestamps, normalised the way JS `Date.prototype.toISOString()` writes them:
//! UTC, millisecond precision, `YYYY-MM-DDTHH:MM:SS.sssZ` (`±YYYYYY` outside years 0..=9999).
//! Keeping one canonical form means a recorded `occurredOn` parses back to the same instant in JS.

/// The JS Date range: ±100,000,000 days around the epoch, in milliseconds.
pub const MAX_MS: i64 = 8_640_000_000_000_000;

/// Days from 1970-01-01 to the civil date (proleptic Gregorian). Howard Hinnant's algorithm.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Formats milliseconds since the epoch as `Date.prototype.toISOString()` does.
pub fn format_iso(ms: i64) -> String {
    let mut out = String::with_capacity(27);
    write_iso(&mut out, ms);
    out
}

/// Appends the last `count` decimal digits of `value` (zero-padded) to `out`.
fn push_digits(out: &mut String, mut value: i64, count: usize) {
    let mut digits = [b'0'; 6];
    for slot in digits.iter_mut().take(count).rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
    for &digit in digits.iter().take(count) {
        out.push(char::from(digit));
    }
}

/// Appends the `format_iso` form of `ms` to `out`, without allocating: this runs once per
/// appended event.
pub fn write_iso(out: &mut String, ms: i64) {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    if (0..=9999).contains(&year) {
        push_digits(out, year, 4);
    } else {
        out.push(if year < 0 { '-' } else { '+' });
        push_digits(out, year.abs(), 6);
    }
    out.push('-');
    push_digits(out, i64::from(month), 2);
    out.push('-');
    push_digits(out, i64::from(day), 2);
    out.push('T');
    push_digits(out, in_day / 3_600_000, 2);
    out.push(':');
    push_digits(out, in_day / 60_000 % 60, 2);
    out.push(':');
    push_digits(out, in_day / 1000 % 60, 2);
    out.push('.');
    push_digits(out, in_day % 1000, 3);
    out.push('Z');
}

/// The last time `write_iso` formatted, kept to copy: the events of one append share their
/// `occurredOn`, so a load mostly formats each time once.
#[derive(Default)]
pub struct IsoCache {
    ms: Option<i64>,
    text: String,
}

impl IsoCache {
    /// Appends the `format_iso` form of `ms` to `out`.
    pub fn write(&mut self, out: &mut String, ms: i64) {
        out.push_str(self.get(ms));
    }

    /// The `format_iso` form of `ms`.
    pub fn get(&mut self, ms: i64) -> &str {
        if self.ms != Some(ms) {
            self.text.clear();
            write_iso(&mut self.text, ms);
            self.ms = Some(ms);
        }
        &self.text
    }
}

/// A tiny cursor over ASCII digits and separators.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Exactly `n` ASCII digits as a number.
    fn digits(&mut self, n: usize) -> Option<i64> {
        let mut value = 0i64;
        for _ in 0..n {
            let d = self.peek().filter(u8::is_ascii_digit)?;
            value = value * 10 + i64::from(d - b'0');
            self.pos += 1;
        }
        Some(value)
    }
}

/// Parses an ISO-8601 / RFC 3339 timestamp into milliseconds since the epoch.
///
/// Accepted: `YYYY-MM-DD` (UTC midnight, as JS reads it) and
/// `YYYY-MM-DDTHH:MM[:SS[.fraction]]` followed by `Z` or `±HH:MM` / `±HHMM` / `±HH`.
/// Years may be `±YYYYYY`. A date-time without an offset is rejected: it names no instant.
/// Fractions beyond milliseconds are truncated, as JS does.
pub fn parse_iso(text: &str) -> Option<i64> {
    let mut c = Cursor {
        bytes: text.as_bytes(),
        pos: 0,
    };
    let year = match c.peek()? {
        b'+' | b'-' => {
            let negative = c.peek() == Some(b'-');
            c.pos += 1;
            let y = c.digits(6)?;
            if negative && y == 0 {
                return None; // -000000 is not allowed by ECMAScript
            }
            if negative {
                -y
            } else {
                y
            }
        }
        _ => c.digits(4)?,
    };
    if !c.eat(b'-') {
        return None;
    }
    let month = u32::try_from(c.digits(2)?).ok()?;
    if !c.eat(b'-') {
        return None;
    }
    let day = u32::try_from(c.digits(2)?).ok()?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let mut ms = days_from_civil(year, month, day) * 86_400_000;
    if c.peek().is_none() {
        return in_range(ms);
    }
    if !(c.eat(b'T') || c.eat(b't')) {
        return None;
    }
    let hour = c.digits(2)?;
    if !c.eat(b':') {
        return None;
    }
    let minute = c.digits(2)?;
    let mut second = 0;
    let mut millis = 0;
    if c.eat(b':') {
        second = c.digits(2)?;
        if c.eat(b'.') || c.eat(b',') {
            let start = c.pos;
            let mut scale = 100;
            while let Some(d) = c.peek().filter(u8::is_ascii_digit) {
                millis += i64::from(d - b'0') * scale;
                scale /= 10;
                c.pos += 1;
            }
            if c.pos == start {
                return None;
            }
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    ms += hour * 3_600_000 + minute * 60_000 + second * 1000 + millis;
    let offset_minutes = match c.peek()? {
        b'Z' | b'z' => {
            c.pos += 1;
            0
        }
        sign @ (b'+' | b'-') => {
            c.pos += 1;
            let oh = c.digits(2)?;
            // Minutes are optional (`+02`), with or without the colon (`+02:00`, `+0200`).
            let om = if c.eat(b':') || c.peek().is_some() {
                c.digits(2)?
            } else {
                0
            };
            if oh > 23 || om > 59 {
                return None;
            }
            let minutes = oh * 60 + om;
            if sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };
    if c.peek().is_some() {
        return None;
    }
    in_range(ms - offset_minutes * 60_000)
}

fn in_range(ms: i64) -> Option<i64> {
    (-MAX_MS..=MAX_MS).contains(&ms).then_some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_to_iso_string() {
        assert_eq!(format_iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_iso(1_714_557_600_123), "2024-05-01T10:00:00.123Z");
        assert_eq!(format_iso(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(format_iso(MAX_MS), "+275760-09-13T00:00:00.000Z");
        assert_eq!(format_iso(-MAX_MS), "-271821-04-20T00:00:00.000Z");
        assert_eq!(format_iso(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn parses_rfc3339_and_normalises_to_utc() {
        assert_eq!(
            parse_iso("2024-05-01T12:00:00+02:00"),
            Some(1_714_557_600_000)
        );
        assert_eq!(parse_iso("2024-05-01T10:00:00Z"), Some(1_714_557_600_000));
        assert_eq!(parse_iso("2024-05-01T10:00Z"), Some(1_714_557_600_000));
        assert_eq!(
            parse_iso("2024-05-01T10:00:00.123456Z"),
            Some(1_714_557_600_123)
        );
        assert_eq!(
            parse_iso("2024-05-01T05:00:00-0500"),
            Some(1_714_557_600_000)
        );
        assert_eq!(parse_iso("2024-05-01"), Some(1_714_521_600_000));
        assert_eq!(parse_iso("2024-05-01T12:00+02"), Some(1_714_557_600_000));
        assert_eq!(parse_iso("+275760-09-13T00:00:00.000Z"), Some(MAX_MS));
        assert_eq!(parse_iso("2000-02-29T00:00:00Z"), Some(951_782_400_000));
    }

    #[test]
    fn rejects_what_names_no_instant() {
        for bad in [
            "",
            "yesterday",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-05-01T10:00:00",
            "2024-05-01T24:00:00Z",
            "2024-05-01T10:60:00Z",
            "2024-05-01T10:00:00.Z",
            "2024-05-01T10:00:00Zjunk",
            "2024-5-1",
            "-000000-01-01T00:00:00Z",
            "+275760-09-13T00:00:00.001Z",
            "2024-05-01T10:00:00+24:00",
            "2024-05-01T10:00:00+02:",
            "2024-05-01T10:00:00+02:0",
        ] {
            assert_eq!(parse_iso(bad), None, "{bad:?} accepted");
        }
    }

    #[test]
    fn round_trips_every_day_of_a_few_centuries() {
        for days in (-200_000..200_000).step_by(7) {
            let ms = days * 86_400_000 + 12_345;
            assert_eq!(parse_iso(&format_iso(ms)), Some(ms));
        }
    }
}
