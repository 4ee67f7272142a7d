//! A translatable text with its stable key ([`Keyed`]), and the key of a catalogue text. Below both the
//! guides (which define their texts with keys) and the languages (which collect every text to translate
//! and record).

use serde::Serialize;
use unicode_normalization::UnicodeNormalization;

/// The key of a catalogue text, from its Vietnamese wording.
pub fn catalogue_key(vi: &str) -> String {
    let nfc: String = vi.nfc().collect();
    let h = protocol::sha256_hex(nfc.as_bytes());
    format!("cat.{}", &h[..12])
}

/// A text with its key, as the guides and the strings API hand it to clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = KeyedText)]
pub struct Keyed {
    pub key: String,
    pub vi: String,
    pub en: String,
}

impl Keyed {
    /// A catalogue text with its content key.
    pub fn catalogue(t: &protocol::Text) -> Self {
        Self {
            key: catalogue_key(&t.vi),
            vi: t.vi.clone(),
            en: t.en.clone(),
        }
    }
}
