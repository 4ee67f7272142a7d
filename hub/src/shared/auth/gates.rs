//! Role gates: extractors that let a handler through only for the roles its route allows. A handler asks
//! for a gate in its signature (`Leads(user): Leads`) instead of checking the role in its body, so the
//! refusal (`403 forbidden`) comes before any request body is read, and the allowed roles are written
//! once, next to the route's OpenAPI `security` scopes.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::{AuthUser, Role};
use crate::shared::error::ApiError;
use crate::shared::state::AppState;

/// Defines a gate: a newtype over [`AuthUser`] with its allowed roles in `ROLES`.
macro_rules! gate {
    ($(#[$doc:meta])* $name:ident = [$($role:ident),+]) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub AuthUser);

        impl $name {
            /// The roles this gate lets through (as in the route's OpenAPI `security` scopes).
            pub const ROLES: &'static [Role] = &[$(Role::$role),+];
        }

        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, Self::Rejection> {
                let user = AuthUser::from_request_parts(parts, state).await?;
                user.require(Self::ROLES)?;
                Ok(Self(user))
            }
        }
    };
}

gate!(
    /// Admins only (users, keys, settings). OpenAPI scopes `["admin"]`.
    AdminOnly = [Admin]
);
gate!(
    /// Field officers and admins: sealing, uploads, session leads. Scopes `["officer", "admin"]`.
    Leads = [Officer, Admin]
);
gate!(
    /// The whole field team: officers, volunteers and admins. Scopes `["officer", "volunteer", "admin"]`.
    FieldTeam = [Officer, Volunteer, Admin]
);
gate!(
    /// Office clerks and admins. Scopes `["clerk", "admin"]`.
    Clerks = [Clerk, Admin]
);
gate!(
    /// Whoever answers for a hub: officers and admins in the field, clerks and admins at the office (a
    /// role exists only in its mode, see [`Role::exists_in`]). Scopes `["officer", "clerk", "admin"]`.
    Responsible = [Officer, Clerk, Admin]
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates_list_their_roles() {
        assert_eq!(AdminOnly::ROLES, &[Role::Admin]);
        assert!(FieldTeam::ROLES.contains(&Role::Volunteer));
        assert!(!Leads::ROLES.contains(&Role::Volunteer));
        assert!(!Clerks::ROLES.contains(&Role::Officer));
    }
}
