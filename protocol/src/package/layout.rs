//! A4 print layouts of a procedure package: each official form as a template of lines, parts and
//! signature blocks. (Being filled in: see issue 20.)

/// One version of one official form (placeholder shape until the typed form lands).
pub type PrintLayout = serde_json::Value;

/// Checks every layout against the procedure (placeholder until the typed form lands).
pub(crate) fn check_all(
    _layouts: &[PrintLayout],
    _def: &crate::catalogue::ProcedureDef,
    _results: &std::collections::BTreeSet<&str>,
) -> Result<(), String> {
    Ok(())
}
