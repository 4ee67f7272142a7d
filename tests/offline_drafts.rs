//! Integration tests: offline drafts.
