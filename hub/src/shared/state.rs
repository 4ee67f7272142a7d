//! The state every handler takes ([`AppState`]): the database, this hub's keys, its mode and name, the
//! procedures it serves, and the live parts of single concerns. It sits below every concern so that a
//! concern's handlers can take it without importing the module that assembles the router (`app`).
//!
//! A concern that needs live state of its own (the queue board's change feed, the uploader, the office's
//! sync sessions, the login limiter) defines its type in its own folder; `app::serve` registers one value
//! of each in [`Parts`] when the hub starts, and the concern reads it back by type with
//! [`AppState::part`]. The state therefore names no concern, and no concern names another's state.

use std::any::type_name;
use std::ops::Deref;
use std::sync::Arc;

use axum::http::Extensions;
use protocol::HubMode;

use crate::shared::error::ApiError;
use crate::shared::keys::HubKeys;
use crate::shared::store::Db;

/// Shared state of a running hub.
pub struct Shared {
    pub db: Db,
    pub keys: HubKeys,
    pub mode: HubMode,
    pub name: String,
    /// Procedure definitions as this hub serves them: the catalogue with the configured time limits.
    pub procedures: Catalogue,
    /// Live parts of single concerns, by type (see the module documentation).
    pub parts: Parts,
}

/// The procedure definitions a hub serves: every known package's (built-in, published, pulled from the
/// office; see `shared::procedures::registry`) with the configured time limits applied. Cheap to clone;
/// routers that need only these (the public guides, also served by a locked hub) take it as their state
/// through [`axum::extract::FromRef`]. Read afresh at each use, so a package pulled at a sync is served at
/// once.
#[derive(Clone)]
pub struct Catalogue(Arc<Vec<(String, u32)>>);

impl Catalogue {
    /// The catalogue with these time limits (procedure id → working days).
    pub fn new(time_limits: &[(String, u32)]) -> Catalogue {
        Catalogue(Arc::new(time_limits.to_vec()))
    }

    /// The definition of `r`, limits applied.
    pub fn get(&self, r: &protocol::ProcedureRef) -> Option<protocol::ProcedureDef> {
        let mut d = crate::shared::procedures::find(r)?.clone();
        if let Some((_, days)) = self.0.iter().rev().find(|(id, _)| *id == d.id) {
            d.time_limit_working_days = *days;
        }
        Some(d)
    }

    /// Every known procedure definition, limits applied, in menu order.
    pub fn defs(&self) -> Vec<protocol::ProcedureDef> {
        crate::shared::procedures::with_limits(&self.0)
    }
}

impl axum::extract::FromRef<AppState> for Catalogue {
    fn from_ref(st: &AppState) -> Catalogue {
        st.procedures.clone()
    }
}

impl axum::extract::FromRef<AppState> for HubMode {
    fn from_ref(st: &AppState) -> HubMode {
        st.mode
    }
}

/// The live parts of single concerns, one value per type, registered once when the hub starts.
#[derive(Default)]
pub struct Parts(Extensions);

impl Parts {
    pub fn new() -> Parts {
        Parts::default()
    }

    /// Registers `value` as the part of type `T` (a second value of the same type replaces the first).
    pub fn with<T: Send + Sync + 'static>(mut self, value: T) -> Parts {
        self.0.insert(Arc::new(value));
        self
    }

    /// The part of type `T`, if one was registered.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.0.get::<Arc<T>>().map(|a| &**a)
    }
}

/// Cheap-to-clone handle on [`Shared`].
#[derive(Clone)]
pub struct AppState(pub Arc<Shared>);

impl AppState {
    /// Refuses a route of the other mode (`404 wrong_mode`) for routers merged on both modes.
    pub fn require_mode(&self, mode: HubMode) -> Result<(), ApiError> {
        if self.mode == mode {
            Ok(())
        } else {
            Err(ApiError::wrong_mode())
        }
    }

    /// The live part of type `T`. Every part is registered by `app::serve` before the first request, on
    /// both modes; a missing one is a mistake in how the hub was assembled, not a runtime condition.
    pub fn part<T: Send + Sync + 'static>(&self) -> &T {
        self.parts
            .get::<T>()
            .unwrap_or_else(|| panic!("hub state: no part {} registered", type_name::<T>()))
    }
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// A route of a router merged on both modes that only the field hub serves: the extractor answers
/// `404 wrong_mode` on an office hub before the login, the role gate or the body are looked at (put it
/// first in the handler's signature, after `State`).
pub struct FieldOnly;

/// As [`FieldOnly`], for a route only the office hub serves.
pub struct OfficeOnly;

impl axum::extract::FromRequestParts<AppState> for FieldOnly {
    type Rejection = ApiError;

    async fn from_request_parts(
        _: &mut axum::http::request::Parts,
        st: &AppState,
    ) -> Result<Self, ApiError> {
        st.require_mode(HubMode::Field).map(|_| FieldOnly)
    }
}

impl axum::extract::FromRequestParts<AppState> for OfficeOnly {
    type Rejection = ApiError;

    async fn from_request_parts(
        _: &mut axum::http::request::Parts,
        st: &AppState,
    ) -> Result<Self, ApiError> {
        st.require_mode(HubMode::Office).map(|_| OfficeOnly)
    }
}

/// Largest JSON request body (photos have their own, larger limit on their route).
pub const MAX_JSON_BODY: usize = 256 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_found_by_type() {
        struct A(u32);
        struct B;
        let p = Parts::new().with(A(7));
        assert_eq!(p.get::<A>().map(|a| a.0), Some(7));
        assert!(p.get::<B>().is_none());
        let p = p.with(A(8));
        assert_eq!(p.get::<A>().map(|a| a.0), Some(8));
    }
}
