//! Outreach sessions, villagers' tickets, the live queue board and services rendered.

use axum::Router;

use crate::app::AppState;

pub mod store;

pub fn router() -> Router<AppState> {
    Router::new()
}

/// Live updates for the queue board.
#[derive(Debug, Default)]
pub struct Live {}
