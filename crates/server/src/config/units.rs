//! Durations and byte sizes as operators write them: `"30s"`, `"5m"`, `"35MB"`, `"64KiB"`.
//!
//! Both grammars are deliberately small and strict: one whole number and one unit, an
//! optional space between them, nothing else. No fractions ("1.5GB"), no compound forms
//! ("1h30m"), no guessing at units with the wrong case ("35mb", "Mb" is megabits in most
//! places). A value that could be read two ways is rejected with the list of accepted
//! units, because a limit misread by a factor of 1,000 fails silently in production.

use std::fmt;
use std::time::Duration;

/// Why a duration or size string was refused. The text is written for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitError(String);

impl fmt::Display for UnitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UnitError {}

/// Duration units and their length in milliseconds, longest name first so that "ms" is
/// tried before "m" and "s".
const DURATION_UNITS: &[(&str, u64)] = &[("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)];

const DURATION_HELP: &str = "expected a whole number and a unit: ms, s, m or h (e.g. \"30s\")";

/// Size units and their multiplier. KB/MB/GB/TB are decimal (SI, 1000-based) and
/// KiB/MiB/GiB/TiB binary (IEC, 1024-based): the names say which, so both are accepted and
/// neither is reinterpreted. The two-letter names come before "B" so that the suffix match
/// picks the longest unit.
const SIZE_UNITS: &[(&str, u64)] = &[
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
    ("kB", 1_000),
    ("KB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("TB", 1_000_000_000_000),
    ("B", 1),
];

const SIZE_HELP: &str =
    "expected a whole number and a unit: B, KB, MB, GB, TB (1000-based) or KiB, MiB, GiB, TiB (1024-based) (e.g. \"35MB\")";

/// Parses a duration string such as `"30s"`, `"5m"`, `"1h"` or `"250ms"`.
///
/// A bare number in a string (`"30"`) is refused: in TOML the operator can write the
/// integer `30` for seconds, and a string without a unit is more likely a typo.
pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    let (number, multiplier) = split_number_unit(text, DURATION_UNITS, DURATION_HELP)?;
    number
        .checked_mul(multiplier)
        .map(Duration::from_millis)
        .ok_or_else(|| UnitError(format!("duration {text:?} is too large")))
}

/// Parses a byte size string such as `"35MB"`, `"64KiB"` or `"1024B"` into bytes.
pub fn parse_size(text: &str) -> Result<u64, UnitError> {
    let (number, multiplier) = split_number_unit(text, SIZE_UNITS, SIZE_HELP)?;
    number
        .checked_mul(multiplier)
        .ok_or_else(|| UnitError(format!("size {text:?} is too large")))
}

/// Splits `text` into a whole number and a known unit, returning the number and the unit's
/// multiplier.
fn split_number_unit(
    text: &str,
    units: &[(&str, u64)],
    help: &str,
) -> Result<(u64, u64), UnitError> {
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, rest) = text.split_at(digits_end);
    if digits.is_empty() {
        return Err(UnitError(format!("invalid value {text:?}: {help}")));
    }
    // One optional space, as in "35 MB"; anything else between number and unit is a typo.
    let unit = rest.strip_prefix(' ').unwrap_or(rest);
    if unit.is_empty() {
        return Err(UnitError(format!("missing unit in {text:?}: {help}")));
    }
    let multiplier = units
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, m)| *m)
        .ok_or_else(|| UnitError(format!("unknown unit {unit:?} in {text:?}: {help}")))?;
    let number = digits
        .parse::<u64>()
        .map_err(|_| UnitError(format!("number in {text:?} is too large")))?;
    Ok((number, multiplier))
}

/// Formats a duration the way the config file would write it, with the largest unit that
/// divides it exactly. Used by `Display` impls and docs, never for parsing.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    for (name, len) in DURATION_UNITS.iter().rev() {
        let len = u128::from(*len);
        if ms.is_multiple_of(len) && ms >= len {
            return format!("{}{name}", ms / len);
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let table: &[(&str, Result<Duration, &str>)] = &[
            ("30s", Ok(Duration::from_secs(30))),
            ("5m", Ok(Duration::from_secs(300))),
            ("1h", Ok(Duration::from_secs(3600))),
            ("250ms", Ok(Duration::from_millis(250))),
            ("0s", Ok(Duration::ZERO)),
            ("10 m", Ok(Duration::from_secs(600))),
            (
                "30",
                Err("missing unit in \"30\": expected a whole number and a unit: ms, s, m or h (e.g. \"30s\")"),
            ),
            (
                "",
                Err("invalid value \"\": expected a whole number and a unit: ms, s, m or h (e.g. \"30s\")"),
            ),
            (
                "s",
                Err("invalid value \"s\": expected a whole number and a unit: ms, s, m or h (e.g. \"30s\")"),
            ),
            (
                "-5s",
                Err("invalid value \"-5s\": expected a whole number and a unit: ms, s, m or h (e.g. \"30s\")"),
            ),
            (
                "1.5h",
                Err("unknown unit \".5h\" in \"1.5h\": expected a whole number and a unit: ms, s, m or h (e.g. \"30s\")"),
            ),
            (
                "1h30m",
                Err("unknown unit \"h30m\" in \"1h30m\": expected a whole number and a unit: ms, s, m or h (e.g. \"30s\")"),
            ),
            (
                "5 minutes",
                Err("unknown unit \"minutes\" in \"5 minutes\": expected a whole number and a unit: ms, s, m or h (e.g. \"30s\")"),
            ),
            (
                "5S",
                Err("unknown unit \"S\" in \"5S\": expected a whole number and a unit: ms, s, m or h (e.g. \"30s\")"),
            ),
            (
                "5  s",
                Err("unknown unit \" s\" in \"5  s\": expected a whole number and a unit: ms, s, m or h (e.g. \"30s\")"),
            ),
            (" 5s", Err("invalid value \" 5s\": expected a whole number and a unit: ms, s, m or h (e.g. \"30s\")")),
            ("18446744073709551616s", Err("number in \"18446744073709551616s\" is too large")),
            ("18446744073709551615h", Err("duration \"18446744073709551615h\" is too large")),
        ];
        for (input, want) in table {
            let got = parse_duration(input).map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(str::to_string), "input {input:?}");
        }
    }

    #[test]
    fn sizes() {
        let table: &[(&str, Result<u64, &str>)] = &[
            ("35MB", Ok(35_000_000)),
            ("64KiB", Ok(65_536)),
            ("64kB", Ok(64_000)),
            ("64KB", Ok(64_000)),
            ("1GB", Ok(1_000_000_000)),
            ("1GiB", Ok(1_073_741_824)),
            ("10GB", Ok(10_000_000_000)),
            ("2TiB", Ok(2 << 40)),
            ("512B", Ok(512)),
            ("35 MB", Ok(35_000_000)),
            ("0B", Ok(0)),
            (
                "35",
                Err("missing unit in \"35\": expected a whole number and a unit: B, KB, MB, GB, TB (1000-based) or KiB, MiB, GiB, TiB (1024-based) (e.g. \"35MB\")"),
            ),
            (
                "35mb",
                Err("unknown unit \"mb\" in \"35mb\": expected a whole number and a unit: B, KB, MB, GB, TB (1000-based) or KiB, MiB, GiB, TiB (1024-based) (e.g. \"35MB\")"),
            ),
            (
                "35Mb",
                Err("unknown unit \"Mb\" in \"35Mb\": expected a whole number and a unit: B, KB, MB, GB, TB (1000-based) or KiB, MiB, GiB, TiB (1024-based) (e.g. \"35MB\")"),
            ),
            (
                "35M",
                Err("unknown unit \"M\" in \"35M\": expected a whole number and a unit: B, KB, MB, GB, TB (1000-based) or KiB, MiB, GiB, TiB (1024-based) (e.g. \"35MB\")"),
            ),
            (
                "1.5GB",
                Err("unknown unit \".5GB\" in \"1.5GB\": expected a whole number and a unit: B, KB, MB, GB, TB (1000-based) or KiB, MiB, GiB, TiB (1024-based) (e.g. \"35MB\")"),
            ),
            (
                "MB",
                Err("invalid value \"MB\": expected a whole number and a unit: B, KB, MB, GB, TB (1000-based) or KiB, MiB, GiB, TiB (1024-based) (e.g. \"35MB\")"),
            ),
            ("20000000TB", Err("size \"20000000TB\" is too large")),
        ];
        for (input, want) in table {
            let got = parse_size(input).map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(str::to_string), "input {input:?}");
        }
    }

    #[test]
    fn format_picks_largest_exact_unit() {
        let table = [
            (Duration::from_secs(300), "5m"),
            (Duration::from_secs(90), "90s"),
            (Duration::from_millis(250), "250ms"),
            (Duration::from_secs(7200), "2h"),
            (Duration::ZERO, "0ms"),
        ];
        for (d, want) in table {
            assert_eq!(format_duration(d), want);
            if d != Duration::ZERO {
                assert_eq!(parse_duration(want), Ok(d), "roundtrip {want}");
            }
        }
    }
}
