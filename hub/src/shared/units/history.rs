//! What a code was called before. Two sources, merged per code:
//!
//! - the rows an import keeps (`admin_unit_history`, `admin_province_history`): every entry a newer list
//!   retired or renamed, with the first day it no longer applied (the newer list's effective date);
//! - the names known from before the built-in list, compiled in from `known-history.json` (with the legal
//!   basis of each change; see docs/domain.md, "Administrative units: versions"): the ten communes of Đồng
//!   Nai that became wards, and the province that became a centrally-run city, on 30 April 2026.
//!
//! An entry is in force on day `d` when it is the first (by `valid_until`) whose `valid_until` is after `d`;
//! when there is none, the current list answers (or, for a code no longer listed, its last entry).

use std::sync::OnceLock;

use rusqlite::{params, Connection};
use serde::Deserialize;

use super::key::nfc;
use crate::shared::store::StoreResult;

/// The known names from before the built-in list (same field names as a dataset file, plus `ValidUntil`).
pub const KNOWN_JSON: &str = include_str!("known-history.json");

/// A former entry of a commune / ward / special zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitEntry {
    pub code: String,
    /// YYYY-MM-DD: the first day this entry no longer applied.
    pub valid_until: String,
    pub province_code: String,
    pub name: String,
    pub name_en: String,
    pub full_name: String,
    pub full_name_en: String,
    /// The code itself left the list on `valid_until` (as opposed to a rename or a move).
    pub retired: bool,
    /// For a retired code: the unit that took it over, if known.
    pub successor: Option<String>,
}

/// A former entry of a province.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvinceEntry {
    pub code: String,
    pub valid_until: String,
    pub name: String,
    pub name_en: String,
    pub full_name: String,
    pub full_name_en: String,
    pub retired: bool,
}

/// Something with a `valid_until` date.
pub trait Dated {
    fn valid_until(&self) -> &str;
}

impl Dated for UnitEntry {
    fn valid_until(&self) -> &str {
        &self.valid_until
    }
}

impl Dated for ProvinceEntry {
    fn valid_until(&self) -> &str {
        &self.valid_until
    }
}

/// The entry in force on `on` (YYYY-MM-DD) among `entries` sorted by `valid_until`: the first one whose
/// `valid_until` is after `on`. `None`: the current list (or the last entry) answers.
pub fn in_force<'a, T: Dated>(entries: &'a [T], on: &str) -> Option<&'a T> {
    entries.iter().find(|e| e.valid_until() > on)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KnownFile {
    provinces: Vec<KnownProvince>,
    units: Vec<KnownUnit>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KnownProvince {
    code: String,
    name: String,
    name_en: String,
    full_name: String,
    full_name_en: String,
    valid_until: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KnownUnit {
    code: String,
    name: String,
    name_en: String,
    full_name: String,
    full_name_en: String,
    province_code: String,
    valid_until: String,
}

/// The compiled-in history.
pub struct Known {
    pub provinces: Vec<ProvinceEntry>,
    pub units: Vec<UnitEntry>,
}

fn parse_known(json: &str) -> Result<Known, String> {
    let f: KnownFile = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let date = |s: &str| protocol::parse_date(s).is_some();
    let mut provinces = Vec::new();
    for p in f.provinces {
        if !digits(&p.code, 2) || !date(&p.valid_until) {
            return Err(format!("province {}: bad code or ValidUntil", p.code));
        }
        provinces.push(ProvinceEntry {
            code: p.code,
            valid_until: p.valid_until,
            name: nfc(&p.name),
            name_en: nfc(&p.name_en),
            full_name: nfc(&p.full_name),
            full_name_en: nfc(&p.full_name_en),
            retired: false,
        });
    }
    let mut units = Vec::new();
    for u in f.units {
        if !digits(&u.code, 5) || !digits(&u.province_code, 2) || !date(&u.valid_until) {
            return Err(format!(
                "unit {}: bad code, ProvinceCode or ValidUntil",
                u.code
            ));
        }
        units.push(UnitEntry {
            code: u.code,
            valid_until: u.valid_until,
            province_code: u.province_code,
            name: nfc(&u.name),
            name_en: nfc(&u.name_en),
            full_name: nfc(&u.full_name),
            full_name_en: nfc(&u.full_name_en),
            retired: false,
            successor: None,
        });
    }
    Ok(Known { provinces, units })
}

/// The compiled-in history (parsed once).
pub fn known() -> &'static Known {
    static KNOWN: OnceLock<Known> = OnceLock::new();
    KNOWN
        .get_or_init(|| parse_known(KNOWN_JSON).expect("known-history.json is valid (unit-tested)"))
}

/// Sorts by `valid_until` and keeps one entry per date: a stored row wins over a compiled-in one (stored
/// rows come first and the sort is stable).
fn merge<T: Dated + Clone>(mut stored: Vec<T>, known: impl Iterator<Item = T>) -> Vec<T> {
    stored.extend(known);
    stored.sort_by(|a, b| a.valid_until().cmp(b.valid_until()));
    stored.dedup_by(|b, a| a.valid_until() == b.valid_until());
    stored
}

/// Every former entry of unit `code`, oldest first.
pub fn unit_entries(c: &Connection, code: &str) -> StoreResult<Vec<UnitEntry>> {
    let mut st = c.prepare_cached(
        "SELECT code, valid_until, province_code, name, name_en, full_name, full_name_en, retired,
                successor_code
         FROM admin_unit_history WHERE code = ?1 ORDER BY valid_until",
    )?;
    let rows = st.query_map([code], |r| {
        Ok(UnitEntry {
            code: r.get(0)?,
            valid_until: r.get(1)?,
            province_code: r.get(2)?,
            name: r.get(3)?,
            name_en: r.get(4)?,
            full_name: r.get(5)?,
            full_name_en: r.get(6)?,
            retired: r.get(7)?,
            successor: r.get(8)?,
        })
    })?;
    let stored = rows.collect::<Result<Vec<_>, _>>()?;
    Ok(merge(
        stored,
        known().units.iter().filter(|u| u.code == code).cloned(),
    ))
}

/// Every former entry of province `code`, oldest first.
pub fn province_entries(c: &Connection, code: &str) -> StoreResult<Vec<ProvinceEntry>> {
    let mut st = c.prepare_cached(
        "SELECT code, valid_until, name, name_en, full_name, full_name_en, retired
         FROM admin_province_history WHERE code = ?1 ORDER BY valid_until",
    )?;
    let rows = st.query_map([code], |r| {
        Ok(ProvinceEntry {
            code: r.get(0)?,
            valid_until: r.get(1)?,
            name: r.get(2)?,
            name_en: r.get(3)?,
            full_name: r.get(4)?,
            full_name_en: r.get(5)?,
            retired: r.get(6)?,
        })
    })?;
    let stored = rows.collect::<Result<Vec<_>, _>>()?;
    Ok(merge(
        stored,
        known().provinces.iter().filter(|p| p.code == code).cloned(),
    ))
}

/// Keeps a former unit entry; an entry already kept for the same code and date stays as it was (an import
/// that repeats a date does not rewrite what applied before it). Returns whether a row was added.
pub fn keep_unit(
    c: &Connection,
    e: &UnitEntry,
    code_name: &str,
    replaced_by: &str,
    now: &str,
) -> StoreResult<bool> {
    let n = c.execute(
        "INSERT INTO admin_unit_history(code, valid_until, province_code, name, name_en, full_name,
                full_name_en, code_name, retired, successor_code, replaced_by, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT(code, valid_until) DO NOTHING",
        params![
            e.code,
            e.valid_until,
            e.province_code,
            e.name,
            e.name_en,
            e.full_name,
            e.full_name_en,
            code_name,
            e.retired,
            e.successor,
            replaced_by,
            now
        ],
    )?;
    Ok(n > 0)
}

/// Keeps a former province entry (same rule as [`keep_unit`]).
pub fn keep_province(
    c: &Connection,
    e: &ProvinceEntry,
    replaced_by: &str,
    now: &str,
) -> StoreResult<bool> {
    let n = c.execute(
        "INSERT INTO admin_province_history(code, valid_until, name, name_en, full_name, full_name_en,
                retired, replaced_by, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT(code, valid_until) DO NOTHING",
        params![
            e.code,
            e.valid_until,
            e.name,
            e.name_en,
            e.full_name,
            e.full_name_en,
            e.retired,
            replaced_by,
            now
        ],
    )?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_known_history_is_valid_and_names_the_2026_dong_nai_changes() {
        let k = parse_known(KNOWN_JSON).unwrap();
        assert_eq!(k.provinces.len(), 1);
        assert_eq!(
            (
                k.provinces[0].code.as_str(),
                k.provinces[0].full_name.as_str()
            ),
            ("75", "Tỉnh Đồng Nai")
        );
        assert_eq!(k.units.len(), 10);
        assert!(k
            .units
            .iter()
            .all(|u| u.valid_until == "2026-04-30" && u.full_name.starts_with("Xã ")));
        // Each is a ward of the built-in list under the same code and name.
        let sample = super::super::sample::dataset();
        for u in &k.units {
            let now = sample
                .units()
                .find(|(_, s)| s.code == u.code)
                .map(|(_, s)| s)
                .unwrap();
            assert_eq!(now.full_name, format!("Phường {}", u.name), "{}", u.code);
        }
    }

    #[test]
    fn the_entry_in_force_is_the_first_ending_after_the_day() {
        let e = |until: &str| ProvinceEntry {
            code: "75".into(),
            valid_until: until.into(),
            name: until.into(),
            name_en: String::new(),
            full_name: String::new(),
            full_name_en: String::new(),
            retired: false,
        };
        let v = vec![e("2026-04-30"), e("2026-09-01")];
        assert_eq!(in_force(&v, "2026-04-29").unwrap().name, "2026-04-30");
        assert_eq!(in_force(&v, "2026-04-30").unwrap().name, "2026-09-01");
        assert_eq!(in_force(&v, "2026-08-31").unwrap().name, "2026-09-01");
        assert!(in_force(&v, "2026-09-01").is_none());
        // A stored row wins over a compiled-in one of the same date.
        let mut stored = e("2026-04-30");
        stored.name = "stored".into();
        let m = merge(vec![stored], v.into_iter());
        assert_eq!(
            m.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(),
            ["stored", "2026-09-01"]
        );
    }
}
