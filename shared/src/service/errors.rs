//! The one place where store and crypto failures become API errors.

use crate::error::{ApiError, ErrorCode};
use crate::store::StoreError;

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NameTaken => ApiError::new(
                ErrorCode::NameTaken,
                "A credential with this name already exists in the workspace.",
            ),
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Conflict => ApiError::new(
                ErrorCode::Conflict,
                "The credential was changed by another request. Read it again and retry.",
            ),
            StoreError::Unavailable => ApiError::unavailable(),
            StoreError::OutcomeUnknown => ApiError::new(
                ErrorCode::ServiceUnavailable,
                "The outcome is unknown: the change may have been applied. Retry a create with the same Idempotency-Key; read the credential, then retry other writes with If-Match.",
            ),
            StoreError::Rejected => ApiError::new(
                ErrorCode::ValidationFailed,
                "The request cannot be stored as sent. Change it; sending it again as it is will fail again.",
            ),
            StoreError::TooLarge => ApiError::new(
                ErrorCode::PayloadTooLarge,
                "The credential would exceed the 400 KB the store allows per credential. Remove or shorten settings.",
            ),
            // Create handles a used idempotency key itself; reaching here is a bug.
            StoreError::Corrupt | StoreError::IdempotencyKeyUsed => ApiError::internal(),
        }
    }
}

#[cfg(feature = "encryption")]
impl From<crate::crypto::CryptoError> for ApiError {
    fn from(error: crate::crypto::CryptoError) -> Self {
        match error {
            crate::crypto::CryptoError::Unavailable => ApiError::unavailable(),
            crate::crypto::CryptoError::NotConfigured | crate::crypto::CryptoError::Corrupt => {
                ApiError::internal()
            }
        }
    }
}

pub fn invalid_state(message: &'static str) -> ApiError {
    ApiError::new(ErrorCode::InvalidState, message)
}
