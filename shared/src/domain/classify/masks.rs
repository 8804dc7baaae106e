//! Masking placeholders: what a UI sends back instead of a secret it never received
//! (`********`, `[REDACTED]`, `<hidden>`). A secret field refuses them, so that a form
//! round-trip never overwrites a secret with its mask.

/// Characters UIs mask secrets with.
pub const MASK_CHARS: &[char] = &['*', '＊', '•', '●', '∙', '·', '⋅', '◦', '■', '▪', '#'];

/// Placeholder words accepted bare or wrapped (`REDACTED`, `[FILTERED]`, `***masked***`).
pub const MASK_WORDS: &[&str] = &[
    "redacted",
    "masked",
    "filtered",
    "censored",
    "obfuscated",
    "concealed",
];

/// Placeholder words accepted only when wrapped in brackets, quotes or mask characters
/// (`<hidden>`, `(hidden)`, `<secret>`, `[encrypted]`); bare, they may be real (if weak)
/// secrets.
pub const MASK_WRAPPED_WORDS: &[&str] = &[
    "hidden",
    "secret",
    "password",
    "passwd",
    "sensitive",
    "protected",
    "private",
    "encrypted",
    "omitted",
    "removed",
    "not shown",
    "token",
    "api key",
    "key",
    "value",
];

/// Characters stripped from both ends to find a wrapped placeholder word.
pub const MASK_WRAPPERS: &str = "<>[](){}*_-#%\"'`";

/// Masking placeholders a UI may send back instead of the real secret (trimmed,
/// case-insensitive). True for:
/// * a run of three or more [`MASK_CHARS`] that, with the other mask characters, make up at
///   least half of the non-whitespace characters (`***`, `••••`, `****1234`; not
///   `p***word`);
/// * three or more `x`/`X` and nothing else but `-` or spaces (`xxxxxxxx`, `XXXX-XXXX`);
/// * a [`MASK_WORDS`] word, bare or wrapped, or a [`MASK_WRAPPED_WORDS`] word wrapped in
///   [`MASK_WRAPPERS`] characters (`_`, `-` and runs of spaces inside the word read as one
///   space).
pub fn is_mask_placeholder(value: &str) -> bool {
    let v = value.trim();
    if v.is_empty() {
        return false;
    }
    // Mask characters.
    let (mut total, mut masked, mut run, mut longest) = (0usize, 0usize, 0usize, 0usize);
    for c in v.chars().filter(|c| !c.is_whitespace()) {
        total += 1;
        if MASK_CHARS.contains(&c) {
            masked += 1;
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    if longest >= 3 && masked * 2 >= total {
        return true;
    }
    // x-runs.
    let xs = v.chars().filter(|c| matches!(c, 'x' | 'X')).count();
    if xs >= 3 && v.chars().all(|c| matches!(c, 'x' | 'X' | '-' | ' ')) {
        return true;
    }
    // Words.
    let core = v.trim_matches(|c: char| c.is_whitespace() || MASK_WRAPPERS.contains(c));
    if core.is_empty() || core.len() > 32 {
        return false;
    }
    let wrapped = core.len() != v.len();
    let mut word = String::with_capacity(core.len());
    for part in core
        .split(|c: char| c == '_' || c == '-' || c.is_whitespace())
        .filter(|p| !p.is_empty())
    {
        if !word.is_empty() {
            word.push(' ');
        }
        word.push_str(&part.to_lowercase());
    }
    MASK_WORDS.contains(&word.as_str()) || (wrapped && MASK_WRAPPED_WORDS.contains(&word.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Examples of values [`is_mask_placeholder`] refuses (each is checked by a test).
    const MASK_PLACEHOLDERS: &[&str] = &[
        "***",
        "********",
        "•••",
        "●●●●",
        "****1234",
        "xxxxxxxx",
        "XXXX-XXXX-XXXX",
        "<redacted>",
        "[REDACTED]",
        "[FILTERED]",
        "REDACTED",
        "***REDACTED***",
        "<hidden>",
        "(hidden)",
        "<secret>",
        "{{masked}}",
        "__SECRET__",
    ];

    #[test]
    fn mask_placeholders() {
        for v in MASK_PLACEHOLDERS {
            assert!(is_mask_placeholder(v), "{v}");
        }
        for v in [
            "  ********  ",
            "*****",
            "redacted",
            "[redacted]",
            "<Hidden>",
            "( hidden )",
            "[ENCRYPTED]",
            "xxx",
            "XXXXXXXXXXXXXXXX",
            "＊＊＊",
            "••••abcd",
            "<not shown>",
            "-- MASKED --",
        ] {
            assert!(is_mask_placeholder(v), "{v}");
        }
        for v in [
            "hunter2",
            "p***word",
            "secret",
            "password",
            "hidden",
            "x",
            "xx",
            "**",
            "xylophone",
            "correct horse battery staple",
            "",
            "   ",
            "ab*cd*ef",
            "xxx1",
            "<mysecret>",
        ] {
            assert!(!is_mask_placeholder(v), "{v}");
        }
    }
}
