//! SOA serial numbers: RFC 1982 serial number arithmetic and the policies that pick the next
//! serial.

use std::cmp::Ordering;

/// Compares two serials under RFC 1982 §3.2 (SERIAL_BITS = 32). `None` when the two are
/// exactly 2^31 apart, where the order is undefined.
pub fn compare(a: u32, b: u32) -> Option<Ordering> {
    if a == b {
        return Some(Ordering::Equal);
    }
    let forward = b.wrapping_sub(a);
    match forward.cmp(&(1 << 31)) {
        Ordering::Less => Some(Ordering::Less),
        Ordering::Greater => Some(Ordering::Greater),
        Ordering::Equal => None,
    }
}

/// True if `b` is after `a` (RFC 1982 §3.2).
pub fn is_after(b: u32, a: u32) -> bool {
    compare(a, b) == Some(Ordering::Less)
}

/// Adds `n` (at most 2^31 − 1) to a serial (RFC 1982 §3.1).
pub fn add(serial: u32, n: u32) -> Option<u32> {
    (n < 1 << 31).then(|| serial.wrapping_add(n))
}

/// How the next serial is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SerialPolicy {
    /// The previous serial plus one.
    Counter,
    /// Seconds since 1970 (UTC), or the previous serial plus one if that is not later.
    UnixTime,
    /// `YYYYMMDDnn`: the date (UTC) and a two-digit change counter; the previous serial plus
    /// one once a day's hundred values are used up.
    DateCounter,
}

impl SerialPolicy {
    /// The serial after `current` at time `now` (seconds since 1970); always after `current`
    /// in serial arithmetic.
    pub fn next(self, current: u32, now: u64) -> u32 {
        let increment = current.wrapping_add(1);
        let candidate = match self {
            SerialPolicy::Counter => return increment,
            SerialPolicy::UnixTime => now as u32,
            SerialPolicy::DateCounter => {
                let (year, month, day) = crate::calendar::civil_from_days((now / 86_400) as i64);
                let base = (year as u64 * 10_000 + u64::from(month) * 100 + u64::from(day)) * 100;
                let Ok(base) = u32::try_from(base) else {
                    return increment;
                };
                if current >= base && current < base + 99 {
                    return current + 1;
                }
                base
            }
        };
        if is_after(candidate, current) {
            candidate
        } else {
            increment
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1982_comparisons() {
        assert!(is_after(1, 0));
        assert!(is_after(0, u32::MAX));
        assert!(!is_after(0, 1));
        assert_eq!(compare(0, 1 << 31), None);
        assert!(is_after((1 << 31) - 1, 0));
        assert_eq!(add(u32::MAX, 1), Some(0));
        assert_eq!(add(0, 1 << 31), None);
    }

    #[test]
    fn policies() {
        let nov21 = 1_795_251_600; // 2026-11-21T09:00:00Z
        assert_eq!(SerialPolicy::Counter.next(7, nov21), 8);
        assert_eq!(SerialPolicy::UnixTime.next(7, nov21), nov21 as u32);
        assert_eq!(
            SerialPolicy::UnixTime.next(nov21 as u32 + 5, nov21),
            nov21 as u32 + 6
        );
        assert_eq!(SerialPolicy::DateCounter.next(7, nov21), 2026112100);
        assert_eq!(
            SerialPolicy::DateCounter.next(2026112100, nov21),
            2026112101
        );
        assert_eq!(
            SerialPolicy::DateCounter.next(2026112199, nov21),
            2026112200
        );
        assert_eq!(
            SerialPolicy::DateCounter.next(2026112005, nov21),
            2026112100
        );
    }
}
