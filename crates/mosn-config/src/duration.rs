//! Go's `time.ParseDuration` syntax, which MOSN uses for every duration string:
//! a sequence of decimal numbers, each with an optional fraction and a unit
//! (`ns`, `us`/`µs`/`μs`, `ms`, `s`, `m`, `h`), e.g. `"300ms"`, `"1.5h"`, `"2h45m"`,
//! with an optional sign; `"0"` alone needs no unit.
//!
//! Unlike Go, negative results are rejected: no MOSN duration setting means anything
//! when negative.

use std::time::Duration;

/// Largest value Go's `time.Duration` (an `int64` of nanoseconds) can hold.
const MAX_NANOS: u64 = i64::MAX as u64;

/// Parses a Go duration string.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("invalid duration {text:?}");
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let (whole, after_whole) = split_digits(rest);
        let (fraction, after_fraction) = match after_whole.strip_prefix('.') {
            Some(after_dot) => split_digits(after_dot),
            None => ("", after_whole),
        };
        if whole.is_empty() && fraction.is_empty() {
            return Err(invalid());
        }
        let unit_len = after_fraction
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(after_fraction.len());
        let (unit, after_unit) = after_fraction.split_at(unit_len);
        if unit.is_empty() {
            return Err(format!("missing unit in duration {text:?}"));
        }
        let unit_nanos = unit_nanos(unit)
            .ok_or_else(|| format!("unknown unit {unit:?} in duration {text:?}"))?;
        let value = component_nanos(whole, fraction, unit_nanos).ok_or_else(invalid)?;
        total = total
            .checked_add(value)
            .filter(|&t| t <= MAX_NANOS)
            .ok_or_else(invalid)?;
        rest = after_unit;
    }
    if negative && total > 0 {
        return Err(format!("negative duration {text:?}"));
    }
    Ok(Duration::from_nanos(total))
}

/// Splits `s` after its leading ASCII digits.
fn split_digits(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s.split_at(end)
}

fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{00B5}s" | "\u{03BC}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60 * 1_000_000_000,
        "h" => 3_600 * 1_000_000_000,
        _ => return None,
    })
}

/// `whole.fraction` times `unit_nanos`, truncated to whole nanoseconds as Go does;
/// `None` on overflow.
fn component_nanos(whole: &str, fraction: &str, unit_nanos: u64) -> Option<u64> {
    let mut value: u64 = 0;
    for digit in whole.bytes() {
        value = value
            .checked_mul(10)?
            .checked_add(u64::from(digit - b'0'))?;
    }
    let mut nanos = value.checked_mul(unit_nanos)?;
    // Go scales the fraction with floats; exact integer arithmetic differs from it by at
    // most a nanosecond. Twenty digits keep the product within `u128` for every unit.
    let mut numerator: u128 = 0;
    let mut denominator: u128 = 1;
    for digit in fraction.bytes().take(20) {
        numerator = numerator * 10 + u128::from(digit - b'0');
        denominator *= 10;
    }
    let fraction_nanos = numerator * u128::from(unit_nanos) / denominator;
    nanos = nanos.checked_add(u64::try_from(fraction_nanos).ok()?)?;
    (nanos <= MAX_NANOS).then_some(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Duration {
        parse_duration(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn accepts_go_syntax() {
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("-0"), Duration::ZERO);
        assert_eq!(ok("0s"), Duration::ZERO);
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok("30s"), Duration::from_secs(30));
        assert_eq!(ok("+30s"), Duration::from_secs(30));
        assert_eq!(ok("1m"), Duration::from_secs(60));
        assert_eq!(ok("1h30m"), Duration::from_secs(5400));
        assert_eq!(ok("2h45m10.5s"), Duration::from_millis(9_910_500));
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok(".5s"), Duration::from_millis(500));
        assert_eq!(ok("5.s"), Duration::from_secs(5));
        assert_eq!(ok("10us"), Duration::from_micros(10));
        assert_eq!(ok("10µs"), Duration::from_micros(10));
        assert_eq!(ok("10μs"), Duration::from_micros(10));
        assert_eq!(ok("7ns"), Duration::from_nanos(7));
        assert_eq!(ok("1.0000000001s"), Duration::from_nanos(1_000_000_000));
        assert_eq!(
            ok("0.333333333333333333333h"),
            Duration::from_nanos(1_199_999_999_999)
        );
        assert_eq!(
            ok("2562047h47m16.854775807s"),
            Duration::from_nanos(MAX_NANOS)
        );
    }

    #[test]
    fn rejects_what_go_rejects_and_negatives() {
        for (text, message) in [
            ("", r#"invalid duration """#),
            ("-", r#"invalid duration "-""#),
            ("s", r#"invalid duration "s""#),
            (".s", r#"invalid duration ".s""#),
            ("30", r#"missing unit in duration "30""#),
            ("1h30", r#"missing unit in duration "1h30""#),
            ("3x", r#"unknown unit "x" in duration "3x""#),
            ("3 s", r#"unknown unit " s" in duration "3 s""#),
            ("1S", r#"unknown unit "S" in duration "1S""#),
            ("-1s", r#"negative duration "-1s""#),
            (
                "2562047h47m16.854775808s",
                r#"invalid duration "2562047h47m16.854775808s""#,
            ),
            (
                "99999999999999999999h",
                r#"invalid duration "99999999999999999999h""#,
            ),
        ] {
            assert_eq!(parse_duration(text), Err(message.to_owned()), "{text}");
        }
    }
}
