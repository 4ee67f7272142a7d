//! Integration tests: outreach.
