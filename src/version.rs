//! Version arguments as JS hands them over (f64) and their checks.
//!
//! Versions are 0-based: the first event of a stream is version 0 and an absent stream is -1.
//! Every version must be exactly representable in a JS number, hence the 2^53-1 bound.

/// The largest integer a JS number holds exactly.
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// Checks `expectedVersion`: an integer in [-1, 2^53-1].
pub fn expected_version(value: f64) -> Result<i64, String> {
    if value.fract() == 0.0 && value >= -1.0 && value <= MAX_SAFE_INTEGER as f64 {
        Ok(value as i64)
    } else {
        Err(format!(
            "expectedVersion must be an integer from -1 to {MAX_SAFE_INTEGER}, got {}",
            describe_number(value)
        ))
    }
}

/// Checks a load's `limit` as the wrapper hands it over: -1 for none, else a positive integer.
pub fn limit(value: f64) -> Result<Option<usize>, String> {
    if value == -1.0 {
        Ok(None)
    } else if value.fract() == 0.0 && value >= 1.0 && value <= MAX_SAFE_INTEGER as f64 {
        // Past usize (wasm32) it is more than any stream holds: all of them.
        Ok(Some(usize::try_from(value as u64).unwrap_or(usize::MAX)))
    } else {
        Err(format!(
            "options.limit must be a positive integer, got {}",
            describe_number(value)
        ))
    }
}

/// Checks `fromVersion` (exclusive lower bound). Anything below 0 means "from the start", which is
/// returned as -1. NaN, infinities and fractions are rejected.
pub fn from_version(value: f64) -> Result<i64, String> {
    exclusive_bound(value, "fromVersion")
}

/// Checks `fromPosition` of `loadAllEvents`, as [`from_version`] checks a version.
pub fn from_position(value: f64) -> Result<i64, String> {
    exclusive_bound(value, "fromPosition")
}

fn exclusive_bound(value: f64, name: &str) -> Result<i64, String> {
    if value.fract() != 0.0 || !value.is_finite() {
        return Err(format!(
            "{name} must be an integer, null or undefined, got {}",
            describe_number(value)
        ));
    }
    if value < 0.0 {
        Ok(-1)
    } else if value > MAX_SAFE_INTEGER as f64 {
        Ok(MAX_SAFE_INTEGER)
    } else {
        Ok(value as i64)
    }
}

fn describe_number(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_string()
    } else if value.is_infinite() {
        if value > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_version_bounds() {
        assert_eq!(expected_version(-1.0), Ok(-1));
        assert_eq!(expected_version(0.0), Ok(0));
        assert_eq!(
            expected_version(MAX_SAFE_INTEGER as f64),
            Ok(MAX_SAFE_INTEGER)
        );
        for bad in [
            -2.0,
            1.5,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            9007199254740992.0,
        ] {
            assert!(expected_version(bad).is_err(), "{bad} accepted");
        }
        assert!(expected_version(f64::NAN).unwrap_err().contains("NaN"));
    }

    #[test]
    fn from_version_clamps_negatives_and_rejects_fractions() {
        assert_eq!(from_version(-10.0), Ok(-1));
        assert_eq!(from_version(-1.0), Ok(-1));
        assert_eq!(from_version(3.0), Ok(3));
        assert_eq!(from_version(1e300), Ok(MAX_SAFE_INTEGER));
        for bad in [0.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(from_version(bad).is_err(), "{bad} accepted");
        }
    }
}
