//! Timestamps as the protocol writes them: RFC 3339 strings, e.g. `2026-11-23T08:15:00Z`.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::ProtocolError;

/// Parses an RFC 3339 timestamp; the protocol stores the caller's string unchanged, this only checks it.
pub fn parse_timestamp(s: &str) -> Result<OffsetDateTime, ProtocolError> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|_| ProtocolError::BadTimestamp(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_rfc3339_and_rejects_others() {
        assert!(parse_timestamp("2026-11-23T08:15:00Z").is_ok());
        assert!(parse_timestamp("2026-11-23T15:15:00+07:00").is_ok());
        assert!(parse_timestamp("2026-11-23 08:15:00").is_err());
        assert!(parse_timestamp("2026-02-30T08:15:00Z").is_err());
        assert!(parse_timestamp("").is_err());
    }
}
