//! Integration tests: selfservice.
