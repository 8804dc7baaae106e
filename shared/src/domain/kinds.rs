//! The closed sets a credential is described by: its type, its status, and the two moves
//! between statuses.

crate::labelled_enum! {
    /// The kinds of connection profile.
    pub enum CredentialType {
        Aws => "aws",
        Azure => "azure",
        Gcp => "gcp",
        Database => "database",
        ApiKey => "api_key",
        Oauth => "oauth",
        Password => "password",
    }
}

crate::labelled_enum! {
    /// Lifecycle state. A deleted credential keeps its name reserved until it is purged.
    pub enum Status {
        Active => "active",
        Deleted => "deleted",
    }
}

/// The two lifecycle moves between `active` and `deleted`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifecycle {
    SoftDelete,
    Restore,
}

impl Lifecycle {
    /// The status the move starts from (the condition of its write).
    pub fn from(self) -> Status {
        match self {
            Self::SoftDelete => Status::Active,
            Self::Restore => Status::Deleted,
        }
    }

    /// The status the move ends in.
    pub fn to(self) -> Status {
        match self {
            Self::SoftDelete => Status::Deleted,
            Self::Restore => Status::Active,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_list_is_written_once() {
        assert_eq!(
            CredentialType::ONE_OF,
            "must be one of aws, azure, gcp, database, api_key, oauth, password"
        );
        for kind in CredentialType::ALL {
            assert_eq!(CredentialType::parse(kind.as_str()), Some(*kind));
        }
        for move_ in [Lifecycle::SoftDelete, Lifecycle::Restore] {
            assert_ne!(move_.from(), move_.to());
        }
    }
}
