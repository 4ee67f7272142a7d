//! Villagers' own pre-declarations and the public receipt status.

use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
