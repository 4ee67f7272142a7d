//! The downstream systems and their forms, as data: for each system, the official item names (Vietnamese,
//! as printed on the form, in the form's order) and where each value comes from in the captured dossier.
//! A new form version is a new table here, not new code.
//!
//! Every row starts with three technical columns (receipt code, dossier id, received date) that tie the
//! row back to the kit.

use std::collections::{BTreeMap, HashMap};

use protocol::{ProcedureDef, ProcedureRef};
use rusqlite::Connection;

use super::words;
use crate::shared::store::StoreResult;

/// Where an item's value comes from.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// The receipt code printed on the villager's receipt.
    ReceiptCode,
    /// The dossier's id in the kit.
    DossierId,
    /// The day the office received it (Vietnam time), `dd/mm/yyyy`.
    ReceivedOn,
    /// A captured field, as captured.
    Field(&'static str),
    /// A choice or sex field, as its Vietnamese label in the catalogue.
    Choice(&'static str),
    /// A commune code, as "unit, province" from the units store.
    Commune(&'static str),
    /// A date (or a year alone) in figures, `dd/mm/yyyy` (or `yyyy`).
    Date(&'static str),
    /// A date in Vietnamese words.
    DateWords(&'static str),
    /// A field in capitals (diacritics kept).
    Upper(&'static str),
    /// "detail, commune label": a village/house field and a commune code field.
    Address(&'static str, &'static str),
    /// The first of these that has a value.
    FirstOf(&'static [Source]),
    /// Fixed words before a value (empty when the value is empty).
    Prefixed(&'static str, &'static Source),
    /// A registered result number of this kind (`pin`, `birth_registration`, …), from casework; empty until
    /// the dossier is registered.
    ResultNumber(&'static str),
    /// An item of the form that the kit does not capture (left empty for the officer).
    NotCaptured,
}

/// One item (column) of a form.
#[derive(Debug, Clone, Copy)]
pub struct Item {
    /// The item's name as printed on the form (the header cell).
    pub vi: &'static str,
    pub en: &'static str,
    pub source: Source,
}

/// A downstream system and the form its data comes in.
#[derive(Debug)]
pub struct SystemDef {
    /// Stable id: `birth_declaration`, `ct01`, `tk1_ts`, `marital_status`.
    pub id: &'static str,
    /// The procedure whose dossiers go there.
    pub procedure_id: &'static str,
    /// The form's name.
    pub form_vi: &'static str,
    pub form_en: &'static str,
    /// The receiving software.
    pub target_vi: &'static str,
    pub target_en: &'static str,
    /// The form's items in order (after the technical columns).
    pub items: &'static [Item],
}

const fn item(vi: &'static str, en: &'static str, source: Source) -> Item {
    Item { vi, en, source }
}

/// The technical columns every row starts with.
pub const TECHNICAL: &[Item] = &[
    item("Mã biên nhận", "Receipt code", Source::ReceiptCode),
    item("Mã hồ sơ", "Dossier id", Source::DossierId),
    item("Ngày tiếp nhận", "Received on", Source::ReceivedOn),
];

use Source::*;

const BIRTH_DECLARATION: &[Item] = &[
    item("Kính gửi", "To", Commune("addressee.commune")),
    item(
        "Họ, chữ đệm, tên người yêu cầu",
        "Requester's full name",
        Field("requester.full_name"),
    ),
    item(
        "Nơi cư trú của người yêu cầu",
        "Requester's residence",
        Address("requester.residence_detail", "requester.residence_commune"),
    ),
    item(
        "Giấy tờ tùy thân",
        "Identity document",
        Choice("requester.id_type"),
    ),
    item(
        "Số giấy tờ tùy thân",
        "Identity document number",
        FirstOf(&[Field("requester.pin"), Field("requester.passport_number")]),
    ),
    item(
        "Quan hệ với người được đăng ký khai sinh",
        "Relationship to the child",
        Choice("requester.relationship"),
    ),
    item("Số điện thoại", "Phone", Field("requester.phone")),
    item(
        "Họ, chữ đệm, tên người được đăng ký khai sinh",
        "Child's full name",
        Field("child.full_name"),
    ),
    item(
        "Ngày, tháng, năm sinh",
        "Date of birth",
        Date("child.date_of_birth"),
    ),
    item(
        "Ngày, tháng, năm sinh (bằng chữ)",
        "Date of birth in words",
        DateWords("child.date_of_birth"),
    ),
    item("Giới tính", "Sex", Choice("child.sex")),
    item("Dân tộc", "Ethnicity", Field("child.ethnicity")),
    item("Quốc tịch", "Nationality", Field("child.nationality")),
    item("Nơi sinh", "Place of birth", Field("child.place_of_birth")),
    item(
        "Mã giấy chứng sinh",
        "Birth certificate code",
        Field("birth.certificate_code"),
    ),
    item(
        "Nơi sinh: xã, phường, đặc khu, tỉnh",
        "Place of birth: commune, province",
        Commune("child.place_of_birth_commune"),
    ),
    item("Quê quán", "Hometown", Field("child.hometown")),
    item(
        "Họ, chữ đệm, tên người mẹ",
        "Mother's full name",
        Field("mother.full_name"),
    ),
    item(
        "Năm sinh của người mẹ",
        "Mother's date or year of birth",
        Date("mother.date_of_birth"),
    ),
    item(
        "Dân tộc của người mẹ",
        "Mother's ethnicity",
        Field("mother.ethnicity"),
    ),
    item(
        "Quốc tịch của người mẹ",
        "Mother's nationality",
        Field("mother.nationality"),
    ),
    item(
        "Số định danh cá nhân của người mẹ",
        "Mother's PIN",
        Field("mother.pin"),
    ),
    item(
        "Nơi cư trú của người mẹ",
        "Mother's residence",
        Address("mother.residence_detail", "mother.residence_commune"),
    ),
    item(
        "Họ, chữ đệm, tên người cha",
        "Father's full name",
        Field("father.full_name"),
    ),
    item(
        "Năm sinh của người cha",
        "Father's date or year of birth",
        Date("father.date_of_birth"),
    ),
    item(
        "Dân tộc của người cha",
        "Father's ethnicity",
        Field("father.ethnicity"),
    ),
    item(
        "Quốc tịch của người cha",
        "Father's nationality",
        Field("father.nationality"),
    ),
    item(
        "Số định danh cá nhân của người cha",
        "Father's PIN",
        Field("father.pin"),
    ),
    item(
        "Nơi cư trú của người cha",
        "Father's residence",
        Address("father.residence_detail", "father.residence_commune"),
    ),
    item(
        "Số bản sao đề nghị cấp",
        "Copies requested",
        Field("birth.copies"),
    ),
];

const CT01: &[Item] = &[
    item(
        "Kính gửi",
        "To",
        Prefixed("Công an ", &Commune("residence.address_commune")),
    ),
    item(
        "1. Họ, chữ đệm và tên khai sinh",
        "1. Full name at birth",
        Field("child.full_name"),
    ),
    item(
        "2. Ngày, tháng, năm sinh",
        "2. Date of birth",
        Date("child.date_of_birth"),
    ),
    item("3. Giới tính", "3. Sex", Choice("child.sex")),
    item(
        "4. Số định danh cá nhân",
        "4. Personal identification number",
        ResultNumber("pin"),
    ),
    item(
        "5. Số điện thoại liên hệ",
        "5. Contact phone",
        Field("requester.phone"),
    ),
    item("6. Email", "6. Email", NotCaptured),
    item(
        "7. Họ, chữ đệm và tên chủ hộ",
        "7. Household head's full name",
        Field("residence.head_full_name"),
    ),
    item(
        "8. Mối quan hệ với chủ hộ",
        "8. Relationship to the head",
        Choice("residence.relationship_to_head"),
    ),
    item(
        "9. Số định danh cá nhân của chủ hộ",
        "9. Household head's PIN",
        Field("residence.head_pin"),
    ),
    item(
        "10. Nội dung đề nghị",
        "10. Request",
        Prefixed(
            "Đăng ký thường trú tại: ",
            &Address("residence.address_detail", "residence.address_commune"),
        ),
    ),
    item(
        "11. Những thành viên trong hộ gia đình cùng thay đổi",
        "11. Household members changing too",
        NotCaptured,
    ),
    item(
        "Họ, chữ đệm và tên người kê khai (cha, mẹ hoặc người giám hộ)",
        "Declarant (parent or guardian)",
        Field("requester.full_name"),
    ),
];

const TK1_TS: &[Item] = &[
    item(
        "[01]. Họ và tên (viết chữ in hoa)",
        "[01] Full name (capitals)",
        FirstOf(&[Field("insurance.name_capitals"), Upper("child.full_name")]),
    ),
    item("[02]. Giới tính", "[02] Sex", Choice("child.sex")),
    item(
        "[03]. Ngày, tháng, năm sinh",
        "[03] Date of birth",
        Date("child.date_of_birth"),
    ),
    item(
        "[04]. Quốc tịch",
        "[04] Nationality",
        Field("child.nationality"),
    ),
    item("[05]. Dân tộc", "[05] Ethnicity", Field("child.ethnicity")),
    item(
        "[06]. Số căn cước/Số định danh cá nhân",
        "[06] PIN",
        ResultNumber("pin"),
    ),
    item("[07]. Điện thoại", "[07] Phone", Field("insurance.phone")),
    item("[08]. Email", "[08] Email", NotCaptured),
    item(
        "[09]. Nơi đăng ký khai sinh",
        "[09] Place of birth registration",
        Commune("addressee.commune"),
    ),
    item(
        "[10]. Họ tên cha/mẹ/người giám hộ (đối với trẻ em dưới 6 tuổi)",
        "[10] Parent's or guardian's name (child under 6)",
        Field("insurance.guardian_name"),
    ),
    item(
        "[11]. Địa chỉ nhận kết quả",
        "[11] Address to receive the card",
        Address(
            "insurance.card_address_detail",
            "insurance.card_address_commune",
        ),
    ),
];

const MARITAL_STATUS: &[Item] = &[
    // A commune code since catalogue v2; v1 dossiers carry free text, given as typed.
    item("Kính gửi", "To", Commune("addressee.commune")),
    item(
        "Họ, chữ đệm, tên người yêu cầu",
        "Requester's full name",
        Field("requester.full_name"),
    ),
    item(
        "Nơi cư trú của người yêu cầu",
        "Requester's residence",
        Field("requester.residence"),
    ),
    item(
        "Giấy tờ tùy thân",
        "Identity document",
        Choice("requester.id_type"),
    ),
    item(
        "Số giấy tờ tùy thân",
        "Identity document number",
        FirstOf(&[Field("requester.pin"), Field("requester.passport_number")]),
    ),
    item("Nơi cấp", "Issued by", Field("requester.id_issuer")),
    item("Ngày cấp", "Date of issue", Date("requester.id_issue_date")),
    item("Số điện thoại", "Phone", Field("requester.phone")),
    item(
        "Quan hệ với người được cấp Giấy xác nhận tình trạng hôn nhân",
        "Relationship to the person certified",
        FirstOf(&[
            Field("requester.relationship_other"),
            Choice("requester.relationship"),
        ]),
    ),
    item(
        "Họ, chữ đệm, tên người được xác nhận",
        "Full name of the person certified",
        Field("subject.full_name"),
    ),
    item(
        "Ngày, tháng, năm sinh",
        "Date of birth",
        Date("subject.date_of_birth"),
    ),
    item("Giới tính", "Sex", Choice("subject.sex")),
    item("Dân tộc", "Ethnicity", Field("subject.ethnicity")),
    item("Quốc tịch", "Nationality", Field("subject.nationality")),
    item("Nơi cư trú", "Residence", Field("subject.residence")),
    item(
        "Nơi cấp giấy tờ tùy thân",
        "ID issued by",
        Field("subject.id_issuer"),
    ),
    item(
        "Ngày cấp giấy tờ tùy thân",
        "ID date of issue",
        Date("subject.id_issue_date"),
    ),
    item(
        "Giấy tờ tùy thân của người được xác nhận",
        "Identity document of the person certified",
        Choice("subject.id_type"),
    ),
    item(
        "Số giấy tờ tùy thân của người được xác nhận",
        "Identity document number of the person certified",
        FirstOf(&[Field("subject.pin"), Field("subject.passport_number")]),
    ),
    item(
        "Thời gian cư trú cần xác nhận: từ ngày",
        "Period of residence: from",
        Date("period.from"),
    ),
    item(
        "Thời gian cư trú cần xác nhận: đến ngày",
        "Period of residence: to",
        Date("period.to"),
    ),
    item(
        "Nơi cư trú trong thời gian đó",
        "Residence during that period",
        Field("period.place"),
    ),
    item(
        "Tình trạng hôn nhân",
        "Marital status",
        Choice("subject.marital_status"),
    ),
    // The details behind the status (TT 04/2020 art. 33.1; catalogue v2).
    item(
        "Họ, chữ đệm, tên vợ/chồng",
        "Spouse's full name",
        Field("spouse.full_name"),
    ),
    item(
        "Giấy chứng nhận kết hôn: số",
        "Marriage certificate: number",
        Field("marriage.cert_number"),
    ),
    item(
        "Giấy chứng nhận kết hôn: nơi cấp",
        "Marriage certificate: issued by",
        Field("marriage.cert_issuer"),
    ),
    item(
        "Giấy chứng nhận kết hôn: ngày cấp",
        "Marriage certificate: date",
        Date("marriage.cert_date"),
    ),
    item(
        "Bản án/quyết định ly hôn: số",
        "Divorce judgment/decision: number",
        Field("divorce.decision_number"),
    ),
    item(
        "Bản án/quyết định ly hôn: ngày",
        "Divorce judgment/decision: date",
        Date("divorce.decision_date"),
    ),
    item(
        "Bản án/quyết định ly hôn: tòa án",
        "Divorce judgment/decision: court",
        Field("divorce.court"),
    ),
    item(
        "Giấy chứng tử/trích lục khai tử: số",
        "Death record: number",
        Field("death.record_number"),
    ),
    item(
        "Giấy chứng tử/trích lục khai tử: nơi cấp",
        "Death record: issued by",
        Field("death.record_issuer"),
    ),
    item(
        "Giấy chứng tử/trích lục khai tử: ngày cấp",
        "Death record: date",
        Date("death.record_date"),
    ),
    item(
        "Đã được cấp Giấy xác nhận trước đây",
        "Certificate issued before",
        Choice("previous.issued"),
    ),
    item(
        "Mục đích sử dụng Giấy xác nhận tình trạng hôn nhân",
        "Purpose of use",
        FirstOf(&[Field("request.purpose"), Choice("request.purpose_kind")]),
    ),
    item(
        "Số bản đề nghị cấp",
        "Copies asked for",
        Field("request.copies"),
    ),
];

/// Every system, in the order the office page shows them.
pub const SYSTEMS: &[SystemDef] = &[
    SystemDef {
        id: "birth_declaration",
        procedure_id: "birth-residence-insurance",
        form_vi: "Tờ khai đăng ký khai sinh",
        form_en: "Birth registration declaration",
        target_vi: "Phần mềm đăng ký, quản lý hộ tịch",
        target_en: "Civil-status software",
        items: BIRTH_DECLARATION,
    },
    SystemDef {
        id: "ct01",
        procedure_id: "birth-residence-insurance",
        form_vi: "Tờ khai thay đổi thông tin cư trú (CT01)",
        form_en: "Residence information change declaration (CT01)",
        target_vi: "Cơ sở dữ liệu về cư trú",
        target_en: "Residence database",
        items: CT01,
    },
    SystemDef {
        id: "tk1_ts",
        procedure_id: "birth-residence-insurance",
        form_vi: "Tờ khai tham gia, điều chỉnh thông tin BHXH, BHYT (TK1-TS)",
        form_en: "Social and health insurance declaration (TK1-TS)",
        target_vi: "Phần mềm của Bảo hiểm xã hội",
        target_en: "Social-insurance software",
        items: TK1_TS,
    },
    SystemDef {
        id: "marital_status",
        procedure_id: "marital-status-certificate",
        form_vi: "Tờ khai cấp Giấy xác nhận tình trạng hôn nhân",
        form_en: "Request for a certificate of marital status",
        target_vi: "Phần mềm đăng ký, quản lý hộ tịch",
        target_en: "Civil-status software",
        items: MARITAL_STATUS,
    },
];

/// The system with this id.
pub fn find(id: &str) -> Option<&'static SystemDef> {
    SYSTEMS.iter().find(|s| s.id == id)
}

impl SystemDef {
    /// Every column of a row: the technical ones, then the form's items.
    pub fn columns(&self) -> impl Iterator<Item = &'static Item> {
        TECHNICAL.iter().chain(self.items.iter())
    }

    /// The header row: the official item names.
    pub fn header(&self) -> Vec<&'static str> {
        self.columns().map(|i| i.vi).collect()
    }
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
}

impl<'a, 'c> RowMaker<'a, 'c> {
    pub fn new(rec: &'a Record, units: &'a mut UnitLabels<'c>) -> Self {
        let def = protocol::find_procedure(&rec.procedure);
        let fields = match def {
            Some(d) => protocol::derive_fields(d, &rec.fields).0,
            None => rec.fields.clone(),
        };
        RowMaker {
            def,
            rec,
            fields,
            units,
        }
    }

    fn field(&self, key: &str) -> &str {
        self.fields.get(key).map(String::as_str).unwrap_or("")
    }

    /// The value of one source for this record.
    pub fn value(&mut self, src: &Source) -> StoreResult<String> {
        Ok(match *src {
            ReceiptCode => self.rec.receipt_code.clone(),
            DossierId => self.rec.dossier_id.clone(),
            ReceivedOn => crate::shared::clock::vn_date_of(&self.rec.received_at)
                .map(words::date_in_figures)
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
            Commune(k) => {
                let code = self.field(k).to_owned();
                if code.is_empty() {
                    String::new()
                } else {
                    // Named as on the day the office received it (the record does not carry its capture
                    // day; it comes from the field hub soon after).
                    let on = crate::shared::clock::vn_date_of(&self.rec.received_at);
                    self.units.label_on(&code, on)?
                }
            }
            Date(k) => {
                let v = self.field(k);
                match protocol::parse_year_or_date(v) {
                    Some(protocol::YearOrDate::Date(d)) => words::date_in_figures(d),
                    _ => v.to_owned(),
                }
            }
            DateWords(k) => protocol::parse_date(self.field(k))
                .map(words::date_in_words)
                .unwrap_or_default(),
            Upper(k) => self.field(k).to_uppercase(),
            Address(detail, commune) => {
                let d = self.field(detail).to_owned();
                let c = self.value(&Commune(commune))?;
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
            Prefixed(prefix, inner) => {
                let v = self.value(inner)?;
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

    /// The whole row of `sys`.
    pub fn row(&mut self, sys: &SystemDef) -> StoreResult<Vec<String>> {
        sys.columns().map(|i| self.value(&i.source)).collect()
    }
}

/// Whether a source only names fields the procedure has, with choices on choice or sex fields (checked by
/// the unit tests for every table).
pub fn source_fits(src: &Source, def: &ProcedureDef) -> Result<(), String> {
    use protocol::FieldKind as K;
    let has = |k: &str| {
        def.field(k)
            .map(|f| f.kind)
            .ok_or_else(|| format!("no field {k}"))
    };
    match *src {
        ReceiptCode | DossierId | ReceivedOn | NotCaptured | ResultNumber(_) => Ok(()),
        Field(k) | Upper(k) => has(k).map(|_| ()),
        Choice(k) => match has(k)? {
            K::Choice | K::Sex => Ok(()),
            other => Err(format!("{k} is {other:?}, not a choice")),
        },
        Commune(k) => match has(k)? {
            K::Commune => Ok(()),
            other => Err(format!("{k} is {other:?}, not a commune")),
        },
        Date(k) => match has(k)? {
            K::Date | K::YearOrDate => Ok(()),
            other => Err(format!("{k} is {other:?}, not a date")),
        },
        DateWords(k) => match has(k)? {
            K::Date => Ok(()),
            other => Err(format!("{k} is {other:?}, not a full date")),
        },
        Address(d, c) => {
            has(d)?;
            source_fits(&Commune(c), def)
        }
        FirstOf(list) => list.iter().try_for_each(|s| source_fits(s, def)),
        Prefixed(_, inner) => source_fits(inner, def),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Every catalogue version of the system's procedure (a column may read a field one version has).
    fn versions_of(sys: &SystemDef) -> Vec<&'static ProcedureDef> {
        protocol::catalogue()
            .iter()
            .filter(|d| d.id == sys.procedure_id)
            .collect()
    }

    #[test]
    fn every_table_names_fields_of_its_procedure_with_unique_headers() {
        for sys in SYSTEMS {
            let defs = versions_of(sys);
            for it in sys.columns() {
                let fits: Vec<Result<(), String>> =
                    defs.iter().map(|d| source_fits(&it.source, d)).collect();
                if !fits.iter().any(Result::is_ok) {
                    panic!("{} / {}: {:?}", sys.id, it.vi, fits);
                }
                assert!(!it.vi.is_empty() && !it.en.is_empty());
                assert_eq!(
                    it.vi,
                    crate::shared::units::key::nfc(it.vi),
                    "{}: headers are NFC",
                    sys.id
                );
            }
            let header = sys.header();
            let unique: BTreeSet<_> = header.iter().collect();
            assert_eq!(unique.len(), header.len(), "{}: unique headers", sys.id);
            assert_eq!(
                &header[..3],
                &["Mã biên nhận", "Mã hồ sơ", "Ngày tiếp nhận"]
            );
        }
        assert!(find("ct01").is_some() && find("nope").is_none());
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

    fn cell(sys: &SystemDef, row: &[String], header: &str) -> String {
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
        let row = m.row(bd).unwrap();
        assert_eq!(cell(bd, &row, "Mã biên nhận"), "ABCD-2345");
        assert_eq!(cell(bd, &row, "Ngày tiếp nhận"), "21/11/2026", "local day");
        assert_eq!(cell(bd, &row, "Ngày, tháng, năm sinh"), "21/04/2026");
        assert_eq!(
            cell(bd, &row, "Ngày, tháng, năm sinh (bằng chữ)"),
            "Ngày hai mươi mốt, tháng tư, năm hai nghìn không trăm hai mươi sáu"
        );
        assert_eq!(cell(bd, &row, "Giới tính"), "Nữ");
        assert_eq!(
            cell(bd, &row, "Dân tộc"),
            "Xtiêng",
            "derived from the mother"
        );
        assert_eq!(cell(bd, &row, "Năm sinh của người mẹ"), "1998");
        assert_eq!(cell(bd, &row, "Kính gửi"), commune_label);
        assert_eq!(
            cell(bd, &row, "Nơi cư trú của người mẹ"),
            format!("Thôn Bù Khơn, {commune_label}")
        );
        assert_eq!(
            cell(bd, &row, "Họ, chữ đệm, tên người yêu cầu"),
            "Thị Hoa",
            "requester derived from the mother"
        );
        assert_eq!(
            cell(bd, &row, "Quan hệ với người được đăng ký khai sinh"),
            "Mẹ"
        );
        assert_eq!(cell(bd, &row, "Số giấy tờ tùy thân"), "070198001234");

        let ct = find("ct01").unwrap();
        let row = m.row(ct).unwrap();
        assert_eq!(cell(ct, &row, "4. Số định danh cá nhân"), "070326000123");
        assert_eq!(
            cell(ct, &row, "Kính gửi"),
            format!("Công an {commune_label}")
        );
        assert_eq!(cell(ct, &row, "8. Mối quan hệ với chủ hộ"), "Con");
        assert_eq!(
            cell(ct, &row, "10. Nội dung đề nghị"),
            format!("Đăng ký thường trú tại: Thôn Bù Khơn, {commune_label}")
        );
        assert_eq!(cell(ct, &row, "6. Email"), "");

        let tk = find("tk1_ts").unwrap();
        let row = m.row(tk).unwrap();
        assert_eq!(
            cell(tk, &row, "[01]. Họ và tên (viết chữ in hoa)"),
            "ĐIỂU THỊ MAI"
        );
        assert_eq!(
            cell(tk, &row, "[06]. Số căn cước/Số định danh cá nhân"),
            "070326000123"
        );
        assert_eq!(cell(tk, &row, "[07]. Điện thoại"), "0912345678");

        // Not registered yet: no PIN.
        let unregistered = Record {
            results: vec![],
            ..rec.clone()
        };
        let row = RowMaker::new(&unregistered, &mut units).row(tk).unwrap();
        assert_eq!(cell(tk, &row, "[06]. Số căn cước/Số định danh cá nhân"), "");
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
        let row = RowMaker::new(&rec, &mut units).row(ms).unwrap();
        assert_eq!(cell(ms, &row, "Giấy tờ tùy thân"), "Hộ chiếu");
        assert_eq!(cell(ms, &row, "Số giấy tờ tùy thân"), "C1234567");
        assert_eq!(
            cell(
                ms,
                &row,
                "Quan hệ với người được cấp Giấy xác nhận tình trạng hôn nhân"
            ),
            "Anh trai"
        );
        assert_eq!(cell(ms, &row, "Giới tính"), "Nam");
        assert_eq!(
            cell(ms, &row, "Tình trạng hôn nhân"),
            "Đã ly hôn, hiện chưa kết hôn lại"
        );
        assert_eq!(
            cell(ms, &row, "Thời gian cư trú cần xác nhận: từ ngày"),
            "05/01/2010"
        );
        assert_eq!(
            cell(ms, &row, "Thời gian cư trú cần xác nhận: đến ngày"),
            ""
        );
    }
}
