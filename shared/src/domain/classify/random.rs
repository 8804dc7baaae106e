//! Unlabelled random tokens: an API key without a known prefix, a bare AWS secret access
//! key, an Azure storage key, a hex token. Refused in visible fields that are not
//! identifiers (a declared identifier such as `client_id` or `access_key_id` may look
//! random and is not checked by this rule).

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
/// and not a UUID, a dotted host name or a number.
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

/// `db-01.internal.example.com`, `ip-10-0-0-12.ec2.internal`: a host name of lower-case
/// labels of at most 63 characters, the last of letters only.
fn is_dotted_name(value: &str) -> bool {
    let labels: Vec<&str> = value.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
        && labels
            .last()
            .is_some_and(|l| l.bytes().all(|b| b.is_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
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
