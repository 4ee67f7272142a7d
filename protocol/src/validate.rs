//! The one validation engine: the same field errors at draft save, at seal, and at the office.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::Date;
use unicode_normalization::UnicodeNormalization;

use crate::catalogue::{FieldDef, FieldKind, ProcedureDef};
use crate::pin::{Pin, Sex};

/// How much to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Format of present, non-empty fields and unknown keys only.
    Draft,
    /// Also required fields, required documents and cross-field rules.
    Seal,
}

/// One problem with one field, with a stable code and messages in Vietnamese and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field key, or `documents.<role>` for a missing photo.
    pub field: String,
    /// Stable snake_case code, e.g. `required`, `bad_pin`.
    pub code: String,
    /// Vietnamese message.
    pub message_vi: String,
    /// English message.
    pub message_en: String,
}

impl FieldError {
    fn new(field: &str, code: &str, vi: impl Into<String>, en: impl Into<String>) -> FieldError {
        FieldError {
            field: field.to_owned(),
            code: code.to_owned(),
            message_vi: vi.into(),
            message_en: en.into(),
        }
    }
}

/// Default maximum length of a value in characters.
pub const DEFAULT_MAX_LEN: u32 = 200;
/// Default maximum length of a `long_text` value in characters.
pub const DEFAULT_LONG_TEXT_MAX_LEN: u32 = 1000;

/// NFC-normalises and trims every value and drops empty ones (the form the hub stores).
pub fn normalize_fields(fields: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    fields
        .iter()
        .map(|(k, v)| (k.clone(), v.nfc().collect::<String>().trim().to_owned()))
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

/// Validates `fields` (expected normalised) and the roles of attached photos against `def`.
///
/// Errors come in a stable order: per field in form order, then unknown keys (sorted), then cross-field
/// rules, then missing documents. `today` is the local date used for "not in the future".
pub fn validate(
    def: &ProcedureDef,
    fields: &BTreeMap<String, String>,
    document_roles: &[String],
    today: Date,
    stage: Stage,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let present = |k: &str| {
        fields
            .get(k)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    };
    for f in def.fields() {
        match present(&f.key) {
            Some(value) => check_format(f, value, today, stage, &mut errors),
            None if stage == Stage::Seal && is_required(f, &present) => {
                if f.kind == FieldKind::Confirm {
                    errors.push(not_confirmed(&f.key));
                } else {
                    errors.push(FieldError::new(
                        &f.key,
                        "required",
                        "Vui lòng điền thông tin này.",
                        "This field is required.",
                    ));
                }
            }
            None => {}
        }
    }
    for key in fields.keys() {
        if def.field(key).is_none() {
            errors.push(FieldError::new(
                key,
                "unknown_field",
                "Trường này không có trong mẫu đơn.",
                "This field is not part of the form.",
            ));
        }
    }
    if stage == Stage::Seal {
        cross_field(fields, &mut errors);
        for d in def.documents.iter().filter(|d| d.required) {
            if !document_roles.iter().any(|r| r == &d.role) {
                errors.push(FieldError::new(
                    &format!("documents.{}", d.role),
                    "document_missing",
                    format!("Thiếu ảnh giấy tờ bắt buộc: {}.", d.label.vi),
                    format!("Missing required photo: {}.", d.label.en),
                ));
            }
        }
    }
    errors
}

fn is_required<'a>(f: &FieldDef, present: &impl Fn(&str) -> Option<&'a str>) -> bool {
    f.required
        || f.required_if
            .as_ref()
            .is_some_and(|c| present(&c.field) == Some(c.equals.as_str()))
}

fn not_confirmed(key: &str) -> FieldError {
    FieldError::new(
        key,
        "not_confirmed",
        "Cần đánh dấu xác nhận lời cam đoan.",
        "The statement must be confirmed.",
    )
}

fn check_format(
    f: &FieldDef,
    value: &str,
    today: Date,
    stage: Stage,
    errors: &mut Vec<FieldError>,
) {
    let key = f.key.as_str();
    let newline_ok = f.kind == FieldKind::LongText;
    if value
        .chars()
        .any(|c| c.is_control() && !(newline_ok && (c == '\n' || c == '\r' || c == '\t')))
    {
        errors.push(FieldError::new(
            key,
            "bad_characters",
            "Có ký tự điều khiển không hợp lệ.",
            "Contains control characters.",
        ));
        return;
    }
    let max = f.max_len.unwrap_or(if f.kind == FieldKind::LongText {
        DEFAULT_LONG_TEXT_MAX_LEN
    } else {
        DEFAULT_MAX_LEN
    });
    if value.chars().count() > max as usize {
        errors.push(FieldError::new(
            key,
            "too_long",
            format!("Nội dung quá dài (tối đa {max} ký tự)."),
            format!("Too long (at most {max} characters)."),
        ));
        return;
    }
    if value.nfc().collect::<String>() != value {
        errors.push(FieldError::new(
            key,
            "not_nfc",
            "Chữ có dấu chưa ở dạng chuẩn Unicode NFC.",
            "Text is not in Unicode NFC form.",
        ));
        return;
    }
    let bad_choice = || {
        FieldError::new(
            key,
            "bad_choice",
            "Giá trị không nằm trong các lựa chọn.",
            "Not one of the allowed choices.",
        )
    };
    match f.kind {
        FieldKind::Text
        | FieldKind::Address
        | FieldKind::LongText
        | FieldKind::Ethnicity
        | FieldKind::Nationality => {}
        FieldKind::Name => {
            if !is_name(value) {
                errors.push(FieldError::new(
                    key,
                    "bad_name",
                    "Họ tên chỉ gồm chữ cái, dấu cách và các dấu ' - .",
                    "A name may contain only letters, spaces and ' - .",
                ));
            }
        }
        FieldKind::Date => match parse_date(value) {
            None => errors.push(FieldError::new(
                key,
                "bad_date",
                "Ngày không hợp lệ; ghi theo dạng năm-tháng-ngày, ví dụ 1990-05-31.",
                "Invalid date; use YYYY-MM-DD, e.g. 1990-05-31.",
            )),
            Some(d) if d > today => errors.push(FieldError::new(
                key,
                "future_date",
                "Ngày không được ở trong tương lai.",
                "The date cannot be in the future.",
            )),
            Some(_) => {}
        },
        FieldKind::Sex => {
            if value.parse::<Sex>().is_err() {
                errors.push(bad_choice());
            }
        }
        FieldKind::Choice => {
            if !f.options.iter().any(|o| o.value == value) {
                errors.push(bad_choice());
            }
        }
        FieldKind::Pin => {
            if Pin::parse(value).is_err() {
                errors.push(FieldError::new(
                    key,
                    "bad_pin",
                    "Số định danh cá nhân gồm 12 chữ số, bắt đầu bằng mã tỉnh hợp lệ.",
                    "A personal identification number is 12 digits starting with a valid province code.",
                ));
            }
        }
        FieldKind::Phone => {
            if !is_phone(value) {
                errors.push(FieldError::new(
                    key,
                    "bad_phone",
                    "Số điện thoại gồm 10 chữ số bắt đầu bằng 0, hoặc +84 và 9 chữ số.",
                    "A phone number is 10 digits starting with 0, or +84 and 9 digits.",
                ));
            }
        }
        FieldKind::Confirm => {
            if value != "yes" {
                if stage == Stage::Seal && f.required {
                    errors.push(not_confirmed(key));
                } else {
                    errors.push(bad_choice());
                }
            }
        }
    }
}

/// Letters (including combining marks), spaces and `'` `’` `-` `.`; at least one letter.
fn is_name(s: &str) -> bool {
    s.chars().any(char::is_alphabetic)
        && s.chars().all(|c| {
            c.is_alphabetic()
                || unicode_normalization::char::is_combining_mark(c)
                || matches!(c, ' ' | '\'' | '\u{2019}' | '-' | '.')
        })
}

/// `0` + 9 digits, or `+84` + 9 digits (spaces between digit groups are not accepted: values are normalised).
fn is_phone(s: &str) -> bool {
    let digits_after = |rest: &str| rest.len() == 9 && rest.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = s.strip_prefix("+84") {
        digits_after(rest)
    } else if let Some(rest) = s.strip_prefix('0') {
        digits_after(rest)
    } else {
        false
    }
}

/// Strict `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    if s.len() != 10 {
        return None;
    }
    Date::parse(s, &format).ok()
}

fn cross_field(fields: &BTreeMap<String, String>, errors: &mut Vec<FieldError>) {
    let get = |k: &str| fields.get(k).map(String::as_str);
    if let (Some(pin), Some(sex), Some(dob)) = (
        get("subject.pin"),
        get("subject.sex"),
        get("subject.date_of_birth"),
    ) {
        if let (Ok(pin), Ok(sex), Some(dob)) =
            (Pin::parse(pin), sex.parse::<Sex>(), parse_date(dob))
        {
            if !pin.consistent_with(sex, dob.year()) {
                errors.push(FieldError::new(
                    "subject.pin",
                    "pin_mismatch",
                    "Số định danh cá nhân không khớp với giới tính hoặc năm sinh đã khai.",
                    "The personal identification number does not match the sex or year of birth given.",
                ));
            }
        }
    }
    if let (Some(from), Some(to)) = (
        get("period.from").and_then(parse_date),
        get("period.to").and_then(parse_date),
    ) {
        if to < from {
            errors.push(FieldError::new(
                "period.to",
                "bad_range",
                "Ngày kết thúc không được trước ngày bắt đầu.",
                "The end date cannot be before the start date.",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{find_procedure, ProcedureRef};
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 23);

    fn def() -> &'static ProcedureDef {
        find_procedure(&ProcedureRef {
            id: "marital-status-certificate".into(),
            version: 1,
        })
        .unwrap()
    }

    pub(crate) fn complete() -> BTreeMap<String, String> {
        [
            (
                "addressee.commune",
                "Ủy ban nhân dân xã Bù Đăng, tỉnh Đồng Nai",
            ),
            ("requester.full_name", "Điểu Thị Lan"),
            (
                "requester.residence",
                "Thôn Bù Khơn, xã Bù Đăng, tỉnh Đồng Nai",
            ),
            ("requester.id_type", "can_cuoc"),
            ("requester.pin", "070195001234"),
            ("requester.id_issuer", "Bộ Công an"),
            ("requester.id_issue_date", "2024-07-01"),
            ("requester.phone", "0912345678"),
            ("requester.relationship", "self"),
            ("subject.full_name", "Điểu Thị Lan"),
            ("subject.date_of_birth", "1995-03-14"),
            ("subject.sex", "female"),
            ("subject.ethnicity", "Xtiêng"),
            ("subject.nationality", "Việt Nam"),
            (
                "subject.residence",
                "Thôn Bù Khơn, xã Bù Đăng, tỉnh Đồng Nai",
            ),
            ("subject.id_type", "can_cuoc"),
            ("subject.pin", "070195001234"),
            ("period.from", "2015-01-01"),
            ("period.to", "2020-12-31"),
            (
                "period.place",
                "Xã Phước Hà, huyện Thuận Nam, tỉnh Ninh Thuận",
            ),
            ("subject.marital_status", "never_married"),
            (
                "request.purpose",
                "Làm thủ tục chuyển nhượng quyền sử dụng đất",
            ),
            ("declaration.confirmed", "yes"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn roles() -> Vec<String> {
        vec!["id_document".to_string()]
    }

    fn codes_with(
        change: impl FnOnce(&mut BTreeMap<String, String>),
        stage: Stage,
    ) -> Vec<(String, String)> {
        let mut f = complete();
        change(&mut f);
        validate(def(), &f, &roles(), TODAY, stage)
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    fn one(field: &str, code: &str) -> Vec<(String, String)> {
        vec![(field.to_string(), code.to_string())]
    }

    fn set(k: &'static str, v: &'static str) -> impl FnOnce(&mut BTreeMap<String, String>) {
        move |f| {
            f.insert(k.into(), v.into());
        }
    }

    fn remove(k: &'static str) -> impl FnOnce(&mut BTreeMap<String, String>) {
        move |f| {
            f.remove(k);
        }
    }

    #[test]
    fn complete_case_passes_both_stages() {
        assert_eq!(
            validate(def(), &complete(), &roles(), TODAY, Stage::Seal),
            vec![]
        );
        assert_eq!(
            validate(def(), &complete(), &roles(), TODAY, Stage::Draft),
            vec![]
        );
    }

    #[test]
    fn empty_draft_passes_draft_but_not_seal() {
        let empty = BTreeMap::new();
        assert!(validate(def(), &empty, &[], TODAY, Stage::Draft).is_empty());
        let errs = validate(def(), &empty, &[], TODAY, Stage::Seal);
        assert!(errs
            .iter()
            .any(|e| e.field == "subject.full_name" && e.code == "required"));
        assert!(errs
            .iter()
            .any(|e| e.field == "declaration.confirmed" && e.code == "not_confirmed"));
        assert!(errs
            .iter()
            .any(|e| e.field == "documents.id_document" && e.code == "document_missing"));
        assert!(!errs.iter().any(|e| e.field == "period.from"));
    }

    #[test]
    fn unknown_field() {
        assert_eq!(
            codes_with(set("subject.nickname", "Lan"), Stage::Draft),
            one("subject.nickname", "unknown_field")
        );
    }

    #[test]
    fn required_and_required_if() {
        assert_eq!(
            codes_with(remove("subject.full_name"), Stage::Seal),
            one("subject.full_name", "required")
        );
        assert_eq!(
            codes_with(remove("subject.full_name"), Stage::Draft),
            vec![]
        );
        assert_eq!(
            codes_with(set("requester.relationship", "other"), Stage::Seal),
            one("requester.relationship_other", "required")
        );
        assert_eq!(
            codes_with(
                |f| {
                    f.insert("subject.id_type".into(), "passport".into());
                    f.remove("subject.pin");
                },
                Stage::Seal
            ),
            one("subject.passport_number", "required")
        );
    }

    #[test]
    fn too_long() {
        let long: &'static str = Box::leak("a".repeat(201).into_boxed_str());
        assert_eq!(
            codes_with(set("requester.residence", long), Stage::Draft),
            one("requester.residence", "too_long")
        );
        let purpose: &'static str = Box::leak("x".repeat(501).into_boxed_str());
        assert_eq!(
            codes_with(set("request.purpose", purpose), Stage::Draft),
            one("request.purpose", "too_long")
        );
        // Length counts characters, not bytes: 100 accented letters fit a 100-character name.
        let name: &'static str = Box::leak("Đ".repeat(100).into_boxed_str());
        assert_eq!(
            codes_with(set("subject.full_name", name), Stage::Draft),
            vec![]
        );
    }

    #[test]
    fn names() {
        assert_eq!(
            codes_with(set("subject.full_name", "Lan 2"), Stage::Draft),
            one("subject.full_name", "bad_name")
        );
        assert_eq!(
            codes_with(set("subject.full_name", "K'Bình"), Stage::Draft),
            vec![]
        );
        assert_eq!(
            codes_with(
                set("subject.full_name", "Nguyễn Thị Ánh-Tuyết"),
                Stage::Draft
            ),
            vec![]
        );
        assert_eq!(
            codes_with(
                set("subject.full_name", "Nguye\u{302}\u{303}n"),
                Stage::Draft
            ),
            one("subject.full_name", "not_nfc")
        );
    }

    #[test]
    fn dates() {
        assert_eq!(
            codes_with(set("subject.date_of_birth", "1995-02-30"), Stage::Draft),
            one("subject.date_of_birth", "bad_date")
        );
        assert_eq!(
            codes_with(set("subject.date_of_birth", "14/03/1995"), Stage::Draft),
            one("subject.date_of_birth", "bad_date")
        );
        assert_eq!(
            codes_with(set("requester.id_issue_date", "2026-11-24"), Stage::Draft),
            one("requester.id_issue_date", "future_date")
        );
        assert_eq!(
            codes_with(set("requester.id_issue_date", "2026-11-23"), Stage::Draft),
            vec![]
        );
    }

    #[test]
    fn choices_and_sex() {
        assert_eq!(
            codes_with(set("subject.marital_status", "single"), Stage::Draft),
            one("subject.marital_status", "bad_choice")
        );
        assert_eq!(
            codes_with(set("subject.sex", "nu"), Stage::Draft),
            one("subject.sex", "bad_choice")
        );
    }

    #[test]
    fn pins() {
        assert_eq!(
            codes_with(set("requester.pin", "07019500123"), Stage::Draft),
            one("requester.pin", "bad_pin")
        );
        assert_eq!(
            codes_with(set("requester.pin", "003195001234"), Stage::Draft),
            one("requester.pin", "bad_pin")
        );
        // Pre-2025 province code 058 (former Ninh Thuận) is valid.
        assert_eq!(
            codes_with(set("requester.pin", "058080001234"), Stage::Draft),
            vec![]
        );
    }

    #[test]
    fn phones() {
        for ok in ["0912345678", "+84912345678"] {
            assert_eq!(
                codes_with(set("requester.phone", ok), Stage::Draft),
                vec![],
                "{ok}"
            );
        }
        for bad in [
            "091234567",
            "1912345678",
            "+8491234567",
            "09123456789",
            "0912 345 678",
        ] {
            assert_eq!(
                codes_with(set("requester.phone", bad), Stage::Draft),
                one("requester.phone", "bad_phone")
            );
        }
    }

    #[test]
    fn confirm() {
        assert_eq!(
            codes_with(set("declaration.confirmed", "no"), Stage::Seal),
            one("declaration.confirmed", "not_confirmed")
        );
        assert_eq!(
            codes_with(set("declaration.confirmed", "no"), Stage::Draft),
            one("declaration.confirmed", "bad_choice")
        );
        assert_eq!(
            codes_with(remove("declaration.confirmed"), Stage::Seal),
            one("declaration.confirmed", "not_confirmed")
        );
    }

    #[test]
    fn pin_mismatch_only_at_seal() {
        // Female born 1995 needs digit 4 = 1; 0 means male.
        assert_eq!(
            codes_with(set("subject.pin", "070095001234"), Stage::Seal),
            one("subject.pin", "pin_mismatch")
        );
        assert_eq!(
            codes_with(set("subject.pin", "070095001234"), Stage::Draft),
            vec![]
        );
        assert_eq!(
            codes_with(set("subject.date_of_birth", "1996-03-14"), Stage::Seal),
            one("subject.pin", "pin_mismatch")
        );
        assert_eq!(
            codes_with(set("subject.sex", "male"), Stage::Seal),
            one("subject.pin", "pin_mismatch")
        );
    }

    #[test]
    fn bad_range() {
        assert_eq!(
            codes_with(set("period.to", "2014-12-31"), Stage::Seal),
            one("period.to", "bad_range")
        );
        assert_eq!(
            codes_with(set("period.to", "2015-01-01"), Stage::Seal),
            vec![]
        );
    }

    #[test]
    fn documents() {
        let errs = validate(def(), &complete(), &[], TODAY, Stage::Seal);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "documents.id_document");
        assert_eq!(errs[0].code, "document_missing");
        assert_eq!(
            errs[0].message_vi,
            "Thiếu ảnh giấy tờ bắt buộc: Giấy tờ tùy thân."
        );
        assert!(validate(def(), &complete(), &[], TODAY, Stage::Draft).is_empty());
    }

    #[test]
    fn control_characters() {
        assert_eq!(
            codes_with(set("subject.residence", "Thôn\u{0}Bù"), Stage::Draft),
            one("subject.residence", "bad_characters")
        );
        assert_eq!(
            codes_with(set("request.purpose", "Dòng 1\nDòng 2"), Stage::Draft),
            vec![]
        );
        assert_eq!(
            codes_with(set("subject.residence", "Dòng 1\nDòng 2"), Stage::Draft),
            one("subject.residence", "bad_characters")
        );
    }

    #[test]
    fn normalize_trims_nfcs_and_drops_empty() {
        let mut raw = BTreeMap::new();
        raw.insert("a".to_string(), "  Nguye\u{302}\u{303}n  ".to_string());
        raw.insert("b".to_string(), "   ".to_string());
        let n = normalize_fields(&raw);
        assert_eq!(n.get("a").map(String::as_str), Some("Nguyễn"));
        assert!(!n.contains_key("b"));
    }

    #[test]
    fn messages_are_nfc_vietnamese() {
        let errs = validate(def(), &BTreeMap::new(), &[], TODAY, Stage::Seal);
        for e in errs {
            assert_eq!(e.message_vi.nfc().collect::<String>(), e.message_vi);
            assert!(!e.message_vi.is_empty() && !e.message_en.is_empty());
        }
    }
}
