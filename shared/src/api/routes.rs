//! The route table: the one list of method + path pairs this service answers, shared by the
//! local server, the function binaries and the template consistency checks.

use crate::auth::Scope;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    List,
    Create,
    Get,
    Update,
    SoftDelete,
    Restore,
    Purge,
    /// The workspace's audit trail.
    ListAuditEvents,
    /// The credential with its secrets, for pipelines: reached by direct invocation only,
    /// never routed by API Gateway (nor by the local server's HTTP routes).
    Resolve,
}

/// Path prefixes every route is served under.
pub const PREFIXES: [&str; 2] = ["", "/v1"];

impl Route {
    /// The routes API Gateway serves.
    pub const ALL: [Route; 8] = [
        Route::List,
        Route::Create,
        Route::Get,
        Route::Update,
        Route::SoftDelete,
        Route::Restore,
        Route::Purge,
        Route::ListAuditEvents,
    ];

    /// Every function: the routed ones and `resolve-credential`.
    pub const FUNCTIONS: [Route; 9] = [
        Route::List,
        Route::Create,
        Route::Get,
        Route::Update,
        Route::SoftDelete,
        Route::Restore,
        Route::Purge,
        Route::ListAuditEvents,
        Route::Resolve,
    ];

    /// The function named `name` (as in `functions/`).
    pub fn by_name(name: &str) -> Option<Route> {
        Self::FUNCTIONS.into_iter().find(|r| r.name() == name)
    }

    /// Name used in logs and as the function's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::List => "list-credentials",
            Self::Create => "create-credential",
            Self::Get => "get-credential",
            Self::Update => "update-credential",
            Self::SoftDelete => "delete-credential",
            Self::Restore => "restore-credential",
            Self::Purge => "purge-credential",
            Self::ListAuditEvents => "list-audit-events",
            Self::Resolve => "resolve-credential",
        }
    }

    pub fn method(self) -> &'static str {
        match self {
            Self::List | Self::Get | Self::ListAuditEvents => "GET",
            Self::Create | Self::Restore | Self::Resolve => "POST",
            Self::Update => "PUT",
            Self::SoftDelete | Self::Purge => "DELETE",
        }
    }

    /// The path under `/api`, as API Gateway writes it.
    pub fn path(self) -> &'static str {
        match self {
            Self::List | Self::Create => "/api/credentials",
            Self::Get | Self::Update | Self::SoftDelete => "/api/credentials/{id}",
            Self::Restore => "/api/credentials/{id}/restore",
            Self::Purge => "/api/credentials/{id}/permanent",
            Self::Resolve => "/api/credentials/{id}/resolve",
            Self::ListAuditEvents => "/api/audit-events",
        }
    }

    pub fn scope(self) -> Scope {
        match self {
            Self::List | Self::Get => Scope::Read,
            Self::Create | Self::Update | Self::SoftDelete | Self::Restore => Scope::Write,
            Self::Purge => Scope::Purge,
            Self::Resolve => Scope::Resolve,
            Self::ListAuditEvents => Scope::Audit,
        }
    }
}

/// The outcome of matching a method and path against the route table.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolved {
    Found {
        route: Route,
        id: Option<String>,
    },
    /// The path exists, the method does not.
    MethodNotAllowed,
    NotFound,
}

/// Splits a request path into the path template it matches and the `{id}` it carries.
fn match_path(path: &str) -> Option<(&'static str, Option<&str>)> {
    let path = path.strip_prefix("/v1").unwrap_or(path);
    let path = path.strip_suffix('/').unwrap_or(path);
    if path == "/api/audit-events" {
        return Some(("/api/audit-events", None));
    }
    let rest = path.strip_prefix("/api/credentials")?;
    if rest.is_empty() {
        return Some(("/api/credentials", None));
    }
    let rest = rest.strip_prefix('/')?;
    let (id, tail) = rest.split_once('/').unwrap_or((rest, ""));
    if id.is_empty() {
        return None;
    }
    match tail {
        "" => Some(("/api/credentials/{id}", Some(id))),
        "restore" => Some(("/api/credentials/{id}/restore", Some(id))),
        "permanent" => Some(("/api/credentials/{id}/permanent", Some(id))),
        "resolve" => Some(("/api/credentials/{id}/resolve", Some(id))),
        _ => None,
    }
}

/// A path API Gateway routes (the resolve path is not one: it is invoked directly).
fn match_routed(path: &str) -> Option<(&'static str, Option<&str>)> {
    match_path(path).filter(|(template, _)| *template != Route::Resolve.path())
}

/// Routes a request as API Gateway would.
pub fn resolve(method: &str, path: &str) -> Resolved {
    let Some((template, id)) = match_routed(path) else {
        return Resolved::NotFound;
    };
    Route::ALL
        .into_iter()
        .find(|r| r.path() == template && r.method().eq_ignore_ascii_case(method))
        .map_or(Resolved::MethodNotAllowed, |route| Resolved::Found {
            route,
            id: id.map(str::to_owned),
        })
}

/// The methods a path accepts (for `Allow` on 405); empty for unknown paths.
pub fn allowed_methods(path: &str) -> Vec<&'static str> {
    let Some((template, _)) = match_routed(path) else {
        return Vec::new();
    };
    Route::ALL
        .into_iter()
        .filter(|r| r.path() == template)
        .map(Route::method)
        .collect()
}

/// The `{id}` segment of a request path, for invocations without path parameters.
pub fn path_id(path: &str) -> Option<&str> {
    match_path(path).and_then(|(_, id)| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_both_prefixes() {
        for prefix in PREFIXES {
            assert_eq!(
                resolve("GET", &format!("{prefix}/api/credentials")),
                Resolved::Found {
                    route: Route::List,
                    id: None
                }
            );
            assert_eq!(
                resolve(
                    "DELETE",
                    &format!("{prefix}/api/credentials/cred_x/permanent")
                ),
                Resolved::Found {
                    route: Route::Purge,
                    id: Some("cred_x".into())
                }
            );
            assert_eq!(
                resolve("POST", &format!("{prefix}/api/credentials/cred_x/restore")),
                Resolved::Found {
                    route: Route::Restore,
                    id: Some("cred_x".into())
                }
            );
        }
    }

    #[test]
    fn wrong_method_and_unknown_paths() {
        assert_eq!(
            resolve("PATCH", "/api/credentials/x"),
            Resolved::MethodNotAllowed
        );
        assert_eq!(
            resolve("GET", "/api/credentials/x/restore"),
            Resolved::MethodNotAllowed
        );
        assert_eq!(resolve("GET", "/api/other"), Resolved::NotFound);
        assert_eq!(resolve("GET", "/api/credentials/x/y"), Resolved::NotFound);
        assert_eq!(resolve("GET", "/v2/api/credentials"), Resolved::NotFound);
        // Resolve is invoked directly, never routed: 404 on every method, as in production.
        for method in ["POST", "GET"] {
            assert_eq!(
                resolve(method, "/api/credentials/cred_x/resolve"),
                Resolved::NotFound
            );
        }
        assert_eq!(
            path_id("/v1/api/credentials/cred_x/resolve"),
            Some("cred_x")
        );
    }
}
