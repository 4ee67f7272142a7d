//! The hub's validation of a dossier's fields: the protocol's one rules engine, plus the checks that need
//! this hub's own data (today: every commune code must be in the administrative-units list, see `units`).
//! Draft saves and sealing both call [`check`], so a villager's data meets the same rules at every step.

use std::collections::{BTreeMap, BTreeSet};

use protocol::{FieldError, FieldKind, ProcedureDef, Stage};
use rusqlite::Connection;

use crate::shared::clock;
use crate::shared::store::StoreResult;
use crate::shared::units::store as units;

/// Every finding (errors and warnings) for `fields` of `def` at `stage`, judged on today's date.
pub fn check(
    c: &Connection,
    def: &ProcedureDef,
    fields: &BTreeMap<String, String>,
    document_roles: &[String],
    stage: Stage,
) -> StoreResult<Vec<FieldError>> {
    let mut findings = protocol::validate(def, fields, document_roles, clock::today_vn(), stage);
    let mut unknown = BTreeSet::new();
    for f in def.fields().filter(|f| f.kind == FieldKind::Commune) {
        if let Some(code) = fields.get(&f.key) {
            if !unknown.contains(code) && !units::unit_exists(c, code)? {
                unknown.insert(code.clone());
            }
        }
    }
    findings.extend(protocol::check_communes(def, fields, |code| {
        !unknown.contains(code)
    }));
    Ok(findings)
}
