//! The domain: what a credential is, how it changes, and the rules that need no I/O (which
//! fields each type declares, which names clash, which values embed a credential).

pub mod classify;
mod commands;
mod credential;
mod destination;
mod kinds;
pub mod names;
pub mod schema;

pub use commands::{CredentialChange, Encoding, NewCredential, SecretValue};
pub use credential::{IdempotencyRef, IfMatch, ListedCredential, SealedSecret, StoredCredential};
pub use destination::Destination;
pub use kinds::{CredentialType, Lifecycle, Status};
