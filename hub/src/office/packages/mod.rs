//! Procedure packages at the office: an admin publishes a package version (signed with the office key,
//! audited); paired field hubs pull what they lack at every sync (`POST /api/v1/sync/packages`, then
//! `GET /api/v1/sync/packages/{hash}`) or find it in the USB ack file; the Procedures page lists every
//! package, its versions, effective dates and which field hubs hold which version. Storage and
//! installation are shared (`shared::procedures`); this concern owns the office's routes and the record of
//! who holds what.

pub mod routes;
pub mod store;

pub use routes::{router, ApiDoc};
