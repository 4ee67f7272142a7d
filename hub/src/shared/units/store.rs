//! Storage of the administrative units: replacing the whole list in one transaction (keeping what it retires
//! or renames in the history tables), loading the built-in sample while nothing is stored, and the queries
//! (provinces, search and exists over the current list; one unit and its label also for a former code, and
//! as of a date).

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::dataset::Dataset;
use super::history::{self, ProvinceEntry, UnitEntry};
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
    /// YYYY-MM-DD: the day the list took effect; what it retires or renames applied until the day before.
    pub effective: String,
}

/// The dataset currently stored.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = UnitsDataset)]
pub struct DatasetRow {
    pub name: String,
    /// The date in the list's file name, if any.
    #[schema(format = Date)]
    pub date: Option<String>,
    pub source: String,
    pub sha256: String,
    pub provinces: i64,
    pub units: i64,
    #[schema(format = DateTime)]
    pub imported_at: String,
    /// The day the list took effect (`None` for a list stored before effective dates were recorded).
    #[schema(format = Date)]
    pub effective_date: Option<String>,
}

impl DatasetRow {
    /// The day the list took effect: its recorded effective date, else the date in its file name.
    pub fn effective(&self) -> Option<&str> {
        self.effective_date.as_deref().or(self.date.as_deref())
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
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
    /// For display: "Xã Bù Gia Mập, Thành phố Đồng Nai"; a former unit named as it last was, marked
    /// "(cũ)": "Xã Trảng Bom (cũ), Tỉnh Đồng Nai".
    pub label: String,
    /// The code is no longer in the current list (a new capture cannot use it; search never returns it).
    pub former: bool,
    /// Set when the names given are not the current ones: the first day they no longer applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
    /// For a former code: the unit that took it over, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub successor: Option<UnitRef>,
}

/// Another unit, by code and current label.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct UnitRef {
    pub code: String,
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
    /// The day the new list took effect: what it retires or renames is kept as valid until then.
    pub effective_date: String,
    /// Removed units kept in the history as former units (their dossiers still name them).
    pub retired: usize,
    /// Of those, how many have a known successor (the file's `Replaces`, or one new unit of the same name
    /// in the same province).
    pub successors: usize,
    /// Rows added to the history (retired and renamed units and provinces).
    pub history_added: usize,
    /// The file is the stored list already: nothing was written.
    pub unchanged: bool,
}

impl ImportSummary {
    pub fn to_text(&self) -> String {
        let d = &self.dataset;
        if self.unchanged {
            return format!(
                "{} is the stored list already ({} provinces, {} units, stored {}): nothing was changed.\n",
                d.name, d.provinces, d.units, d.imported_at
            );
        }
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
        if self.history_added > 0 {
            s.push_str(&format!(
                "Kept in the history, valid until {}: {} entr{} ({} former unit(s), {} with a known successor); \
                 dossiers that name them still show those names.\n",
                self.effective_date,
                self.history_added,
                if self.history_added == 1 { "y" } else { "ies" },
                self.retired,
                self.successors
            ));
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
        "SELECT name, dataset_date, source, sha256, provinces, units, imported_at, effective_date
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
                effective_date: r.get(7)?,
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

/// Replaces the stored list inside the caller's transaction. Every unit and province the new list drops or
/// renames is kept in the history as valid until `info.effective`; nothing is written when the file is the
/// stored list already (same SHA-256).
pub fn replace_in(c: &Connection, ds: &Dataset, info: &DatasetInfo) -> StoreResult<ImportSummary> {
    let before = dataset(c)?;
    let now = clock::now_rfc3339();
    let mut s = ImportSummary {
        dataset: DatasetRow {
            name: info.name.clone(),
            date: info.date.clone(),
            source: info.source.to_string(),
            sha256: info.sha256.clone(),
            provinces: ds.provinces.len() as i64,
            units: ds.unit_count() as i64,
            imported_at: now.clone(),
            effective_date: Some(info.effective.clone()),
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
        effective_date: info.effective.clone(),
        retired: 0,
        successors: 0,
        history_added: 0,
        unchanged: false,
    };
    if let Some(b) = s.before.as_ref().filter(|b| b.sha256 == info.sha256) {
        s.dataset = b.clone();
        s.effective_date = b.effective().unwrap_or(&info.effective).to_string();
        s.unchanged = true;
        return Ok(s);
    }

    // The stored list, as history entries should it be retired or renamed.
    let mut old_units: HashMap<String, (UnitEntry, String)> = HashMap::new();
    {
        let mut st = c.prepare(
            "SELECT code, province_code, name, name_en, full_name, full_name_en, code_name FROM admin_units",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                UnitEntry {
                    code: r.get(0)?,
                    valid_until: info.effective.clone(),
                    province_code: r.get(1)?,
                    name: r.get(2)?,
                    name_en: r.get(3)?,
                    full_name: r.get(4)?,
                    full_name_en: r.get(5)?,
                    retired: false,
                    successor: None,
                },
                r.get::<_, String>(6)?,
            ))
        })?;
        for row in rows {
            let (e, code_name) = row?;
            old_units.insert(e.code.clone(), (e, code_name));
        }
    }
    let mut old_provinces: HashMap<String, ProvinceEntry> = HashMap::new();
    {
        let mut st =
            c.prepare("SELECT code, name, name_en, full_name, full_name_en FROM admin_provinces")?;
        let rows = st.query_map([], |r| {
            Ok(ProvinceEntry {
                code: r.get(0)?,
                valid_until: info.effective.clone(),
                name: r.get(1)?,
                name_en: r.get(2)?,
                full_name: r.get(3)?,
                full_name_en: r.get(4)?,
                retired: false,
            })
        })?;
        for row in rows {
            let p = row?;
            old_provinces.insert(p.code.clone(), p);
        }
    }

    let new_units: HashMap<&str, &super::dataset::Unit> =
        ds.units().map(|(_, u)| (u.code.as_str(), u)).collect();
    // Successors: a unit's `Replaces` first (a code claimed by two units has none), else the one new unit
    // (a code not in the stored list) of the same name in the same province.
    let mut claimed: HashMap<&str, Option<&str>> = HashMap::new();
    for (_, u) in ds.units() {
        for r in &u.replaces {
            claimed
                .entry(r.as_str())
                .and_modify(|x| *x = None)
                .or_insert(Some(u.code.as_str()));
        }
    }
    let mut by_name: HashMap<(&str, String), Vec<&str>> = HashMap::new();
    for (_, u) in ds.units() {
        if !old_units.contains_key(&u.code) {
            by_name
                .entry((u.province_code.as_str(), search_key(&u.name)))
                .or_default()
                .push(u.code.as_str());
        }
    }

    let mut kept_units: Vec<(UnitEntry, String)> = Vec::new();
    for (code, (old, code_name)) in &old_units {
        match new_units.get(code.as_str()) {
            None => {
                s.removed += 1;
                let successor = match claimed.get(code.as_str()) {
                    Some(x) => x.map(str::to_string),
                    None => match by_name.get(&(old.province_code.as_str(), search_key(&old.name)))
                    {
                        Some(v) if v.len() == 1 => Some(v[0].to_string()),
                        _ => None,
                    },
                };
                let mut e = old.clone();
                e.retired = true;
                e.successor = successor;
                kept_units.push((e, code_name.clone()));
            }
            Some(u) => {
                if old.name != u.name || old.full_name != u.full_name {
                    s.renamed += 1;
                }
                if old.province_code != u.province_code {
                    s.moved += 1;
                }
                if old.name != u.name
                    || old.full_name != u.full_name
                    || old.name_en != u.name_en
                    || old.full_name_en != u.full_name_en
                    || old.province_code != u.province_code
                {
                    kept_units.push((old.clone(), code_name.clone()));
                }
            }
        }
    }
    s.added = ds
        .units()
        .filter(|(_, u)| !old_units.contains_key(&u.code))
        .count();
    let new_provinces: HashMap<&str, &super::dataset::Province> =
        ds.provinces.iter().map(|p| (p.code.as_str(), p)).collect();
    s.provinces_added = ds
        .provinces
        .iter()
        .filter(|p| !old_provinces.contains_key(&p.code))
        .count();
    let mut kept_provinces: Vec<ProvinceEntry> = Vec::new();
    for (code, old) in &old_provinces {
        match new_provinces.get(code.as_str()) {
            None => {
                s.provinces_removed += 1;
                let mut e = old.clone();
                e.retired = true;
                kept_provinces.push(e);
            }
            Some(p) => {
                if old.name != p.name
                    || old.full_name != p.full_name
                    || old.name_en != p.name_en
                    || old.full_name_en != p.full_name_en
                {
                    kept_provinces.push(old.clone());
                }
            }
        }
    }
    kept_units.sort_by(|a, b| a.0.code.cmp(&b.0.code));
    kept_provinces.sort_by(|a, b| a.code.cmp(&b.code));
    for (e, code_name) in &kept_units {
        if history::keep_unit(c, e, code_name, &info.name, &now)? {
            s.history_added += 1;
            if e.retired {
                s.retired += 1;
                s.successors += usize::from(e.successor.is_some());
            }
        }
    }
    for e in &kept_provinces {
        if history::keep_province(c, e, &info.name, &now)? {
            s.history_added += 1;
        }
    }

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
        "INSERT INTO admin_unit_dataset(id, name, dataset_date, source, sha256, provinces, units, imported_at,
                                        effective_date)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, dataset_date = excluded.dataset_date,
            source = excluded.source, sha256 = excluded.sha256, provinces = excluded.provinces,
            units = excluded.units, imported_at = excluded.imported_at,
            effective_date = excluded.effective_date",
        params![
            d.name,
            d.date,
            d.source,
            d.sha256,
            d.provinces,
            d.units,
            d.imported_at,
            d.effective_date
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

/// The display label of a unit, "Xã Bù Gia Mập, Thành phố Đồng Nai"; a former unit as it last was, marked
/// "(cũ)" ([`lookup`]); `None` for a code never listed. While no dataset is stored, the built-in sample
/// answers.
pub fn unit_label(c: &Connection, code: &str) -> StoreResult<Option<String>> {
    Ok(lookup(c, code, None)?.map(|u| u.label))
}

/// The label of a unit as of day `on` (e.g. a dossier's capture date): the names in force that day, not
/// marked even if the code has been retired since.
pub fn unit_label_on(c: &Connection, code: &str, on: time::Date) -> StoreResult<Option<String>> {
    Ok(lookup(c, code, Some(on))?.map(|u| u.label))
}

fn label(unit_full_name: &str, province_full_name: &str) -> String {
    format!("{unit_full_name}, {province_full_name}")
}

/// How a former unit's name is marked in its label.
pub const FORMER_MARK: &str = "(cũ)";

fn ymd(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// The current entry of a unit: the stored list, or the built-in sample while none is stored.
fn current(c: &Connection, code: &str) -> StoreResult<Option<UnitOut>> {
    if dataset(c)?.is_none() {
        return Ok(sample::dataset()
            .units()
            .find(|(_, u)| u.code == code)
            .map(|(p, u)| UnitOut {
                code: u.code.clone(),
                name: u.name.clone(),
                name_en: u.name_en.clone(),
                full_name: u.full_name.clone(),
                full_name_en: u.full_name_en.clone(),
                province: ProvinceRef {
                    code: p.code.clone(),
                    name: p.name.clone(),
                    full_name: p.full_name.clone(),
                },
                label: label(&u.full_name, &p.full_name),
                former: false,
                valid_until: None,
                successor: None,
            }));
    }
    get(c, code)
}

fn current_province(c: &Connection, code: &str) -> StoreResult<Option<ProvinceRef>> {
    if dataset(c)?.is_none() {
        return Ok(sample::dataset()
            .provinces
            .iter()
            .find(|p| p.code == code)
            .map(|p| ProvinceRef {
                code: p.code.clone(),
                name: p.name.clone(),
                full_name: p.full_name.clone(),
            }));
    }
    Ok(c.query_row(
        "SELECT code, name, full_name FROM admin_provinces WHERE code = ?1",
        [code],
        |r| {
            Ok(ProvinceRef {
                code: r.get(0)?,
                name: r.get(1)?,
                full_name: r.get(2)?,
            })
        },
    )
    .optional()?)
}

/// Province `code` as named on day `on` (YYYY-MM-DD): its history entry in force that day, else the current
/// list, else its last entry; a code known nowhere is given as it is.
fn province_at(c: &Connection, code: &str, on: &str) -> StoreResult<ProvinceRef> {
    let hist = history::province_entries(c, code)?;
    let from = |e: &ProvinceEntry| ProvinceRef {
        code: e.code.clone(),
        name: e.name.clone(),
        full_name: e.full_name.clone(),
    };
    if let Some(e) = history::in_force(&hist, on) {
        return Ok(from(e));
    }
    if let Some(p) = current_province(c, code)? {
        return Ok(p);
    }
    Ok(hist.last().map(from).unwrap_or_else(|| ProvinceRef {
        code: code.to_string(),
        name: code.to_string(),
        full_name: code.to_string(),
    }))
}

/// One unit by code, also a former one, optionally as of day `on`:
///
/// - with `on`: the names in force that day (history entry, else the current list), unmarked;
/// - else, or when nothing else applies: the current entry; for a code no longer listed, its last entry
///   with the unit's name marked "(cũ)", `former` set and the `successor` if known.
///
/// The province is named as of the same day (or, for a former unit, the day before it left the list).
/// `None`: a code never listed (nor in the compiled-in history).
pub fn lookup(c: &Connection, code: &str, on: Option<time::Date>) -> StoreResult<Option<UnitOut>> {
    let now = current(c, code)?;
    let hist = history::unit_entries(c, code)?;
    let on = on.map(ymd);
    let chosen = match on.as_deref().and_then(|d| history::in_force(&hist, d)) {
        Some(e) => Some((e, false)),
        None if now.is_some() => None,
        None => hist.last().map(|e| (e, true)),
    };
    let Some((e, marked)) = chosen else {
        let Some(mut u) = now else {
            return Ok(None);
        };
        if let Some(d) = &on {
            let p = province_at(c, &u.province.code, d)?;
            if p != u.province {
                u.label = label(&u.full_name, &p.full_name);
                u.province = p;
            }
        }
        return Ok(Some(u));
    };
    let as_of = if marked {
        protocol::parse_date(&e.valid_until)
            .and_then(|d| d.previous_day())
            .map(ymd)
            .unwrap_or_else(|| e.valid_until.clone())
    } else {
        on.clone().unwrap_or_default()
    };
    let province = province_at(c, &e.province_code, &as_of)?;
    let shown = if marked {
        format!("{} {FORMER_MARK}", e.full_name)
    } else {
        e.full_name.clone()
    };
    let successor = match (&now, hist.last().and_then(|l| l.successor.as_deref())) {
        (None, Some(s)) => Some(UnitRef {
            code: s.to_string(),
            label: current(c, s)?
                .map(|u| u.label)
                .unwrap_or_else(|| s.to_string()),
        }),
        _ => None,
    };
    Ok(Some(UnitOut {
        code: e.code.clone(),
        name: e.name.clone(),
        name_en: e.name_en.clone(),
        full_name: e.full_name.clone(),
        full_name_en: e.full_name_en.clone(),
        label: label(&shown, &province.full_name),
        province,
        former: now.is_none(),
        valid_until: Some(e.valid_until.clone()),
        successor,
    }))
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
        former: false,
        valid_until: None,
        successor: None,
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

/// One unit of the current list by code (see [`lookup`] for former units).
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
