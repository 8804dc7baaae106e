//! A secret written as a named parameter: `password=…`, `"apiKey": "…"`, `PWD={…};`,
//! `$password => …`, `<password>…</password>`, a plist `<key>password</key><string>`, a
//! `{"Key": "DB_PASSWORD", "Value": …}` pair (either order), `.netrc`'s `password …`,
//! prose (`the password is …`), and passwords on command lines.
//!
//! These rules guard visible text, so they fail closed: once a key that reads as secret
//! ([`key_looks_secret`]) is given a value, the value is not judged (`password=`,
//! `password=none`, `password=${X}` and `password: every 90 days` all count).

use super::field_names::{key_looks_secret, names_a_secret, normalize_name};
use super::scan::{find_iter, has_word, is_blank, run_len, run_len_upto};

const MAX_KEY_LEN: usize = 64;
/// How far a value (or a sibling, or a command's option) is read.
const MAX_SCAN: usize = 256;

/// Normalized query keys that carry a credential in a URL (`?code=` OAuth authorization
/// code, `?sid=`/`?session=` session ids, `?ticket=` CAS tickets) although they do not read
/// as secret elsewhere. They count right after `?`, `&` or `#`.
pub const URL_QUERY_SECRET_KEYS: &[&str] = &["code", "sid", "session", "ticket"];

/// Normalized keys that do not read as secret as parameters although they do as names:
/// `{"Key": "env", "Value": "prod"}` (AWS tags). In a URL query (`?key=`) `key` counts: that is
/// how Google API keys are passed.
const PARAMETER_KEYS_NOT_SECRET: &[&str] = &["key", "keys"];

/// Keys whose value is named by a sibling `key`/`name` (`{"Key": "DB_PASSWORD", "Value": …}`,
/// `<add key="DbPassword" value="…"/>`).
const PAIRED_VALUE_KEY: &str = "value";
const PAIRED_NAME_KEYS: &[&str] = &["key", "name"];

fn is_key_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')
}

fn is_key_separator(c: u8) -> bool {
    c.is_ascii_whitespace() || b";&?#,{([|\"'$@:/".contains(&c)
}

/// The key before a separator at `sep_at` (blanks stepped over): `key`, `"key"`, `'key'`,
/// `['key']`. Returns (key start, key end, the position before the key and its quotes).
fn key_before(b: &[u8], sep_at: usize) -> Option<(usize, usize, usize)> {
    let mut key_end = sep_at;
    while key_end > 0 && sep_at - key_end < 8 && is_blank(b[key_end - 1]) {
        key_end -= 1;
    }
    let bracketed = key_end > 0 && b[key_end - 1] == b']';
    key_end -= usize::from(bracketed);
    let quote = match key_end.checked_sub(1).map(|p| b[p]) {
        Some(q @ (b'"' | b'\'')) => {
            key_end -= 1;
            Some(q)
        }
        _ => None,
    };
    if bracketed && quote.is_none() {
        return None;
    }
    let mut key_start = key_end;
    while key_start > 0 && key_end - key_start <= MAX_KEY_LEN && is_key_byte(b[key_start - 1]) {
        key_start -= 1;
    }
    if key_start == key_end || key_end - key_start > MAX_KEY_LEN {
        return None;
    }
    let mut before = key_start;
    if let Some(q) = quote {
        if before == 0 || b[before - 1] != q {
            return None;
        }
        before -= 1;
    }
    if bracketed {
        if before == 0 || b[before - 1] != b'[' {
            return None;
        }
    } else if before > 0 && !is_key_separator(b[before - 1]) {
        return None;
    }
    Some((key_start, key_end, before))
}

/// Longest ARN this rule recognises (IAM's limit is 2048 characters).
const MAX_ARN: usize = 2048;

/// Is the byte at `at` inside an ARN (`arn:partition:service:…`, one run of non-blanks,
/// looked back for at most [`MAX_ARN`] bytes)?
fn in_arn(b: &[u8], at: usize) -> bool {
    let lo = at.saturating_sub(MAX_ARN);
    let start = b[lo..at]
        .iter()
        .rposition(|c| c.is_ascii_whitespace())
        .map_or(lo, |p| lo + p + 1);
    b[start..].starts_with(b"arn:")
}

fn text(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or_default()
}

/// Is the `=` or `:` at `i` the separator of a parameter whose key reads as secret?
fn parameter_at(b: &[u8], i: usize) -> bool {
    let sep = b[i];
    let next = b.get(i + 1).copied();
    let prev = i.checked_sub(1).map(|p| b[p]);
    if sep == b'=' {
        // The second character of `==`, `!=`, `<=`, `>=` separates nothing (the first `=`
        // of `password==x` still does).
        if matches!(prev, Some(b'=' | b'!' | b'<' | b'>')) {
            return false;
        }
    } else if prev == Some(b':') {
        // The second colon of `a::b` separates nothing (a `scheme://` has no secret key
        // before it, and `password:/x` or `password::x` still count).
        return false;
    }
    let Some((key_start, key_end, before)) = key_before(b, i) else {
        return false;
    };
    let key = text(&b[key_start..key_end]);
    // An unquoted `key:value` with no blank after the colon is a `host:port`, an image tag
    // (`auth-service:1.2.3`) or an ARN field when the key has a `.` or `-` in it or the run
    // is an ARN; `password:S` still counts.
    if sep == b':'
        && !matches!(next, Some(b' ' | b'\t' | b'"' | b'\''))
        && !matches!(b.get(key_end), Some(b'"' | b'\''))
        && (key.contains(['.', '-']) || in_arn(b, key_start))
    {
        return false;
    }
    let normalized = normalize_name(key);
    if normalized == PAIRED_VALUE_KEY {
        return paired_name_is_secret(b, before, i);
    }
    let in_query = before > 0 && matches!(b[before - 1], b'?' | b'&' | b'#');
    if in_query && URL_QUERY_SECRET_KEYS.contains(&normalized.as_str()) {
        return true;
    }
    (in_query || !PARAMETER_KEYS_NOT_SECRET.contains(&normalized.as_str())) && key_looks_secret(key)
}

/// A `key`/`name` sibling of the `value` key at `key_at..sep_at`, in the same element or
/// object (before or after it, at most [`MAX_SCAN`] bytes away, not across `<`, `>`, `{`,
/// `}`), whose quoted value reads as secret.
fn paired_name_is_secret(b: &[u8], key_at: usize, sep_at: usize) -> bool {
    let lo = key_at.saturating_sub(MAX_SCAN);
    let hi = b.len().min(sep_at + MAX_SCAN);
    let start = b[lo..key_at]
        .iter()
        .rposition(|&c| matches!(c, b'<' | b'>' | b'{' | b'}'))
        .map_or(lo, |p| lo + p + 1);
    let end = b[sep_at..hi]
        .iter()
        .position(|&c| matches!(c, b'<' | b'>' | b'{' | b'}'))
        .map_or(hi, |p| sep_at + p);
    (start..end).filter(|&j| j != sep_at).any(|j| {
        if !matches!(b[j], b'=' | b':') {
            return false;
        }
        let Some((ks, ke, before)) = key_before(b, j) else {
            return false;
        };
        if before < start || !PAIRED_NAME_KEYS.contains(&normalize_name(text(&b[ks..ke])).as_str())
        {
            return false;
        }
        let v = j + 1 + run_len(b, j + 1, is_blank).min(8);
        let Some(&q @ (b'"' | b'\'')) = b.get(v) else {
            return false;
        };
        let len = run_len_upto(b, v + 1, MAX_KEY_LEN + 1, |c| c != q && c != b'\n');
        let name = text(&b[v + 1..v + 1 + len]);
        len <= MAX_KEY_LEN
            && b.get(v + 1 + len) == Some(&q)
            && !PARAMETER_KEYS_NOT_SECRET.contains(&normalize_name(name).as_str())
            && key_looks_secret(name)
    })
}

/// `<password>…</password>` (also with a namespace prefix), or a plist
/// `<key>password</key>` followed by a value element: an element whose name (or key) reads
/// as secret, with any content.
fn xml_element_at(b: &[u8], i: usize) -> bool {
    let name_start = i + 1;
    let name_len = run_len_upto(b, name_start, MAX_KEY_LEN + 1, |c| {
        is_key_byte(c) || c == b':'
    });
    if name_len == 0 || name_len > MAX_KEY_LEN || b.get(name_start + name_len) != Some(&b'>') {
        return false;
    }
    let name = &b[name_start..name_start + name_len];
    let content_start = name_start + name_len + 1;
    let content_len = run_len_upto(b, content_start, MAX_SCAN, |c| c != b'<');
    let content = &b[content_start..content_start + content_len];
    let local = name.rsplit(|&c| c == b':').next().unwrap_or(name);
    if key_looks_secret(text(local)) {
        return true;
    }
    // plist: `<key>password</key>` names the next element's content.
    local == b"key" && key_looks_secret(text(content.trim_ascii()))
}

/// `password is X`, `the token was X`: a word holding a [`NAME_MARKERS`](super::field_names::NAME_MARKERS) marker (`password`,
/// `secret`, `token`…; not a short word such as `auth` or `key`, which prose uses for other
/// things), blanks, `is`/`was`/`are`, blanks and anything.
fn prose_at(b: &[u8], i: usize) -> bool {
    let word_len = run_len_upto(b, i, MAX_KEY_LEN + 1, |c| {
        c.is_ascii_alphanumeric() || c == b'_'
    });
    if word_len == 0 || word_len > MAX_KEY_LEN || (i > 0 && b[i - 1].is_ascii_alphanumeric()) {
        return false;
    }
    let mut j = i + word_len;
    let blanks = run_len(b, j, is_blank);
    if blanks == 0 {
        return false;
    }
    j += blanks;
    let verb = [&b"is"[..], b"was", b"are"].into_iter().find(|v| {
        b[j..].len() > v.len()
            && b[j..j + v.len()].eq_ignore_ascii_case(v)
            && is_blank(b[j + v.len()])
    });
    let Some(verb) = verb else {
        return false;
    };
    let value_at = j + verb.len() + run_len(b, j + verb.len(), is_blank);
    value_at < b.len() && names_a_secret(text(&b[i..i + word_len]))
}

/// `.netrc`: `password X` or `passwd X` in a value that also has a `machine`, `login` or
/// `default` word.
fn has_netrc_password(b: &[u8]) -> bool {
    let netrc = [&b"machine"[..], b"login", b"default"]
        .iter()
        .any(|w| has_word(b, w));
    netrc
        && [&b"password"[..], b"passwd"].iter().any(|w| {
            find_iter(b, w, true).any(|i| {
                let after = i + w.len();
                (i == 0 || b[i - 1].is_ascii_whitespace())
                    && run_len(b, after, is_blank) > 0
                    && after + run_len(b, after, is_blank) < b.len()
            })
        })
}

/// A secret written as a named parameter, XML element, prose or `.netrc` line.
pub(super) fn has_secret_parameter(b: &[u8]) -> bool {
    b.iter().enumerate().any(|(i, &c)| match c {
        b'=' | b':' => parameter_at(b, i),
        b'<' => xml_element_at(b, i),
        c if c.is_ascii_alphabetic() => prose_at(b, i),
        _ => false,
    }) || has_netrc_password(b)
}

/// Commands that take a password in an option of their own: (command, option, where the
/// password is). Any command's long option that reads as secret (`--password X`,
/// `--api-key=X`) counts too.
pub const COMMAND_LINE_PASSWORDS: &[(&str, &str, CommandArg)] = &[
    ("mysql", "-p", CommandArg::Glued),
    ("mysqldump", "-p", CommandArg::Glued),
    ("mysqladmin", "-p", CommandArg::Glued),
    ("mysqlimport", "-p", CommandArg::Glued),
    ("mariadb", "-p", CommandArg::Glued),
    ("mariadb-dump", "-p", CommandArg::Glued),
    ("sshpass", "-p", CommandArg::GluedOrNext),
    ("redis-cli", "-a", CommandArg::Next),
    ("curl", "-u", CommandArg::UserPassword),
    ("curl", "--user", CommandArg::UserPassword),
];

/// Where a [`COMMAND_LINE_PASSWORDS`] option's password is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandArg {
    /// Directly after the option (`-pX`); `-p` alone prompts.
    Glued,
    /// After blanks (`-a X`).
    Next,
    /// Either (`-pX`, `-p X`).
    GluedOrNext,
    /// `user:password` glued or after blanks or `=`; the part after the first `:`.
    UserPassword,
}

fn option_password(line: &[u8], at: usize, arg: CommandArg) -> bool {
    let arg_at = |s: usize| {
        let s = s.min(line.len());
        let len = run_len_upto(line, s, MAX_SCAN, |c| !c.is_ascii_whitespace());
        &line[s..s + len]
    };
    let glued = line.get(at).is_some_and(|&c| !is_blank(c));
    let blanks = run_len_upto(line, at, 8, is_blank);
    let candidate = match arg {
        CommandArg::Glued => glued.then(|| arg_at(at)),
        CommandArg::Next => (!glued && blanks > 0).then(|| arg_at(at + blanks)),
        CommandArg::GluedOrNext => Some(arg_at(at + blanks)),
        CommandArg::UserPassword => {
            let eq = usize::from(line.get(at) == Some(&b'='));
            let user_pass = arg_at(at + eq + if eq == 1 { 0 } else { blanks });
            user_pass
                .iter()
                .position(|&c| c == b':')
                .map(|colon| &user_pass[colon + 1..])
        }
    };
    candidate.is_some_and(|p| !p.is_empty() && !p.starts_with(b"-"))
}

/// A [`COMMAND_LINE_PASSWORDS`] command followed on its line by its password option with a
/// password, or any `--option` that reads as secret followed by `=` or blanks and a value.
pub(super) fn has_command_line_password(b: &[u8]) -> bool {
    let is_cmd_byte = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.');
    let listed = COMMAND_LINE_PASSWORDS.iter().any(|&(cmd, opt, arg)| {
        find_iter(b, cmd.as_bytes(), false).any(|i| {
            let end = i + cmd.len();
            if (i > 0 && is_cmd_byte(b[i - 1])) || !b.get(end).is_some_and(|&c| is_blank(c)) {
                return false;
            }
            let line = &b[end..b.len().min(end + MAX_SCAN)];
            let line = &line[..line.iter().position(|&c| c == b'\n').unwrap_or(line.len())];
            find_iter(line, opt.as_bytes(), false)
                .any(|o| is_blank(line[o - 1]) && option_password(line, o + opt.len(), arg))
        })
    });
    listed
        || find_iter(b, b"--", false).any(|i| {
            let name_len = run_len_upto(b, i + 2, MAX_KEY_LEN + 1, |c| {
                c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_')
            });
            let after = i + 2 + name_len;
            let starts = i == 0 || b[i - 1].is_ascii_whitespace();
            let valued = b.get(after) == Some(&b'=')
                || (run_len(b, after, is_blank) > 0
                    && after + run_len(b, after, is_blank) < b.len());
            starts
                && (1..=MAX_KEY_LEN).contains(&name_len)
                && valued
                && key_looks_secret(text(&b[i + 2..after]))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(value: &str) -> bool {
        has_secret_parameter(value.as_bytes()) || has_command_line_password(value.as_bytes())
    }

    #[test]
    fn a_secret_parameter_counts_whatever_its_value() {
        for value in [
            "jdbc:mysql://db.example.com/prod?user=a&password=on,$00",
            "jdbc:mysql://db.example.com/prod?user=a&password=&a#Aaa",
            "jdbc:mysql://db.example.com/prod?user=a&password=:];aaA",
            "Server=db;User ID=u;Password=p;",
            "Driver={ODBC};PWD={p;ss};",
            "password=",
            "password:S",
            "password: every 90 days",
            "\"apiKey\": \"abc\"",
            "$password => 'x'",
            "ENV['PASSWORD'] = 'x'",
            "https://api.example.com/v1/items?key=S",
            "https://example.com/cb?code=abc",
            "<password>hunter2</password>",
            "<ns:token>x</ns:token>",
            "<key>password</key><string>S</string>",
            "{\"Key\": \"DB_PASSWORD\", \"Value\": \"S\"}",
            "{\"Value\": \"S\", \"Key\": \"DB_PASSWORD\"}",
            "<add key=\"DbPassword\" value=\"S\"/>",
            "the password is S",
            "Token was abc",
            "machine db.example.com login etl password S",
            "mysql -u root -pS db",
            "sshpass -p S ssh host",
            "redis-cli -a S",
            "curl -u etl:S https://x",
            "tool --password S",
            "tool --api-key=S",
        ] {
            assert!(refused(value), "{value}");
        }
    }

    #[test]
    fn settings_without_a_secret_key_pass() {
        for value in [
            "db.example.com",
            "https://api.example.com/v1/items?page=2&sort_key=name",
            "token_url=https://auth.example.com/token",
            "ssl_mode=require",
            "host:8443",
            "a == b",
            "Password policy: strict",
            "mysql -u root -p db",
            "{\"Key\": \"env\", \"Value\": \"prod\"}",
            "the password rotation is monthly",
            "see --help for options",
        ] {
            assert!(!refused(value), "{value}");
        }
    }
}
