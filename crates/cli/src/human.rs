//! Sizes and ages as people read them.

use std::time::{Duration, SystemTime};

/// `1.5 MiB`.
pub fn size(bytes: u64) -> String {
    bytesize::ByteSize(bytes).display().iec().to_string()
}

/// `3 days ago`, `just now`; `-` when unknown. Rounded down to the largest unit.
pub fn age(t: Option<SystemTime>, now: SystemTime) -> String {
    let Some(t) = t else {
        return "-".to_string();
    };
    let Ok(d) = now.duration_since(t) else {
        return "just now".to_string();
    };
    let secs = d.as_secs();
    if secs < 5 {
        return "just now".to_string();
    }
    let unit = [86_400 * 365, 86_400 * 30, 86_400, 3600, 60, 1]
        .into_iter()
        .find(|u| secs >= *u)
        .unwrap_or(1);
    format!(
        "{} ago",
        humantime::format_duration(Duration::from_secs(secs / unit * unit))
    )
}

/// RFC 3339 time, for JSON and detail views.
pub fn time(t: Option<SystemTime>) -> Option<String> {
    t.map(|t| humantime::format_rfc3339_seconds(t).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_round_to_their_largest_unit() {
        let now = SystemTime::now();
        assert_eq!(age(None, now), "-");
        assert_eq!(age(Some(now), now), "just now");
        let three_days = now - Duration::from_secs(3 * 86_400 + 3_700);
        assert_eq!(age(Some(three_days), now), "3days ago");
        assert_eq!(age(Some(now - Duration::from_secs(125)), now), "2m ago");
        assert_eq!(size(1536), "1.5 KiB");
    }
}
