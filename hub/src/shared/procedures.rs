//! The procedure catalogue as this hub serves it, and what every concern reads off a dossier's fields.

use std::collections::BTreeMap;

/// What this hub adds to the catalogue's forms: values the catalogue names with `default_from` (a live
/// part of the hub's state, set by `app::serve` from the configuration).
#[derive(Debug, Clone, Default)]
pub struct HubContext {
    /// The 5-digit code of the commune the hub serves (`--commune`), when configured.
    pub commune: Option<String>,
}

/// The catalogue with `time_limits` (procedure id → working days) applied.
pub fn with_limits(time_limits: &[(String, u32)]) -> Vec<protocol::ProcedureDef> {
    protocol::catalogue()
        .iter()
        .cloned()
        .map(|mut d| {
            if let Some((_, days)) = time_limits.iter().rev().find(|(id, _)| *id == d.id) {
                d.time_limit_working_days = *days;
            }
            d
        })
        .collect()
}

/// A dossier's display title: the name of the person the dossier is about, if entered.
pub fn title_of(fields: &BTreeMap<String, String>) -> String {
    [
        "subject.full_name",
        "child.full_name",
        "requester.full_name",
    ]
    .iter()
    .find_map(|k| fields.get(*k).cloned())
    .unwrap_or_default()
}
