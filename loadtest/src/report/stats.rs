//! The summary of repeated figures: median and range.

/// Median, minimum and maximum of repeated measurements.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// The median (the mean of the middle two for an even count).
    pub median: f64,
    /// The smallest.
    pub min: f64,
    /// The largest.
    pub max: f64,
    /// How many.
    pub count: usize,
}

impl Summary {
    /// Summarizes `values`; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Self> {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Some(Self {
            median,
            min: sorted[0],
            max: sorted[n - 1],
            count: n,
        })
    }

    /// The range as a share of the median, in percent (0 for a single value).
    pub fn spread_percent(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            100.0 * (self.max - self.min) / self.median.abs()
        }
    }
}

/// A figure with about three significant digits, thousands grouped with commas.
pub fn format(value: f64) -> String {
    let abs = value.abs();
    if abs >= 1000.0 {
        let sign = if value < 0.0 { "-" } else { "" };
        format!("{sign}{}", whole(abs.round() as u64))
    } else if abs >= 100.0 {
        format!("{value:.0}")
    } else if abs >= 10.0 {
        format!("{value:.1}")
    } else if abs >= 0.1 || abs == 0.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

/// A whole number with its thousands grouped: `1,000`, `50`.
pub fn whole(n: u64) -> String {
    let mut digits = n.to_string();
    let mut grouped = String::new();
    while digits.len() > 3 {
        let tail = digits.split_off(digits.len() - 3);
        grouped = format!(",{tail}{grouped}");
    }
    digits + &grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        let s = Summary::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.count), (2.0, 1.0, 3.0, 3));
        assert_eq!(Summary::of(&[4.0, 1.0, 2.0, 3.0]).unwrap().median, 2.5);
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(Summary::of(&[f64::NAN]), None);
        assert!((Summary::of(&[9.0, 10.0, 11.0]).unwrap().spread_percent() - 20.0).abs() < 1e-9);
    }

    #[test]
    fn figures_keep_three_digits() {
        assert_eq!(format(1234567.4), "1,234,567");
        assert_eq!(format(-4321.0), "-4,321");
        assert_eq!(format(999.4), "999");
        assert_eq!(format(12.34), "12.3");
        assert_eq!(format(5.678), "5.68");
        assert_eq!(format(0.0123), "0.012");
        assert_eq!(format(0.0), "0.00");
        assert_eq!(whole(50), "50");
        assert_eq!(whole(1_000), "1,000");
    }
}
