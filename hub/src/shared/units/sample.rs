//! The built-in sample: the two provinces the kit is piloted in, Khánh Hoà (56) and Đồng Nai (75), with all
//! their units, extracted unchanged from `units-2026-07-25.json`. It is in the dataset format, so it goes
//! through the same parser and validation as an imported file; it is stored while no dataset is.

use std::sync::OnceLock;

use super::dataset::{parse, Dataset};
use super::store::DatasetInfo;

/// The sample file (same format as an import).
pub const SAMPLE_JSON: &str = include_str!("sample.json");

/// How the sample is named in the `admin_unit_dataset` row.
pub const SAMPLE_NAME: &str =
    "built-in sample (Khánh Hoà 56, Đồng Nai 75) of units-2026-07-25.json";

/// The parsed sample (parsed once).
pub fn dataset() -> &'static Dataset {
    static SAMPLE: OnceLock<Dataset> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        parse(SAMPLE_JSON.as_bytes()).expect("the built-in sample is a valid dataset (unit-tested)")
    })
}

pub fn info() -> DatasetInfo {
    DatasetInfo {
        name: SAMPLE_NAME.to_string(),
        date: Some("2026-07-25".to_string()),
        source: "sample",
        sha256: protocol::sha256_hex(SAMPLE_JSON.as_bytes()),
        effective: "2026-07-25".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_is_valid_and_holds_the_pilot_provinces() {
        let ds = parse(SAMPLE_JSON.as_bytes()).unwrap();
        let codes: Vec<_> = ds
            .provinces
            .iter()
            .map(|p| (p.code.as_str(), p.name.as_str(), p.units.len()))
            .collect();
        assert_eq!(codes, vec![("56", "Khánh Hoà", 65), ("75", "Đồng Nai", 95)]);
        assert_eq!(ds.normalised, 0);
        assert!(ds
            .units()
            .any(|(_, u)| u.code == "25222" && u.name == "Bù Gia Mập"));
    }
}
