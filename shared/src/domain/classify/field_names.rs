//! Which names read as secrets: a parameter key inside a value (`password=`, `"apiKey":`,
//! `<token>`) is secret when [`name_looks_secret`] says so. Field names no longer decide
//! anything (an undeclared config field is sealed whatever its name); parameter keys inside
//! visible values still do.

/// Markers matched as substrings of the normalized name (see [`normalize_name`]).
pub const NAME_MARKERS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "passcode",
    "passwort",
    "kennwort",
    "contrasena",
    "contraseña",
    "motdepasse",
    "wachtwoord",
    "senha",
    "secret",
    "token",
    "privatekey",
    "privkey",
    "apikey",
    "accesskey",
    "accountkey",
    "sharedkey",
    "signingkey",
    "masterkey",
    "encryptionkey",
    "decryptionkey",
    "clientkey",
    "sslkey",
    "tlskey",
    "hmackey",
    "licensekey",
    "saskey",
    "sessionkey",
    "sessionid",
    "credential",
    "creds",
    "connectionstring",
    "connstr",
    "authorization",
    "bearer",
    "cookie",
    "serviceaccount",
    "keyfile",
    "signature",
    "mnemonic",
    "seedphrase",
    "recoverycode",
    "backupcode",
    "pincode",
    // Misspellings and other languages.
    "passwrd",
    "pasword",
    "paswd",
    "pswrd",
    "pwrd",
    "pword",
    "passord",
    "parola",
    "parool",
    "sifre",
    "şifre",
    "hasło",
    "salasana",
    "losenord",
    "lösenord",
    "jelszo",
    "jelszó",
    "lozinka",
    "adgangskode",
    "contrasenya",
    "katasandi",
    "katalaluan",
    "пароль",
    "密码",
    "密碼",
    "パスワード",
    "비밀번호",
    // Key files, verifiers, payment data.
    "idrsa",
    "iddsa",
    "idecdsa",
    "ided25519",
    "oauthverifier",
    "codeverifier",
    "cardnumber",
    "creditcard",
];

/// Markers that count only as a whole word of the name. Words come from splitting the
/// original name on non-alphanumeric characters, on camelCase/PascalCase boundaries and
/// between letters and digits: `dbPwd` → `db`, `pwd`; `APIKey` → `api`, `key`.
pub const NAME_WORDS: &[&str] = &[
    "pwd", "pw", "pswd", "psw", "pass", "passw", "dsn", "sas", "auth", "sig", "pin", "otp", "totp",
    "hotp", "pat", "jwt", "key", "keys", "xprv", "cvv", "cvc", "ssn", "parol", "haslo", "heslo",
    "mima",
];

/// Words that make a field *name* secret but not a parameter key inside a value: as field
/// names they are short for secrets (`pk`, `sk`, `seed`, `refresh`, `tok`), while in a value
/// `?pk=42`, `seed=7` or `refresh=30` are ordinary settings.
pub const NAME_ONLY_WORDS: &[&str] = &[
    "pk", "sk", "hmac", "refresh", "cred", "tok", "tkn", "priv", "authn", "authz", "pem", "pfx",
    "wif", "seed", "twofa",
];

/// A word that *ends* in one of these (`dbpass`, `storepass`, `rootpw`, `sshkey`, `authkey`,
/// `passkey`) counts like the ending alone, unless the part before it is a
/// [`PUBLIC_KEY_QUALIFIERS`] word (`sortkey`, `publickey`) or the word is an
/// [`ENDING_EXCEPTIONS`] entry. A name whose normalized form is a [`NAME_WORDS`] entry
/// (`p_w_d`, `P.W.`) is secret too.
pub const SECRET_WORD_ENDINGS: &[&str] = &["pass", "pwd", "pw", "key", "keys"];

/// Ordinary words that end in a [`SECRET_WORD_ENDINGS`] entry (also with a plural `s`).
pub const ENDING_EXCEPTIONS: &[&str] = &[
    "compass",
    "encompass",
    "bypass",
    "overpass",
    "underpass",
    "trespass",
    "surpass",
    "multipass",
    "monkey",
    "donkey",
    "turkey",
    "hockey",
    "jockey",
    "whiskey",
    "lackey",
    "flunkey",
    "malarkey",
    "hotkey",
    "turnkey",
];

/// Digits read as letters before the [`NAME_MARKERS`] are looked for a second time
/// (`pa55word`, `p4ssw0rd`, `s3cr3t`): `0`→`o`, `1`→`i`, `3`→`e`, `4`→`a`, `5`→`s`,
/// `7`→`t`.
pub const LEET_DIGITS: &[(char, char)] = &[
    ('0', 'o'),
    ('1', 'i'),
    ('3', 'e'),
    ('4', 'a'),
    ('5', 's'),
    ('7', 't'),
];

/// A word `key`/`keys` directly after one of these words does not count: `public_key`,
/// `partition_key`, `primaryKey` name something that is not a secret.
pub const PUBLIC_KEY_QUALIFIERS: &[&str] = &[
    "public",
    "pub",
    "partition",
    "sort",
    "primary",
    "foreign",
    "routing",
    "object",
    "idempotency",
    "cache",
    "range",
    "dedup",
    "deduplication",
];

/// A name of two or more words whose last word is one of these names an attribute of a
/// secret (its id, name, location, type, lifetime…), not the secret itself: `access_key_id`,
/// `secret_name`, `token_url`, `private_key_path`, `auth_type`, `token_ttl` are visible. The
/// value of such a field is still checked by [`super::value_rule`], so a URL or path that embeds a
/// credential is caught there.
pub const VISIBLE_SUFFIXES: &[&str] = &[
    "id",
    "ids",
    "name",
    "names",
    "url",
    "urls",
    "uri",
    "uris",
    "endpoint",
    "endpoints",
    "path",
    "paths",
    "file",
    "files",
    "filename",
    "dir",
    "directory",
    "arn",
    "ref",
    "type",
    "kind",
    "method",
    "mode",
    "scheme",
    "version",
    "format",
    "algorithm",
    "alg",
    "hint",
    "source",
    "mechanism",
    "plugin",
    "protocol",
    "provider",
    "database",
    "host",
    "hostname",
    "port",
    "region",
    "domain",
    "realm",
    "issuer",
    "audience",
    "scope",
    "scopes",
    "user",
    "username",
    "email",
    "ttl",
    "expiry",
    "expires",
    "expiration",
    "lifetime",
    "timeout",
    "length",
    "interval",
    "enabled",
    "required",
    "size",
    "count",
    "policy",
    "rotation",
];

/// Normalized name endings that stay secret even though the last word is in
/// [`VISIBLE_SUFFIXES`]: a Vault AppRole `secret_id` and a web `session_id` are credentials.
pub const SECRET_DESPITE_SUFFIX: &[&str] = &["secretid", "sessionid"];

/// Lowercase, every non-alphanumeric character removed: `connectionString`,
/// `connection-string`, `Connection_String` → `connectionstring`. Unicode-aware; non-ASCII
/// alphanumerics are kept. Fullwidth ASCII forms (`ｐａｓｓ`) are read as ASCII.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().map(fold_width) {
        push_lowercase_alnum(&mut out, c);
    }
    out
}

/// True when a name reads as a secret's.
///
/// Secret when the normalized name (or its [`LEET_DIGITS`] reading) contains a
/// [`NAME_MARKERS`] entry, the normalized name is a [`NAME_WORDS`] entry, or one of its
/// words is a [`NAME_WORDS`] or [`NAME_ONLY_WORDS`] entry or ends in a
/// [`SECRET_WORD_ENDINGS`] entry (`key`/`keys` not directly after a
/// [`PUBLIC_KEY_QUALIFIERS`] word), unless the name has two or more words and ends in a
/// [`VISIBLE_SUFFIXES`] word (and the normalized name does not end in a
/// [`SECRET_DESPITE_SUFFIX`] entry).
pub fn name_looks_secret(name: &str) -> bool {
    name_is_secret(name, true)
}

/// [`name_looks_secret`] for a parameter key inside a value: [`NAME_ONLY_WORDS`] do not
/// count.
pub(super) fn key_looks_secret(key: &str) -> bool {
    name_is_secret(key, false)
}

/// True when the normalized word holds a [`NAME_MARKERS`] entry (`password`, `secret`,
/// `token`, …): a strong marker, unlike the short [`NAME_WORDS`].
pub(super) fn names_a_secret(word: &str) -> bool {
    let normalized = normalize_name(word);
    NAME_MARKERS.iter().any(|m| normalized.contains(m))
}

fn name_is_secret(name: &str, field_name: bool) -> bool {
    let normalized = normalize_name(name);
    if normalized.is_empty() {
        return false;
    }
    let words = split_words(name);
    let marked = NAME_MARKERS.iter().any(|m| normalized.contains(m))
        || leet_marked(&normalized)
        || NAME_WORDS.contains(&normalized.as_str())
        || has_secret_word(&words, field_name);
    marked && !has_visible_suffix(&words, &normalized)
}

fn leet_marked(normalized: &str) -> bool {
    if !normalized.bytes().any(|c| c.is_ascii_digit()) {
        return false;
    }
    let read: String = normalized
        .chars()
        .map(|c| {
            LEET_DIGITS
                .iter()
                .find(|(d, _)| *d == c)
                .map_or(c, |(_, l)| *l)
        })
        .collect();
    NAME_MARKERS.iter().any(|m| read.contains(m))
}

fn has_secret_word(words: &[String], field_name: bool) -> bool {
    words.iter().enumerate().any(|(i, w)| {
        let after_qualifier = |prefix: &str| {
            PUBLIC_KEY_QUALIFIERS.contains(&prefix)
                || (prefix.is_empty()
                    && i > 0
                    && PUBLIC_KEY_QUALIFIERS.contains(&words[i - 1].as_str()))
        };
        if NAME_WORDS.contains(&w.as_str()) || (field_name && NAME_ONLY_WORDS.contains(&w.as_str()))
        {
            return !((w == "key" || w == "keys") && after_qualifier(""));
        }
        let exception = ENDING_EXCEPTIONS
            .iter()
            .any(|e| w == e || w.strip_suffix('s') == Some(e));
        !exception
            && SECRET_WORD_ENDINGS.iter().any(|end| {
                w.strip_suffix(end)
                    .is_some_and(|prefix| !prefix.is_empty() && !after_qualifier(prefix))
            })
    })
}

fn has_visible_suffix(words: &[String], normalized: &str) -> bool {
    words.len() >= 2
        && words
            .last()
            .is_some_and(|w| VISIBLE_SUFFIXES.contains(&w.as_str()))
        && !SECRET_DESPITE_SUFFIX
            .iter()
            .any(|s| normalized.ends_with(s))
}

/// Fullwidth ASCII (U+FF01–U+FF5E) to ASCII; everything else unchanged.
fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

fn push_lowercase_alnum(out: &mut String, c: char) {
    if c.is_ascii() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        }
    } else if c.is_alphanumeric() {
        out.extend(c.to_lowercase().filter(|l| l.is_alphanumeric()));
    }
}

/// Lowercased words of a name: split on non-alphanumerics, lower→upper (`dbPwd`), the end
/// of an acronym (`APIKey` → `api`, `key`) and letter↔digit changes (`pass1` → `pass`, `1`).
fn split_words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().map(fold_width).collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        if !current.is_empty() {
            let prev = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let boundary = (prev.is_lowercase() && c.is_uppercase())
                || (prev.is_uppercase() && c.is_uppercase() && next_is_lower)
                || (prev.is_numeric() != c.is_numeric());
            if boundary {
                words.push(std::mem::take(&mut current));
            }
        }
        push_lowercase_alnum(&mut current, c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names of a test data file: one per line, `#` comments and blank lines skipped.
    fn names(file: &'static str) -> impl Iterator<Item = &'static str> {
        file.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
    }

    const SECRET_NAMES: &str = include_str!("testdata/secret_names.txt");
    const VISIBLE_NAMES: &str = include_str!("testdata/visible_names.txt");

    #[test]
    fn secret_names() {
        assert!(names(SECRET_NAMES).count() >= 60);
        let missed: Vec<_> = names(SECRET_NAMES)
            .filter(|n| !name_looks_secret(n))
            .collect();
        assert!(missed.is_empty(), "not secret: {missed:?}");
    }

    #[test]
    fn visible_names() {
        assert!(names(VISIBLE_NAMES).count() >= 25);
        let wrong: Vec<_> = names(VISIBLE_NAMES)
            .filter(|n| name_looks_secret(n))
            .collect();
        assert!(wrong.is_empty(), "secret: {wrong:?}");
    }

    /// Short field names that are secret as names but ordinary as keys inside a value.
    #[test]
    fn name_only_words_do_not_make_parameters_secret() {
        for w in NAME_ONLY_WORDS {
            assert!(name_looks_secret(w), "{w}");
            assert!(!key_looks_secret(w), "{w}");
        }
    }

    #[test]
    fn normalizes_names() {
        for n in [
            "connectionString",
            "connection-string",
            "Connection_String",
            "CONNECTION STRING",
        ] {
            assert_eq!(normalize_name(n), "connectionstring");
        }
        assert_eq!(normalize_name("Zürich_Ключ"), "zürichключ");
        assert_eq!(normalize_name("ＡＢｃ"), "abc");
    }

    #[test]
    fn splits_words() {
        let cases: &[(&str, &[&str])] = &[
            ("dbPwd", &["db", "pwd"]),
            ("DB_PWD", &["db", "pwd"]),
            ("x-auth", &["x", "auth"]),
            ("authHeader", &["auth", "header"]),
            ("APIKey", &["api", "key"]),
            ("oauth2Token", &["oauth", "2", "token"]),
            ("XMLHttpRequest", &["xml", "http", "request"]),
        ];
        for (name, words) in cases {
            assert_eq!(split_words(name), *words, "{name}");
        }
    }
}
