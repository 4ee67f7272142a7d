//! Key cards: the small self-signed text file one hub hands another (`hub key show` → `hub trust`).

use std::fmt;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::error::ProtocolError;
use crate::keys::{check_device, Context, DeviceId, DeviceKey, DevicePublicKey, Signature};
use crate::seal::parse_recipient;
use crate::timestamp::parse_timestamp;

/// The `kind` member of every key card.
pub const KEY_CARD_KIND: &str = "outreach-kit/key-card";
/// Longest hub name accepted on a key card, in characters.
pub const MAX_HUB_NAME_CHARS: usize = 100;

/// Which side a hub plays: `"field"` (capture and seal) or `"office"` (verify and reconcile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HubMode {
    /// A field hub: captures and seals dossiers.
    Field,
    /// An office hub: verifies batches and reconciles.
    Office,
}

impl HubMode {
    /// `"field"` or `"office"`.
    pub fn as_str(self) -> &'static str {
        match self {
            HubMode::Field => "field",
            HubMode::Office => "office",
        }
    }
}

impl fmt::Display for HubMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for HubMode {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "field" => Ok(HubMode::Field),
            "office" => Ok(HubMode::Office),
            _ => Err(ProtocolError::Json(format!(
                "{s:?} is not a hub mode (\"field\" or \"office\")"
            ))),
        }
    }
}

/// A hub's public identity: signing key, age recipient, mode and name, self-signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyCard {
    /// Always [`KEY_CARD_KIND`].
    pub kind: String,
    /// Protocol version, 1.
    pub v: u32,
    /// Derived from `sign_pub`.
    pub device_id: DeviceId,
    /// Field or office.
    pub mode: HubMode,
    /// Human name of the hub, e.g. "Trạm lưu động xã Bù Đăng 1".
    pub name: String,
    /// Ed25519 public key.
    pub sign_pub: DevicePublicKey,
    /// age X25519 recipient, `age1…`.
    pub age_recipient: String,
    /// RFC 3339 time the card was made.
    pub created_at: String,
    /// Signature (context `outreach-kit/v1/key-card`) over the card's canonical JSON without `self_sig`.
    pub self_sig: Signature,
}

/// The signed part of a key card: every member except `self_sig`.
#[derive(Serialize)]
struct KeyCardBody<'a> {
    kind: &'a str,
    v: u32,
    device_id: &'a DeviceId,
    mode: HubMode,
    name: &'a str,
    sign_pub: &'a DevicePublicKey,
    age_recipient: &'a str,
    created_at: &'a str,
}

impl KeyCard {
    /// Makes and self-signs the card of `key`.
    pub fn new(
        key: &DeviceKey,
        mode: HubMode,
        name: String,
        age_recipient: String,
        created_at: String,
    ) -> Result<KeyCard, ProtocolError> {
        let public = key.public();
        let mut card = KeyCard {
            kind: KEY_CARD_KIND.to_owned(),
            v: crate::PROTOCOL_VERSION,
            device_id: public.device_id(),
            mode,
            name,
            sign_pub: public,
            age_recipient,
            created_at,
            self_sig: Signature::from_bytes([0; 64]),
        };
        card.check_members()?;
        card.self_sig = key.sign_value(Context::KeyCard, &card.body())?;
        Ok(card)
    }

    fn body(&self) -> KeyCardBody<'_> {
        KeyCardBody {
            kind: &self.kind,
            v: self.v,
            device_id: &self.device_id,
            mode: self.mode,
            name: &self.name,
            sign_pub: &self.sign_pub,
            age_recipient: &self.age_recipient,
            created_at: &self.created_at,
        }
    }

    /// The exact bytes the self signature covers (after the context prefix).
    pub fn signed_body_bytes(&self) -> Result<Vec<u8>, ProtocolError> {
        crate::canonical::canonical_bytes(&self.body())
    }

    fn check_members(&self) -> Result<(), ProtocolError> {
        if self.kind != KEY_CARD_KIND {
            return Err(ProtocolError::Kind {
                expected: KEY_CARD_KIND,
                found: self.kind.clone(),
            });
        }
        if self.v != crate::PROTOCOL_VERSION {
            return Err(ProtocolError::Version { found: self.v });
        }
        check_device(&self.device_id, &self.sign_pub)?;
        let name_chars = self.name.chars().count();
        if self.name.trim().is_empty() || name_chars > MAX_HUB_NAME_CHARS {
            return Err(ProtocolError::BadKeyCard(format!(
                "name must be 1 to {MAX_HUB_NAME_CHARS} characters"
            )));
        }
        if self.name.chars().any(char::is_control)
            || self.name.nfc().collect::<String>() != self.name
        {
            return Err(ProtocolError::BadKeyCard(
                "name must be NFC text without control characters".into(),
            ));
        }
        parse_recipient(&self.age_recipient)?;
        parse_timestamp(&self.created_at)?;
        Ok(())
    }

    /// Checks every rule of a card held in memory: kind, version, device id, name, age recipient, time,
    /// self signature.
    pub fn verify(&self) -> Result<(), ProtocolError> {
        self.check_members()?;
        self.sign_pub
            .verify_value(Context::KeyCard, &self.body(), &self.self_sig)
    }

    /// The text file form: pretty-printed JSON followed by a newline.
    pub fn to_text(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Reads a key card text (any JSON layout) and checks it completely (see [`KeyCard::verify`]).
    pub fn parse(text: &str) -> Result<KeyCard, ProtocolError> {
        let card: KeyCard = serde_json::from_str(text.trim_start_matches('\u{feff}'))?;
        card.verify()?;
        Ok(card)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const RECIPIENT: &str =
        "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";

    fn card() -> KeyCard {
        KeyCard::new(
            &DeviceKey::from_seed([1; 32]),
            HubMode::Field,
            "Trạm lưu động xã Bù Đăng".into(),
            RECIPIENT.into(),
            "2026-11-23T08:15:00Z".into(),
        )
        .unwrap()
    }

    #[test]
    fn text_round_trip() {
        let c = card();
        let text = c.to_text();
        assert!(text.ends_with("}\n"));
        assert_eq!(KeyCard::parse(&text).unwrap(), c);
    }

    #[test]
    fn tampered_members_are_rejected() {
        let text = card().to_text();
        let tampered = text.replace("Bù Đăng", "Bù Gia Mập");
        assert_eq!(KeyCard::parse(&tampered), Err(ProtocolError::BadSignature));
        let tampered = text.replace("\"field\"", "\"office\"");
        assert_eq!(KeyCard::parse(&tampered), Err(ProtocolError::BadSignature));
        let tampered = text.replace("2026-11-23T08:15:00Z", "2026-11-24T08:15:00Z");
        assert_eq!(KeyCard::parse(&tampered), Err(ProtocolError::BadSignature));
    }

    #[test]
    fn swapped_key_is_rejected() {
        let c = card();
        let mut other = c.clone();
        other.sign_pub = DeviceKey::from_seed([2; 32]).public();
        assert!(matches!(
            other.verify(),
            Err(ProtocolError::DeviceMismatch { .. })
        ));
        other.device_id = other.sign_pub.device_id();
        assert_eq!(other.verify(), Err(ProtocolError::BadSignature));
    }

    #[test]
    fn bad_kind_version_recipient_unknown_member() {
        let text = card().to_text();
        assert!(matches!(
            KeyCard::parse(&text.replace("outreach-kit/key-card", "x")),
            Err(ProtocolError::Kind { .. })
        ));
        assert_eq!(
            KeyCard::parse(&text.replace("\"v\": 1", "\"v\": 2")),
            Err(ProtocolError::Version { found: 2 })
        );
        assert!(matches!(
            KeyCard::parse(&text.replace(RECIPIENT, "age1xyz")),
            Err(ProtocolError::BadKey(_))
        ));
        assert!(matches!(
            KeyCard::parse(&text.replacen('{', "{\"extra\": 1,", 1)),
            Err(ProtocolError::Json(_))
        ));
        assert!(matches!(
            KeyCard::parse("not json"),
            Err(ProtocolError::Json(_))
        ));
    }

    #[test]
    fn new_rejects_bad_inputs() {
        let k = DeviceKey::from_seed([1; 32]);
        let t = "2026-11-23T08:15:00Z".to_string();
        assert!(
            KeyCard::new(&k, HubMode::Office, " ".into(), RECIPIENT.into(), t.clone()).is_err()
        );
        assert!(KeyCard::new(
            &k,
            HubMode::Office,
            "a\u{7}".into(),
            RECIPIENT.into(),
            t.clone()
        )
        .is_err());
        assert!(KeyCard::new(&k, HubMode::Office, "ok".into(), "age1bad".into(), t).is_err());
        assert!(KeyCard::new(
            &k,
            HubMode::Office,
            "ok".into(),
            RECIPIENT.into(),
            "yesterday".into()
        )
        .is_err());
    }

    #[test]
    fn hub_mode_strings() {
        assert_eq!("office".parse::<HubMode>().unwrap(), HubMode::Office);
        assert_eq!(HubMode::Field.to_string(), "field");
        assert!("Field".parse::<HubMode>().is_err());
    }
}
