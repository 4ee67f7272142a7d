//! Receipts: the short code a villager keeps (8 Crockford base-32 symbols plus a mod-37 check symbol, e.g.
//! `04HM-ASW9-X`), derived offline from the sealing hub's id and its own receipt sequence, and the signed
//! QR payload that any hub holding the sealing hub's key card verifies without a network.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::canonical::{canonical_bytes, parse_canonical};
use crate::catalogue::ProcedureRef;
use crate::error::ProtocolError;
use crate::keys::{check_device, Context, DeviceId, DeviceKey, DevicePublicKey, Signature};

/// Crockford base-32 data alphabet (no I, L, O, U).
pub(crate) const DATA_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Crockford check alphabet: the 32 data symbols, then `*~$=U` for the values 32..=36.
pub(crate) const CHECK_ALPHABET: &[u8; 37] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U";
const DATA_SYMBOLS: usize = 8;
const BITS_MASK: u64 = (1 << 40) - 1;

/// Why a receipt code string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReceiptCodeError {
    /// After removing hyphens and spaces the code is not 9 symbols long.
    #[error("a receipt code has 9 symbols (8 + check), found {found}")]
    Length {
        /// Number of symbols found.
        found: usize,
    },
    /// A character that is not a Crockford symbol at that position.
    #[error("{symbol:?} is not a valid symbol at position {position}")]
    Symbol {
        /// The offending character.
        symbol: char,
        /// 1-based position among the 9 symbols.
        position: usize,
    },
    /// The check symbol does not match the data symbols (a typo).
    #[error("check symbol does not match (expected {expected:?})")]
    Check {
        /// The check symbol the data symbols call for.
        expected: char,
    },
}

/// A valid receipt code. It holds the 40-bit value; an invalid code cannot be represented.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReceiptCode(u64);

impl ReceiptCode {
    /// The code for 5 caller-supplied random bytes (big-endian 40-bit value).
    pub fn from_entropy(bytes: [u8; 5]) -> Self {
        let value = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        ReceiptCode(value)
    }

    /// The code of receipt number `seq` (1, 2, 3… per hub, never reused) of the hub `device`: the first
    /// 40 bits of SHA-256(`outreach-kit/v1/receipt-code` LF device-id LF seq-in-decimal). Made offline, the
    /// same on every hub; the pair (device, seq) — the tracking number — is unique by construction, and the
    /// code is what is read over a phone.
    pub fn derive(device: &DeviceId, seq: u64) -> Self {
        let digest = Sha256::new()
            .chain_update(b"outreach-kit/v1/receipt-code\n")
            .chain_update(device.as_str().as_bytes())
            .chain_update(b"\n")
            .chain_update(seq.to_string().as_bytes())
            .finalize();
        let mut five = [0u8; 5];
        five.copy_from_slice(&digest[..5]);
        ReceiptCode::from_entropy(five)
    }

    /// The 40-bit value.
    pub fn value(&self) -> u64 {
        self.0
    }

    /// The 8 data symbols, most significant first.
    fn data_symbols(&self) -> [u8; DATA_SYMBOLS] {
        let mut out = [0u8; DATA_SYMBOLS];
        for (i, slot) in out.iter_mut().enumerate() {
            let shift = 5 * (DATA_SYMBOLS - 1 - i);
            *slot = DATA_ALPHABET[((self.0 >> shift) & 31) as usize];
        }
        out
    }

    /// The check symbol: `CHECK_ALPHABET[value mod 37]`.
    fn check_symbol(&self) -> char {
        char::from(CHECK_ALPHABET[(self.0 % 37) as usize])
    }

    /// The 9 symbols without separators, e.g. `01234567G`.
    pub fn compact(&self) -> String {
        let mut s: String = self.data_symbols().iter().map(|b| char::from(*b)).collect();
        s.push(self.check_symbol());
        s
    }

    /// Parses leniently: case-insensitive, hyphens and spaces ignored, `I`/`L` read as `1` and `O` as `0`.
    pub fn parse(s: &str) -> Result<Self, ReceiptCodeError> {
        let symbols: Vec<char> = s
            .chars()
            .filter(|c| *c != '-' && !c.is_whitespace())
            .map(|c| match c.to_ascii_uppercase() {
                'I' | 'L' => '1',
                'O' => '0',
                other => other,
            })
            .collect();
        if symbols.len() != DATA_SYMBOLS + 1 {
            return Err(ReceiptCodeError::Length {
                found: symbols.len(),
            });
        }
        let mut value = 0u64;
        for (i, c) in symbols[..DATA_SYMBOLS].iter().enumerate() {
            let digit = symbol_value(DATA_ALPHABET, *c).ok_or(ReceiptCodeError::Symbol {
                symbol: *c,
                position: i + 1,
            })?;
            value = (value << 5) | digit;
        }
        let check_char = symbols[DATA_SYMBOLS];
        let check = symbol_value(CHECK_ALPHABET, check_char).ok_or(ReceiptCodeError::Symbol {
            symbol: check_char,
            position: DATA_SYMBOLS + 1,
        })?;
        let code = ReceiptCode(value & BITS_MASK);
        if check != code.0 % 37 {
            return Err(ReceiptCodeError::Check {
                expected: code.check_symbol(),
            });
        }
        Ok(code)
    }
}

/// The value of symbol `c` in `alphabet` (receipt and pairing codes share the alphabets).
pub(crate) fn symbol_value(alphabet: &[u8], c: char) -> Option<u64> {
    if !c.is_ascii() {
        return None;
    }
    alphabet
        .iter()
        .position(|b| char::from(*b) == c)
        .map(|p| p as u64)
}

impl fmt::Display for ReceiptCode {
    /// `ABCD-EFGH-J`: 4 data symbols, hyphen, 4 data symbols, hyphen, check symbol.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.compact();
        write!(f, "{}-{}-{}", &c[0..4], &c[4..8], &c[8..9])
    }
}

impl std::str::FromStr for ReceiptCode {
    type Err = ReceiptCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReceiptCode::parse(s)
    }
}

impl Serialize for ReceiptCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ReceiptCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ReceiptCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Prefix of a receipt QR payload (protocol version 1).
pub const RECEIPT_QR_PREFIX: &str = "OKR1:";

/// What a receipt QR says: which dossier receipt, of which hub, for which procedure, on which day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// Protocol version, `1`.
    pub v: u32,
    /// The receipt code in display form.
    pub code: ReceiptCode,
    /// The sealing hub.
    pub device_id: DeviceId,
    /// The hub's receipt sequence number; `(device_id, seq)` is the tracking number.
    pub seq: u64,
    /// The procedure.
    pub procedure: ProcedureRef,
    /// Local date of sealing, `YYYY-MM-DD`.
    pub date: String,
}

/// A receipt signed by the sealing hub's device key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedReceipt {
    /// The receipt.
    pub receipt: Receipt,
    /// Signature over `"outreach-kit/v1/receipt\n" || canonical(receipt)`.
    pub signature: Signature,
}

impl Receipt {
    /// The tracking number, e.g. `56475aa75463474c-42`: unique across hubs without any coordination.
    pub fn tracking_number(&self) -> String {
        format!("{}-{}", self.device_id.as_str(), self.seq)
    }

    /// Signs with the sealing hub's key.
    pub fn sign(self, key: &DeviceKey) -> Result<SignedReceipt, ProtocolError> {
        let signature = key.sign_value(Context::Receipt, &self)?;
        Ok(SignedReceipt {
            receipt: self,
            signature,
        })
    }
}

impl SignedReceipt {
    /// The QR text: `OKR1:` followed by the canonical JSON of `{"receipt":…,"signature":…}`.
    pub fn to_qr_text(&self) -> Result<String, ProtocolError> {
        let bytes = canonical_bytes(self)?;
        let json = String::from_utf8(bytes).map_err(|e| ProtocolError::Json(e.to_string()))?;
        Ok(format!("{RECEIPT_QR_PREFIX}{json}"))
    }

    /// Parses a QR text (prefix, then canonical JSON only). Does not verify: see [`SignedReceipt::verify`].
    pub fn from_qr_text(text: &str) -> Result<SignedReceipt, ProtocolError> {
        let json = text.strip_prefix(RECEIPT_QR_PREFIX).ok_or_else(|| {
            ProtocolError::Json(format!("a receipt QR starts with {RECEIPT_QR_PREFIX}"))
        })?;
        parse_canonical(json.as_bytes())
    }

    /// Checks the version, that the key is the sealing hub's, that the code is the one derived from
    /// `(device_id, seq)`, that the date is a date, and the signature.
    pub fn verify(&self, key: &DevicePublicKey) -> Result<(), ProtocolError> {
        let r = &self.receipt;
        if r.v != crate::PROTOCOL_VERSION {
            return Err(ProtocolError::Version { found: r.v });
        }
        check_device(&r.device_id, key)?;
        if r.seq == 0
            || r.seq > crate::MAX_INTEGER
            || ReceiptCode::derive(&r.device_id, r.seq) != r.code
        {
            return Err(ProtocolError::Json(
                "the receipt code is not the one of this hub and sequence number".into(),
            ));
        }
        if crate::validate::parse_date(&r.date).is_none() {
            return Err(ProtocolError::Json(format!("{:?} is not a date", r.date)));
        }
        key.verify_value(Context::Receipt, r, &self.signature)
    }
}

#[cfg(test)]
mod token_tests {
    use super::*;

    fn key() -> DeviceKey {
        DeviceKey::from_seed([7u8; 32])
    }

    fn receipt(seq: u64) -> Receipt {
        let device = key().public().device_id();
        Receipt {
            v: 1,
            code: ReceiptCode::derive(&device, seq),
            device_id: device,
            seq,
            procedure: ProcedureRef {
                id: "birth-residence-insurance".into(),
                version: 1,
            },
            date: "2026-11-23".into(),
        }
    }

    #[test]
    fn derived_codes_are_stable_and_distinct_per_hub_and_sequence() {
        let a = key().public().device_id();
        let b = DeviceKey::from_seed([8u8; 32]).public().device_id();
        assert_eq!(ReceiptCode::derive(&a, 1), ReceiptCode::derive(&a, 1));
        let mut seen = std::collections::BTreeSet::new();
        for seq in 1..=2000 {
            assert!(seen.insert(ReceiptCode::derive(&a, seq)));
            assert!(seen.insert(ReceiptCode::derive(&b, seq)));
        }
    }

    #[test]
    fn a_qr_round_trips_and_verifies_offline() {
        let signed = receipt(42).sign(&key()).unwrap();
        let text = signed.to_qr_text().unwrap();
        assert!(text.starts_with("OKR1:{\"receipt\":{"));
        assert!(text.len() < 400, "fits a small QR: {} bytes", text.len());
        let back = SignedReceipt::from_qr_text(&text).unwrap();
        assert_eq!(back, signed);
        back.verify(&key().public()).unwrap();
        assert_eq!(
            back.receipt.tracking_number(),
            format!("{}-42", key().public().device_id().as_str())
        );
    }

    #[test]
    fn forged_or_altered_receipts_are_refused() {
        let signed = receipt(42).sign(&key()).unwrap();
        // Another hub's key.
        let other = DeviceKey::from_seed([9u8; 32]).public();
        assert!(signed.verify(&other).is_err());
        // Any change to the signed content.
        let mut changed = signed.clone();
        changed.receipt.date = "2026-11-24".into();
        assert_eq!(
            changed.verify(&key().public()),
            Err(ProtocolError::BadSignature)
        );
        // A code that does not belong to the sequence number, even when signed.
        let mut r = receipt(42);
        r.code = ReceiptCode::derive(&r.device_id, 43);
        assert!(r.sign(&key()).unwrap().verify(&key().public()).is_err());
        // Not canonical, wrong prefix, unknown member.
        let text = signed.to_qr_text().unwrap();
        assert!(SignedReceipt::from_qr_text(&text.replace("OKR1:", "OKR2:")).is_err());
        assert!(SignedReceipt::from_qr_text(&text.replacen("{", "{ ", 1)).is_err());
        assert!(SignedReceipt::from_qr_text(&format!("{text} ")).is_err());
        let extra = text.replacen("{\"receipt\"", "{\"extra\":1,\"receipt\"", 1);
        assert!(SignedReceipt::from_qr_text(&extra).is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_example() {
        // 0x0123456789 = 4886718345; base 32 → 0,4,17,20,10,25,28,9 → "04HMASW9"; 4886718345 mod 37 = 29 → 'X'.
        let c = ReceiptCode::from_entropy([0x01, 0x23, 0x45, 0x67, 0x89]);
        assert_eq!(c.value(), 4_886_718_345);
        assert_eq!(c.value() % 37, 29);
        assert_eq!(c.to_string(), "04HM-ASW9-X");
    }

    #[test]
    fn extremes() {
        assert_eq!(ReceiptCode::from_entropy([0; 5]).to_string(), "0000-0000-0");
        let max = ReceiptCode::from_entropy([0xff; 5]);
        assert_eq!(&max.to_string()[..9], "ZZZZ-ZZZZ");
        assert_eq!(max.value() % 37, ((1u64 << 40) - 1) % 37);
    }

    #[test]
    fn lenient_parse() {
        let c = ReceiptCode::from_entropy([0x01, 0x23, 0x45, 0x67, 0x89]);
        for s in [
            "04HM-ASW9-X",
            "04hmasw9x",
            " 04hm asw9 x ",
            "O4HM-ASW9-X",
            "04HM-ASW9-x",
        ] {
            assert_eq!(ReceiptCode::parse(s), Ok(c.clone()), "{s}");
        }
        let one = ReceiptCode::from_entropy([0, 0, 0, 0, 1]);
        assert_eq!(one.to_string(), "0000-0001-1");
        assert_eq!(ReceiptCode::parse("oooo-oooi-l"), Ok(one));
    }

    #[test]
    fn rejects_length_symbol_and_check() {
        assert_eq!(
            ReceiptCode::parse("04HM-ASW9"),
            Err(ReceiptCodeError::Length { found: 8 })
        );
        assert_eq!(
            ReceiptCode::parse("04HM-ASW9-XX"),
            Err(ReceiptCodeError::Length { found: 10 })
        );
        assert_eq!(
            ReceiptCode::parse("04HU-ASW9-X"),
            Err(ReceiptCodeError::Symbol {
                symbol: 'U',
                position: 4
            })
        );
        assert_eq!(
            ReceiptCode::parse("04H*-ASW9-X"),
            Err(ReceiptCodeError::Symbol {
                symbol: '*',
                position: 4
            })
        );
        assert_eq!(
            ReceiptCode::parse("04HM-ASW9-Y"),
            Err(ReceiptCodeError::Check { expected: 'X' })
        );
        assert!(ReceiptCode::parse("04HM-ASW9-ắ").is_err());
    }

    #[test]
    fn high_check_symbols_parse() {
        // Find codes whose check value is 32..=36 and make sure they round-trip.
        let mut seen = [false; 5];
        for v in 0u64..200 {
            let c = ReceiptCode::from_entropy([0, 0, 0, 0, v as u8]);
            let r = (c.value() % 37) as usize;
            if r >= 32 {
                seen[r - 32] = true;
                assert_eq!(
                    ReceiptCode::parse(&c.to_string().to_lowercase()),
                    Ok(c.clone())
                );
            }
        }
        assert!(seen.iter().all(|s| *s));
    }

    fn sample() -> Vec<ReceiptCode> {
        // A deterministic spread of values (linear congruential walk over 40 bits).
        let mut x: u64 = 0x0012_3456_789a;
        (0..300)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let b = (x >> 20).to_be_bytes();
                ReceiptCode::from_entropy([b[3], b[4], b[5], b[6], b[7]])
            })
            .collect()
    }

    #[test]
    fn check_catches_every_single_substitution() {
        for code in sample() {
            let s: Vec<char> = code.compact().chars().collect();
            for pos in 0..9 {
                let alphabet: &[u8] = if pos < 8 {
                    DATA_ALPHABET
                } else {
                    CHECK_ALPHABET
                };
                for &b in alphabet {
                    let c = char::from(b);
                    if c == s[pos] {
                        continue;
                    }
                    let mut t = s.clone();
                    t[pos] = c;
                    let t: String = t.into_iter().collect();
                    assert!(ReceiptCode::parse(&t).is_err(), "{code} vs {t}");
                }
            }
        }
    }

    #[test]
    fn check_catches_every_adjacent_transposition_of_data_symbols() {
        for code in sample() {
            let s: Vec<char> = code.compact().chars().collect();
            for pos in 0..7 {
                if s[pos] == s[pos + 1] {
                    continue;
                }
                let mut t = s.clone();
                t.swap(pos, pos + 1);
                let t: String = t.into_iter().collect();
                assert!(ReceiptCode::parse(&t).is_err(), "{code} vs {t}");
            }
        }
    }

    #[test]
    fn serde_uses_display_form() {
        let c = ReceiptCode::from_entropy([0x01, 0x23, 0x45, 0x67, 0x89]);
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"04HM-ASW9-X\"");
        assert_eq!(
            serde_json::from_str::<ReceiptCode>("\"04hmasw9x\"").unwrap(),
            c
        );
        assert!(serde_json::from_str::<ReceiptCode>("\"04HM-ASW9-Y\"").is_err());
    }
}
