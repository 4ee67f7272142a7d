//! Working a received dossier (issue 6): statuses from received to handed over (or rejected), each change
//! in the append-only audit log and, where the villager should know, published as status news; legal
//! deadlines in working days (weekends and the holiday list skipped); printable filled forms.

pub mod deadline;
pub mod routes;
pub mod status;
pub mod store;

pub use routes::router;
