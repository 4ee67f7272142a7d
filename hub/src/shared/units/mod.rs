//! Vietnam's administrative units: the two-tier list in force since 1 July 2025 (34 provinces and centrally
//! run cities; 3,321 communes, wards and special zones), used to pick and check a commune.
//!
//! - `dataset`: the file format and its validation (pure);
//! - `key`: search keys (lower-case, no diacritics, `đ` → `d`, tone-placement-insensitive);
//! - `store`: replace-all in one transaction (what it retires or renames is kept in the history), the
//!   built-in sample, queries, and for other concerns [`store::unit_exists`] (current list only: what a new
//!   capture may use), [`store::unit_label`] and [`store::unit_label_on`] (also former codes, as of a date);
//! - `history`: former names, kept by imports or compiled in (`known-history.json`), and which applied when;
//! - `sample`: Khánh Hoà (56) and Đồng Nai (75), stored while no dataset has been imported;
//! - `routes`: `GET /api/v1/units/…` for any logged-in user; `cli`: `hub units import|list`;
//! - `wording`: a unit's label inside a sentence ("xã Bù Gia Mập, thành phố Đồng Nai").

pub mod cli;
pub mod dataset;
pub mod history;
pub mod key;
pub mod routes;
pub mod sample;
pub mod store;
pub mod wording;

use std::io::Read;
use std::path::Path;

use rusqlite::Connection;

pub use dataset::{Dataset, DatasetError};
pub use key::search_key;
pub use store::{unit_exists, unit_label, unit_label_on, DatasetInfo, ImportSummary};

use crate::shared::store::StoreError;

/// Largest dataset file accepted (the full 2026 file is 0.7 MB).
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// Why an import was refused or failed. Nothing is changed in any case.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is larger than {MAX_FILE_BYTES} bytes; it is not a units dataset")]
    TooLarge { path: String },
    #[error("{path} was refused, nothing was changed: {source}")]
    Invalid { path: String, source: DatasetError },
    #[error(
        "{path} was refused, nothing was changed: it takes effect on {effective}, before the stored list \
         ({stored}, effective {stored_effective}); import lists in the order they took effect, or give the \
         right day with --effective"
    )]
    Older {
        path: String,
        effective: String,
        stored: String,
        stored_effective: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ImportError {
    /// Whether the file itself was at fault (as opposed to the disk or the database).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            ImportError::TooLarge { .. } | ImportError::Invalid { .. } | ImportError::Older { .. }
        )
    }
}

/// Reads, validates and stores the dataset at `path`, replacing the stored list in one transaction; what it
/// retires or renames is kept in the history as valid until the day the file takes effect: `effective`, else
/// the date in its file name, else today. A file taking effect before the stored list is refused (the
/// history would say the wrong names applied); the stored list itself (same SHA-256) changes nothing.
pub fn import_file(
    c: &mut Connection,
    path: &Path,
    effective: Option<time::Date>,
) -> Result<ImportSummary, ImportError> {
    let shown = path.display().to_string();
    let read_err = |source| ImportError::Read {
        path: shown.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ImportError::TooLarge { path: shown });
    }
    let ds = dataset::parse(&bytes).map_err(|source| ImportError::Invalid {
        path: shown.clone(),
        source,
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| shown.clone());
    let date = date_in_name(&name);
    let effective = match effective {
        Some(d) => format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()),
        None => date.clone().unwrap_or_else(|| {
            let d = crate::shared::clock::today_vn();
            format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
        }),
    };
    let info = DatasetInfo {
        date,
        name,
        source: "import",
        sha256: protocol::sha256_hex(&bytes),
        effective,
    };
    let tx = crate::shared::store::write_tx(c)?;
    match store::dataset(&tx)? {
        Some(stored) => {
            let stored_effective = stored.effective().unwrap_or("").to_string();
            if stored.sha256 != info.sha256 && info.effective.as_str() < stored_effective.as_str() {
                return Err(ImportError::Older {
                    path: shown,
                    effective: info.effective,
                    stored: stored.name,
                    stored_effective,
                });
            }
        }
        // Nothing stored: the built-in sample has been answering (dossiers may name its units), so what
        // the file drops from it is kept too, unless the file is older than the sample.
        None if info.effective >= sample::info().effective => {
            store::replace_in(&tx, sample::dataset(), &sample::info())?;
        }
        None => {}
    }
    let summary = store::replace_in(&tx, &ds, &info)?;
    if !summary.unchanged {
        tx.commit().map_err(StoreError::classify)?;
    }
    Ok(summary)
}

/// The first `YYYY-MM-DD` date in a file name (`units-2026-07-25.json` → `2026-07-25`).
pub fn date_in_name(name: &str) -> Option<String> {
    let b = name.as_bytes();
    (0..b.len().saturating_sub(9))
        .filter(|&i| name.is_char_boundary(i) && name.is_char_boundary(i + 10))
        .map(|i| &name[i..i + 10])
        .find(|s| protocol::parse_date(s).is_some())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::store::Db;

    fn snapshot(c: &Connection) -> (Option<store::DatasetRow>, Vec<(String, String, String)>) {
        let mut st = c
            .prepare("SELECT code, name, province_code FROM admin_units ORDER BY code")
            .unwrap();
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        (store::dataset(c).unwrap(), rows)
    }

    #[test]
    fn dates_in_file_names() {
        assert_eq!(
            date_in_name("units-2026-07-25.json").as_deref(),
            Some("2026-07-25")
        );
        assert_eq!(date_in_name("đơn-vị-2026-13-40.json"), None);
        assert_eq!(date_in_name("units.json"), None);
        assert_eq!(date_in_name("2026-07-2"), None);
    }

    #[test]
    fn a_malformed_file_is_refused_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("hub.sqlite")).unwrap();
        // A good file with one unit under the wrong province, near the end.
        let mut v: serde_json::Value = serde_json::from_str(sample::SAMPLE_JSON).unwrap();
        let bad = dir.path().join("units-2026-08-01.json");
        v[1]["Wards"][94]["ProvinceCode"] = "76".into();
        std::fs::write(&bad, serde_json::to_vec(&v).unwrap()).unwrap();
        let truncated = dir.path().join("truncated.json");
        std::fs::write(&truncated, &sample::SAMPLE_JSON.as_bytes()[..5000]).unwrap();

        db.call_sync(|c| {
            store::ensure_loaded(c)?;
            let before = snapshot(c);
            let e = import_file(c, &bad, None).unwrap_err();
            assert!(e.is_refusal());
            let msg = e.to_string();
            assert!(
                msg.contains("province 75, unit #95 (Code")
                    && msg.contains("ProvinceCode is \"76\""),
                "{msg}"
            );
            assert_eq!(snapshot(c), before);
            let e = import_file(c, &truncated, None).unwrap_err();
            assert!(
                e.is_refusal() && e.to_string().contains("not a JSON list"),
                "{e}"
            );
            assert_eq!(snapshot(c), before);
            let e = import_file(c, &dir.path().join("missing.json"), None).unwrap_err();
            assert!(matches!(e, ImportError::Read { .. }));
            assert_eq!(snapshot(c), before);
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn an_import_replaces_the_list_and_reports_the_changes() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("hub.sqlite")).unwrap();
        // Khánh Hoà only, one unit renamed (old tone placement), one unit dropped.
        let mut v: serde_json::Value = serde_json::from_str(sample::SAMPLE_JSON).unwrap();
        let mut kh = v[0].take();
        let wards = kh["Wards"].as_array_mut().unwrap();
        let dropped = wards.pop().unwrap();
        let i = wards.iter().position(|w| w["Name"] == "Ninh Hoà").unwrap();
        wards[i]["Name"] = "Ninh Hòa".into();
        wards[i]["FullName"] = "Phường Ninh Hòa".into();
        let file = dir.path().join("units-2026-09-01.json");
        std::fs::write(&file, serde_json::to_vec(&vec![kh]).unwrap()).unwrap();

        db.call_sync(|c| {
            store::ensure_loaded(c)?;
            let s = import_file(c, &file, None).unwrap();
            assert_eq!((s.provinces, s.units), (1, 64));
            assert_eq!((s.added, s.removed, s.renamed, s.moved), (0, 96, 1, 0));
            assert_eq!((s.provinces_added, s.provinces_removed), (0, 1));
            assert_eq!(s.before.as_ref().unwrap().source, "sample");
            assert_eq!(s.dataset.date.as_deref(), Some("2026-09-01"));
            assert!(
                s.to_text().contains("96 removed, 1 renamed"),
                "{}",
                s.to_text()
            );
            assert!(!unit_exists(c, "25222")?, "Đồng Nai is gone");
            assert!(!unit_exists(c, dropped["Code"].as_str().unwrap())?);
            // The old spelling is stored as given; both spellings find it.
            for q in ["Ninh Hoà", "Ninh Hòa"] {
                assert_eq!(store::search(c, q, None, 5)?[0].name, "Ninh Hòa");
            }
            // An import is never replaced by the sample.
            assert!(!store::ensure_loaded(c)?);
            Ok(())
        })
        .unwrap();
    }

    fn day(s: &str) -> time::Date {
        protocol::parse_date(s).unwrap()
    }

    fn history_rows(c: &Connection) -> Vec<(String, String, String, bool, Option<String>)> {
        let mut st = c
            .prepare(
                "SELECT code, valid_until, full_name, retired, successor_code FROM admin_unit_history
                 UNION ALL
                 SELECT code, valid_until, full_name, retired, NULL FROM admin_province_history
                 ORDER BY 1, 2",
            )
            .unwrap();
        st.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
    }

    /// The built-in sample, changed as a next version might change it (synthetic: no newer official list
    /// was found, see docs/domain.md): 25222 Xã Bù Gia Mập leaves and a new 25223 Phường Bù Gia Mập comes;
    /// 25225 Xã Đăk Ơ leaves, taken over by 25210 Đồng Xoài (`Replaces`); 26134 Xã Tà Lài leaves with no
    /// successor; 26446 Xã Xuân Hoà becomes Phường Xuân Hoà (same code); Tỉnh Khánh Hoà is renamed.
    pub(crate) fn next_version() -> serde_json::Value {
        let mut v: serde_json::Value = serde_json::from_str(sample::SAMPLE_JSON).unwrap();
        v[0]["FullName"] = "Thành phố Khánh Hoà".into();
        let wards = v[1]["Wards"].as_array_mut().unwrap();
        let at = |w: &Vec<serde_json::Value>, code: &str| {
            w.iter().position(|u| u["Code"] == code).unwrap()
        };
        let i = at(wards, "25222");
        wards[i]["Code"] = "25223".into();
        wards[i]["FullName"] = "Phường Bù Gia Mập".into();
        let i = at(wards, "25225");
        wards.remove(i);
        let i = at(wards, "25210");
        wards[i]["Replaces"] = serde_json::json!(["25225"]);
        let i = at(wards, "26134");
        wards.remove(i);
        let i = at(wards, "26446");
        wards[i]["FullName"] = "Phường Xuân Hoà".into();
        v
    }

    #[test]
    fn an_import_keeps_what_it_retires_and_names_codes_as_of_a_date() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("hub.sqlite")).unwrap();
        let next = dir.path().join("units-2026-09-01.json");
        std::fs::write(&next, serde_json::to_vec(&next_version()).unwrap()).unwrap();
        let older = dir.path().join("units-2026-08-01.json");
        std::fs::write(
            &older,
            serde_json::to_vec(&vec![next_version()[0].clone()]).unwrap(),
        )
        .unwrap();

        db.call_sync(|c| {
            // Compiled-in history, before anything is stored: Đồng Nai's communes that became wards.
            assert_eq!(
                store::unit_label_on(c, "26248", day("2026-04-29"))?.as_deref(),
                Some("Xã Trảng Bom, Tỉnh Đồng Nai")
            );
            assert_eq!(
                store::unit_label_on(c, "26248", day("2026-04-30"))?.as_deref(),
                Some("Phường Trảng Bom, Thành phố Đồng Nai")
            );
            assert_eq!(
                unit_label(c, "26248")?.as_deref(),
                Some("Phường Trảng Bom, Thành phố Đồng Nai")
            );
            store::ensure_loaded(c)?;
            assert!(history_rows(c).is_empty());

            let s = import_file(c, &next, None).unwrap();
            assert_eq!(s.effective_date, "2026-09-01");
            assert_eq!((s.added, s.removed, s.renamed), (1, 3, 1));
            assert_eq!((s.retired, s.successors, s.history_added), (3, 2, 5));
            assert!(
                s.to_text()
                    .contains("valid until 2026-09-01: 5 entries (3 former unit(s), 2 with"),
                "{}",
                s.to_text()
            );
            assert_eq!(
                history_rows(c),
                vec![
                    (
                        "25222".into(),
                        "2026-09-01".into(),
                        "Xã Bù Gia Mập".into(),
                        true,
                        Some("25223".into())
                    ),
                    (
                        "25225".into(),
                        "2026-09-01".into(),
                        "Xã Đăk Ơ".into(),
                        true,
                        Some("25210".into())
                    ),
                    (
                        "26134".into(),
                        "2026-09-01".into(),
                        "Xã Tà Lài".into(),
                        true,
                        None
                    ),
                    (
                        "26446".into(),
                        "2026-09-01".into(),
                        "Xã Xuân Hoà".into(),
                        false,
                        None
                    ),
                    (
                        "56".into(),
                        "2026-09-01".into(),
                        "Tỉnh Khánh Hoà".into(),
                        false,
                        None
                    ),
                ]
            );

            // New captures: the retired codes are not units any more, and search does not offer them.
            assert!(!unit_exists(c, "25222")? && unit_exists(c, "25223")?);
            let found = store::search(c, "bu gia map", None, 20)?;
            assert_eq!(
                found.iter().map(|u| u.code.as_str()).collect::<Vec<_>>(),
                ["25223"]
            );
            assert!(store::search(c, "ta lai", Some("75"), 20)?.is_empty());

            // A former code is still named: as it last was, marked, with its successor.
            let u = store::lookup(c, "25222", None)?.unwrap();
            assert!(u.former);
            assert_eq!(u.label, "Xã Bù Gia Mập (cũ), Thành phố Đồng Nai");
            assert_eq!(u.valid_until.as_deref(), Some("2026-09-01"));
            let succ = u.successor.unwrap();
            assert_eq!(
                (succ.code.as_str(), succ.label.as_str()),
                ("25223", "Phường Bù Gia Mập, Thành phố Đồng Nai")
            );
            assert_eq!(
                unit_label(c, "25222")?.as_deref(),
                Some("Xã Bù Gia Mập (cũ), Thành phố Đồng Nai")
            );
            // As of a day it applied: unmarked, and the province as named that day.
            assert_eq!(
                store::unit_label_on(c, "25222", day("2026-08-15"))?.as_deref(),
                Some("Xã Bù Gia Mập, Thành phố Đồng Nai")
            );
            assert_eq!(
                store::unit_label_on(c, "25222", day("2026-03-01"))?.as_deref(),
                Some("Xã Bù Gia Mập, Tỉnh Đồng Nai")
            );
            assert_eq!(
                store::unit_label_on(c, "25222", day("2026-10-01"))?.as_deref(),
                Some("Xã Bù Gia Mập (cũ), Thành phố Đồng Nai")
            );
            assert_eq!(
                store::lookup(c, "25225", None)?
                    .unwrap()
                    .successor
                    .unwrap()
                    .code,
                "25210"
            );
            let u = store::lookup(c, "26134", None)?.unwrap();
            assert!(u.former && u.successor.is_none());
            // Renamed under the same code: current name now, the old one as of before.
            assert_eq!(
                unit_label(c, "26446")?.as_deref(),
                Some("Phường Xuân Hoà, Thành phố Đồng Nai")
            );
            assert_eq!(
                store::unit_label_on(c, "26446", day("2026-08-31"))?.as_deref(),
                Some("Xã Xuân Hoà, Thành phố Đồng Nai")
            );
            let u = store::lookup(c, "26446", Some(day("2026-08-31")))?.unwrap();
            assert!(!u.former && u.valid_until.as_deref() == Some("2026-09-01"));
            // A province renamed: its units as of before name it as it was.
            let kh = store::units_of(c, "56")?[0].code.clone();
            assert!(store::unit_label_on(c, &kh, day("2026-08-31"))?
                .unwrap()
                .ends_with(", Tỉnh Khánh Hoà"));
            assert!(unit_label(c, &kh)?
                .unwrap()
                .ends_with(", Thành phố Khánh Hoà"));
            assert_eq!(store::lookup(c, "99999", None)?, None);

            // The same file again changes nothing, not even the stored date.
            let before = (snapshot(c), history_rows(c));
            let again = import_file(c, &next, None).unwrap();
            assert!(again.unchanged, "{again:?}");
            assert!(again.to_text().contains("nothing was changed"));
            assert_eq!((snapshot(c), history_rows(c)), before);
            // A list taking effect before the stored one is refused, nothing changed.
            let e = import_file(c, &older, None).unwrap_err();
            assert!(
                e.is_refusal() && e.to_string().contains("takes effect on 2026-08-01"),
                "{e}"
            );
            assert_eq!((snapshot(c), history_rows(c)), before);
            // ... unless the right day is given.
            let s = import_file(c, &older, Some(day("2026-10-01"))).unwrap();
            assert_eq!(s.effective_date, "2026-10-01");
            assert!(!unit_exists(c, "26446")?);
            assert_eq!(
                store::unit_label_on(c, "26446", day("2026-08-31"))?.as_deref(),
                Some("Xã Xuân Hoà, Thành phố Đồng Nai")
            );
            assert_eq!(
                store::unit_label_on(c, "26446", day("2026-09-15"))?.as_deref(),
                Some("Phường Xuân Hoà, Thành phố Đồng Nai")
            );
            assert_eq!(
                unit_label(c, "26446")?.as_deref(),
                Some("Phường Xuân Hoà (cũ), Thành phố Đồng Nai")
            );
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn a_first_import_keeps_what_it_drops_from_the_sample() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("hub.sqlite")).unwrap();
        let next = dir.path().join("units-2026-09-01.json");
        std::fs::write(&next, serde_json::to_vec(&next_version()).unwrap()).unwrap();
        db.call_sync(|c| {
            // Never used: the sample answered lookups without being stored.
            assert!(store::dataset(c)?.is_none());
            let s = import_file(c, &next, None).unwrap();
            assert_eq!(s.before.as_ref().unwrap().source, "sample");
            assert_eq!((s.retired, s.successors), (3, 2));
            assert_eq!(
                unit_label(c, "25222")?.as_deref(),
                Some("Xã Bù Gia Mập (cũ), Thành phố Đồng Nai")
            );
            Ok(())
        })
        .unwrap();
    }
}
