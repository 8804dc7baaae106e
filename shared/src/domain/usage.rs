//! The usage ledger's rules: who a resolve is for (its consumer), the day buckets its counts
//! are kept in, and how a credential's usage is summed from them. Storage is in
//! `store::usage`; the design and its arithmetic in `docs/usage.md`.

use std::collections::HashMap;

/// Counts are kept for this many days (the day items expire a day after).
pub const WINDOW_DAYS: u64 = 30;
/// The usage answer lists at most this many consumers, the most recently seen first.
pub const MAX_CONSUMERS: usize = 100;
/// A credential's own `last_resolved_at` (what the `unused_since` index sorts on) is
/// rewritten by the resolves that read it at least this old (usually one a minute), so a
/// hot credential's item is not written by every resolve.
pub const MARK_INTERVAL_SECONDS: u64 = 60;
/// Default of `PURGE_QUIET_DAYS`: a purge is refused while the credential was resolved (or
/// a resolve was refused) within this many days.
pub const DEFAULT_PURGE_QUIET_DAYS: u64 = 7;

const DAY: u64 = 86_400;
const HOUR: u64 = 3_600;

/// The consumer a purpose names: the purpose up to its run part (the first `/`), without
/// surrounding spaces, e.g. `pipeline:orders-nightly` for `pipeline:orders-nightly/run-42`
/// or `pipeline:a /x`; the whole purpose when that part would be empty (`/run-1`).
pub fn consumer_of(purpose: &str) -> &str {
    match purpose.split('/').next().map(str::trim) {
        Some(consumer) if !consumer.is_empty() => consumer,
        _ => purpose,
    }
}

/// Days since the Unix epoch (UTC).
pub fn day_of(epoch: u64) -> u64 {
    epoch / DAY
}

/// The hour of its day (UTC), 0–23.
pub fn hour_of(epoch: u64) -> u8 {
    ((epoch % DAY) / HOUR) as u8
}

/// The index position an `unused_since` value stands for: a date (`2026-12-01`, RFC 3339's
/// full-date, as the contract's `format: date`) at its midnight UTC, as `YYYYMMDDhhmmss`
/// (`store::use_stamp`'s form); `None` for anything else, a date-time included.
pub fn since_stamp(text: &str) -> Option<String> {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let mut parts = text.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !digits(year, 4) || !digits(month, 2) || !digits(day, 2) {
        return None;
    }
    // A real calendar date (no 2025-02-29, no month 13).
    let month_of_year = time::Month::try_from(month.parse::<u8>().ok()?).ok()?;
    time::Date::from_calendar_date(year.parse().ok()?, month_of_year, day.parse().ok()?).ok()?;
    Some(format!("{year}{month}{day}000000"))
}

/// What happened: answered, or refused because the credential is soft-deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Resolved,
    Refused,
}

/// One day item as stored: one consumer's resolves on one day, in one shard.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DayCounts {
    pub consumer: String,
    pub day: u64,
    /// Resolves per hour of the day (UTC).
    pub hours: [u64; 24],
    pub refused: u64,
    /// Epoch seconds of the last resolve this item counted, and its purpose.
    pub last_resolved: Option<(u64, String)>,
    pub last_refused: Option<u64>,
}

/// One consumer's usage, summed over its day items.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsumerUsage {
    pub consumer: String,
    pub last_resolved: Option<(u64, String)>,
    pub last_refused: Option<u64>,
    pub resolves_24h: u64,
    pub resolves_30d: u64,
    pub refusals_30d: u64,
}

impl ConsumerUsage {
    /// The last time this consumer was seen (resolved or refused).
    pub fn last_seen(&self) -> u64 {
        let resolved = self.last_resolved.as_ref().map_or(0, |(at, _)| *at);
        resolved.max(self.last_refused.unwrap_or(0))
    }
}

/// A credential's usage: the consumers seen in the window, most recent first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub last_resolved: Option<(u64, String)>,
    pub last_refused: Option<u64>,
    pub resolves_24h: u64,
    pub resolves_30d: u64,
    pub refusals_30d: u64,
    /// At most [`MAX_CONSUMERS`].
    pub consumers: Vec<ConsumerUsage>,
    /// More consumers were seen than are listed.
    pub consumers_truncated: bool,
}

fn later(a: Option<(u64, String)>, b: Option<(u64, String)>) -> Option<(u64, String)> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.0 > a.0 { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// Sums day items into a credential's usage as of `now` (epoch seconds). The last 24 hours
/// are whole hours: this hour and the 23 before it; the last 30 days are whole days: today
/// and the 29 before it. Items outside the window are ignored (they wait for their TTL).
pub fn summarize(items: &[DayCounts], now: u64) -> Usage {
    let today = day_of(now);
    let this_hour = now / HOUR;
    let first_day = today.saturating_sub(WINDOW_DAYS - 1);
    let mut by_consumer: HashMap<&str, ConsumerUsage> = HashMap::new();
    for item in items
        .iter()
        .filter(|i| i.day >= first_day && i.day <= today)
    {
        let usage = by_consumer
            .entry(item.consumer.as_str())
            .or_insert_with(|| ConsumerUsage {
                consumer: item.consumer.clone(),
                ..ConsumerUsage::default()
            });
        for (hour, count) in item.hours.iter().enumerate() {
            let absolute = item.day * 24 + hour as u64;
            if absolute + 24 > this_hour && absolute <= this_hour {
                usage.resolves_24h += count;
            }
            usage.resolves_30d += count;
        }
        usage.refusals_30d += item.refused;
        usage.last_resolved = later(usage.last_resolved.take(), item.last_resolved.clone());
        usage.last_refused = usage.last_refused.max(item.last_refused);
    }
    let mut consumers: Vec<ConsumerUsage> = by_consumer.into_values().collect();
    consumers.sort_by(|a, b| {
        b.last_seen()
            .cmp(&a.last_seen())
            .then_with(|| a.consumer.cmp(&b.consumer))
    });
    let mut usage = Usage::default();
    for consumer in &consumers {
        usage.resolves_24h += consumer.resolves_24h;
        usage.resolves_30d += consumer.resolves_30d;
        usage.refusals_30d += consumer.refusals_30d;
        usage.last_resolved = later(usage.last_resolved.take(), consumer.last_resolved.clone());
        usage.last_refused = usage.last_refused.max(consumer.last_refused);
    }
    usage.consumers_truncated = consumers.len() > MAX_CONSUMERS;
    consumers.truncate(MAX_CONSUMERS);
    usage.consumers = consumers;
    usage
}

impl Usage {
    /// True when the credential was resolved, or a resolve of it was refused, at or after
    /// `since` (epoch seconds).
    pub fn seen_since(&self, since: u64) -> bool {
        let resolved = self
            .last_resolved
            .as_ref()
            .is_some_and(|(at, _)| *at >= since);
        resolved || self.last_refused.is_some_and(|at| at >= since)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_765_000_000; // 2025-12-06T05:46:40Z: hour 5 of day 20428

    fn item(consumer: &str, day: u64, hour: usize, count: u64, last: u64) -> DayCounts {
        let mut hours = [0; 24];
        hours[hour] = count;
        DayCounts {
            consumer: consumer.into(),
            day,
            hours,
            refused: 0,
            last_resolved: Some((last, format!("{consumer}/run"))),
            last_refused: None,
        }
    }

    #[test]
    fn consumers_are_purposes_up_to_their_run() {
        assert_eq!(
            consumer_of("pipeline:orders-nightly/run-42"),
            "pipeline:orders-nightly"
        );
        assert_eq!(consumer_of("pipeline:a/b/c"), "pipeline:a");
        assert_eq!(consumer_of("adhoc"), "adhoc");
        assert_eq!(consumer_of("/run-1"), "/run-1");
        assert_eq!(consumer_of(" /run-1"), " /run-1");
        assert_eq!(consumer_of("pipeline:a /x"), "pipeline:a");
        assert_eq!(day_of(NOW), 20_428);
        assert_eq!(hour_of(NOW), 5);
    }

    #[test]
    fn since_is_a_date() {
        assert_eq!(since_stamp("2026-12-01").as_deref(), Some("20261201000000"));
        assert_eq!(since_stamp("0001-01-01").as_deref(), Some("00010101000000"));
        assert_eq!(since_stamp("2024-02-29").as_deref(), Some("20240229000000"));
        for bad in [
            // Date-times (these, with offsets past year 9999 or before year 0, panicked once).
            "9999-12-31T23:59:59-00:01",
            "0000-01-01T00:00:00+00:01",
            "2026-12-01T10:00:00Z",
            "2025-02-29",
            "+2026-12-01",
            "2026-13-01",
            "yesterday",
            "",
            "2026-12-01T10:00:00",
            "20261201",
        ] {
            assert_eq!(since_stamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn windows_are_whole_hours_and_days() {
        let today = day_of(NOW);
        let items = [
            // This hour, and yesterday's hour 6 (23 hours ago): both within 24 hours.
            item("a", today, 5, 2, NOW - 10),
            item("a", today - 1, 6, 3, NOW - 23 * HOUR),
            // Yesterday's hour 5 is 24 hours ago: outside the 24 hours, inside 30 days.
            item("b", today - 1, 5, 7, NOW - 24 * HOUR),
            // 29 days ago: inside 30 days; 30 days ago: outside.
            item("c", today - 29, 0, 11, NOW - 29 * DAY),
            item("d", today - 30, 0, 13, NOW - 30 * DAY),
        ];
        let usage = summarize(&items, NOW);
        assert_eq!(usage.resolves_24h, 5);
        assert_eq!(usage.resolves_30d, 2 + 3 + 7 + 11);
        let names: Vec<_> = usage
            .consumers
            .iter()
            .map(|c| c.consumer.as_str())
            .collect();
        assert_eq!(
            names,
            ["a", "b", "c"],
            "most recent first; d is outside the window"
        );
        assert_eq!(usage.last_resolved, Some((NOW - 10, "a/run".to_owned())));
        assert!(usage.seen_since(NOW - 10) && !usage.seen_since(NOW - 9));
    }

    #[test]
    fn shards_of_one_consumer_add_up_and_refusals_count() {
        let today = day_of(NOW);
        let mut refused = item("a", today, 4, 0, 0);
        refused.last_resolved = None;
        refused.refused = 2;
        refused.last_refused = Some(NOW - 5);
        let items = [
            item("a", today, 5, 1, NOW - 30),
            item("a", today, 5, 4, NOW - 20),
            refused,
        ];
        let usage = summarize(&items, NOW);
        assert_eq!(usage.consumers.len(), 1);
        let a = &usage.consumers[0];
        assert_eq!((a.resolves_24h, a.refusals_30d), (5, 2));
        assert_eq!(a.last_resolved, Some((NOW - 20, "a/run".to_owned())));
        assert_eq!(a.last_seen(), NOW - 5);
        assert!(usage.seen_since(NOW - 5));
    }

    #[test]
    fn at_most_a_hundred_consumers() {
        let today = day_of(NOW);
        let items: Vec<_> = (0..150)
            .map(|i| item(&format!("c{i:03}"), today, 0, 1, NOW - 1000 + i))
            .collect();
        let usage = summarize(&items, NOW);
        assert_eq!(usage.consumers.len(), MAX_CONSUMERS);
        assert!(usage.consumers_truncated);
        assert_eq!(usage.consumers[0].consumer, "c149");
        assert_eq!(usage.resolves_30d, 150, "totals count every consumer");
    }
}
