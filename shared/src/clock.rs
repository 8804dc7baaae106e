//! The one clock: every place that reads the time (timestamps of records and events, TTLs,
//! idempotency expiry, the API-key cache) asks the [`Clock`] in [`crate::AppState`], so a
//! test can freeze or move time.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Where time comes from. The wall clock, not a monotonic one: a Lambda container frozen
/// between invocations does not see monotonic time advance, so a 30-second cache entry
/// could otherwise outlive a revocation by hours.
pub trait Clock: std::fmt::Debug + Send + Sync {
    fn now(&self) -> SystemTime;
}

/// The system's wall clock.
#[derive(Debug, Default)]
pub struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told to (tests).
#[derive(Debug)]
pub struct ManualClock(Mutex<SystemTime>);

impl ManualClock {
    pub fn at(now: SystemTime) -> Arc<Self> {
        Arc::new(Self(Mutex::new(now)))
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) += by;
    }

    pub fn rewind(&self, by: Duration) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) -= by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The shared handle every component holds.
pub type SharedClock = Arc<dyn Clock>;

/// The wall clock as a [`SharedClock`].
pub fn wall() -> SharedClock {
    Arc::new(WallClock)
}

/// `at` as RFC 3339 UTC with second precision, e.g. `2025-03-20T09:15:22Z`.
pub fn rfc3339(at: SystemTime) -> String {
    OffsetDateTime::from(at)
        .replace_nanosecond(0)
        .expect("zero nanoseconds is always valid")
        .format(&Rfc3339)
        .expect("a UTC timestamp always formats as RFC 3339")
}

/// Seconds since the Unix epoch (0 before it).
pub fn epoch_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Parses an RFC 3339 timestamp as this service writes it.
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok().map(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_seconds() {
        let at = UNIX_EPOCH + Duration::from_millis(1_742_462_122_900);
        assert_eq!(rfc3339(at), "2025-03-20T09:15:22Z");
        assert_eq!(epoch_seconds(at), 1_742_462_122);
        assert_eq!(
            parse_rfc3339("2025-03-20T09:15:22Z"),
            Some(UNIX_EPOCH + Duration::from_secs(1_742_462_122))
        );
        assert_eq!(rfc3339(SystemTime::now()).len(), 20);
    }

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let clock = ManualClock::at(UNIX_EPOCH + Duration::from_secs(100));
        assert_eq!(epoch_seconds(clock.now()), 100);
        clock.advance(Duration::from_secs(5));
        clock.rewind(Duration::from_secs(1));
        assert_eq!(epoch_seconds(clock.now()), 104);
    }
}
