//! Public procedure guides (no login): what a procedure is for, who may ask, what to bring, the steps,
//! fees and the time limit, in plain words, for a volunteer to read or play aloud and for villagers'
//! phones on the hub's Wi-Fi.
//!
//! The documents to bring and the time limit come from the catalogue as this hub serves it (configured
//! limits applied); purpose, who may ask, steps and fees are data in `guides.json` (vi and en). Every text
//! carries a key (`texts`) so it can be translated and recorded in further languages.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::shared::error::ApiError;
use crate::shared::state::Catalogue;
use crate::shared::texts::Keyed;

const SOURCE: &str = include_str!("guides.json");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pair {
    vi: String,
    en: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GuideSource {
    purpose: Pair,
    who: Vec<Pair>,
    steps: Vec<Pair>,
    fees: Pair,
}

/// The hand-written part of one guide, each text with its key.
#[derive(Debug, Clone)]
pub struct GuideText {
    pub purpose: Keyed,
    pub who: Vec<Keyed>,
    pub steps: Vec<Keyed>,
    pub fees: Keyed,
}

fn keyed(id: &str, part: &str, p: &Pair) -> Keyed {
    use unicode_normalization::UnicodeNormalization;
    Keyed {
        key: format!("guide.{id}.{part}"),
        vi: p.vi.nfc().collect(),
        en: p.en.clone(),
    }
}

/// Guide texts by procedure id. The file ships in the binary; the unit test below proves it parses.
fn guides() -> &'static BTreeMap<String, GuideText> {
    static G: OnceLock<BTreeMap<String, GuideText>> = OnceLock::new();
    G.get_or_init(|| {
        let src: BTreeMap<String, GuideSource> = serde_json::from_str(SOURCE).unwrap_or_default();
        src.into_iter()
            .map(|(id, g)| {
                let n = |prefix: &str, v: &[Pair]| -> Vec<Keyed> {
                    v.iter()
                        .enumerate()
                        .map(|(i, p)| keyed(&id, &format!("{prefix}.{}", i + 1), p))
                        .collect()
                };
                let t = GuideText {
                    purpose: keyed(&id, "purpose", &g.purpose),
                    who: n("who", &g.who),
                    steps: n("step", &g.steps),
                    fees: keyed(&id, "fees", &g.fees),
                };
                (id, t)
            })
            .collect()
    })
}

/// Every guide text, for the translation inventory.
pub fn texts() -> Vec<Keyed> {
    guides()
        .values()
        .flat_map(|g| {
            std::iter::once(g.purpose.clone())
                .chain(g.who.iter().cloned())
                .chain(g.steps.iter().cloned())
                .chain(std::iter::once(g.fees.clone()))
        })
        .collect()
}

/// When a document is needed, in words a client composes: "<field> is (not) <value>".
#[derive(Debug, Serialize)]
pub struct When {
    pub field: Keyed,
    pub value: Keyed,
    pub negate: bool,
}

/// A document to bring.
#[derive(Debug, Serialize)]
pub struct Bring {
    pub role: String,
    pub label: Keyed,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<Keyed>,
    /// Always needed (else only `when` holds, or only if the villager has it).
    pub required: bool,
    /// The original paper must be shown (else a copy will do).
    pub original: bool,
    /// `capture`: bring it to the session; `pickup`: bring it when collecting the result.
    pub visit: protocol::Visit,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<When>,
}

fn bring(def: &protocol::ProcedureDef, d: &protocol::DocumentDef) -> Bring {
    let when = d.required_if.as_ref().and_then(|c| {
        let f = def.field(&c.field)?;
        let (value, negate) = match (&c.equals, &c.not_equals) {
            (Some(v), _) => (v, false),
            (None, Some(v)) => (v, true),
            _ => return None,
        };
        let opt = f.options.iter().find(|o| &o.value == value)?;
        Some(When {
            field: Keyed::catalogue(&f.label),
            value: Keyed::catalogue(&opt.label),
            negate,
        })
    });
    Bring {
        role: d.role.clone(),
        label: Keyed::catalogue(&d.label),
        help: d.help.as_ref().map(Keyed::catalogue),
        required: d.required,
        original: d.original,
        visit: d.visit,
        when,
    }
}

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, read))]
pub struct ApiDoc;

/// The public guide routes, on any router whose state gives the [`Catalogue`] (the app's, and a locked
/// hub's).
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Catalogue: axum::extract::FromRef<S>,
{
    Router::new()
        .route("/api/v1/guides", get(list))
        .route("/api/v1/guides/{procedure_id}", get(read))
}

/// The version of each procedure this hub serves that is in force today (the one a new dossier uses).
fn newest(procs: &[protocol::ProcedureDef]) -> Vec<&protocol::ProcedureDef> {
    let today = crate::shared::clock::today_vn();
    procs
        .iter()
        .filter(|p| {
            crate::shared::procedures::in_force(&p.id, today)
                .is_some_and(|n| n.version == p.version)
        })
        .collect()
}

/// The guides of the procedures this hub serves (public, no login): id, version, title and purpose.
#[utoipa::path(
    get,
    path = "/api/v1/guides",
    operation_id = "guides_list",
    tag = "guides",
    security(()),
    responses(
        (status = 200, description = "`{guides: [{procedure: {id, version}, title, purpose}]}`; texts are \
                                      keyed `{key, vi, en}`", body = Object),
    )
)]
async fn list(State(procedures): State<Catalogue>) -> Json<serde_json::Value> {
    let items: Vec<serde_json::Value> = newest(&procedures.defs())
        .into_iter()
        .filter_map(|p| {
            let g = guides().get(&p.id)?;
            Some(json!({
                "procedure": {"id": p.id, "version": p.version},
                "title": Keyed::catalogue(&p.title),
                "purpose": g.purpose,
            }))
        })
        .collect();
    Json(json!({ "guides": items }))
}

/// One procedure's guide (public, no login): purpose, who may ask, steps, fees, documents to bring
/// and the time limit.
#[utoipa::path(
    get,
    path = "/api/v1/guides/{procedure_id}",
    operation_id = "guides_read",
    tag = "guides",
    security(()),
    params(("procedure_id" = String, Path, description = "Procedure id, e.g. `marital-status-certificate`")),
    responses(
        (status = 200, description = "`{procedure, title, authority, purpose, who, steps, fees, bring, \
                                      time_limit}`", body = Object),
        (status = 404, description = "No such procedure or no guide for it", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn read(
    State(procedures): State<Catalogue>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let not_found = || ApiError::not_found("hướng dẫn cho thủ tục này", "Guide for this procedure");
    let defs = procedures.defs();
    let def = newest(&defs)
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(not_found)?;
    let g = guides().get(&id).ok_or_else(not_found)?;
    let bring: Vec<Bring> = def.documents.iter().map(|d| bring(def, d)).collect();
    Ok(Json(json!({
        "procedure": {"id": def.id, "version": def.version},
        "title": Keyed::catalogue(&def.title),
        "authority": Keyed::catalogue(&def.authority),
        "purpose": g.purpose,
        "who": g.who,
        "steps": g.steps,
        "fees": g.fees,
        "bring": bring,
        "time_limit": {
            "working_days": def.time_limit_working_days,
            "extended_working_days": def.time_limit_extended_working_days,
            "note": def.time_limit_note.as_ref().map(Keyed::catalogue),
        },
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_procedure_has_a_guide() {
        let src: BTreeMap<String, GuideSource> = serde_json::from_str(SOURCE).expect("guides.json");
        for p in crate::shared::procedures::all() {
            let g = src
                .get(&p.id)
                .unwrap_or_else(|| panic!("no guide for {}", p.id));
            assert!(g.steps.len() >= 3);
            for t in std::iter::once(&g.purpose).chain(&g.who).chain(&g.steps) {
                assert!(!t.vi.trim().is_empty() && !t.en.trim().is_empty());
            }
        }
        assert_eq!(guides().len(), src.len());
    }

    #[test]
    fn conditions_are_named_in_words() {
        let def = crate::shared::procedures::all()
            .into_iter()
            .find(|p| p.id == "marital-status-certificate")
            .unwrap();
        let d = def
            .documents
            .iter()
            .find(|d| d.role == "divorce_judgment")
            .unwrap();
        let b = bring(def, d);
        let w = b.when.expect("a condition");
        assert_eq!(w.field.vi, "Tình trạng hôn nhân");
        assert!(w.value.vi.contains("ly hôn"));
        assert!(!w.negate);
    }
}
