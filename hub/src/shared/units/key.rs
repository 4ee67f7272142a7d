//! Search keys: what a name is compared by. Lower-case, every diacritic removed (tone marks and vowel marks
//! alike, `đ` → `d`), any run of non-alphanumeric characters collapsed to one space. Removing all marks makes
//! the key independent of where a source put the tone mark ("Khánh Hoà" / "Khánh Hòa") and of NFC / NFD
//! encoding, and lets people type without diacritics ("bu gia map").

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// The search key of `s`. Only lower-case alphanumerics and single spaces remain, so a key never contains
/// SQL `LIKE` wildcards (`%`, `_`).
pub fn search_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.to_lowercase().nfd() {
        if is_combining_mark(c) {
            continue;
        }
        let c = match c {
            'đ' | 'ɖ' => 'd',
            other => other,
        };
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        } else {
            space = true;
        }
    }
    out
}

/// NFC form of `s`, trimmed.
pub fn nfc(s: &str) -> String {
    s.trim().nfc().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tone_placement_does_not_matter() {
        // "Hoà": grave on the a (new style); "Hòa": grave on the o (old style).
        assert_eq!(search_key("Khánh Hoà"), "khanh hoa");
        assert_eq!(search_key("Khánh Hòa"), "khanh hoa");
        assert_eq!(search_key("Thanh Hoá"), search_key("Thanh Hóa"));
        assert_eq!(search_key("Thuỷ"), search_key("Thủy"));
    }

    #[test]
    fn diacritics_d_bar_case_and_encoding() {
        assert_eq!(search_key("Bù Gia Mập"), "bu gia map");
        assert_eq!(search_key("bu gia map"), "bu gia map");
        assert_eq!(search_key("ĐỒNG NAI"), "dong nai");
        assert_eq!(search_key("Đắk Lắk"), "dak lak");
        assert_eq!(search_key("Thành phố Hồ Chí Minh"), "thanh pho ho chi minh");
        // Decomposed (NFD) input gives the same key as composed input.
        let nfd: String = "Khánh Hoà".nfd().collect();
        assert_ne!(nfd, "Khánh Hoà");
        assert_eq!(search_key(&nfd), "khanh hoa");
        assert_eq!(search_key("Cư M'gar"), "cu m gar");
    }

    #[test]
    fn punctuation_and_spaces_collapse_and_wildcards_vanish() {
        assert_eq!(search_key("  Phú  Hoà 2 "), "phu hoa 2");
        assert_eq!(search_key("50%_off"), "50 off");
        assert_eq!(search_key("!!!"), "");
        assert_eq!(search_key(""), "");
    }

    #[test]
    fn nfc_composes_and_trims() {
        let nfd: String = "Hoà".nfd().collect();
        assert_eq!(nfc(&format!(" {nfd}\n")), "Hoà");
    }
}
