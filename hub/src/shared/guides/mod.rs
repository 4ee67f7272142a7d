//! Public procedure guides (no login): what a procedure is for, who may ask, what to bring, the steps,
//! fees and the time limit, in plain words, for a volunteer to read or play aloud and for villagers'
//! phones on the hub's Wi-Fi.
//!
//! Everything comes from the procedure package in force: the documents to bring and the time limit from
//! its procedure (configured limits applied), purpose, who may ask, steps and fees from its `guide`
//! (`protocol::package::PackageGuide`, authored in the package's `guide` sheet). A package published or
//! pulled later brings its guide with it. Every text carries a key (`texts`), `guide.<procedure-id>.<part>`,
//! so it can be translated and recorded in further languages; the key names the part, not the wording or
//! the version, so translations and recordings stay attached when a new version keeps the guide.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::shared::error::ApiError;
use crate::shared::state::Catalogue;
use crate::shared::texts::Keyed;

/// The hand-written part of one guide, each text with its key.
#[derive(Debug, Clone)]
pub struct GuideText {
    pub purpose: Keyed,
    pub who: Vec<Keyed>,
    pub steps: Vec<Keyed>,
    pub fees: Keyed,
}

impl GuideText {
    /// The guide of procedure `id` with its keys: `guide.<id>.purpose`, `.who.<n>`, `.step.<n>` (from 1),
    /// `.fees`.
    pub fn of(id: &str, g: &protocol::package::PackageGuide) -> GuideText {
        let keyed = |part: String, t: &protocol::Text| Keyed {
            key: format!("guide.{id}.{part}"),
            vi: t.vi.clone(),
            en: t.en.clone(),
        };
        let n = |prefix: &str, v: &[protocol::Text]| -> Vec<Keyed> {
            v.iter()
                .enumerate()
                .map(|(i, t)| keyed(format!("{prefix}.{}", i + 1), t))
                .collect()
        };
        GuideText {
            purpose: keyed("purpose".into(), &g.purpose),
            who: n("who", &g.who),
            steps: n("step", &g.steps),
            fees: keyed("fees".into(), &g.fees),
        }
    }

    /// Every text, in reading order.
    pub fn texts(&self) -> impl Iterator<Item = &Keyed> {
        std::iter::once(&self.purpose)
            .chain(&self.who)
            .chain(&self.steps)
            .chain(std::iter::once(&self.fees))
    }
}

/// The guide of the package of `def`'s procedure version, if it has one.
pub fn guide_of(def: &protocol::ProcedureDef) -> Option<GuideText> {
    let p = crate::shared::procedures::package(&def.reference())?;
    Some(GuideText::of(&def.id, p.guide.as_ref()?))
}

/// Every guide text, for the translation inventory: the versions in force today first, then the others'
/// texts under keys not seen yet (a key names the same part in every version of a procedure).
pub fn texts() -> Vec<Keyed> {
    let today = crate::shared::clock::today_vn();
    let mut seen = BTreeSet::new();
    crate::shared::procedures::in_force_all(today)
        .into_iter()
        .chain(crate::shared::procedures::all())
        .filter_map(guide_of)
        .flat_map(|g| g.texts().cloned().collect::<Vec<_>>())
        .filter(|k| seen.insert(k.key.clone()))
        .collect()
}

/// When a document is needed, in words a client composes: "<field> is (not) <value>".
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = GuideWhen)]
pub struct When {
    pub field: Keyed,
    pub value: Keyed,
    pub negate: bool,
}

/// A document to bring.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = GuideBring)]
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
    #[schema(value_type = crate::shared::api_doc::field_schemas::Visit)]
    pub visit: protocol::Visit,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<When>,
}

fn bring(def: &protocol::ProcedureDef, d: &protocol::DocumentDef) -> Bring {
    let when = d.required_if.as_ref().and_then(|c| {
        let f = def.field(&c.field)?;
        let (value, negate) = match (&c.equals, &c.not_equals, &c.one_of) {
            (Some(v), _, _) => (v, false),
            (None, Some(v), _) => (v, true),
            // "one of" in words: the one option listed, or "not" the one option left out.
            (None, None, Some(list)) => {
                let left: Vec<&String> = f
                    .options
                    .iter()
                    .map(|o| &o.value)
                    .filter(|v| !list.contains(v))
                    .collect();
                match (list.as_slice(), left.as_slice()) {
                    ([v], _) => (v, false),
                    (_, [v]) => (*v, true),
                    _ => return None,
                }
            }
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
        (status = 200, description = "The guides of the procedures in force; texts are keyed `{key, vi, en}`", body = GuideList),
    )
)]
async fn list(State(procedures): State<Catalogue>) -> Json<GuideList> {
    let guides = newest(&procedures.defs())
        .into_iter()
        .filter_map(|p| {
            let g = guide_of(p)?;
            Some(GuideItem {
                procedure: p.reference(),
                title: Keyed::catalogue(&p.title),
                purpose: g.purpose,
            })
        })
        .collect();
    Json(GuideList { guides })
}

/// The guides of the procedures this hub serves.
#[derive(Serialize, utoipa::ToSchema)]
struct GuideList {
    guides: Vec<GuideItem>,
}

/// One guide in the list.
#[derive(Serialize, utoipa::ToSchema)]
struct GuideItem {
    #[schema(value_type = crate::shared::api_doc::protocol::ProcedureRef)]
    procedure: protocol::ProcedureRef,
    title: Keyed,
    purpose: Keyed,
}

/// One procedure's guide.
#[derive(Serialize, utoipa::ToSchema)]
struct Guide {
    #[schema(value_type = crate::shared::api_doc::protocol::ProcedureRef)]
    procedure: protocol::ProcedureRef,
    title: Keyed,
    /// The deciding authority.
    authority: Keyed,
    purpose: Keyed,
    /// Who may ask.
    who: Vec<Keyed>,
    steps: Vec<Keyed>,
    fees: Keyed,
    /// The papers to bring.
    bring: Vec<Bring>,
    time_limit: GuideTimeLimit,
}

/// The legal time limit, in working days.
#[derive(Serialize, utoipa::ToSchema)]
struct GuideTimeLimit {
    working_days: u32,
    /// The longer limit when the case needs verification, when the law has one.
    extended_working_days: Option<u32>,
    note: Option<Keyed>,
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
        (status = 200, description = "The guide", body = Guide),
        (status = 404, description = "No such procedure or no guide for it", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn read(
    State(procedures): State<Catalogue>,
    Path(id): Path<String>,
) -> Result<Json<Guide>, ApiError> {
    let not_found = || ApiError::not_found("hướng dẫn cho thủ tục này", "Guide for this procedure");
    let defs = procedures.defs();
    let def = newest(&defs)
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(not_found)?;
    let g = guide_of(def).ok_or_else(not_found)?;
    let bring: Vec<Bring> = def.documents.iter().map(|d| bring(def, d)).collect();
    Ok(Json(Guide {
        procedure: def.reference(),
        title: Keyed::catalogue(&def.title),
        authority: Keyed::catalogue(&def.authority),
        purpose: g.purpose,
        who: g.who,
        steps: g.steps,
        fees: g.fees,
        bring,
        time_limit: GuideTimeLimit {
            working_days: def.time_limit_working_days,
            extended_working_days: def.time_limit_extended_working_days,
            note: def.time_limit_note.as_ref().map(Keyed::catalogue),
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_procedure_has_a_guide() {
        // The built-in packages (the process-wide registry also holds packages other tests add).
        let builtin = protocol::builtin_packages();
        for id in [
            "marital-status-certificate",
            "birth-residence-insurance",
            "death-registration-group",
        ] {
            assert!(
                builtin.iter().any(|p| p.procedure.id == id),
                "no built-in {id}"
            );
        }
        for p in builtin {
            let d = &p.procedure;
            let g = p
                .guide
                .as_ref()
                .unwrap_or_else(|| panic!("no guide for {} v{}", d.id, d.version));
            assert!(g.steps.len() >= 3 && !g.who.is_empty());
            let t = guide_of(d).expect("served from the package");
            assert_eq!(t.steps.len(), g.steps.len());
            for k in t.texts() {
                assert!(k.key.starts_with(&format!("guide.{}.", d.id)));
                assert!(!k.vi.trim().is_empty() && !k.en.trim().is_empty());
            }
            // Every version of a procedure tells villagers the same (translations attach by key).
            let first = builtin.iter().find(|q| q.procedure.id == d.id).unwrap();
            assert_eq!(first.guide, p.guide, "{} v{}", d.id, d.version);
        }
    }

    #[test]
    fn keys_stay_as_they_were_in_guides_json() {
        // The keys and texts the former hub/src/shared/guides/guides.json gave, so existing translations and recordings still attach.
        let def = crate::shared::procedures::in_force(
            "marital-status-certificate",
            crate::shared::clock::today_vn(),
        )
        .unwrap();
        let g = guide_of(def).unwrap();
        let keys: Vec<&str> = g.texts().map(|k| k.key.as_str()).collect();
        let p = "guide.marital-status-certificate";
        let want: Vec<String> = ["purpose", "who.1", "who.2"]
            .into_iter()
            .map(String::from)
            .chain((1..=6).map(|i| format!("step.{i}")))
            .chain(["fees".to_string()])
            .map(|k| format!("{p}.{k}"))
            .collect();
        assert_eq!(keys, want);
        assert_eq!(
            g.steps[0].vi,
            "Lấy số thứ tự và chờ đến lượt trên màn hình."
        );
        assert!(g.purpose.vi.starts_with("Giấy xác nhận bạn đang độc thân"));
        let all = texts();
        let k = all
            .iter()
            .find(|k| k.key == "guide.birth-residence-insurance.step.6")
            .expect("in the inventory");
        assert!(k.vi.contains("ký Sổ hộ tịch"));
        let keys: BTreeSet<&str> = all.iter().map(|k| k.key.as_str()).collect();
        assert_eq!(keys.len(), all.len(), "each key once");
    }

    #[tokio::test]
    async fn a_package_added_later_brings_its_guide() {
        use crate::shared::procedures::registry::{add, Origin};
        let mut p = protocol::builtin_packages()
            .iter()
            .find(|p| p.procedure.id == "marital-status-certificate")
            .unwrap()
            .clone();
        // Last in the menu, with no exports or layouts of its own: other tests share the registry.
        p.procedure.id = "guide-test-later".into();
        p.menu_order = 9000;
        p.exports.clear();
        p.layouts.clear();
        let g = p.guide.as_mut().unwrap();
        g.purpose.vi = "Thủ tục thêm sau, có hướng dẫn riêng.".into();
        g.steps.push(g.steps[0].clone());
        p.check_form().unwrap();
        let hash = p.hash().unwrap();
        add(p, hash, Origin::Published).unwrap();
        let Json(v) = read(
            State(Catalogue::new(&[])),
            Path("guide-test-later".to_string()),
        )
        .await
        .unwrap();
        let v = serde_json::to_value(v).unwrap();
        assert_eq!(v["purpose"]["vi"], "Thủ tục thêm sau, có hướng dẫn riêng.");
        assert_eq!(v["purpose"]["key"], "guide.guide-test-later.purpose");
        assert_eq!(v["steps"].as_array().unwrap().len(), 7);
        assert_eq!(v["steps"][6]["key"], "guide.guide-test-later.step.7");
        let Json(list) = list(State(Catalogue::new(&[]))).await;
        let list = serde_json::to_value(list).unwrap();
        assert!(list["guides"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["procedure"]["id"] == "guide-test-later"));
        assert!(texts()
            .iter()
            .any(|k| k.key == "guide.guide-test-later.step.7"));

        // A package without a guide has no guide page.
        let mut bare = protocol::builtin_packages()[0].clone();
        bare.procedure.id = "guide-test-bare".into();
        bare.menu_order = 9001;
        bare.exports.clear();
        bare.layouts.clear();
        bare.guide = None;
        let hash = bare.hash().unwrap();
        add(bare, hash, Origin::Published).unwrap();
        let e = read(
            State(Catalogue::new(&[])),
            Path("guide-test-bare".to_string()),
        )
        .await
        .err()
        .expect("no guide page");
        assert_eq!(e.status, axum::http::StatusCode::NOT_FOUND);
    }

    #[test]
    fn a_paper_needed_for_all_options_but_one_says_which_one_not() {
        // A paper needed when a choice is "one of" all its options but one reads "not <that one>",
        // never "bring it if you have it" (e.g. a death notice needed unless the death was long ago).
        let def = protocol::builtin_packages()
            .iter()
            .map(|p| &p.procedure)
            .find(|p| p.id == "birth-residence-insurance" && p.version == 2)
            .unwrap();
        let f = def
            .fields()
            .find(|f| f.kind == protocol::FieldKind::Choice && f.options.len() >= 3)
            .expect("a choice of three or more");
        let values: Vec<String> = f.options.iter().map(|o| o.value.clone()).collect();
        let mut d = def.documents[0].clone();
        let cond = |one_of: Vec<String>| protocol::Condition {
            field: f.key.clone(),
            equals: None,
            not_equals: None,
            empty: None,
            one_of: Some(one_of),
        };
        d.required_if = Some(cond(values[1..].to_vec()));
        let w = bring(def, &d).when.expect("a condition in words");
        assert_eq!(w.field.vi, f.label.vi);
        assert_eq!(w.value.vi, f.options[0].label.vi);
        assert!(w.negate);
        // A list of one option is that option.
        d.required_if = Some(cond(vec![values[1].clone()]));
        let w = bring(def, &d).when.unwrap();
        assert!(!w.negate && w.value.vi == f.options[1].label.vi);
        // A list that leaves out no option, or several, has no words (the paper is then "if you have it").
        d.required_if = Some(cond(values.clone()));
        assert!(bring(def, &d).when.is_none());
        if values.len() >= 4 {
            d.required_if = Some(cond(values[2..].to_vec()));
            assert!(bring(def, &d).when.is_none());
        }
    }

    #[test]
    fn conditions_are_named_in_words() {
        let def = protocol::builtin_packages()
            .iter()
            .map(|p| &p.procedure)
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
