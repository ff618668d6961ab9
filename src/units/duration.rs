//! Durations: `90s`, `15m`, `6h`, `7d`, `1w`, `250ms` (a number of seconds in the configuration
//! file), kept as milliseconds.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// `90s`, `15m`, `6h`, `7d`, `1w`, `250ms` → milliseconds.
pub fn parse_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match unit.trim() {
        "ms" => 1.0,
        "s" | "sec" => 1e3,
        "m" | "min" => 60e3,
        "h" => 3600e3,
        "d" => 86400e3,
        "w" => 7.0 * 86400e3,
        _ => return None,
    };
    let v = n * mult;
    (v.is_finite() && v >= 0.0).then_some(v as i64)
}

/// A duration in milliseconds, written `"30s"`, `"5m"`, `"24h"`, `"7d"` (or a number of seconds
/// in the configuration file).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dur(pub i64);

/// The one message for a value that is not a duration.
fn not_a_duration(s: &str) -> String {
    format!("`{s}` is not a duration (examples: 30s, 5m, 24h, 7d)")
}

impl Dur {
    pub const fn secs(s: i64) -> Dur {
        Dur(s * 1000)
    }

    pub const fn ms(self) -> i64 {
        self.0
    }

    /// As a std duration (a negative one is zero).
    pub fn std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0.max(0) as u64)
    }

    /// clap value parser for flags that need a duration longer than zero.
    pub fn parse_positive(s: &str) -> Result<Dur, String> {
        match s.parse::<Dur>() {
            Ok(d) if d.0 > 0 => Ok(d),
            Ok(_) => Err(format!("`{s}` must be longer than 0s")),
            Err(e) => Err(e),
        }
    }
}

impl FromStr for Dur {
    type Err = String;

    fn from_str(s: &str) -> Result<Dur, String> {
        parse_ms(s).map(Dur).ok_or_else(|| not_a_duration(s))
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        for (unit, size) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1000),
        ] {
            if ms >= size && ms % size == 0 {
                return write!(f, "{}{unit}", ms / size);
            }
        }
        write!(f, "{ms}ms")
    }
}

impl Serialize for Dur {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            N(f64),
        }
        match Raw::deserialize(d)? {
            Raw::S(s) => s.parse::<Dur>().map_err(|_| {
                serde::de::Error::custom(format!(
                    "`{s}` is not a duration (examples: \"30s\", \"5m\", \"24h\", \"7d\")"
                ))
            }),
            Raw::N(n) if n >= 0.0 && n.is_finite() => Ok(Dur((n * 1000.0) as i64)),
            Raw::N(n) => Err(serde::de::Error::custom(format!("{n} is not a duration"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        assert_eq!("90s".parse::<Dur>(), Ok(Dur(90_000)));
        assert_eq!("250ms".parse::<Dur>(), Ok(Dur(250)));
        assert_eq!("1.5h".parse::<Dur>(), Ok(Dur(5_400_000)));
        assert_eq!("1w".parse::<Dur>(), Ok(Dur::secs(7 * 86400)));
        assert!("5".parse::<Dur>().is_err());
        assert!(
            "x".parse::<Dur>()
                .unwrap_err()
                .contains("is not a duration")
        );
        assert_eq!(Dur::secs(86400).to_string(), "1d");
        assert_eq!(Dur::secs(90).to_string(), "90s");
        assert_eq!(Dur(1500).to_string(), "1500ms");
        assert!(Dur::parse_positive("0s").is_err());
        assert_eq!(Dur::parse_positive("1m"), Ok(Dur(60_000)));
    }
}
