//! The route table: the one list of method + path pairs this service answers, shared by the
//! local server, the function binaries and the template consistency checks.

use crate::auth::Scope;

crate::labelled_enum! {
    /// Every function, labelled with its name (as in `functions/` and in the stack).
    pub enum Route {
        List => "list-credentials",
        Create => "create-credential",
        Get => "get-credential",
        Update => "update-credential",
        SoftDelete => "delete-credential",
        Restore => "restore-credential",
        Purge => "purge-credential",
        /// The workspace's audit trail.
        ListAuditEvents => "list-audit-events",
        /// The credential with its secrets, for pipelines: reached by direct invocation
        /// only, never routed by API Gateway (nor by the local server's HTTP routes).
        Resolve => "resolve-credential",
    }
}

/// Path prefixes every route is served under.
pub const PREFIXES: [&str; 2] = ["", "/v1"];

impl Route {
    /// The function's name (as in `functions/`), also used in logs.
    pub const fn name(self) -> &'static str {
        self.as_str()
    }

    /// True for the routes API Gateway serves (every function but `resolve-credential`).
    pub const fn is_routed(self) -> bool {
        !matches!(self, Self::Resolve)
    }

    /// The routes API Gateway serves, in declaration order.
    pub fn routed() -> impl Iterator<Item = Route> {
        Self::ALL.iter().copied().filter(|r| r.is_routed())
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
pub enum RouteMatch {
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
pub fn match_route(method: &str, path: &str) -> RouteMatch {
    let Some((template, id)) = match_routed(path) else {
        return RouteMatch::NotFound;
    };
    Route::routed()
        .find(|r| r.path() == template && r.method().eq_ignore_ascii_case(method))
        .map_or(RouteMatch::MethodNotAllowed, |route| RouteMatch::Found {
            route,
            id: id.map(str::to_owned),
        })
}

/// The methods a path accepts (for `Allow` on 405); empty for unknown paths.
pub fn allowed_methods(path: &str) -> Vec<&'static str> {
    let Some((template, _)) = match_routed(path) else {
        return Vec::new();
    };
    Route::routed()
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
                match_route("GET", &format!("{prefix}/api/credentials")),
                RouteMatch::Found {
                    route: Route::List,
                    id: None
                }
            );
            assert_eq!(
                match_route(
                    "DELETE",
                    &format!("{prefix}/api/credentials/cred_x/permanent")
                ),
                RouteMatch::Found {
                    route: Route::Purge,
                    id: Some("cred_x".into())
                }
            );
            assert_eq!(
                match_route("POST", &format!("{prefix}/api/credentials/cred_x/restore")),
                RouteMatch::Found {
                    route: Route::Restore,
                    id: Some("cred_x".into())
                }
            );
        }
    }

    #[test]
    fn wrong_method_and_unknown_paths() {
        assert_eq!(
            match_route("PATCH", "/api/credentials/x"),
            RouteMatch::MethodNotAllowed
        );
        assert_eq!(
            match_route("GET", "/api/credentials/x/restore"),
            RouteMatch::MethodNotAllowed
        );
        assert_eq!(match_route("GET", "/api/other"), RouteMatch::NotFound);
        assert_eq!(
            match_route("GET", "/api/credentials/x/y"),
            RouteMatch::NotFound
        );
        assert_eq!(
            match_route("GET", "/v2/api/credentials"),
            RouteMatch::NotFound
        );
        // Resolve is invoked directly, never routed: 404 on every method, as in production.
        for method in ["POST", "GET"] {
            assert_eq!(
                match_route(method, "/api/credentials/cred_x/resolve"),
                RouteMatch::NotFound
            );
        }
        assert_eq!(
            path_id("/v1/api/credentials/cred_x/resolve"),
            Some("cred_x")
        );
    }

    proptest::proptest! {
        #![proptest_config(crate::properties::config(512))]

        #[test]
        fn routing_and_ids_never_panic(method in "[A-Z]{0,8}", path in "(/v1)?(/api)?(/credentials)?(/[^/]{0,40}){0,3}") {
            let _ = match_route(&method, &path);
            let _ = path_id(&path);
            let _ = allowed_methods(&path);
            for segment in path.split('/') {
                if crate::ids::is_credential_id(segment) {
                    proptest::prop_assert!(segment.starts_with("cred_") && segment.len() == 31);
                }
            }
        }
    }
}
