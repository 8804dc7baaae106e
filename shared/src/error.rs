//! The one error type the API answers with, and its mapping to status codes.
//!
//! Messages are fixed strings written here: nothing a client sent, and no text from serde,
//! DynamoDB or KMS, ever ends up in one.

use serde::Serialize;

crate::labelled_enum! {
    /// Stable, documented error codes. Clients branch on these, never on messages.
    pub enum ErrorCode {
        ValidationFailed => "validation_failed",
        InvalidJson => "invalid_json",
        InvalidCursor => "invalid_cursor",
        InvalidQuery => "invalid_query",
        UnsupportedMediaType => "unsupported_media_type",
        PayloadTooLarge => "payload_too_large",
        Unauthorized => "unauthorized",
        Forbidden => "forbidden",
        NotFound => "not_found",
        MethodNotAllowed => "method_not_allowed",
        NameTaken => "name_taken",
        InvalidState => "invalid_state",
        CredentialDeleted => "credential_deleted",
        SecretsRequired => "secrets_required",
        CredentialInUse => "credential_in_use",
        NotSecretField => "not_secret_field",
        ReauthorizationRequired => "reauthorization_required",
        TokenEndpointRefused => "token_endpoint_refused",
        VersionExpired => "version_expired",
        VersionDestroyed => "version_destroyed",
        Conflict => "conflict",
        PreconditionFailed => "precondition_failed",
        PreconditionRequired => "precondition_required",
        IdempotencyKeyReused => "idempotency_key_reused",
        ServiceUnavailable => "service_unavailable",
        RefreshInProgress => "refresh_in_progress",
        TokenEndpointUnavailable => "token_endpoint_unavailable",
        Internal => "internal_error",
    }
}

impl ErrorCode {
    pub fn status(self) -> u16 {
        match self {
            Self::ValidationFailed
            | Self::InvalidJson
            | Self::InvalidCursor
            | Self::InvalidQuery => 400,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            // A reused Idempotency-Key is a well-formed request at odds with what an earlier
            // one stored: 409, like the other conflicts with state (the IETF draft's 422 is
            // kept for bodies the server cannot process).
            Self::NameTaken
            | Self::InvalidState
            | Self::CredentialDeleted
            | Self::SecretsRequired
            // Resolved (or refused) within the purge quiet period: `force=true` overrides.
            | Self::CredentialInUse
            // Whether a field is secret depends on the credential (its type and
            // `visible_fields`), not on the request: a state conflict.
            | Self::NotSecretField
            // The refresh token was refused: only a write of new refresh material helps.
            | Self::ReauthorizationRequired
            // The token URL is not one the egress guard lets this service call.
            | Self::TokenEndpointRefused
            | Self::VersionExpired
            | Self::VersionDestroyed
            | Self::Conflict
            | Self::IdempotencyKeyReused => 409,
            Self::PreconditionFailed => 412,
            // A forced purge names the version it overrides the check for (RFC 6585).
            Self::PreconditionRequired => 428,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::Internal => 500,
            Self::ServiceUnavailable | Self::RefreshInProgress | Self::TokenEndpointUnavailable => {
                503
            }
        }
    }
}

/// Most problems one error answer lists (`maxItems` of `details` in openapi.yaml).
pub const MAX_DETAILS: usize = 200;

/// One problem with one input field, e.g. `config.port`; for `credential_in_use`, one
/// consumer that used the credential recently (`field` is `consumer`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldIssue {
    pub field: String,
    pub issue: &'static str,
    #[serde(flatten)]
    pub seen: Option<ConsumerSeen>,
}

/// Who used a credential and when (RFC 3339), in a `credential_in_use` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsumerSeen {
    pub consumer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_resolved_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_refused_at: Option<String>,
}

impl FieldIssue {
    pub fn new(field: impl Into<String>, issue: &'static str) -> Self {
        Self {
            field: field.into(),
            issue,
            seen: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: &'static str,
    pub details: Vec<FieldIssue>,
    /// Seconds to wait before trying again (`Retry-After`), on a 503 that knows.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: &'static str) -> Self {
        Self {
            code,
            message,
            details: Vec::new(),
            retry_after: None,
        }
    }

    /// This error, answered with `Retry-After: seconds` (at least 1).
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// A 400 listing the problems found, at most [`MAX_DETAILS`] of them (a body with
    /// thousands of unknown fields gets a bounded answer).
    pub fn validation(mut details: Vec<FieldIssue>) -> Self {
        details.truncate(MAX_DETAILS);
        Self {
            code: ErrorCode::ValidationFailed,
            message: "The request body is not valid.",
            details,
            retry_after: None,
        }
    }

    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound, "No credential with this id exists.")
    }

    pub fn unauthorized() -> Self {
        Self::new(
            ErrorCode::Unauthorized,
            "A valid API key is required: send `Authorization: Bearer <key>`.",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(
            ErrorCode::Forbidden,
            "The API key does not have the scope this operation needs.",
        )
    }

    pub fn precondition_failed() -> Self {
        Self::new(
            ErrorCode::PreconditionFailed,
            "If-Match does not match the credential's current ETag. Read it again and retry.",
        )
    }

    /// An update naming another type than the credential's: its type is fixed at create.
    pub fn type_cannot_change() -> Self {
        Self {
            code: ErrorCode::Conflict,
            message: "A credential's type cannot be changed. Create a new credential instead.",
            details: vec![FieldIssue::new("type", "cannot be changed")],
            retry_after: None,
        }
    }

    /// A cursor that is not an id of the list's items (a cursor is the id a page ended with).
    pub fn invalid_cursor() -> Self {
        Self::new(
            ErrorCode::InvalidCursor,
            "The cursor must be the meta.page.cursor of an earlier page of this list.",
        )
    }

    pub fn unavailable() -> Self {
        Self::new(
            ErrorCode::ServiceUnavailable,
            "The service could not complete the request. It is safe to retry.",
        )
    }

    pub fn internal() -> Self {
        Self::new(ErrorCode::Internal, "An unexpected error occurred.")
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }
}

/// The body of every error response.
#[derive(Serialize)]
pub struct ErrorBody<'a> {
    pub error: ErrorPayload<'a>,
}

#[derive(Serialize)]
pub struct ErrorPayload<'a> {
    pub code: &'static str,
    pub message: &'static str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub details: &'a [FieldIssue],
    pub request_id: &'a str,
}

impl ApiError {
    pub fn body<'a>(&'a self, request_id: &'a str) -> ErrorBody<'a> {
        ErrorBody {
            error: ErrorPayload {
                code: self.code.as_str(),
                message: self.message,
                details: &self.details,
                request_id,
            },
        }
    }
}
