//! Readable forms of the statistics: `println!("{}", square::handle().stats()?)`.

use super::{FnStats, StoreStats, Tally};
use std::fmt;

/// Bytes in the largest binary unit that keeps the number ≥ 1 (`512 B`, `1.5 KiB`).
struct Bytes(u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        if self.0 < 1024 {
            return write!(f, "{} B", self.0);
        }
        let mut value = self.0 as f64 / 1024.0;
        let mut unit = 0;
        while value >= 1024.0 && unit + 1 < UNITS.len() {
            value /= 1024.0;
            unit += 1;
        }
        write!(f, "{value:.1} {}", UNITS[unit])
    }
}

/// `3 entries, 1.5 KiB`.
impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.entries == 1 {
            "entry"
        } else {
            "entries"
        };
        write!(f, "{} {noun}, {}", self.entries, Bytes(self.bytes))
    }
}

/// `current code: 3 entries, 1.5 KiB; older code: 2 entries, 800 B in 1 version (…)`, and
/// for a stack of tiers one indented line per tier, whose bytes add up to the first line's:
/// `  memory: 3 entries, 600 B (hits 3, misses 1, promotions 0, errors 0)`.
impl fmt::Display for FnStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "current code: {}", self.current)?;
        if self.invalidated.entries > 0 {
            let older = self
                .versions
                .len()
                .saturating_sub(usize::from(self.current.entries > 0));
            let noun = if older == 1 { "version" } else { "versions" };
            write!(
                f,
                "; older code: {} in {older} {noun} (cleanup(true, false) removes them)",
                self.invalidated
            )?;
        }
        for t in &self.tiers {
            write!(
                f,
                "\n  {}: {} (hits {}, misses {}, promotions {}, errors {})",
                t.tier, t.stored, t.hits, t.misses, t.promotions, t.errors
            )?;
        }
        Ok(())
    }
}

/// One line per function, then the total.
impl fmt::Display for StoreStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (function, stats) in &self.functions {
            writeln!(f, "{function}: {stats}")?;
        }
        write!(f, "total: {}", self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Digest;

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(Bytes(0).to_string(), "0 B");
        assert_eq!(Bytes(1023).to_string(), "1023 B");
        assert_eq!(Bytes(1536).to_string(), "1.5 KiB");
        assert_eq!(Bytes(5 << 30).to_string(), "5.0 GiB");
        assert_eq!(Bytes(u64::MAX).to_string(), "16.0 EiB");
    }

    #[test]
    fn function_stats_say_what_is_current_and_what_is_old() {
        let one = Tally {
            entries: 1,
            bytes: 80,
        };
        let mut stats = FnStats {
            current: Tally {
                entries: 3,
                bytes: 1536,
            },
            ..FnStats::default()
        };
        stats.versions.insert(Digest([1; 32]), stats.current);
        assert_eq!(stats.to_string(), "current code: 3 entries, 1.5 KiB");
        stats.invalidated = one;
        stats.versions.insert(Digest([2; 32]), one);
        assert_eq!(
            stats.to_string(),
            "current code: 3 entries, 1.5 KiB; older code: 1 entry, 80 B in 1 version (cleanup(true, false) removes them)"
        );
    }

    #[test]
    fn tiers_get_a_line_each() {
        let mut stats = FnStats {
            current: Tally {
                entries: 1,
                bytes: 300,
            },
            ..FnStats::default()
        };
        stats.versions.insert(Digest([1; 32]), stats.current);
        for (tier, bytes, hits) in [("memory", 100, 2), ("fs", 200, 0)] {
            stats.tiers.push(crate::TierStats {
                tier: tier.into(),
                stored: Tally { entries: 1, bytes },
                hits,
                misses: 1,
                ..crate::TierStats::default()
            });
        }
        assert_eq!(
            stats.to_string(),
            "current code: 1 entry, 300 B\n  memory: 1 entry, 100 B (hits 2, misses 1, promotions 0, errors 0)\n  fs: 1 entry, 200 B (hits 0, misses 1, promotions 0, errors 0)"
        );
    }
}
