//! Dossiers: the captured, sealed record of one procedure request, and its device signature.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::canonical::{canonical_bytes, parse_canonical};
use crate::catalogue::ProcedureRef;
use crate::error::ProtocolError;
use crate::keys::{check_device, Context, DeviceId, DeviceKey, DevicePublicKey, Signature};
use crate::receipt::ReceiptCode;

/// Who did something: a user id on the hub and their role at the time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    /// The hub's user id.
    pub user_id: String,
    /// `admin`, `officer`, `volunteer` or `clerk`.
    pub role: String,
}

/// A photo of a paper attached to a dossier, named by the hash of its plaintext bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentRef {
    /// File name as captured (informative).
    pub name: String,
    /// Document role from the procedure, e.g. `id_document`.
    pub role: String,
    /// MIME type, e.g. `image/jpeg`.
    pub media_type: String,
    /// Lower-case hex SHA-256 of the plaintext bytes.
    pub sha256: String,
    /// Plaintext length in bytes.
    pub size: u64,
}

/// A sealed dossier: what the device signs and then encrypts to the office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dossier {
    /// Protocol version, 1.
    pub v: u32,
    /// UUID (v7) chosen at capture.
    pub id: String,
    /// The sealing device.
    pub device_id: DeviceId,
    /// Which procedure (and catalogue version) the fields follow.
    pub procedure: ProcedureRef,
    /// Normalised field values by dotted key (see [`crate::validate::normalize_fields`]).
    pub fields: BTreeMap<String, String>,
    /// Photos, in the order their ciphertexts appear in the envelope's `blobs`.
    pub attachments: Vec<AttachmentRef>,
    /// RFC 3339 time the draft was started.
    pub captured_at: String,
    /// Who captured it.
    pub captured_by: Actor,
    /// RFC 3339 time of sealing.
    pub sealed_at: String,
    /// Who reviewed and sealed it.
    pub sealed_by: Actor,
    /// Outreach session, when captured in one (serialised as `null` otherwise).
    pub session_id: Option<String>,
    /// The code printed on the villager's receipt.
    pub receipt_code: ReceiptCode,
    /// What the dossier does to the record: a new request, a refusal, or a correction or cancellation of
    /// an earlier sealed dossier (which is never edited in place).
    pub disposition: Disposition,
}

/// Longest reason for a refusal, correction or cancellation, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// What a sealed dossier does to the record. Every kind takes a sequence number of its own, so a device's
/// chain never has a hole and the office sees the whole history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Disposition {
    /// A request accepted for processing (the fields pass the seal-stage rules).
    New,
    /// The officer refused the request at the session; sealed so the counts reconcile. The fields are what
    /// was captured (draft-stage rules).
    Refused {
        /// Why, in plain words.
        reason: String,
    },
    /// A correction: replaces the earlier dossier `dossier_id` of the same device and procedure with this
    /// complete, corrected one.
    Supersedes {
        /// The dossier replaced.
        dossier_id: String,
        /// Why, in plain words.
        reason: String,
    },
    /// A cancellation of the earlier dossier `dossier_id` (no fields, no photos).
    Voids {
        /// The dossier cancelled.
        dossier_id: String,
        /// Why, in plain words.
        reason: String,
    },
}

impl Disposition {
    /// `new`, `refused`, `supersedes` or `voids`.
    pub fn kind(&self) -> &'static str {
        match self {
            Disposition::New => "new",
            Disposition::Refused { .. } => "refused",
            Disposition::Supersedes { .. } => "supersedes",
            Disposition::Voids { .. } => "voids",
        }
    }

    /// The earlier dossier this one replaces or cancels.
    pub fn refers_to(&self) -> Option<&str> {
        match self {
            Disposition::Supersedes { dossier_id, .. } | Disposition::Voids { dossier_id, .. } => {
                Some(dossier_id)
            }
            _ => None,
        }
    }

    /// The reason given, if any.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Disposition::New => None,
            Disposition::Refused { reason }
            | Disposition::Supersedes { reason, .. }
            | Disposition::Voids { reason, .. } => Some(reason),
        }
    }

    /// Which validation stage the fields must pass: `Seal` for a new or corrected request, `Draft` for a
    /// refused one; `None` for a cancellation, which carries no fields.
    pub fn stage(&self) -> Option<crate::validate::Stage> {
        match self {
            Disposition::New | Disposition::Supersedes { .. } => Some(crate::validate::Stage::Seal),
            Disposition::Refused { .. } => Some(crate::validate::Stage::Draft),
            Disposition::Voids { .. } => None,
        }
    }
}

impl Dossier {
    /// Checks the disposition's own rules: a reason of 1–500 NFC characters without control characters; a
    /// reference that is not this dossier; a cancellation with no fields and no photos.
    pub fn check_disposition(&self) -> Result<(), ProtocolError> {
        use unicode_normalization::UnicodeNormalization;
        let d = &self.disposition;
        if let Some(reason) = d.reason() {
            let n = reason.chars().count();
            if reason.trim() != reason
                || n == 0
                || n > MAX_REASON_CHARS
                || reason.chars().any(char::is_control)
                || reason.nfc().collect::<String>() != reason
            {
                return Err(ProtocolError::Disposition(format!(
                    "the reason must be 1–{MAX_REASON_CHARS} NFC characters, trimmed, no control characters"
                )));
            }
        }
        if let Some(other) = d.refers_to() {
            if other.is_empty() || other == self.id {
                return Err(ProtocolError::Disposition(
                    "a correction or cancellation must name another dossier".into(),
                ));
            }
        }
        if matches!(d, Disposition::Voids { .. })
            && (!self.fields.is_empty() || !self.attachments.is_empty())
        {
            return Err(ProtocolError::Disposition(
                "a cancellation carries no fields and no photos".into(),
            ));
        }
        Ok(())
    }
}

impl Dossier {
    /// Every rule a receiver MUST check on a dossier besides its signature (§1, §3.1, §3.1.1): the
    /// disposition's rules ([`Dossier::check_disposition`]), and text in Unicode NFC — field keys, and field
    /// values NFC, trimmed and not empty (the form [`crate::validate::normalize_fields`] gives), photo names
    /// and roles, the receipt code aside (its own grammar).
    pub fn check_form(&self) -> Result<(), ProtocolError> {
        self.check_disposition()?;
        for (k, v) in &self.fields {
            if !is_nfc(k) {
                return Err(ProtocolError::BadDossier(format!(
                    "field key {k:?} is not Unicode NFC"
                )));
            }
            if !is_nfc(v) {
                return Err(ProtocolError::BadDossier(format!(
                    "the value of {k} is not Unicode NFC"
                )));
            }
            if v.is_empty() || v.trim() != v {
                return Err(ProtocolError::BadDossier(format!(
                    "the value of {k} is empty or not trimmed"
                )));
            }
        }
        for a in &self.attachments {
            if !is_nfc(&a.name) || !is_nfc(&a.role) {
                return Err(ProtocolError::BadDossier(
                    "a photo's name or role is not Unicode NFC".into(),
                ));
            }
        }
        Ok(())
    }

    /// Checks that an envelope `header` carrying this dossier says the same (§3.2): its `sealed_at` is the
    /// dossier's, byte for byte, and its `device_id` the dossier's.
    pub fn check_header(
        &self,
        header: &crate::envelope::EnvelopeHeader,
    ) -> Result<(), ProtocolError> {
        if header.sealed_at != self.sealed_at {
            return Err(ProtocolError::BadDossier(format!(
                "the envelope header says sealed_at {} but the dossier says {}",
                header.sealed_at, self.sealed_at
            )));
        }
        if header.device_id != self.device_id {
            return Err(ProtocolError::BadDossier(
                "the envelope header and the dossier name different devices".into(),
            ));
        }
        Ok(())
    }
}

fn is_nfc(s: &str) -> bool {
    unicode_normalization::is_nfc(s)
}

/// A dossier with its device signature (context `outreach-kit/v1/dossier`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedDossier {
    /// The dossier.
    pub dossier: Dossier,
    /// Signature over `"outreach-kit/v1/dossier\n" || canonical_bytes(dossier)`.
    pub signature: Signature,
}

impl Dossier {
    /// Signs the dossier with the device key.
    pub fn sign(self, key: &DeviceKey) -> Result<SignedDossier, ProtocolError> {
        let signature = key.sign_value(Context::Dossier, &self)?;
        Ok(SignedDossier {
            dossier: self,
            signature,
        })
    }
}

impl SignedDossier {
    /// Checks the version, that `dossier.device_id` is the id of `key`, and the signature.
    pub fn verify(&self, key: &DevicePublicKey) -> Result<(), ProtocolError> {
        if self.dossier.v != crate::PROTOCOL_VERSION {
            return Err(ProtocolError::Version {
                found: self.dossier.v,
            });
        }
        check_device(&self.dossier.device_id, key)?;
        key.verify_value(Context::Dossier, &self.dossier, &self.signature)
    }

    /// Canonical bytes of `{"dossier":…,"signature":…}` — the plaintext that is sealed.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ProtocolError> {
        canonical_bytes(self)
    }

    /// Parses canonical bytes (rejecting any other spelling and unknown members) and checks the version.
    /// Does not verify the signature: call [`SignedDossier::verify`].
    pub fn from_bytes(bytes: &[u8]) -> Result<SignedDossier, ProtocolError> {
        let s: SignedDossier = parse_canonical(bytes)?;
        if s.dossier.v != crate::PROTOCOL_VERSION {
            return Err(ProtocolError::Version { found: s.dossier.v });
        }
        Ok(s)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn check_form_refuses_decomposed_or_untrimmed_text_and_a_void_with_fields() {
        use unicode_normalization::UnicodeNormalization;
        let key = DeviceKey::from_seed([3u8; 32]);
        let d = sample(&key);
        d.check_form().unwrap();
        let (k, v) = d
            .fields
            .iter()
            .find(|(_, v)| v.nfd().collect::<String>() != **v)
            .map(|(k, v)| (k.clone(), v.clone()))
            .expect("the sample has a Vietnamese value");
        let mut nfd = d.clone();
        nfd.fields.insert(k.clone(), v.nfd().collect());
        assert!(matches!(
            nfd.check_form(),
            Err(ProtocolError::BadDossier(_))
        ));
        let mut padded = d.clone();
        padded.fields.insert(k, format!(" {v}"));
        assert!(padded.check_form().is_err());
        let mut void = d.clone();
        void.disposition = Disposition::Voids {
            dossier_id: "019a9f3e-6c00-7000-8000-0000000000ff".into(),
            reason: "Trùng hồ sơ".into(),
        };
        assert!(matches!(
            void.check_form(),
            Err(ProtocolError::Disposition(_))
        ));
        void.fields.clear();
        void.attachments.clear();
        void.check_form().unwrap();
    }

    #[test]
    fn the_header_must_say_the_dossier_s_sealed_at() {
        let key = DeviceKey::from_seed([3u8; 32]);
        let d = sample(&key);
        let mut h = crate::envelope::tests::header(&key, 1, crate::envelope::GENESIS_PREV);
        h.sealed_at = d.sealed_at.clone();
        d.check_header(&h).unwrap();
        h.sealed_at = "2026-11-23T08:15:01Z".into();
        assert!(matches!(
            d.check_header(&h),
            Err(ProtocolError::BadDossier(_))
        ));
    }

    #[test]
    fn dispositions_have_their_own_rules() {
        let key = DeviceKey::from_seed([3u8; 32]);
        let mut d = sample(&key);
        d.check_disposition().unwrap();
        d.disposition = Disposition::Refused {
            reason: "Người yêu cầu chưa đủ giấy tờ".into(),
        };
        d.check_disposition().unwrap();
        for bad in ["", " x", "x\n", &"x".repeat(501), "Nguye\u{302}\u{303}n"] {
            d.disposition = Disposition::Refused { reason: bad.into() };
            assert!(d.check_disposition().is_err(), "{bad:?}");
        }
        d.disposition = Disposition::Supersedes {
            dossier_id: d.id.clone(),
            reason: "Sai ngày sinh".into(),
        };
        assert!(d.check_disposition().is_err(), "cannot supersede itself");
        d.disposition = Disposition::Voids {
            dossier_id: "019a9f3e-6c00-7000-8000-0000000000ff".into(),
            reason: "Trùng hồ sơ".into(),
        };
        assert!(d.check_disposition().is_err(), "a void carries no fields");
        d.fields.clear();
        d.attachments.clear();
        d.check_disposition().unwrap();
        // On the wire: a tagged object, e.g. {"dossier_id":…,"kind":"voids","reason":…}.
        let json = String::from_utf8(canonical_bytes(&d.disposition).unwrap()).unwrap();
        assert_eq!(
            json,
            r#"{"dossier_id":"019a9f3e-6c00-7000-8000-0000000000ff","kind":"voids","reason":"Trùng hồ sơ"}"#
        );
        assert_eq!(
            String::from_utf8(canonical_bytes(&Disposition::New).unwrap()).unwrap(),
            r#"{"kind":"new"}"#
        );
    }

    pub(crate) fn sample(key: &DeviceKey) -> Dossier {
        let mut fields = BTreeMap::new();
        fields.insert("subject.full_name".to_string(), "Điểu Thị Lan".to_string());
        fields.insert(
            "subject.marital_status".to_string(),
            "never_married".to_string(),
        );
        Dossier {
            v: 1,
            id: "0193a5b2-7c4e-7d10-8f00-000000000001".into(),
            device_id: key.public().device_id(),
            procedure: ProcedureRef {
                id: "marital-status-certificate".into(),
                version: 1,
            },
            fields,
            attachments: vec![AttachmentRef {
                name: "cccd.jpg".into(),
                role: "id_document".into(),
                media_type: "image/jpeg".into(),
                sha256: crate::canonical::sha256_hex(b"photo"),
                size: 5,
            }],
            captured_at: "2026-11-23T08:00:00Z".into(),
            captured_by: Actor {
                user_id: "u-volunteer".into(),
                role: "volunteer".into(),
            },
            sealed_at: "2026-11-23T08:15:00Z".into(),
            sealed_by: Actor {
                user_id: "u-officer".into(),
                role: "officer".into(),
            },
            session_id: None,
            receipt_code: ReceiptCode::from_entropy([1, 2, 3, 4, 5]),
            disposition: Disposition::New,
        }
    }

    #[test]
    fn sign_verify_round_trip() {
        let key = DeviceKey::from_seed([3; 32]);
        let signed = sample(&key).sign(&key).unwrap();
        signed.verify(&key.public()).unwrap();
        let bytes = signed.to_bytes().unwrap();
        let back = SignedDossier::from_bytes(&bytes).unwrap();
        assert_eq!(back, signed);
        back.verify(&key.public()).unwrap();
    }

    #[test]
    fn one_changed_field_breaks_signature() {
        let key = DeviceKey::from_seed([3; 32]);
        let mut signed = sample(&key).sign(&key).unwrap();
        signed
            .dossier
            .fields
            .insert("subject.full_name".into(), "Điểu Thị Lam".into());
        assert_eq!(
            signed.verify(&key.public()),
            Err(ProtocolError::BadSignature)
        );
        let mut signed = sample(&key).sign(&key).unwrap();
        signed.dossier.attachments[0].size = 6;
        assert_eq!(
            signed.verify(&key.public()),
            Err(ProtocolError::BadSignature)
        );
    }

    #[test]
    fn other_device_key_is_rejected() {
        let key = DeviceKey::from_seed([3; 32]);
        let signed = sample(&key).sign(&key).unwrap();
        let other = DeviceKey::from_seed([4; 32]).public();
        assert!(matches!(
            signed.verify(&other),
            Err(ProtocolError::DeviceMismatch { .. })
        ));
    }

    #[test]
    fn from_bytes_rejects_non_canonical_and_unknown() {
        let key = DeviceKey::from_seed([3; 32]);
        let signed = sample(&key).sign(&key).unwrap();
        let pretty = serde_json::to_vec_pretty(&signed).unwrap();
        assert_eq!(
            SignedDossier::from_bytes(&pretty),
            Err(ProtocolError::NotCanonical)
        );
        let mut v = serde_json::to_value(&signed).unwrap();
        v["dossier"]["extra"] = serde_json::json!(1);
        let bytes = canonical_bytes(&v).unwrap();
        assert!(matches!(
            SignedDossier::from_bytes(&bytes),
            Err(ProtocolError::Json(_))
        ));
    }

    #[test]
    fn from_bytes_rejects_other_version() {
        let key = DeviceKey::from_seed([3; 32]);
        let mut d = sample(&key);
        d.v = 2;
        let bytes = d.sign(&key).unwrap().to_bytes().unwrap();
        assert_eq!(
            SignedDossier::from_bytes(&bytes),
            Err(ProtocolError::Version { found: 2 })
        );
    }
}
