//! The office's news form: turns what a clerk typed (`{status: {kind, ...}, note}`) into a
//! [`protocol::NewsStatus`], with one clear VI/EN error per offending field (`status.papers[1]`,
//! `status.from_date`, `note`, …) instead of the protocol's single form error.

use protocol::{NewsStatus, ResultNumber, MAX_NEWS_LIST, MAX_NEWS_TEXT_CHARS, MAX_NOTE_CHARS};
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

use crate::shared::error::FieldDetail;

fn detail(field: &str, code: &str, vi: String, en: String) -> FieldDetail {
    FieldDetail {
        field: field.to_string(),
        code: code.to_string(),
        message_vi: vi,
        message_en: en,
    }
}

/// A text typed by a clerk: trimmed, NFC, 1..=max characters, no control characters (line breaks only
/// when `multiline`). Errors name `field`.
fn text(
    v: Option<&Value>,
    field: &str,
    max: usize,
    multiline: bool,
    errs: &mut Vec<FieldDetail>,
) -> Option<String> {
    // Length and control characters are judged on the text as sent (a line break trimmed away is still
    // one sent): what the schema's `maxLength` and `pattern` say.
    let (s, raw) = match v {
        Some(Value::String(s)) => {
            let raw = s.replace("\r\n", "\n");
            (raw.trim().nfc().collect::<String>(), raw)
        }
        Some(Value::Null) | None => (String::new(), String::new()),
        Some(_) => {
            errs.push(detail(
                field,
                "not_text",
                "Ô này phải là chữ.".into(),
                "This must be text.".into(),
            ));
            return None;
        }
    };
    if s.is_empty() {
        errs.push(detail(
            field,
            "required",
            "Hãy điền ô này.".into(),
            "Please fill this in.".into(),
        ));
        return None;
    }
    if raw.chars().count() > max {
        errs.push(detail(
            field,
            "too_long",
            format!("Tối đa {max} ký tự."),
            format!("At most {max} characters."),
        ));
        return None;
    }
    if raw
        .chars()
        .any(|c| c.is_control() && !(multiline && c == '\n'))
    {
        errs.push(detail(
            field,
            "control_chars",
            if multiline {
                "Có ký tự điều khiển không hợp lệ.".into()
            } else {
                "Chỉ một dòng; không có ký tự điều khiển.".into()
            },
            if multiline {
                "Holds control characters.".into()
            } else {
                "One line only, no control characters.".into()
            },
        ));
        return None;
    }
    Some(s)
}

fn date(v: Option<&Value>, field: &str, errs: &mut Vec<FieldDetail>) -> Option<String> {
    let s = text(v, field, 10, false, errs)?;
    if protocol::validate::parse_date(&s).is_none() {
        errs.push(detail(
            field,
            "bad_date",
            "Ngày không hợp lệ (năm-tháng-ngày, ví dụ 2025-06-30).".into(),
            "Not a valid date (year-month-day, e.g. 2025-06-30).".into(),
        ));
        return None;
    }
    Some(s)
}

fn list<'a>(
    v: Option<&'a Value>,
    field: &str,
    errs: &mut Vec<FieldDetail>,
) -> Option<&'a Vec<Value>> {
    match v {
        Some(Value::Array(a)) if !a.is_empty() && a.len() <= MAX_NEWS_LIST => Some(a),
        Some(Value::Array(a)) if a.len() > MAX_NEWS_LIST => {
            errs.push(detail(
                field,
                "too_many",
                format!("Tối đa {MAX_NEWS_LIST} mục."),
                format!("At most {MAX_NEWS_LIST} entries."),
            ));
            None
        }
        _ => {
            errs.push(detail(
                field,
                "required",
                "Hãy ghi ít nhất một mục.".into(),
                "Give at least one entry.".into(),
            ));
            None
        }
    }
}

/// Parses the form. Every problem is reported, each with its field.
pub fn parse(
    status: &Value,
    note: Option<&Value>,
) -> Result<(NewsStatus, Option<String>), Vec<FieldDetail>> {
    let mut errs = Vec::new();
    let note = match note {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        v => text(v, "note", MAX_NOTE_CHARS, true, &mut errs),
    };
    let get = |k: &str| status.get(k);
    let kind = get("kind").and_then(Value::as_str).unwrap_or("");
    let allowed: &[&str] = match kind {
        "received_verified" => &["kind"],
        "needs_papers" => &["kind", "papers"],
        "registered" => &["kind", "result_numbers"],
        "ready_for_pickup" => &["kind", "place", "from_date", "until_date"],
        "rejected" => &["kind", "reason"],
        _ => {
            errs.push(detail(
                "status.kind",
                "bad_status",
                "Hãy chọn một tình trạng: đã nhận, cần bổ sung giấy tờ, đã đăng ký, sẵn sàng để nhận, bị từ chối."
                    .into(),
                "Choose a status: received, papers needed, registered, ready for pickup, rejected.".into(),
            ));
            return Err(errs);
        }
    };
    if let Some(obj) = status.as_object() {
        for k in obj.keys().filter(|k| !allowed.contains(&k.as_str())) {
            errs.push(detail(
                &format!("status.{k}"),
                "unknown_field",
                "Ô này không thuộc tình trạng đã chọn.".into(),
                "This field does not belong to the chosen status.".into(),
            ));
        }
    }
    let st = match kind {
        "received_verified" => Some(NewsStatus::ReceivedVerified),
        "needs_papers" => list(get("papers"), "status.papers", &mut errs).and_then(|a| {
            let papers: Vec<Option<String>> = a
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    text(
                        Some(p),
                        &format!("status.papers[{i}]"),
                        MAX_NEWS_TEXT_CHARS,
                        false,
                        &mut errs,
                    )
                })
                .collect();
            papers
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .map(|papers| NewsStatus::NeedsPapers { papers })
        }),
        "registered" => {
            list(get("result_numbers"), "status.result_numbers", &mut errs).and_then(|a| {
                let nums: Vec<Option<ResultNumber>> = a
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        let k = text(
                            r.get("kind"),
                            &format!("status.result_numbers[{i}].kind"),
                            MAX_NEWS_TEXT_CHARS,
                            false,
                            &mut errs,
                        );
                        let n = text(
                            r.get("number"),
                            &format!("status.result_numbers[{i}].number"),
                            MAX_NEWS_TEXT_CHARS,
                            false,
                            &mut errs,
                        );
                        Some(ResultNumber {
                            kind: k?,
                            number: n?,
                        })
                    })
                    .collect();
                nums.into_iter()
                    .collect::<Option<Vec<_>>>()
                    .map(|result_numbers| NewsStatus::Registered { result_numbers })
            })
        }
        "ready_for_pickup" => {
            let place = text(
                get("place"),
                "status.place",
                MAX_NEWS_TEXT_CHARS,
                false,
                &mut errs,
            );
            let from = date(get("from_date"), "status.from_date", &mut errs);
            let until = match get("until_date") {
                None | Some(Value::Null) => Some(None),
                Some(Value::String(s)) if s.trim().is_empty() => Some(None),
                v => date(v, "status.until_date", &mut errs).map(Some),
            };
            match (place, from, until) {
                (Some(place), Some(from_date), Some(until_date)) => {
                    if until_date
                        .as_deref()
                        .is_some_and(|u| u < from_date.as_str())
                    {
                        errs.push(detail(
                            "status.until_date",
                            "before_from",
                            "Ngày hết hạn nhận phải sau ngày bắt đầu.".into(),
                            "The last day must not be before the first day.".into(),
                        ));
                        None
                    } else {
                        Some(NewsStatus::ReadyForPickup {
                            place,
                            from_date,
                            until_date,
                        })
                    }
                }
                _ => None,
            }
        }
        _ => text(
            get("reason"),
            "status.reason",
            MAX_NOTE_CHARS,
            true,
            &mut errs,
        )
        .map(|reason| NewsStatus::Rejected { reason }),
    };
    match st {
        Some(st) if errs.is_empty() => Ok((st, note)),
        _ => Err(errs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(r: Result<(NewsStatus, Option<String>), Vec<FieldDetail>>) -> Vec<String> {
        r.unwrap_err().into_iter().map(|d| d.field).collect()
    }

    #[test]
    fn every_status_parses() {
        let ok = [
            json!({"kind": "received_verified"}),
            json!({"kind": "needs_papers", "papers": [" Giấy khai sinh bản chính "]}),
            json!({"kind": "registered", "result_numbers": [{"kind": "pin", "number": "058198004567"}]}),
            json!({"kind": "ready_for_pickup", "place": "UBND xã", "from_date": "2025-07-01", "until_date": ""}),
            json!({"kind": "rejected", "reason": "Sai thẩm quyền"}),
        ];
        for s in ok {
            let (st, note) = parse(&s, Some(&json!("  "))).unwrap();
            assert_eq!(st.code(), s["kind"].as_str().unwrap());
            assert_eq!(note, None);
        }
        let (st, _) = parse(&json!({"kind": "needs_papers", "papers": [" a "]}), None).unwrap();
        assert_eq!(
            st,
            NewsStatus::NeedsPapers {
                papers: vec!["a".into()]
            }
        );
    }

    #[test]
    fn bad_inputs_name_their_field() {
        assert_eq!(
            fields(parse(&json!({"kind": "nope"}), None)),
            ["status.kind"]
        );
        assert_eq!(
            fields(parse(&json!({"kind": "needs_papers", "papers": []}), None)),
            ["status.papers"]
        );
        assert_eq!(
            fields(parse(
                &json!({"kind": "needs_papers", "papers": ["a", ""]}),
                None
            )),
            ["status.papers[1]"]
        );
        assert_eq!(
            fields(parse(
                &json!({"kind": "registered", "result_numbers": [{"kind": "pin", "number": ""}]}),
                None
            )),
            ["status.result_numbers[0].number"]
        );
        assert_eq!(
            fields(parse(
                &json!({"kind": "ready_for_pickup", "place": "x", "from_date": "2025-02-30"}),
                None
            )),
            ["status.from_date"]
        );
        assert_eq!(
            fields(parse(
                &json!({"kind": "ready_for_pickup", "place": "x", "from_date": "2025-07-02", "until_date": "2025-07-01"}),
                None
            )),
            ["status.until_date"]
        );
        assert_eq!(
            fields(parse(&json!({"kind": "rejected"}), None)),
            ["status.reason"]
        );
        assert_eq!(
            fields(parse(
                &json!({"kind": "received_verified"}),
                Some(&json!("x".repeat(501)))
            )),
            ["note"]
        );
        assert_eq!(
            fields(parse(
                &json!({"kind": "received_verified", "place": "x"}),
                None
            )),
            ["status.place"]
        );
    }
}
