//! Storage of the administrative units: replacing the whole list in one transaction, loading the built-in
//! sample while nothing is stored, and the queries (provinces, search, one unit, exists, label).

use std::collections::{HashMap, HashSet};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::dataset::Dataset;
use super::key::search_key;
use super::sample;
use crate::shared::clock;
use crate::shared::store::{write_tx, StoreError, StoreResult};

/// Largest page of search results.
pub const MAX_LIMIT: u32 = 100;
/// At most this many words of a query are used.
const MAX_TOKENS: usize = 8;

/// Where a dataset came from, as recorded with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetInfo {
    pub name: String,
    pub date: Option<String>,
    /// `sample` or `import`.
    pub source: &'static str,
    pub sha256: String,
}

/// The dataset currently stored.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DatasetRow {
    pub name: String,
    pub date: Option<String>,
    pub source: String,
    pub sha256: String,
    pub provinces: i64,
    pub units: i64,
    pub imported_at: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ProvinceOut {
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub full_name: String,
    pub full_name_en: String,
    /// Number of communes, wards and special zones.
    pub units: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ProvinceRef {
    pub code: String,
    pub name: String,
    pub full_name: String,
}

/// A commune or ward.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct UnitOut {
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub full_name: String,
    pub full_name_en: String,
    pub province: ProvinceRef,
    /// For display: "Xã Bù Gia Mập, Thành phố Đồng Nai".
    pub label: String,
}

/// What an import changed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImportSummary {
    pub dataset: DatasetRow,
    /// The dataset it replaced, if any.
    pub before: Option<DatasetRow>,
    pub provinces: usize,
    pub units: usize,
    pub added: usize,
    pub removed: usize,
    /// Units kept (same code) whose name or full name changed.
    pub renamed: usize,
    /// Units kept (same code) now under another province.
    pub moved: usize,
    pub provinces_added: usize,
    pub provinces_removed: usize,
    /// Names changed by normalisation (NFC, trimming, capitalisation).
    pub normalised: usize,
}

impl ImportSummary {
    pub fn to_text(&self) -> String {
        let d = &self.dataset;
        let mut s = format!(
            "Imported {}{}: {} provinces, {} units (communes, wards, special zones).\n",
            d.name,
            d.date
                .as_deref()
                .map(|x| format!(" (dataset of {x})"))
                .unwrap_or_default(),
            self.provinces,
            self.units
        );
        match &self.before {
            Some(b) => s.push_str(&format!(
                "Compared with the list it replaces ({}, {}: {} provinces, {} units): {} added, {} removed, \
                 {} renamed, {} moved to another province; provinces {} added, {} removed.\n",
                b.name,
                b.source,
                b.provinces,
                b.units,
                self.added,
                self.removed,
                self.renamed,
                self.moved,
                self.provinces_added,
                self.provinces_removed
            )),
            None => s.push_str("No list was stored before: all units are new.\n"),
        }
        if self.normalised > 0 {
            s.push_str(&format!(
                "{} name(s) were normalised (Unicode NFC, spaces, capital first letter).\n",
                self.normalised
            ));
        }
        s
    }
}

/// The dataset currently stored, if any.
pub fn dataset(c: &Connection) -> StoreResult<Option<DatasetRow>> {
    Ok(c.query_row(
        "SELECT name, dataset_date, source, sha256, provinces, units, imported_at
         FROM admin_unit_dataset WHERE id = 1",
        [],
        |r| {
            Ok(DatasetRow {
                name: r.get(0)?,
                date: r.get(1)?,
                source: r.get(2)?,
                sha256: r.get(3)?,
                provinces: r.get(4)?,
                units: r.get(5)?,
                imported_at: r.get(6)?,
            })
        },
    )
    .optional()?)
}

/// Replaces the stored list by `ds` in one write transaction.
pub fn replace(c: &mut Connection, ds: &Dataset, info: &DatasetInfo) -> StoreResult<ImportSummary> {
    let tx = write_tx(c)?;
    let summary = replace_in(&tx, ds, info)?;
    tx.commit().map_err(StoreError::classify)?;
    Ok(summary)
}

/// Replaces the stored list inside the caller's transaction.
pub fn replace_in(c: &Connection, ds: &Dataset, info: &DatasetInfo) -> StoreResult<ImportSummary> {
    let before = dataset(c)?;
    let mut old_units: HashMap<String, (String, String, String)> = HashMap::new();
    {
        let mut st = c.prepare("SELECT code, name, full_name, province_code FROM admin_units")?;
        let rows = st.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
        })?;
        for row in rows {
            let (code, v) = row?;
            old_units.insert(code, v);
        }
    }
    let old_provinces: HashSet<String> = {
        let mut st = c.prepare("SELECT code FROM admin_provinces")?;
        let rows = st.query_map([], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };

    let mut s = ImportSummary {
        dataset: DatasetRow {
            name: info.name.clone(),
            date: info.date.clone(),
            source: info.source.to_string(),
            sha256: info.sha256.clone(),
            provinces: ds.provinces.len() as i64,
            units: ds.unit_count() as i64,
            imported_at: clock::now_rfc3339(),
        },
        before,
        provinces: ds.provinces.len(),
        units: ds.unit_count(),
        added: 0,
        removed: 0,
        renamed: 0,
        moved: 0,
        provinces_added: 0,
        provinces_removed: 0,
        normalised: ds.normalised,
    };
    let new_codes: HashSet<&str> = ds.units().map(|(_, u)| u.code.as_str()).collect();
    s.removed = old_units
        .keys()
        .filter(|k| !new_codes.contains(k.as_str()))
        .count();
    for (_, u) in ds.units() {
        match old_units.get(&u.code) {
            None => s.added += 1,
            Some((name, full_name, province)) => {
                if *name != u.name || *full_name != u.full_name {
                    s.renamed += 1;
                }
                if *province != u.province_code {
                    s.moved += 1;
                }
            }
        }
    }
    let new_provinces: HashSet<&str> = ds.provinces.iter().map(|p| p.code.as_str()).collect();
    s.provinces_added = new_provinces
        .iter()
        .filter(|p| !old_provinces.contains(**p))
        .count();
    s.provinces_removed = old_provinces
        .iter()
        .filter(|p| !new_provinces.contains(p.as_str()))
        .count();

    c.execute("DELETE FROM admin_units", [])
        .map_err(StoreError::classify)?;
    c.execute("DELETE FROM admin_provinces", [])
        .map_err(StoreError::classify)?;
    {
        let mut ins_p = c.prepare(
            "INSERT INTO admin_provinces(code, name, name_en, full_name, full_name_en, code_name, search_key)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        let mut ins_u = c.prepare(
            "INSERT INTO admin_units(code, province_code, name, name_en, full_name, full_name_en, code_name,
                                     search_key, search_text)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for p in &ds.provinces {
            ins_p
                .execute(params![
                    p.code,
                    p.name,
                    p.name_en,
                    p.full_name,
                    p.full_name_en,
                    p.code_name,
                    search_key(&p.name)
                ])
                .map_err(StoreError::classify)?;
            for u in &p.units {
                let text = format!(
                    "{} {} {}",
                    search_key(&u.full_name),
                    search_key(&u.full_name_en),
                    search_key(&p.full_name)
                );
                ins_u
                    .execute(params![
                        u.code,
                        u.province_code,
                        u.name,
                        u.name_en,
                        u.full_name,
                        u.full_name_en,
                        u.code_name,
                        search_key(&u.name),
                        text
                    ])
                    .map_err(StoreError::classify)?;
            }
        }
    }
    let d = &s.dataset;
    c.execute(
        "INSERT INTO admin_unit_dataset(id, name, dataset_date, source, sha256, provinces, units, imported_at)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, dataset_date = excluded.dataset_date,
            source = excluded.source, sha256 = excluded.sha256, provinces = excluded.provinces,
            units = excluded.units, imported_at = excluded.imported_at",
        params![
            d.name,
            d.date,
            d.source,
            d.sha256,
            d.provinces,
            d.units,
            d.imported_at
        ],
    )
    .map_err(StoreError::classify)?;
    Ok(s)
}

/// Loads the built-in sample (Đồng Nai and Khánh Hoà) if no dataset is stored yet; returns whether it did.
/// Cheap once a dataset is stored (one indexed read).
pub fn ensure_loaded(c: &mut Connection) -> StoreResult<bool> {
    if dataset(c)?.is_some() {
        return Ok(false);
    }
    let tx = write_tx(c)?;
    // Re-check under the write lock: a CLI import may have won the race.
    if dataset(&tx)?.is_some() {
        return Ok(false);
    }
    replace_in(&tx, sample::dataset(), &sample::info())?;
    tx.commit().map_err(StoreError::classify)?;
    Ok(true)
}

/// Whether `code` is a stored commune / ward / special zone. While no dataset is stored, the built-in
/// sample answers. A malformed code is simply not a unit.
pub fn unit_exists(c: &Connection, code: &str) -> StoreResult<bool> {
    if dataset(c)?.is_none() {
        return Ok(sample::dataset().units().any(|(_, u)| u.code == code));
    }
    Ok(c.query_row(
        "SELECT EXISTS(SELECT 1 FROM admin_units WHERE code = ?1)",
        [code],
        |r| r.get(0),
    )?)
}

/// The display label of a unit, "Xã Bù Gia Mập, Thành phố Đồng Nai", or `None` if it is not a unit.
/// While no dataset is stored, the built-in sample answers.
pub fn unit_label(c: &Connection, code: &str) -> StoreResult<Option<String>> {
    if dataset(c)?.is_none() {
        return Ok(sample::dataset()
            .units()
            .find(|(_, u)| u.code == code)
            .map(|(p, u)| label(&u.full_name, &p.full_name)));
    }
    Ok(get(c, code)?.map(|u| u.label))
}

fn label(unit_full_name: &str, province_full_name: &str) -> String {
    format!("{unit_full_name}, {province_full_name}")
}

/// Every province with its number of units, by code.
pub fn provinces(c: &Connection) -> StoreResult<Vec<ProvinceOut>> {
    let mut st = c.prepare(
        "SELECT p.code, p.name, p.name_en, p.full_name, p.full_name_en,
                (SELECT count(*) FROM admin_units u WHERE u.province_code = p.code)
         FROM admin_provinces p ORDER BY p.code",
    )?;
    let rows = st.query_map([], |r| {
        Ok(ProvinceOut {
            code: r.get(0)?,
            name: r.get(1)?,
            name_en: r.get(2)?,
            full_name: r.get(3)?,
            full_name_en: r.get(4)?,
            units: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn province_exists(c: &Connection, code: &str) -> StoreResult<bool> {
    Ok(c.query_row(
        "SELECT EXISTS(SELECT 1 FROM admin_provinces WHERE code = ?1)",
        [code],
        |r| r.get(0),
    )?)
}

const UNIT_COLUMNS: &str = "u.code, u.name, u.name_en, u.full_name, u.full_name_en,
    p.code, p.name, p.full_name
    FROM admin_units u JOIN admin_provinces p ON p.code = u.province_code";

fn unit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UnitOut> {
    let full_name: String = r.get(3)?;
    let province = ProvinceRef {
        code: r.get(5)?,
        name: r.get(6)?,
        full_name: r.get(7)?,
    };
    Ok(UnitOut {
        label: label(&full_name, &province.full_name),
        code: r.get(0)?,
        name: r.get(1)?,
        name_en: r.get(2)?,
        full_name,
        full_name_en: r.get(4)?,
        province,
    })
}

/// Every unit of a province, by name.
pub fn units_of(c: &Connection, province: &str) -> StoreResult<Vec<UnitOut>> {
    let mut st = c.prepare(&format!(
        "SELECT {UNIT_COLUMNS} WHERE u.province_code = ?1 ORDER BY u.search_key, u.code"
    ))?;
    let rows = st.query_map([province], unit_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One unit by code.
pub fn get(c: &Connection, code: &str) -> StoreResult<Option<UnitOut>> {
    Ok(c.query_row(
        &format!("SELECT {UNIT_COLUMNS} WHERE u.code = ?1"),
        [code],
        unit_row,
    )
    .optional()?)
}

/// Searches units by name, with or without diacritics, optionally within one province; at most `limit`
/// (clamped to 1..=[`MAX_LIMIT`]) results. Every word of `query` must occur (as a substring of search keys) in
/// the unit's full name in Vietnamese or English or in its province's full name ("hoa binh ha noi"); a
/// query of digits also matches codes by prefix.
/// Exact names come first, then names starting with the query, then names with a word starting with it,
/// then the rest; ties by name. An empty query lists the province's units (or nothing without a province).
pub fn search(
    c: &Connection,
    query: &str,
    province: Option<&str>,
    limit: u32,
) -> StoreResult<Vec<UnitOut>> {
    let limit = limit.clamp(1, MAX_LIMIT);
    let key = search_key(query);
    let tokens: Vec<&str> = key.split(' ').filter(|t| !t.is_empty()).collect();
    if tokens.is_empty() {
        let Some(p) = province else {
            return Ok(Vec::new());
        };
        let mut st = c.prepare(&format!(
            "SELECT {UNIT_COLUMNS} WHERE u.province_code = ?1 ORDER BY u.search_key, u.code LIMIT ?2"
        ))?;
        let rows = st.query_map(params![p, limit], unit_row)?;
        return Ok(rows.collect::<Result<_, _>>()?);
    }
    let words = tokens
        .iter()
        .take(MAX_TOKENS)
        .enumerate()
        .map(|(i, _)| format!("u.search_text LIKE ?{}", i + 4))
        .collect::<Vec<_>>()
        .join(" AND ");
    let sql = format!(
        "SELECT {UNIT_COLUMNS}
         WHERE (?2 IS NULL OR u.province_code = ?2)
           AND (({words}) OR u.code LIKE ?1 || '%')
         ORDER BY CASE WHEN u.search_key = ?1 THEN 0
                       WHEN u.search_key LIKE ?1 || '%' THEN 1
                       WHEN ' ' || u.search_key LIKE '% ' || ?1 || '%' THEN 2
                       ELSE 3 END,
                  u.search_key, u.code
         LIMIT ?3"
    );
    let mut values: Vec<rusqlite::types::Value> = vec![
        key.clone().into(),
        province.map(str::to_string).into(),
        i64::from(limit).into(),
    ];
    values.extend(
        tokens
            .iter()
            .take(MAX_TOKENS)
            .map(|t| format!("%{t}%").into()),
    );
    let mut st = c.prepare(&sql)?;
    let rows = st.query_map(rusqlite::params_from_iter(values), unit_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::store::Db;

    fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("hub.sqlite")).unwrap();
        (dir, db)
    }

    fn count(c: &Connection, table: &str) -> i64 {
        c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn sample_loads_once_and_answers_before_loading() {
        let (_d, db) = db();
        db.call_sync(|c| {
            // Nothing stored yet: the sample answers exists/label without writing.
            assert!(dataset(c)?.is_none());
            assert!(unit_exists(c, "25222")?);
            assert!(!unit_exists(c, "00004")?, "Hà Nội is not in the sample");
            assert_eq!(
                unit_label(c, "25222")?.as_deref(),
                Some("Xã Bù Gia Mập, Thành phố Đồng Nai")
            );
            assert_eq!(count(c, "admin_units"), 0);
            assert!(ensure_loaded(c)?);
            assert!(!ensure_loaded(c)?);
            let d = dataset(c)?.unwrap();
            assert_eq!(
                (d.source.as_str(), d.provinces, d.units),
                ("sample", 2, 160)
            );
            assert_eq!(count(c, "admin_units"), 160);
            assert!(unit_exists(c, "25222")?);
            assert!(!unit_exists(c, "99999")?);
            assert!(!unit_exists(c, "x")?);
            assert_eq!(
                unit_label(c, "25222")?.as_deref(),
                Some("Xã Bù Gia Mập, Thành phố Đồng Nai")
            );
            assert_eq!(unit_label(c, "99999")?, None);
            let ps = provinces(c)?;
            assert_eq!(
                ps.iter()
                    .map(|p| (p.code.as_str(), p.name.as_str(), p.units))
                    .collect::<Vec<_>>(),
                vec![("56", "Khánh Hoà", 65), ("75", "Đồng Nai", 95)]
            );
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn search_with_or_without_diacritics() {
        let (_d, db) = db();
        db.call_sync(|c| {
            ensure_loaded(c)?;
            for q in [
                "bu gia map",
                "Bù Gia Mập",
                "BU GIA",
                "gia mập",
                "xa bu gia map",
            ] {
                let r = search(c, q, None, 20)?;
                assert_eq!(r.first().map(|u| u.code.as_str()), Some("25222"), "{q}");
            }
            // Tone placement: the sample spells "Hoà"; both spellings find Biên Hoà (26068, Đồng Nai) first
            // among names starting with "bien hoa".
            for q in ["Biên Hòa", "Biên Hoà", "bien hoa"] {
                let r = search(c, q, None, 20)?;
                assert_eq!(r[0].code, "26068", "{q}");
                assert_eq!(r[0].label, "Phường Biên Hoà, Thành phố Đồng Nai");
            }
            // Province filter, limit, code prefix.
            let r = search(c, "hoa", Some("56"), 100)?;
            assert!(!r.is_empty() && r.iter().all(|u| u.province.code == "56"));
            assert_eq!(search(c, "hoa", None, 3)?.len(), 3);
            assert_eq!(search(c, "25222", None, 20)?[0].name, "Bù Gia Mập");
            assert!(search(c, "không có xã này", None, 20)?.is_empty());
            assert!(search(c, "%", None, 20)?.is_empty());
            // Words may name the province too.
            let r = search(c, "xuan hoa dong nai", None, 20)?;
            assert_eq!(r.len(), 1);
            assert_eq!(r[0].label, "Xã Xuân Hoà, Thành phố Đồng Nai");
            assert_eq!(search(c, "", Some("56"), 100)?.len(), 65);
            Ok(())
        })
        .unwrap();
    }
}
