//! Canonical bytes: RFC 8785 (JCS) serialisation, strict canonical parsing, and SHA-256 hex digests.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::ProtocolError;

/// The RFC 8785 canonical JSON bytes of `v` (sorted keys, no whitespace, canonical numbers and strings).
pub fn canonical_bytes<T: Serialize>(v: &T) -> Result<Vec<u8>, ProtocolError> {
    serde_jcs::to_vec(v).map_err(|e| ProtocolError::Json(e.to_string()))
}

/// Lower-case hex of the SHA-256 digest of `bytes` (64 characters).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Parses `bytes` as `T` and rejects them unless they are exactly the canonical form of the parsed value.
///
/// Wire types use `#[serde(deny_unknown_fields)]`, so unknown members are rejected as [`ProtocolError::Json`];
/// reordered keys, whitespace, escapes that RFC 8785 does not use, or duplicate members give
/// [`ProtocolError::NotCanonical`] (or `Json` where serde already refuses them).
pub fn parse_canonical<T: DeserializeOwned + Serialize>(bytes: &[u8]) -> Result<T, ProtocolError> {
    let value: T = serde_json::from_slice(bytes)?;
    if canonical_bytes(&value)? != bytes {
        return Err(ProtocolError::NotCanonical);
    }
    Ok(value)
}

/// Lower-case hex encoding (the only hex form the protocol writes).
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Decodes exactly `N` bytes from lower-case hex; upper case is rejected so every value has one spelling.
pub(crate) fn from_hex_exact<const N: usize>(s: &str) -> Result<[u8; N], ProtocolError> {
    if s.len() != 2 * N {
        return Err(ProtocolError::BadHex(format!(
            "expected {} hex characters, found {}",
            2 * N,
            s.len()
        )));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(ProtocolError::BadHex(
            "only lower-case hex digits are allowed".into(),
        ));
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).map_err(|e| ProtocolError::BadHex(e.to_string()))?;
    Ok(out)
}

/// True when `s` is a 64-character lower-case hex SHA-256 digest.
pub fn is_sha256_hex(s: &str) -> bool {
    from_hex_exact::<32>(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct T {
        b: u32,
        a: String,
    }

    #[test]
    fn canonical_sorts_keys_and_strips_whitespace() {
        let bytes = canonical_bytes(&T {
            b: 2,
            a: "x".into(),
        })
        .unwrap();
        assert_eq!(bytes, br#"{"a":"x","b":2}"#);
    }

    #[test]
    fn parse_accepts_canonical() {
        let t: T = parse_canonical(br#"{"a":"x","b":2}"#).unwrap();
        assert_eq!(
            t,
            T {
                b: 2,
                a: "x".into()
            }
        );
    }

    #[test]
    fn parse_rejects_reordered_keys() {
        let r = parse_canonical::<T>(br#"{"b":2,"a":"x"}"#);
        assert_eq!(r, Err(ProtocolError::NotCanonical));
    }

    #[test]
    fn parse_rejects_whitespace() {
        assert_eq!(
            parse_canonical::<T>(br#"{"a": "x","b":2}"#),
            Err(ProtocolError::NotCanonical)
        );
        assert_eq!(
            parse_canonical::<T>(b"{\"a\":\"x\",\"b\":2}\n"),
            Err(ProtocolError::NotCanonical)
        );
    }

    #[test]
    fn parse_rejects_non_canonical_escapes_and_numbers() {
        assert_eq!(
            parse_canonical::<T>(br#"{"a":"\u0078","b":2}"#),
            Err(ProtocolError::NotCanonical)
        );
        assert!(parse_canonical::<T>(br#"{"a":"x","b":2.0}"#).is_err());
    }

    #[test]
    fn parse_rejects_unknown_and_duplicate_members() {
        assert!(matches!(
            parse_canonical::<T>(br#"{"a":"x","b":2,"c":1}"#),
            Err(ProtocolError::Json(_))
        ));
        assert!(parse_canonical::<T>(br#"{"a":"x","a":"x","b":2}"#).is_err());
    }

    #[test]
    fn sha256_hex_matches_known_digest() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn hex_exact_rejects_upper_case_and_wrong_length() {
        assert!(from_hex_exact::<2>("abcd").is_ok());
        assert!(from_hex_exact::<2>("ABCD").is_err());
        assert!(from_hex_exact::<2>("abc").is_err());
        assert!(from_hex_exact::<2>("abzz").is_err());
    }
}
