//! Integration tests: photos.
