//! Timing samples reduced to the figures the report shows, in milliseconds rounded to the
//! microsecond.

use std::time::Duration;

#[derive(Clone, Copy)]
pub struct Stats {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

pub fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let at = |q: usize| ms(samples[(samples.len() * q / 100).min(samples.len() - 1)]);
    Stats {
        p50: at(50),
        p99: at(99),
        max: ms(*samples.last().unwrap()),
    }
}

pub fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0
}

pub fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
