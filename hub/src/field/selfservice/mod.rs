//! Villagers' own pre-declarations and the public receipt status: the only routes a phone with no login
//! may call besides the guides and the queue board. They reveal nothing about anyone but the receipt or
//! pre-declaration in hand, are rate-limited per client IP, and work in field mode only.

pub mod routes;
pub mod store;

pub use routes::router;
