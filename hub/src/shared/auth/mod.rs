//! Who is calling: users and roles, passwords (argon2id), session cookies, CSRF tokens, the one-time
//! setup token, and login rate limiting. Handlers ask for an [`AuthUser`] in their signature; the
//! extractor refuses unauthenticated calls and state-changing calls without the session's CSRF token.

mod atrest;
pub mod channel;
pub mod gates;
mod lifecycle;
mod ratelimit;
pub mod routes;
pub mod store;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::Method;
use protocol::HubMode;
use serde::{Deserialize, Serialize};

use crate::shared::error::ApiError;
use crate::shared::state::AppState;

pub use crate::shared::vault::password::{hash_password, verify_password};
pub use gates::{AdminOnly, Clerks, FieldTeam, Leads, Responsible};
pub use ratelimit::LoginLimiter;

/// Name of the session cookie. The `__Host-` prefix makes browsers keep it only when it is `Secure`, for
/// this host alone, on path `/`: no other site and no plain-HTTP page can plant or read it.
pub const SESSION_COOKIE: &str = "__Host-hub_session";
/// The cookie's name before it became `__Host-`: cleared at login and logout, never accepted.
pub const OLD_SESSION_COOKIE: &str = "hub_session";
/// Header carrying the CSRF token on state-changing requests.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Sessions end after this long without use.
pub const SESSION_IDLE_SECS: i64 = 12 * 3600;
/// Sessions end this long after the login, used or not: a phone left logged in does not stay so for days.
pub const SESSION_ABSOLUTE_SECS: i64 = 24 * 3600;

/// A user's role. Roles are enforced on the server in every handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Officer,
    Volunteer,
    Clerk,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Officer => "officer",
            Role::Volunteer => "volunteer",
            Role::Clerk => "clerk",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "officer" => Some(Role::Officer),
            "volunteer" => Some(Role::Volunteer),
            "clerk" => Some(Role::Clerk),
            _ => None,
        }
    }

    /// Whether this role exists on a hub of `mode`: a clerk works only at the office; officers and
    /// volunteers only in the field.
    pub fn exists_in(self, mode: HubMode) -> bool {
        match mode {
            HubMode::Field => matches!(self, Role::Admin | Role::Officer | Role::Volunteer),
            HubMode::Office => matches!(self, Role::Admin | Role::Clerk),
        }
    }
}

/// The logged-in caller.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub csrf: String,
    /// An admin reset the password: until the user picks a new one, only [`PASSWORD_CHANGE_PATHS`] answer.
    pub must_change_password: bool,
}

/// What a user whose password an admin reset may still call: who am I, change my password, log out.
pub const PASSWORD_CHANGE_PATHS: &[&str] = &[
    "/api/v1/me",
    "/api/v1/users/me/password",
    "/api/v1/users/me/sessions",
    "/api/v1/logout",
];

impl AuthUser {
    /// Refuses the call unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    pub fn public(&self) -> store::UserOut {
        store::UserOut {
            id: self.id.clone(),
            name: self.name.clone(),
            role: self.role,
        }
    }
}

/// Reads the session token from the request's cookies.
pub fn session_token(headers: &axum::http::HeaderMap) -> Option<String> {
    let jar = axum_extra::extract::CookieJar::from_headers(headers);
    jar.get(SESSION_COOKIE).map(|c| c.value().to_string())
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Session cookies are read only over TLS or from this machine (loopback).
        channel::require_secure(parts)?;
        let token = session_token(&parts.headers).ok_or_else(ApiError::unauthenticated)?;
        let user = state
            .db
            .call(move |c| store::session_user(c, &token))
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !constant_time_eq(sent.as_bytes(), user.csrf.as_bytes()) {
                return Err(ApiError::new(
                    axum::http::StatusCode::FORBIDDEN,
                    "csrf",
                    "Yêu cầu thiếu mã bảo vệ (CSRF). Hãy tải lại trang.",
                    "The request lacks its protection token (CSRF). Reload the page.",
                )
                .with_field(CSRF_HEADER));
            }
        }
        if user.must_change_password && !PASSWORD_CHANGE_PATHS.contains(&parts.uri.path()) {
            return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "password_change_required",
                "Mật khẩu của bạn vừa được đặt lại. Hãy đổi mật khẩu (Tài khoản của tôi) trước khi làm việc tiếp.",
                "Your password was reset. Choose a new one (My account) before anything else.",
            ));
        }
        Ok(user)
    }
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A fresh random token, URL-safe base64 of 32 bytes.
pub fn random_token() -> Result<String, crate::shared::keys::KeyError> {
    use base64::Engine;
    let mut b = [0u8; 32];
    crate::shared::keys::random_bytes(&mut b)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

/// SHA-256 of a token, as stored (the store never holds a usable session or setup token).
pub fn token_hash(token: &str) -> String {
    protocol::sha256_hex(token.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_per_mode() {
        assert!(Role::Clerk.exists_in(HubMode::Office));
        assert!(!Role::Clerk.exists_in(HubMode::Field));
        assert!(!Role::Officer.exists_in(HubMode::Office));
        assert!(!Role::Volunteer.exists_in(HubMode::Office));
        assert!(Role::Admin.exists_in(HubMode::Field) && Role::Admin.exists_in(HubMode::Office));
    }

    #[test]
    fn csrf_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"ab", b"abc"));
    }
}
