//! Batch manifests and the office's per-envelope verification, reporting problems with stable check codes.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::canonical::parse_canonical;
use crate::chain::ChainHead;
use crate::envelope::{BlobRef, EnvelopeHeader};
use crate::error::ProtocolError;
use crate::keys::{check_device, Context, DeviceId, DeviceKey, DevicePublicKey, Signature};

/// The `kind` member of every batch manifest.
pub const MANIFEST_KIND: &str = "outreach-kit/batch-manifest";

/// The `kind` member of the sealed session summaries of a manifest (§3.5).
pub const SESSION_SUMMARIES_KIND: &str = "outreach-kit/session-summaries";

/// Batch file format 1 (`batch_meta.format_version = '1'`): session summaries in plaintext in the manifest.
/// Still read by the office; never written since format 2.
pub const BATCH_FORMAT_V1: &str = "1";
/// Batch file format 2: session summaries sealed to the office (`sealed_sessions`); plaintext `sessions`
/// are refused.
pub const BATCH_FORMAT_V2: &str = "2";

/// One envelope listed in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestEntry {
    /// The envelope's seq.
    pub seq: u64,
    /// The envelope header hash.
    pub hash: String,
    /// Same as the header's `payload`.
    pub payload: BlobRef,
    /// Same as the header's `blobs`.
    pub blobs: Vec<BlobRef>,
}

/// The signed table of contents of a batch: which envelopes of one device it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchManifest {
    /// Always [`MANIFEST_KIND`].
    pub kind: String,
    /// Protocol version, 1.
    pub v: u32,
    /// Caller-chosen unique id (UUID).
    pub batch_id: String,
    /// The device whose envelopes these are.
    pub device_id: DeviceId,
    /// The device's human name (informative).
    pub device_name: String,
    /// RFC 3339 time the batch was made.
    pub created_at: String,
    /// Envelopes in ascending seq order.
    pub envelopes: Vec<ManifestEntry>,
    /// The device's chain head when the batch was made (the last envelope).
    pub chain_head: ChainHead,
    /// Summaries of the device's recent outreach sessions (§3.5); omitted when empty, so manifests made
    /// before summaries existed keep their bytes and signatures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sessions: Vec<crate::session::SessionSummary>,
    /// The session summaries sealed to the office (§3.5): lower-case hex of the age ciphertext of the
    /// canonical [`SessionSummaries`]; omitted when there is none. Never together with `sessions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_sessions: Option<String>,
}

/// The plaintext of a manifest's `sealed_sessions`: the summaries, bound to their batch and device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSummaries {
    /// Always [`SESSION_SUMMARIES_KIND`].
    pub kind: String,
    /// Protocol version, 1.
    pub v: u32,
    /// The manifest's `batch_id`.
    pub batch_id: String,
    /// The manifest's `device_id`.
    pub device_id: DeviceId,
    /// The summaries (§3.5), each `session_id` at most once.
    pub sessions: Vec<crate::session::SessionSummary>,
}

/// A manifest with its device signature (context `outreach-kit/v1/batch-manifest`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedManifest {
    /// The manifest.
    pub manifest: BatchManifest,
    /// Signature over `"outreach-kit/v1/batch-manifest\n" || canonical_bytes(manifest)`.
    pub signature: Signature,
}

impl BatchManifest {
    /// Signs the manifest with the device key.
    pub fn sign(self, key: &DeviceKey) -> Result<SignedManifest, ProtocolError> {
        SignedManifest::sign(self, key)
    }

    /// Parses canonical manifest bytes and checks kind and version.
    pub fn from_bytes(bytes: &[u8]) -> Result<BatchManifest, ProtocolError> {
        let m: BatchManifest = parse_canonical(bytes)?;
        m.check_form()?;
        Ok(m)
    }

    /// Checks kind and version.
    pub fn check_form(&self) -> Result<(), ProtocolError> {
        if self.kind != MANIFEST_KIND {
            return Err(ProtocolError::Kind {
                expected: MANIFEST_KIND,
                found: self.kind.clone(),
            });
        }
        if self.v != crate::PROTOCOL_VERSION {
            return Err(ProtocolError::Version { found: self.v });
        }
        if let Some(hex) = &self.sealed_sessions {
            if !self.sessions.is_empty() {
                return Err(ProtocolError::Sync(
                    "a manifest carries sessions or sealed_sessions, never both".into(),
                ));
            }
            if hex.is_empty()
                || hex.len() % 2 != 0
                || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            {
                return Err(ProtocolError::Sync(
                    "sealed_sessions is not lower-case hex".into(),
                ));
            }
        }
        crate::session::check_sessions(&self.sessions)
    }

    /// The rules between the members of a well-formed manifest (§3.4), checked after its signature: at
    /// least one envelope, `seq` ≥ 1 and strictly ascending (never re-sorted by the receiver), and
    /// `chain_head` the last entry. A failure is the batch-level `manifest_mismatch`.
    pub fn check_entries(&self) -> Result<(), ProtocolError> {
        let Some(last) = self.envelopes.last() else {
            return Err(ProtocolError::Sync("the manifest lists no envelope".into()));
        };
        if self.envelopes[0].seq == 0 || self.envelopes.windows(2).any(|w| w[0].seq >= w[1].seq) {
            return Err(ProtocolError::Sync(
                "the envelopes are not listed in strictly ascending seq".into(),
            ));
        }
        if (last.seq, last.hash.as_str()) != (self.chain_head.seq, self.chain_head.hash.as_str()) {
            return Err(ProtocolError::Sync(
                "the chain head is not the last envelope".into(),
            ));
        }
        Ok(())
    }

    /// Checks the unsigned copies a batch file keeps in `batch_meta` (§8) against this signed manifest:
    /// `batch_id`, `device_id` and `created_at` MUST be present and equal. `meta` is every `(key, value)`
    /// row of `batch_meta`. A failure is the batch-level `manifest_mismatch`.
    pub fn check_batch_meta<'a>(
        &self,
        meta: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(), ProtocolError> {
        let meta: std::collections::BTreeMap<&str, &str> = meta.into_iter().collect();
        for (key, signed) in [
            ("batch_id", self.batch_id.as_str()),
            ("device_id", self.device_id.as_str()),
            ("created_at", self.created_at.as_str()),
        ] {
            match meta.get(key) {
                Some(v) if *v == signed => {}
                Some(v) => {
                    return Err(ProtocolError::Sync(format!(
                        "batch_meta.{key} is {v:?} but the signed manifest says {signed:?}"
                    )))
                }
                None => return Err(ProtocolError::Sync(format!("batch_meta.{key} is missing"))),
            }
        }
        Ok(())
    }

    /// Seals `sessions` to the office `recipients` into this manifest's `sealed_sessions` (none when there
    /// is no summary), binding them to `batch_id` and `device_id`. Call before signing.
    pub fn seal_sessions(
        &mut self,
        recipients: &[String],
        sessions: Vec<crate::session::SessionSummary>,
    ) -> Result<(), ProtocolError> {
        self.sessions.clear();
        self.sealed_sessions = None;
        if sessions.is_empty() {
            return Ok(());
        }
        let body = SessionSummaries {
            kind: SESSION_SUMMARIES_KIND.into(),
            v: crate::PROTOCOL_VERSION,
            batch_id: self.batch_id.clone(),
            device_id: self.device_id.clone(),
            sessions,
        };
        body.check_form()?;
        let plain = crate::canonical::canonical_bytes(&body)?;
        self.sealed_sessions = Some(hex::encode(crate::seal::encrypt_to(recipients, &plain)?));
        Ok(())
    }

    /// The session summaries of a verified manifest: the plaintext `sessions` of a format-1 manifest, or
    /// its `sealed_sessions` decrypted with the office `identity`, parsed canonically and checked to name
    /// this manifest's batch and device. The error is a `decrypt` problem (`ProtocolError::Crypto`) or a
    /// `format` one.
    pub fn open_sessions(
        &self,
        identity: &str,
    ) -> Result<Vec<crate::session::SessionSummary>, ProtocolError> {
        let Some(hex_ct) = &self.sealed_sessions else {
            return Ok(self.sessions.clone());
        };
        let ct = hex::decode(hex_ct)
            .map_err(|e| ProtocolError::Sync(format!("sealed_sessions: {e}")))?;
        let plain = crate::seal::decrypt_with(identity, &ct)?;
        let body: SessionSummaries = parse_canonical(&plain)?;
        body.check_form()?;
        if body.batch_id != self.batch_id || body.device_id != self.device_id {
            return Err(ProtocolError::Sync(
                "the sealed session summaries belong to another batch or device".into(),
            ));
        }
        Ok(body.sessions)
    }
}

impl SessionSummaries {
    /// Kind, version and the summaries' own rules (§3.5).
    pub fn check_form(&self) -> Result<(), ProtocolError> {
        if self.kind != SESSION_SUMMARIES_KIND {
            return Err(ProtocolError::Kind {
                expected: SESSION_SUMMARIES_KIND,
                found: self.kind.clone(),
            });
        }
        if self.v != crate::PROTOCOL_VERSION {
            return Err(ProtocolError::Version { found: self.v });
        }
        crate::session::check_sessions(&self.sessions)
    }
}

impl SignedManifest {
    /// Signs `manifest` with the device key.
    pub fn sign(manifest: BatchManifest, key: &DeviceKey) -> Result<SignedManifest, ProtocolError> {
        let signature = key.sign_value(Context::BatchManifest, &manifest)?;
        Ok(SignedManifest {
            manifest,
            signature,
        })
    }

    /// Checks kind, version, that `manifest.device_id` is the id of `key`, and the signature.
    pub fn verify(&self, key: &DevicePublicKey) -> Result<(), ProtocolError> {
        self.manifest.check_form()?;
        check_device(&self.manifest.device_id, key)?;
        key.verify_value(Context::BatchManifest, &self.manifest, &self.signature)
    }
}

/// Stable codes of the checks the office applies to a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// The batch file or a structure in it is malformed.
    Format,
    /// The manifest names a device this office does not trust.
    UnknownDevice,
    /// The manifest signature does not verify.
    ManifestSignature,
    /// The manifest and an envelope header disagree.
    ManifestMismatch,
    /// An envelope header signature does not verify.
    EnvelopeSignature,
    /// An envelope header is malformed or not canonical.
    EnvelopeFormat,
    /// An envelope names another device.
    DeviceMismatch,
    /// The seqs of the manifest entry, the stored row and the header disagree.
    SeqMismatch,
    /// The hash chain has a gap, broken link, reordering or duplicate.
    Chain,
    /// The payload ciphertext does not match the header.
    PayloadHash,
    /// An attachment ciphertext does not match the header.
    BlobHash,
    /// An attachment ciphertext is missing.
    BlobMissing,
    /// An envelope listed in the manifest is missing.
    EnvelopeMissing,
    /// The batch carries an envelope the manifest does not list.
    UnexpectedEnvelope,
    /// Two different envelopes claim the same (device, seq).
    Equivocation,
    /// The office revoked the device from a sequence number at or below this envelope's (reported lost
    /// or stolen): the device key may be in other hands, so nothing it sealed from then on is accepted.
    DeviceRevoked,
    /// A ciphertext does not decrypt with the office identity.
    Decrypt,
    /// The dossier's device signature does not verify.
    DossierSignature,
    /// A decrypted attachment does not match the hash the dossier signed.
    AttachmentHash,
    /// An envelope was already received (informative, not an error by itself).
    Replay,
    /// The dossier breaks a rule of its procedure.
    Validation,
}

impl CheckKind {
    /// The stable snake_case code.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Format => "format",
            CheckKind::UnknownDevice => "unknown_device",
            CheckKind::ManifestSignature => "manifest_signature",
            CheckKind::ManifestMismatch => "manifest_mismatch",
            CheckKind::EnvelopeSignature => "envelope_signature",
            CheckKind::EnvelopeFormat => "envelope_format",
            CheckKind::DeviceMismatch => "device_mismatch",
            CheckKind::SeqMismatch => "seq_mismatch",
            CheckKind::Chain => "chain",
            CheckKind::PayloadHash => "payload_hash",
            CheckKind::BlobHash => "blob_hash",
            CheckKind::BlobMissing => "blob_missing",
            CheckKind::EnvelopeMissing => "envelope_missing",
            CheckKind::UnexpectedEnvelope => "unexpected_envelope",
            CheckKind::Equivocation => "equivocation",
            CheckKind::DeviceRevoked => "device_revoked",
            CheckKind::Decrypt => "decrypt",
            CheckKind::DossierSignature => "dossier_signature",
            CheckKind::AttachmentHash => "attachment_hash",
            CheckKind::Replay => "replay",
            CheckKind::Validation => "validation",
        }
    }

    /// Every check kind, in the order the office applies them.
    pub const ALL: [CheckKind; 21] = [
        CheckKind::Format,
        CheckKind::UnknownDevice,
        CheckKind::ManifestSignature,
        CheckKind::ManifestMismatch,
        CheckKind::EnvelopeFormat,
        CheckKind::SeqMismatch,
        CheckKind::DeviceMismatch,
        CheckKind::EnvelopeSignature,
        CheckKind::PayloadHash,
        CheckKind::BlobMissing,
        CheckKind::BlobHash,
        CheckKind::EnvelopeMissing,
        CheckKind::UnexpectedEnvelope,
        CheckKind::DeviceRevoked,
        CheckKind::Equivocation,
        CheckKind::Chain,
        CheckKind::Replay,
        CheckKind::Decrypt,
        CheckKind::DossierSignature,
        CheckKind::AttachmentHash,
        CheckKind::Validation,
    ];
}

impl fmt::Display for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found while verifying a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The envelope concerned, if any.
    pub seq: Option<u64>,
    /// Which check failed.
    pub check: CheckKind,
    /// English explanation.
    pub detail: String,
}

impl Problem {
    fn at(seq: u64, check: CheckKind, detail: impl Into<String>) -> Problem {
        Problem {
            seq: Some(seq),
            check,
            detail: detail.into(),
        }
    }
}

/// Verifies one envelope of a batch before anything is decrypted.
///
/// Inputs: the manifest `entry`, the seq of the stored row, the stored canonical header bytes and signature,
/// the SHA-256 and length of the stored payload ciphertext, the device key and the manifest's device id.
/// Returns the parsed header, or every problem found (`envelope_format` alone when the header cannot be read).
#[allow(clippy::too_many_arguments)]
pub fn verify_envelope(
    entry: &ManifestEntry,
    row_seq: u64,
    header_bytes: &[u8],
    signature: &Signature,
    payload_sha256: &str,
    payload_len: u64,
    key: &DevicePublicKey,
    device: &DeviceId,
) -> Result<EnvelopeHeader, Vec<Problem>> {
    let header = match EnvelopeHeader::from_bytes(header_bytes) {
        Ok(h) => h,
        Err(e) => {
            return Err(vec![Problem::at(
                row_seq,
                CheckKind::EnvelopeFormat,
                format!("header: {e}"),
            )])
        }
    };
    let mut problems = Vec::new();
    if header.seq != row_seq || row_seq != entry.seq {
        problems.push(Problem::at(
            row_seq,
            CheckKind::SeqMismatch,
            format!(
                "header seq {}, stored row seq {row_seq}, manifest seq {}",
                header.seq, entry.seq
            ),
        ));
    }
    if &header.device_id != device {
        problems.push(Problem::at(
            row_seq,
            CheckKind::DeviceMismatch,
            format!(
                "header names device {}, the batch is from {device}",
                header.device_id
            ),
        ));
    }
    if key
        .verify_value(Context::Envelope, &header, signature)
        .is_err()
    {
        problems.push(Problem::at(
            row_seq,
            CheckKind::EnvelopeSignature,
            "the device signature does not verify",
        ));
    }
    match header.hash() {
        Ok(h) if h == entry.hash => {}
        Ok(h) => problems.push(Problem::at(
            row_seq,
            CheckKind::ManifestMismatch,
            format!("header hash {h} differs from the manifest's {}", entry.hash),
        )),
        Err(e) => problems.push(Problem::at(
            row_seq,
            CheckKind::EnvelopeFormat,
            e.to_string(),
        )),
    }
    if header.payload != entry.payload || header.blobs != entry.blobs {
        problems.push(Problem::at(
            row_seq,
            CheckKind::ManifestMismatch,
            "the header's payload or attachment references differ from the manifest's",
        ));
    }
    if header.payload.sha256 != payload_sha256 || header.payload.len != payload_len {
        problems.push(Problem::at(
            row_seq,
            CheckKind::PayloadHash,
            format!(
                "payload is {payload_len} bytes with SHA-256 {payload_sha256}; the header says {} bytes, {}",
                header.payload.len, header.payload.sha256
            ),
        ));
    }
    if problems.is_empty() {
        Ok(header)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::sha256_hex;
    use crate::envelope::tests::header;
    use crate::envelope::GENESIS_PREV;

    struct Fixture {
        key: DeviceKey,
        header: EnvelopeHeader,
        bytes: Vec<u8>,
        sig: Signature,
        entry: ManifestEntry,
    }

    fn fixture() -> Fixture {
        let key = DeviceKey::from_seed([9; 32]);
        let h = header(&key, 1, GENESIS_PREV);
        let bytes = h.to_bytes().unwrap();
        let sig = h.clone().sign(&key).unwrap().signature;
        let entry = ManifestEntry {
            seq: 1,
            hash: h.hash().unwrap(),
            payload: h.payload.clone(),
            blobs: h.blobs.clone(),
        };
        Fixture {
            key,
            header: h,
            bytes,
            sig,
            entry,
        }
    }

    fn run(
        f: &Fixture,
        entry: &ManifestEntry,
        row_seq: u64,
        bytes: &[u8],
        sha: &str,
        len: u64,
    ) -> Vec<CheckKind> {
        let device = f.key.public().device_id();
        match verify_envelope(
            entry,
            row_seq,
            bytes,
            &f.sig,
            sha,
            len,
            &f.key.public(),
            &device,
        ) {
            Ok(h) => {
                assert_eq!(h, f.header);
                vec![]
            }
            Err(ps) => ps.into_iter().map(|p| p.check).collect(),
        }
    }

    #[test]
    fn clean_envelope_passes() {
        let f = fixture();
        assert_eq!(
            run(&f, &f.entry, 1, &f.bytes, &sha256_hex(b"payload"), 7),
            vec![]
        );
    }

    #[test]
    fn each_check_fires() {
        let f = fixture();
        let sha = sha256_hex(b"payload");
        assert_eq!(
            run(&f, &f.entry, 2, &f.bytes, &sha, 7),
            vec![CheckKind::SeqMismatch]
        );
        assert_eq!(
            run(&f, &f.entry, 1, &f.bytes, &sha256_hex(b"x"), 7),
            vec![CheckKind::PayloadHash]
        );
        assert_eq!(
            run(&f, &f.entry, 1, &f.bytes, &sha, 8),
            vec![CheckKind::PayloadHash]
        );
        let mut e = f.entry.clone();
        e.hash = sha256_hex(b"other");
        assert_eq!(
            run(&f, &e, 1, &f.bytes, &sha, 7),
            vec![CheckKind::ManifestMismatch]
        );
        let mut e = f.entry.clone();
        e.blobs.clear();
        assert_eq!(
            run(&f, &e, 1, &f.bytes, &sha, 7),
            vec![CheckKind::ManifestMismatch]
        );
        assert_eq!(
            run(&f, &f.entry, 1, b"{}", &sha, 7),
            vec![CheckKind::EnvelopeFormat]
        );
        let pretty = serde_json::to_vec_pretty(&f.header).unwrap();
        assert_eq!(
            run(&f, &f.entry, 1, &pretty, &sha, 7),
            vec![CheckKind::EnvelopeFormat]
        );
    }

    #[test]
    fn tampered_header_reports_signature_and_mismatch() {
        let f = fixture();
        let mut h = f.header.clone();
        h.sealed_at = "2026-11-24T08:15:00Z".into();
        let bytes = h.to_bytes().unwrap();
        let got = run(&f, &f.entry, 1, &bytes, &sha256_hex(b"payload"), 7);
        assert_eq!(
            got,
            vec![CheckKind::EnvelopeSignature, CheckKind::ManifestMismatch]
        );
    }

    #[test]
    fn other_device_reports_device_mismatch() {
        let f = fixture();
        let other = DeviceKey::from_seed([10; 32]).public().device_id();
        let r = verify_envelope(
            &f.entry,
            1,
            &f.bytes,
            &f.sig,
            &sha256_hex(b"payload"),
            7,
            &f.key.public(),
            &other,
        );
        let checks: Vec<CheckKind> = r.unwrap_err().into_iter().map(|p| p.check).collect();
        assert_eq!(checks, vec![CheckKind::DeviceMismatch]);
    }

    fn manifest(key: &DeviceKey) -> BatchManifest {
        let f = fixture();
        BatchManifest {
            kind: MANIFEST_KIND.into(),
            v: 1,
            batch_id: "0193a5b2-7c4e-7d10-8f00-0000000000b1".into(),
            device_id: key.public().device_id(),
            device_name: "Trạm lưu động 1".into(),
            created_at: "2026-11-23T17:00:00Z".into(),
            envelopes: vec![f.entry.clone()],
            chain_head: ChainHead {
                seq: 1,
                hash: f.entry.hash,
            },
            sessions: Vec::new(),
            sealed_sessions: None,
        }
    }

    #[test]
    fn manifest_sign_verify_tamper() {
        let key = DeviceKey::from_seed([9; 32]);
        let signed = manifest(&key).sign(&key).unwrap();
        signed.verify(&key.public()).unwrap();
        let mut t = signed.clone();
        t.manifest.chain_head.seq = 2;
        assert_eq!(t.verify(&key.public()), Err(ProtocolError::BadSignature));
        let other = DeviceKey::from_seed([10; 32]);
        assert!(matches!(
            signed.verify(&other.public()),
            Err(ProtocolError::DeviceMismatch { .. })
        ));
        let bytes = crate::canonical::canonical_bytes(&signed.manifest).unwrap();
        assert_eq!(BatchManifest::from_bytes(&bytes).unwrap(), signed.manifest);
    }

    #[test]
    fn entries_must_ascend_and_end_at_the_head() {
        let key = DeviceKey::from_seed([9; 32]);
        let m = manifest(&key);
        m.check_entries().unwrap();
        let mut two = m.clone();
        let mut e2 = two.envelopes[0].clone();
        e2.seq = 2;
        two.envelopes.push(e2.clone());
        two.chain_head.seq = 2;
        two.check_entries().unwrap();
        let mut rev = two.clone();
        rev.envelopes.reverse();
        assert!(rev.check_entries().is_err(), "out of order is refused");
        let mut dup = two.clone();
        dup.envelopes[1].seq = 1;
        dup.chain_head.seq = 1;
        assert!(dup.check_entries().is_err(), "a repeated seq is refused");
        let mut empty = m.clone();
        empty.envelopes.clear();
        assert!(empty.check_entries().is_err());
        let mut head = m;
        head.chain_head.seq = 5;
        assert!(head.check_entries().is_err());
    }

    #[test]
    fn batch_meta_copies_must_equal_the_manifest() {
        let key = DeviceKey::from_seed([9; 32]);
        let m = manifest(&key);
        let device = m.device_id.to_string();
        let good = [
            ("format", "outreach-kit-batch"),
            ("batch_id", m.batch_id.as_str()),
            ("device_id", device.as_str()),
            ("created_at", m.created_at.as_str()),
        ];
        m.check_batch_meta(good).unwrap();
        for i in 1..4 {
            let mut bad = good;
            bad[i].1 = "x";
            assert!(m.check_batch_meta(bad).is_err(), "{}", bad[i].0);
            let missing: Vec<_> = good.iter().copied().filter(|r| r.0 != good[i].0).collect();
            assert!(m.check_batch_meta(missing).is_err());
        }
    }

    #[test]
    fn sessions_seal_to_the_office_and_open_bound_to_the_batch() {
        use age::secrecy::ExposeSecret;
        let id = age::x25519::Identity::generate();
        let sk = id.to_string().expose_secret().to_string();
        let pk = id.to_public().to_string();
        let key = DeviceKey::from_seed([9; 32]);
        let s = crate::session::tests::sample();
        let mut m = manifest(&key);
        m.seal_sessions(std::slice::from_ref(&pk), vec![s.clone()])
            .unwrap();
        assert!(m.sessions.is_empty());
        let hex_ct = m.sealed_sessions.clone().unwrap();
        assert!(!hex_ct.contains(&hex::encode(s.hamlet.as_bytes())));
        m.check_form().unwrap();
        let bytes = crate::canonical::canonical_bytes(&m).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains(&s.hamlet));
        assert_eq!(m.open_sessions(&sk).unwrap(), vec![s.clone()]);
        // Another batch's ciphertext does not open as this one's.
        let mut other = m.clone();
        other.batch_id = "0193a5b2-7c4e-7d10-8f00-0000000000b2".into();
        assert!(matches!(
            other.open_sessions(&sk),
            Err(ProtocolError::Sync(_))
        ));
        // Another office cannot read them.
        let stranger = age::x25519::Identity::generate();
        assert!(matches!(
            m.open_sessions(stranger.to_string().expose_secret()),
            Err(ProtocolError::Crypto(_))
        ));
        // Never both forms; hex only.
        let mut both = m.clone();
        both.sessions = vec![s];
        assert!(both.check_form().is_err());
        let mut upper = m.clone();
        upper.sealed_sessions = Some(hex_ct.to_uppercase());
        assert!(upper.check_form().is_err());
        // No summary, no member: the bytes of a manifest without sessions do not change.
        let mut none = manifest(&key);
        none.seal_sessions(&[pk], Vec::new()).unwrap();
        assert_eq!(none, manifest(&key));
    }

    #[test]
    fn check_codes_are_stable_and_unique() {
        let mut codes: Vec<&str> = CheckKind::ALL.iter().map(|c| c.as_str()).collect();
        for c in CheckKind::ALL {
            assert_eq!(
                serde_json::to_string(&c).unwrap(),
                format!("\"{}\"", c.as_str())
            );
        }
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), 21);
        assert_eq!(CheckKind::UnknownDevice.as_str(), "unknown_device");
    }
}
