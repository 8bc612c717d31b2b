//! Times as people read them: "3 min ago", "expires in 40 s", "expired 2 h ago".
//! Relative to the local clock, so they read the same in every time zone.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, now.
pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Unix seconds of an RFC 3339 time.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok().map(|t| t.unix_timestamp())
}

/// RFC 3339 (UTC) of Unix seconds; empty when out of range.
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// A span of seconds in its largest whole unit: `40 s`, `3 min`, `2 h`, `5 days`.
pub fn span(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..86_400 => format!("{} h", secs / 3600),
        _ => match secs / 86_400 {
            1 => "1 day".to_string(),
            days => format!("{days} days"),
        },
    }
}

/// How long ago `then` (Unix seconds) was: `3 min ago`; `just now` within a
/// second (and for a time slightly in the future, a clock a little ahead).
pub fn ago(then: i64, now: i64) -> String {
    match now - then {
        d if d < 1 => "just now".to_string(),
        d => format!("{} ago", span(d as u64)),
    }
}

/// An expiry time as people read it: `expires in 40 s` or `expired 3 min ago`.
pub fn expiry(at: i64, now: i64) -> String {
    if at > now { format!("expires in {}", span((at - now) as u64)) } else { format!("expired {}", ago(at, now)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_use_the_largest_whole_unit() {
        assert_eq!(span(0), "0 s");
        assert_eq!(span(40), "40 s");
        assert_eq!(span(59), "59 s");
        assert_eq!(span(60), "1 min");
        assert_eq!(span(190), "3 min");
        assert_eq!(span(3599), "59 min");
        assert_eq!(span(3600), "1 h");
        assert_eq!(span(86_399), "23 h");
        assert_eq!(span(86_400), "1 day");
        assert_eq!(span(5 * 86_400 + 7), "5 days");
    }

    #[test]
    fn ago_and_expiry_read_as_sentences() {
        assert_eq!(ago(1000, 1190), "3 min ago");
        assert_eq!(ago(1000, 1000), "just now");
        assert_eq!(ago(1005, 1000), "just now");
        assert_eq!(expiry(1040, 1000), "expires in 40 s");
        assert_eq!(expiry(1000, 1190), "expired 3 min ago");
        assert_eq!(expiry(1000, 1000), "expired just now");
    }

    #[test]
    fn rfc3339_round_trips() {
        let t = parse_rfc3339("2026-01-02T03:04:05Z").expect("parses");
        assert_eq!(rfc3339(t), "2026-01-02T03:04:05Z");
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
