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
        /// Who resolved a credential, when and how often (the usage ledger).
        GetUsage => "get-credential-usage",
        /// A credential's secret versions (metadata only).
        ListVersions => "list-credential-versions",
        /// Stage new secrets as a pending version.
        StageVersion => "stage-credential-version",
        /// Make a secret version current.
        PromoteVersion => "promote-credential-version",
        /// Copy an old secret version forward as a new current.
        RestoreVersion => "restore-credential-version",
        /// Destroy a secret version's sealed data.
        DestroyVersion => "destroy-credential-version",
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
            Self::List
            | Self::Get
            | Self::ListAuditEvents
            | Self::ListVersions
            | Self::GetUsage => "GET",
            Self::Create
            | Self::Restore
            | Self::Resolve
            | Self::StageVersion
            | Self::PromoteVersion
            | Self::RestoreVersion => "POST",
            Self::Update => "PUT",
            Self::SoftDelete | Self::Purge | Self::DestroyVersion => "DELETE",
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
            Self::GetUsage => "/api/credentials/{id}/usage",
            Self::ListVersions | Self::StageVersion => "/api/credentials/{id}/versions",
            Self::DestroyVersion => "/api/credentials/{id}/versions/{version}",
            Self::PromoteVersion => "/api/credentials/{id}/versions/{version}/promote",
            Self::RestoreVersion => "/api/credentials/{id}/versions/{version}/restore",
        }
    }

    pub fn scope(self) -> Scope {
        match self {
            Self::List | Self::Get | Self::ListVersions | Self::GetUsage => Scope::Read,
            Self::Create
            | Self::Update
            | Self::SoftDelete
            | Self::Restore
            | Self::StageVersion
            | Self::PromoteVersion
            | Self::RestoreVersion => Scope::Write,
            // Destroying a version's sealed data cannot be undone, as a purge cannot.
            Self::Purge | Self::DestroyVersion => Scope::Purge,
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
        params: PathParams,
    },
    /// The path exists, the method does not.
    MethodNotAllowed,
    NotFound,
}

/// The `{id}` and `{version}` segments of a request path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PathParams {
    pub id: Option<String>,
    pub version: Option<String>,
}

impl PathParams {
    /// As API Gateway's `pathParameters`.
    pub fn pairs(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("id", self.id.as_deref()),
            ("version", self.version.as_deref()),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
    }
}

/// Splits a request path into the path template it matches and the segments it carries.
fn match_path(path: &str) -> Option<(&'static str, PathParams)> {
    let path = path.strip_prefix("/v1").unwrap_or(path);
    let path = path.strip_suffix('/').unwrap_or(path);
    if path == "/api/audit-events" {
        return Some(("/api/audit-events", PathParams::default()));
    }
    let rest = path.strip_prefix("/api/credentials")?;
    if rest.is_empty() {
        return Some(("/api/credentials", PathParams::default()));
    }
    let segments: Vec<&str> = rest.strip_prefix('/')?.split('/').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return None;
    }
    let id = Some(segments[0].to_owned());
    let version = segments.get(2).map(|v| (*v).to_owned());
    let template = match segments[1..] {
        [] => "/api/credentials/{id}",
        ["restore"] => "/api/credentials/{id}/restore",
        ["permanent"] => "/api/credentials/{id}/permanent",
        ["resolve"] => "/api/credentials/{id}/resolve",
        ["usage"] => "/api/credentials/{id}/usage",
        ["versions"] => "/api/credentials/{id}/versions",
        ["versions", _] => "/api/credentials/{id}/versions/{version}",
        ["versions", _, "promote"] => "/api/credentials/{id}/versions/{version}/promote",
        ["versions", _, "restore"] => "/api/credentials/{id}/versions/{version}/restore",
        _ => return None,
    };
    Some((template, PathParams { id, version }))
}

/// A path API Gateway routes (the resolve path is not one: it is invoked directly).
fn match_routed(path: &str) -> Option<(&'static str, PathParams)> {
    match_path(path).filter(|(template, _)| *template != Route::Resolve.path())
}

/// Routes a request as API Gateway would.
pub fn match_route(method: &str, path: &str) -> RouteMatch {
    let Some((template, params)) = match_routed(path) else {
        return RouteMatch::NotFound;
    };
    Route::routed()
        .find(|r| r.path() == template && r.method().eq_ignore_ascii_case(method))
        .map_or(RouteMatch::MethodNotAllowed, |route| RouteMatch::Found {
            route,
            params,
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

/// The segments of a request path, for invocations without path parameters.
pub fn path_params(path: &str) -> PathParams {
    match_path(path)
        .map(|(_, params)| params)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(id: &str) -> PathParams {
        PathParams {
            id: Some(id.into()),
            version: None,
        }
    }

    #[test]
    fn version_paths() {
        let both = PathParams {
            id: Some("cred_x".into()),
            version: Some("3".into()),
        };
        for (method, path, route, params) in [
            (
                "GET",
                "/api/credentials/cred_x/versions",
                Route::ListVersions,
                id("cred_x"),
            ),
            (
                "DELETE",
                "/api/credentials/cred_x/versions/3",
                Route::DestroyVersion,
                both.clone(),
            ),
            (
                "POST",
                "/v1/api/credentials/cred_x/versions/3/promote",
                Route::PromoteVersion,
                both.clone(),
            ),
            (
                "POST",
                "/api/credentials/cred_x/versions/3/restore/",
                Route::RestoreVersion,
                both.clone(),
            ),
        ] {
            assert_eq!(
                match_route(method, path),
                RouteMatch::Found { route, params }
            );
        }
        assert_eq!(
            match_route("GET", "/api/credentials/cred_x/versions/3"),
            RouteMatch::MethodNotAllowed
        );
        assert_eq!(
            allowed_methods("/api/credentials/cred_x/versions/3/promote"),
            vec!["POST"]
        );
        for path in [
            "/api/credentials/cred_x/versions/3/other",
            "/api/credentials/cred_x/versions//promote",
            "/api/credentials/cred_x/versions/3/promote/x",
        ] {
            assert_eq!(match_route("POST", path), RouteMatch::NotFound, "{path}");
        }
    }

    #[test]
    fn resolves_both_prefixes() {
        for prefix in PREFIXES {
            assert_eq!(
                match_route("GET", &format!("{prefix}/api/credentials")),
                RouteMatch::Found {
                    route: Route::List,
                    params: PathParams::default()
                }
            );
            assert_eq!(
                match_route(
                    "DELETE",
                    &format!("{prefix}/api/credentials/cred_x/permanent")
                ),
                RouteMatch::Found {
                    route: Route::Purge,
                    params: id("cred_x")
                }
            );
            assert_eq!(
                match_route("POST", &format!("{prefix}/api/credentials/cred_x/restore")),
                RouteMatch::Found {
                    route: Route::Restore,
                    params: id("cred_x")
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
            path_params("/v1/api/credentials/cred_x/resolve"),
            id("cred_x")
        );
    }

    proptest::proptest! {
        #![proptest_config(crate::properties::config(512))]

        #[test]
        fn routing_and_ids_never_panic(method in "[A-Z]{0,8}", path in "(/v1)?(/api)?(/credentials)?(/[^/]{0,40}){0,3}") {
            let _ = match_route(&method, &path);
            let _ = path_params(&path);
            let _ = allowed_methods(&path);
            for segment in path.split('/') {
                if crate::ids::is_credential_id(segment) {
                    proptest::prop_assert!(segment.starts_with("cred_") && segment.len() == 31);
                }
            }
        }
    }
}
