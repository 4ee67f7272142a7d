//! The inventory of translatable texts, each with a stable key and its Vietnamese source (and English):
//! - UI strings of the web client (`client-web/i18n/vi.json`, `en.json`), keyed as there;
//! - catalogue labels (procedure titles, group titles, field labels and help, option labels, document
//!   names and help), keyed `cat.` + 12 hex digits of the SHA-256 of the NFC Vietnamese text, so the same
//!   label used in many places ("Dân tộc") is translated and recorded once, and a changed source text
//!   needs a fresh translation;
//! - guide texts (the `guide` of each procedure package), keyed `guide.<procedure-id>.<part>`.
//!
//! Each text also says where a villager meets it (`page`, see [`Page`]), so the languages page lists
//! first the texts the team must record before a session: the front door, the guides, the
//! pre-declaration, the receipt status page and the slip, not the office's and team's screens.

use std::collections::BTreeMap;
use std::sync::RwLock;

use serde::Serialize;
use unicode_normalization::UnicodeNormalization;

pub use crate::shared::texts::{catalogue_key, Keyed};

const UI_VI: &str = include_str!("../../../../client-web/i18n/vi.json");
const UI_EN: &str = include_str!("../../../../client-web/i18n/en.json");

/// Where a text comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = TextGroup)]
pub enum Group {
    Ui,
    Catalogue,
    Guide,
}

/// The villager's page a text is first met on, in the order a villager goes (`front` … `slip`), or
/// `team` for the office's and team's screens (which villagers do not hear). A text on several pages
/// takes the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = TextPage)]
pub enum Page {
    /// The villagers' front door (the hub's address, not logged in): language, the three choices.
    Front,
    /// The public guides: what to bring, steps, fees, time limit.
    Guides,
    /// The self-service pre-declaration: its form (labels, hints, choices from the catalogue) and the
    /// done screen with the number to show.
    Predeclare,
    /// The receipt status page (`#/r/<code>`) with the office's news.
    Status,
    /// The printed slip.
    Slip,
    /// Office and team screens.
    Team,
}

impl Page {
    /// Whether villagers meet texts of this page.
    pub fn villager(self) -> bool {
        self != Page::Team
    }
}

/// The web client's UI keys villagers meet, by page: a pattern ending with `.` is a prefix, others are
/// whole keys. The first matching page wins (a key used on several pages is recorded once).
const UI_PAGES: &[(Page, &[&str])] = &[
    // The front door also shows the listen button's word and the language menu's label.
    (Page::Front, &["front.", "lang.listen", "lang.label"]),
    (Page::Guides, &["guides."]),
    (
        Page::Predeclare,
        &[
            "ask.",
            "form.",
            "sex.",
            "ui.yes",
            "ui.no",
            "self.language",
            "self.intro",
            "self.privacy",
            "self.send",
            "self.secure_offer",
            "self.secure_link",
            "self.done_title",
            "self.done_show",
            "self.ticket",
            "self.pickup_number",
            "self.done_next",
            "self.done_next_queue",
            "digit.",
            "lang.fallback_note",
            "err.offline",
            "err.offline_hint",
            "err.timeout",
        ],
    ),
    (
        Page::Status,
        &[
            "self.",
            "receipt.code",
            "news.status.",
            "news.from_on",
            "news.from_until",
            "news.latest",
            "news.when",
            "news.where",
        ],
    ),
    (Page::Slip, &["slip.", "receipt.print", "receipt.qr_alt"]),
];

/// The page of UI key `key` (see [`UI_PAGES`]).
pub fn ui_page(key: &str) -> Page {
    UI_PAGES
        .iter()
        .find(|(_, pats)| {
            pats.iter().any(|p| {
                if p.ends_with('.') {
                    key.starts_with(p)
                } else {
                    key == *p
                }
            })
        })
        .map_or(Page::Team, |(page, _)| *page)
}

/// One translatable text.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    pub key: String,
    pub group: Group,
    /// Where villagers meet it first, or `team`.
    pub page: Page,
    /// The procedures whose villager pages (guide, pre-declaration) say it, for a catalogue or guide
    /// text; empty for UI texts (every procedure's pages say them) and texts only the team meets. Lets the
    /// team record for the procedures of a session only.
    pub procedures: Vec<String>,
    /// Vietnamese source text (NFC).
    pub vi: String,
    pub en: String,
    /// Where it is used, for translators (e.g. `marital-status-certificate: field subject.full_name`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub context: String,
}

struct Inventory {
    list: Vec<Source>,
    by_key: BTreeMap<String, usize>,
}

/// The inventory, made again when a procedure package was added since (a package pulled at a sync brings
/// labels and a guide to translate). Each one made lives as long as the process: packages are few.
fn inventory() -> &'static Inventory {
    static INV: RwLock<Option<(usize, &'static Inventory)>> = RwLock::new(None);
    let now = crate::shared::procedures::registry::generation();
    if let Some((g, inv)) = *INV.read().unwrap_or_else(|e| e.into_inner()) {
        if g == now {
            return inv;
        }
    }
    let inv: &'static Inventory = Box::leak(Box::new(build()));
    *INV.write().unwrap_or_else(|e| e.into_inner()) = Some((now, inv));
    inv
}

/// Every translatable text, UI first, then catalogue, then guides.
pub fn all() -> &'static [Source] {
    &inventory().list
}

/// The source of `key`, if it is a known translatable text.
pub fn find(key: &str) -> Option<&'static Source> {
    let inv = inventory();
    inv.by_key.get(key).map(|&i| &inv.list[i])
}

fn build() -> Inventory {
    let mut inv = Inventory {
        list: Vec::new(),
        by_key: BTreeMap::new(),
    };
    let mut push = |s: Source| match inv.by_key.get(&s.key) {
        // The same wording used again (a catalogue label in many places): the first page a villager
        // meets it on.
        Some(&i) => {
            let t = &mut inv.list[i];
            t.page = t.page.min(s.page);
            for p in s.procedures {
                if !t.procedures.contains(&p) {
                    t.procedures.push(p);
                }
            }
        }
        None => {
            inv.by_key.insert(s.key.clone(), inv.list.len());
            inv.list.push(s);
        }
    };
    // The web client's own strings. Both files ship in this binary; a parse failure is a build bug
    // caught by the unit test below, and leaves the UI group empty rather than stopping the hub.
    let vi: BTreeMap<String, String> = serde_json::from_str(UI_VI).unwrap_or_default();
    let en: BTreeMap<String, String> = serde_json::from_str(UI_EN).unwrap_or_default();
    let ui_order: Vec<String> = ordered_keys(UI_VI);
    for k in ui_order {
        if k.starts_with('_') {
            continue;
        }
        if let Some(v) = vi.get(&k) {
            push(Source {
                key: k.clone(),
                group: Group::Ui,
                page: ui_page(&k),
                procedures: Vec::new(),
                vi: v.nfc().collect(),
                en: en.get(&k).cloned().unwrap_or_default(),
                context: String::new(),
            });
        }
    }
    // Catalogue labels: titles, authorities, time limits and documents are on the guides; the fields the
    // villager's own form shows (labels, hints, choices, group titles) on the pre-declaration; the rest
    // (the officer's groups, commune pickers) on the team's screens.
    for def in crate::shared::procedures::all() {
        let mut cat = |t: &protocol::Text, page: Page, what: String| {
            push(Source {
                key: catalogue_key(&t.vi),
                group: Group::Catalogue,
                page,
                procedures: if page.villager() {
                    vec![def.id.clone()]
                } else {
                    Vec::new()
                },
                vi: t.vi.nfc().collect(),
                en: t.en.clone(),
                context: format!("{}: {what}", def.id),
            })
        };
        cat(&def.title, Page::Guides, "title".into());
        cat(&def.authority, Page::Guides, "authority".into());
        if let Some(n) = &def.time_limit_note {
            cat(n, Page::Guides, "time limit".into());
        }
        for g in &def.groups {
            let shown = g
                .fields
                .iter()
                .any(|f| crate::shared::procedures::in_self_service(&g.id, f));
            let page = |on: bool| if on { Page::Predeclare } else { Page::Team };
            cat(&g.title, page(shown), format!("group {}", g.id));
            for f in &g.fields {
                let p = page(crate::shared::procedures::in_self_service(&g.id, f));
                cat(&f.label, p, format!("field {}", f.key));
                if let Some(h) = &f.help {
                    cat(h, p, format!("help of {}", f.key));
                }
                for o in &f.options {
                    cat(&o.label, p, format!("option {} of {}", o.value, f.key));
                }
            }
        }
        for d in &def.documents {
            cat(&d.label, Page::Guides, format!("document {}", d.role));
            if let Some(h) = &d.help {
                cat(h, Page::Guides, format!("help of document {}", d.role));
            }
            // "Needed when <field> is <value>": the guide says that field's label and those choices.
            let Some(c) = &d.required_if else { continue };
            let Some(f) = def.field(&c.field) else {
                continue;
            };
            cat(&f.label, Page::Guides, format!("field {}", f.key));
            let named: Vec<&String> = c
                .equals
                .iter()
                .chain(&c.not_equals)
                .chain(c.one_of.iter().flatten())
                .collect();
            for o in f.options.iter().filter(|o| named.contains(&&o.value)) {
                cat(
                    &o.label,
                    Page::Guides,
                    format!("option {} of {}", o.value, f.key),
                );
            }
        }
    }
    // Guide texts.
    for t in crate::shared::guides::texts() {
        push(Source {
            key: t.key.clone(),
            group: Group::Guide,
            page: Page::Guides,
            // `guide.<procedure-id>.<part>`
            procedures: t
                .key
                .strip_prefix("guide.")
                .and_then(|r| r.split_once('.'))
                .map(|(id, _)| vec![id.to_string()])
                .unwrap_or_default(),
            vi: t.vi.clone(),
            en: t.en.clone(),
            context: String::new(),
        });
    }
    inv
}

/// The keys of a flat JSON object in file order (so translators meet UI strings screen by screen).
fn ordered_keys(json: &str) -> Vec<String> {
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(json).unwrap_or_default();
    let mut keys: Vec<(usize, String)> = map
        .keys()
        .map(|k| {
            let pos = json.find(&format!("\"{k}\"")).unwrap_or(usize::MAX);
            (pos, k.clone())
        })
        .collect();
    keys.sort();
    keys.into_iter().map(|(_, k)| k).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventory_has_all_three_groups_with_unique_keys() {
        let all = all();
        assert!(all.iter().filter(|s| s.group == Group::Ui).count() > 100);
        assert!(all.iter().any(|s| s.group == Group::Catalogue));
        assert!(all.iter().any(|s| s.group == Group::Guide));
        let mut keys: Vec<&str> = all.iter().map(|s| s.key.as_str()).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), all.len());
        assert!(all.iter().all(|s| !s.vi.trim().is_empty()));
        assert_eq!(all[0].key, "app.name", "UI keys keep file order");
    }

    #[test]
    fn villager_pages_first_met() {
        assert_eq!(ui_page("front.title"), Page::Front);
        assert_eq!(ui_page("guides.bring"), Page::Guides);
        assert_eq!(ui_page("self.send"), Page::Predeclare);
        assert_eq!(ui_page("self.look_up"), Page::Status);
        assert_eq!(ui_page("news.status.registered"), Page::Status);
        assert_eq!(ui_page("slip.heading"), Page::Slip);
        assert_eq!(ui_page("ledger.title"), Page::Team);
        assert_eq!(ui_page("news.publish"), Page::Team, "the team's news page");
        assert_eq!(
            ui_page("selfish"),
            Page::Team,
            "a prefix is a whole segment"
        );
        let all = all();
        let page_of = |vi: &str| {
            find(&catalogue_key(vi))
                .unwrap_or_else(|| panic!("{vi}"))
                .page
        };
        // A procedure title is on the guides; the villager's own fields on the pre-declaration; the
        // officer's declaration group on the team's screens only.
        assert_eq!(
            page_of("Cấp Giấy xác nhận tình trạng hôn nhân"),
            Page::Guides
        );
        let m = crate::shared::procedures::all()
            .into_iter()
            .find(|d| d.id == "marital-status-certificate")
            .unwrap();
        let shown = m
            .groups
            .iter()
            .flat_map(|g| g.fields.iter().map(move |f| (g, f)))
            .find(|(g, f)| crate::shared::procedures::in_self_service(&g.id, f) && f.help.is_some())
            .unwrap();
        assert!(page_of(&shown.1.help.as_ref().unwrap().vi) <= Page::Predeclare);
        assert!(page_of(&shown.1.label.vi) <= Page::Predeclare);
        let team: Vec<&Source> = all
            .iter()
            .filter(|s| s.group == Group::Catalogue && s.page == Page::Team)
            .collect();
        assert!(!team.is_empty(), "the officer's groups are the team's");
        assert!(
            team.iter().all(|s| s.context.contains("declaration")
                || s.context.contains("addressee")
                || s.context.contains("commune")),
            "{:?}",
            team.iter().map(|s| &s.context).collect::<Vec<_>>()
        );
        assert!(all
            .iter()
            .filter(|s| s.group == Group::Guide)
            .all(|s| s.page == Page::Guides));
        // Per procedure: a villager text of the catalogue or a guide names its procedures.
        assert!(all
            .iter()
            .filter(|s| s.group != Group::Ui && s.page.villager())
            .all(|s| !s.procedures.is_empty()));
        assert!(all
            .iter()
            .filter(|s| s.group == Group::Ui || !s.page.villager())
            .all(|s| s.procedures.is_empty()));
        let title = find(&catalogue_key(&m.title.vi)).unwrap();
        assert!(title.procedures.contains(&m.id), "{:?}", title.procedures);
        let villager = all.iter().filter(|s| s.page.villager()).count();
        assert!(
            villager > 100 && villager < all.len() / 2,
            "{villager} of {}",
            all.len()
        );
    }

    #[test]
    fn catalogue_keys_follow_the_wording() {
        let a = catalogue_key("Dân tộc");
        assert_eq!(
            a,
            catalogue_key("Da\u{302}n to\u{302}\u{323}c"),
            "NFC before hashing"
        );
        assert_ne!(a, catalogue_key("Quốc tịch"));
        assert!(find(&catalogue_key(
            &crate::shared::procedures::all()[0].title.vi
        ))
        .is_some());
    }
}
