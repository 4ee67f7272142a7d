//! The field hub's uploader (protocol §11): finds its paired office (mDNS or configured URL), and in the
//! background or on demand sends what the office lacks — manifest first, envelopes, resumable chunks — and
//! marks dossiers uploaded only on the office's signed acknowledgement.

use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
