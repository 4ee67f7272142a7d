//! The downstream systems, read from the procedure packages (docs/protocol.md §13, "Export mappings"):
//! each package version carries, per system, the official item names (Vietnamese, as printed on the form,
//! in the form's order) and where each value comes from in a captured dossier. A new form version is a
//! new package, not new code.
//!
//! An export of a system spans the dossiers of every version of its procedure: the header is that of the
//! newest known package version that has the system; each row is made with its own version's mapping and
//! aligned by item name (a column the dossier's version lacks stays empty).

use std::collections::{BTreeMap, HashMap};

use protocol::package::export::{ExportItem, ExportSystem, Source};
use protocol::{ProcedureDef, ProcedureRef};
use rusqlite::Connection;

use super::words;
use crate::shared::store::StoreResult;

/// A downstream system as the office exports to it.
#[derive(Debug, Clone)]
pub struct System {
    /// Its id: `birth_declaration`, `ct01`, `tk1_ts`, `marital_status`, …
    pub id: String,
    /// The procedure whose dossiers go there.
    pub procedure_id: String,
    /// The mapping of the newest known package version that has the system: its header, form and
    /// target names.
    pub newest: &'static ExportSystem,
    /// The mapping of each known package version of the procedure that has the system, by version.
    pub by_version: BTreeMap<u32, &'static ExportSystem>,
}

impl System {
    /// Every column: the newest version's items.
    pub fn columns(&self) -> &'static [ExportItem] {
        &self.newest.items
    }

    /// The header row: the official item names.
    pub fn header(&self) -> Vec<&'static str> {
        self.newest.header()
    }

    /// The mapping a dossier of `version` is written with: its own version's, or the newest one when its
    /// version has no mapping for this system (its fields are read by name; missing ones stay empty).
    pub fn mapping_of(&self, version: u32) -> &'static ExportSystem {
        self.by_version
            .get(&version)
            .copied()
            .unwrap_or(self.newest)
    }
}

/// Every system of the known packages, in the order of the procedures' menu (then the order of the
/// systems in the newest package). A system id is one procedure's: a package of another procedure
/// naming the same id is left out of it.
pub fn systems() -> Vec<System> {
    let mut out: Vec<System> = Vec::new();
    for p in crate::shared::procedures::packages() {
        for sys in &p.exports {
            let version = p.procedure.version;
            match out.iter_mut().find(|s| s.id == sys.id) {
                Some(s) if s.procedure_id == p.procedure.id => {
                    s.by_version.insert(version, sys);
                    let newest = s.by_version.last_key_value().map(|(_, m)| *m);
                    s.newest = newest.unwrap_or(sys);
                }
                Some(s) => tracing::warn!(
                    system = %sys.id,
                    procedure = %p.procedure.id,
                    of = %s.procedure_id,
                    "export system id used by two procedures; ignored for the second"
                ),
                None => out.push(System {
                    id: sys.id.clone(),
                    procedure_id: p.procedure.id.clone(),
                    newest: sys,
                    by_version: BTreeMap::from([(version, sys)]),
                }),
            }
        }
    }
    out
}

/// The system with this id.
pub fn find(id: &str) -> Option<System> {
    systems().into_iter().find(|s| s.id == id)
}

/// One exported dossier as read from the store.
#[derive(Debug, Clone)]
pub struct Record {
    pub dossier_id: String,
    pub receipt_code: String,
    /// RFC 3339.
    pub received_at: String,
    pub procedure: ProcedureRef,
    /// The sealed fields (derivations already applied at seal; applied again here for older dossiers).
    pub fields: BTreeMap<String, String>,
    /// Registered result numbers `(kind, number)`.
    pub results: Vec<(String, String)>,
}

/// Commune labels, looked up once per export and day.
pub struct UnitLabels<'c> {
    c: &'c Connection,
    cache: HashMap<(String, Option<time::Date>), String>,
}

impl<'c> UnitLabels<'c> {
    pub fn new(c: &'c Connection) -> Self {
        UnitLabels {
            c,
            cache: HashMap::new(),
        }
    }

    /// "Xã …, Tỉnh …" for a unit code (a former unit marked "(cũ)"); an unknown code is given as it is.
    pub fn label(&mut self, code: &str) -> StoreResult<String> {
        self.label_on(code, None)
    }

    /// Like [`Self::label`], as named on day `on` when given, so a unit renamed or retired since keeps the
    /// name it had then.
    pub fn label_on(&mut self, code: &str, on: Option<time::Date>) -> StoreResult<String> {
        let key = (code.to_owned(), on);
        if let Some(l) = self.cache.get(&key) {
            return Ok(l.clone());
        }
        let l = match on {
            Some(d) => crate::shared::units::unit_label_on(self.c, code, d)?,
            None => crate::shared::units::unit_label(self.c, code)?,
        }
        .unwrap_or_else(|| code.to_owned());
        self.cache.insert(key, l.clone());
        Ok(l)
    }
}

/// Values of one row, given the record's procedure definition.
pub struct RowMaker<'a, 'c> {
    def: Option<&'static ProcedureDef>,
    rec: &'a Record,
    fields: BTreeMap<String, String>,
    units: &'a mut UnitLabels<'c>,
    iso: bool,
}

/// The item the forms head with the authority addressed.
pub const ADDRESSEE: &str = "Kính gửi";

pub use crate::shared::units::wording::in_sentence;

impl<'a, 'c> RowMaker<'a, 'c> {
    pub fn new(rec: &'a Record, units: &'a mut UnitLabels<'c>) -> Self {
        let def = crate::shared::procedures::find(&rec.procedure);
        let fields = match def {
            Some(d) => protocol::derive_fields(d, &rec.fields).0,
            None => rec.fields.clone(),
        };
        RowMaker {
            def,
            rec,
            fields,
            units,
            iso: false,
        }
    }

    /// Dates in ISO 8601 (`YYYY-MM-DD`, for CSV) instead of as the forms print them (`dd/mm/yyyy`).
    pub fn iso_dates(mut self, iso: bool) -> Self {
        self.iso = iso;
        self
    }

    fn date(&self, d: time::Date) -> String {
        if self.iso {
            words::date_iso(d)
        } else {
            words::date_in_figures(d)
        }
    }

    fn field(&self, key: &str) -> &str {
        self.fields.get(key).map(String::as_str).unwrap_or("")
    }

    /// A commune field's unit label, named as on the day the office received the dossier (the record
    /// does not carry its capture day; it comes from the field hub soon after); a code the hub does not
    /// know as it is.
    pub fn commune(&mut self, key: &str) -> StoreResult<String> {
        let code = self.field(key).to_owned();
        if code.is_empty() {
            return Ok(String::new());
        }
        let on = crate::shared::clock::vn_date_of(&self.rec.received_at);
        self.units.label_on(&code, on)
    }

    /// The value of one source for this record.
    pub fn value(&mut self, src: &Source) -> StoreResult<String> {
        use Source::*;
        Ok(match src {
            ReceiptCode => self.rec.receipt_code.clone(),
            DossierId => self.rec.dossier_id.clone(),
            ReceivedOn => crate::shared::clock::vn_date_of(&self.rec.received_at)
                .map(|d| self.date(d))
                .unwrap_or_default(),
            Field(k) => self.field(k).to_owned(),
            Choice(k) => {
                let v = self.field(k);
                self.def
                    .and_then(|d| d.field(k))
                    .and_then(|f| f.options.iter().find(|o| o.value == v))
                    .map(|o| o.label.vi.clone())
                    .unwrap_or_else(|| v.to_owned())
            }
            Commune(k) => self.commune(k)?,
            Date(k) => {
                let v = self.field(k);
                match protocol::parse_year_or_date(v) {
                    Some(protocol::YearOrDate::Date(d)) => self.date(d),
                    _ => v.to_owned(),
                }
            }
            DateWords(k) => protocol::parse_date(self.field(k))
                .map(words::date_in_words)
                .unwrap_or_default(),
            Upper(k) => self.field(k).to_uppercase(),
            Address { detail, commune } => {
                let d = self.field(detail).to_owned();
                let c = self.commune(commune)?;
                [d, c]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
            FirstOf(list) => {
                for s in list {
                    let v = self.value(s)?;
                    if !v.is_empty() {
                        return Ok(v);
                    }
                }
                String::new()
            }
            Prefixed { prefix, value } => {
                let v = self.value(value)?;
                // An authority of a unit, as the printed form writes it: "Công an xã …, tỉnh …", not
                // "Công an Xã …, Tỉnh …" (a code the hub does not know stays as it is).
                let v = match **value {
                    Commune(_) => in_sentence(&v),
                    _ => v,
                };
                if v.is_empty() {
                    v
                } else {
                    format!("{prefix}{v}")
                }
            }
            ResultNumber(kind) => self
                .rec
                .results
                .iter()
                .find(|(k, _)| k == kind)
                .map(|(_, n)| n.clone())
                .unwrap_or_default(),
            NotCaptured => String::new(),
        })
    }

    /// The whole row of `sys`: the record's own version's mapping, aligned on the header by item name.
    pub fn row(&mut self, sys: &System) -> StoreResult<Vec<String>> {
        let mapping = sys.mapping_of(self.rec.procedure.version);
        let mut row = Vec::with_capacity(sys.columns().len());
        for col in sys.columns() {
            row.push(
                match mapping.items.iter().find(|i| i.name.vi == col.name.vi) {
                    // A form addressed to a bare commune is addressed to its People's Committee, the
                    // commune's civil-status authority, as the printed form writes it (office/forms:
                    // "Ủy ban nhân dân xã …, tỉnh …"); free text or a code the hub does not know as it is.
                    Some(ExportItem {
                        name,
                        value: Source::Commune(k),
                    }) if name.vi == ADDRESSEE => {
                        let raw = self.field(k).to_owned();
                        let label = self.commune(k)?;
                        if raw.is_empty() || label == raw {
                            label
                        } else {
                            format!("Ủy ban nhân dân {}", in_sentence(&label))
                        }
                    }
                    Some(i) => self.value(&i.value)?,
                    None => String::new(),
                },
            );
        }
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_system_starts_with_the_technical_columns_and_has_nfc_headers() {
        let all = systems();
        let ids: Vec<&str> = all.iter().map(|s| s.id.as_str()).collect();
        for id in ["birth_declaration", "ct01", "tk1_ts", "marital_status"] {
            assert!(ids.contains(&id), "{id} in {ids:?}");
        }
        for sys in &all {
            for m in sys.by_version.values() {
                let header = m.header();
                assert_eq!(
                    &header[..3],
                    &["Mã biên nhận", "Mã hồ sơ", "Ngày tiếp nhận"],
                    "{}",
                    sys.id
                );
                for h in header {
                    assert_eq!(h, crate::shared::units::key::nfc(h), "{}: NFC", sys.id);
                }
            }
            assert_eq!(
                sys.newest as *const _,
                *sys.by_version.values().last().unwrap() as *const _,
                "{}: the newest version heads the export",
                sys.id
            );
        }
        assert!(find("ct01").is_some() && find("nope").is_none());
    }

    /// A row is made with its own version's mapping and aligned by item name on the newest header: a
    /// column its version lacks stays empty, whatever the order of the items in each version.
    #[test]
    fn rows_of_an_older_version_are_aligned_by_item_name() {
        use protocol::package::export::ExportItem;
        let c = crate::shared::store::open_memory().unwrap();
        let mut units = UnitLabels::new(&c);
        let name = |vi: &str| protocol::Text {
            vi: vi.into(),
            en: vi.into(),
            more: Default::default(),
            audio: Default::default(),
        };
        let v1: &'static ExportSystem = Box::leak(Box::new(ExportSystem {
            id: "t".into(),
            form: name("F"),
            target: name("T"),
            items: vec![
                ExportItem {
                    name: name("Tên"),
                    value: Source::Field("subject.full_name".into()),
                },
                ExportItem {
                    name: name("Mã"),
                    value: Source::ReceiptCode,
                },
            ],
            when: None,
        }));
        let v2: &'static ExportSystem = Box::leak(Box::new(ExportSystem {
            items: vec![
                ExportItem {
                    name: name("Mã"),
                    value: Source::ReceiptCode,
                },
                ExportItem {
                    name: name("Vợ/chồng"),
                    value: Source::Field("spouse.full_name".into()),
                },
                ExportItem {
                    name: name("Tên"),
                    value: Source::Upper("subject.full_name".into()),
                },
            ],
            ..v1.clone()
        }));
        let sys = System {
            id: "t".into(),
            procedure_id: "marital-status-certificate".into(),
            newest: v2,
            by_version: BTreeMap::from([(1, v1), (2, v2)]),
        };
        assert_eq!(sys.header(), ["Mã", "Vợ/chồng", "Tên"]);
        let mut rec = record(
            "marital-status-certificate",
            &[
                ("subject.full_name", "Điểu Thị Hạnh"),
                ("spouse.full_name", "X"),
            ],
            &[],
        );
        let row = RowMaker::new(&rec, &mut units).row(&sys).unwrap();
        assert_eq!(row, ["ABCD-2345", "", "Điểu Thị Hạnh"]);
        rec.procedure.version = 2;
        let row = RowMaker::new(&rec, &mut units).row(&sys).unwrap();
        assert_eq!(row, ["ABCD-2345", "X", "ĐIỂU THỊ HẠNH"]);
        // A version without a mapping of its own is written with the newest one.
        rec.procedure.version = 7;
        let row = RowMaker::new(&rec, &mut units).row(&sys).unwrap();
        assert_eq!(row, ["ABCD-2345", "X", "ĐIỂU THỊ HẠNH"]);
    }

    fn record(procedure: &str, fields: &[(&str, &str)], results: &[(&str, &str)]) -> Record {
        Record {
            dossier_id: "d-1".into(),
            receipt_code: "ABCD-2345".into(),
            received_at: "2026-11-20T18:30:00Z".into(),
            procedure: ProcedureRef {
                id: procedure.into(),
                version: 1,
            },
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            results: results
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn cell(sys: &System, row: &[String], header: &str) -> String {
        let i = sys.header().iter().position(|h| *h == header).unwrap();
        row[i].clone()
    }

    #[test]
    fn three_in_one_rows_derive_labels_dates_and_numbers() {
        let c = crate::shared::store::open_memory().unwrap();
        let mut units = UnitLabels::new(&c);
        let commune_label = crate::shared::units::unit_label(&c, "25222")
            .unwrap()
            .unwrap();
        let rec = record(
            "birth-residence-insurance",
            &[
                ("child.full_name", "Điểu Thị Mai"),
                ("child.date_of_birth", "2026-04-21"),
                ("child.sex", "female"),
                ("mother.full_name", "Thị Hoa"),
                ("mother.date_of_birth", "1998"),
                ("mother.ethnicity", "Xtiêng"),
                ("mother.pin", "070198001234"),
                ("mother.residence_commune", "25222"),
                ("mother.residence_detail", "Thôn Bù Khơn"),
                ("mother.phone", "0912345678"),
                ("requester.relationship", "mother"),
                ("residence.head_is", "mother"),
                ("residence.relationship_to_head", "child"),
            ],
            &[("pin", "070326000123"), ("birth_registration", "12/2026")],
        );
        let mut m = RowMaker::new(&rec, &mut units);
        let bd = find("birth_declaration").unwrap();
        let row = m.row(&bd).unwrap();
        assert_eq!(cell(&bd, &row, "Mã biên nhận"), "ABCD-2345");
        assert_eq!(cell(&bd, &row, "Ngày tiếp nhận"), "21/11/2026", "local day");
        assert_eq!(cell(&bd, &row, "Ngày, tháng, năm sinh"), "21/04/2026");
        assert_eq!(
            cell(&bd, &row, "Ngày, tháng, năm sinh (bằng chữ)"),
            "Ngày hai mươi mốt, tháng tư, năm hai nghìn không trăm hai mươi sáu"
        );
        assert_eq!(cell(&bd, &row, "Giới tính"), "Nữ");
        assert_eq!(
            cell(&bd, &row, "Dân tộc"),
            "Xtiêng",
            "derived from the mother"
        );
        assert_eq!(cell(&bd, &row, "Năm sinh của người mẹ"), "1998");
        assert_eq!(
            cell(&bd, &row, "Kính gửi"),
            format!("Ủy ban nhân dân {}", in_sentence(&commune_label))
        );
        assert_eq!(
            in_sentence(&commune_label),
            "xã Bù Gia Mập, thành phố Đồng Nai"
        );
        assert_eq!(
            cell(&bd, &row, "Nơi cư trú của người mẹ"),
            format!("Thôn Bù Khơn, {commune_label}")
        );
        assert_eq!(
            cell(&bd, &row, "Họ, chữ đệm, tên người yêu cầu"),
            "Thị Hoa",
            "requester derived from the mother"
        );
        assert_eq!(
            cell(&bd, &row, "Quan hệ với người được đăng ký khai sinh"),
            "Mẹ"
        );
        assert_eq!(cell(&bd, &row, "Số giấy tờ tùy thân"), "070198001234");

        let ct = find("ct01").unwrap();
        let row = m.row(&ct).unwrap();
        assert_eq!(cell(&ct, &row, "4. Số định danh cá nhân"), "070326000123");
        assert_eq!(
            cell(&ct, &row, "Kính gửi"),
            format!("Công an {}", in_sentence(&commune_label))
        );
        assert_eq!(cell(&ct, &row, "8. Mối quan hệ với chủ hộ"), "Con");
        assert_eq!(
            cell(&ct, &row, "10. Nội dung đề nghị"),
            format!("Đăng ký thường trú tại: Thôn Bù Khơn, {commune_label}")
        );
        assert_eq!(cell(&ct, &row, "6. Email"), "");

        let tk = find("tk1_ts").unwrap();
        let row = m.row(&tk).unwrap();
        assert_eq!(
            cell(&tk, &row, "[01]. Họ và tên (viết chữ in hoa)"),
            "ĐIỂU THỊ MAI"
        );
        assert_eq!(
            cell(&tk, &row, "[06]. Số căn cước/Số định danh cá nhân"),
            "070326000123"
        );
        assert_eq!(cell(&tk, &row, "[07]. Điện thoại"), "0912345678");

        // Not registered yet: no PIN.
        let unregistered = Record {
            results: vec![],
            ..rec.clone()
        };
        let row = RowMaker::new(&unregistered, &mut units).row(&tk).unwrap();
        assert_eq!(
            cell(&tk, &row, "[06]. Số căn cước/Số định danh cá nhân"),
            ""
        );
    }

    #[test]
    fn marital_rows_use_passport_or_other_relationship_when_given() {
        let c = crate::shared::store::open_memory().unwrap();
        let mut units = UnitLabels::new(&c);
        let rec = record(
            "marital-status-certificate",
            &[
                ("requester.id_type", "passport"),
                ("requester.passport_number", "C1234567"),
                ("requester.relationship", "other"),
                ("requester.relationship_other", "Anh trai"),
                ("subject.sex", "male"),
                ("subject.marital_status", "divorced"),
                ("period.from", "2010-01-05"),
            ],
            &[],
        );
        let ms = find("marital_status").unwrap();
        let row = RowMaker::new(&rec, &mut units).row(&ms).unwrap();
        assert_eq!(cell(&ms, &row, "Giấy tờ tùy thân"), "Hộ chiếu");
        assert_eq!(cell(&ms, &row, "Số giấy tờ tùy thân"), "C1234567");
        assert_eq!(
            cell(
                &ms,
                &row,
                "Quan hệ với người được cấp Giấy xác nhận tình trạng hôn nhân"
            ),
            "Anh trai"
        );
        assert_eq!(cell(&ms, &row, "Giới tính"), "Nam");
        assert_eq!(
            cell(&ms, &row, "Tình trạng hôn nhân"),
            "Đã ly hôn, hiện chưa kết hôn lại"
        );
        assert_eq!(
            cell(&ms, &row, "Thời gian cư trú cần xác nhận: từ ngày"),
            "05/01/2010"
        );
        assert_eq!(
            cell(&ms, &row, "Thời gian cư trú cần xác nhận: đến ngày"),
            ""
        );
    }
}
