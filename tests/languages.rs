//! Integration tests: languages.
