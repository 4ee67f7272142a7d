//! Printer profiles: what the renderer and the encoder need to know of a printer model (dot width, native
//! QR or not, cutter, band height its buffer takes, paper status query). Data (`profiles.json`), not code:
//! a new model is one more entry.

use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// One printer profile.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub id: String,
    pub name_vi: String,
    pub name_en: String,
    /// Paper roll width.
    pub paper_mm: u32,
    /// Printable width in dots (8 dots per mm, 203 dpi); a multiple of 8.
    pub dots: u32,
    /// Whether the printer draws QR codes itself (`GS ( k`); otherwise the QR is sent as raster.
    pub native_qr: bool,
    /// QR module size in dots.
    pub qr_module: u32,
    /// Whether the printer has a cutter (`GS V 66 0` after the feed).
    pub cutter: bool,
    /// At most this many rows per `GS v 0` command (cheap printers have small receive buffers).
    pub band_rows: u32,
    /// Lines fed after the slip so it clears the tear bar or the cutter (`ESC d n`).
    pub feed_lines: u8,
    /// Whether the printer answers the real-time paper status request (`DLE EOT 4`).
    pub status_query: bool,
    /// Code pages of its text mode (not used: all text is raster), for the record.
    pub code_pages: Vec<String>,
    /// Models this profile was written for.
    pub models: Vec<String>,
    pub note: String,
}

/// The profile used when none is configured.
pub const DEFAULT: &str = "generic-58";

/// Every profile, in the file's order.
pub fn all() -> &'static [Profile] {
    static ALL: OnceLock<Vec<Profile>> = OnceLock::new();
    ALL.get_or_init(|| {
        serde_json::from_str(include_str!("profiles.json"))
            .expect("profiles.json is valid (unit test)")
    })
}

/// The profile `id`.
pub fn find(id: &str) -> Option<&'static Profile> {
    all().iter().find(|p| p.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_sound() {
        assert!(find(DEFAULT).is_some());
        let mut ids = std::collections::BTreeSet::new();
        for p in all() {
            assert!(ids.insert(&p.id), "{} twice", p.id);
            assert_eq!(p.dots % 8, 0, "{}", p.id);
            assert!(p.dots <= p.paper_mm * 8, "{}", p.id);
            assert!((1..=255).contains(&p.band_rows), "{}", p.id);
            assert!((1..=16).contains(&p.qr_module), "{}", p.id);
        }
        assert_eq!(find("generic-80").unwrap().dots, 576);
    }
}
