//! How much of a core the machine takes away: a busy loop reads the clock and records every
//! gap longer than a threshold. On a shared or virtual machine those gaps (the hypervisor
//! running something else, interrupts) put a floor under any server's tail latency on that
//! core; benchmarks report them next to the percentiles.

use std::time::{Duration, Instant};

/// What the probe saw.
#[derive(Debug, Clone, Copy)]
pub struct Stalls {
    /// Gaps longer than the threshold.
    pub count: u64,
    /// Their total length.
    pub total: Duration,
    /// The longest.
    pub longest: Duration,
}

/// Spins for `duration`, counting clock gaps longer than `threshold`.
pub fn probe(duration: Duration, threshold: Duration) -> Stalls {
    let start = Instant::now();
    let mut last = start;
    let mut stalls = Stalls {
        count: 0,
        total: Duration::ZERO,
        longest: Duration::ZERO,
    };
    while last - start < duration {
        let now = Instant::now();
        let gap = now - last;
        if gap > threshold {
            stalls.count += 1;
            stalls.total += gap;
            stalls.longest = stalls.longest.max(gap);
        }
        last = now;
    }
    stalls
}
