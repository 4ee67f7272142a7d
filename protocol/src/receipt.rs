//! Receipts: the short code a villager keeps, derived offline from the sealing hub's id and its own receipt
//! sequence, and the signed QR payload that any hub holding the sealing hub's key card verifies without a
//! network.
//!
//! A receipt code carries a 40-bit value in one of two written forms:
//!
//! - **digits** (issued now): the value as 13 decimal digits, then a Damm check digit, grouped in fours,
//!   e.g. `0004-8867-1834-59`. Read aloud in any language, typed on a phone's numeric keypad; the check
//!   digit catches every single-digit error and every swap of two adjacent digits.
//! - **Crockford** (issued before digit codes): 8 Crockford base-32 symbols and a mod-37 check symbol, e.g.
//!   `04HM-ASW9-X`. Every code issued so far keeps parsing, verifying and displaying in this form.
//!
//! The form is part of the code: `04HM-ASW9-X` and `0004-8867-1834-59` have the same value but are two
//! different codes, and only the one that was issued names the receipt. Stores key receipts by the issued
//! code's display form, signed dossiers, receipts and news carry it byte for byte, and the hub's tracking key
//! is a MAC of it; see `docs/protocol.md` §6.

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
/// Decimal digits of the value in the digit form (2⁴⁰ − 1 = 1 099 511 627 775 has 13).
const VALUE_DIGITS: usize = 13;
/// Digits of a digit-form code: the value's 13, then the check digit.
pub const RECEIPT_CODE_DIGITS: usize = VALUE_DIGITS + 1;
/// Symbols of a Crockford-form code: 8 data symbols, then the check symbol.
pub const RECEIPT_CODE_CROCKFORD_SYMBOLS: usize = DATA_SYMBOLS + 1;

/// The Damm algorithm's quasigroup of order 10 (totally anti-symmetric, zero diagonal), as published by
/// H. M. Damm (2004): `interim = DAMM[interim][digit]`, starting from 0.
const DAMM: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

/// The Damm interim digit after `digits` (each 0..=9). Appended to `digits` as a check digit, the whole
/// string's interim digit is 0.
pub fn damm_check_digit(digits: &[u8]) -> u8 {
    digits.iter().fold(0u8, |interim, d| {
        DAMM[usize::from(interim)][usize::from(*d)]
    })
}

/// How a receipt code is written. Part of the code's identity: see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReceiptCodeForm {
    /// 13 decimal digits and a Damm check digit, `DDDD-DDDD-DDDD-DD` (issued now).
    Digits,
    /// 8 Crockford base-32 symbols and a mod-37 check symbol, `XXXX-XXXX-C` (issued before digit codes).
    Crockford,
}

/// Why a receipt code string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReceiptCodeError {
    /// After removing separators the code is neither 14 digits nor 9 symbols (the older form).
    #[error("a receipt code has 14 digits (13 + check digit), or 9 symbols in the older form (8 + check); found {found}")]
    Length {
        /// Number of symbols found.
        found: usize,
    },
    /// A character that is not a valid symbol at that position (in a 14-symbol code, a non-digit).
    #[error("{symbol:?} is not a valid symbol at position {position}")]
    Symbol {
        /// The offending character.
        symbol: char,
        /// 1-based position among the 14 digits (or 9 symbols).
        position: usize,
    },
    /// The check digit (or symbol) does not match the others (a typo).
    #[error("check symbol does not match (expected {expected:?})")]
    Check {
        /// The check digit or symbol the others call for.
        expected: char,
    },
    /// 14 digits with a matching check digit, but their value does not fit in 40 bits.
    #[error("the digits' value is above 2^40 - 1: not a receipt code")]
    Range,
}

/// A valid receipt code: a 40-bit value and the form it is written in. An invalid code cannot be
/// represented. Two codes are equal when both value and form are.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReceiptCode {
    value: u64,
    form: ReceiptCodeForm,
}

impl ReceiptCode {
    /// The digit-form code for 5 caller-supplied bytes (big-endian 40-bit value).
    pub fn from_entropy(bytes: [u8; 5]) -> Self {
        let value = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        ReceiptCode {
            value,
            form: ReceiptCodeForm::Digits,
        }
    }

    /// The code of `value` written in `form`; `None` when the value does not fit in 40 bits.
    pub fn from_value(value: u64, form: ReceiptCodeForm) -> Option<Self> {
        (value <= BITS_MASK).then_some(ReceiptCode { value, form })
    }

    /// The code of receipt number `seq` (1, 2, 3… per hub, never reused) of the hub `device`, in the digit
    /// form hubs issue: the first 40 bits of SHA-256(`outreach-kit/v1/receipt-code` LF device-id LF
    /// seq-in-decimal). Made offline, the same on every hub; the pair (device, seq) — the tracking number —
    /// is unique by construction, and the code is what is read over a phone.
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

    /// The code the office records dossier `dossier_id` of hub `device` under when another dossier it holds
    /// already carries the code this one was issued (two copies of one card, or a card restored from an
    /// older backup, issued it twice; §6.2): the first 40 bits of
    /// SHA-256(`outreach-kit/v1/receipt-code-relinked` LF device-id LF dossier-id), digit form. The field
    /// hub learns it from the office's news and shows it to the villager beside the code they hold.
    pub fn relinked(device: &DeviceId, dossier_id: &str) -> Self {
        let digest = Sha256::new()
            .chain_update(b"outreach-kit/v1/receipt-code-relinked\n")
            .chain_update(device.as_str().as_bytes())
            .chain_update(b"\n")
            .chain_update(dossier_id.as_bytes())
            .finalize();
        let mut five = [0u8; 5];
        five.copy_from_slice(&digest[..5]);
        ReceiptCode::from_entropy(five)
    }

    /// Whether this code, in either form, is the one of receipt `seq` of hub `device` (a receipt issued
    /// before digit codes carries the same value in the Crockford form).
    pub fn is_derived_from(&self, device: &DeviceId, seq: u64) -> bool {
        ReceiptCode::derive(device, seq).value == self.value
    }

    /// The 40-bit value.
    pub fn value(&self) -> u64 {
        self.value
    }

    /// The form the code is written in.
    pub fn form(&self) -> ReceiptCodeForm {
        self.form
    }

    /// The same value written in `form` (a different code unless `form` is this code's).
    pub fn in_form(&self, form: ReceiptCodeForm) -> Self {
        ReceiptCode {
            value: self.value,
            form,
        }
    }

    /// The symbols without separators: 14 digits (`00048867183459`) or 9 Crockford symbols (`04HMASW9X`).
    pub fn compact(&self) -> String {
        match self.form {
            ReceiptCodeForm::Digits => {
                let mut s = format!("{:013}", self.value);
                let digits: Vec<u8> = s.bytes().map(|b| b - b'0').collect();
                s.push(char::from(b'0' + damm_check_digit(&digits)));
                s
            }
            ReceiptCodeForm::Crockford => {
                let mut s: String = (0..DATA_SYMBOLS)
                    .map(|i| {
                        let shift = 5 * (DATA_SYMBOLS - 1 - i);
                        char::from(DATA_ALPHABET[((self.value >> shift) & 31) as usize])
                    })
                    .collect();
                s.push(char::from(CHECK_ALPHABET[(self.value % 37) as usize]));
                s
            }
        }
    }

    /// Parses either form leniently (see `docs/protocol.md` §6): white space, hyphens and dashes, and dots
    /// are ignored; full-width characters (some phone keyboards) read as their ASCII twins; letters are
    /// case-insensitive; `I`/`L` read as `1` and `O` as `0`. Then 14 digits are a digit-form code and 9
    /// symbols a Crockford-form code; the check digit or symbol must match.
    pub fn parse(s: &str) -> Result<Self, ReceiptCodeError> {
        let symbols: Vec<char> = s.chars().filter_map(lenient_symbol).collect();
        match symbols.len() {
            RECEIPT_CODE_DIGITS => parse_digits(&symbols),
            RECEIPT_CODE_CROCKFORD_SYMBOLS => parse_crockford(&symbols),
            found => Err(ReceiptCodeError::Length { found }),
        }
    }
}

/// One typed character as a code symbol (`None`: a separator to skip).
fn lenient_symbol(c: char) -> Option<char> {
    // Full-width forms U+FF01..U+FF5E are their ASCII twins shifted by 0xFEE0.
    let c = match u32::from(c) {
        0xFF01..=0xFF5E => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        _ => c,
    };
    if c.is_whitespace()
        || matches!(
            c,
            '-' | '.' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}'
        )
    {
        return None;
    }
    Some(match c.to_ascii_uppercase() {
        'I' | 'L' => '1',
        'O' => '0',
        other => other,
    })
}

fn parse_digits(symbols: &[char]) -> Result<ReceiptCode, ReceiptCodeError> {
    let mut digits = [0u8; RECEIPT_CODE_DIGITS];
    for (i, c) in symbols.iter().enumerate() {
        digits[i] = c.to_digit(10).ok_or(ReceiptCodeError::Symbol {
            symbol: *c,
            position: i + 1,
        })? as u8;
    }
    if damm_check_digit(&digits) != 0 {
        return Err(ReceiptCodeError::Check {
            expected: char::from(b'0' + damm_check_digit(&digits[..VALUE_DIGITS])),
        });
    }
    let value = digits[..VALUE_DIGITS]
        .iter()
        .fold(0u64, |acc, d| acc * 10 + u64::from(*d));
    ReceiptCode::from_value(value, ReceiptCodeForm::Digits).ok_or(ReceiptCodeError::Range)
}

fn parse_crockford(symbols: &[char]) -> Result<ReceiptCode, ReceiptCodeError> {
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
    let code = ReceiptCode {
        value: value & BITS_MASK,
        form: ReceiptCodeForm::Crockford,
    };
    if check != code.value % 37 {
        return Err(ReceiptCodeError::Check {
            expected: char::from(CHECK_ALPHABET[(code.value % 37) as usize]),
        });
    }
    Ok(code)
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
    /// Digit form: `DDDD-DDDD-DDDD-DD` (the last group ends with the check digit). Crockford form:
    /// `ABCD-EFGH-J` (4 data symbols, hyphen, 4 data symbols, hyphen, check symbol).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.compact();
        match self.form {
            ReceiptCodeForm::Digits => {
                write!(f, "{}-{}-{}-{}", &c[0..4], &c[4..8], &c[8..12], &c[12..14])
            }
            ReceiptCodeForm::Crockford => write!(f, "{}-{}-{}", &c[0..4], &c[4..8], &c[8..9]),
        }
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
    /// `(device_id, seq)` (in either form: receipts issued before digit codes carry the Crockford form),
    /// that the date is a date, and the signature.
    pub fn verify(&self, key: &DevicePublicKey) -> Result<(), ProtocolError> {
        let r = &self.receipt;
        if r.v != crate::PROTOCOL_VERSION {
            return Err(ProtocolError::Version { found: r.v });
        }
        check_device(&r.device_id, key)?;
        if r.seq == 0 || r.seq > crate::MAX_INTEGER || !r.code.is_derived_from(&r.device_id, r.seq)
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
    fn relinked_codes_are_stable_and_differ_from_issued_ones() {
        let device = DeviceKey::from_seed([1u8; 32]).public().device_id();
        let id = "01890a5d-ac96-774b-bcce-b302099a8057";
        let a = ReceiptCode::relinked(&device, id);
        assert_eq!(a, ReceiptCode::relinked(&device, id));
        assert_ne!(
            a,
            ReceiptCode::relinked(&device, "01890a5d-ac96-774b-bcce-b302099a8058")
        );
        assert!((1..=2000).all(|seq| ReceiptCode::derive(&device, seq) != a));
        assert_eq!(a.to_string().len(), 17, "digit form: {a}");
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
    fn a_qr_with_a_code_issued_before_digit_codes_still_verifies() {
        let mut old = receipt(42);
        old.code = old.code.in_form(ReceiptCodeForm::Crockford);
        let signed = old.sign(&key()).unwrap();
        let text = signed.to_qr_text().unwrap();
        let shown = signed.receipt.code.to_string();
        assert_eq!(shown.len(), 11, "{shown}");
        assert!(text.contains(&format!("\"code\":\"{shown}\"")), "{text}");
        let back = SignedReceipt::from_qr_text(&text).unwrap();
        assert_eq!(back.receipt.code.form(), ReceiptCodeForm::Crockford);
        assert_eq!(back.to_qr_text().unwrap(), text, "one spelling");
        back.verify(&key().public()).unwrap();
        // And the new form of the same receipt, signed as such, verifies too.
        let signed = receipt(42).sign(&key()).unwrap();
        assert_eq!(signed.receipt.code.form(), ReceiptCodeForm::Digits);
        assert!(signed
            .to_qr_text()
            .unwrap()
            .contains(&format!("\"code\":\"{}\"", signed.receipt.code)));
        signed.verify(&key().public()).unwrap();
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
        assert!(r
            .clone()
            .sign(&key())
            .unwrap()
            .verify(&key().public())
            .is_err());
        r.code = r.code.in_form(ReceiptCodeForm::Crockford);
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

    fn crockford(bytes: [u8; 5]) -> ReceiptCode {
        ReceiptCode::from_entropy(bytes).in_form(ReceiptCodeForm::Crockford)
    }

    #[test]
    fn damm_matches_the_published_example() {
        // Damm (2004) / Wikipedia: 572 → check digit 4, and 5724 checks to 0.
        assert_eq!(damm_check_digit(&[5, 7, 2]), 4);
        assert_eq!(damm_check_digit(&[5, 7, 2, 4]), 0);
    }

    #[test]
    fn worked_example_in_both_forms() {
        // 0x0123456789 = 4886718345.
        let d = ReceiptCode::from_entropy([0x01, 0x23, 0x45, 0x67, 0x89]);
        assert_eq!(d.value(), 4_886_718_345);
        assert_eq!(d.form(), ReceiptCodeForm::Digits);
        // 13 digits 0004886718345, Damm interim digits 0 0 0 5 8 0 8 2 2 5 4 0 9 → check digit 9.
        assert_eq!(d.to_string(), "0004-8867-1834-59");
        assert_eq!(d.compact(), "00048867183459");
        // base 32 → 0,4,17,20,10,25,28,9 → "04HMASW9"; 4886718345 mod 37 = 29 → 'X'.
        let c = d.in_form(ReceiptCodeForm::Crockford);
        assert_eq!(c.value() % 37, 29);
        assert_eq!(c.to_string(), "04HM-ASW9-X");
        assert_eq!(c.compact(), "04HMASW9X");
        // Same value, two different codes.
        assert_ne!(c, d);
        assert_eq!(c.value(), d.value());
    }

    #[test]
    fn extremes() {
        assert_eq!(
            ReceiptCode::from_entropy([0; 5]).to_string(),
            "0000-0000-0000-00"
        );
        assert_eq!(
            ReceiptCode::from_entropy([0xff; 5]).to_string(),
            "1099-5116-2777-52"
        );
        assert_eq!(crockford([0; 5]).to_string(), "0000-0000-0");
        let max = crockford([0xff; 5]);
        assert_eq!(&max.to_string()[..9], "ZZZZ-ZZZZ");
        assert_eq!(max.value() % 37, ((1u64 << 40) - 1) % 37);
        assert_eq!(
            ReceiptCode::from_value(1 << 40, ReceiptCodeForm::Digits),
            None
        );
        assert!(ReceiptCode::from_value((1 << 40) - 1, ReceiptCodeForm::Crockford).is_some());
    }

    #[test]
    fn lenient_parse_of_digit_codes() {
        let d = ReceiptCode::from_entropy([0x01, 0x23, 0x45, 0x67, 0x89]);
        for s in [
            "0004-8867-1834-59",
            "00048867183459",
            " 0004 8867 1834 59 ",
            "0004.8867.1834.59",
            "0004 – 8867 — 1834 − 59",
            "OOO4-8867-l834-59",
            "ooo4 8867 i834 59",
            "０００４－８８６７－１８３４－５９",
            "0004\u{a0}8867\u{a0}1834\u{a0}59",
            "0004\t8867\n1834 59",
        ] {
            assert_eq!(ReceiptCode::parse(s), Ok(d.clone()), "{s:?}");
        }
    }

    #[test]
    fn lenient_parse_of_crockford_codes() {
        let c = crockford([0x01, 0x23, 0x45, 0x67, 0x89]);
        for s in [
            "04HM-ASW9-X",
            "04hmasw9x",
            " 04hm asw9 x ",
            "O4HM-ASW9-X",
            "04HM-ASW9-x",
            "04HM.ASW9.X",
            "０４ＨＭ－ＡＳＷ９－Ｘ",
        ] {
            assert_eq!(ReceiptCode::parse(s), Ok(c.clone()), "{s:?}");
        }
        let one = crockford([0, 0, 0, 0, 1]);
        assert_eq!(one.to_string(), "0000-0001-1");
        assert_eq!(ReceiptCode::parse("oooo-oooi-l"), Ok(one));
    }

    #[test]
    fn rejects_length_symbol_check_and_range() {
        for (s, found) in [
            ("04HM-ASW9", 8),
            ("04HM-ASW9-XX", 10),
            ("0004-8867-1834-5", 13),
            ("0004-8867-1834-599", 15),
            ("", 0),
        ] {
            assert_eq!(
                ReceiptCode::parse(s),
                Err(ReceiptCodeError::Length { found }),
                "{s}"
            );
        }
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
        // A 14-symbol code is digits only: a letter is not read as a Crockford symbol.
        assert_eq!(
            ReceiptCode::parse("0004-8867-1834-5A"),
            Err(ReceiptCodeError::Symbol {
                symbol: 'A',
                position: 14
            })
        );
        assert_eq!(
            ReceiptCode::parse("0004-8867-1834-58"),
            Err(ReceiptCodeError::Check { expected: '9' })
        );
        // Well-formed digits whose value is above 40 bits: 9999999999999 and its Damm check digit.
        let big: Vec<u8> = vec![9; 13];
        let check = damm_check_digit(&big);
        let s = format!("9999999999999{check}");
        assert_eq!(ReceiptCode::parse(&s), Err(ReceiptCodeError::Range));
        // The first value above 40 bits is refused; the last below is not.
        for (v, ok) in [((1u64 << 40) - 1, true), (1u64 << 40, false)] {
            let digits: Vec<u8> = format!("{v:013}").bytes().map(|b| b - b'0').collect();
            let s = format!("{v:013}{}", damm_check_digit(&digits));
            assert_eq!(ReceiptCode::parse(&s).is_ok(), ok, "{s}");
        }
    }

    #[test]
    fn high_check_symbols_parse() {
        // Find Crockford codes whose check value is 32..=36 and make sure they round-trip.
        let mut seen = [false; 5];
        for v in 0u64..200 {
            let c = crockford([0, 0, 0, 0, v as u8]);
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

    fn sample() -> Vec<u64> {
        // A deterministic spread of values (linear congruential walk over 40 bits), plus the extremes.
        let mut x: u64 = 0x0012_3456_789a;
        let mut out: Vec<u64> = (0..300)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 20) & BITS_MASK
            })
            .collect();
        out.extend([0, 1, BITS_MASK, BITS_MASK - 1, 999_999_999_999]);
        out
    }

    #[test]
    fn damm_catches_every_single_digit_error_and_adjacent_swap() {
        for v in sample() {
            let code = ReceiptCode::from_value(v, ReceiptCodeForm::Digits).unwrap();
            let s: Vec<u8> = code.compact().into_bytes();
            assert_eq!(s.len(), 14);
            for pos in 0..14 {
                for d in b'0'..=b'9' {
                    if d == s[pos] {
                        continue;
                    }
                    let mut t = s.clone();
                    t[pos] = d;
                    let t = String::from_utf8(t).unwrap();
                    assert!(ReceiptCode::parse(&t).is_err(), "{code} vs {t}");
                }
            }
            // Every adjacent pair, the check digit included.
            for pos in 0..13 {
                if s[pos] == s[pos + 1] {
                    continue;
                }
                let mut t = s.clone();
                t.swap(pos, pos + 1);
                let t = String::from_utf8(t).unwrap();
                assert!(ReceiptCode::parse(&t).is_err(), "{code} vs {t}");
            }
        }
    }

    #[test]
    fn check_catches_every_single_substitution_of_crockford_codes() {
        for v in sample() {
            let code = ReceiptCode::from_value(v, ReceiptCodeForm::Crockford).unwrap();
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
    fn check_catches_every_adjacent_transposition_of_crockford_data_symbols() {
        for v in sample() {
            let code = ReceiptCode::from_value(v, ReceiptCodeForm::Crockford).unwrap();
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
    fn both_forms_round_trip_and_keep_their_form() {
        for v in sample() {
            for form in [ReceiptCodeForm::Digits, ReceiptCodeForm::Crockford] {
                let code = ReceiptCode::from_value(v, form).unwrap();
                let back = ReceiptCode::parse(&code.to_string()).unwrap();
                assert_eq!(back, code);
                assert_eq!(back.form(), form);
                assert_eq!(ReceiptCode::parse(&code.compact()).unwrap(), code);
            }
        }
    }

    #[test]
    fn derived_codes_are_digits_and_match_in_either_form() {
        let device = DeviceId::parse("56475aa75463474c").unwrap();
        let code = ReceiptCode::derive(&device, 42);
        assert_eq!(code.form(), ReceiptCodeForm::Digits);
        assert!(code.is_derived_from(&device, 42));
        assert!(code
            .in_form(ReceiptCodeForm::Crockford)
            .is_derived_from(&device, 42));
        assert!(!code.is_derived_from(&device, 43));
    }

    #[test]
    fn serde_uses_display_form_of_each_form() {
        let d = ReceiptCode::from_entropy([0x01, 0x23, 0x45, 0x67, 0x89]);
        let c = d.in_form(ReceiptCodeForm::Crockford);
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"04HM-ASW9-X\"");
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"0004-8867-1834-59\"");
        assert_eq!(
            serde_json::from_str::<ReceiptCode>("\"04hmasw9x\"").unwrap(),
            c
        );
        assert_eq!(
            serde_json::from_str::<ReceiptCode>("\"00048867183459\"").unwrap(),
            d
        );
        assert!(serde_json::from_str::<ReceiptCode>("\"04HM-ASW9-Y\"").is_err());
        assert!(serde_json::from_str::<ReceiptCode>("\"0004-8867-1834-58\"").is_err());
    }
}
