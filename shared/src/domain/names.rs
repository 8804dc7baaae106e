//! Credential names, compared as people read them.
//!
//! [`check_name`] refuses names that cannot be read reliably (empty, too long, invisible or
//! unassigned characters); [`name_key`] is the uniqueness key within a workspace, equal for
//! names that read the same: `café` (composed) and `cafe` + U+0301, `STRASSE` and `straße`,
//! fullwidth `ｐｒｏｄ` and `prod`, `ﬁle` and `FILE`.
//!
//! Unicode data comes from `unicode-normalization` (NFKC), `caseless` (full case folding)
//! and `unicode-general-category` (general categories). The category data is Unicode 16.0,
//! the same version as the case folding data, so every character [`check_name`] accepts is
//! one the folding knows (a test pins this).

use unicode_general_category::{get_general_category, GeneralCategory};
use unicode_normalization::UnicodeNormalization;

/// Longest accepted name, in characters (Unicode scalar values), before normalization.
pub const MAX_NAME_CHARS: usize = 128;

pub const ISSUE_EMPTY: &str = "must not be empty or consist only of spaces or invisible characters";
pub const ISSUE_TOO_LONG: &str = "must be at most 128 characters";
pub const ISSUE_CONTROL: &str = "must not contain control characters";
pub const ISSUE_FORMAT: &str =
    "must not contain invisible format characters (zero-width, bidirectional or similar)";
pub const ISSUE_UNASSIGNED: &str = "must not contain unassigned code points";
pub const ISSUE_PRIVATE_USE: &str = "must not contain private-use characters";
pub const ISSUE_SURROGATE: &str = "must not contain surrogate code points";
pub const ISSUE_SEPARATOR: &str = "must not contain line or paragraph separators";
/// Longest folded key (UTF-8 bytes) a name may have: its reservation's sort key is
/// `NAME#` + the key, and DynamoDB refuses sort keys over 1024 bytes. Folding can grow a
/// name many times over (U+FDFA becomes 18 characters).
pub const MAX_NAME_KEY_BYTES: usize = 1000;
pub const ISSUE_KEY_TOO_LONG: &str =
    "is too long once normalized (its case-folded form exceeds 1000 bytes)";

/// Characters that render as nothing (or as blank space, or only select a glyph variant)
/// although their general category is not Cc, Cf or Cn, which [`check_name`] refuses anyway
/// and none of which is whitespace:
///
/// * Default_Ignorable_Code_Point characters (Unicode DerivedCoreProperties.txt): the
///   combining grapheme joiner U+034F, the Hangul fillers U+115F–U+1160, U+3164 and U+FFA0,
///   the Khmer inherent vowels U+17B4–U+17B5, the Mongolian free variation selectors
///   U+180B–U+180D and U+180F, the variation selectors U+FE00–U+FE0F and U+E0100–U+E01EF;
/// * blank-rendering characters that are not Default_Ignorable: U+2800 BRAILLE PATTERN BLANK
///   (So, a favourite "invisible" name character), U+16FE4 KHITAN SMALL SCRIPT FILLER (Mn)
///   and U+1D159 MUSICAL SYMBOL NULL NOTEHEAD (So).
///
/// [`name_key`] drops them and a name of nothing else counts as empty. The general-category
/// crate cannot tell these apart from visible characters (none of the three crates exposes
/// Default_Ignorable_Code_Point), so the list is kept by hand; a test checks each range
/// against the general-category data.
pub const IGNORABLE_VISIBLE_CATEGORY: &[(char, char)] = &[
    ('\u{034F}', '\u{034F}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180B}', '\u{180D}'),
    ('\u{180F}', '\u{180F}'),
    ('\u{2800}', '\u{2800}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FE00}', '\u{FE0F}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{16FE4}', '\u{16FE4}'),
    ('\u{1D159}', '\u{1D159}'),
    ('\u{E0100}', '\u{E01EF}'),
];

fn is_ignorable(c: char) -> bool {
    IGNORABLE_VISIBLE_CATEGORY
        .iter()
        .any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// Checks a submitted name. The error is a fixed English issue text that never quotes the
/// name. In order: not empty, nor only whitespace and [`IGNORABLE_VISIBLE_CATEGORY`]
/// characters; at most [`MAX_NAME_CHARS`] characters; no character of general category Cc
/// (control), Cf (format: zero-width space/joiner, BOM, bidi controls, soft hyphen, …), Cn
/// (unassigned in Unicode 16.0), Co (private use), Cs (surrogate), Zl or Zp (line and
/// paragraph separators).
pub fn check_name(name: &str) -> Result<(), &'static str> {
    if name.chars().all(|c| c.is_whitespace() || is_ignorable(c)) {
        return Err(ISSUE_EMPTY);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ISSUE_TOO_LONG);
    }
    for c in name.chars() {
        let issue = match get_general_category(c) {
            GeneralCategory::Control => ISSUE_CONTROL,
            GeneralCategory::Format => ISSUE_FORMAT,
            GeneralCategory::Unassigned => ISSUE_UNASSIGNED,
            GeneralCategory::PrivateUse => ISSUE_PRIVATE_USE,
            GeneralCategory::Surrogate => ISSUE_SURROGATE,
            GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator => ISSUE_SEPARATOR,
            _ => continue,
        };
        return Err(issue);
    }
    if name_key(name).len() > MAX_NAME_KEY_BYTES {
        return Err(ISSUE_KEY_TOO_LONG);
    }
    Ok(())
}

/// The uniqueness key: NFKC, full Unicode case folding (C+F, no Turkic special case),
/// [`IGNORABLE_VISIBLE_CATEGORY`] characters removed, NFKC again, then whitespace trimmed
/// at both ends and every inner run of whitespace replaced by one U+0020 space. Applying it
/// to its own result changes nothing.
pub fn name_key(name: &str) -> String {
    let nfkc: String = name.nfkc().collect();
    let folded = caseless::default_case_fold_str(&nfkc);
    let stable: String = folded
        .chars()
        .filter(|&c| !is_ignorable(c))
        .nfkc()
        .collect();
    let mut key = String::with_capacity(stable.len());
    for word in stable.split_whitespace() {
        if !key.is_empty() {
            key.push(' ');
        }
        key.push_str(word);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A short name can fold to a key DynamoDB would refuse as a sort key (issue #19):
    /// such names are a 400, never a retryable 503.
    #[test]
    fn names_whose_folded_key_is_too_long_are_refused() {
        for name in ["\u{FDFA}".repeat(31), "\u{3316}".repeat(128)] {
            assert!(name.chars().count() <= MAX_NAME_CHARS);
            assert!(name_key(&name).len() > MAX_NAME_KEY_BYTES);
            assert_eq!(check_name(&name), Err(ISSUE_KEY_TOO_LONG));
        }
        let longest_ascii = "a".repeat(MAX_NAME_CHARS);
        assert_eq!(check_name(&longest_ascii), Ok(()));
    }

    #[test]
    fn look_alikes_share_a_key() {
        let pairs = [
            ("café", "cafe\u{301}"),
            ("STRASSE", "straße"),
            ("Straße", "strasse"),
            ("ｐｒｏｄ", "prod"),
            ("ﬁle", "FILE"),
            ("Prod DB", "prod db"),
            ("  prod db  ", "prod db"),
            ("prod\u{00A0}db", "prod db"),
            ("prod  \t db", "prod db"),
            ("prod\u{3000}db", "prod db"),
            ("ΣΊΣΥΦΟΣ", "σίσυφος"),
            ("Ǆ", "dž"),
            ("Ⅻ", "xii"),
            ("㎏", "kg"),
            ("x²", "x2"),
            ("Å", "å"),
            ("\u{212B}", "å"),
            ("❤\u{FE0F} prod", "❤ prod"),
            ("prod\u{034F}", "prod"),
            ("a\u{034F}\u{0308}", "ä"),
            ("prod\u{2800}", "prod"),
            ("pr\u{2800}od", "prod"),
            ("prod\u{16FE4}db", "proddb"),
            ("\u{1D159}prod", "prod"),
            ("prod\u{3164}", "prod"),
            ("prod\u{FFA0}", "prod"),
        ];
        for (a, b) in pairs {
            assert_eq!(name_key(a), name_key(b), "{a:?} vs {b:?}");
        }
    }

    /// Look-alike characters from other scripts and hyphen variants are out of scope by
    /// design (no UTS #39 confusable folding): they keep distinct keys.
    #[test]
    fn confusables_are_not_folded() {
        let pairs = [
            ("prod", "\u{0440}\u{043E}d"),
            ("a", "\u{0430}"),
            ("ops", "\u{03BF}ps"),
            ("prod-db", "prod\u{2010}db"),
            ("prod-db", "prod\u{2212}db"),
        ];
        for (a, b) in pairs {
            assert_ne!(name_key(a), name_key(b), "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn distinct_names_keep_distinct_keys() {
        let pairs = [
            ("prod", "prod2"),
            ("a", "á"),
            ("prod db", "proddb"),
            ("prod-db", "prod_db"),
            ("i", "ı"),
            ("Zürich", "Zurich"),
            ("数据库", "数据"),
        ];
        for (a, b) in pairs {
            assert_ne!(name_key(a), name_key(b), "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn refuses_unreadable_names() {
        let cases = [
            ("", ISSUE_EMPTY),
            ("   ", ISSUE_EMPTY),
            ("\u{3164}", ISSUE_EMPTY),
            ("\u{FE0F} \u{115F}", ISSUE_EMPTY),
            ("\u{2800}", ISSUE_EMPTY),
            ("\u{2800}\u{2800} \u{2800}", ISSUE_EMPTY),
            ("\u{16FE4}", ISSUE_EMPTY),
            ("\u{1D159}", ISSUE_EMPTY),
            ("\u{FFA0}\u{1160}", ISSUE_EMPTY),
            ("prod\u{200B}db", ISSUE_FORMAT),
            ("prod\u{200D}", ISSUE_FORMAT),
            ("prod\u{202E}bd", ISSUE_FORMAT),
            ("\u{FEFF}prod", ISSUE_FORMAT),
            ("pro\u{00AD}d", ISSUE_FORMAT),
            ("prod\u{2066}x\u{2069}", ISSUE_FORMAT),
            ("prod\u{E000}", ISSUE_PRIVATE_USE),
            ("prod\u{F0000}", ISSUE_PRIVATE_USE),
            ("prod\u{0378}", ISSUE_UNASSIGNED),
            ("prod\u{10FFFF}", ISSUE_UNASSIGNED),
            ("prod\ndb", ISSUE_CONTROL),
            ("prod\tdb", ISSUE_CONTROL),
            ("prod\u{0007}", ISSUE_CONTROL),
            ("prod\u{0085}", ISSUE_CONTROL),
            ("prod\u{2028}db", ISSUE_SEPARATOR),
            ("prod\u{2029}db", ISSUE_SEPARATOR),
        ];
        for (name, issue) in cases {
            assert_eq!(check_name(name), Err(issue), "{name:?}");
        }
        let long = "a".repeat(MAX_NAME_CHARS + 1);
        assert_eq!(check_name(&long), Err(ISSUE_TOO_LONG));
        assert!(ISSUE_TOO_LONG.contains(&MAX_NAME_CHARS.to_string()));
        assert_eq!(check_name(&"é".repeat(MAX_NAME_CHARS)), Ok(()));
    }

    #[test]
    fn accepts_ordinary_names() {
        for name in [
            "Zürich-数据库",
            "staging postgres (etl)",
            "prod",
            "Prod DB — EU",
            "❤️ team",
            "Ελληνικά",
            "مرحبا",
            "עברית",
            "한국어",
            "x²",
            " padded ",
        ] {
            assert_eq!(check_name(name), Ok(()), "{name:?}");
        }
    }

    #[test]
    fn issues_never_quote_the_name() {
        let names = [
            "orbital-prod\u{200B}",
            "\u{E000}quasar",
            "nebula\u{0378}",
            "",
            "pulsar\u{2028}db",
        ];
        for name in names {
            let err = check_name(name).expect_err("refused");
            assert!(name.is_empty() || !format!("{err:?}").contains(name));
            let visible = name.trim_matches(|c: char| !c.is_alphanumeric());
            assert!(visible.is_empty() || !err.contains(visible), "{err}");
        }
        let long = "z".repeat(200);
        assert!(!check_name(&long).unwrap_err().contains("zzz"));
    }

    #[test]
    fn unicode_versions_agree() {
        // Categories no newer than the case folding data: every accepted character is
        // assigned in the folding's Unicode version. Normalization is stable for it too.
        assert!(unicode_general_category::UNICODE_VERSION <= caseless::UNICODE_VERSION);
        let (ma, mi, pa) = unicode_normalization::UNICODE_VERSION;
        assert!(
            (u64::from(ma), u64::from(mi), u64::from(pa))
                >= unicode_general_category::UNICODE_VERSION
        );
    }

    #[test]
    fn ignorable_table_matches_category_data() {
        for &(lo, hi) in IGNORABLE_VISIBLE_CATEGORY {
            for c in lo..=hi {
                let cat = get_general_category(c);
                assert!(
                    matches!(
                        cat,
                        GeneralCategory::NonspacingMark
                            | GeneralCategory::OtherLetter
                            | GeneralCategory::OtherSymbol
                    ),
                    "U+{:04X} {:?}",
                    c as u32,
                    cat
                );
            }
        }
    }

    #[test]
    fn key_is_idempotent_for_every_accepted_character() {
        let mut checked = 0;
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let s = c.to_string();
            if check_name(&s).is_err() {
                continue;
            }
            let k = name_key(&s);
            assert_eq!(name_key(&k), k, "U+{:04X}", c as u32);
            checked += 1;
        }
        assert!(checked > 100_000, "{checked}");
    }

    #[test]
    fn key_is_idempotent_for_mixed_names() {
        for name in [
            "Ǆemal ΣΊΣΥΦΟΣ ﬃ",
            "ᾼ\u{0345}\u{0301}",
            "\u{1E9E}tra\u{1E9E}e",
            "Ĳssel ㍿",
            "a\u{0301}\u{0323}",
            "ǰ\u{0323}",
        ] {
            let k = name_key(name);
            assert_eq!(name_key(&k), k, "{name:?}");
        }
    }

    /// Ranges of the characters for which `keep` holds, as a regex character class for the
    /// YAML double-quoted `pattern` of openapi.yaml: BMP characters as the regex escape
    /// `\uXXXX`, others as the YAML escape `\UXXXXXXXX` (the spec then holds the character
    /// itself, which every regex dialect reads the same).
    fn class(keep: impl Fn(char) -> bool) -> String {
        let mut out = String::from("[");
        let mut start: Option<u32> = None;
        let escape = |c: u32| {
            if c <= 0xFFFF {
                format!("\\\\u{c:04X}")
            } else {
                format!("\\U{c:08X}")
            }
        };
        let close = |from: u32, to: u32, out: &mut String| {
            out.push_str(&escape(from));
            if to > from {
                out.push('-');
                out.push_str(&escape(to));
            }
        };
        for code in 0..=0x11_0000u32 {
            let kept = char::from_u32(code).is_some_and(&keep);
            match (kept, start) {
                (true, None) => start = Some(code),
                (false, Some(from)) => {
                    // Surrogates are not chars: a range may not span them.
                    close(from, code - 1, &mut out);
                    start = None;
                }
                _ => {}
            }
        }
        out.push(']');
        out
    }

    /// The `Name` pattern openapi.yaml must carry: [`check_name`]'s character rules, which
    /// JSON Schema can state exactly (some character that is not blank, none refused).
    fn name_pattern() -> String {
        let accepted = |c: char| check_name(&format!("x{c}")).is_ok();
        let visible = |c: char| accepted(c) && !c.is_whitespace() && !is_ignorable(c);
        let all = class(accepted);
        format!("^{all}*{}{all}*$", class(visible))
    }

    #[test]
    fn the_spec_states_the_name_rule() {
        let spec = include_str!("../../../openapi.yaml");
        let expected = format!("      pattern: \"{}\"", name_pattern());
        assert!(
            spec.contains(&expected),
            "openapi.yaml's Name pattern must be (run with --nocapture to copy it):\n{expected}"
        );
    }
}
