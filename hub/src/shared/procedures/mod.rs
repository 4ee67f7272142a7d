//! The procedure catalogue as this hub serves it: the registry of procedure packages (built-in, published
//! here, or pulled from the office), their storage, the configured time limits, and what every concern
//! reads off a dossier's fields.

pub mod registry;
pub mod store;

use std::collections::BTreeMap;

pub use registry::{all, find, in_force, in_force_all, package, packages};

/// What this hub adds to the catalogue's forms: values the catalogue names with `default_from` (a live
/// part of the hub's state, set by `app::serve` from the configuration).
#[derive(Debug, Clone, Default)]
pub struct HubContext {
    /// The 5-digit code of the commune the hub serves (`--commune`), when configured.
    pub commune: Option<String>,
}

/// Groups the officer fills at the session, not the villager: whom the request is addressed to, and the
/// declaration, which is made in front of the officer.
pub const OFFICE_ONLY_GROUPS: &[&str] = &["addressee", "declaration"];

/// Whether field `f` of group `group` is on a villager's self-service form (the pre-declaration): not in
/// an office-only group (nor keyed under one, where a catalogue version keeps the declaration's fields in
/// another group), and no commune picker.
pub fn in_self_service(group: &str, f: &protocol::FieldDef) -> bool {
    !OFFICE_ONLY_GROUPS.contains(&group)
        && f.kind != protocol::FieldKind::Commune
        && !OFFICE_ONLY_GROUPS
            .iter()
            .any(|p| f.key.strip_prefix(p).is_some_and(|r| r.starts_with('.')))
}

/// Every known procedure definition with `time_limits` (procedure id → working days) applied.
pub fn with_limits(time_limits: &[(String, u32)]) -> Vec<protocol::ProcedureDef> {
    all()
        .into_iter()
        .cloned()
        .map(|mut d| {
            if let Some((_, days)) = time_limits.iter().rev().find(|(id, _)| *id == d.id) {
                d.time_limit_working_days = *days;
            }
            d
        })
        .collect()
}

/// A dossier's display title: the name of the person the dossier is about, if entered — the person
/// certified or the child, else the first other person's full name (`<part>.full_name`, e.g. the deceased
/// of a death registration) in key order, else the requester's.
pub fn title_of(fields: &BTreeMap<String, String>) -> String {
    let named = |k: &str| fields.get(k).filter(|v| !v.trim().is_empty()).cloned();
    named("subject.full_name")
        .or_else(|| named("child.full_name"))
        .or_else(|| {
            fields
                .iter()
                .filter(|(k, v)| {
                    k.ends_with(".full_name")
                        && k.matches('.').count() == 1
                        && !k.starts_with("requester.")
                        && !v.trim().is_empty()
                })
                .map(|(_, v)| v.clone())
                .next()
        })
        .or_else(|| named("requester.full_name"))
        .unwrap_or_default()
}
