//! Tokens recognised by their format: provider prefixes as a data table ([`TOKEN_FORMATS`],
//! after the public rule sets of gitleaks, GitHub secret scanning and trufflehog), a few
//! formats a prefix cannot describe, and an AWS access key ID next to its secret.

use super::scan::{find_iter, is_b64url, is_word_byte, run_before, run_len, run_len_upto};

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

/// AWS access key ID prefixes (then 16 `[A-Z0-9]`). An ID alone is an identifier; it counts
/// only together with a secret access key in the same value ([`ValueRule::AwsKeyPair`]).
pub const AWS_ACCESS_KEY_ID_PREFIXES: &[&str] = &["AKIA", "ASIA", "ABIA", "ACCA"];

pub(super) fn has_known_token(b: &[u8]) -> bool {
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
pub(super) fn token_end(b: &[u8], i: usize) -> Option<usize> {
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

pub(super) fn body_passes(body: &[u8], check: BodyCheck) -> bool {
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
pub(super) fn has_aws_key_pair(b: &[u8]) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn token(value: &str) -> bool {
        has_known_token(value.as_bytes())
    }

    #[test]
    fn token_boundaries() {
        let a36 = "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8";
        assert!(!token(&format!("xghp_{a36}")));
        assert!(!token(&format!("ghp_{a36}x")));
        assert!(!token(&format!("ghp_{}", &a36[1..])));
        assert!(token(&format!("(ghp_{a36})")));
        assert!(!token("SK0123456789abcdef0123456789abcdefg"));
        assert!(!token("NOTSK0123456789abcdef0123456789abcdef"));
        assert!(!token("hf_abc"));
        let azure_tail = "abcdefghijklmnopqrstuvwxyz01234";
        assert!(token(&format!("abc8Q~{azure_tail}")));
        assert!(!token(&format!("xabc8Q~{azure_tail}")));
        assert!(!token(&format!("abc8Q~{azure_tail}5678")));
        assert!(!token(&format!("abcxQ~{azure_tail}")));
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
            assert!(token(&format!("{}{}", f.prefix, body)), "{}", f.provider);
            if f.min > 1 {
                let short = format!("{}{}", f.prefix, &body[..f.min - 1]);
                assert!(!token(&short), "{} short", f.provider);
            }
        }
    }

    #[test]
    fn an_access_key_id_counts_only_with_its_secret() {
        let id = "AKIAIOSFODNN7EXAMPLE";
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        assert!(has_aws_key_pair(format!("{id} {secret}").as_bytes()));
        assert!(!has_aws_key_pair(id.as_bytes()));
        assert!(!has_aws_key_pair(
            format!("{id} 0123456789abcdef0123456789abcdef01234567").as_bytes()
        ));
    }
}
