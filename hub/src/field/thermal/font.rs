//! The receipt printer's bundled fonts: DejaVu Sans and DejaVu Sans Bold, cut down to the Latin scripts
//! (Vietnamese and the Latin alphabets of the minority languages) by `hub/assets/fonts/subset.sh`, under
//! the Bitstream Vera licence (`hub/assets/fonts/LICENSE.dejavu`). Compiled into the binary: nothing is
//! read from the system or fetched at run time.

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont};
use std::sync::OnceLock;
use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::UnicodeNormalization;

const REGULAR: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");

/// Regular or bold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    Regular,
    Bold,
}

/// The font of `w` (parsed once).
pub fn font(w: Weight) -> &'static FontRef<'static> {
    static FONTS: OnceLock<(FontRef<'static>, FontRef<'static>)> = OnceLock::new();
    let (r, b) = FONTS.get_or_init(|| {
        (
            FontRef::try_from_slice(REGULAR).expect("bundled DejaVu Sans parses"),
            FontRef::try_from_slice(BOLD).expect("bundled DejaVu Sans Bold parses"),
        )
    });
    match w {
        Weight::Regular => r,
        Weight::Bold => b,
    }
}

/// One glyph to draw: its id, whether it is a combining mark (drawn over the glyph before it, no
/// advance of its own), and the character it stands for.
#[derive(Debug, Clone, Copy)]
pub struct Shaped {
    pub id: GlyphId,
    pub mark: bool,
    pub ch: char,
}

/// `text` as glyphs of `w`: NFC first (Vietnamese letters are precomposed glyphs); a character the font
/// lacks precomposed is drawn as its base and combining marks (NFD). `None` when some character has no
/// glyph at all (a script the bundled font does not cover, e.g. Khmer or Tai Viet): the caller prints
/// that text in Vietnamese instead.
pub fn shape(text: &str, w: Weight) -> Option<Vec<Shaped>> {
    let f = font(w);
    let mut out = Vec::new();
    for c in text.nfc() {
        let id = f.glyph_id(c);
        if id.0 != 0 {
            out.push(Shaped {
                id,
                mark: canonical_combining_class(c) != 0,
                ch: c,
            });
            continue;
        }
        for d in std::iter::once(c).nfd() {
            let id = f.glyph_id(d);
            if id.0 == 0 {
                return None;
            }
            out.push(Shaped {
                id,
                mark: canonical_combining_class(d) != 0,
                ch: d,
            });
        }
    }
    Some(out)
}

/// Whether every character of `text` can be printed with the bundled fonts.
pub fn covers(text: &str) -> bool {
    shape(text, Weight::Regular).is_some() && shape(text, Weight::Bold).is_some()
}

/// The advance of `g` at `px` pixels (0 for a combining mark), in pixels.
pub fn advance(w: Weight, px: f32, g: &Shaped) -> f32 {
    if g.mark {
        0.0
    } else {
        font(w).as_scaled(PxScale::from(px)).h_advance(g.id)
    }
}

/// The width of `glyphs` at `px` pixels.
pub fn width(w: Weight, px: f32, glyphs: &[Shaped]) -> f32 {
    glyphs.iter().map(|g| advance(w, px, g)).sum()
}

/// Ascent and descent (negative) of `w` at `px` pixels.
pub fn metrics(w: Weight, px: f32) -> (f32, f32) {
    let s = font(w).as_scaled(PxScale::from(px));
    (s.ascent(), s.descent())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_and_minority_latin_letters_have_glyphs() {
        // Vietnamese with every tone on every vowel shape; Ê Đê / Jrai / Bahnar breves; H'Mông RPA.
        for s in [
            "Giấy biên nhận hồ sơ — Hẹn trả kết quả: 15/12/2026",
            "ẮẰẲẴẶ ẤẦẨẪẬ ẾỀỂỄỆ ỐỒỔỖỘ ỚỜỞỠỢ ỨỪỬỮỰ Đđ ƠơƯư",
            "Êa drei ĕ ŏ ŭ ĭ ă Ƀ ƀ Č č Ñ ñ",
            "Nyob zoo, koj puas tau noj mov? Kuv lub npe hu ua Ntxawg",
        ] {
            assert!(covers(s), "{s}");
        }
        // A letter written with a combining mark the font has no precomposed glyph for: base + mark.
        let g = shape("ơ\u{306}", Weight::Regular).unwrap();
        assert_eq!(g.len(), 2);
        assert!(g[1].mark && !g[0].mark);
        // A script the bundled font lacks (Khmer) is reported, not drawn as boxes.
        assert!(!covers("ខ្មែរ"));
    }

    #[test]
    fn decomposed_input_is_printed_precomposed() {
        let nfd: String = "Hẹn trả".nfd().collect();
        let g = shape(&nfd, Weight::Bold).unwrap();
        assert_eq!(g.iter().filter(|g| g.mark).count(), 0);
        assert_eq!(g.len(), "Hẹn trả".chars().count());
    }
}
