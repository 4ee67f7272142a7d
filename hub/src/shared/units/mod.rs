//! Vietnam's administrative units: the two-tier list in force since 1 July 2025 (34 provinces and centrally
//! run cities; 3,321 communes, wards and special zones), used to pick and check a commune.
//!
//! - `dataset`: the file format and its validation (pure);
//! - `key`: search keys (lower-case, no diacritics, `đ` → `d`, tone-placement-insensitive);
//! - `store`: replace-all in one transaction, the built-in sample, queries, and for other concerns
//!   [`store::unit_exists`] and [`store::unit_label`];
//! - `sample`: Khánh Hoà (56) and Đồng Nai (75), stored while no dataset has been imported;
//! - `routes`: `GET /api/v1/units/…` for any logged-in user; `cli`: `hub units import|list`.

pub mod cli;
pub mod dataset;
pub mod key;
pub mod routes;
pub mod sample;
pub mod store;

use std::io::Read;
use std::path::Path;

use rusqlite::Connection;

pub use dataset::{Dataset, DatasetError};
pub use key::search_key;
pub use store::{unit_exists, unit_label, DatasetInfo, ImportSummary};

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
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ImportError {
    /// Whether the file itself was at fault (as opposed to the disk or the database).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            ImportError::TooLarge { .. } | ImportError::Invalid { .. }
        )
    }
}

/// Reads, validates and stores the dataset at `path`, replacing the stored list in one transaction.
pub fn import_file(c: &mut Connection, path: &Path) -> Result<ImportSummary, ImportError> {
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
        .unwrap_or(shown);
    let info = DatasetInfo {
        date: date_in_name(&name),
        name,
        source: "import",
        sha256: protocol::sha256_hex(&bytes),
    };
    Ok(store::replace(c, &ds, &info)?)
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
            let e = import_file(c, &bad).unwrap_err();
            assert!(e.is_refusal());
            let msg = e.to_string();
            assert!(
                msg.contains("province 75, unit #95 (Code")
                    && msg.contains("ProvinceCode is \"76\""),
                "{msg}"
            );
            assert_eq!(snapshot(c), before);
            let e = import_file(c, &truncated).unwrap_err();
            assert!(
                e.is_refusal() && e.to_string().contains("not a JSON list"),
                "{e}"
            );
            assert_eq!(snapshot(c), before);
            let e = import_file(c, &dir.path().join("missing.json")).unwrap_err();
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
            let s = import_file(c, &file).unwrap();
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
}
