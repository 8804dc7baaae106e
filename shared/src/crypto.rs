//! Envelope encryption of secret fields.
//!
//! Per write, KMS `GenerateDataKey` (AES-256) returns a fresh data key in plain and wrapped
//! form, bound by encryption context to the workspace and credential. Each secret field is
//! sealed locally with AES-256-GCM under that key (AAD: workspace, credential, field name
//! and the digest of the credential's destination, so sealed fields cannot be swapped
//! between credentials or fields, nor opened once the credential points elsewhere); only
//! the wrapped key is stored. List and get make no KMS call; only resolve decrypts.
//!
//! Wiping: the plain data key, as decoded from KMS's answer, is held in `Zeroizing` and
//! wiped when dropped (right after the cipher is keyed); the SDK's own buffer of the
//! answer (which carried the key base64-encoded) is not ours to wipe. The cipher's AES key
//! schedule is wiped when the cipher is dropped (the `zeroize` feature of `aes`, enabled
//! here; aes-gcm's own `zeroize` feature only wipes the GHASH key block). The GHASH state
//! is wiped on drop on aarch64, the Lambda builds (polyval's portable backend, with its
//! `zeroize` feature; the ARMv8 backend, which would not wipe, needs `--cfg polyval_armv8`,
//! which no build here sets). On x86_64 (local runs and tests) polyval 0.6.2 wraps its
//! backend in `ManuallyDrop` without a `Drop`, so the GHASH key stays in memory there.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::Aes256Gcm;
use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::operation::decrypt::DecryptError;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, MacAlgorithmSpec};
use hmac::{Hmac, Mac};
use secrecy::SecretString;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::domain::{SealedSecret, SecretValue};

#[derive(Debug, PartialEq, Eq)]
pub enum CryptoError {
    /// KMS failed or could not be reached.
    Unavailable,
    /// A feature needs a setting this deployment lacks.
    NotConfigured,
    /// A sealed field or its wrapped key does not open: tampered with, moved to another
    /// credential or workspace, or wrapped under another encryption context.
    Corrupt,
}

/// The encryption context every data key is bound to.
pub fn encryption_context(workspace_id: &str, credential_id: &str) -> [(&'static str, String); 2] {
    [
        ("workspace_id", workspace_id.to_owned()),
        ("credential_id", credential_id.to_owned()),
    ]
}

/// Whose secrets are sealed or opened, and where they may be sent: everything a seal is
/// bound to.
#[derive(Clone, Copy, Debug)]
pub struct SealScope<'a> {
    pub workspace_id: &'a str,
    pub credential_id: &'a str,
    /// The hex digest of the credential's [`crate::domain::Destination`].
    pub destination: &'a str,
}

/// Additional authenticated data of one sealed field: workspace, credential, field and the
/// destination digest, so a sealed field opens only in its own place and only while the
/// credential still points where it did when the field was sealed. `bound: false` gives
/// the associated data secrets were sealed with before destination binding (no digest).
pub fn field_aad(scope: &SealScope<'_>, field: &str, bound: bool) -> Vec<u8> {
    let SealScope {
        workspace_id,
        credential_id,
        destination,
    } = scope;
    if bound {
        format!("v2\0{workspace_id}\0{credential_id}\0{field}\0{destination}").into_bytes()
    } else {
        format!("{workspace_id}\0{credential_id}\0{field}").into_bytes()
    }
}

/// What the fingerprint key is derived from (KMS `GenerateMac` over this constant).
const FINGERPRINT_KEY_LABEL: &[u8] = b"credentials-api/idempotency-fingerprint/v1";

/// Seals secrets under KMS data keys, and keys request fingerprints. Build once per
/// container.
#[derive(Clone, Debug)]
pub struct Encryptor {
    kms: aws_sdk_kms::Client,
    key_id: String,
    /// KMS HMAC key from which the idempotency fingerprint key is derived.
    mac_key_id: Option<String>,
    /// The derived fingerprint key, cached for the life of the container.
    fingerprint_key: Arc<OnceLock<Zeroizing<Vec<u8>>>>,
}

impl Encryptor {
    pub fn new(kms: aws_sdk_kms::Client, key_id: impl Into<String>) -> Self {
        Self {
            kms,
            key_id: key_id.into(),
            mac_key_id: None,
            fingerprint_key: Arc::default(),
        }
    }

    /// Enables request fingerprints (idempotent create) with this KMS HMAC key.
    pub fn with_fingerprint_key(mut self, mac_key_id: Option<String>) -> Self {
        self.mac_key_id = mac_key_id;
        self
    }

    /// HMAC-SHA256 of `message` under a key derived by KMS `GenerateMac` over a constant
    /// (once per container): only principals allowed `kms:GenerateMac` on the idempotency
    /// key can derive it, not readers of the table. Fingerprints of requests that carry
    /// secrets can then be stored without making those secrets guessable offline.
    pub async fn fingerprint(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let key = match self.fingerprint_key.get() {
            Some(key) => key,
            None => {
                let derived = self.derive_fingerprint_key().await?;
                // A concurrent first use may have set it meanwhile: both derive the same key.
                let _ = self.fingerprint_key.set(derived);
                self.fingerprint_key.get().ok_or(CryptoError::Unavailable)?
            }
        };
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(key).map_err(|_| CryptoError::Unavailable)?;
        mac.update(message);
        Ok(mac.finalize().into_bytes().to_vec())
    }

    async fn derive_fingerprint_key(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let Some(mac_key_id) = &self.mac_key_id else {
            tracing::error!("IDEMPOTENCY_KEY_ID is not configured");
            return Err(CryptoError::NotConfigured);
        };
        let output = self
            .kms
            .generate_mac()
            .key_id(mac_key_id)
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .message(Blob::new(FINGERPRINT_KEY_LABEL))
            .send()
            .await
            .map_err(|e| {
                let e = e.into_service_error();
                tracing::error!(
                    aws_error_code = e.code().unwrap_or("none"),
                    "kms GenerateMac failed"
                );
                CryptoError::Unavailable
            })?;
        let mac = output.mac.ok_or(CryptoError::Unavailable)?;
        Ok(Zeroizing::new(mac.into_inner()))
    }

    /// Seals every given secret under one new data key, bound to `scope` (its destination
    /// included). No KMS call when there is nothing to seal.
    pub async fn seal(
        &self,
        scope: &SealScope<'_>,
        secrets: &BTreeMap<String, SecretValue>,
    ) -> Result<BTreeMap<String, SealedSecret>, CryptoError> {
        let (workspace_id, credential_id) = (scope.workspace_id, scope.credential_id);
        if secrets.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mut request = self
            .kms
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256);
        for (k, v) in encryption_context(workspace_id, credential_id) {
            request = request.encryption_context(k, v);
        }
        let mut output = request.send().await.map_err(|e| {
            let e = e.into_service_error();
            tracing::error!(
                aws_error_code = e.code().unwrap_or("none"),
                "kms GenerateDataKey failed"
            );
            CryptoError::Unavailable
        })?;
        let plain_key = Zeroizing::new(
            output
                .plaintext
                .take()
                .ok_or(CryptoError::Unavailable)?
                .into_inner(),
        );
        let wrapped_key = output
            .ciphertext_blob
            .take()
            .ok_or(CryptoError::Unavailable)?
            .into_inner();
        // Dropped at the end of this function: key schedule and GHASH state are wiped then.
        let cipher = Aes256Gcm::new_from_slice(&plain_key).map_err(|_| CryptoError::Unavailable)?;
        drop(plain_key);

        let mut sealed = BTreeMap::new();
        for (field, value) in secrets {
            let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
            let aad = field_aad(scope, field, true);
            let ciphertext = cipher
                .encrypt(
                    &nonce,
                    Payload {
                        msg: value.expose().as_bytes(),
                        aad: &aad,
                    },
                )
                .map_err(|_| CryptoError::Unavailable)?;
            sealed.insert(
                field.clone(),
                SealedSecret {
                    encrypted_data_key: wrapped_key.clone(),
                    nonce: nonce.to_vec(),
                    ciphertext,
                    encoding: value.encoding,
                    bound: true,
                },
            );
        }
        Ok(sealed)
    }

    /// Opens sealed secrets: one KMS `Decrypt` (with the credential's encryption context)
    /// per distinct wrapped data key, all at once (so a request waits for one round of
    /// them however many there are), then AES-256-GCM with each field's AAD. Every field
    /// sealed by one write shares one data key, so a credential whose secrets were all set
    /// by one write needs one `Decrypt`. Plain data keys are `Zeroizing` and the ciphers
    /// wipe their AES key schedule on drop (see the module docs for GHASH); the values come
    /// back as `SecretString`s (wiped when dropped).
    /// A field sealed for another destination than `scope`'s (moved by any path but an
    /// update that sent it again) does not open: `Corrupt`.
    pub async fn open(
        &self,
        scope: &SealScope<'_>,
        sealed: &BTreeMap<String, SealedSecret>,
    ) -> Result<BTreeMap<String, SecretValue>, CryptoError> {
        let (workspace_id, credential_id) = (scope.workspace_id, scope.credential_id);
        let mut wrapped_keys: Vec<&[u8]> = sealed
            .values()
            .map(|s| s.encrypted_data_key.as_slice())
            .collect();
        wrapped_keys.sort_unstable();
        wrapped_keys.dedup();
        // Boxed: each cipher holds its key schedule; moving a box moves no key material.
        let ciphers: Vec<Box<Aes256Gcm>> = futures_util::future::try_join_all(
            wrapped_keys
                .iter()
                .map(|wrapped| self.unwrap_data_key(workspace_id, credential_id, wrapped)),
        )
        .await?;
        let mut opened = BTreeMap::new();
        for (field, secret) in sealed {
            let index = wrapped_keys
                .binary_search(&secret.encrypted_data_key.as_slice())
                .map_err(|_| CryptoError::Corrupt)?;
            if secret.nonce.len() != 12 {
                return Err(CryptoError::Corrupt);
            }
            let aad = field_aad(scope, field, secret.bound);
            let plain = Zeroizing::new(
                ciphers[index]
                    .decrypt(
                        aes_gcm::Nonce::from_slice(&secret.nonce),
                        Payload {
                            msg: &secret.ciphertext,
                            aad: &aad,
                        },
                    )
                    .map_err(|_| CryptoError::Corrupt)?,
            );
            let text = std::str::from_utf8(&plain).map_err(|_| CryptoError::Corrupt)?;
            opened.insert(
                field.clone(),
                SecretValue {
                    text: SecretString::from(text.to_owned()),
                    encoding: secret.encoding,
                },
            );
        }
        Ok(opened)
    }

    /// KMS `Decrypt` of one wrapped data key, bound to the credential's encryption context.
    async fn unwrap_data_key(
        &self,
        workspace_id: &str,
        credential_id: &str,
        wrapped: &[u8],
    ) -> Result<Box<Aes256Gcm>, CryptoError> {
        let mut request = self
            .kms
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(wrapped));
        for (k, v) in encryption_context(workspace_id, credential_id) {
            request = request.encryption_context(k, v);
        }
        let mut output = request.send().await.map_err(|e| {
            let e = e.into_service_error();
            tracing::error!(
                aws_error_code = e.code().unwrap_or("none"),
                "kms Decrypt failed"
            );
            match e {
                // The key does not open under this context or key: not a passing fault.
                DecryptError::InvalidCiphertextException(_)
                | DecryptError::IncorrectKeyException(_) => CryptoError::Corrupt,
                _ => CryptoError::Unavailable,
            }
        })?;
        let plain_key = Zeroizing::new(
            output
                .plaintext
                .take()
                .ok_or(CryptoError::Unavailable)?
                .into_inner(),
        );
        Aes256Gcm::new_from_slice(&plain_key)
            .map(Box::new)
            .map_err(|_| CryptoError::Corrupt)
    }
}
