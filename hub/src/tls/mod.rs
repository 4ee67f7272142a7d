//! The hub's local certificate authority and its HTTPS listener.
