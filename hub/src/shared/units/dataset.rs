//! The dataset file format and its validation (pure: bytes in, a checked [`Dataset`] or an error naming the
//! offending entry out). The format is the one of the public vietnamese-provinces-database JSON export:
//!
//! ```json
//! [{"Code":"75","Name":"Đồng Nai","NameEn":"Dong Nai","FullName":"Thành phố Đồng Nai",
//!   "FullNameEn":"Dong Nai City","CodeName":"dong_nai",
//!   "Wards":[{"Code":"25222","Name":"Bù Gia Mập","NameEn":"Bu Gia Map","FullName":"Xã Bù Gia Mập",
//!             "FullNameEn":"Bu Gia Map Commune","CodeName":"bu_gia_map","ProvinceCode":"75"}]}]
//! ```
//!
//! A unit may also carry `"Replaces": ["26251", ...]`, the codes of units it took over (not in the public
//! export; a list the office edits by hand may add it): an import records it as the successor of those codes
//! when they leave the list.
//!
//! Checks: province codes are 2 ASCII digits and unit codes 5 (also in `Replaces`, which must not name the
//! unit itself); every unit's `ProvinceCode` is its parent's code; no code appears twice; every name is present, non-empty, at most [`MAX_NAME_CHARS`] characters and
//! free of control characters. Names are stored NFC-normalised and trimmed, and a full name's first letter is
//! capitalised (the 2026-07-25 file has one `xã Bắc Sơn`).

use std::collections::HashMap;

use serde::Deserialize;

use super::key::nfc;

/// Longest accepted name, in characters (the longest real one is about 40).
pub const MAX_NAME_CHARS: usize = 200;

/// A province (or centrally-run city) with its units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Province {
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub full_name: String,
    pub full_name_en: String,
    pub code_name: String,
    pub units: Vec<Unit>,
}

/// A commune, ward or special zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub full_name: String,
    pub full_name_en: String,
    pub code_name: String,
    pub province_code: String,
    /// Codes of the units this one took over (`Replaces`), if the file says.
    pub replaces: Vec<String>,
}

/// A validated dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    pub provinces: Vec<Province>,
    /// How many names normalisation changed (NFC, trimming, capitalised first letter).
    pub normalised: usize,
}

impl Dataset {
    pub fn unit_count(&self) -> usize {
        self.provinces.iter().map(|p| p.units.len()).sum()
    }

    pub fn units(&self) -> impl Iterator<Item = (&Province, &Unit)> {
        self.provinces
            .iter()
            .flat_map(|p| p.units.iter().map(move |u| (p, u)))
    }
}

/// Why a dataset file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatasetError {
    #[error("not a JSON list of provinces: {0}")]
    Json(String),
    #[error("the file lists no provinces")]
    Empty,
    #[error("{entry}: {problem}")]
    Invalid { entry: String, problem: String },
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawProvince {
    code: String,
    name: String,
    name_en: String,
    full_name: String,
    full_name_en: String,
    code_name: String,
    wards: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawUnit {
    code: String,
    name: String,
    name_en: String,
    full_name: String,
    full_name_en: String,
    code_name: String,
    province_code: String,
    #[serde(default)]
    replaces: Vec<String>,
}

/// How an entry is named in errors before it is known to be well-formed: its position and, if readable,
/// its `Code` and `Name`.
fn describe(kind: &str, index: usize, v: &serde_json::Value) -> String {
    let code = v.get("Code").and_then(|c| c.as_str());
    let name = v.get("Name").and_then(|c| c.as_str());
    match (code, name) {
        (Some(c), Some(n)) => format!("{kind} #{} (Code \"{c}\", {n})", index + 1),
        (Some(c), None) => format!("{kind} #{} (Code \"{c}\")", index + 1),
        _ => format!("{kind} #{}", index + 1),
    }
}

fn invalid(entry: &str, problem: impl Into<String>) -> DatasetError {
    DatasetError::Invalid {
        entry: entry.to_string(),
        problem: problem.into(),
    }
}

fn check_code(entry: &str, field: &str, code: &str, digits: usize) -> Result<(), DatasetError> {
    if code.len() == digits && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(invalid(
            entry,
            format!("{field} \"{code}\" is not {digits} digits"),
        ))
    }
}

/// Normalises one name; `count` is incremented when normalisation changed it.
fn check_name(
    entry: &str,
    field: &str,
    raw: &str,
    capitalise: bool,
    count: &mut usize,
) -> Result<String, DatasetError> {
    let mut s = nfc(raw);
    if s.is_empty() {
        return Err(invalid(entry, format!("{field} is empty")));
    }
    if s.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(
            entry,
            format!("{field} is longer than {MAX_NAME_CHARS} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(invalid(
            entry,
            format!("{field} contains a control character"),
        ));
    }
    if capitalise {
        let mut chars = s.chars();
        if let Some(first) = chars.next().filter(|c| c.is_lowercase()) {
            s = first.to_uppercase().chain(chars).collect();
        }
    }
    if s != raw {
        *count += 1;
    }
    Ok(s)
}

/// Parses and validates a dataset file.
pub fn parse(bytes: &[u8]) -> Result<Dataset, DatasetError> {
    let list: Vec<serde_json::Value> =
        serde_json::from_slice(bytes).map_err(|e| DatasetError::Json(e.to_string()))?;
    if list.is_empty() {
        return Err(DatasetError::Empty);
    }
    let mut normalised = 0;
    let mut provinces = Vec::with_capacity(list.len());
    let mut province_at: HashMap<String, String> = HashMap::new();
    let mut unit_at: HashMap<String, String> = HashMap::new();
    for (i, v) in list.into_iter().enumerate() {
        let entry = describe("province", i, &v);
        let raw: RawProvince =
            serde_json::from_value(v).map_err(|e| invalid(&entry, e.to_string()))?;
        check_code(&entry, "Code", &raw.code, 2)?;
        if let Some(first) = province_at.get(&raw.code) {
            return Err(invalid(
                &entry,
                format!("province code {} appears twice (also {first})", raw.code),
            ));
        }
        let n = &mut normalised;
        let mut p = Province {
            name: check_name(&entry, "Name", &raw.name, false, n)?,
            name_en: check_name(&entry, "NameEn", &raw.name_en, false, n)?,
            full_name: check_name(&entry, "FullName", &raw.full_name, true, n)?,
            full_name_en: check_name(&entry, "FullNameEn", &raw.full_name_en, false, n)?,
            code_name: raw.code_name.trim().to_string(),
            code: raw.code,
            units: Vec::with_capacity(raw.wards.len()),
        };
        province_at.insert(p.code.clone(), entry.clone());
        for (j, w) in raw.wards.into_iter().enumerate() {
            let uentry = format!("province {}, {}", p.code, describe("unit", j, &w));
            let raw: RawUnit =
                serde_json::from_value(w).map_err(|e| invalid(&uentry, e.to_string()))?;
            check_code(&uentry, "Code", &raw.code, 5)?;
            if raw.province_code != p.code {
                return Err(invalid(
                    &uentry,
                    format!(
                        "ProvinceCode is \"{}\" but the unit is listed under province {}",
                        raw.province_code, p.code
                    ),
                ));
            }
            if let Some(first) = unit_at.get(&raw.code) {
                return Err(invalid(
                    &uentry,
                    format!("unit code {} appears twice (also {first})", raw.code),
                ));
            }
            for r in &raw.replaces {
                check_code(&uentry, "Replaces", r, 5)?;
                if *r == raw.code {
                    return Err(invalid(&uentry, "Replaces names the unit itself"));
                }
            }
            unit_at.insert(raw.code.clone(), uentry.clone());
            p.units.push(Unit {
                name: check_name(&uentry, "Name", &raw.name, false, n)?,
                name_en: check_name(&uentry, "NameEn", &raw.name_en, false, n)?,
                full_name: check_name(&uentry, "FullName", &raw.full_name, true, n)?,
                full_name_en: check_name(&uentry, "FullNameEn", &raw.full_name_en, false, n)?,
                code_name: raw.code_name.trim().to_string(),
                code: raw.code,
                province_code: raw.province_code,
                replaces: raw.replaces,
            });
        }
        if p.units.is_empty() {
            return Err(invalid(&entry, "the province lists no units (Wards)"));
        }
        provinces.push(p);
    }
    Ok(Dataset {
        provinces,
        normalised,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn unit(code: &str, name: &str, province: &str) -> Value {
        json!({"Code": code, "Name": name, "NameEn": "X", "FullName": format!("Xã {name}"),
               "FullNameEn": "X Commune", "CodeName": "x", "ProvinceCode": province})
    }

    fn file(provinces: Vec<Value>) -> Vec<u8> {
        serde_json::to_vec(&provinces).unwrap()
    }

    fn province(code: &str, name: &str, units: Vec<Value>) -> Value {
        json!({"Code": code, "Name": name, "NameEn": "P", "FullName": format!("Tỉnh {name}"),
               "FullNameEn": "P Province", "CodeName": "p", "Wards": units})
    }

    fn err(bytes: &[u8]) -> String {
        parse(bytes).unwrap_err().to_string()
    }

    #[test]
    fn a_good_file_parses_and_normalises() {
        let nfd: String = unicode_normalization::UnicodeNormalization::nfd("Bù Gia Mập").collect();
        let mut u = unit("25222", &nfd, "75");
        u["FullName"] = json!("xã Bù Gia Mập ");
        let ds = parse(&file(vec![province("75", "Đồng Nai", vec![u])])).unwrap();
        assert_eq!(ds.unit_count(), 1);
        let u = &ds.provinces[0].units[0];
        assert_eq!(u.name, "Bù Gia Mập");
        assert_eq!(u.full_name, "Xã Bù Gia Mập");
        assert_eq!(ds.normalised, 2);
    }

    #[test]
    fn bad_codes_are_refused_naming_the_entry() {
        let e = err(&file(vec![province(
            "75",
            "Đồng Nai",
            vec![unit("2522", "Bù Gia Mập", "75")],
        )]));
        assert!(
            e.contains("province 75, unit #1 (Code \"2522\", Bù Gia Mập)"),
            "{e}"
        );
        assert!(e.contains("not 5 digits"), "{e}");
        let e = err(&file(vec![province(
            "7A",
            "X",
            vec![unit("25222", "Y", "7A")],
        )]));
        assert!(
            e.contains("province #1 (Code \"7A\", X)") && e.contains("not 2 digits"),
            "{e}"
        );
    }

    #[test]
    fn wrong_parent_duplicates_and_missing_fields_are_refused() {
        let e = err(&file(vec![province(
            "75",
            "Đồng Nai",
            vec![unit("25222", "Bù Gia Mập", "70")],
        )]));
        assert!(e.contains("ProvinceCode is \"70\""), "{e}");
        let e = err(&file(vec![
            province("75", "Đồng Nai", vec![unit("25222", "A", "75")]),
            province("56", "Khánh Hoà", vec![unit("25222", "B", "56")]),
        ]));
        assert!(e.contains("unit code 25222 appears twice"), "{e}");
        let e = err(&file(vec![
            province("75", "A", vec![unit("25222", "A", "75")]),
            province("75", "B", vec![unit("25223", "B", "75")]),
        ]));
        assert!(e.contains("province code 75 appears twice"), "{e}");
        let mut u = unit("25222", "A", "75");
        u.as_object_mut().unwrap().remove("NameEn");
        let e = err(&file(vec![province("75", "A", vec![u])]));
        assert!(
            e.contains("unit #1 (Code \"25222\", A): missing field `NameEn`"),
            "{e}"
        );
        let e = err(&file(vec![province(
            "75",
            "A",
            vec![unit("25222", " ", "75")],
        )]));
        assert!(e.contains("Name is empty"), "{e}");
    }

    #[test]
    fn replaces_is_optional_and_checked() {
        let mut u = unit("26249", "Trảng Bom", "75");
        u["Replaces"] = json!(["26248", "26251"]);
        let ds = parse(&file(vec![province("75", "Đồng Nai", vec![u.clone()])])).unwrap();
        assert_eq!(ds.provinces[0].units[0].replaces, ["26248", "26251"]);
        u["Replaces"] = json!(["2624"]);
        let e = err(&file(vec![province("75", "Đồng Nai", vec![u.clone()])]));
        assert!(e.contains("Replaces \"2624\" is not 5 digits"), "{e}");
        u["Replaces"] = json!(["26249"]);
        let e = err(&file(vec![province("75", "Đồng Nai", vec![u])]));
        assert!(e.contains("Replaces names the unit itself"), "{e}");
    }

    #[test]
    fn not_a_list_or_empty_is_refused() {
        assert!(matches!(parse(b"{}"), Err(DatasetError::Json(_))));
        assert!(matches!(parse(b"[1"), Err(DatasetError::Json(_))));
        assert_eq!(parse(b"[]"), Err(DatasetError::Empty));
    }
}
