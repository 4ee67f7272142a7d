//! Export mappings of a procedure package: for each downstream system, the official items in the form's
//! order and where each value comes from in a captured dossier. (Being filled in: see issue 20.)

/// One downstream system's mapping (placeholder shape until the typed form lands).
pub type ExportSystem = serde_json::Value;

/// Checks every mapping against the procedure (placeholder until the typed form lands).
pub(crate) fn check_all(
    _systems: &[ExportSystem],
    _def: &crate::catalogue::ProcedureDef,
    _results: &std::collections::BTreeSet<&str>,
) -> Result<(), String> {
    Ok(())
}
