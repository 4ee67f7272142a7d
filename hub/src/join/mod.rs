//! Joining the hub: the Wi-Fi and app-URL QR codes and the team's join page.

use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
