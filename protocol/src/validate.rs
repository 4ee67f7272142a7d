//! The one validation engine: the same field errors at draft save, at seal, and at the office.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::Date;
use unicode_normalization::UnicodeNormalization;

use crate::catalogue::{CrossCheck, FieldDef, FieldKind, ProcedureDef};
use crate::ethnicity::find_ethnic_group;
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

/// Whether a finding blocks sealing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Must be fixed before sealing.
    #[default]
    Error,
    /// Shown to the officer and the office (e.g. a late birth registration); does not block sealing.
    Warning,
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
    /// Error (blocks sealing) or warning.
    #[serde(default)]
    pub severity: Severity,
}

impl FieldError {
    fn new(field: &str, code: &str, vi: impl Into<String>, en: impl Into<String>) -> FieldError {
        FieldError {
            field: field.to_owned(),
            code: code.to_owned(),
            message_vi: vi.into(),
            message_en: en.into(),
            severity: Severity::Error,
        }
    }

    fn warning(mut self) -> FieldError {
        self.severity = Severity::Warning;
        self
    }

    /// Whether this finding blocks sealing.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Checks that every `commune` field of `def` names a unit that `exists` (the hub's list of administrative
/// units; the format itself is checked by [`validate`]).
pub fn check_communes(
    def: &ProcedureDef,
    fields: &BTreeMap<String, String>,
    exists: impl Fn(&str) -> bool,
) -> Vec<FieldError> {
    def.fields()
        .filter(|f| f.kind == FieldKind::Commune)
        .filter_map(|f| fields.get(&f.key).map(|v| (f, v)))
        .filter(|(_, v)| v.len() == 5 && v.bytes().all(|b| b.is_ascii_digit()) && !exists(v))
        .map(|(f, v)| {
            FieldError::new(
                &f.key,
                "unknown_commune",
                format!("Không có xã, phường, đặc khu mã {v} trong danh mục đơn vị hành chính."),
                format!("No commune or ward has code {v} in the list of administrative units."),
            )
        })
        .collect()
}

/// Only the findings that block sealing.
pub fn blocking(findings: &[FieldError]) -> Vec<FieldError> {
    findings.iter().filter(|e| e.is_error()).cloned().collect()
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

/// Validates `fields` (expected normalised, and at seal derived: see [`crate::derive_fields`]) and the
/// roles of attached photos against `def`.
///
/// Findings come in a stable order: per field in form order, then unknown keys (sorted), then cross-field
/// rules, then missing documents. `today` is the capture date (the local date of sealing; the office
/// passes the dossier's sealing date, so a re-check gives the same answer), used for "not in the future",
/// ages and lateness. Warnings (see [`Severity`]) do not block sealing: use [`blocking`].
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
        for c in &def.checks {
            cross_check(def, c, fields, &mut errors);
        }
        for d in def.documents.iter().filter(|d| d.required_for(fields)) {
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
            .is_some_and(|c| c.holds(present(&c.field)))
}

fn not_confirmed(key: &str) -> FieldError {
    FieldError::new(
        key,
        "not_confirmed",
        "Cần đánh dấu xác nhận lời cam đoan.",
        "The statement must be confirmed.",
    )
}

/// Unicode bidirectional embedding, override and isolate controls (and the LRM/RLM/ALM marks): no
/// Vietnamese or minority-language text needs them, and in a name they can make a printed form show
/// something other than what is stored.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
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
    if value.chars().any(|c| {
        (c.is_control() && !(newline_ok && (c == '\n' || c == '\r' || c == '\t')))
            || is_bidi_control(c)
    }) {
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
        FieldKind::Text | FieldKind::Address | FieldKind::LongText | FieldKind::Nationality => {}
        FieldKind::Ethnicity => {
            if find_ethnic_group(value).is_none() {
                errors.push(FieldError::new(
                    key,
                    "unknown_ethnicity",
                    "Chọn tên dân tộc trong danh mục (ví dụ: Kinh, Xtiêng, Ra-glai, Chăm, Khơ-me).",
                    "Choose an ethnic group from the list (e.g. Kinh, Xtiêng, Ra-glai, Chăm, Khơ-me).",
                ));
            }
        }
        FieldKind::Commune => {
            if value.len() != 5 || !value.bytes().all(|b| b.is_ascii_digit()) {
                errors.push(FieldError::new(
                    key,
                    "bad_commune",
                    "Chọn xã, phường, đặc khu trong danh mục đơn vị hành chính.",
                    "Choose a commune or ward from the list of administrative units.",
                ));
            }
        }
        FieldKind::HealthInsurance => {
            if !is_health_insurance(value) {
                errors.push(FieldError::new(
                    key,
                    "bad_health_insurance",
                    "Mã số bảo hiểm y tế gồm 10 chữ số, hoặc mã cũ 15 ký tự (2 chữ cái và 13 chữ số).",
                    "A health-insurance number is 10 digits, or the old 15-character code (2 letters, 13 digits).",
                ));
            }
        }
        FieldKind::Number => {
            let (min, max) = (f.min.unwrap_or(0), f.max.unwrap_or(u32::MAX));
            let ok = value.len() <= 9
                && value.bytes().all(|b| b.is_ascii_digit())
                && !(value.len() > 1 && value.starts_with('0'))
                && value.parse::<u32>().is_ok_and(|n| (min..=max).contains(&n));
            if !ok {
                errors.push(FieldError::new(
                    key,
                    "bad_number",
                    format!("Nhập một số từ {min} đến {max}."),
                    format!("Enter a whole number from {min} to {max}."),
                ));
            }
        }
        FieldKind::YearOrDate => match parse_year_or_date(value) {
            None => errors.push(FieldError::new(
                key,
                "bad_date",
                "Ghi ngày/tháng/năm (ví dụ 31/05/1990) hoặc chỉ năm sinh (ví dụ 1990).",
                "Use day/month/year (e.g. 31/05/1990) or the year alone (e.g. 1990).",
            )),
            Some(YearOrDate::Year(y)) if y > today.year() => errors.push(future(key)),
            Some(YearOrDate::Date(d)) if d > today => errors.push(future(key)),
            Some(_) => {}
        },
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
                "Ngày không hợp lệ; ghi ngày/tháng/năm, ví dụ 31/05/1990.",
                "Invalid date; use day/month/year, e.g. 31/05/1990.",
            )),
            Some(d) if d > today => errors.push(future(key)),
            Some(d) => date_rules(f, d, today, errors),
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

fn future(key: &str) -> FieldError {
    FieldError::new(
        key,
        "future_date",
        "Ngày không được ở trong tương lai.",
        "The date cannot be in the future.",
    )
}

/// Age and lateness rules of a date field, relative to the capture date.
fn date_rules(f: &FieldDef, d: Date, today: Date, errors: &mut Vec<FieldError>) {
    if let Some(max) = f.max_age_years {
        if full_years_between(d, today) >= max as i32 {
            errors.push(FieldError::new(
                &f.key,
                "too_old",
                format!("Thủ tục này dành cho người dưới {max} tuổi vào ngày nộp hồ sơ."),
                format!("This procedure is for someone under {max} on the day of filing."),
            ));
            return;
        }
    }
    if let Some(days) = f.late_after_days {
        if (today - d).whole_days() > i64::from(days) {
            errors.push(
                FieldError::new(
                    &f.key,
                    "late_registration",
                    format!("Quá {days} ngày kể từ ngày sinh: đăng ký khai sinh quá hạn."),
                    format!("More than {days} days after birth: a late birth registration."),
                )
                .warning(),
            );
        }
    }
}

/// Whole years from `from` to `to` (an age).
fn full_years_between(from: Date, to: Date) -> i32 {
    let mut years = to.year() - from.year();
    if (to.month() as u8, to.day()) < (from.month() as u8, from.day()) {
        years -= 1;
    }
    years
}

/// 10 digits (the social-insurance number), or the legacy 15 characters: 2 capital letters + 13 digits.
fn is_health_insurance(s: &str) -> bool {
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    match s.len() {
        10 => digits(s),
        15 => s.as_bytes()[..2].iter().all(u8::is_ascii_uppercase) && digits(&s[2..]),
        _ => false,
    }
}

/// A full date or a year alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YearOrDate {
    /// `YYYY`.
    Year(i32),
    /// `YYYY-MM-DD`.
    Date(Date),
}

impl YearOrDate {
    /// The year.
    pub fn year(self) -> i32 {
        match self {
            YearOrDate::Year(y) => y,
            YearOrDate::Date(d) => d.year(),
        }
    }
}

/// Strict `YYYY` (1900–9999) or `YYYY-MM-DD`.
pub fn parse_year_or_date(s: &str) -> Option<YearOrDate> {
    if s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) {
        let y: i32 = s.parse().ok()?;
        return (y >= 1900).then_some(YearOrDate::Year(y));
    }
    parse_date(s).map(YearOrDate::Date)
}

/// Strict `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    if s.len() != 10 {
        return None;
    }
    Date::parse(s, &format).ok()
}

fn cross_check(
    def: &ProcedureDef,
    c: &CrossCheck,
    fields: &BTreeMap<String, String>,
    errors: &mut Vec<FieldError>,
) {
    let get = |k: &str| fields.get(k).map(String::as_str);
    match c {
        CrossCheck::PinMatches {
            pin,
            sex_field,
            sex_is,
            birth,
        } => {
            let sex = match (sex_is, sex_field) {
                (Some(s), _) => Some(*s),
                (None, Some(k)) => get(k).and_then(|v| v.parse::<Sex>().ok()),
                (None, None) => None,
            };
            let (Some(p), Some(sex), Some(b)) = (
                get(pin).and_then(|v| Pin::parse(v).ok()),
                sex,
                get(birth).and_then(parse_year_or_date),
            ) else {
                return;
            };
            if !p.consistent_with(sex, b.year()) {
                errors.push(FieldError::new(
                    pin,
                    "pin_mismatch",
                    "Số định danh cá nhân không khớp với giới tính hoặc năm sinh đã khai.",
                    "The personal identification number does not match the sex or year of birth given.",
                ));
            }
        }
        CrossCheck::DateOrder { earlier, later } => {
            if let (Some(a), Some(b)) = (
                get(earlier).and_then(parse_date),
                get(later).and_then(parse_date),
            ) {
                if b < a {
                    // Named by the two fields' labels: "from/to" of a period, or birth and death.
                    let label = |k: &str| def.field(k).map(|f| f.label.clone());
                    let (vi, en) = match (label(later), label(earlier)) {
                        (Some(l), Some(e)) => (
                            format!("«{}» không được trước «{}».", l.vi, e.vi),
                            format!("“{}” cannot be before “{}”.", l.en, e.en),
                        ),
                        _ => (
                            "Ngày kết thúc không được trước ngày bắt đầu.".to_owned(),
                            "The end date cannot be before the start date.".to_owned(),
                        ),
                    };
                    errors.push(FieldError::new(later, "bad_range", vi, en));
                }
            }
        }
        CrossCheck::ParentAge {
            parent_birth,
            child_birth,
            min_years,
            max_years,
        } => {
            if let (Some(p), Some(c)) = (
                get(parent_birth).and_then(parse_year_or_date),
                get(child_birth).and_then(parse_year_or_date),
            ) {
                let age = c.year() - p.year();
                if age < *min_years as i32 || age > *max_years as i32 {
                    errors.push(FieldError::new(
                        parent_birth,
                        "implausible_parent_age",
                        format!("Năm sinh này cho thấy khi sinh con người này {age} tuổi; vui lòng kiểm tra lại."),
                        format!("This year of birth makes the parent {age} at the child's birth; please check it."),
                    ));
                }
            }
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
        // Filing for someone else also needs the authorisation letter (a conditional document).
        assert_eq!(
            codes_with(set("requester.relationship", "other"), Stage::Seal),
            vec![
                (
                    "requester.relationship_other".to_string(),
                    "required".to_string()
                ),
                (
                    "documents.authorisation_letter".to_string(),
                    "document_missing".to_string()
                )
            ]
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
        // Said with the two fields' own labels, not "end" and "start".
        let mut f = complete();
        f.insert("period.to".into(), "2014-12-31".into());
        let e = validate(def(), &f, &["id_document".into()], TODAY, Stage::Seal);
        let e = e.iter().find(|e| e.code == "bad_range").unwrap();
        let to = &def().field("period.to").unwrap().label.vi;
        let from = &def().field("period.from").unwrap().label.vi;
        assert!(
            e.message_vi.contains(to.as_str()) && e.message_vi.contains(from.as_str()),
            "{}",
            e.message_vi
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
        // A right-to-left override would make a printed name read differently from the stored one.
        assert_eq!(
            codes_with(set("subject.residence", "Thôn \u{202E}úB"), Stage::Draft),
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

/// The "3-in-1" procedure: capture once, derive the rest, and its own rules.
#[cfg(test)]
mod three_in_one_tests {
    use super::*;
    use crate::catalogue::{find_procedure, ProcedureRef};
    use crate::derive::derive_fields;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 23);

    fn def() -> &'static ProcedureDef {
        find_procedure(&ProcedureRef {
            id: "birth-residence-insurance".into(),
            version: 1,
        })
        .unwrap()
    }

    /// What an officer types for a typical case: the mother files, the father is declared, the child joins
    /// the mother's household at her address. Choices left at their defaults are not sent by the form
    /// until touched, but the form pre-fills them, so they arrive here with their default values.
    fn typed() -> BTreeMap<String, String> {
        [
            ("child.full_name", "Điểu Thị Mai"),
            ("child.date_of_birth", "2026-10-30"),
            ("child.sex", "female"),
            ("child.place_of_birth", "Trạm Y tế xã Bù Gia Mập"),
            ("child.hometown", "Xã Bù Gia Mập, tỉnh Bình Phước"),
            ("mother.full_name", "Thị Hoa"),
            ("mother.date_of_birth", "1998"),
            ("mother.ethnicity", "Xtiêng"),
            ("mother.pin", "070198001234"),
            ("mother.residence_commune", "25222"),
            ("mother.residence_detail", "Thôn Bù Khơn"),
            ("mother.phone", "0912345678"),
            ("father.full_name", "Điểu Minh"),
            ("father.date_of_birth", "1995-04-02"),
            ("father.ethnicity", "Xtiêng"),
            ("father.pin", "070095004321"),
            ("declaration.confirmed", "yes"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// The form's defaults for fields the officer did not touch.
    fn with_defaults(mut f: BTreeMap<String, String>) -> BTreeMap<String, String> {
        for fd in def().fields() {
            if let Some(d) = &fd.default {
                f.entry(fd.key.clone()).or_insert_with(|| d.clone());
            }
        }
        f
    }

    fn roles() -> Vec<String> {
        vec!["birth_certificate".into(), "requester_id".into()]
    }

    fn check(fields: &BTreeMap<String, String>) -> Vec<(String, String)> {
        let (all, _) = derive_fields(def(), fields);
        validate(def(), &all, &roles(), TODAY, Stage::Seal)
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    #[test]
    fn a_typical_case_needs_at_most_25_typed_inputs() {
        let typed = typed();
        // Typed inputs: text the officer keys in (taps on a choice, sex or checkbox are not typing).
        let typing = typed
            .keys()
            .filter(|k| {
                !matches!(
                    def().field(k).unwrap().kind,
                    FieldKind::Sex | FieldKind::Choice | FieldKind::Confirm
                )
            })
            .count();
        assert_eq!(typing, 15, "the count docs/protocol.md reports");
        assert!(typing <= 25);
        let fields = with_defaults(typed);
        assert_eq!(check(&fields), vec![]);
        // The three official forms are filled from 17 typed or tapped values, 7 defaults and 19 derived.
        let (all, derived) = derive_fields(def(), &fields);
        assert_eq!(
            derived.len(),
            19,
            "the count docs/protocol.md reports: {derived:?}"
        );
        assert_eq!(all["requester.full_name"], "Thị Hoa");
        assert_eq!(all["residence.head_pin"], "070198001234");
        assert_eq!(all["insurance.name_capitals"], "ĐIỂU THỊ MAI");
        assert_eq!(all["insurance.card_address_commune"], "25222");
        assert_eq!(all["father.residence_detail"], "Thôn Bù Khơn");
        assert_eq!(all["child.ethnicity"], "Xtiêng");
        assert_eq!(all["addressee.commune"], "25222");
    }

    fn with(k: &str, v: &str) -> BTreeMap<String, String> {
        let mut f = with_defaults(typed());
        f.insert(k.into(), v.into());
        f
    }

    fn has(found: &[(String, String)], field: &str, code: &str) -> bool {
        found.iter().any(|(f, c)| f == field && c == code)
    }

    #[test]
    fn the_child_must_be_under_six_on_the_capture_date() {
        let found = check(&with("child.date_of_birth", "2020-11-23"));
        assert!(has(&found, "child.date_of_birth", "too_old"), "{found:?}");
        // One day short of six is fine (but late, a warning).
        let f = with("child.date_of_birth", "2020-11-24");
        let (all, _) = derive_fields(def(), &f);
        let found = validate(def(), &all, &roles(), TODAY, Stage::Seal);
        assert!(blocking(&found).is_empty(), "{found:?}");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, "late_registration");
        assert_eq!(found[0].severity, Severity::Warning);
    }

    #[test]
    fn late_registration_is_flagged_after_60_days_not_before() {
        let (all, _) = derive_fields(def(), &with("child.date_of_birth", "2026-09-24"));
        assert!(validate(def(), &all, &roles(), TODAY, Stage::Seal).is_empty());
        let (all, _) = derive_fields(def(), &with("child.date_of_birth", "2026-09-23"));
        let found = validate(def(), &all, &roles(), TODAY, Stage::Draft);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, "late_registration");
        assert!(!found[0].is_error());
    }

    #[test]
    fn parents_pins_must_match_their_sex_and_birth_year() {
        // Digit 4 = 0 is a man born in the 1900s: not the mother.
        let found = check(&with("mother.pin", "070098001234"));
        assert!(has(&found, "mother.pin", "pin_mismatch"), "{found:?}");
        // The year-only birth date is compared by year.
        let found = check(&with("mother.date_of_birth", "1997"));
        assert!(has(&found, "mother.pin", "pin_mismatch"), "{found:?}");
        // The derived requester PIN is the mother's: no second report under another name.
        assert!(!found.iter().any(|(f, _)| f == "requester.pin"));
        let found = check(&with("father.pin", "070195004321"));
        assert!(has(&found, "father.pin", "pin_mismatch"), "{found:?}");
    }

    #[test]
    fn parents_ages_must_be_plausible() {
        let found = check(&with("mother.date_of_birth", "2020"));
        assert!(
            has(&found, "mother.date_of_birth", "implausible_parent_age"),
            "{found:?}"
        );
        let found = check(&with("father.date_of_birth", "1930"));
        assert!(
            has(&found, "father.date_of_birth", "implausible_parent_age"),
            "{found:?}"
        );
    }

    #[test]
    fn an_undeclared_father_needs_no_father_fields() {
        let mut f = with_defaults(typed());
        f.retain(|k, _| !k.starts_with("father."));
        f.insert("father.declared".into(), "no".into());
        assert_eq!(check(&f), vec![]);
        let (all, _) = derive_fields(def(), &f);
        assert!(!all.contains_key("father.residence_detail"));
        // Declared but not given: required.
        f.insert("father.declared".into(), "yes".into());
        let found = check(&f);
        assert!(has(&found, "father.full_name", "required"), "{found:?}");
    }

    #[test]
    fn documents_follow_the_case() {
        let mut f = with_defaults(typed());
        let (all, _) = derive_fields(def(), &f);
        let found = validate(def(), &all, &["requester_id".into()], TODAY, Stage::Seal);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].field, "documents.birth_certificate");
        // A witness statement instead of the health facility's certificate.
        f.insert("birth.proof".into(), "witness".into());
        let (all, _) = derive_fields(def(), &f);
        let found = validate(def(), &all, &roles(), TODAY, Stage::Seal);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].field, "documents.witness_statement");
        // Someone else's household: the head's consent (field and paper), and the head typed in.
        let mut f = with_defaults(typed());
        f.insert("residence.head_is".into(), "other".into());
        let found = check(&f);
        for (field, code) in [
            ("residence.head_full_name", "required"),
            ("residence.head_pin", "required"),
            ("residence.head_consent", "not_confirmed"),
            ("documents.head_consent", "document_missing"),
        ] {
            assert!(has(&found, field, code), "{field} {code}: {found:?}");
        }
    }

    #[test]
    fn communes_must_exist_in_the_units_list() {
        let fields = with_defaults(typed());
        let (all, _) = derive_fields(def(), &fields);
        assert!(check_communes(def(), &all, |c| c == "25222").is_empty());
        let found = check_communes(def(), &all, |_| false);
        // The typed commune and every field derived from it.
        assert!(found.len() >= 5, "{found:?}");
        assert!(found
            .iter()
            .all(|e| e.code == "unknown_commune" && e.is_error()));
        assert_eq!(found[0].field, "child.place_of_birth_commune");
    }

    #[test]
    fn field_kinds_of_the_domain() {
        for (k, v, code) in [
            ("child.ethnicity", "Stieng", "unknown_ethnicity"),
            ("mother.residence_commune", "2522", "bad_commune"),
            ("mother.residence_commune", "Bù Gia Mập", "bad_commune"),
            ("birth.copies", "11", "bad_number"),
            ("birth.copies", "01", "bad_number"),
            ("birth.copies", "-1", "bad_number"),
            ("mother.date_of_birth", "98", "bad_date"),
            ("mother.date_of_birth", "1899", "bad_date"),
            ("mother.date_of_birth", "2027", "future_date"),
            ("child.date_of_birth", "2026-11-24", "future_date"),
        ] {
            let found = check(&with(k, v));
            assert!(has(&found, k, code), "{k}={v}: {found:?}");
        }
        for ok in ["0", "10"] {
            assert!(!check(&with("birth.copies", ok))
                .iter()
                .any(|(f, _)| f == "birth.copies"));
        }
        assert!(is_health_insurance("0123456789"));
        assert!(is_health_insurance("TE1750123456789"));
        assert!(!is_health_insurance("te1750123456789"));
        assert!(!is_health_insurance("012345678"));
        assert!(!is_health_insurance("TE17501234567890"));
    }
}
