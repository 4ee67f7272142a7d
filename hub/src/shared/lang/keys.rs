//! The inventory of translatable texts, each with a stable key and its Vietnamese source (and English):
//! - UI strings of the web client (`client-web/i18n/vi.json`, `en.json`), keyed as there;
//! - catalogue labels (procedure titles, group titles, field labels and help, option labels, document
//!   names and help), keyed `cat.` + 12 hex digits of the SHA-256 of the NFC Vietnamese text, so the same
//!   label used in many places ("Dân tộc") is translated and recorded once, and a changed source text
//!   needs a fresh translation;
//! - guide texts (the `guide` of each procedure package), keyed `guide.<procedure-id>.<part>`.

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

/// One translatable text.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    pub key: String,
    pub group: Group,
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
    let mut push = |s: Source| {
        if !inv.by_key.contains_key(&s.key) {
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
                vi: v.nfc().collect(),
                en: en.get(&k).cloned().unwrap_or_default(),
                context: String::new(),
            });
        }
    }
    // Catalogue labels.
    for def in crate::shared::procedures::all() {
        let mut cat = |t: &protocol::Text, what: String| {
            push(Source {
                key: catalogue_key(&t.vi),
                group: Group::Catalogue,
                vi: t.vi.nfc().collect(),
                en: t.en.clone(),
                context: format!("{}: {what}", def.id),
            })
        };
        cat(&def.title, "title".into());
        cat(&def.authority, "authority".into());
        if let Some(n) = &def.time_limit_note {
            cat(n, "time limit".into());
        }
        for g in &def.groups {
            cat(&g.title, format!("group {}", g.id));
            for f in &g.fields {
                cat(&f.label, format!("field {}", f.key));
                if let Some(h) = &f.help {
                    cat(h, format!("help of {}", f.key));
                }
                for o in &f.options {
                    cat(&o.label, format!("option {} of {}", o.value, f.key));
                }
            }
        }
        for d in &def.documents {
            cat(&d.label, format!("document {}", d.role));
            if let Some(h) = &d.help {
                cat(h, format!("help of document {}", d.role));
            }
        }
    }
    // Guide texts.
    for t in crate::shared::guides::texts() {
        push(Source {
            key: t.key.clone(),
            group: Group::Guide,
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
