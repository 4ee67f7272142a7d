//! Integration tests: join.
