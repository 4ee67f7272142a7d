//! Sync over the network (issue 5): the pure messages a field hub and its office hub exchange.
//!
//! Order of an exchange: pairing ([`PairingCode`], [`PairingQr`], [`PairRequest`], [`PairAnswer`]), a clerk
//! approves the device on the office, then on every sync: [`Holdings`] (what the office already holds) →
//! the signed batch manifest ([`crate::batch::SignedManifest`], "manifest first") → envelopes and chunked
//! ciphertexts ([`ChunkPut`], [`next_chunk`]) → [`Ack`] (what the office verified and stored) → [`News`].
//!
//! Every signed message names its signer, carries `kind` and `v`, is signed over
//! `context || LF || canonical JSON` with a context of its own, and decodes only from canonical bytes with
//! no unknown member. Nothing here reads a clock, draws randomness or does I/O: callers pass times and
//! random bytes. The wire format is `docs/protocol.md` §11.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use crate::batch::{BatchManifest, CheckKind};
use crate::canonical::{canonical_bytes, is_sha256_hex, parse_canonical};
use crate::chain::ChainHead;
use crate::envelope::BlobRef;
use crate::error::ProtocolError;
use crate::keycard::{HubMode, KeyCard};
use crate::keys::{check_device, Context, DeviceId, DeviceKey, DevicePublicKey, Signature};
use crate::receipt::{symbol_value, ReceiptCode, CHECK_ALPHABET, DATA_ALPHABET};
use crate::timestamp::parse_timestamp;

pub(crate) fn sync_err(msg: impl Into<String>) -> ProtocolError {
    ProtocolError::Sync(msg.into())
}

fn check_kind_v(kind: &str, expected: &'static str, v: u32) -> Result<(), ProtocolError> {
    if kind != expected {
        return Err(ProtocolError::Kind {
            expected,
            found: kind.to_owned(),
        });
    }
    if v != crate::PROTOCOL_VERSION {
        return Err(ProtocolError::Version { found: v });
    }
    Ok(())
}

pub(crate) fn check_seq(what: &str, seq: u64) -> Result<(), ProtocolError> {
    if seq == 0 || seq > crate::MAX_INTEGER {
        return Err(sync_err(format!("{what} {seq} is outside 1..=2^53-1")));
    }
    Ok(())
}

fn check_hash(what: &str, h: &str) -> Result<(), ProtocolError> {
    if !is_sha256_hex(h) {
        return Err(ProtocolError::BadHex(format!(
            "{what} {h:?} is not a lower-case SHA-256 hex digest"
        )));
    }
    Ok(())
}

/// Checks one line (or, with `multiline`, a paragraph) of human text: 1..=`max` characters, NFC, trimmed,
/// no control characters (a paragraph may hold line breaks).
pub(crate) fn check_text(
    what: &str,
    s: &str,
    max: usize,
    multiline: bool,
) -> Result<(), ProtocolError> {
    let n = s.chars().count();
    if n == 0 || n > max {
        return Err(sync_err(format!("{what} must be 1 to {max} characters")));
    }
    if s.trim() != s {
        return Err(sync_err(format!(
            "{what} must not start or end with white space"
        )));
    }
    if s.chars()
        .any(|c| c.is_control() && !(multiline && c == '\n'))
    {
        return Err(sync_err(format!("{what} holds control characters")));
    }
    if s.nfc().collect::<String>() != s {
        return Err(sync_err(format!("{what} is not Unicode NFC")));
    }
    Ok(())
}

/// True for a UUID in its lower-case 8-4-4-4-12 hex form.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
        })
}

pub(crate) fn check_uuid(what: &str, s: &str) -> Result<(), ProtocolError> {
    if !is_uuid(s) {
        return Err(sync_err(format!("{what} {s:?} is not a lower-case UUID")));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Pairing code and its QR
// ---------------------------------------------------------------------------------------------------------

/// Bytes of entropy in a pairing code.
pub const PAIRING_CODE_BYTES: usize = 10;
/// Data symbols of a pairing code (80 bits / 5 bits per symbol).
const PAIRING_DATA_SYMBOLS: usize = 16;

/// The one-time code an office hub shows on its pairing page: 10 random bytes, written as 16 Crockford
/// base-32 symbols and a mod-37 check symbol, `XXXX-XXXX-XXXX-XXXX-C`.
///
/// Deliberately not `Debug`-printable in clear (it is a secret until used) and never serialised: on the wire
/// only [`pair_proof`] travels.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PairingCode([u8; PAIRING_CODE_BYTES]);

impl fmt::Debug for PairingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PairingCode(…)")
    }
}

impl PairingCode {
    /// The code of 10 caller-supplied random bytes.
    pub fn from_bytes(bytes: [u8; PAIRING_CODE_BYTES]) -> PairingCode {
        PairingCode(bytes)
    }

    /// The 10 bytes (what [`pair_proof`] hashes).
    pub fn as_bytes(&self) -> &[u8; PAIRING_CODE_BYTES] {
        &self.0
    }

    fn value(&self) -> u128 {
        self.0
            .iter()
            .fold(0u128, |acc, b| (acc << 8) | u128::from(*b))
    }

    fn check_symbol(&self) -> char {
        char::from(CHECK_ALPHABET[(self.value() % 37) as usize])
    }

    /// The 17 symbols without separators.
    pub fn compact(&self) -> String {
        let v = self.value();
        let mut s: String = (0..PAIRING_DATA_SYMBOLS)
            .map(|i| {
                let shift = 5 * (PAIRING_DATA_SYMBOLS - 1 - i);
                char::from(DATA_ALPHABET[((v >> shift) & 31) as usize])
            })
            .collect();
        s.push(self.check_symbol());
        s
    }

    /// Parses leniently: case-insensitive, hyphens and white space ignored, `I`/`L` read as `1` and `O` as
    /// `0`. A wrong check symbol is refused with the symbol expected (a typo, not a wrong code).
    pub fn parse(s: &str) -> Result<PairingCode, ProtocolError> {
        let symbols: Vec<char> = s
            .chars()
            .filter(|c| *c != '-' && !c.is_whitespace())
            .map(|c| match c.to_ascii_uppercase() {
                'I' | 'L' => '1',
                'O' => '0',
                other => other,
            })
            .collect();
        if symbols.len() != PAIRING_DATA_SYMBOLS + 1 {
            return Err(ProtocolError::BadPairingCode(format!(
                "a pairing code has 17 symbols (16 + check), found {}",
                symbols.len()
            )));
        }
        let mut value = 0u128;
        for (i, c) in symbols[..PAIRING_DATA_SYMBOLS].iter().enumerate() {
            let d = symbol_value(DATA_ALPHABET, *c).ok_or_else(|| {
                ProtocolError::BadPairingCode(format!(
                    "{c:?} is not a valid symbol at position {}",
                    i + 1
                ))
            })?;
            value = (value << 5) | u128::from(d);
        }
        let check_char = symbols[PAIRING_DATA_SYMBOLS];
        let check = symbol_value(CHECK_ALPHABET, check_char).ok_or_else(|| {
            ProtocolError::BadPairingCode(format!(
                "{check_char:?} is not a valid check symbol (position 17)"
            ))
        })?;
        let bytes: [u8; 16] = value.to_be_bytes();
        let mut ten = [0u8; PAIRING_CODE_BYTES];
        ten.copy_from_slice(&bytes[16 - PAIRING_CODE_BYTES..]);
        let code = PairingCode(ten);
        if u128::from(check) != value % 37 {
            return Err(ProtocolError::BadPairingCode(format!(
                "check symbol does not match (expected {:?}): a symbol was mistyped",
                code.check_symbol()
            )));
        }
        Ok(code)
    }
}

impl fmt::Display for PairingCode {
    /// `XXXX-XXXX-XXXX-XXXX-C`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.compact();
        write!(
            f,
            "{}-{}-{}-{}-{}",
            &c[0..4],
            &c[4..8],
            &c[8..12],
            &c[12..16],
            &c[16..17]
        )
    }
}

impl std::str::FromStr for PairingCode {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PairingCode::parse(s)
    }
}

/// Prefix of a pairing QR text (protocol version 1).
pub const PAIRING_QR_PREFIX: &str = "OKP1:";
/// Longest office base URL a pairing QR may carry, in bytes.
pub const MAX_PAIRING_URL_BYTES: usize = 200;

/// What the office's pairing QR says: where the office answers, and the one-time code.
/// Text form: `OKP1:<base URL>#<code in display form>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairingQr {
    /// The office hub's base URL, `http://…` or `https://…`, without a fragment.
    pub base_url: String,
    /// The one-time pairing code.
    pub code: PairingCode,
}

fn check_base_url(url: &str) -> Result<(), ProtocolError> {
    let bad = |m: &str| Err(ProtocolError::BadPairingQr(m.to_owned()));
    if url.len() > MAX_PAIRING_URL_BYTES {
        return bad("the URL is longer than 200 bytes");
    }
    let rest = if let Some(r) = url.strip_prefix("https://") {
        r
    } else if let Some(r) = url.strip_prefix("http://") {
        r
    } else {
        return bad("the URL must start with http:// or https://");
    };
    if !url
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'#' && b != b'"' && b != b'\\')
    {
        return bad("the URL must be printable ASCII without spaces, '#', '\"' or '\\'");
    }
    let host = rest.split(['/', '?']).next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') || host.contains('@') {
        return bad("the URL has no host (or carries user information)");
    }
    Ok(())
}

impl PairingQr {
    /// A QR for `base_url` and `code`; checks the URL.
    pub fn new(base_url: String, code: PairingCode) -> Result<PairingQr, ProtocolError> {
        check_base_url(&base_url)?;
        Ok(PairingQr { base_url, code })
    }

    /// `OKP1:<base URL>#<XXXX-XXXX-XXXX-XXXX-C>`.
    pub fn to_text(&self) -> String {
        format!("{PAIRING_QR_PREFIX}{}#{}", self.base_url, self.code)
    }

    /// Parses a QR text (the code part leniently, as typed codes are).
    pub fn parse(text: &str) -> Result<PairingQr, ProtocolError> {
        let rest = text.strip_prefix(PAIRING_QR_PREFIX).ok_or_else(|| {
            ProtocolError::BadPairingQr(format!("a pairing QR starts with {PAIRING_QR_PREFIX}"))
        })?;
        let (url, code) = rest.split_once('#').ok_or_else(|| {
            ProtocolError::BadPairingQr("no '#' between the URL and the code".into())
        })?;
        check_base_url(url)?;
        Ok(PairingQr {
            base_url: url.to_owned(),
            code: PairingCode::parse(code)?,
        })
    }
}

/// Context of the pairing proof hash (not a signature context).
pub const PAIR_PROOF_CONTEXT: &str = "outreach-kit/v1/pair-proof";

/// `hex(SHA-256("outreach-kit/v1/pair-proof" || LF || code bytes (10) || canonical(card)))`: binds the
/// one-time code to a key card without sending the code. `canonical(card)` is the RFC 8785 form of the
/// whole card object, `self_sig` included.
pub fn pair_proof(code: &PairingCode, card: &KeyCard) -> Result<String, ProtocolError> {
    let card_bytes = canonical_bytes(card)?;
    Ok(hex::encode(
        Sha256::new()
            .chain_update(PAIR_PROOF_CONTEXT.as_bytes())
            .chain_update(b"\n")
            .chain_update(code.as_bytes())
            .chain_update(&card_bytes)
            .finalize(),
    ))
}

// ---------------------------------------------------------------------------------------------------------
// Generic signed wrapper
// ---------------------------------------------------------------------------------------------------------

/// One signed sync message: `{ "<member>": body, "signature": hex }`.
macro_rules! signed_message {
    ($(#[$doc:meta])* $name:ident, $member:ident, $body:ty, $ctx:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// The signed body.
            pub $member: $body,
            /// Ed25519 over `context || LF || canonical(body)`.
            pub signature: Signature,
        }

        impl $name {
            /// Signs `body` (after checking its form) with `key`.
            pub fn sign(body: $body, key: &DeviceKey) -> Result<$name, ProtocolError> {
                body.check_form()?;
                let signature = key.sign_value($ctx, &body)?;
                Ok($name {
                    $member: body,
                    signature,
                })
            }

            /// Parses canonical bytes of the signed form and checks the body's form (not the signature).
            pub fn from_bytes(bytes: &[u8]) -> Result<$name, ProtocolError> {
                let s: $name = parse_canonical(bytes)?;
                s.$member.check_form()?;
                Ok(s)
            }

            /// The canonical bytes of the signed form (what travels).
            pub fn to_bytes(&self) -> Result<Vec<u8>, ProtocolError> {
                canonical_bytes(self)
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------------------
// Pairing request and answer
// ---------------------------------------------------------------------------------------------------------

/// `kind` of a [`PairRequest`].
pub const PAIR_REQUEST_KIND: &str = "outreach-kit/pair-request";
/// `kind` of a [`PairAnswer`].
pub const PAIR_ANSWER_KIND: &str = "outreach-kit/pair-answer";

/// Where a device stands with the office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatus {
    /// Paired, waiting for a clerk to approve it: uploads are refused.
    PendingApproval,
    /// Approved: uploads are accepted.
    Approved,
    /// Revoked by the office: every later upload is refused.
    Revoked,
}

impl DeviceStatus {
    /// `pending_approval`, `approved` or `revoked`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::PendingApproval => "pending_approval",
            DeviceStatus::Approved => "approved",
            DeviceStatus::Revoked => "revoked",
        }
    }
}

impl fmt::Display for DeviceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Field → office: "pin my key card; I know your one-time code". Signed by the field device key (context
/// `outreach-kit/v1/pair-request`), the key being the one on the embedded card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairRequest {
    /// Always [`PAIR_REQUEST_KIND`].
    pub kind: String,
    /// Protocol version, 1.
    pub v: u32,
    /// The field hub's key card (mode `field`, self signature valid).
    pub card: KeyCard,
    /// [`pair_proof`] of the code and `card`.
    pub proof: String,
    /// RFC 3339 time of the request.
    pub requested_at: String,
}

impl PairRequest {
    /// A request for `card` proving knowledge of `code`.
    pub fn new(
        card: KeyCard,
        code: &PairingCode,
        requested_at: String,
    ) -> Result<PairRequest, ProtocolError> {
        let proof = pair_proof(code, &card)?;
        let r = PairRequest {
            kind: PAIR_REQUEST_KIND.into(),
            v: crate::PROTOCOL_VERSION,
            card,
            proof,
            requested_at,
        };
        r.check_form()?;
        Ok(r)
    }

    /// Kind, version, the card (fully verified, mode `field`), proof form, time.
    pub fn check_form(&self) -> Result<(), ProtocolError> {
        check_kind_v(&self.kind, PAIR_REQUEST_KIND, self.v)?;
        self.card.verify()?;
        if self.card.mode != HubMode::Field {
            return Err(sync_err("a pairing request carries a field hub's key card"));
        }
        check_hash("proof", &self.proof)?;
        parse_timestamp(&self.requested_at)?;
        Ok(())
    }

    /// Whether `proof` binds `code` to this card (the office checks it against each open code).
    pub fn proves(&self, code: &PairingCode) -> bool {
        pair_proof(code, &self.card).is_ok_and(|p| p == self.proof)
    }
}

signed_message!(
    /// A [`PairRequest`] with the field device signature (context `outreach-kit/v1/pair-request`).
    SignedPairRequest,
    request,
    PairRequest,
    Context::PairRequest
);

impl SignedPairRequest {
    /// Form, then the signature with the card's own key. Does not check the code: see
    /// [`SignedPairRequest::verify_with_code`].
    pub fn verify(&self) -> Result<(), ProtocolError> {
        self.request.check_form()?;
        self.request.card.sign_pub.verify_value(
            Context::PairRequest,
            &self.request,
            &self.signature,
        )
    }

    /// [`SignedPairRequest::verify`], then that the proof binds `code` to the card.
    pub fn verify_with_code(&self, code: &PairingCode) -> Result<(), ProtocolError> {
        self.verify()?;
        if !self.request.proves(code) {
            return Err(sync_err(
                "the pairing proof does not match the code (a wrong or expired code)",
            ));
        }
        Ok(())
    }
}

/// Office → field: the office's key card, proof that the office knows the same code, and the device's status.
/// Signed by the office signing key (context `outreach-kit/v1/pair-answer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairAnswer {
    /// Always [`PAIR_ANSWER_KIND`].
    pub kind: String,
    /// Protocol version, 1.
    pub v: u32,
    /// The office hub's key card (mode `office`).
    pub card: KeyCard,
    /// The field device this answer is for (the request card's id).
    pub device_id: DeviceId,
    /// The request's `proof`, echoed: ties the answer to that request.
    pub request_proof: String,
    /// [`pair_proof`] of the code and the office's card: proves the answering office knows the code, so a
    /// relay cannot substitute its own card.
    pub proof: String,
    /// The device's status at the office.
    pub status: DeviceStatus,
    /// RFC 3339 time of the answer.
    pub answered_at: String,
}

impl PairAnswer {
    /// The answer of the office with `card` to `request`, for the code the request proved.
    pub fn new(
        card: KeyCard,
        request: &PairRequest,
        code: &PairingCode,
        status: DeviceStatus,
        answered_at: String,
    ) -> Result<PairAnswer, ProtocolError> {
        let proof = pair_proof(code, &card)?;
        let a = PairAnswer {
            kind: PAIR_ANSWER_KIND.into(),
            v: crate::PROTOCOL_VERSION,
            device_id: request.card.device_id.clone(),
            card,
            request_proof: request.proof.clone(),
            proof,
            status,
            answered_at,
        };
        a.check_form()?;
        Ok(a)
    }

    /// Kind, version, the card (verified, mode `office`), proofs, time.
    pub fn check_form(&self) -> Result<(), ProtocolError> {
        check_kind_v(&self.kind, PAIR_ANSWER_KIND, self.v)?;
        self.card.verify()?;
        if self.card.mode != HubMode::Office {
            return Err(sync_err(
                "a pairing answer carries an office hub's key card",
            ));
        }
        check_hash("request_proof", &self.request_proof)?;
        check_hash("proof", &self.proof)?;
        parse_timestamp(&self.answered_at)?;
        Ok(())
    }
}

signed_message!(
    /// A [`PairAnswer`] with the office signature (context `outreach-kit/v1/pair-answer`).
    SignedPairAnswer,
    answer,
    PairAnswer,
    Context::PairAnswer
);

impl SignedPairAnswer {
    /// What the field checks before pinning the office card: form, signature by the card's key, that the
    /// answer is for `request` (device and echoed proof) and that the office proves the same `code`.
    pub fn verify_for(
        &self,
        request: &PairRequest,
        code: &PairingCode,
    ) -> Result<(), ProtocolError> {
        let a = &self.answer;
        a.check_form()?;
        a.card
            .sign_pub
            .verify_value(Context::PairAnswer, a, &self.signature)?;
        if a.device_id != request.card.device_id || a.request_proof != request.proof {
            return Err(sync_err("the pairing answer is for another request"));
        }
        if pair_proof(code, &a.card)? != a.proof {
            return Err(sync_err(
                "the office does not prove the pairing code: do not pin this card",
            ));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------------------
// Holdings
// ---------------------------------------------------------------------------------------------------------

/// `kind` of a [`Holdings`].
pub const HOLDINGS_KIND: &str = "outreach-kit/holdings";

/// An envelope the office set aside (never stored as accepted) with the check that refused it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quarantined {
    /// Its seq.
    pub seq: u64,
    /// Its header hash.
    pub hash: String,
    /// Why (`envelope_signature`, `decrypt`, `equivocation`, …).
    pub reason: CheckKind,
}

/// Checks that `ranges` is compact: each `from ≤ to` within 1..=2⁵³−1, ascending, neither overlapping nor
/// touching (`next.from > to + 1`).
fn check_ranges(ranges: &[[u64; 2]]) -> Result<(), ProtocolError> {
    let mut last: Option<u64> = None;
    for [from, to] in ranges {
        check_seq("held seq", *from)?;
        check_seq("held seq", *to)?;
        if from > to {
            return Err(sync_err(format!("held range [{from},{to}] is reversed")));
        }
        if let Some(l) = last {
            if *from <= l + 1 {
                return Err(sync_err(format!(
                    "held range [{from},{to}] overlaps or touches the previous one (ranges must be sorted and merged)"
                )));
            }
        }
        last = Some(*to);
    }
    Ok(())
}

/// Office → field: what the office holds of one device, so the field sends only what is missing. Signed by
/// the office (context `outreach-kit/v1/holdings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Holdings {
    /// Always [`HOLDINGS_KIND`].
    pub kind: String,
    /// Protocol version, 1.
    pub v: u32,
    /// The office (signer).
    pub office_id: DeviceId,
    /// The field device described.
    pub device_id: DeviceId,
    /// The highest held envelope, or `null` when none is held.
    pub head: Option<ChainHead>,
    /// Held seqs as inclusive ranges `[from, to]`, ascending, merged.
    pub held: Vec<[u64; 2]>,
    /// Envelopes set aside, ascending by (seq, hash).
    pub quarantined: Vec<Quarantined>,
    /// RFC 3339 time of the answer.
    pub as_of: String,
    /// The device's status at the office.
    pub device_status: DeviceStatus,
}

impl Holdings {
    /// Compacts any list of seqs into sorted, merged inclusive ranges.
    pub fn ranges_of(seqs: &[u64]) -> Vec<[u64; 2]> {
        let mut s = seqs.to_vec();
        s.sort_unstable();
        s.dedup();
        let mut out: Vec<[u64; 2]> = Vec::new();
        for x in s {
            match out.last_mut() {
                Some(r) if r[1].checked_add(1) == Some(x) => r[1] = x,
                _ => out.push([x, x]),
            }
        }
        out
    }

    /// Kind, version, ranges, head (null exactly when nothing is held, else the top of the last range),
    /// quarantine list, time.
    pub fn check_form(&self) -> Result<(), ProtocolError> {
        check_kind_v(&self.kind, HOLDINGS_KIND, self.v)?;
        check_ranges(&self.held)?;
        match (&self.head, self.held.last()) {
            (None, None) => {}
            (Some(h), Some([_, to])) if h.seq == *to => check_hash("head hash", &h.hash)?,
            _ => {
                return Err(sync_err(
                    "head must be the highest held envelope (null when nothing is held)",
                ))
            }
        }
        check_quarantine_order(self.quarantined.iter().map(|q| (q.seq, q.hash.as_str())))?;
        parse_timestamp(&self.as_of)?;
        Ok(())
    }

    /// Whether the office holds envelope `seq`.
    pub fn holds(&self, seq: u64) -> bool {
        let i = self.held.partition_point(|r| r[1] < seq);
        self.held.get(i).is_some_and(|r| r[0] <= seq)
    }

    /// What the field must send: each of `local_seqs` the office neither holds nor has quarantined, sorted,
    /// without repeats. (A quarantined envelope is not sent again: the same bytes would meet the same
    /// refusal; the field shows the reason instead.)
    pub fn missing(&self, local_seqs: &[u64]) -> Vec<u64> {
        let mut out: Vec<u64> = local_seqs
            .iter()
            .copied()
            .filter(|s| !self.holds(*s) && !self.quarantined.iter().any(|q| q.seq == *s))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

fn check_quarantine_order<'a>(
    items: impl Iterator<Item = (u64, &'a str)>,
) -> Result<(), ProtocolError> {
    let mut last: Option<(u64, &str)> = None;
    for (seq, hash) in items {
        check_seq("quarantined seq", seq)?;
        check_hash("quarantined hash", hash)?;
        if let Some(l) = last {
            if (seq, hash) <= l {
                return Err(sync_err(
                    "quarantined entries must be sorted by (seq, hash) without repeats",
                ));
            }
        }
        last = Some((seq, hash));
    }
    Ok(())
}

signed_message!(
    /// [`Holdings`] with the office signature (context `outreach-kit/v1/holdings`).
    SignedHoldings,
    holdings,
    Holdings,
    Context::Holdings
);

impl SignedHoldings {
    /// Form, `office_id` is the id of `office`, signature.
    pub fn verify(&self, office: &DevicePublicKey) -> Result<(), ProtocolError> {
        self.holdings.check_form()?;
        check_device(&self.holdings.office_id, office)?;
        office.verify_value(Context::Holdings, &self.holdings, &self.signature)
    }
}

// ---------------------------------------------------------------------------------------------------------
// Office TLS: the office's HTTPS certificate authority, signed with the office key
// ---------------------------------------------------------------------------------------------------------

/// `kind` of an [`OfficeTls`].
pub const OFFICE_TLS_KIND: &str = "outreach-kit/office-tls";

/// Largest certificate an [`OfficeTls`] carries (DER bytes).
pub const MAX_TLS_CERT_BYTES: usize = 8192;

/// Office → field: "my HTTPS listener is on this port, and its certificates chain to this CA". Signed by the
/// office key (context `outreach-kit/v1/office-tls`), so a field hub that pinned the office key at pairing
/// pins exactly this CA, whichever address answered; a fake office cannot substitute its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficeTls {
    /// Always [`OFFICE_TLS_KIND`].
    pub kind: String,
    /// Protocol version, 1.
    pub v: u32,
    /// The office (signer).
    pub office_id: DeviceId,
    /// DER of the office's CA certificate, lower-case hex.
    pub ca_cert: String,
    /// The port of the office's HTTPS listener, or `null` when it serves no HTTPS.
    pub https_port: Option<u16>,
    /// RFC 3339 time of the statement.
    pub issued_at: String,
}

impl OfficeTls {
    /// Kind, version, a certificate of 1..=8192 bytes in lower-case hex, a non-zero port, time.
    pub fn check_form(&self) -> Result<(), ProtocolError> {
        check_kind_v(&self.kind, OFFICE_TLS_KIND, self.v)?;
        let der = self.ca_der()?;
        if der.is_empty() || der.len() > MAX_TLS_CERT_BYTES {
            return Err(sync_err(format!(
                "ca_cert must hold 1 to {MAX_TLS_CERT_BYTES} bytes"
            )));
        }
        if self.https_port == Some(0) {
            return Err(sync_err("https_port must not be 0"));
        }
        parse_timestamp(&self.issued_at)?;
        Ok(())
    }

    /// The CA certificate's DER bytes.
    pub fn ca_der(&self) -> Result<Vec<u8>, ProtocolError> {
        if self.ca_cert.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(sync_err("ca_cert must be lower-case hex"));
        }
        hex::decode(&self.ca_cert).map_err(|_| sync_err("ca_cert is not hex"))
    }

    /// SHA-256 of the CA certificate's DER, lower-case hex.
    pub fn ca_sha256(&self) -> Result<String, ProtocolError> {
        Ok(crate::sha256_hex(&self.ca_der()?))
    }
}

signed_message!(
    /// [`OfficeTls`] with the office signature (context `outreach-kit/v1/office-tls`).
    SignedOfficeTls,
    tls,
    OfficeTls,
    Context::OfficeTls
);

impl SignedOfficeTls {
    /// Form, `office_id` is the id of `office`, signature.
    pub fn verify(&self, office: &DevicePublicKey) -> Result<(), ProtocolError> {
        self.tls.check_form()?;
        check_device(&self.tls.office_id, office)?;
        office.verify_value(Context::OfficeTls, &self.tls, &self.signature)
    }
}

// ---------------------------------------------------------------------------------------------------------
// Sync hello: a paired device proves itself to open a sync session
// ---------------------------------------------------------------------------------------------------------

/// `kind` of a [`SyncHello`].
pub const SYNC_HELLO_KIND: &str = "outreach-kit/sync-hello";

/// Bytes of a sync challenge drawn by the office.
pub const SYNC_CHALLENGE_BYTES: usize = 32;

/// Field → office: "I am this paired device, answering your fresh challenge". Signed by the field device
/// key (context `outreach-kit/v1/sync-hello`). The office answers with a short-lived session token that every
/// later sync request of the session carries, so nothing about a device (its holdings, its news) is told to
/// anyone who merely knows its device id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncHello {
    /// Always [`SYNC_HELLO_KIND`].
    pub kind: String,
    /// Protocol version, 1.
    pub v: u32,
    /// The field device (signer).
    pub device_id: DeviceId,
    /// The office it speaks to (its pinned office's device id).
    pub office_id: DeviceId,
    /// The office's challenge, 32 bytes as lower-case hex, echoed.
    pub challenge: String,
    /// RFC 3339 time by the field's clock (informative only: field clocks drift).
    pub said_at: String,
}

impl SyncHello {
    /// A hello from `device_id` to `office_id` answering `challenge`.
    pub fn new(
        device_id: DeviceId,
        office_id: DeviceId,
        challenge: String,
        said_at: String,
    ) -> Result<SyncHello, ProtocolError> {
        let h = SyncHello {
            kind: SYNC_HELLO_KIND.into(),
            v: crate::PROTOCOL_VERSION,
            device_id,
            office_id,
            challenge,
            said_at,
        };
        h.check_form()?;
        Ok(h)
    }

    /// Kind, version, challenge form (64 lower-case hex characters), time.
    pub fn check_form(&self) -> Result<(), ProtocolError> {
        check_kind_v(&self.kind, SYNC_HELLO_KIND, self.v)?;
        if self.challenge.len() != 2 * SYNC_CHALLENGE_BYTES
            || !self
                .challenge
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(ProtocolError::BadHex(
                "challenge must be 64 lower-case hex characters".into(),
            ));
        }
        parse_timestamp(&self.said_at)?;
        Ok(())
    }
}

signed_message!(
    /// A [`SyncHello`] with the field device signature (context `outreach-kit/v1/sync-hello`).
    SignedSyncHello,
    hello,
    SyncHello,
    Context::SyncHello
);

impl SignedSyncHello {
    /// Form, `device_id` is the id of `device` (the pinned key), `office_id` is `office`, the signature.
    /// The caller checks that the challenge is one it issued, unspent and unexpired.
    pub fn verify(&self, device: &DevicePublicKey, office: &DeviceId) -> Result<(), ProtocolError> {
        self.hello.check_form()?;
        check_device(&self.hello.device_id, device)?;
        if &self.hello.office_id != office {
            return Err(sync_err("this hello is addressed to another office"));
        }
        device.verify_value(Context::SyncHello, &self.hello, &self.signature)
    }
}

// ---------------------------------------------------------------------------------------------------------
// Manifest first, then chunks
// ---------------------------------------------------------------------------------------------------------

/// Largest chunk of a ciphertext in one request: 256 KiB.
pub const MAX_CHUNK_BYTES: u64 = 256 * 1024;

/// Every ciphertext a manifest announces (each envelope's payload, then its blobs), in manifest order. The
/// office accepts chunks only of these.
pub fn manifest_blobs(manifest: &BatchManifest) -> Vec<BlobRef> {
    manifest
        .envelopes
        .iter()
        .flat_map(|e| std::iter::once(e.payload.clone()).chain(e.blobs.iter().cloned()))
        .collect()
}

/// The range of the next chunk to send: `(offset, len)` starting at `held_offset` (the bytes the office
/// acknowledges holding), at most `max_chunk` long; `None` when the office holds everything (or `max_chunk`
/// is 0).
pub fn next_chunk(total_len: u64, held_offset: u64, max_chunk: u64) -> Option<(u64, u64)> {
    if held_offset >= total_len || max_chunk == 0 {
        return None;
    }
    Some((held_offset, (total_len - held_offset).min(max_chunk)))
}

/// One chunk of a ciphertext: bytes `offset .. offset + len` of the blob named by `sha256`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkPut {
    /// SHA-256 of the whole ciphertext (a [`BlobRef`] of the manifest).
    pub sha256: String,
    /// Where the chunk starts.
    pub offset: u64,
    /// Its length, 1..=[`MAX_CHUNK_BYTES`].
    pub len: u64,
}

/// What the office does with a chunk, given how many bytes of the blob it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkDecision {
    /// `offset` is the held length: append (the blob now holds `offset + len` bytes).
    Append,
    /// The chunk ends at or before the held length: already held, answer success (idempotent retry).
    AlreadyHeld,
    /// The chunk starts after the held length or straddles it: refuse and tell the field `held`.
    Resume {
        /// Bytes held: the offset the field must resume from.
        held: u64,
    },
}

impl ChunkPut {
    /// Hash form, `1 ≤ len ≤ MAX_CHUNK_BYTES`, `offset + len ≤ 2⁵³−1`.
    pub fn check_form(&self) -> Result<(), ProtocolError> {
        check_hash("chunk sha256", &self.sha256)?;
        if self.len == 0 || self.len > MAX_CHUNK_BYTES {
            return Err(sync_err(format!(
                "a chunk is 1 to {MAX_CHUNK_BYTES} bytes, not {}",
                self.len
            )));
        }
        match self.offset.checked_add(self.len) {
            Some(end) if end <= crate::MAX_INTEGER => Ok(()),
            _ => Err(sync_err("chunk end is above 2^53-1")),
        }
    }

    /// Decides a chunk for `blob` (which must be announced by a manifest, and whose name must be this
    /// chunk's) when the office holds `held` bytes of it. Errors: malformed chunk, another blob, a chunk
    /// past the blob's end, or a `len` that differs from the bytes actually received (`body_len`).
    pub fn decide(
        &self,
        blob: &BlobRef,
        held: u64,
        body_len: u64,
    ) -> Result<ChunkDecision, ProtocolError> {
        self.check_form()?;
        if self.sha256 != blob.sha256 {
            return Err(sync_err("the chunk names another blob"));
        }
        if body_len != self.len {
            return Err(sync_err(format!(
                "the chunk says {} bytes but {body_len} arrived",
                self.len
            )));
        }
        let end = self.offset + self.len;
        if end > blob.len {
            return Err(sync_err(format!(
                "the chunk ends at {end}, past the blob's {} bytes",
                blob.len
            )));
        }
        Ok(if end <= held {
            ChunkDecision::AlreadyHeld
        } else if self.offset == held {
            ChunkDecision::Append
        } else {
            ChunkDecision::Resume { held }
        })
    }
}

// ---------------------------------------------------------------------------------------------------------
// Acknowledgement
// ---------------------------------------------------------------------------------------------------------

/// `kind` of an [`Ack`].
pub const ACK_KIND: &str = "outreach-kit/ack";
/// Longest `detail` of a quarantine entry, in characters.
pub const MAX_DETAIL_CHARS: usize = 500;

/// An envelope the office stored and verified.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AckedEnvelope {
    /// Its seq.
    pub seq: u64,
    /// Its header hash.
    pub hash: String,
}

/// An envelope of the batch that was set aside, with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuarantineEntry {
    /// Its seq.
    pub seq: u64,
    /// Its header hash (as offered).
    pub hash: String,
    /// The check that refused it.
    pub reason: CheckKind,
    /// English explanation, 1..=500 characters.
    pub detail: String,
}

/// Two different headers for one (device, seq): an alarm on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Equivocation {
    /// The seq.
    pub seq: u64,
    /// The hash the office held first (and keeps).
    pub held_hash: String,
    /// The different hash offered now.
    pub offered_hash: String,
}

/// Office → field: what the office verified and stored of one batch. Signed by the office signing key
/// (context `outreach-kit/v1/ack`). The field marks a dossier uploaded only when an ack covers its envelope
/// with the same header hash ([`Ack::covers`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ack {
    /// Always [`ACK_KIND`].
    pub kind: String,
    /// Protocol version, 1.
    pub v: u32,
    /// The office (signer).
    pub office_id: DeviceId,
    /// The field device.
    pub device_id: DeviceId,
    /// The manifest's `batch_id`.
    pub batch_id: String,
    /// Stored and verified (now, or already before), ascending by seq, one entry per seq.
    pub acked: Vec<AckedEnvelope>,
    /// Set aside, ascending by (seq, hash).
    pub quarantined: Vec<QuarantineEntry>,
    /// Equivocations found, ascending by seq.
    pub equivocations: Vec<Equivocation>,
    /// Seqs the manifest announced that the office still lacks (bytes not all received), ascending.
    pub missing: Vec<u64>,
    /// RFC 3339 time of the acknowledgement.
    pub acked_at: String,
}

impl Ack {
    /// Kind, version, batch id, ordering and disjointness of the lists, hashes, detail text, time.
    pub fn check_form(&self) -> Result<(), ProtocolError> {
        check_kind_v(&self.kind, ACK_KIND, self.v)?;
        check_uuid("batch_id", &self.batch_id)?;
        let mut last = 0u64;
        for a in &self.acked {
            check_seq("acked seq", a.seq)?;
            check_hash("acked hash", &a.hash)?;
            if a.seq <= last {
                return Err(sync_err(
                    "acked entries must be ascending by seq, one per seq",
                ));
            }
            last = a.seq;
        }
        check_quarantine_order(self.quarantined.iter().map(|q| (q.seq, q.hash.as_str())))?;
        for q in &self.quarantined {
            check_text("quarantine detail", &q.detail, MAX_DETAIL_CHARS, false)?;
            if self.covers(q.seq, &q.hash) {
                return Err(sync_err(format!(
                    "envelope {} is both acknowledged and quarantined",
                    q.seq
                )));
            }
        }
        let mut last = 0u64;
        for e in &self.equivocations {
            check_seq("equivocation seq", e.seq)?;
            check_hash("held_hash", &e.held_hash)?;
            check_hash("offered_hash", &e.offered_hash)?;
            if e.held_hash == e.offered_hash {
                return Err(sync_err("an equivocation has two different hashes"));
            }
            if e.seq <= last {
                return Err(sync_err("equivocations must be ascending by seq"));
            }
            last = e.seq;
        }
        let mut last = 0u64;
        for s in &self.missing {
            check_seq("missing seq", *s)?;
            if *s <= last {
                return Err(sync_err("missing seqs must be ascending without repeats"));
            }
            if self.acked.binary_search_by_key(s, |a| a.seq).is_ok() {
                return Err(sync_err(format!(
                    "envelope {s} is both acknowledged and missing"
                )));
            }
            last = *s;
        }
        parse_timestamp(&self.acked_at)?;
        Ok(())
    }

    /// True when envelope `seq` is acknowledged with exactly header hash `hash`: the only condition under
    /// which the field marks it uploaded.
    pub fn covers(&self, seq: u64, hash: &str) -> bool {
        self.acked
            .binary_search_by_key(&seq, |a| a.seq)
            .is_ok_and(|i| self.acked[i].hash == hash)
    }
}

signed_message!(
    /// An [`Ack`] with the office signature (context `outreach-kit/v1/ack`).
    SignedAck,
    ack,
    Ack,
    Context::Ack
);

impl SignedAck {
    /// Form, `office_id` is the id of `office`, signature.
    pub fn verify(&self, office: &DevicePublicKey) -> Result<(), ProtocolError> {
        self.ack.check_form()?;
        check_device(&self.ack.office_id, office)?;
        office.verify_value(Context::Ack, &self.ack, &self.signature)
    }

    /// [`SignedAck::verify`], then that the ack answers `manifest` (same device and batch id).
    pub fn verify_for(
        &self,
        office: &DevicePublicKey,
        manifest: &BatchManifest,
    ) -> Result<(), ProtocolError> {
        self.verify(office)?;
        if self.ack.device_id != manifest.device_id || self.ack.batch_id != manifest.batch_id {
            return Err(sync_err("the acknowledgement is for another batch"));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------------------
// News
// ---------------------------------------------------------------------------------------------------------

/// `kind` of a [`News`].
pub const NEWS_KIND: &str = "outreach-kit/news";
/// `kind` of a [`NewsBatch`].
pub const NEWS_BATCH_KIND: &str = "outreach-kit/news-batch";
/// Longest note of a news item, in characters.
pub const MAX_NOTE_CHARS: usize = 500;
/// Longest short text (paper, place, result kind or number, reason), in characters.
pub const MAX_NEWS_TEXT_CHARS: usize = 200;
/// Most items in one list of a news status (papers, result numbers).
pub const MAX_NEWS_LIST: usize = 50;

/// A number the registration produced (e.g. the birth certificate's book number, the child's PIN).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultNumber {
    /// What it is, e.g. `birth_registration`, `pin`, `health_insurance`.
    pub kind: String,
    /// The number as written.
    pub number: String,
}

/// Where a dossier stands at the office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum NewsStatus {
    /// Received, verified and stored.
    ReceivedVerified,
    /// The office needs more papers.
    NeedsPapers {
        /// Which papers, in plain words.
        papers: Vec<String>,
    },
    /// Registered; the result numbers.
    Registered {
        /// The numbers the registration produced.
        result_numbers: Vec<ResultNumber>,
    },
    /// The result is ready to be picked up.
    ReadyForPickup {
        /// Where.
        place: String,
        /// From which day, `YYYY-MM-DD`.
        from_date: String,
        /// Until which day, or `null`.
        until_date: Option<String>,
    },
    /// Rejected.
    Rejected {
        /// Why, in plain words.
        reason: String,
    },
}

impl NewsStatus {
    /// The stable code of the status.
    pub fn code(&self) -> &'static str {
        match self {
            NewsStatus::ReceivedVerified => "received_verified",
            NewsStatus::NeedsPapers { .. } => "needs_papers",
            NewsStatus::Registered { .. } => "registered",
            NewsStatus::ReadyForPickup { .. } => "ready_for_pickup",
            NewsStatus::Rejected { .. } => "rejected",
        }
    }

    fn check_form(&self) -> Result<(), ProtocolError> {
        let list = |n: usize, what: &str| {
            if n == 0 || n > MAX_NEWS_LIST {
                Err(sync_err(format!("{what}: 1 to {MAX_NEWS_LIST} entries")))
            } else {
                Ok(())
            }
        };
        match self {
            NewsStatus::ReceivedVerified => Ok(()),
            NewsStatus::NeedsPapers { papers } => {
                list(papers.len(), "papers")?;
                papers
                    .iter()
                    .try_for_each(|p| check_text("paper", p, MAX_NEWS_TEXT_CHARS, false))
            }
            NewsStatus::Registered { result_numbers } => {
                list(result_numbers.len(), "result_numbers")?;
                result_numbers.iter().try_for_each(|r| {
                    check_text("result kind", &r.kind, MAX_NEWS_TEXT_CHARS, false)?;
                    check_text("result number", &r.number, MAX_NEWS_TEXT_CHARS, false)
                })
            }
            NewsStatus::ReadyForPickup {
                place,
                from_date,
                until_date,
            } => {
                check_text("place", place, MAX_NEWS_TEXT_CHARS, false)?;
                let from = crate::validate::parse_date(from_date)
                    .ok_or_else(|| sync_err(format!("{from_date:?} is not a date")))?;
                if let Some(u) = until_date {
                    let until = crate::validate::parse_date(u)
                        .ok_or_else(|| sync_err(format!("{u:?} is not a date")))?;
                    if until < from {
                        return Err(sync_err("until_date is before from_date"));
                    }
                }
                Ok(())
            }
            NewsStatus::Rejected { reason } => check_text("reason", reason, MAX_NOTE_CHARS, true),
        }
    }
}

/// Office → field: status news of one dossier. Each item is signed on its own by the office (context
/// `outreach-kit/v1/news`), so the field can store, forward and re-verify items one by one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct News {
    /// Always [`NEWS_KIND`].
    pub kind: String,
    /// Protocol version, 1.
    pub v: u32,
    /// The office (signer).
    pub office_id: DeviceId,
    /// UUID of this news item.
    pub news_id: String,
    /// The field device it is for.
    pub device_id: DeviceId,
    /// Per (office, field device), 1, 2, 3…: the field pulls "news after seq N".
    pub seq: u64,
    /// The villager's receipt code.
    pub receipt_code: ReceiptCode,
    /// The dossier's id.
    pub dossier_id: String,
    /// The status.
    pub status: NewsStatus,
    /// A note for the villager, or `null`.
    pub note: Option<String>,
    /// RFC 3339 time of publication.
    pub published_at: String,
}

impl News {
    /// Kind, version, ids, seq, status rules, note, time.
    pub fn check_form(&self) -> Result<(), ProtocolError> {
        check_kind_v(&self.kind, NEWS_KIND, self.v)?;
        check_uuid("news_id", &self.news_id)?;
        check_uuid("dossier_id", &self.dossier_id)?;
        check_seq("news seq", self.seq)?;
        self.status.check_form()?;
        if let Some(n) = &self.note {
            check_text("note", n, MAX_NOTE_CHARS, true)?;
        }
        parse_timestamp(&self.published_at)?;
        Ok(())
    }
}

signed_message!(
    /// A [`News`] item with the office signature (context `outreach-kit/v1/news`).
    SignedNews,
    news,
    News,
    Context::News
);

impl SignedNews {
    /// Form, `office_id` is the id of `office`, signature.
    pub fn verify(&self, office: &DevicePublicKey) -> Result<(), ProtocolError> {
        self.news.check_form()?;
        check_device(&self.news.office_id, office)?;
        office.verify_value(Context::News, &self.news, &self.signature)
    }
}

/// The answer to "news after seq `after`": unsigned transport; every item carries its own signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewsBatch {
    /// Always [`NEWS_BATCH_KIND`].
    pub kind: String,
    /// Protocol version, 1.
    pub v: u32,
    /// The seq the field asked after (0 for everything).
    pub after: u64,
    /// Items, seq strictly ascending, each above `after`, all for one device from one office.
    pub items: Vec<SignedNews>,
    /// `true` when the office has more items after the last one (pull again).
    pub more: bool,
}

impl NewsBatch {
    /// Kind, version, every item's form, ordering, one device and office.
    pub fn check_form(&self) -> Result<(), ProtocolError> {
        check_kind_v(&self.kind, NEWS_BATCH_KIND, self.v)?;
        if self.after > crate::MAX_INTEGER {
            return Err(sync_err("after is above 2^53-1"));
        }
        let mut last = self.after;
        for i in &self.items {
            i.news.check_form()?;
            if i.news.seq <= last {
                return Err(sync_err(
                    "news items must be ascending by seq, all after `after`",
                ));
            }
            last = i.news.seq;
            let first = &self.items[0].news;
            if i.news.device_id != first.device_id || i.news.office_id != first.office_id {
                return Err(sync_err("a news batch is for one device from one office"));
            }
        }
        if self.more && self.items.is_empty() {
            return Err(sync_err("an empty news batch cannot announce more"));
        }
        Ok(())
    }

    /// Parses canonical bytes and checks the form (not the signatures).
    pub fn from_bytes(bytes: &[u8]) -> Result<NewsBatch, ProtocolError> {
        let b: NewsBatch = parse_canonical(bytes)?;
        b.check_form()?;
        Ok(b)
    }

    /// Form, then every item's signature by `office` and that every item is for `device`.
    pub fn verify(&self, office: &DevicePublicKey, device: &DeviceId) -> Result<(), ProtocolError> {
        self.check_form()?;
        for i in &self.items {
            i.verify(office)?;
            if &i.news.device_id != device {
                return Err(sync_err("news for another device"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::sha256_hex;

    const RECIPIENT: &str = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj";
    const T: &str = "2026-11-23T08:15:00Z";

    fn field_key() -> DeviceKey {
        DeviceKey::from_seed([1; 32])
    }
    fn office_key() -> DeviceKey {
        DeviceKey::from_seed([2; 32])
    }
    fn card(key: &DeviceKey, mode: HubMode) -> KeyCard {
        KeyCard::new(key, mode, "Hub".into(), RECIPIENT.into(), T.into()).unwrap()
    }
    fn code() -> PairingCode {
        PairingCode::from_bytes([7, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    }
    fn h(s: &str) -> String {
        sha256_hex(s.as_bytes())
    }

    fn holdings() -> Holdings {
        Holdings {
            kind: HOLDINGS_KIND.into(),
            v: 1,
            office_id: office_key().public().device_id(),
            device_id: field_key().public().device_id(),
            head: Some(ChainHead {
                seq: 7,
                hash: h("7"),
            }),
            held: vec![[1, 3], [5, 7]],
            quarantined: vec![Quarantined {
                seq: 4,
                hash: h("4"),
                reason: CheckKind::EnvelopeSignature,
            }],
            as_of: T.into(),
            device_status: DeviceStatus::Approved,
        }
    }

    #[test]
    fn sync_hello_binds_device_office_and_challenge() {
        let office_id = office_key().public().device_id();
        let hello = SyncHello::new(
            field_key().public().device_id(),
            office_id.clone(),
            "ab".repeat(32),
            T.into(),
        )
        .unwrap();
        let signed = SignedSyncHello::sign(hello.clone(), &field_key()).unwrap();
        signed.verify(&field_key().public(), &office_id).unwrap();
        let back = SignedSyncHello::from_bytes(&signed.to_bytes().unwrap()).unwrap();
        assert_eq!(back, signed);
        // Another office, another key, a changed challenge, a malformed challenge: refused.
        assert!(signed
            .verify(&field_key().public(), &field_key().public().device_id())
            .is_err());
        assert!(signed.verify(&office_key().public(), &office_id).is_err());
        let mut changed = signed.clone();
        changed.hello.challenge = "cd".repeat(32);
        assert!(changed.verify(&field_key().public(), &office_id).is_err());
        let mut bad = hello;
        bad.challenge = "AB".repeat(32);
        assert!(bad.check_form().is_err());
        assert!(SyncHello::new(
            field_key().public().device_id(),
            office_id,
            "ab".into(),
            T.into()
        )
        .is_err());
    }

    fn ack() -> Ack {
        Ack {
            kind: ACK_KIND.into(),
            v: 1,
            office_id: office_key().public().device_id(),
            device_id: field_key().public().device_id(),
            batch_id: "0193a5b2-7c4e-7d10-8f00-0000000000b1".into(),
            acked: vec![
                AckedEnvelope {
                    seq: 1,
                    hash: h("1"),
                },
                AckedEnvelope {
                    seq: 2,
                    hash: h("2"),
                },
            ],
            quarantined: vec![QuarantineEntry {
                seq: 3,
                hash: h("3b"),
                reason: CheckKind::Equivocation,
                detail: "another envelope 3 is held".into(),
            }],
            equivocations: vec![Equivocation {
                seq: 3,
                held_hash: h("3"),
                offered_hash: h("3b"),
            }],
            missing: vec![4],
            acked_at: T.into(),
        }
    }

    fn news(seq: u64, status: NewsStatus) -> News {
        News {
            kind: NEWS_KIND.into(),
            v: 1,
            office_id: office_key().public().device_id(),
            news_id: format!("0193a5b2-7c4e-7d10-8f00-00000000000{seq}"),
            device_id: field_key().public().device_id(),
            seq,
            receipt_code: ReceiptCode::from_entropy([1, 2, 3, 4, 5]),
            dossier_id: "019a9f3e-6c00-7000-8000-000000000001".into(),
            status,
            note: Some("Mang theo bản chính giấy khai sinh.".into()),
            published_at: T.into(),
        }
    }

    fn request() -> PairRequest {
        PairRequest::new(card(&field_key(), HubMode::Field), &code(), T.into()).unwrap()
    }

    // ---- pairing code and QR

    #[test]
    fn pairing_code_display_parse_lenient() {
        let c = code();
        let shown = c.to_string();
        assert_eq!(shown.len(), 21);
        assert_eq!(PairingCode::parse(&shown).unwrap(), c);
        assert_eq!(
            PairingCode::parse(&shown.to_lowercase().replace('-', " ")).unwrap(),
            c
        );
        assert_eq!(
            PairingCode::parse(&shown.replace('0', "o").replace('1', "l")).unwrap(),
            c
        );
        assert_eq!(format!("{c:?}"), "PairingCode(…)");
        let zero = PairingCode::from_bytes([0; 10]);
        assert_eq!(zero.to_string(), "0000-0000-0000-0000-0");
        let max = PairingCode::from_bytes([0xff; 10]);
        assert_eq!(PairingCode::parse(&max.to_string()).unwrap(), max);
    }

    #[test]
    fn pairing_code_errors_are_clear() {
        let shown = code().to_string();
        let mut chars: Vec<char> = shown.chars().collect();
        let last = chars.len() - 1;
        chars[last] = if chars[last] == 'X' { 'Y' } else { 'X' };
        let typo: String = chars.iter().collect();
        let e = PairingCode::parse(&typo).unwrap_err().to_string();
        assert!(e.contains("check symbol does not match"), "{e}");
        assert!(PairingCode::parse("ABCD")
            .unwrap_err()
            .to_string()
            .contains("17 symbols"));
        assert!(
            PairingCode::parse(&shown.replacen(|c: char| c.is_ascii_alphanumeric(), "U", 1))
                .unwrap_err()
                .to_string()
                .contains("position 1")
        );
        // Swapping two adjacent distinct data symbols is caught.
        let compact = code().compact();
        let b = compact.as_bytes();
        let i = (0..15).find(|i| b[*i] != b[i + 1]).unwrap();
        let mut s = b.to_vec();
        s.swap(i, i + 1);
        assert!(PairingCode::parse(std::str::from_utf8(&s).unwrap()).is_err());
    }

    #[test]
    fn pairing_qr_round_trip_and_rules() {
        let qr = PairingQr::new("https://office.local:8443".into(), code()).unwrap();
        let text = qr.to_text();
        assert!(text.starts_with("OKP1:https://office.local:8443#"));
        assert_eq!(PairingQr::parse(&text).unwrap(), qr);
        assert_eq!(
            PairingQr::parse(&text.to_lowercase().replace("okp1:", "OKP1:")).unwrap(),
            qr
        );
        for bad in [
            "https://x#AAAA",
            "OKP2:https://x#".to_string().as_str(),
            "OKP1:ftp://x#0000-0000-0000-0000-0",
            "OKP1:https://#0000-0000-0000-0000-0",
            "OKP1:https://a b#0000-0000-0000-0000-0",
            "OKP1:https://u@x#0000-0000-0000-0000-0",
            "OKP1:https://x",
        ] {
            assert!(PairingQr::parse(bad).is_err(), "{bad}");
        }
        let long = format!("https://{}", "a".repeat(MAX_PAIRING_URL_BYTES));
        assert!(matches!(
            PairingQr::new(long, code()),
            Err(ProtocolError::BadPairingQr(_))
        ));
    }

    // ---- office TLS

    #[test]
    fn office_tls_is_pinned_only_under_the_office_key() {
        let office = office_key();
        let tls = OfficeTls {
            kind: OFFICE_TLS_KIND.into(),
            v: 1,
            office_id: office.public().device_id(),
            ca_cert: hex::encode([0x30u8, 0x82, 0x01, 0x0a]),
            https_port: Some(8443),
            issued_at: "2026-12-07T02:00:00Z".into(),
        };
        let signed = SignedOfficeTls::sign(tls.clone(), &office).unwrap();
        let bytes = signed.to_bytes().unwrap();
        let back = SignedOfficeTls::from_bytes(&bytes).unwrap();
        back.verify(&office.public()).unwrap();
        assert_eq!(back.tls.ca_der().unwrap(), vec![0x30, 0x82, 0x01, 0x0a]);
        // A fake office signs its own CA with its own key: the pinned office key refuses it.
        let fake = SignedOfficeTls::sign(tls.clone(), &field_key()).unwrap();
        assert!(fake.verify(&office.public()).is_err());
        // Swapping the certificate under the real signature breaks it.
        let mut swapped = signed.clone();
        swapped.tls.ca_cert = hex::encode([0x30u8, 0x82, 0x01, 0x0b]);
        assert!(swapped.verify(&office.public()).is_err());
        for bad in [
            OfficeTls {
                ca_cert: String::new(),
                ..tls.clone()
            },
            OfficeTls {
                ca_cert: "3082010A".into(),
                ..tls.clone()
            },
            OfficeTls {
                https_port: Some(0),
                ..tls.clone()
            },
        ] {
            assert!(SignedOfficeTls::sign(bad, &office).is_err());
        }
    }

    // ---- pairing messages

    #[test]
    fn pair_request_round_trip_and_proof() {
        let signed = SignedPairRequest::sign(request(), &field_key()).unwrap();
        signed.verify_with_code(&code()).unwrap();
        let bytes = signed.to_bytes().unwrap();
        assert_eq!(SignedPairRequest::from_bytes(&bytes).unwrap(), signed);
        let other = PairingCode::from_bytes([9; 10]);
        assert!(matches!(
            signed.verify_with_code(&other),
            Err(ProtocolError::Sync(_))
        ));
        // The proof is not the code in clear.
        let text = String::from_utf8(bytes).unwrap();
        assert!(!text.contains(&code().compact()));
        // Signed by another key than the card's: refused.
        let forged = SignedPairRequest::sign(request(), &office_key()).unwrap();
        assert_eq!(forged.verify(), Err(ProtocolError::BadSignature));
        // An office card in a request is refused.
        let mut r = request();
        r.card = card(&office_key(), HubMode::Office);
        assert!(r.check_form().is_err());
    }

    #[test]
    fn pair_answer_binds_code_and_request() {
        let req = request();
        let office_card = card(&office_key(), HubMode::Office);
        let a = PairAnswer::new(
            office_card.clone(),
            &req,
            &code(),
            DeviceStatus::PendingApproval,
            T.into(),
        )
        .unwrap();
        let signed = SignedPairAnswer::sign(a.clone(), &office_key()).unwrap();
        signed.verify_for(&req, &code()).unwrap();
        assert_eq!(
            SignedPairAnswer::from_bytes(&signed.to_bytes().unwrap()).unwrap(),
            signed
        );
        // A relay that echoes the proof but substitutes its own office card cannot prove the code.
        let relay = DeviceKey::from_seed([3; 32]);
        let mut r = a.clone();
        r.card = card(&relay, HubMode::Office);
        let forged = SignedPairAnswer::sign(r, &relay).unwrap();
        assert!(matches!(
            forged.verify_for(&req, &code()),
            Err(ProtocolError::Sync(_))
        ));
        // Tampered status.
        let mut t = signed.clone();
        t.answer.status = DeviceStatus::Approved;
        assert_eq!(
            t.verify_for(&req, &code()),
            Err(ProtocolError::BadSignature)
        );
        // Another request.
        let other = PairRequest::new(
            card(&DeviceKey::from_seed([4; 32]), HubMode::Field),
            &code(),
            T.into(),
        )
        .unwrap();
        assert!(signed.verify_for(&other, &code()).is_err());
    }

    // ---- holdings

    #[test]
    fn holdings_round_trip_missing_and_form() {
        let signed = SignedHoldings::sign(holdings(), &office_key()).unwrap();
        signed.verify(&office_key().public()).unwrap();
        let bytes = signed.to_bytes().unwrap();
        assert_eq!(SignedHoldings::from_bytes(&bytes).unwrap(), signed);
        let hd = holdings();
        assert!(hd.holds(1) && hd.holds(3) && hd.holds(6) && !hd.holds(4) && !hd.holds(8));
        assert_eq!(hd.missing(&[9, 1, 2, 3, 4, 5, 8, 8, 0]), vec![0, 8, 9]);
        assert_eq!(
            Holdings::ranges_of(&[5, 1, 2, 3, 7, 6, 3]),
            vec![[1, 3], [5, 7]]
        );
        assert_eq!(Holdings::ranges_of(&[]), Vec::<[u64; 2]>::new());
        for held in [
            vec![[1, 3], [4, 7]],
            vec![[5, 7], [1, 3]],
            vec![[3, 1]],
            vec![[0, 7]],
            vec![[1, crate::MAX_INTEGER + 1]],
        ] {
            let mut x = holdings();
            x.head = held.last().map(|r| ChainHead {
                seq: r[1],
                hash: h("x"),
            });
            x.held = held.clone();
            assert!(x.check_form().is_err(), "{held:?}");
        }
        let mut x = holdings();
        x.head = None;
        assert!(x.check_form().is_err());
        x.held.clear();
        x.check_form().unwrap();
        let mut x = holdings();
        x.quarantined.push(x.quarantined[0].clone());
        assert!(x.check_form().is_err());
    }

    #[test]
    fn holdings_signature_and_office_id() {
        let signed = SignedHoldings::sign(holdings(), &office_key()).unwrap();
        let mut t = signed.clone();
        t.holdings.held = vec![[1, 7]];
        assert_eq!(
            t.verify(&office_key().public()),
            Err(ProtocolError::BadSignature)
        );
        assert!(matches!(
            signed.verify(&field_key().public()),
            Err(ProtocolError::DeviceMismatch { .. })
        ));
    }

    // ---- chunks

    #[test]
    fn next_chunk_resumes() {
        assert_eq!(next_chunk(10, 0, 4), Some((0, 4)));
        assert_eq!(next_chunk(10, 8, 4), Some((8, 2)));
        assert_eq!(next_chunk(10, 10, 4), None);
        assert_eq!(next_chunk(10, 12, 4), None);
        assert_eq!(next_chunk(10, 0, 0), None);
        assert_eq!(next_chunk(0, 0, 4), None);
        // Walking the chunks covers the blob exactly once.
        let (mut held, mut n) = (0, 0);
        while let Some((o, l)) = next_chunk(1_000_000, held, MAX_CHUNK_BYTES) {
            assert_eq!(o, held);
            held += l;
            n += 1;
        }
        assert_eq!((held, n), (1_000_000, 4));
    }

    #[test]
    fn chunk_decisions() {
        let blob = BlobRef::of(&[0u8; 1000]);
        let put = |offset, len| ChunkPut {
            sha256: blob.sha256.clone(),
            offset,
            len,
        };
        assert_eq!(put(0, 400).decide(&blob, 0, 400), Ok(ChunkDecision::Append));
        assert_eq!(
            put(400, 600).decide(&blob, 400, 600),
            Ok(ChunkDecision::Append)
        );
        assert_eq!(
            put(0, 400).decide(&blob, 400, 400),
            Ok(ChunkDecision::AlreadyHeld)
        );
        assert_eq!(
            put(0, 400).decide(&blob, 1000, 400),
            Ok(ChunkDecision::AlreadyHeld)
        );
        assert_eq!(
            put(800, 200).decide(&blob, 400, 200),
            Ok(ChunkDecision::Resume { held: 400 })
        );
        assert_eq!(
            put(200, 400).decide(&blob, 400, 400),
            Ok(ChunkDecision::Resume { held: 400 })
        );
        assert!(put(900, 200).decide(&blob, 900, 200).is_err());
        assert!(put(0, 400).decide(&blob, 0, 399).is_err());
        assert!(put(0, 0).decide(&blob, 0, 0).is_err());
        assert!(put(0, MAX_CHUNK_BYTES + 1).check_form().is_err());
        let other = BlobRef::of(b"x");
        assert!(put(0, 1).decide(&other, 0, 1).is_err());
        let mut p = put(u64::MAX, 1);
        assert!(p.check_form().is_err());
        p.sha256 = "ABC".into();
        assert!(p.check_form().is_err());
        let bytes = canonical_bytes(&put(0, 1)).unwrap();
        assert_eq!(parse_canonical::<ChunkPut>(&bytes).unwrap(), put(0, 1));
    }

    #[test]
    fn manifest_blobs_lists_payloads_then_blobs() {
        let e = crate::batch::ManifestEntry {
            seq: 1,
            hash: h("1"),
            payload: BlobRef::of(b"p"),
            blobs: vec![BlobRef::of(b"a"), BlobRef::of(b"b")],
        };
        let m = BatchManifest {
            kind: crate::batch::MANIFEST_KIND.into(),
            v: 1,
            batch_id: "0193a5b2-7c4e-7d10-8f00-0000000000b1".into(),
            device_id: field_key().public().device_id(),
            device_name: "x".into(),
            created_at: T.into(),
            envelopes: vec![e],
            chain_head: ChainHead {
                seq: 1,
                hash: h("1"),
            },
            sessions: Vec::new(),
            sealed_sessions: None,
        };
        assert_eq!(
            manifest_blobs(&m),
            vec![BlobRef::of(b"p"), BlobRef::of(b"a"), BlobRef::of(b"b")]
        );
        let signed = SignedAck::sign(ack(), &office_key()).unwrap();
        let mut m2 = m.clone();
        m2.batch_id = "0193a5b2-7c4e-7d10-8f00-0000000000b2".into();
        assert!(signed.verify_for(&office_key().public(), &m).is_ok());
        assert!(signed.verify_for(&office_key().public(), &m2).is_err());
    }

    // ---- ack

    #[test]
    fn ack_round_trip_covers_and_signature() {
        let signed = SignedAck::sign(ack(), &office_key()).unwrap();
        signed.verify(&office_key().public()).unwrap();
        assert_eq!(
            SignedAck::from_bytes(&signed.to_bytes().unwrap()).unwrap(),
            signed
        );
        let a = &signed.ack;
        assert!(a.covers(1, &h("1")) && a.covers(2, &h("2")));
        assert!(!a.covers(2, &h("1")), "same seq, other hash");
        assert!(!a.covers(3, &h("3b")) && !a.covers(3, &h("3")) && !a.covers(4, &h("4")));
        let mut t = signed.clone();
        t.ack.acked.push(AckedEnvelope {
            seq: 4,
            hash: h("4"),
        });
        t.ack.missing.clear();
        assert_eq!(
            t.verify(&office_key().public()),
            Err(ProtocolError::BadSignature)
        );
        // Signed by the field key: the office id does not match.
        assert!(matches!(
            signed.verify(&field_key().public()),
            Err(ProtocolError::DeviceMismatch { .. })
        ));
    }

    #[test]
    fn ack_form_rules() {
        let cases: Vec<fn(&mut Ack)> = vec![
            |a| a.acked.reverse(),
            |a| a.acked[1].seq = 1,
            |a| a.acked[0].seq = 0,
            |a| a.acked[0].hash = "x".into(),
            |a| a.missing = vec![2],
            |a| a.missing = vec![5, 4],
            |a| a.equivocations[0].offered_hash = h("3"),
            |a| {
                a.quarantined[0].seq = 1;
                a.quarantined[0].hash = h("1");
            },
            |a| a.quarantined[0].detail = String::new(),
            |a| a.quarantined[0].detail = "x\u{7}".into(),
            |a| a.quarantined[0].detail = "x".repeat(501),
            |a| a.batch_id = "not-a-uuid".into(),
            |a| a.acked_at = "yesterday".into(),
            |a| a.kind = "outreach-kit/holdings".into(),
            |a| a.v = 2,
        ];
        for (i, f) in cases.iter().enumerate() {
            let mut a = ack();
            f(&mut a);
            assert!(a.check_form().is_err(), "case {i}");
            assert!(SignedAck::sign(a, &office_key()).is_err(), "case {i}");
        }
        ack().check_form().unwrap();
    }

    // ---- news

    #[test]
    fn news_statuses_round_trip() {
        let statuses = vec![
            NewsStatus::ReceivedVerified,
            NewsStatus::NeedsPapers {
                papers: vec!["Bản sao giấy chứng nhận kết hôn của cha mẹ".into()],
            },
            NewsStatus::Registered {
                result_numbers: vec![ResultNumber {
                    kind: "birth_registration".into(),
                    number: "123/2026".into(),
                }],
            },
            NewsStatus::ReadyForPickup {
                place: "Bộ phận một cửa, UBND xã Bù Đăng".into(),
                from_date: "2026-11-30".into(),
                until_date: None,
            },
            NewsStatus::Rejected {
                reason: "Hồ sơ trùng".into(),
            },
        ];
        for (i, st) in statuses.into_iter().enumerate() {
            let n = news(i as u64 + 1, st.clone());
            let signed = SignedNews::sign(n, &office_key()).unwrap();
            signed.verify(&office_key().public()).unwrap();
            let bytes = signed.to_bytes().unwrap();
            assert_eq!(SignedNews::from_bytes(&bytes).unwrap(), signed);
            let text = String::from_utf8(bytes).unwrap();
            assert!(
                text.contains(&format!("\"kind\":\"{}\"", st.code())),
                "{text}"
            );
        }
    }

    #[test]
    fn news_form_rules() {
        let bad = [
            NewsStatus::NeedsPapers { papers: vec![] },
            NewsStatus::NeedsPapers {
                papers: vec![" padded ".into()],
            },
            NewsStatus::Registered {
                result_numbers: vec![],
            },
            NewsStatus::ReadyForPickup {
                place: "x".into(),
                from_date: "2026-11-30".into(),
                until_date: Some("2026-11-29".into()),
            },
            NewsStatus::ReadyForPickup {
                place: "x".into(),
                from_date: "2026-02-30".into(),
                until_date: None,
            },
            NewsStatus::Rejected {
                reason: String::new(),
            },
        ];
        for st in bad {
            assert!(news(1, st.clone()).check_form().is_err(), "{st:?}");
        }
        let mut n = news(1, NewsStatus::ReceivedVerified);
        n.note = Some("e\u{301}".into());
        assert!(n.check_form().is_err(), "not NFC");
        n.note = Some("x".repeat(501));
        assert!(n.check_form().is_err());
        n.note = None;
        n.check_form().unwrap();
        n.seq = 0;
        assert!(n.check_form().is_err());
        let mut n = news(1, NewsStatus::ReceivedVerified);
        n.news_id = "0193A5B2-7C4E-7D10-8F00-000000000001".into();
        assert!(n.check_form().is_err());
    }

    #[test]
    fn news_batch_rules() {
        let item =
            |seq| SignedNews::sign(news(seq, NewsStatus::ReceivedVerified), &office_key()).unwrap();
        let b = NewsBatch {
            kind: NEWS_BATCH_KIND.into(),
            v: 1,
            after: 2,
            items: vec![item(3), item(5)],
            more: false,
        };
        b.verify(&office_key().public(), &field_key().public().device_id())
            .unwrap();
        let bytes = canonical_bytes(&b).unwrap();
        assert_eq!(NewsBatch::from_bytes(&bytes).unwrap(), b);
        assert!(b
            .verify(&office_key().public(), &office_key().public().device_id())
            .is_err());
        let mut x = b.clone();
        x.after = 3;
        assert!(x.check_form().is_err());
        let mut x = b.clone();
        x.items.reverse();
        assert!(x.check_form().is_err());
        let mut x = b.clone();
        x.items[1].news.note = None;
        x.check_form().unwrap();
        assert_eq!(
            x.verify(&office_key().public(), &field_key().public().device_id()),
            Err(ProtocolError::BadSignature)
        );
        let mut x = b;
        x.items.clear();
        x.more = true;
        assert!(x.check_form().is_err());
    }

    // ---- cross-cutting

    #[test]
    fn non_canonical_and_unknown_members_are_rejected() {
        let signed = SignedAck::sign(ack(), &office_key()).unwrap();
        let text = String::from_utf8(signed.to_bytes().unwrap()).unwrap();
        let pretty = serde_json::to_vec_pretty(&signed).unwrap();
        assert!(SignedAck::from_bytes(&pretty).is_err());
        let mut spaced = text.clone();
        spaced.push('\n');
        assert_eq!(
            SignedAck::from_bytes(spaced.as_bytes()),
            Err(ProtocolError::NotCanonical)
        );
        let extra = text.replacen("{\"ack\":{", "{\"ack\":{\"a\":1,", 1);
        assert!(matches!(
            SignedAck::from_bytes(extra.as_bytes()),
            Err(ProtocolError::Json(_))
        ));
        let hs = SignedHoldings::sign(holdings(), &office_key()).unwrap();
        let t = String::from_utf8(hs.to_bytes().unwrap()).unwrap();
        let extra = t.replacen("\"reason\":", "\"extra\":0,\"reason\":", 1);
        assert!(matches!(
            SignedHoldings::from_bytes(extra.as_bytes()),
            Err(ProtocolError::Json(_))
        ));
        let n = SignedNews::sign(news(1, NewsStatus::ReceivedVerified), &office_key()).unwrap();
        let t = String::from_utf8(n.to_bytes().unwrap()).unwrap();
        let extra = t.replace(
            "{\"kind\":\"received_verified\"}",
            "{\"kind\":\"received_verified\",\"x\":1}",
        );
        assert_ne!(extra, t);
        assert!(SignedNews::from_bytes(extra.as_bytes()).is_err());
        let r = SignedPairRequest::sign(request(), &field_key()).unwrap();
        let t = String::from_utf8(r.to_bytes().unwrap()).unwrap();
        let extra = t.replacen("\"signature\":", "\"sig2\":\"\",\"signature\":", 1);
        assert!(SignedPairRequest::from_bytes(extra.as_bytes()).is_err());
    }

    #[test]
    fn a_signature_of_one_context_never_verifies_as_another() {
        let ok = office_key();
        let a = ack();
        let sig = ok.sign_value(Context::Ack, &a).unwrap();
        for ctx in [
            Context::Holdings,
            Context::News,
            Context::PairAnswer,
            Context::PairRequest,
            Context::BatchManifest,
        ] {
            assert_eq!(
                ok.public().verify_value(ctx, &a, &sig),
                Err(ProtocolError::BadSignature)
            );
            let wrong = SignedAck {
                ack: a.clone(),
                signature: ok.sign_value(ctx, &a).unwrap(),
            };
            assert_eq!(wrong.verify(&ok.public()), Err(ProtocolError::BadSignature));
        }
        let hd = holdings();
        let wrong = SignedHoldings {
            signature: ok.sign_value(Context::News, &hd).unwrap(),
            holdings: hd,
        };
        assert_eq!(wrong.verify(&ok.public()), Err(ProtocolError::BadSignature));
        let n = news(1, NewsStatus::ReceivedVerified);
        let wrong = SignedNews {
            signature: ok.sign_value(Context::Holdings, &n).unwrap(),
            news: n,
        };
        assert_eq!(wrong.verify(&ok.public()), Err(ProtocolError::BadSignature));
        let r = request();
        let wrong = SignedPairRequest {
            signature: field_key().sign_value(Context::KeyCard, &r).unwrap(),
            request: r,
        };
        assert_eq!(wrong.verify(), Err(ProtocolError::BadSignature));
    }

    #[test]
    fn context_strings_are_distinct() {
        let all = [
            Context::Dossier,
            Context::Envelope,
            Context::BatchManifest,
            Context::KeyCard,
            Context::Receipt,
            Context::PairRequest,
            Context::PairAnswer,
            Context::Holdings,
            Context::Ack,
            Context::News,
        ];
        let mut s: Vec<&str> = all.iter().map(|c| c.as_str()).collect();
        s.sort();
        s.dedup();
        assert_eq!(s.len(), all.len());
        assert!(!s.contains(&PAIR_PROOF_CONTEXT));
    }
}
