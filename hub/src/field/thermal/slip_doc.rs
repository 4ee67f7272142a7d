//! What the thermal slip says, as blocks for [`super::page::layout`]: the same content as the web slip's
//! 58 mm layout (client-web/slip.js): the villager's language first, then Vietnamese (Vietnamese alone
//! when that is the villager's language, or when their language lacks a text or the printer fonts cannot
//! write it); the receipt code; one QR (the tracking URL) with the lookup key and the URL under it; the
//! due date; where to go; only the papers that apply; keep this paper.

use protocol::Text;
use std::collections::BTreeMap;

use super::font::{self, Weight};
use super::page::Block;
use super::raster::{Align, Style};
use crate::field::seal::slip::Slip;
use crate::shared::lang::keys;
use crate::shared::texts::catalogue_key;

const SMALL: Style = Style {
    px: 20.0,
    weight: Weight::Regular,
};
const BODY: Style = Style {
    px: 22.0,
    weight: Weight::Regular,
};
const STRONG: Style = Style {
    px: 22.0,
    weight: Weight::Bold,
};
const TITLE: Style = Style {
    px: 24.0,
    weight: Weight::Bold,
};
const CODE: Style = Style {
    px: 34.0,
    weight: Weight::Bold,
};

/// The texts of the villager's language (`lang`): the UI strings and catalogue translations the hub
/// holds for it (empty for `vi` and `en`, which come with the binary).
pub struct Texts {
    pub lang: String,
    pub strings: BTreeMap<String, String>,
    /// Texts of `lang` left out because the printer fonts cannot write them (Vietnamese printed alone).
    pub unprintable: std::cell::Cell<usize>,
}

impl Texts {
    pub fn new(lang: &str, strings: BTreeMap<String, String>) -> Texts {
        Texts {
            lang: lang.to_string(),
            strings,
            unprintable: std::cell::Cell::new(0),
        }
    }

    fn printable(&self, s: Option<String>) -> Option<String> {
        let s = s.filter(|s| !s.trim().is_empty())?;
        if font::covers(&s) {
            Some(s)
        } else {
            self.unprintable.set(self.unprintable.get() + 1);
            None
        }
    }

    /// The UI string `key` in Vietnamese and, unless the villager reads Vietnamese, in their language.
    fn ui(&self, key: &str, vars: &[(&str, String)]) -> (Option<String>, String) {
        let fill = |s: &str| {
            vars.iter()
                .fold(s.to_string(), |s, (k, v)| s.replace(&format!("{{{k}}}"), v))
        };
        let src = keys::find(key);
        let vi = src.map(|s| fill(&s.vi)).unwrap_or_else(|| key.to_string());
        let l1 = match self.lang.as_str() {
            "vi" => None,
            "en" => src.map(|s| fill(&s.en)),
            _ => self.strings.get(key).map(|s| fill(s)),
        };
        (self.printable(l1).filter(|l| *l != vi), vi)
    }

    /// A catalogue text in Vietnamese and the villager's language.
    fn text(&self, t: &Text) -> (Option<String>, String) {
        let l1 = match self.lang.as_str() {
            "vi" => None,
            "en" => Some(t.en.clone()),
            l => self
                .strings
                .get(&catalogue_key(&t.vi))
                .cloned()
                .or_else(|| t.more.get(l).cloned()),
        };
        (self.printable(l1).filter(|l| *l != t.vi), t.vi.clone())
    }
}

fn para(text: impl Into<String>, style: Style) -> Block {
    Block::Text {
        text: text.into(),
        style,
        align: Align::Left,
        indent: 0.0,
    }
}

fn centred(text: impl Into<String>, style: Style) -> Block {
    Block::Text {
        text: text.into(),
        style,
        align: Align::Centre,
        indent: 0.0,
    }
}

/// The villager's text, then the Vietnamese one after a slash (as the web slip writes them): one
/// paragraph, wrapped, so short labels take one line.
fn joined((l1, vi): (Option<String>, String)) -> String {
    match l1 {
        Some(l1) => format!("{l1} / {vi}"),
        None => vi,
    }
}

fn both(out: &mut Vec<Block>, t: (Option<String>, String), style: Style, align: Align) {
    out.push(Block::Text {
        text: joined(t),
        style,
        align,
        indent: 0.0,
    });
}

/// "label: value", the label in both languages.
fn labelled(out: &mut Vec<Block>, label: (Option<String>, String), value: &str, style: Style) {
    out.push(para(format!("{}: {value}", joined(label)), style));
}

/// `2026-12-07` as `07/12/2026`; anything else as it is.
pub fn vn_date(iso: &str) -> String {
    let p: Vec<&str> = iso.get(..10).unwrap_or(iso).split('-').collect();
    match p.as_slice() {
        [y, m, d] if y.len() == 4 => format!("{d}/{m}/{y}"),
        _ => iso.to_string(),
    }
}

/// The slip's blocks.
pub fn blocks(s: &Slip, tx: &Texts) -> Vec<Block> {
    let mut out = Vec::new();
    let d = &s.due;
    let active = !matches!(s.receipt.disposition.as_str(), "refused" | "voids");
    out.push(para(
        format!("{}, {}", s.hub_name, vn_date(&d.sealed_on)),
        SMALL,
    ));
    out.push(Block::Gap(6));
    both(
        &mut out,
        tx.text(&s.receipt.procedure_title),
        TITLE,
        Align::Left,
    );
    out.push(Block::Gap(6));
    both(&mut out, tx.ui("receipt.code", &[]), SMALL, Align::Centre);
    out.push(centred(s.receipt.code.clone(), CODE));
    out.push(Block::Qr(s.tracking_url.clone()));
    both(
        &mut out,
        tx.ui("slip.track_short", &[]),
        SMALL,
        Align::Centre,
    );
    out.push(centred(
        format!(
            "{} {}",
            joined(tx.ui("slip.key", &[])).trim_end(),
            s.tracking_key
        ),
        STRONG,
    ));
    out.push(centred(s.tracking_url.clone(), SMALL));
    out.push(Block::Rule);
    if active {
        let n = d.time_limit_working_days.to_string();
        labelled(
            &mut out,
            tx.ui("slip.due_by", &[]),
            &vn_date(&d.due_by),
            STRONG,
        );
        both(
            &mut out,
            tx.ui("slip.due_rule_short", &[("n", n)]),
            SMALL,
            Align::Left,
        );
        if let Some(ext) = &d.due_by_extended {
            labelled(
                &mut out,
                tx.ui("slip.due_extended_short", &[]),
                &vn_date(ext),
                BODY,
            );
        }
    }
    labelled(
        &mut out,
        tx.ui("slip.where_short", &[]),
        &joined(tx.text(&s.authority)),
        BODY,
    );
    if active && !s.originals.is_empty() {
        out.push(Block::Gap(4));
        both(
            &mut out,
            tx.ui("slip.originals_short", &[]),
            STRONG,
            Align::Left,
        );
        for o in &s.originals {
            let when = if o.visit == protocol::Visit::Pickup {
                "slip.at_pickup_short"
            } else {
                "slip.at_capture_short"
            };
            let cond = o
                .only_if
                .as_ref()
                .map(|c| format!(" ({})", joined(tx.text(c))))
                .unwrap_or_default();
            out.push(Block::Text {
                text: format!(
                    "- {} — {}{cond}",
                    joined(tx.text(&o.label)),
                    joined(tx.ui(when, &[]))
                ),
                style: BODY,
                align: Align::Left,
                indent: 16.0,
            });
        }
    }
    if !active {
        out.push(Block::Gap(4));
        both(
            &mut out,
            tx.ui(&format!("disp.{}", s.receipt.disposition), &[]),
            STRONG,
            Align::Left,
        );
    }
    out.push(Block::Gap(6));
    both(&mut out, tx.ui("slip.keep_short", &[]), BODY, Align::Left);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_day_first() {
        assert_eq!(vn_date("2026-12-07"), "07/12/2026");
        assert_eq!(vn_date("soon"), "soon");
    }

    #[test]
    fn the_villagers_language_comes_first_and_vietnamese_always() {
        let mut strings = BTreeMap::new();
        strings.insert("receipt.code".to_string(), "Mã ntawv".to_string());
        let tx = Texts::new("hnj", strings);
        let (l1, vi) = tx.ui("receipt.code", &[]);
        assert_eq!(l1.as_deref(), Some("Mã ntawv"));
        assert_eq!(vi, "Mã biên nhận");
        // Untranslated: Vietnamese alone.
        assert_eq!(tx.ui("slip.keep_short", &[]).0, None);
        // A script the printer fonts lack: Vietnamese alone, and counted.
        let mut strings = BTreeMap::new();
        strings.insert("receipt.code".to_string(), "លេខ".to_string());
        let tx = Texts::new("km", strings);
        assert_eq!(tx.ui("receipt.code", &[]).0, None);
        assert_eq!(tx.unprintable.get(), 1);
    }

    fn text(vi: &str, en: &str) -> Text {
        Text {
            vi: vi.into(),
            en: en.into(),
            more: Default::default(),
            audio: Default::default(),
        }
    }

    /// A slip as `seal::slip::slip_of` makes it, for receipt `disposition`.
    fn slip(disposition: &str) -> Slip {
        use crate::field::seal::engine::Receipt;
        use crate::field::seal::slip::{Due, Original};
        Slip {
            hub_name: "Xã Bù Lu".into(),
            receipt: Receipt {
                code: "0576-4731-3978-80".into(),
                tracking_number: Some("ab12-7".into()),
                qr: None,
                dossier_id: "d1".into(),
                procedure: protocol::ProcedureRef {
                    id: "marital-status-certificate".into(),
                    version: 1,
                },
                procedure_title: text(
                    "Cấp Giấy xác nhận tình trạng hôn nhân",
                    "Certificate of marital status",
                ),
                sealed_at: "2026-12-07T03:00:00Z".into(),
                protected: true,
                seq: Some(7),
                disposition: disposition.into(),
                refers_to: None,
            },
            code_compact: "05764731397880".into(),
            tracking_key: "1234-5678-9012-34".into(),
            tracking_url: "https://10.42.0.1/#/r/05764731397880?k=12345678901234".into(),
            authority: text("Ủy ban nhân dân cấp xã", "Commune People's Committee"),
            originals: vec![Original {
                role: "id_document".into(),
                label: text("Giấy tờ tùy thân", "Identity document"),
                visit: protocol::Visit::Capture,
                help: None,
                only_if: None,
            }],
            originals_apply: true,
            lang: Some("en".into()),
            due: Due {
                sealed_on: "2026-12-07".into(),
                counted_from: "2026-12-08".into(),
                time_limit_working_days: 3,
                time_limit_extended_working_days: None,
                due_by: "2026-12-10".into(),
                due_by_extended: None,
                excludes_public_holidays: true,
                holidays_known: true,
                authority: text("Ủy ban nhân dân cấp xã", "Commune People's Committee"),
                note: None,
            },
            next_session: None,
            languages: vec!["vi".into(), "en".into()],
        }
    }

    fn lines(s: &Slip, lang: &str) -> Vec<String> {
        let page = super::super::page::layout(
            &blocks(s, &Texts::new(lang, BTreeMap::new())),
            384,
            true,
            5,
        )
        .unwrap();
        assert!(page.length_mm(4) <= 150.0, "{} mm", page.length_mm(4));
        assert_eq!(page.qr.as_deref(), Some(s.tracking_url.as_str()));
        page.lines
    }

    #[test]
    fn the_slip_says_the_code_the_key_the_date_and_the_papers_in_both_languages() {
        let s = slip("new");
        let all = lines(&s, "en").join(" ");
        for want in [
            "0576-4731-3978-80",
            "1234-5678-9012-34",
            "10/12/2026",
            "07/12/2026",
            "Certificate of marital status / Cấp Giấy",
            "Identity document / Giấy tờ tùy thân",
        ] {
            assert!(all.contains(want), "{want} missing from:\n{all}");
        }
        // Vietnamese alone: no English.
        let vi = lines(&s, "vi").join("\n");
        assert!(
            !vi.contains("Identity document") && vi.contains("Giấy tờ tùy thân"),
            "{vi}"
        );
    }

    #[test]
    fn a_refusal_asks_for_no_papers_and_says_it_was_refused() {
        let vi = lines(&slip("refused"), "vi").join("\n");
        assert!(
            !vi.contains("Giấy tờ tùy thân") && !vi.contains("Hẹn trả"),
            "{vi}"
        );
        let disp = keys::find("disp.refused").unwrap().vi.clone();
        assert!(vi.contains(&disp), "{vi}");
    }
}
