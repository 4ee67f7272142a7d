//! The official forms on A4 (issue 16, item 5): each form a dossier feeds, in its official layout, filled
//! in with the dossier's values, ready to sign. The layouts are package data (`layouts` of the package of
//! the dossier's procedure version, per form and form version; docs/protocol.md §13, "Print layouts");
//! [`fill`] evaluates a layout against a dossier with the export's value language (so a commune is its
//! name, a date `dd/mm/yyyy`, a choice its Vietnamese label, exactly as in the exports); `routes` serves
//! the filled forms of a received dossier. The field hub prints a draft's forms through `app::print`
//! (the only place that sees both a field draft and this office concern).

pub mod routes;

#[cfg(test)]
mod golden;

use protocol::package::export::Source;
use protocol::package::layout::{self, Line, Part, PrintLayout, Val};
use serde::Serialize;

use crate::office::exports::systems::{Record, RowMaker, UnitLabels};
use crate::shared::store::StoreResult;

pub use routes::router;

/// A value on a filled line.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FilledPart {
    /// The sub-label before the value ("số", "cấp ngày"); empty for the item's own value.
    pub label: String,
    /// The value as printed; empty when the dossier has none (a dotted line to fill by hand).
    pub value: String,
}

/// A filled line of a form.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FilledLine {
    Text {
        text: String,
    },
    Item {
        no: String,
        label: String,
        parts: Vec<FilledPart>,
    },
    Table {
        no: String,
        label: String,
        columns: Vec<String>,
        rows: usize,
    },
}

/// "<place>, ngày <dd> tháng <mm> năm <yyyy>", each piece empty when unknown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DateLine {
    pub prefix: String,
    pub place: String,
    pub day: String,
    pub month: String,
    pub year: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FilledSignature {
    pub title: String,
    pub note: String,
    pub lines: Vec<FilledPart>,
    /// The name written under the signature.
    pub name: String,
}

/// One official form, filled in.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FilledForm {
    /// `marital`, `birth`, `ct01`, `tk1ts`.
    pub form: String,
    /// The first day of the form version used (`YYYY-MM-DD`).
    #[schema(format = Date)]
    pub version_from: String,
    pub form_code: String,
    pub title: String,
    /// The words after "Kính gửi:", absent when the form has no addressee.
    pub addressee: Option<String>,
    pub lines: Vec<FilledLine>,
    pub oath: String,
    pub date_line: DateLine,
    pub signatures: Vec<FilledSignature>,
    /// Which source the layout follows (docs/domain.md); not printed.
    pub source: String,
}

pub use crate::shared::units::wording::{in_sentence, KINDS};

/// The place that starts a date line: the commune's own name, without its kind, province or the
/// authority's words ("Ủy ban nhân dân xã Phước Sơn" → "Phước Sơn"; "Xã Bù Gia Mập, Thành phố Đồng Nai" →
/// "Bù Gia Mập").
pub fn place_name(v: &str) -> String {
    let mut s = v.trim();
    for prefix in ["Ủy ban nhân dân ", "Uỷ ban nhân dân ", "UBND ", "Công an "] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest;
        }
    }
    let first = s.split(',').next().unwrap_or("").trim();
    for k in KINDS {
        for k in [k.to_string(), k.to_lowercase()] {
            if let Some(rest) = first.strip_prefix(&format!("{k} ")) {
                return rest.trim().to_owned();
            }
        }
    }
    first.to_owned()
}

struct Filler<'a, 'c> {
    maker: RowMaker<'a, 'c>,
}

impl Filler<'_, '_> {
    fn raw(&mut self, key: &str) -> StoreResult<String> {
        self.maker.value(&Source::Field(key.to_owned()))
    }

    fn val(&mut self, v: &Val) -> StoreResult<String> {
        Ok(match v {
            Val::Source(src) => self.maker.value(src)?,
            Val::Authority { prefix, commune } => {
                let raw = self.raw(commune)?;
                let label = self.maker.commune(commune)?;
                if raw.is_empty() {
                    String::new()
                } else if label != raw {
                    format!("{prefix}{}", in_sentence(&label))
                } else {
                    // Free text (catalogue v1) or a code this hub does not know: as typed.
                    raw
                }
            }
            Val::Words {
                field,
                words,
                unless,
            } => {
                if let Some(o) = unless {
                    let typed = self.raw(o)?;
                    if !typed.is_empty() {
                        return Ok(typed);
                    }
                }
                let raw = self.raw(field)?;
                match words.get(&raw) {
                    Some(w) => w.clone(),
                    None => self.maker.value(&Source::Choice(field.clone()))?,
                }
            }
            Val::YesNoCount(key) => match self.raw(key)?.trim().parse::<u32>() {
                Ok(0) => "Không".to_owned(),
                Ok(_) => "Có".to_owned(),
                Err(_) => String::new(),
            },
        })
    }

    fn parts(&mut self, parts: &[Part]) -> StoreResult<Vec<FilledPart>> {
        let mut out = Vec::new();
        for p in parts {
            let value = self.val(&p.value)?;
            if p.optional && value.is_empty() {
                continue;
            }
            out.push(FilledPart {
                label: p.label.clone(),
                value,
            });
        }
        Ok(out)
    }

    fn form(&mut self, l: &PrintLayout, on: Option<time::Date>) -> StoreResult<FilledForm> {
        let addressee = match &l.addressee {
            Some(v) => Some(self.val(v)?),
            None => None,
        };
        let mut lines = Vec::new();
        for line in &l.lines {
            lines.push(match line {
                Line::Text(t) => FilledLine::Text { text: t.clone() },
                Line::Item { no, label, parts } => FilledLine::Item {
                    no: no.clone(),
                    label: label.clone(),
                    parts: self.parts(parts)?,
                },
                Line::Table {
                    no,
                    label,
                    columns,
                    rows,
                } => FilledLine::Table {
                    no: no.clone(),
                    label: label.clone(),
                    columns: columns.clone(),
                    rows: *rows,
                },
            });
        }
        let read_aloud = self.raw("declaration.method")? == "read_aloud";
        let mut signatures = Vec::new();
        for s in &l.signatures {
            signatures.push(FilledSignature {
                title: s.title.clone(),
                note: match &s.thumb_note {
                    Some(t) if read_aloud => t.clone(),
                    _ => s.note.clone(),
                },
                lines: self.parts(&s.lines)?,
                name: self.val(&s.name)?,
            });
        }
        let place = place_name(&self.val(&l.place)?);
        let date_line = DateLine {
            prefix: l.place_prefix.clone(),
            place,
            day: on.map(|d| format!("{:02}", d.day())).unwrap_or_default(),
            month: on
                .map(|d| format!("{:02}", d.month() as u8))
                .unwrap_or_default(),
            year: on.map(|d| d.year().to_string()).unwrap_or_default(),
        };
        Ok(FilledForm {
            form: l.form.clone(),
            version_from: l.from.clone(),
            form_code: l.form_code.clone(),
            title: l.title.clone(),
            addressee,
            lines,
            oath: l.oath.clone(),
            date_line,
            signatures,
            source: l.source.clone(),
        })
    }
}

/// The layouts that print a dossier of procedure version `r` declared on `on` (`YYYY-MM-DD`, empty when
/// unknown): those of its package, per form the version in force that day ([`layout::for_day`]). None
/// when the package is not known here.
pub fn layouts_for(r: &protocol::ProcedureRef, on: &str) -> Vec<&'static PrintLayout> {
    crate::shared::procedures::package(r)
        .map(|p| layout::for_day(&p.layouts, on))
        .unwrap_or_default()
}

/// The filled forms of dossier `rec`, declared on `on` (the Vietnam local day the sworn statement was
/// made: the sealing day, or today for a draft); the form versions are those in force that day.
pub fn fill(
    rec: &Record,
    on: Option<time::Date>,
    units: &mut UnitLabels<'_>,
) -> StoreResult<Vec<FilledForm>> {
    let day = on.map(|d| d.to_string()).unwrap_or_default();
    // A form with a condition (`when`) prints only for a dossier that meets it.
    let layouts: Vec<&PrintLayout> = layouts_for(&rec.procedure, &day)
        .into_iter()
        .filter(|l| {
            l.when.as_ref().is_none_or(|c| {
                c.holds(
                    rec.fields
                        .get(&c.field)
                        .map(String::as_str)
                        .filter(|v| !v.is_empty()),
                )
            })
        })
        .collect();
    let mut f = Filler {
        maker: RowMaker::new(rec, units),
    };
    layouts.iter().map(|l| f.form(l, on)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_labels_read_in_a_sentence_and_as_a_place() {
        assert_eq!(
            in_sentence("Xã Bù Gia Mập, Thành phố Đồng Nai"),
            "xã Bù Gia Mập, thành phố Đồng Nai"
        );
        assert_eq!(
            in_sentence("Đặc khu Phú Quốc, Tỉnh An Giang"),
            "đặc khu Phú Quốc, tỉnh An Giang"
        );
        assert_eq!(
            place_name("Xã Bù Gia Mập, Thành phố Đồng Nai"),
            "Bù Gia Mập"
        );
        assert_eq!(place_name("Ủy ban nhân dân xã Phước Sơn"), "Phước Sơn");
        assert_eq!(place_name("Phường Sài Gòn"), "Sài Gòn");
        assert_eq!(place_name(""), "");
    }

    #[test]
    fn the_form_version_is_the_one_in_force_on_the_declaration_day() {
        let r = |id: &str, version| protocol::ProcedureRef {
            id: id.into(),
            version,
        };
        let ct01 = |on: &str| {
            layouts_for(&r("birth-residence-insurance", 1), on)
                .into_iter()
                .find(|l| l.form == "ct01")
                .unwrap()
                .from
                .clone()
        };
        assert_eq!(ct01("2025-06-30"), "2024-01-01");
        assert_eq!(ct01("2025-07-01"), "2025-07-01");
        assert_eq!(ct01("2026-12-06"), "2026-07-01");
        assert_eq!(ct01(""), "2024-01-01", "no date: the first version");
        let forms: Vec<_> = layouts_for(&r("birth-residence-insurance", 2), "2026-12-06")
            .iter()
            .map(|l| l.form.as_str())
            .collect();
        assert_eq!(forms, ["birth", "ct01", "tk1ts"]);
        let forms: Vec<_> = layouts_for(&r("marital-status-certificate", 1), "2026-12-06")
            .iter()
            .map(|l| l.form.as_str())
            .collect();
        assert_eq!(forms, ["marital"]);
        assert!(layouts_for(&r("nope", 1), "2026-12-06").is_empty());
        assert!(layouts_for(&r("marital-status-certificate", 9), "2026-12-06").is_empty());
    }

    fn record(version: u32, fields: &[(&str, &str)], results: &[(&str, &str)]) -> Record {
        Record {
            dossier_id: "d-1".into(),
            receipt_code: "1234-5678".into(),
            received_at: "2026-12-06T03:00:00Z".into(),
            procedure: protocol::ProcedureRef {
                id: "birth-residence-insurance".into(),
                version,
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

    fn item<'f>(f: &'f FilledForm, label: &str) -> &'f [FilledPart] {
        f.lines
            .iter()
            .find_map(|l| match l {
                FilledLine::Item {
                    label: lb, parts, ..
                } if lb == label => Some(parts.as_slice()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{} has {label}", f.form))
    }

    #[test]
    fn a_three_in_one_fills_names_dates_words_and_blocks() {
        let c = crate::shared::store::open_memory().unwrap();
        let mut units = UnitLabels::new(&c);
        let rec = record(
            2,
            &[
                ("addressee.commune", "25222"),
                ("child.full_name", "Điểu Thị Mai"),
                ("child.date_of_birth", "2026-11-15"),
                ("child.sex", "female"),
                ("child.place_of_birth", "Trạm Y tế xã Bù Gia Mập"),
                ("child.place_of_birth_commune", "25222"),
                ("mother.declared", "yes"),
                ("mother.full_name", "Thị Hoa"),
                ("mother.date_of_birth", "1998"),
                ("mother.residence_commune", "25222"),
                ("mother.residence_detail", "Thôn Bù Khơn"),
                ("requester.relationship", "mother"),
                ("residence.head_is", "mother"),
                ("residence.relationship_to_head", "child_biological"),
                ("birth.copies", "2"),
                ("declaration.method", "read_aloud"),
            ],
            &[("pin", "070326000123")],
        );
        let forms = fill(&rec, Some(time::macros::date!(2026 - 12 - 06)), &mut units).unwrap();
        let names: Vec<_> = forms.iter().map(|f| f.form.as_str()).collect();
        assert_eq!(names, ["birth", "ct01", "tk1ts"]);
        let birth = &forms[0];
        assert_eq!(
            birth.addressee.as_deref(),
            Some("Ủy ban nhân dân xã Bù Gia Mập, thành phố Đồng Nai")
        );
        assert_eq!(birth.date_line.place, "Bù Gia Mập");
        assert_eq!(
            (
                birth.date_line.day.as_str(),
                birth.date_line.month.as_str(),
                birth.date_line.year.as_str()
            ),
            ("06", "12", "2026")
        );
        let dob = item(birth, "Ngày, tháng, năm sinh");
        assert_eq!(
            dob[0].value, "1998",
            "the requester is the mother (derived)"
        );
        let child_dob = birth
            .lines
            .iter()
            .filter_map(|l| match l {
                FilledLine::Item { label, parts, .. } if label == "Ngày, tháng, năm sinh" => {
                    Some(parts)
                }
                _ => None,
            })
            .nth(1)
            .unwrap();
        assert_eq!(child_dob[0].value, "15/11/2026");
        assert_eq!(
            child_dob[1].value,
            "Ngày mười lăm, tháng mười một, năm hai nghìn không trăm hai mươi sáu"
        );
        assert_eq!(item(birth, "Họ, chữ đệm, tên")[0].value, "ĐIỂU THỊ MAI");
        assert_eq!(
            item(birth, "Nơi sinh")[0].value,
            "Trạm Y tế xã Bù Gia Mập, Xã Bù Gia Mập, Thành phố Đồng Nai"
        );
        assert_eq!(item(birth, "Đề nghị cấp bản sao")[0].value, "Có");
        assert_eq!(
            item(birth, "Quan hệ với người được khai sinh")[0].value,
            "Mẹ"
        );
        assert!(
            birth.signatures[0].note.starts_with("(Điểm chỉ"),
            "read aloud: thumbprint"
        );
        assert_eq!(birth.signatures[0].name, "Thị Hoa");

        let ct01 = &forms[1];
        assert!(ct01.form_code.contains("116/2026/TT-BCA"));
        assert_eq!(
            ct01.addressee.as_deref(),
            Some("Công an xã Bù Gia Mập, thành phố Đồng Nai")
        );
        assert_eq!(
            item(ct01, "Họ, chữ đệm và tên khai sinh")[0].value,
            "Điểu Thị Mai"
        );
        assert_eq!(item(ct01, "Số định danh cá nhân")[0].value, "070326000123");
        assert_eq!(item(ct01, "Mối quan hệ với chủ hộ")[0].value, "Con đẻ");
        assert_eq!(
            item(ct01, "Nội dung đề nghị")[0].value,
            "Đăng ký thường trú tại: Thôn Bù Khơn, Xã Bù Gia Mập, Thành phố Đồng Nai"
        );
        let titles: Vec<_> = ct01.signatures.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Ý KIẾN CỦA CHỦ HỘ",
                "Ý KIẾN CỦA CHỦ SỞ HỮU CHỖ Ở HỢP PHÁP",
                "Ý KIẾN CỦA CHA, MẸ HOẶC NGƯỜI GIÁM HỘ",
                "NGƯỜI KÊ KHAI"
            ]
        );
        assert_eq!(ct01.signatures[0].name, "Thị Hoa", "the mother is the head");

        let tk = &forms[2];
        assert!(tk.addressee.is_none(), "TK1-TS has no addressee");
        assert_eq!(
            item(tk, "Họ và tên (viết chữ in hoa)")[0].value,
            "ĐIỂU THỊ MAI"
        );
        assert_eq!(
            item(tk, "Nơi đăng ký khai sinh")[0].value,
            "Xã Bù Gia Mập, Thành phố Đồng Nai"
        );

        // Before 01/07/2025 the CT01 of TT 66/2023: item 1 without "khai sinh".
        let old = fill(&rec, Some(time::macros::date!(2025 - 03 - 01)), &mut units).unwrap();
        assert!(old[1].form_code.contains("66/2023"));
        item(&old[1], "Họ, chữ đệm và tên");
    }

    #[test]
    fn a_form_with_a_condition_prints_only_when_it_holds() {
        let mut p = protocol::builtin_packages()
            .iter()
            .find(|p| p.procedure.id == "birth-residence-insurance" && p.procedure.version == 2)
            .unwrap()
            .clone();
        p.procedure.id = "forms-when-test".into();
        p.exports.clear();
        for l in p.layouts.iter_mut().filter(|l| l.form == "ct01") {
            l.when = Some(protocol::Condition {
                field: "residence.head_is".into(),
                equals: None,
                not_equals: None,
                empty: Some(false),
                one_of: None,
            });
        }
        p.check_form().unwrap();
        let hash = p.hash().unwrap();
        crate::shared::procedures::registry::add(
            p,
            hash,
            crate::shared::procedures::registry::Origin::Published,
        )
        .unwrap();
        let c = crate::shared::store::open_memory().unwrap();
        let mut units = UnitLabels::new(&c);
        let on = Some(time::macros::date!(2026 - 12 - 01));
        let mut rec = record(2, &[("child.full_name", "Điểu Thị Mai")], &[]);
        rec.procedure.id = "forms-when-test".into();
        let forms = |rec: &Record, units: &mut UnitLabels<'_>| -> Vec<String> {
            fill(rec, on, units)
                .unwrap()
                .into_iter()
                .map(|f| f.form)
                .collect()
        };
        let without = forms(&rec, &mut units);
        assert!(!without.contains(&"ct01".to_string()), "{without:?}");
        assert!(without.contains(&"birth".to_string()), "{without:?}");
        rec.fields
            .insert("residence.head_is".into(), "mother".into());
        assert!(forms(&rec, &mut units).contains(&"ct01".to_string()));
    }

    #[test]
    fn a_marital_request_v1_prints_its_free_text_addressee_and_v2_its_details() {
        let c = crate::shared::store::open_memory().unwrap();
        let mut units = UnitLabels::new(&c);
        let mut rec = record(
            1,
            &[
                ("addressee.commune", "Ủy ban nhân dân xã Phước Sơn"),
                ("requester.full_name", "Điểu Thị Hạnh"),
                ("requester.relationship", "self"),
                ("subject.marital_status", "never_married"),
                ("requester.id_type", "can_cuoc"),
                ("requester.pin", "070198001234"),
                ("requester.id_issue_date", "2021-04-15"),
            ],
            &[],
        );
        rec.procedure.id = "marital-status-certificate".into();
        let f = &fill(&rec, Some(time::macros::date!(2026 - 12 - 06)), &mut units).unwrap()[0];
        assert_eq!(f.addressee.as_deref(), Some("Ủy ban nhân dân xã Phước Sơn"));
        assert_eq!(f.date_line.place, "Phước Sơn");
        assert_eq!(f.date_line.prefix, "Làm tại: ");
        assert_eq!(
            item(
                f,
                "Quan hệ với người được cấp Giấy xác nhận tình trạng hôn nhân"
            )[0]
            .value,
            "Bản thân"
        );
        let id = item(f, "Giấy tờ tùy thân");
        assert_eq!(id[1].value, "070198001234");
        assert_eq!(id[2].value, "15/04/2021");
        assert_eq!(item(f, "Tình trạng hôn nhân").len(), 1, "no empty details");
        assert_eq!(f.signatures[0].note, "(Ký, ghi rõ họ, chữ đệm, tên)");

        rec.procedure.version = 2;
        rec.fields
            .insert("addressee.commune".into(), "25222".into());
        rec.fields
            .insert("subject.marital_status".into(), "divorced".into());
        rec.fields
            .insert("divorce.decision_number".into(), "12/2020/QĐST-HNGĐ".into());
        rec.fields
            .insert("divorce.decision_date".into(), "2020-05-04".into());
        rec.fields
            .insert("requester.relationship".into(), "other".into());
        rec.fields
            .insert("requester.relationship_other".into(), "Anh trai".into());
        let f = &fill(&rec, Some(time::macros::date!(2026 - 12 - 06)), &mut units).unwrap()[0];
        assert_eq!(
            f.addressee.as_deref(),
            Some("Ủy ban nhân dân xã Bù Gia Mập, thành phố Đồng Nai")
        );
        let status = item(f, "Tình trạng hôn nhân");
        let got: Vec<_> = status
            .iter()
            .map(|p| (p.label.as_str(), p.value.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("", "Đã ly hôn, chưa kết hôn lại"),
                ("Bản án/quyết định ly hôn số", "12/2020/QĐST-HNGĐ"),
                ("ngày", "04/05/2020")
            ]
        );
        assert_eq!(
            item(
                f,
                "Quan hệ với người được cấp Giấy xác nhận tình trạng hôn nhân"
            )[0]
            .value,
            "Anh trai"
        );
    }
}
