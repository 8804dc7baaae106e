//! The domain: what a credential is, how it changes, and the rules that need no I/O (which
//! fields each type declares, which names clash, which values embed a credential).

pub mod classify;
mod commands;
mod credential;
mod destination;
mod kinds;
pub mod names;
pub mod oauth;
mod rotation;
pub mod schema;
pub mod usage;
pub mod versions;

pub use commands::{CredentialChange, Encoding, NewCredential, SecretValue};
pub use credential::{
    IdempotencyRef, IfMatch, ListedCredential, SealedSecret, StoredCredential, UsageMarks,
    VersionState,
};
pub use destination::Destination;
pub use kinds::{CredentialType, Lifecycle, Status};
pub use oauth::AuthStatus;
pub use rotation::{Chosen, Selector, Unresolvable};
pub use versions::{Previous, SecretVersion, Stage};
