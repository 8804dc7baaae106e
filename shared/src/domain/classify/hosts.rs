//! A credential written in front of a host: `scheme://user:password@host`, the same without a
//! scheme (`etl:pw@db:5432/prod`), Oracle's `scott/tiger@orcl`, a token as the whole
//! userinfo (`https://TOKEN@github.com/…`) and a `.pgpass` line
//! (`host:port:database:user:password`).
//!
//! These rules guard visible text, so they fail closed: after `scheme://` a password may
//! hold any character (blanks, quotes, `/`, `#`, `@`), and a URL whose port is followed by
//! an `@` later on the line (`https://h:8443/x?mail=a@b.c`) is refused too.

use super::scan::{find_iter, is_b64url, is_blank, run_len, run_len_upto, run_start};
use super::token_formats::{body_passes, token_end, BodyCheck};

/// How far after `://` the `@` that ends a userinfo is looked for.
const MAX_USERINFO: usize = 512;

/// Can `c` start a host name or address?
fn starts_host(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'[' || c >= 0x80
}

/// A `scheme://` or `//` authority at `start` (just after the slashes) whose userinfo holds a
/// credential: a `:` and then an `@` followed by a host, anywhere before the line ends
/// (within [`MAX_USERINFO`] bytes), or a whole-token userinfo.
fn authority_has_credential(b: &[u8], start: usize, blanks_allowed: bool) -> bool {
    let window = &b[start..b.len().min(start + MAX_USERINFO)];
    let line = &window[..window
        .iter()
        .position(|&c| c == b'\n' || c == b'\r')
        .unwrap_or(window.len())];
    let hosts = line
        .iter()
        .enumerate()
        .filter(|&(i, &c)| c == b'@' && line.get(i + 1).is_some_and(|&h| starts_host(h)));
    for (at, _) in hosts {
        let userinfo = &line[..at];
        if userinfo.contains(&b':') && (blanks_allowed || !userinfo.iter().any(|&c| is_blank(c))) {
            return true;
        }
    }
    // `https://TOKEN@github.com/org/repo.git`: the userinfo is itself a token.
    let authority_len = run_len(line, 0, |c| {
        !matches!(c, b'/' | b'?' | b'#') && !c.is_ascii_whitespace()
    });
    let authority = &line[..authority_len];
    authority
        .iter()
        .rposition(|&c| c == b'@')
        .is_some_and(|at| userinfo_is_token(&authority[..at]))
}

/// A userinfo that is itself a token: a [`super::token_formats::TOKEN_FORMATS`] token, a
/// GitHub classic token (40 hex characters with letters and digits) or 32 or more base64url
/// characters with upper- and lowercase letters and digits.
fn userinfo_is_token(userinfo: &[u8]) -> bool {
    let hex40 = userinfo.len() == 40
        && userinfo.iter().all(u8::is_ascii_hexdigit)
        && body_passes(userinfo, BodyCheck::LetterAndDigit);
    let random = userinfo.len() >= 32
        && userinfo.iter().all(|&c| is_b64url(c))
        && body_passes(userinfo, BodyCheck::MixedCaseAndDigit);
    !userinfo.is_empty() && (hex40 || random || token_end(userinfo, 0) == Some(userinfo.len()))
}

/// `scheme://…:…@host` or `//…:…@host` anywhere in the value.
pub(super) fn has_url_userinfo(b: &[u8]) -> bool {
    for i in find_iter(b, b"://", false) {
        let scheme = run_start(b, i, |c| {
            c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')
        });
        if scheme < i && b[scheme].is_ascii_alphabetic() && authority_has_credential(b, i + 3, true)
        {
            return true;
        }
    }
    // Protocol-relative `//user:password@host` (no scheme), at a word's start.
    find_iter(b, b"//", false).any(|i| {
        let starts = i == 0 || b[i - 1].is_ascii_whitespace() || b"\"'`=(,;".contains(&b[i - 1]);
        starts
            && b.get(i + 2).is_some_and(|&c| c != b'/' && !is_blank(c))
            && authority_has_credential(b, i + 2, false)
    })
}

/// The runs of non-blank bytes of a value, as (start, end).
fn runs(b: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        i += run_len(b, i, |c| c.is_ascii_whitespace());
        if i >= b.len() {
            return None;
        }
        let start = i;
        i += run_len(b, i, |c| !c.is_ascii_whitespace());
        Some((start, i))
    })
}

/// A credential in front of a host without a scheme: in one run of non-blank bytes,
/// `user:password@host` or `user/password@host` (Oracle's `scott/tiger@orcl`), with a
/// non-empty user of word characters before the separator, anything non-empty after it
/// (but `//`, which makes it a URL), and a host after the `@`.
pub(super) fn has_bare_userinfo(b: &[u8]) -> bool {
    runs(b).any(|(start, end)| {
        let run = &b[start..end];
        let user_len = run_len_upto(run, 0, 256, |c| {
            c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-' | b'%' | b'+' | b'$')
        });
        if user_len == 0 || !matches!(run.get(user_len), Some(b':' | b'/')) {
            return false;
        }
        let rest = &run[user_len + 1..];
        // `scheme://…`: a URL, whose userinfo `has_url_userinfo` reads.
        if run[user_len] == b':' && rest.starts_with(b"//") {
            return false;
        }
        rest.iter()
            .enumerate()
            .any(|(i, &c)| c == b'@' && i > 0 && rest.get(i + 1).is_some_and(|&h| starts_host(h)))
    })
}

/// A `.pgpass` line: `host:port:database:user:password` — five `:`-separated fields in one
/// run (the last may hold colons), the first non-empty, the second a port (digits) or `*`,
/// the password non-empty.
pub(super) fn has_pgpass_line(b: &[u8]) -> bool {
    runs(b).any(|(start, end)| {
        // The password is everything after the fourth `:` (it may hold colons).
        let fields: Vec<&[u8]> = b[start..end].splitn(5, |&c| c == b':').collect();
        fields.len() == 5
            && !fields[0].is_empty()
            && (fields[1] == b"*"
                || (!fields[1].is_empty()
                    && fields[1].len() <= 5
                    && fields[1].iter().all(u8::is_ascii_digit)))
            && !fields[4].is_empty()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(value: &str) -> bool {
        let b = value.as_bytes();
        has_url_userinfo(b) || has_bare_userinfo(b) || has_pgpass_line(b)
    }

    #[test]
    fn a_password_before_a_host_is_found_whatever_it_holds() {
        for value in [
            "postgres://etl:S3cret@db.example.com:5432/prod",
            "postgres://etl:Pa ssS@db.example.com/x",
            "postgres://a:aA`a#A@db.example.com:5432/prod",
            "postgres://u:pa/ss@host/db",
            "postgres://u:1234/x@db.example.com",
            "redis://:password@host:6379/0",
            "ftp://me@example.com:hunter2@ftp.example.com/",
            "https://ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8@github.com/org/repo.git",
            "//u:p@host/x",
            "etl:S@db.example.com:5432/prod",
            "scott/S@orcl.example.com:1521/ORCLPDB1",
            "db.example.com:5432:prod:etl:S",
            "*:*:*:etl:S",
        ] {
            assert!(refused(value), "{value}");
        }
    }

    #[test]
    fn hosts_urls_and_addresses_without_a_credential_pass() {
        for value in [
            "db.example.com",
            "db.example.com:5432",
            "https://api.example.com/v1",
            "https://user@example.com/path",
            "postgres://etl@db.example.com:5432/prod",
            "2001:db8::1",
            "[2001:db8::1]:5432",
            "fe80::1:2:3:4",
            "git@github.com:org/repo.git",
            "ops@example.com",
            "/home/user/@scope/pkg",
            "node_modules/@types/node",
            "arn:aws:iam::123456789012:role/etl",
        ] {
            assert!(!refused(value), "{value}");
        }
    }
}
