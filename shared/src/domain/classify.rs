//! Which config fields and values are secrets.
//!
//! Two independent rules, both pure functions without I/O:
//!
//! * [`name_looks_secret`]: a field that its credential type does not declare is secret when
//!   its *name* looks like one (`dbPassword`, `x-api-key`, `sas_token`, …).
//! * [`value_rule`]: any string value (or list element) that *embeds* a credential
//!   (`postgres://u:p@h`, `…;AccountKey=…`, a PEM private key, a JWT, `ghp_…`, …).
//!
//! [`is_mask_placeholder`] recognises the masking strings a UI may send back in place of a
//! secret it never saw (`********`, `[REDACTED]`, …).
//!
//! Nothing here returns, formats or logs a value: the results are booleans, fieldless enums
//! and fixed `&'static str` texts. Every list is a `pub const`, and
//! `docs/secret-classification.md` is checked against them (see the tests).

// ---------------------------------------------------------------------------------------------
// Field names
// ---------------------------------------------------------------------------------------------

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
/// value of such a field is still checked by [`value_rule`], so a URL or path that embeds a
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

/// True when an undeclared field with this name must be treated as secret.
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
fn key_looks_secret(key: &str) -> bool {
    name_is_secret(key, false)
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

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/// Why a value embeds a credential. Carries no part of the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueRule {
    /// `scheme://user:password@host…`: a non-empty password in URL userinfo.
    UrlUserinfo,
    /// `password=…`, `AccountKey=…`, `sig=…`, `"token": "…"`: a parameter whose key looks
    /// secret, with a non-empty value.
    KeyValuePair,
    /// `-----BEGIN … PRIVATE KEY-----` (PEM, OpenSSH, PGP, SSH2) or a PuTTY key file.
    PrivateKeyBlock,
    /// A pasted Google service-account key file (`"type": "service_account"`).
    ServiceAccountJson,
    /// A JSON Web Token (JWS or JWE compact form).
    Jwt,
    /// A token in a provider format of [`TOKEN_FORMATS`], a SendGrid key or an Azure AD
    /// client secret.
    KnownTokenFormat,
    /// An `Authorization` header value: `Bearer …`, `Basic …`, `token …`.
    AuthorizationHeader,
    /// A webhook URL whose path is its credential ([`WEBHOOK_URLS`]).
    WebhookUrl,
    /// An AWS access key ID together with a 40-character secret access key.
    AwsKeyPair,
    /// A password on a command line ([`COMMAND_LINE_PASSWORDS`]): `mysql -pX`,
    /// `sshpass -p X`, `curl -u user:X`.
    CommandLinePassword,
}

impl ValueRule {
    /// Every rule, in the order [`value_rule`] tries them.
    pub const ALL: [ValueRule; 10] = [
        ValueRule::PrivateKeyBlock,
        ValueRule::ServiceAccountJson,
        ValueRule::UrlUserinfo,
        ValueRule::WebhookUrl,
        ValueRule::Jwt,
        ValueRule::AuthorizationHeader,
        ValueRule::KeyValuePair,
        ValueRule::CommandLinePassword,
        ValueRule::KnownTokenFormat,
        ValueRule::AwsKeyPair,
    ];

    /// Stable snake_case id, shown to API clients.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueRule::UrlUserinfo => "url_userinfo_password",
            ValueRule::KeyValuePair => "secret_parameter",
            ValueRule::PrivateKeyBlock => "private_key_block",
            ValueRule::ServiceAccountJson => "service_account_key",
            ValueRule::Jwt => "jwt",
            ValueRule::KnownTokenFormat => "known_token_format",
            ValueRule::AuthorizationHeader => "authorization_header",
            ValueRule::WebhookUrl => "secret_webhook_url",
            ValueRule::AwsKeyPair => "aws_key_pair",
            ValueRule::CommandLinePassword => "command_line_password",
        }
    }

    /// Short fixed English text for an error's `issue`.
    pub fn describe(self) -> &'static str {
        match self {
            ValueRule::UrlUserinfo => "must not embed a credential (URL userinfo with a password)",
            ValueRule::KeyValuePair => "must not embed a credential (a secret key=value parameter)",
            ValueRule::PrivateKeyBlock => "must not embed a credential (a private key)",
            ValueRule::ServiceAccountJson => {
                "must not embed a credential (a service-account key file)"
            }
            ValueRule::Jwt => "must not embed a credential (a JSON Web Token)",
            ValueRule::KnownTokenFormat => {
                "must not embed a credential (a token in a known provider format)"
            }
            ValueRule::AuthorizationHeader => {
                "must not embed a credential (an Authorization header value)"
            }
            ValueRule::WebhookUrl => "must not embed a credential (a webhook URL with its token)",
            ValueRule::AwsKeyPair => {
                "must not embed a credential (an AWS access key ID with its secret access key)"
            }
            ValueRule::CommandLinePassword => {
                "must not embed a credential (a password on a command line)"
            }
        }
    }
}

/// Why `value` embeds a credential, if it does. The first matching rule of
/// [`ValueRule::ALL`] is returned. Runs in time linear in the value's length: each rule is
/// one pass whose per-position work is bounded (runs are read only as far as a rule needs).
/// It allocates only for candidate parameter keys and `Basic` credentials, never per
/// character.
pub fn value_rule(value: &str) -> Option<ValueRule> {
    let b = value.as_bytes();
    ValueRule::ALL.into_iter().find(|rule| match rule {
        ValueRule::PrivateKeyBlock => has_private_key_block(b),
        ValueRule::ServiceAccountJson => has_service_account_json(b),
        ValueRule::UrlUserinfo => has_url_userinfo_password(b),
        ValueRule::WebhookUrl => has_webhook_url(b),
        ValueRule::Jwt => has_jwt(b),
        ValueRule::AuthorizationHeader => has_authorization_header(b),
        ValueRule::KeyValuePair => has_secret_parameter(b),
        ValueRule::KnownTokenFormat => has_known_token(b),
        ValueRule::AwsKeyPair => has_aws_key_pair(b),
        ValueRule::CommandLinePassword => has_command_line_password(b),
    })
}

/// Shortest value [`looks_like_random_token`] considers.
pub const RANDOM_MIN_CHARS: usize = 20;
/// Longest value [`looks_like_random_token`] considers (longer free text is not one token).
pub const RANDOM_MAX_CHARS: usize = 1024;
/// Least Shannon entropy, in bits per character, of a value [`looks_like_random_token`]
/// accepts:
/// random hex reaches about 3.7 at 32 characters, prose and identifiers stay well below.
pub const RANDOM_MIN_BITS_PER_CHAR: f64 = 3.4;

/// True when a value looks like an unlabelled random token (an API key without a known
/// prefix, a bare 40-character AWS secret, a hex token): one run of 20–1024 characters
/// from `A–Z a–z 0–9 + / = _ - .` with letters and digits, high entropy per character,
/// and not a UUID, a dotted host name or a number. Used only to SEAL free-form fields
/// (never to refuse a declared one): a false positive hides a value that was not secret.
pub fn looks_like_random_token(value: &str) -> bool {
    let len = value.len();
    if !(RANDOM_MIN_CHARS..=RANDOM_MAX_CHARS).contains(&len) {
        return false;
    }
    let token_byte = |b: u8| b.is_ascii_alphanumeric() || b"+/=_-.".contains(&b);
    if !value.bytes().all(token_byte) {
        return false;
    }
    let has_digit = value.bytes().any(|b| b.is_ascii_digit());
    let has_letter = value.bytes().any(|b| b.is_ascii_alphabetic());
    if !(has_digit && has_letter) || is_uuid(value) || is_dotted_name(value) {
        return false;
    }
    let mut counts = [0usize; 256];
    for b in value.bytes() {
        counts[usize::from(b)] += 1;
    }
    let n = len as f64;
    let bits: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum();
    bits >= RANDOM_MIN_BITS_PER_CHAR
}

fn is_uuid(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// `db-01.internal.example.com`, `ip-10-0-0-12.ec2.internal`: lower-case labels and dots.
fn is_dotted_name(value: &str) -> bool {
    value.contains('.')
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

/// Characters a token body may consist of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charset {
    /// `[A-Za-z0-9]`
    Alnum,
    /// `[A-Za-z0-9_]`
    AlnumUnderscore,
    /// `[A-Za-z0-9-]`
    AlnumDash,
    /// `[A-Z0-9]`
    UpperAlnum,
    /// `[A-Za-z]`
    Letters,
    /// `[0-9a-fA-F]`
    Hex,
    /// `[0-9a-f]`
    LowerHex,
    /// `[0-9a-fA-F-]`
    HexDash,
    /// `[A-Za-z0-9_-]`
    Base64Url,
    /// `[A-Za-z0-9_.-]`
    Base64UrlDot,
    /// `[A-Za-z0-9_=-]`
    Base64UrlPad,
    /// `[A-Za-z0-9+/=]`
    Base64,
    /// `[A-Za-z0-9+/=_-]`
    Base64Any,
    /// `[A-Za-z0-9$]`
    AlnumDollar,
    /// `[a-z0-9]`
    LowerAlnum,
}

impl Charset {
    pub fn contains(self, c: u8) -> bool {
        let alnum = c.is_ascii_alphanumeric();
        match self {
            Charset::Alnum => alnum,
            Charset::AlnumUnderscore => alnum || c == b'_',
            Charset::AlnumDash => alnum || c == b'-',
            Charset::UpperAlnum => c.is_ascii_uppercase() || c.is_ascii_digit(),
            Charset::Letters => c.is_ascii_alphabetic(),
            Charset::Hex => c.is_ascii_hexdigit(),
            Charset::LowerHex => c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
            Charset::HexDash => c.is_ascii_hexdigit() || c == b'-',
            Charset::Base64Url => alnum || c == b'_' || c == b'-',
            Charset::Base64UrlDot => alnum || matches!(c, b'_' | b'-' | b'.'),
            Charset::Base64UrlPad => alnum || matches!(c, b'_' | b'-' | b'='),
            Charset::Base64 => alnum || matches!(c, b'+' | b'/' | b'='),
            Charset::Base64Any => alnum || matches!(c, b'+' | b'/' | b'=' | b'_' | b'-'),
            Charset::AlnumDollar => alnum || c == b'$',
            Charset::LowerAlnum => c.is_ascii_lowercase() || c.is_ascii_digit(),
        }
    }

    /// The character class, as shown in the documentation.
    pub fn as_str(self) -> &'static str {
        match self {
            Charset::Alnum => "[A-Za-z0-9]",
            Charset::AlnumUnderscore => "[A-Za-z0-9_]",
            Charset::AlnumDash => "[A-Za-z0-9-]",
            Charset::UpperAlnum => "[A-Z0-9]",
            Charset::Letters => "[A-Za-z]",
            Charset::Hex => "[0-9a-fA-F]",
            Charset::LowerHex => "[0-9a-f]",
            Charset::HexDash => "[0-9a-fA-F-]",
            Charset::Base64Url => "[A-Za-z0-9_-]",
            Charset::Base64UrlDot => "[A-Za-z0-9_.-]",
            Charset::Base64UrlPad => "[A-Za-z0-9_=-]",
            Charset::Base64 => "[A-Za-z0-9+/=]",
            Charset::Base64Any => "[A-Za-z0-9+/=_-]",
            Charset::AlnumDollar => "[A-Za-z0-9$]",
            Charset::LowerAlnum => "[a-z0-9]",
        }
    }
}

/// An extra condition on a token body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyCheck {
    None,
    /// At least one uppercase letter, one lowercase letter and one digit (used for short,
    /// generic prefixes such as `sk-`, so that `sk-prod-cluster-…` hostnames do not match).
    MixedCaseAndDigit,
    /// At least one letter and one digit.
    LetterAndDigit,
}

/// A token recognised by its prefix: `prefix` then `min..=max` characters of `charset`,
/// the whole bounded on both sides by start/end of the value or a character other than
/// `[A-Za-z0-9_]`.
#[derive(Clone, Copy, Debug)]
pub struct TokenFormat {
    pub provider: &'static str,
    pub prefix: &'static str,
    pub charset: Charset,
    pub min: usize,
    pub max: usize,
    pub check: BodyCheck,
}

const fn tf(
    provider: &'static str,
    prefix: &'static str,
    charset: Charset,
    min: usize,
    max: usize,
    check: BodyCheck,
) -> TokenFormat {
    TokenFormat {
        provider,
        prefix,
        charset,
        min,
        max,
        check,
    }
}

use BodyCheck as Chk;
use Charset as Cs;

/// Provider token formats, after the public rule sets of gitleaks, GitHub secret scanning
/// and trufflehog. Lengths are those of the body after the prefix.
#[rustfmt::skip]
pub const TOKEN_FORMATS: &[TokenFormat] = &[
    tf("GitHub personal access token", "ghp_", Cs::Alnum, 36, 36, Chk::None),
    tf("GitHub OAuth token", "gho_", Cs::Alnum, 36, 36, Chk::None),
    tf("GitHub user-to-server token", "ghu_", Cs::Alnum, 36, 36, Chk::None),
    tf("GitHub server-to-server token", "ghs_", Cs::Alnum, 36, 36, Chk::None),
    tf("GitHub refresh token", "ghr_", Cs::Alnum, 36, 36, Chk::None),
    tf("GitHub fine-grained token", "github_pat_", Cs::AlnumUnderscore, 82, 82, Chk::None),
    tf("GitLab personal access token", "glpat-", Cs::Base64UrlDot, 20, 300, Chk::None),
    tf("GitLab deploy token", "gldt-", Cs::Base64UrlDot, 20, 300, Chk::None),
    tf("GitLab runner token", "glrt-", Cs::Base64UrlDot, 20, 300, Chk::None),
    tf("GitLab feed token", "glft-", Cs::Base64UrlDot, 20, 300, Chk::None),
    tf("GitLab pipeline trigger token", "glptt-", Cs::Hex, 40, 40, Chk::None),
    tf("GitLab CI/CD job token", "glcbt-", Cs::Base64UrlDot, 20, 300, Chk::None),
    tf("GitLab OAuth application secret", "gloas-", Cs::Base64Url, 64, 64, Chk::None),
    tf("Slack bot token", "xoxb-", Cs::AlnumDash, 20, 255, Chk::None),
    tf("Slack user token", "xoxp-", Cs::AlnumDash, 20, 255, Chk::None),
    tf("Slack workspace token", "xoxa-", Cs::AlnumDash, 20, 255, Chk::None),
    tf("Slack refresh token", "xoxr-", Cs::AlnumDash, 20, 255, Chk::None),
    tf("Slack legacy token", "xoxs-", Cs::AlnumDash, 20, 255, Chk::None),
    tf("Slack configuration token", "xoxe-", Cs::AlnumDash, 20, 255, Chk::None),
    tf("Slack app-level token", "xapp-", Cs::AlnumDash, 20, 255, Chk::None),
    tf("Stripe live secret key", "sk_live_", Cs::Alnum, 16, 255, Chk::None),
    tf("Stripe test secret key", "sk_test_", Cs::Alnum, 16, 255, Chk::None),
    tf("Stripe live restricted key", "rk_live_", Cs::Alnum, 16, 255, Chk::None),
    tf("Stripe test restricted key", "rk_test_", Cs::Alnum, 16, 255, Chk::None),
    tf("Stripe webhook secret", "whsec_", Cs::Alnum, 24, 255, Chk::None),
    tf("Google API key", "AIza", Cs::Base64Url, 35, 35, Chk::None),
    tf("Google OAuth client secret", "GOCSPX-", Cs::Base64Url, 28, 28, Chk::None),
    tf("Google OAuth access token", "ya29.", Cs::Base64Url, 20, 2048, Chk::None),
    tf("OpenAI API key", "sk-", Cs::Base64Url, 37, 255, Chk::MixedCaseAndDigit),
    tf("DeepSeek / OpenAI-style API key", "sk-", Cs::LowerAlnum, 32, 255, Chk::LetterAndDigit),
    tf("OpenAI project key", "sk-proj-", Cs::Base64Url, 32, 255, Chk::MixedCaseAndDigit),
    tf("Anthropic API key", "sk-ant-", Cs::Base64Url, 32, 255, Chk::MixedCaseAndDigit),
    tf("Groq API key", "gsk_", Cs::Alnum, 52, 52, Chk::None),
    tf("npm access token", "npm_", Cs::Alnum, 36, 36, Chk::None),
    tf("PyPI upload token", "pypi-AgEIcHlwaS5vcmc", Cs::Base64Url, 50, 1024, Chk::None),
    tf("Mailgun API key", "key-", Cs::LowerHex, 32, 32, Chk::LetterAndDigit),
    tf("Shopify access token", "shpat_", Cs::Hex, 32, 32, Chk::None),
    tf("Shopify shared secret", "shpss_", Cs::Hex, 32, 32, Chk::None),
    tf("Shopify custom app token", "shpca_", Cs::Hex, 32, 32, Chk::None),
    tf("Shopify private app token", "shppa_", Cs::Hex, 32, 32, Chk::None),
    tf("DigitalOcean personal token", "dop_v1_", Cs::LowerHex, 64, 64, Chk::None),
    tf("DigitalOcean OAuth token", "doo_v1_", Cs::LowerHex, 64, 64, Chk::None),
    tf("DigitalOcean refresh token", "dor_v1_", Cs::LowerHex, 64, 64, Chk::None),
    tf("HashiCorp Vault service token", "hvs.", Cs::Base64Url, 24, 512, Chk::None),
    tf("HashiCorp Vault batch token", "hvb.", Cs::Base64Url, 24, 512, Chk::None),
    tf("HashiCorp Vault legacy service token", "s.", Cs::Alnum, 24, 24, Chk::MixedCaseAndDigit),
    tf("Databricks token", "dapi", Cs::LowerHex, 32, 32, Chk::None),
    tf("Square access token", "sq0atp-", Cs::Base64Url, 22, 60, Chk::None),
    tf("Square OAuth secret", "sq0csp-", Cs::Base64Url, 40, 60, Chk::None),
    tf("Hugging Face token", "hf_", Cs::Letters, 34, 34, Chk::None),
    tf("Hugging Face organization token", "api_org_", Cs::Letters, 34, 34, Chk::None),
    tf("age secret key", "AGE-SECRET-KEY-1", Cs::UpperAlnum, 58, 58, Chk::None),
    tf("Postman API key", "PMAK-", Cs::HexDash, 59, 59, Chk::None),
    tf("Grafana Cloud token", "glc_", Cs::Base64, 32, 400, Chk::None),
    tf("Grafana service account token", "glsa_", Cs::AlnumUnderscore, 41, 41, Chk::None),
    tf("New Relic user API key", "NRAK-", Cs::Alnum, 27, 27, Chk::None),
    tf("Twilio API key", "SK", Cs::Hex, 32, 32, Chk::None),
    tf("Atlassian API token", "ATATT3", Cs::Base64UrlPad, 150, 400, Chk::None),
    tf("Linear API key", "lin_api_", Cs::Alnum, 40, 40, Chk::None),
    tf("Doppler personal token", "dp.pt.", Cs::Alnum, 40, 64, Chk::None),
    tf("Doppler service token", "dp.st.", Cs::Base64UrlDot, 40, 128, Chk::None),
    tf("Doppler CLI token", "dp.ct.", Cs::Alnum, 40, 64, Chk::None),
    tf("Doppler service account token", "dp.sa.", Cs::Alnum, 40, 64, Chk::None),
    tf("Dropbox access token", "sl.", Cs::Base64UrlPad, 130, 1400, Chk::None),
    tf("Notion integration secret", "secret_", Cs::Alnum, 43, 43, Chk::None),
    tf("Notion integration token", "ntn_", Cs::Alnum, 40, 50, Chk::None),
    tf("Supabase access token", "sbp_", Cs::LowerHex, 40, 40, Chk::None),
    tf("Pulumi access token", "pul-", Cs::LowerHex, 40, 40, Chk::None),
    tf("Sentry organization token", "sntrys_", Cs::Base64Any, 60, 1000, Chk::None),
    tf("Sentry user token", "sntryu_", Cs::LowerHex, 64, 64, Chk::None),
    tf("AWS STS session token", "IQoJb3JpZ2luX2Vj", Cs::Base64, 100, 4096, Chk::None),
    tf("AWS STS session token", "FwoGZXIvYXdzE", Cs::Base64, 100, 4096, Chk::None),
    tf("Heroku API key", "HRKU-AA", Cs::Base64Url, 58, 58, Chk::None),
    tf("Mapbox secret token", "sk.eyJ", Cs::Base64UrlDot, 60, 400, Chk::None),
    tf("Braintree access token", "access_token$production$", Cs::AlnumDollar, 49, 49, Chk::None),
    tf("Braintree sandbox access token", "access_token$sandbox$", Cs::AlnumDollar, 49, 49, Chk::None),
    tf("PlanetScale password", "pscale_pw_", Cs::Base64UrlDot, 32, 64, Chk::None),
    tf("PlanetScale service token", "pscale_tkn_", Cs::Base64UrlDot, 32, 64, Chk::None),
    tf("PlanetScale OAuth token", "pscale_oauth_", Cs::Base64UrlDot, 32, 64, Chk::None),
    tf("Google OAuth refresh token", "1//0", Cs::Base64Url, 40, 512, Chk::MixedCaseAndDigit),
    tf("Perplexity API key", "pplx-", Cs::Alnum, 40, 64, Chk::None),
    tf("xAI API key", "xai-", Cs::AlnumUnderscore, 60, 100, Chk::None),
    tf("Replicate API token", "r8_", Cs::Base64Url, 37, 37, Chk::None),
];

/// Webhook URLs whose path is the credential: (provider, case-insensitive marker, minimum
/// length of the `[A-Za-z0-9/_@.-]` path after it).
pub const WEBHOOK_URLS: &[(&str, &str, usize)] = &[
    ("Slack", "hooks.slack.com/services/", 20),
    ("Slack", "hooks.slack.com/workflows/", 20),
    ("Slack", "hooks.slack.com/triggers/", 20),
    ("Discord", "discord.com/api/webhooks/", 40),
    ("Discord", "discordapp.com/api/webhooks/", 40),
    ("Microsoft Teams", ".webhook.office.com/webhookb2/", 40),
];

/// AWS access key ID prefixes (then 16 `[A-Z0-9]`). An ID alone is an identifier; it counts
/// only together with a secret access key in the same value ([`ValueRule::AwsKeyPair`]).
pub const AWS_ACCESS_KEY_ID_PREFIXES: &[&str] = &["AKIA", "ASIA", "ABIA", "ACCA"];

/// Parameter keys whose value is usually a file path (libpq `sslkey`, …): a path-looking
/// value (`/…`, `~/…`, `./…`, `../…`, `C:\…`) under these keys is not a credential.
pub const PATH_VALUED_KEYS: &[&str] = &["sslkey", "tlskey", "clientkey", "keyfile"];

/// Normalized parameter keys that do not make a parameter secret although the same field
/// name would: `{"Key": "env", "Value": "prod"}` (AWS tags) and `?key=` lookups are common
/// in ordinary values. (A Google API key passed as `key=AIza…` is still caught by its
/// [`TOKEN_FORMATS`] entry.)
pub const PARAMETER_KEYS_NOT_SECRET: &[&str] = &["key", "keys"];

/// Parameter values that are settings, not credentials (`auth=none`), compared
/// case-insensitively.
pub const NON_SECRET_PARAMETER_VALUES: &[&str] = &[
    "true",
    "false",
    "yes",
    "no",
    "on",
    "off",
    "none",
    "null",
    "nil",
    "undefined",
    "required",
    "optional",
    "enabled",
    "disabled",
];

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn is_b64url(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Length of the run of bytes satisfying `f` starting at `start`.
fn run_len(b: &[u8], start: usize, f: impl Fn(u8) -> bool) -> usize {
    b.get(start..)
        .map_or(0, |rest| rest.iter().take_while(|&&c| f(c)).count())
}

/// [`run_len`], counting at most `cap` bytes: scans that only need to know whether a run
/// is longer than some bound stop there, which keeps every rule linear in the value length.
fn run_len_upto(b: &[u8], start: usize, cap: usize, f: impl Fn(u8) -> bool) -> usize {
    b.get(start..).map_or(0, |rest| {
        rest.iter().take(cap).take_while(|&&c| f(c)).count()
    })
}

/// Start of the run of bytes satisfying `f` that ends at `end` (exclusive).
fn run_start(b: &[u8], end: usize, f: impl Fn(u8) -> bool) -> usize {
    end - b[..end].iter().rev().take_while(|&&c| f(c)).count()
}

/// Positions where `needle` occurs, ASCII case-insensitively when `ci`.
fn find_iter<'a>(b: &'a [u8], needle: &'a [u8], ci: bool) -> impl Iterator<Item = usize> + 'a {
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

fn contains(b: &[u8], needle: &[u8]) -> bool {
    find_iter(b, needle, false).next().is_some()
}

fn has_private_key_block(b: &[u8]) -> bool {
    for i in find_iter(b, b"BEGIN ", true) {
        // At least four dashes before (an optional space between: SSH2's `---- BEGIN`).
        let mut j = i;
        if j > 0 && b[j - 1] == b' ' {
            j -= 1;
        }
        if j - run_start(b, j, |c| c == b'-') < 4 {
            continue;
        }
        let label_start = i + 6;
        let label_len = run_len_upto(b, label_start, 64, |c| {
            c.is_ascii_alphanumeric() || c == b' '
        });
        let label = b[label_start..label_start + label_len].trim_ascii_end();
        let ends_with = |suffix: &[u8]| {
            label.len() >= suffix.len()
                && label[label.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
        };
        let dashes = run_len_upto(b, label_start + label_len, 4, |c| c == b'-');
        if dashes >= 4 && (ends_with(b"PRIVATE KEY") || ends_with(b"PRIVATE KEY BLOCK")) {
            return true;
        }
    }
    contains(b, b"PuTTY-User-Key-File-") || has_private_jwk(b)
}

/// A JSON Web Key with private material: the value has a `"kty"` member and a `"d"` member
/// (RSA/EC/OKP private key) — or, with `"oct"`, a `"k"` member (symmetric key) — holding at
/// least 16 base64url characters. Quotes may be backslash-escaped.
fn has_private_jwk(b: &[u8]) -> bool {
    if !contains(b, b"kty") {
        return false;
    }
    let oct = contains(b, b"\"oct");
    (1..b.len().saturating_sub(1)).any(|j| {
        let member = b[j] == b'd' || (oct && b[j] == b'k');
        if !member || b[j - 1] != b'"' {
            return false;
        }
        let mut k = j + 1 + usize::from(b[j + 1] == b'\\');
        if b.get(k) != Some(&b'"') {
            return false;
        }
        k += 1;
        k += run_len_upto(b, k, 8, |c| c.is_ascii_whitespace());
        if b.get(k) != Some(&b':') {
            return false;
        }
        k += 1;
        k += run_len_upto(b, k, 8, |c| c.is_ascii_whitespace());
        k += run_len_upto(b, k, 2, |c| c == b'\\');
        b.get(k) == Some(&b'"') && run_len_upto(b, k + 1, 16, is_b64url) >= 16
    })
}

fn has_service_account_json(b: &[u8]) -> bool {
    let quote_or_escape = |c: u8| c == b'"' || c == b'\\';
    for i in find_iter(b, b"service_account", false) {
        let after = i + "service_account".len();
        let close = after + run_len(b, after, |c| c == b'\\');
        if b.get(close) != Some(&b'"') {
            continue;
        }
        let mut j = run_start(b, i, quote_or_escape);
        if j == i {
            continue;
        }
        j = run_start(b, j, |c| c.is_ascii_whitespace());
        if j == 0 || b[j - 1] != b':' {
            continue;
        }
        j = run_start(b, j - 1, |c| c.is_ascii_whitespace());
        j = run_start(b, j, quote_or_escape);
        if b[..j].ends_with(b"type") {
            return true;
        }
    }
    false
}

/// Userinfo characters (RFC 3986 unreserved, sub-delims and `%`).
fn is_userinfo_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&c) || c >= 0x80
}

fn ends_url(c: u8) -> bool {
    c.is_ascii_whitespace() || matches!(c, b'"' | b'\'' | b'`')
}

fn has_url_userinfo_password(b: &[u8]) -> bool {
    // Protocol-relative `//user:password@host` (no scheme): only the strict RFC 3986 reading.
    for i in find_iter(b, b"//", false) {
        let starts = i == 0 || b[i - 1].is_ascii_whitespace() || b"\"'`=(,;".contains(&b[i - 1]);
        let start = i + 2;
        if !starts || b.get(start).is_none_or(|&c| c == b'/') {
            continue;
        }
        let auth_len = run_len_upto(b, start, 512, |c| {
            !matches!(c, b'/' | b'?' | b'#') && !ends_url(c)
        });
        if userinfo_has_credential(&b[start..start + auth_len]) {
            return true;
        }
    }
    for i in find_iter(b, b"://", false) {
        let scheme = run_start(b, i, |c| {
            c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')
        });
        if scheme == i || !b[scheme].is_ascii_alphabetic() {
            continue;
        }
        let start = i + 3;
        // RFC 3986: the authority ends at the first `/`, `?` or `#`; userinfo is what comes
        // before its last `@`.
        let auth_len = run_len(b, start, |c| {
            !matches!(c, b'/' | b'?' | b'#') && !ends_url(c)
        });
        let authority = &b[start..start + auth_len];
        if authority.contains(&b'@') {
            if userinfo_has_credential(authority) {
                return true;
            }
            continue;
        }
        // Lenient: an unencoded `/`, `?` or `#` in the password (`u:pa/ss@host`). The first
        // `@` within 512 bytes; the user part must be plain userinfo and the "password" must
        // not be a port followed by a path (`host:8443/x?mail=a@b.c`).
        let window = &b[start..b.len().min(start + 512)];
        let Some(at) = window
            .iter()
            .take_while(|&&c| !ends_url(c))
            .position(|&c| c == b'@')
        else {
            continue;
        };
        let userinfo = &window[..at];
        let Some(colon) = userinfo.iter().position(|&c| c == b':') else {
            continue;
        };
        let (user, password) = (&userinfo[..colon], &userinfo[colon + 1..]);
        let host_follows = window
            .get(at + 1)
            .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'[');
        if user.iter().all(|&c| is_userinfo_byte(c))
            && !is_port_then_path(password)
            && host_follows
            && password_counts(password)
        {
            return true;
        }
    }
    false
}

/// The userinfo of an authority (what precedes its last `@`) holds a non-filler password
/// after a `:`, or is itself a token: a [`TOKEN_FORMATS`] token, a GitHub classic token (40
/// hex characters with letters and digits) or 32 or more base64url characters with upper-
/// and lowercase letters and digits (`https://TOKEN@github.com/org/repo.git`).
fn userinfo_has_credential(authority: &[u8]) -> bool {
    let Some(at) = authority.iter().rposition(|&c| c == b'@') else {
        return false;
    };
    let userinfo = &authority[..at];
    if let Some(colon) = userinfo.iter().position(|&c| c == b':') {
        return password_counts(&userinfo[colon + 1..]);
    }
    let hex40 = userinfo.len() == 40
        && userinfo.iter().all(u8::is_ascii_hexdigit)
        && body_passes(userinfo, BodyCheck::LetterAndDigit);
    let random = userinfo.len() >= 32
        && userinfo.iter().all(|&c| is_b64url(c))
        && body_passes(userinfo, BodyCheck::MixedCaseAndDigit);
    hex40 || random || token_end(userinfo, 0) == Some(userinfo.len())
}

fn is_port_then_path(p: &[u8]) -> bool {
    let digits = run_len(p, 0, |c| c.is_ascii_digit());
    (1..=5).contains(&digits)
        && p.get(digits)
            .is_none_or(|&c| matches!(c, b'/' | b'?' | b'#'))
}

fn password_counts(p: &[u8]) -> bool {
    !p.is_empty() && !is_filler(p)
}

fn has_webhook_url(b: &[u8]) -> bool {
    WEBHOOK_URLS.iter().any(|&(_, marker, min)| {
        find_iter(b, marker.as_bytes(), true).any(|i| {
            run_len_upto(b, i + marker.len(), min, |c| {
                c.is_ascii_alphanumeric() || matches!(c, b'/' | b'_' | b'@' | b'.' | b'-')
            }) >= min
        })
    })
}

fn has_jwt(b: &[u8]) -> bool {
    for i in find_iter(b, b"eyJ", false) {
        if i > 0 && is_b64url(b[i - 1]) {
            continue;
        }
        // Up to five dot-separated base64url segments.
        let mut segments = [0usize; 5];
        let mut starts = [0usize; 5];
        let mut count = 0;
        let mut pos = i;
        while count < 5 {
            starts[count] = pos;
            segments[count] = run_len(b, pos, is_b64url);
            pos += segments[count];
            count += 1;
            if b.get(pos) != Some(&b'.') {
                break;
            }
            pos += 1;
        }
        if segments[0] < 10 || count < 3 {
            continue;
        }
        // JWS: header.payload.signature with a JSON payload (signature may be empty).
        let jws = segments[1] >= 10 && b[starts[1]..].starts_with(b"ey");
        // JWE: header.key.iv.ciphertext.tag
        let jwe = count == 5 && segments[3] >= 16;
        if jws || jwe {
            return true;
        }
    }
    false
}

fn is_token68(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

/// Not a plain word: has a digit, a symbol, or an uppercase letter after the first
/// character.
fn looks_random(t: &[u8]) -> bool {
    t.iter()
        .any(|&c| c.is_ascii_digit() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'='))
        || t.iter().skip(1).any(|c| c.is_ascii_uppercase())
}

fn has_authorization_header(b: &[u8]) -> bool {
    let lead = run_len(b, 0, |c| c.is_ascii_whitespace());
    let trimmed = &b[lead..];
    if trimmed.len() > 6 && trimmed[..5].eq_ignore_ascii_case(b"token") && is_blank(trimmed[5]) {
        let s = 5 + run_len(trimmed, 5, is_blank);
        let cred = &trimmed[s..s + run_len(trimmed, s, is_token68)];
        if cred.len() >= 16 && looks_random(cred) && !is_filler(cred) {
            return true;
        }
    }
    let scheme_at = |scheme: &'static [u8]| {
        find_iter(b, scheme, true).filter_map(move |i| {
            let bounded = i == 0 || !b[i - 1].is_ascii_alphanumeric();
            let after = i + scheme.len();
            let blanks = run_len(b, after, is_blank);
            (bounded && blanks > 0).then_some(after + blanks)
        })
    };
    for s in scheme_at(b"bearer") {
        let cred = &b[s..s + run_len(b, s, is_token68)];
        let long_letters = cred.len() >= 20 && cred.iter().all(u8::is_ascii_alphabetic);
        if cred.len() >= 8 && (looks_random(cred) || long_letters) && !is_filler(cred) {
            return true;
        }
    }
    for s in scheme_at(b"basic") {
        let cred = &b[s..s + run_len(b, s, |c| c.is_ascii_alphanumeric() || b"+/=".contains(&c))];
        let opaque = cred.len() >= 16 && looks_random(cred) && base64_decodes(cred);
        if cred.len() >= 4 && (opaque || base64_is_user_password(cred)) {
            return true;
        }
    }
    // `token <40 hex>` anywhere (a GitHub classic token after `Authorization: token`).
    for s in scheme_at(b"token") {
        let cred = &b[s..s + run_len_upto(b, s, 41, |c| c.is_ascii_alphanumeric())];
        if cred.len() == 40
            && cred.iter().all(u8::is_ascii_hexdigit)
            && body_passes(cred, BodyCheck::LetterAndDigit)
        {
            return true;
        }
    }
    false
}

/// Standard base64 whose unpadded length is possible (not 1 modulo 4) and whose padding, if
/// any, is at the end.
fn base64_decodes(s: &[u8]) -> bool {
    let pad = s.iter().rev().take_while(|&&c| c == b'=').count();
    let body = &s[..s.len() - pad];
    pad <= 2 && body.len() % 4 != 1 && !body.contains(&b'=')
}

/// Standard base64 (padding optional) that decodes to UTF-8 text without control
/// characters containing a `:` (`user:password`).
fn base64_is_user_password(s: &[u8]) -> bool {
    let s = &s[..s.len() - s.iter().rev().take_while(|&&c| c == b'=').count()];
    if s.len() % 4 == 1 {
        return false;
    }
    let mut decoded = Vec::with_capacity(s.len() / 4 * 3 + 2);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in s {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return false,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            let byte = (acc >> bits) as u8;
            acc &= (1 << bits) - 1;
            if byte < 0x20 || byte == 0x7f {
                return false;
            }
            decoded.push(byte);
        }
    }
    decoded.contains(&b':') && std::str::from_utf8(&decoded).is_ok()
}

fn is_key_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')
}

fn is_key_separator(c: u8) -> bool {
    c.is_ascii_whitespace() || b";&?#,{([|\"'$@:".contains(&c)
}

const MAX_KEY_LEN: usize = 64;
const MAX_VALUE_SCAN: usize = 256;

/// Normalized query parameter keys that carry a credential in a URL (`?code=` OAuth
/// authorization code, `?sid=`/`?session=` session ids, `?ticket=` CAS tickets). They count
/// only right after `?`, `&` or `#`, with a value of at least 8 characters that looks random.
pub const URL_QUERY_SECRET_KEYS: &[&str] = &["code", "sid", "session", "ticket"];

/// Normalized keys whose value is named by a sibling `key`/`name` field or attribute:
/// `<add key="DbPassword" value="…"/>`, `<property name="password" value="…"/>`,
/// `{"Key": "DB_PASSWORD", "Value": "…"}`.
pub const PAIRED_VALUE_KEYS: &[&str] = &["value"];

/// Normalized keys that name the value of a [`PAIRED_VALUE_KEYS`] sibling.
pub const PAIRED_NAME_KEYS: &[&str] = &["key", "name"];

fn has_secret_parameter(b: &[u8]) -> bool {
    b.iter().enumerate().any(|(i, &c)| match c {
        b'=' | b':' => parameter_at(b, i),
        b'<' => xml_element_at(b, i),
        _ => false,
    })
}

/// The key before a separator at `i` (blanks, `=` or `:` already stepped over by the
/// caller): `key`, `"key"`, `'key'`, `['key']`. Returns (key start, key end, quoted, the
/// position before the key and its quotes).
fn key_before(b: &[u8], sep_at: usize) -> Option<(usize, usize, bool, usize)> {
    let mut key_end = sep_at;
    while key_end > 0 && sep_at - key_end < 8 && is_blank(b[key_end - 1]) {
        key_end -= 1;
    }
    // `ENV['PASSWORD']`, `config["password"]`
    let bracketed = key_end > 0 && b[key_end - 1] == b']';
    if bracketed {
        key_end -= 1;
    }
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
    Some((key_start, key_end, quote.is_some(), before))
}

/// An ODBC brace-quoted value starting at `v` (`{…}`, `}}` escapes a brace): its content and
/// the position after the closing brace, if it closes within [`MAX_VALUE_SCAN`] bytes.
fn odbc_braced(b: &[u8], v: usize) -> Option<(&[u8], usize)> {
    let mut j = v + 1;
    while j < b.len() && j - v <= MAX_VALUE_SCAN {
        if b[j] == b'}' {
            if b.get(j + 1) == Some(&b'}') {
                j += 2;
                continue;
            }
            return Some((&b[v + 1..j], j + 1));
        }
        j += 1;
    }
    None
}

/// Is the `=` or `:` at `i` the separator of a secret parameter with a non-empty value?
fn parameter_at(b: &[u8], i: usize) -> bool {
    let sep = b[i];
    let next = b.get(i + 1).copied();
    let prev = i.checked_sub(1).map(|p| b[p]);
    // Two-character assignments: `=>` (Perl, PHP, Ruby) and `:=` (Go, Makefiles).
    let arrow = sep == b'=' && next == Some(b'>');
    let walrus = sep == b':' && next == Some(b'=');
    if sep == b'=' {
        if next == Some(b'=') || matches!(prev, Some(b'=' | b'!' | b'<' | b'>' | b':')) {
            return false;
        }
    } else if !walrus && (matches!(next, Some(b':' | b'/')) || prev == Some(b':')) {
        return false;
    }

    // The key: `key=`, `key =`, `"key":`, `'key' =>`, `$key =`, `@key=`, `ENV['key']=`.
    let Some((key_start, key_end, quoted_key, before)) = key_before(b, i) else {
        return false;
    };
    // `host:8443`, `image:tag`, `arn:aws:…`: a colon counts only with a quoted key (JSON) or
    // a blank after it (YAML, HTTP headers).
    if sep == b':' && !walrus && !quoted_key && !next.is_some_and(is_blank) {
        return false;
    }
    let key = std::str::from_utf8(&b[key_start..key_end]).unwrap_or_default();
    let normalized = normalize_name(key);

    // The value.
    let mut v = i + 1 + usize::from(arrow || walrus);
    v += run_len(b, v, is_blank).min(8);
    // ODBC: `PWD={p;ss};` — in a `;`-separated string a single-brace value is quoted, not a
    // `{template}` reference.
    if sep == b'=' && b.get(v) == Some(&b'{') && b.get(v + 1) != Some(&b'{') {
        if let Some((content, end)) = odbc_braced(b, v) {
            let in_list = (before > 0 && b[before - 1] == b';') || b.get(end) == Some(&b';');
            if in_list {
                return !content.is_empty()
                    && !is_filler(content)
                    && key_counts(key, &normalized, content);
            }
        }
    }
    // Read at most MAX_VALUE_SCAN bytes of it: only its emptiness, whether it is filler
    // (fillers are short) and, after a `:`, what follows it matter.
    let (value, value_end, quoted) = match b.get(v) {
        Some(&q @ (b'"' | b'\'')) => {
            let len = run_len_upto(b, v + 1, MAX_VALUE_SCAN, |c| c != q && c != b'\n');
            (&b[v + 1..v + 1 + len], v + 2 + len, true)
        }
        _ => {
            let len = run_len_upto(b, v, MAX_VALUE_SCAN, |c| {
                !(c.is_ascii_whitespace() || b";&,\"'".contains(&c))
            });
            (&b[v..v + len], v + len, false)
        }
    };
    let truncated = value.len() == MAX_VALUE_SCAN;
    if value.is_empty() || (!truncated && is_filler(value)) {
        return false;
    }
    if sep == b':' && !quoted && !walrus {
        // Prose guard: "Rotate password: every 90 days" is not a parameter. Either the key
        // starts its line (YAML, headers) or the value stands alone up to the line's end.
        let line_start = b[..before].iter().rev().take_while(|&&c| c != b'\n');
        let key_starts_line = line_start
            .clone()
            .all(|&c| is_blank(c) || matches!(c, b'-' | b'{' | b',' | b'\r'));
        let rest = value_end + run_len(b, value_end.min(b.len()), is_blank);
        let value_alone = !truncated && b.get(rest).is_none_or(|&c| b"\r\n,;}]".contains(&c));
        if !(key_starts_line || value_alone) {
            return false;
        }
    }
    if before > 0
        && matches!(b[before - 1], b'?' | b'&' | b'#')
        && URL_QUERY_SECRET_KEYS.contains(&normalized.as_str())
    {
        return value.len() >= 8 && looks_random(value);
    }
    if PAIRED_VALUE_KEYS.contains(&normalized.as_str()) {
        return paired_name_is_secret(b, before);
    }
    key_counts(key, &normalized, value)
}

/// The key makes its (non-empty, non-filler) value a credential.
fn key_counts(key: &str, normalized: &str, value: &[u8]) -> bool {
    if PARAMETER_KEYS_NOT_SECRET.contains(&normalized) || !key_looks_secret(key) {
        return false;
    }
    !(PATH_VALUED_KEYS.contains(&normalized) && looks_like_path(value))
}

/// Before a `value` key ending at `end`: a `key`/`name` sibling in the same element or
/// object (at most [`MAX_VALUE_SCAN`] bytes back, not across `<`, `>`, `{`, `}`) whose quoted
/// value is a secret-looking name.
fn paired_name_is_secret(b: &[u8], end: usize) -> bool {
    let lo = end.saturating_sub(MAX_VALUE_SCAN);
    let start = b[lo..end]
        .iter()
        .rposition(|&c| matches!(c, b'<' | b'>' | b'{' | b'}'))
        .map_or(lo, |p| lo + p + 1);
    (start..end).any(|j| {
        if !matches!(b[j], b'=' | b':') {
            return false;
        }
        let Some((ks, ke, _, before)) = key_before(b, j) else {
            return false;
        };
        if before < start || !PAIRED_NAME_KEYS.contains(&normalize_name_bytes(&b[ks..ke]).as_str())
        {
            return false;
        }
        let v = j + 1 + run_len(b, j + 1, is_blank).min(8);
        let Some(&q @ (b'"' | b'\'')) = b.get(v) else {
            return false;
        };
        let len = run_len_upto(b, v + 1, MAX_KEY_LEN + 1, |c| c != q && c != b'\n');
        let name = &b[v + 1..v + 1 + len];
        len <= MAX_KEY_LEN
            && b.get(v + 1 + len) == Some(&q)
            && std::str::from_utf8(name).is_ok_and(|n| {
                let norm = normalize_name(n);
                !PARAMETER_KEYS_NOT_SECRET.contains(&norm.as_str()) && key_looks_secret(n)
            })
    })
}

fn normalize_name_bytes(b: &[u8]) -> String {
    normalize_name(std::str::from_utf8(b).unwrap_or_default())
}

/// `<password>hunter2</password>`: an XML element at `i` whose name looks secret, with
/// non-empty, non-filler text content (at most [`MAX_VALUE_SCAN`] bytes) and its end tag.
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
    let content_len = run_len_upto(b, content_start, MAX_VALUE_SCAN, |c| c != b'<');
    let close = content_start + content_len;
    let closes = b[close..].starts_with(b"</")
        && b[close + 2..].starts_with(name)
        && b.get(close + 2 + name_len) == Some(&b'>');
    let content = b[content_start..close].trim_ascii();
    let local = name.rsplit(|&c| c == b':').next().unwrap_or(name);
    let key = std::str::from_utf8(local).unwrap_or_default();
    closes
        && !content.is_empty()
        && !is_filler(content)
        && key_counts(key, &normalize_name(key), content)
}

fn looks_like_path(v: &[u8]) -> bool {
    v.starts_with(b"/")
        || v.starts_with(b"~/")
        || v.starts_with(b"./")
        || v.starts_with(b"../")
        || (v.len() > 2
            && v[0].is_ascii_alphabetic()
            && v[1] == b':'
            && matches!(v[2], b'\\' | b'/'))
}

/// Not a credential although in a credential's place: a masking placeholder, a reference
/// to one (`${DB_PASSWORD}`, `{{ password }}`, `<password>`, `$DB_PASSWORD`, `%PASSWORD%`,
/// `%(password)s`, `{password}`), one to three punctuation characters (`?`, `...`) or a
/// [`NON_SECRET_PARAMETER_VALUES`] entry.
fn is_filler(v: &[u8]) -> bool {
    let ident =
        |s: &[u8]| !s.is_empty() && s.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_');
    let inner = |open: &[u8], close: &[u8]| {
        v.len() > open.len() + close.len() && v.starts_with(open) && v.ends_with(close)
    };
    let reference = inner(b"${", b"}")
        || inner(b"{{", b"}}")
        || inner(b"$(", b")")
        || (inner(b"%(", b")s") && ident(&v[2..v.len() - 2]))
        || (inner(b"%", b"%") && ident(&v[1..v.len() - 1]))
        || (inner(b"{", b"}") && ident(&v[1..v.len() - 1]))
        || (inner(b"<", b">")
            && v[1..v.len() - 1]
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b' ')))
        || (v.len() > 1
            && v[0] == b'$'
            && v[1..]
                .iter()
                .all(|&c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_'));
    reference
        || (v.len() <= 3 && v.iter().all(|c| c.is_ascii_punctuation()))
        || NON_SECRET_PARAMETER_VALUES
            .iter()
            .any(|w| v.eq_ignore_ascii_case(w.as_bytes()))
        || std::str::from_utf8(v).is_ok_and(is_mask_placeholder)
}

fn has_known_token(b: &[u8]) -> bool {
    (0..b.len()).any(|i| {
        b[i].is_ascii_alphanumeric()
            && (i == 0 || !is_word_byte(b[i - 1]))
            && token_end(b, i).is_some()
    }) || has_sendgrid_key(b)
        || has_azure_client_secret(b)
        || has_telegram_bot_token(b)
        || has_terraform_token(b)
        || has_airtable_token(b)
        || has_firebase_server_key(b)
        || has_discord_bot_token(b)
}

/// The end of a [`TOKEN_FORMATS`] token starting at `i` (the caller checks the start
/// boundary).
fn token_end(b: &[u8], i: usize) -> Option<usize> {
    TOKEN_FORMATS.iter().find_map(|f| {
        if !b[i..].starts_with(f.prefix.as_bytes()) {
            return None;
        }
        let body_start = i + f.prefix.len();
        let len = run_len_upto(b, body_start, f.max + 1, |c| f.charset.contains(c));
        let end = body_start + len;
        ((f.min..=f.max).contains(&len)
            && !b.get(end).is_some_and(|&c| is_word_byte(c))
            && body_passes(&b[body_start..end], f.check))
        .then_some(end)
    })
}

/// Whole run of `f` bytes of exactly `len..=max` bytes ending at `end` (exclusive) and
/// starting at a boundary (start of value or a byte not satisfying `f`).
fn run_before(b: &[u8], end: usize, min: usize, max: usize, f: impl Fn(u8) -> bool) -> bool {
    let n = b[..end]
        .iter()
        .rev()
        .take(max + 1)
        .take_while(|&&c| f(c))
        .count();
    (min..=max).contains(&n)
}

/// Telegram bot token: 8–10 digits, `:`, `A`, then 34 base64url characters, bounded.
fn has_telegram_bot_token(b: &[u8]) -> bool {
    find_iter(b, b":A", false).any(|i| {
        let digits = b[..i]
            .iter()
            .rev()
            .take(11)
            .take_while(|c| c.is_ascii_digit())
            .count();
        (8..=10).contains(&digits)
            && (i == digits || !is_word_byte(b[i - digits - 1]))
            && run_len_upto(b, i + 2, 35, is_b64url) == 34
    })
}

/// Terraform Cloud / Enterprise token: 14 alphanumerics, `.atlasv1.`, then 60–70
/// `[A-Za-z0-9_=-]`.
fn has_terraform_token(b: &[u8]) -> bool {
    find_iter(b, b".atlasv1.", false).any(|i| {
        run_before(b, i, 14, 14, |c| c.is_ascii_alphanumeric())
            && (60..=70).contains(&run_len_upto(b, i + 9, 71, |c| is_b64url(c) || c == b'='))
    })
}

/// Airtable personal access token: `pat`, 14 alphanumerics, `.`, 64 hex characters,
/// bounded.
fn has_airtable_token(b: &[u8]) -> bool {
    find_iter(b, b"pat", false).any(|i| {
        (i == 0 || !is_word_byte(b[i - 1]))
            && run_len_upto(b, i + 3, 15, |c| c.is_ascii_alphanumeric()) == 14
            && b.get(i + 17) == Some(&b'.')
            && run_len_upto(b, i + 18, 65, |c| c.is_ascii_hexdigit()) == 64
            && !b.get(i + 82).is_some_and(|&c| is_word_byte(c))
    })
}

/// Firebase Cloud Messaging server key: `AAAA` + 7 base64url characters, `:APA91b`, then at
/// least 100 base64url characters.
fn has_firebase_server_key(b: &[u8]) -> bool {
    find_iter(b, b":APA91b", false).any(|i| {
        i >= 11
            && b[i - 11..i].starts_with(b"AAAA")
            && run_before(b, i, 11, 11, is_b64url)
            && run_len_upto(b, i + 7, 100, is_b64url) >= 100
    })
}

/// Discord bot token: `M`, `N` or `O` + 23–25 base64url characters, `.`, 6 base64url
/// characters, `.`, 27–38 base64url characters, bounded, with upper- and lowercase letters
/// and digits in the first part.
fn has_discord_bot_token(b: &[u8]) -> bool {
    (0..b.len()).any(|i| {
        if !matches!(b[i], b'M' | b'N' | b'O') || (i > 0 && is_b64url(b[i - 1])) {
            return false;
        }
        let first = run_len_upto(b, i, 27, is_b64url);
        if !(24..=26).contains(&first) || b.get(i + first) != Some(&b'.') {
            return false;
        }
        let second_start = i + first + 1;
        let second = run_len_upto(b, second_start, 7, is_b64url);
        if second != 6 || b.get(second_start + 6) != Some(&b'.') {
            return false;
        }
        let third_start = second_start + 7;
        let third = run_len_upto(b, third_start, 39, is_b64url);
        (27..=38).contains(&third)
            && !b.get(third_start + third).is_some_and(|&c| is_b64url(c))
            && body_passes(&b[i..i + first], BodyCheck::MixedCaseAndDigit)
    })
}

fn body_passes(body: &[u8], check: BodyCheck) -> bool {
    let has = |f: fn(&u8) -> bool| body.iter().any(f);
    match check {
        BodyCheck::None => true,
        BodyCheck::MixedCaseAndDigit => {
            has(u8::is_ascii_uppercase) && has(u8::is_ascii_lowercase) && has(u8::is_ascii_digit)
        }
        BodyCheck::LetterAndDigit => has(u8::is_ascii_alphabetic) && has(u8::is_ascii_digit),
    }
}

/// SendGrid: `SG.` + 22 + `.` + 43 base64url characters.
fn has_sendgrid_key(b: &[u8]) -> bool {
    find_iter(b, b"SG.", false).any(|i| {
        let a = i + 3;
        let first = run_len(b, a, is_b64url);
        let second_start = a + first + 1;
        let second = run_len(b, second_start, is_b64url);
        (i == 0 || !is_word_byte(b[i - 1]))
            && first == 22
            && b.get(a + first) == Some(&b'.')
            && second == 43
            && !b
                .get(second_start + second)
                .is_some_and(|&c| is_word_byte(c))
    })
}

/// Azure AD (Entra ID) client secret: 3 `[A-Za-z0-9_~.]`, a digit, `Q~`, then 31–34
/// `[A-Za-z0-9_~.-]`, bounded on both sides.
fn has_azure_client_secret(b: &[u8]) -> bool {
    let head = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'~' | b'.');
    let tail = |c: u8| head(c) || c == b'-';
    find_iter(b, b"Q~", false).any(|i| {
        i >= 4
            && b[i - 1].is_ascii_digit()
            && b[i - 4..i - 1].iter().all(|&c| head(c))
            && (i == 4 || !tail(b[i - 5]))
            && (31..=34).contains(&run_len_upto(b, i + 2, 35, tail))
    })
}

/// An AWS access key ID (whole token) and, in the same value, a whole 40-character
/// `[A-Za-z0-9/+]` token with both upper- and lowercase letters.
fn has_aws_key_pair(b: &[u8]) -> bool {
    let is_secret_byte = |c: u8| c.is_ascii_alphanumeric() || c == b'/' || c == b'+';
    let (mut id, mut secret) = (false, false);
    let mut i = 0;
    while i < b.len() {
        let len = run_len(b, i, is_secret_byte);
        if len == 0 {
            i += 1;
            continue;
        }
        let token = &b[i..i + len];
        let padded = b.get(i + len) == Some(&b'=');
        if len == 20
            && AWS_ACCESS_KEY_ID_PREFIXES
                .iter()
                .any(|p| token.starts_with(p.as_bytes()))
            && token[4..]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            id = true;
        } else if len == 40
            && !padded
            && token.iter().any(u8::is_ascii_uppercase)
            && token.iter().any(u8::is_ascii_lowercase)
        {
            secret = true;
        }
        if id && secret {
            return true;
        }
        i += len;
    }
    false
}

/// How a command passes a password: the command (a whole word), the option, and whether the
/// password is glued to the option (`-pX`) or follows after blanks (`-p X`). For `curl` the
/// argument is `user:password` and only the part after the first `:` counts.
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

/// How far after a [`COMMAND_LINE_PASSWORDS`] command its password option is looked for.
const MAX_COMMAND_SCAN: usize = 256;

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

impl CommandArg {
    pub fn as_str(self) -> &'static str {
        match self {
            CommandArg::Glued => "glued",
            CommandArg::Next => "next argument",
            CommandArg::GluedOrNext => "glued or next argument",
            CommandArg::UserPassword => "user:password, glued or next argument",
        }
    }
}

/// A [`COMMAND_LINE_PASSWORDS`] command followed, on the same line and within
/// [`MAX_COMMAND_SCAN`] bytes,
/// by its password option with a non-empty, non-filler password.
fn has_command_line_password(b: &[u8]) -> bool {
    let is_cmd_byte = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.');
    COMMAND_LINE_PASSWORDS.iter().any(|&(cmd, opt, arg)| {
        find_iter(b, cmd.as_bytes(), false).any(|i| {
            let end = i + cmd.len();
            let bounded =
                (i == 0 || !is_cmd_byte(b[i - 1])) && b.get(end).is_some_and(|&c| is_blank(c));
            if !bounded {
                return false;
            }
            let line = &b[end..b.len().min(end + MAX_COMMAND_SCAN)];
            let line = &line[..line.iter().position(|&c| c == b'\n').unwrap_or(line.len())];
            find_iter(line, opt.as_bytes(), false)
                .any(|o| is_blank(line[o - 1]) && option_password(line, o + opt.len(), arg))
        })
    })
}

fn option_password(line: &[u8], at: usize, arg: CommandArg) -> bool {
    let arg_at = |s: usize| {
        let s = s.min(line.len());
        let quote = line.get(s).filter(|&&c| c == b'"' || c == b'\'').copied();
        let start = s + usize::from(quote.is_some());
        let len = run_len_upto(line, start, MAX_VALUE_SCAN, |c| match quote {
            Some(q) => c != q,
            None => !c.is_ascii_whitespace() && !matches!(c, b';' | b'|' | b'&'),
        });
        &line[start..start + len]
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
    candidate.is_some_and(|p| !p.is_empty() && !p.starts_with(b"-") && !is_filler(p))
}

// ---------------------------------------------------------------------------------------------
// Masking placeholders
// ---------------------------------------------------------------------------------------------

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

/// Examples of values [`is_mask_placeholder`] refuses (each is checked by a test).
pub const MASK_PLACEHOLDERS: &[&str] = &[
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
mod random_tests {
    use super::*;

    #[test]
    fn unlabelled_tokens_look_random_and_ordinary_values_do_not() {
        for token in [
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
            "a3f1c9e07b2d4e6f8a1b3c5d7e9f0a2b",
            "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg==",
            "dapi-style-9a8b7c6d5e4f3a2b1c0d",
        ] {
            assert!(looks_like_random_token(token), "{token}");
        }
        for ordinary in [
            "db.internal.example.com",
            "ip-10-0-0-12.ec2.internal",
            "3f1c2a4e-9d1b-4c7e-8a55-0f2b6d9e1a77",
            "arn:aws:iam::123456789012:role/etl",
            "2024-01-01T00:00:00Z",
            "orders-nightly-pipeline-prod",
            "12345678901234567890",
            "short1",
            "https://login.microsoftonline.com/tenant/oauth2/v2.0/token",
            "eu-west-1",
        ] {
            assert!(!looks_like_random_token(ordinary), "{ordinary}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET_NAMES: &[&str] = &[
        "password",
        "Password",
        "PASSWORD",
        "db_password",
        "dbPassword",
        "DbPassword",
        "DB-PASSWORD",
        "db.password",
        "passwd",
        "pwd",
        "user_pwd",
        "Pwd",
        "DB_PWD",
        "dbPwd",
        "pw",
        "pass",
        "db_pass",
        "pass1",
        "passphrase",
        "keyPassphrase",
        "secret",
        "clientSecret",
        "client-secret",
        "ClientSecret",
        "webhook_secret",
        "otp_secret",
        "token",
        "accessToken",
        "refresh_token",
        "id_token",
        "IdToken",
        "X-Auth-Token",
        "privateKey",
        "private_key",
        "ssh-private-key",
        "PrivateKey",
        "apiKey",
        "API_KEY",
        "x-api-key",
        "ApiKey",
        "accessKey",
        "secretAccessKey",
        "aws_secret_access_key",
        "accountKey",
        "AccountKey",
        "sharedKey",
        "SharedAccessKey",
        "sas",
        "SAS",
        "sasToken",
        "sas_key",
        "sastoken",
        "signingKey",
        "signing_key",
        "masterKey",
        "encryption_key",
        "encryptionKey",
        "clientKey",
        "sslKey",
        "ssl_key",
        "tlsKey",
        "hmacKey",
        "hmac_key",
        "credential",
        "credentials",
        "Credentials",
        "aws_creds",
        "connectionString",
        "connection_string",
        "Connection-String",
        "conn_str",
        "connStr",
        "dsn",
        "DSN",
        "sentry_dsn",
        "auth",
        "Auth",
        "x-auth",
        "authHeader",
        "basic_auth",
        "authorization",
        "Authorization",
        "authorization_header",
        "authToken",
        "bearer",
        "bearerToken",
        "cookie",
        "sessionCookie",
        "session_key",
        "session_id",
        "sessionId",
        "serviceAccountJson",
        "service_account_json",
        "serviceAccountKey",
        "service_account",
        "keyfile_json",
        "keyfile",
        "pin",
        "PIN",
        "pin_code",
        "totpSeed",
        "totp_seed",
        "otp",
        "sig",
        "signature",
        "key",
        "Key",
        "ssh_key",
        "license_key",
        "secret_id",
        "vault_secret_id",
        "github_pat",
        "mnemonic",
        "recovery_codes",
        "ｐａｓｓｗｏｒｄ",
        "Passwort",
        "contraseña",
        "auth_method_secret",
        "jwt",
        // Joined words ending in pass / pw / pwd / key.
        "authkey",
        "encryptkey",
        "cipherkey",
        "sshkey",
        "seckey",
        "skey",
        "passkey",
        "dbpass",
        "pgpass",
        "storepass",
        "keypass",
        "userpass",
        "bindpw",
        "rootpw",
        "adminpw",
        "SSHPASS",
        "sshkeys",
        // Other languages.
        "parola",
        "passord",
        "parol",
        "haslo",
        "hasło",
        "heslo",
        "sifre",
        "şifre",
        "salasana",
        "losenord",
        "lösenord",
        "jelszo",
        "jelszó",
        "lozinka",
        "adgangskode",
        "contrasenya",
        "kata_sandi",
        "katalaluan",
        "mima",
        "db_mima",
        "пароль",
        "密码",
        // Misspellings.
        "pword",
        "p_w_d",
        "P.W.",
        "pa55word",
        "p4ssw0rd",
        "s3cr3t",
        "passw",
        "pswrd",
        "pwrd",
        "passwrd",
        "pasword",
        // Short names.
        "pk",
        "sk",
        "hmac",
        "refresh",
        "cred",
        "tok",
        "tkn",
        "priv",
        "authn",
        "authz",
        "id_rsa",
        "id_ed25519",
        "pem",
        "pfx",
        "xprv",
        "wif",
        "seed",
        "mfa_seed",
        "twofa",
        "oauth_verifier",
        "code_verifier",
        "cvv",
        "cvc",
        "card_number",
        "creditCardNumber",
        "ssn",
    ];

    const VISIBLE_NAMES: &[&str] = &[
        "host",
        "hostname",
        "port",
        "username",
        "user",
        "database",
        "region",
        "base_url",
        "endpoint",
        "author",
        "authority",
        "authority_url",
        "tenant_id",
        "account_name",
        "warehouse",
        "schema",
        "role",
        "pipeline",
        "passenger",
        "compass",
        "bypass_proxy",
        "timeout",
        "description",
        "tags",
        "keyspace",
        "monkey",
        "keyId",
        "key_id",
        "access_key_id",
        "AccessKeyId",
        "private_key_id",
        "SharedAccessKeyName",
        "secret_name",
        "token_url",
        "tokenEndpoint",
        "authorization_url",
        "auth_uri",
        "token_type",
        "auth_type",
        "authSource",
        "authMechanism",
        "private_key_path",
        "ssl_key_file",
        "password_file",
        "credentials_path",
        "public_key",
        "publicKey",
        "partition_key",
        "primaryKey",
        "sort_key",
        "service_account_email",
        "signature_version",
        "oauth",
        "oauth_client_id",
        "passive",
        "pinned",
        "spinner",
        "ping",
        "sslmode",
        "compression",
        "kms_key_arn",
        "token_ttl",
        "jwt_issuer",
        "",
        "___",
        "authkey_id",
        "monkeys",
        "turkey",
        "hockey",
        "hotkey",
        "overpass",
        "multipass",
        "sortkey",
        "partitionkey",
        "publickey",
        "pubkey",
        "primarykey",
        "routingkey",
        "idempotencykey",
        "key_size",
        "password_policy",
        "token_refresh_interval",
        "auth_enabled",
        "seed_count",
        "pem_path",
        "ssh_key_file",
        "mfa",
        "code",
        "session",
        "ticket",
        "passage",
        "keynote",
        "author_email",
        "s3_bucket",
        "ipv4_address",
        "h2_console",
    ];

    #[test]
    fn secret_names() {
        assert!(SECRET_NAMES.len() >= 60);
        let missed: Vec<_> = SECRET_NAMES
            .iter()
            .filter(|n| !name_looks_secret(n))
            .collect();
        assert!(missed.is_empty(), "not secret: {missed:?}");
    }

    #[test]
    fn visible_names() {
        assert!(VISIBLE_NAMES.len() >= 25);
        let wrong: Vec<_> = VISIBLE_NAMES
            .iter()
            .filter(|n| name_looks_secret(n))
            .collect();
        assert!(wrong.is_empty(), "secret: {wrong:?}");
    }

    /// Short field names that are secret as names but ordinary as keys inside a value.
    #[test]
    fn name_only_words_do_not_make_parameters_secret() {
        for w in NAME_ONLY_WORDS {
            assert!(name_looks_secret(w), "{w}");
            assert_eq!(
                value_rule(&format!("https://example.com/items?{w}=42")),
                None,
                "{w}"
            );
        }
        assert_eq!(value_rule("seed=1234 refresh=30 pk=7"), None);
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

    const EXAMPLE_JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

    fn detected() -> Vec<(String, ValueRule)> {
        use ValueRule::*;
        let mut v: Vec<(String, ValueRule)> = [
            // URL userinfo
            ("postgres://etl:PASSWORD@db.example.com/prod", UrlUserinfo),
            ("mongodb+srv://u:p@cluster0.example.net/?retryWrites=true", UrlUserinfo),
            ("jdbc:mysql://u:p@h:3306/db", UrlUserinfo),
            ("https://user:pw@host", UrlUserinfo),
            ("redis://:password@host:6379/0", UrlUserinfo),
            ("amqp://guest:guest@rabbit:5672/%2f", UrlUserinfo),
            ("see postgres://a%40b.com:s3cr%2Ft@db/x for details", UrlUserinfo),
            ("postgres://u:pa/ss@host/db", UrlUserinfo),
            ("ftp://me@example.com:hunter2@ftp.example.com/", UrlUserinfo),
            // key=value parameters
            ("jdbc:postgresql://h:5432/db?user=etl&password=hunter2", KeyValuePair),
            (
                "Server=tcp:x.database.windows.net;Database=d;User ID=u;Password=p;",
                KeyValuePair,
            ),
            (
                "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=abc123==;EndpointSuffix=core.windows.net",
                KeyValuePair,
            ),
            (
                "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=abc=",
                KeyValuePair,
            ),
            (
                "https://acct.blob.core.windows.net/c?sv=2022-11-02&se=2025-01-01&sr=c&sp=r&sig=abc%2Bdef",
                KeyValuePair,
            ),
            ("host=db user=etl password=x dbname=prod", KeyValuePair),
            (
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                KeyValuePair,
            ),
            ("Data Source=x;Initial Catalog=y;PWD=z", KeyValuePair),
            ("pass=letmein", KeyValuePair),
            ("client_secret=abc&grant_type=client_credentials", KeyValuePair),
            ("https://api.example.com/v1?access_token=abc123", KeyValuePair),
            ("https://example.com/cb#access_token=abc123&token_type=bearer", KeyValuePair),
            ("https://maps.example.com/api?api_key=abc", KeyValuePair),
            ("https://maps.example.com/api?apikey=abc", KeyValuePair),
            (
                "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abcd",
                KeyValuePair,
            ),
            ("{\"password\": \"hunter2\"}", KeyValuePair),
            ("{\"token\":\"t\"}", KeyValuePair),
            ("user: etl\npassword: hunter2\n", KeyValuePair),
            ("X-API-Key: abc123", KeyValuePair),
            ("sasl.jaas.config=org.x.PlainLoginModule required username=\"u\" password=\"p\";", KeyValuePair),
            ("--password=hunter2", KeyValuePair),
            ("otpauth://totp/Acme:me?secret=JBSWY3DPEHPK3PXP&issuer=Acme", KeyValuePair),
            ("sslkey=abcdef", KeyValuePair),
            ("https://maps.example.com/api?key=AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", KnownTokenFormat),
            ("{\"pin\": 1234}", KeyValuePair),
            // private keys
            ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow...\n-----END RSA PRIVATE KEY-----", PrivateKeyBlock),
            ("-----BEGIN PRIVATE KEY-----\nMIIE", PrivateKeyBlock),
            ("-----BEGIN EC PRIVATE KEY-----", PrivateKeyBlock),
            ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn", PrivateKeyBlock),
            ("-----BEGIN ENCRYPTED PRIVATE KEY-----", PrivateKeyBlock),
            ("-----BEGIN DSA PRIVATE KEY-----", PrivateKeyBlock),
            ("-----BEGIN PGP PRIVATE KEY BLOCK-----", PrivateKeyBlock),
            ("---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----", PrivateKeyBlock),
            ("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none", PrivateKeyBlock),
            (
                "{\"type\": \"service_account\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMII\"}",
                PrivateKeyBlock,
            ),
            // service account JSON
            ("{\"type\": \"service_account\", \"project_id\": \"p\"}", ServiceAccountJson),
            ("{\\\"type\\\":\\\"service_account\\\"}", ServiceAccountJson),
            // JWT
            (EXAMPLE_JWT, Jwt),
            // Authorization header values
            ("Bearer abcdef0123456789", AuthorizationHeader),
            ("Basic dXNlcjpwYXNzd29yZA==", AuthorizationHeader),
            ("basic dTpw", AuthorizationHeader),
            ("Authorization: Basic w6lsw6h2ZTpwYXNz", AuthorizationHeader),
            ("token 0123456789abcdef0123", AuthorizationHeader),
            ("curl -H 'Authorization: Bearer Zm9vYmFyYmF6cXV4'", AuthorizationHeader),
            // webhooks
            (
                "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
                WebhookUrl,
            ),
            (
                "https://discord.com/api/webhooks/123456789012345678/abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-",
                WebhookUrl,
            ),
            // ODBC brace-quoted values, assignments in code, bracketed keys, XML, pairs
            ("Driver={ODBC Driver 18};Server=x;UID=etl;PWD={s3cr;e}}t};", KeyValuePair),
            ("Server=x;Password={hunter2};", KeyValuePair),
            ("PWD={secret};Server=x", KeyValuePair),
            ("'password' => 'hunter2',", KeyValuePair),
            ("password => hunter2", KeyValuePair),
            ("password := \"hunter2\"", KeyValuePair),
            ("$password = 'hunter2';", KeyValuePair),
            ("DECLARE @Password='hunter2'", KeyValuePair),
            ("$env:DB_PASSWORD=\"hunter2\"", KeyValuePair),
            ("ENV['PASSWORD']='hunter2'", KeyValuePair),
            ("config[\"db_password\"] = \"hunter2\"", KeyValuePair),
            ("SSHPASS=hunter2 sshpass -e ssh host", KeyValuePair),
            ("dbpass=hunter2", KeyValuePair),
            ("rootpw = hunter2", KeyValuePair),
            ("<password>hunter2</password>", KeyValuePair),
            ("<config><db:Password> hunter2 </db:Password></config>", KeyValuePair),
            ("<add key=\"DbPassword\" value=\"hunter2\"/>", KeyValuePair),
            ("<property name=\"password\" value=\"hunter2\"/>", KeyValuePair),
            ("[{\"Key\":\"DB_PASSWORD\",\"Value\":\"hunter2\"}]", KeyValuePair),
            ("{\"Name\": \"api_key\", \"Value\": \"abc123\"}", KeyValuePair),
            ("haslo=hunter2", KeyValuePair),
            // URL query keys that carry a credential
            ("https://app.example.com/callback?code=4/0AX4XfWhAbC123&state=x", KeyValuePair),
            ("https://app.example.com/?sid=a1b2c3d4e5f6", KeyValuePair),
            ("https://app.example.com/x?lang=en&session=Zx81kQp0Lm", KeyValuePair),
            ("https://cas.example.com/app?ticket=ST-1856339-aA5Yuvrxzpv8Tau1cYQ7", KeyValuePair),
            // command lines
            ("mysql -u etl -phunter2 prod", CommandLinePassword),
            ("mysqldump -h db -u etl -p'hun ter2' prod", CommandLinePassword),
            ("sshpass -p hunter2 ssh etl@host", CommandLinePassword),
            ("sshpass -phunter2 ssh etl@host", CommandLinePassword),
            ("curl -u etl:hunter2 https://api.example.com", CommandLinePassword),
            ("curl --user etl:hunter2 https://api.example.com", CommandLinePassword),
            ("curl -s -uetl:hunter2 https://api.example.com", CommandLinePassword),
            ("redis-cli -h cache -a hunter2 ping", CommandLinePassword),
            // protocol-relative URL userinfo, token as the URL user
            ("//etl:hunter2@db.example.com/prod", UrlUserinfo),
            ("src=\"//u:p@cdn.example.com/x.js\"", UrlUserinfo),
            (
                "https://0123456789abcdef0123456789abcdef01234567@github.com/org/repo.git",
                UrlUserinfo,
            ),
            (
                "https://aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z@git.example.com/r.git",
                UrlUserinfo,
            ),
            // lower-case PEM header, JWK private keys
            ("-----begin rsa private key-----\nMIIE", PrivateKeyBlock),
            (
                "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"d\":\"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI\"}",
                PrivateKeyBlock,
            ),
            (
                "{\"kty\": \"oct\", \"k\": \"GawgguFyGrWKav7AX4VKUg_abcdefgh\"}",
                PrivateKeyBlock,
            ),
            (
                "{\\\"kty\\\":\\\"RSA\\\",\\\"d\\\":\\\"X4cTteJY_gn4FYPsXB8rdXix5vwsg1FLN5E3EaG6RJo\\\"}",
                PrivateKeyBlock,
            ),
            // Authorization header values
            ("Authorization: token 0123456789abcdef0123456789abcdef01234567", AuthorizationHeader),
            ("Basic ZXRsaHVudGVyMjEyMzQ1Ng==", AuthorizationHeader),
            ("Bearer abcdefghijklmnopqrstuvwxyz", AuthorizationHeader),
            // AWS key pair
            (
                "AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                AwsKeyPair,
            ),
            (
                "AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                AwsKeyPair,
            ),
        ]
        .into_iter()
        .map(|(v, r)| (v.to_owned(), r))
        .collect();
        v.push((format!("Bearer {EXAMPLE_JWT}"), Jwt));
        v.push((format!("id_token {EXAMPLE_JWT} trailing"), Jwt));
        // Known token formats, built so that no real-looking token is a literal here.
        let tok = |prefix: &str, body: &str| (format!("{prefix}{body}"), KnownTokenFormat);
        let a36 = "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8";
        let hex32 = "0123456789abcdef0123456789abcdef";
        let hex64 = format!("{hex32}{hex32}");
        v.extend([
            tok("ghp_", a36),
            tok("gho_", a36),
            tok("ghs_", a36),
            tok(
                "github_pat_",
                &"A1_b"
                    .repeat(20)
                    .chars()
                    .chain("xy".chars())
                    .collect::<String>(),
            ),
            tok("glpat-", "abcdefghij0123456789"),
            tok(
                "xoxb-",
                "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
            ),
            tok("xapp-", "1-A0123456789-1234567890123-abcdef0123456789"),
            tok("sk_live_", "4eC39HqLyjWDarjtT1zdp7dc"),
            tok("rk_test_", "4eC39HqLyjWDarjtT1zdp7dc"),
            tok("AIza", "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"),
            tok("sk-", "proj-Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2Yz3"),
            tok(
                "sk-ant-",
                "api03-Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2Yz3-AA",
            ),
            tok("npm_", a36),
            tok("pypi-AgEIcHlwaS5vcmc", &"Ab1_".repeat(15)),
            tok("key-", hex32),
            tok("shpat_", hex32),
            tok("dop_v1_", &hex64),
            tok("hvs.", "CAESIJlWh0Abc123def456ghi789jkl"),
            tok("dapi", hex32),
            tok("sq0atp-", "Ab1Cd2Ef3Gh4Ij5Kl6Mn7O"),
            tok("hf_", "abcdefghijklmnopqrstuvwxyzABCDEFGH"),
            tok(
                "AGE-SECRET-KEY-1",
                &"QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L".repeat(2)[..58],
            ),
            tok(
                "PMAK-",
                "0123456789abcdef01234567-0123456789abcdef0123456789abcdef01",
            ),
            tok("glc_", "eyJvIjoiMTIzNDU2NyIsIm4iOiJ0ZXN0In0="),
            tok("NRAK-", "ABCDEFGHIJKLMNOPQRSTUVWXYZ1"),
            tok("SK", hex32),
            tok("lin_api_", "abcdefghij0123456789abcdefghij0123456789"),
            tok("dp.pt.", "abcdefghij0123456789abcdefghij0123456789abc"),
            tok("ATATT3", &"xFfGF0T".repeat(25)),
            tok("glcbt-", "64_abcdefghij0123456789"),
            tok("gloas-", &format!("{hex32}{hex32}")),
            tok("s.", "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8"),
            tok("HRKU-AA", &"Ab1_".repeat(15)[..58]),
            tok(
                "sk.eyJ",
                "1IjoiZXhhbXBsZSIsImEiOiJjbGV4YW1wbGUifQ.Ab1Cd2Ef3Gh4Ij5Kl6Mn7O",
            ),
            tok(
                "access_token$production$",
                &format!("abcd1234efgh5678${hex32}"),
            ),
            tok("pscale_pw_", "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx"),
            tok("pscale_tkn_", "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx"),
            tok(
                "1//0",
                "gLlb8Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2Yz3-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
            ),
            tok("sk-", hex32),
            tok("sk-", "abcdefghijklmnop0123456789abcdefghij"),
            tok("pplx-", &"a1B2c3".repeat(8)),
            tok("xai-", &"a1B2c3D4".repeat(10)),
            tok("r8_", "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2Y"),
            tok("123456789:", "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"),
            tok(
                "abcdefgh012345",
                &format!(".atlasv1.{}", "Ab1_Cd2-Ef3=".repeat(5)),
            ),
            tok("patAbCdEf12345678", &format!(".{hex64}")),
            tok("AAAAabc1234:", &format!("APA91b{}", "Ab1_Cd2-".repeat(17))),
            tok(
                "MTA4NzY1NDMyMTIzNDU2Nzg5MA",
                ".GhIjKl.Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0",
            ),
        ]);
        v.push((format!("my token is ghp_{a36}."), KnownTokenFormat));
        v.push((
            format!("SG.{}.{}", "a".repeat(22), "B".repeat(43)),
            KnownTokenFormat,
        ));
        v.push((
            "abc8Q~abcdefghijklmnopqrstuvwxyz01234".to_owned(),
            KnownTokenFormat,
        ));
        v
    }

    const ORDINARY_VALUES: &[&str] = &[
        "db.internal.example.com",
        "https://login.microsoftonline.com/tenant/oauth2/v2.0/token",
        "https://oauth2.googleapis.com/token",
        "https://accounts.google.com/o/oauth2/auth",
        "us-east-1",
        "arn:aws:iam::123456789012:role/etl",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
        "postgresql",
        "require",
        "etl@example.com",
        "550e8400-e29b-41d4-a716-446655440000",
        "AKIAIOSFODNN7EXAMPLE",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "SELECT 1",
        "/var/run/secrets/token",
        "aGVsbG8=",
        "https://user@host",
        "https://host:8443/path",
        "git@github.com:org/repo.git",
        "https://example.com/a@b",
        "https://host:8443/x?email=a@b.com",
        "SharedAccessKeyName=RootManageSharedAccessKey",
        "password=",
        "password=;user=x",
        "sslmode=require",
        "https://example.com/search?q=token",
        "https://example.com/authorize?client_id=abc&response_type=token&scope=openid",
        "mongodb://h1,h2/?replicaSet=rs0&authSource=admin&authMechanism=SCRAM-SHA-256",
        "auth-service:1.2.3",
        "token.example.com:8443",
        "Rotate password: every 90 days",
        "Uses Bearer authentication",
        "Basic auth is disabled",
        "token expires daily",
        "sk-SK",
        "sk-prod-cluster-eu-west-1-database-primary.internal",
        "pk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "postgres://user:${DB_PASSWORD}@db:5432/app",
        "postgres://user:****@db:5432/app",
        "password=<password>",
        "sslkey=/etc/ssl/private/client.key",
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
        "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
        "https://www.googleapis.com/auth/cloud-platform",
        "api://00000000-0000-0000-0000-000000000000/.default",
        "signature_version=s3v4",
        "auth=none",
        "monkey=banana",
        "[{\"Key\": \"env\", \"Value\": \"prod\"}]",
        "s3://bucket/prefix?key=reports",
        "Basic plan",
        "Basic authentication",
        "keyspace=analytics",
        "Zürich-数据库",
        "",
        // New rules, legitimate neighbours.
        "password={password}",
        "Password={0}",
        "Driver={ODBC Driver 18 for SQL Server};Server=x;Database=y",
        "Server=x;Password={{password}};",
        "Server=x;Password=${DB_PASSWORD};",
        "Server=x;Password=<password>;",
        "<password></password>",
        "<password>${DB_PASSWORD}</password>",
        "<host>db.example.com</host>",
        "<key>password</key>",
        "<add key=\"Environment\" value=\"prod\"/>",
        "<property name=\"url\" value=\"jdbc:postgresql://db/prod\"/>",
        "[{\"Key\": \"password_policy\", \"Value\": \"strict\"}]",
        "x => y",
        "timeout := 30",
        "https://example.com/?code=US",
        "https://example.com/lookup?country_code=DE1234567",
        "https://example.com/?session=abc",
        "https://example.com/?state=a1b2c3d4e5f6",
        "https://github.com/org/repo/commit/da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "GITHUB_SHA=da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "https://jdoe-at-123456789012@git-codecommit.us-east-1.amazonaws.com/v1/repos/r",
        "https://org@dev.azure.com/org/project/_git/repo",
        "//cdn.example.com/lib.js",
        "// comment: user@host",
        "https://cdn.example.com//assets/x.js",
        "mysql -h db -u etl -p prod",
        "mysql -h db -P 3306 -u etl",
        "sshpass -e ssh etl@host",
        "curl -u etl: https://api.example.com",
        "curl https://api.example.com/users/me",
        "redis-cli -h cache ping",
        "-----BEGIN RSA PUBLIC KEY-----",
        "{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbf\",\"e\":\"AQAB\"}",
        "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"1\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\"}]}",
        "Basic aGVsbG8=",
        "Basic authentication only",
        "Bearer authentication",
        "token expires in 3600 seconds",
        "s.example.com",
        "https://s.cdn.example.com/abcdefghijklmnopqrstuvwx",
        "sk-prod-cluster-eu-west-1.internal",
        "sk-0123456789abcdef",
        "patient.example.com",
        "123456789:short",
        "2024-01-01T00:00:00Z",
        "https://token.actions.githubusercontent.com",
        "https://sts.amazonaws.com/?Action=AssumeRoleWithWebIdentity&Version=2011-06-15",
        "https://login.microsoftonline.com/common/oauth2/v2.0/authorize?client_id=abc&response_type=code",
        "https://example.com/cb?state=xyz&session_state=abc",
        "jdbc:sqlserver://db:1433;databaseName=prod;encrypt=true",
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 etl@host",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl etl@host",
    ];

    #[test]
    fn detects_embedded_credentials() {
        let cases = detected();
        assert!(cases.len() >= 40, "{}", cases.len());
        for (value, rule) in &cases {
            assert_eq!(value_rule(value), Some(*rule), "{value}");
        }
    }

    #[test]
    fn ordinary_values_pass() {
        assert!(ORDINARY_VALUES.len() >= 30);
        for value in ORDINARY_VALUES {
            assert_eq!(value_rule(value), None, "{value}");
        }
    }

    #[test]
    fn token_boundaries() {
        let a36 = "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8";
        assert!(value_rule(&format!("xghp_{a36}")).is_none());
        assert!(value_rule(&format!("ghp_{a36}x")).is_none());
        assert!(value_rule(&format!("ghp_{}", &a36[1..])).is_none());
        assert!(value_rule(&format!("(ghp_{a36})")).is_some());
        assert!(value_rule("SK0123456789abcdef0123456789abcdefg").is_none());
        assert!(value_rule("NOTSK0123456789abcdef0123456789abcdef").is_none());
        assert!(value_rule("hf_abc").is_none());
        let azure_tail = "abcdefghijklmnopqrstuvwxyz01234";
        assert!(value_rule(&format!("abc8Q~{azure_tail}")).is_some());
        assert!(value_rule(&format!("xabc8Q~{azure_tail}")).is_none());
        assert!(value_rule(&format!("abc8Q~{azure_tail}5678")).is_none());
        assert!(value_rule(&format!("abcxQ~{azure_tail}")).is_none());
    }

    #[test]
    fn every_token_format_is_reachable() {
        for f in TOKEN_FORMATS {
            let c = match f.charset {
                Charset::Hex | Charset::LowerHex | Charset::HexDash | Charset::LowerAlnum => "a1",
                Charset::UpperAlnum => "A1",
                Charset::Letters => "aB",
                _ => "aB3",
            };
            let body: String = c.chars().cycle().take(f.min).collect();
            let value = format!("{}{}", f.prefix, body);
            assert_eq!(
                value_rule(&value),
                Some(ValueRule::KnownTokenFormat),
                "{}",
                f.provider
            );
            if f.min > 1 {
                let short = format!("{}{}", f.prefix, &body[..f.min - 1]);
                assert_ne!(
                    value_rule(&short),
                    Some(ValueRule::KnownTokenFormat),
                    "{} short",
                    f.provider
                );
            }
        }
    }

    #[test]
    fn rule_ids_are_unique_and_snake_case() {
        let mut ids: Vec<_> = ValueRule::ALL.iter().map(|r| r.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), ValueRule::ALL.len());
        for r in ValueRule::ALL {
            assert!(r
                .as_str()
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c == b'_'));
            assert!(r.describe().starts_with("must not embed a credential ("));
        }
    }

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

    #[test]
    fn nothing_returned_carries_the_value() {
        let mut values: Vec<String> = detected().into_iter().map(|(v, _)| v).collect();
        values.extend(ORDINARY_VALUES.iter().map(|v| v.to_string()));
        let mut fixed_debug: Vec<String> = ValueRule::ALL
            .iter()
            .map(|r| format!("{:?}", Some(*r)))
            .collect();
        fixed_debug.push("None".to_owned());
        for value in &values {
            let outputs = [
                format!("{:?}", value_rule(value)),
                format!("{:?}", value_rule(value).map(ValueRule::as_str)),
                format!("{:?}", value_rule(value).map(ValueRule::describe)),
                format!("{:?}", is_mask_placeholder(value)),
                format!("{:?}", name_looks_secret(value)),
            ];
            for out in &outputs {
                assert!(value.len() < 6 || !out.contains(value.as_str()), "{out}");
            }
            // The Debug form is one of a fixed set of strings, whatever the value.
            assert!(fixed_debug.contains(&outputs[0]), "{}", outputs[0]);
            assert!(["true", "false"].contains(&outputs[3].as_str()));
            assert!(["true", "false"].contains(&outputs[4].as_str()));
        }
    }

    /// 16 KiB inputs built to make a rescanning implementation quadratic (seconds instead
    /// of milliseconds).
    #[test]
    fn long_values_stay_fast() {
        for (pattern, count) in [
            ("a=b;", 4096),
            (":", 16384),
            ("x://", 4096),
            ("a://b:c", 2340),
            ("?k=", 5461),
            ("sk-", 5461),
            ("ghp_", 4096),
            ("\"k\": ", 3276),
            ("eyJ.", 4096),
            ("-----BEGIN ", 1489),
            ("abc1Q~", 2730),
            ("value=\"x\" ", 1638),
            ("<a>", 5461),
            ("<password>", 1638),
            ("mysql -p ", 1820),
            ("curl ", 3276),
            ("\"d\": kty ", 1820),
            ("//", 8192),
            (":A", 8192),
            ("M", 16384),
            ("{", 16384),
            (";x={", 4096),
        ] {
            assert_eq!(value_rule(&pattern.repeat(count)), None, "{pattern}");
        }
        assert_eq!(
            value_rule(&"hooks.slack.com/services/".repeat(655)),
            Some(ValueRule::WebhookUrl)
        );
    }

    // -----------------------------------------------------------------------------------------
    // `docs/secret-classification.md` lists every const; these render what it must contain.
    // -----------------------------------------------------------------------------------------

    const DOC: &str = include_str!("../../../docs/secret-classification.md");

    fn code_list<T: AsRef<str>>(items: impl IntoIterator<Item = T>) -> String {
        items
            .into_iter()
            .map(|s| match s.as_ref() {
                "`" => "`` ` ``".to_owned(),
                s => format!("`{s}`"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn token_rows() -> Vec<String> {
        TOKEN_FORMATS
            .iter()
            .map(|f| {
                let len = if f.min == f.max {
                    f.min.to_string()
                } else {
                    format!("{}–{}", f.min, f.max)
                };
                let check = match f.check {
                    BodyCheck::None => "",
                    BodyCheck::MixedCaseAndDigit => " (upper, lower and digit)",
                    BodyCheck::LetterAndDigit => " (letter and digit)",
                };
                format!(
                    "| {} | `{}` | `{}` | {}{} |",
                    f.provider,
                    f.prefix,
                    f.charset.as_str(),
                    len,
                    check
                )
            })
            .collect()
    }

    fn doc_lists() -> Vec<String> {
        let mut lists = vec![
            code_list(NAME_MARKERS),
            code_list(NAME_WORDS),
            code_list(PUBLIC_KEY_QUALIFIERS),
            code_list(VISIBLE_SUFFIXES),
            code_list(SECRET_DESPITE_SUFFIX),
            code_list(AWS_ACCESS_KEY_ID_PREFIXES),
            code_list(PATH_VALUED_KEYS),
            code_list(PARAMETER_KEYS_NOT_SECRET),
            code_list(NON_SECRET_PARAMETER_VALUES),
            code_list(MASK_CHARS.iter().map(|c| c.to_string())),
            code_list(MASK_WORDS),
            code_list(MASK_WRAPPED_WORDS),
            code_list(MASK_WRAPPERS.chars().map(|c| c.to_string())),
            code_list(MASK_PLACEHOLDERS),
            code_list(ValueRule::ALL.iter().map(|r| r.as_str())),
            code_list(NAME_ONLY_WORDS),
            code_list(SECRET_WORD_ENDINGS),
            code_list(ENDING_EXCEPTIONS),
            code_list(LEET_DIGITS.iter().map(|(d, l)| format!("{d}→{l}"))),
            code_list(URL_QUERY_SECRET_KEYS),
            code_list(PAIRED_VALUE_KEYS),
            code_list(PAIRED_NAME_KEYS),
        ];
        lists.extend(
            COMMAND_LINE_PASSWORDS
                .iter()
                .map(|(c, o, a)| format!("| `{c}` | `{o}` | {} |", a.as_str())),
        );
        lists.extend(
            WEBHOOK_URLS
                .iter()
                .map(|(p, m, n)| format!("| {p} | `{m}` | {n} |")),
        );
        lists.extend(
            ValueRule::ALL
                .iter()
                .map(|r| format!("| `{}` | {} |", r.as_str(), r.describe())),
        );
        lists.extend(token_rows());
        lists
    }

    #[test]
    fn doc_matches_the_consts() {
        let missing: Vec<_> = doc_lists()
            .into_iter()
            .filter(|l| !DOC.contains(l.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "docs out of date:\n{}",
            missing.join("\n")
        );
    }

    /// `cargo test print_doc_lists -- --ignored --nocapture` prints the lists for the doc.
    #[test]
    #[ignore]
    fn print_doc_lists() {
        for l in doc_lists() {
            println!("{l}\n");
        }
    }
}
