//! Byte-level scanning helpers every value rule uses. Each is bounded by its arguments, so
//! the rules stay linear in the value's length.

pub(super) fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

pub(super) fn is_b64url(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

pub(super) fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Length of the run of bytes satisfying `f` starting at `start`.
pub(super) fn run_len(b: &[u8], start: usize, f: impl Fn(u8) -> bool) -> usize {
    b.get(start..)
        .map_or(0, |rest| rest.iter().take_while(|&&c| f(c)).count())
}

/// [`run_len`], counting at most `cap` bytes: scans that only need to know whether a run
/// is longer than some bound stop there.
pub(super) fn run_len_upto(b: &[u8], start: usize, cap: usize, f: impl Fn(u8) -> bool) -> usize {
    b.get(start..).map_or(0, |rest| {
        rest.iter().take(cap).take_while(|&&c| f(c)).count()
    })
}

/// Start of the run of bytes satisfying `f` that ends at `end` (exclusive).
pub(super) fn run_start(b: &[u8], end: usize, f: impl Fn(u8) -> bool) -> usize {
    end - b[..end].iter().rev().take_while(|&&c| f(c)).count()
}

/// Whole run of `f` bytes of `min..=max` bytes ending at `end` (exclusive).
pub(super) fn run_before(
    b: &[u8],
    end: usize,
    min: usize,
    max: usize,
    f: impl Fn(u8) -> bool,
) -> bool {
    let n = b[..end]
        .iter()
        .rev()
        .take(max + 1)
        .take_while(|&&c| f(c))
        .count();
    (min..=max).contains(&n)
}

/// Positions where `needle` occurs, ASCII case-insensitively when `ci`.
pub(super) fn find_iter<'a>(
    b: &'a [u8],
    needle: &'a [u8],
    ci: bool,
) -> impl Iterator<Item = usize> + 'a {
    b.windows(needle.len())
        .enumerate()
        .filter_map(move |(i, w)| {
            let hit = if ci {
                w.eq_ignore_ascii_case(needle)
            } else {
                w == needle
            };
            hit.then_some(i)
        })
}

pub(super) fn contains(b: &[u8], needle: &[u8]) -> bool {
    find_iter(b, needle, false).next().is_some()
}

/// A whole word `word` (ASCII case-insensitive, not inside a longer word) occurs.
pub(super) fn has_word(b: &[u8], word: &[u8]) -> bool {
    find_iter(b, word, true).any(|i| {
        (i == 0 || !is_word_byte(b[i - 1]))
            && !b.get(i + word.len()).is_some_and(|&c| is_word_byte(c))
    })
}
