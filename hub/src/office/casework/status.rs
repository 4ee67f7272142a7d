//! Status changes: the allowed transitions, the per-status form (papers and message, result numbers, pickup
//! place, reason) with one VI/EN error per field, and the change itself — dossier_status row, audit entry
//! and (where the villager should know) signed status news, all in one write transaction.

use std::collections::BTreeMap;

use protocol::{NewsStatus, ResultNumber, Sex, MAX_NEWS_LIST, MAX_NEWS_TEXT_CHARS, MAX_NOTE_CHARS};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Deserialize;
use serde_json::{json, Value};
use unicode_normalization::UnicodeNormalization;

use super::deadline;
use super::store::{self as cstore};
use crate::shared::audit::{self, Actor, Event};
use crate::shared::clock;
use crate::shared::error::FieldDetail;
use crate::shared::store::{write_tx, StoreError, StoreResult};

/// The statuses reachable from `from`.
pub fn next_statuses(from: &str) -> &'static [&'static str] {
    match from {
        "received" => &["in_progress", "needs_papers", "registered", "rejected"],
        "in_progress" => &["needs_papers", "registered", "rejected"],
        "needs_papers" => &["in_progress", "registered", "rejected"],
        "registered" => &["ready_for_pickup", "handed_over"],
        "ready_for_pickup" => &["handed_over"],
        _ => &[],
    }
}

/// A dossier's casework status, for the OpenAPI document (documentation only, in `shared::api_doc` so
/// that the ledger and the received dossiers name it without importing casework; a test below checks it
/// against `casework::store::STATUSES`).
pub use crate::shared::api_doc::protocol::CaseworkStatus;

/// Where and when a result can be picked up.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documentation only: stored and sent as JSON
pub struct Pickup {
    place: String,
    #[schema(format = Date)]
    from_date: String,
    #[schema(format = Date)]
    until_date: Option<String>,
}

/// The result numbers a clerk gives: a list of `{kind, number}` or an object `{kind: number}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // documentation only: read as free JSON for per-field errors
pub enum ResultNumbersIn {
    List(Vec<crate::shared::api_doc::protocol::ResultNumber>),
    Map(std::collections::BTreeMap<String, String>),
}

/// What a clerk sends to change a status (`POST /api/v1/office/dossiers/{id}/status`).
/// The fields each target status needs are checked by `change` (one error per field).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    /// The new status (`in_progress`, `needs_papers`, `registered`, `ready_for_pickup`, `handed_over`,
    /// `rejected`), reachable from the current one; the current one with `extended` only extends.
    #[schema(value_type = CaseworkStatus)]
    pub to: String,
    /// `needs_papers`, `ready_for_pickup`: the papers to bring (a list of strings).
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub papers: Option<Value>,
    /// A message for the villager (status news).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub message: Option<Value>,
    /// `registered`: the register's numbers (e.g. book and entry).
    #[serde(default)]
    #[schema(value_type = Option<ResultNumbersIn>)]
    pub result_numbers: Option<Value>,
    /// `ready_for_pickup`: where to collect the result.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub place: Option<Value>,
    /// `ready_for_pickup`: from which day (`YYYY-MM-DD`).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub from_date: Option<Value>,
    /// `ready_for_pickup`: until which day (`YYYY-MM-DD`).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub until_date: Option<Value>,
    /// `rejected`, or with `extended`: why.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub reason: Option<Value>,
    /// Apply the procedure's extended limit (verification needed); needs `reason`.
    #[serde(default)]
    pub extended: Option<bool>,
    /// The `version` the clerk saw; a change made meanwhile by someone else answers 409.
    #[serde(default)]
    pub expected_version: Option<i64>,
}

/// Why a change was refused.
#[derive(Debug)]
pub enum ChangeError {
    NotFound,
    /// The transition is not allowed from the current status.
    Transition {
        from: String,
        to: String,
    },
    /// Someone changed the dossier since `expected_version`.
    Stale {
        current: i64,
    },
    Invalid(Vec<FieldDetail>),
    Store(StoreError),
}

impl From<StoreError> for ChangeError {
    fn from(e: StoreError) -> Self {
        ChangeError::Store(e)
    }
}

impl From<rusqlite::Error> for ChangeError {
    fn from(e: rusqlite::Error) -> Self {
        ChangeError::Store(StoreError::classify(e))
    }
}

fn detail(field: &str, code: &str, vi: impl Into<String>, en: impl Into<String>) -> FieldDetail {
    FieldDetail {
        field: field.to_string(),
        code: code.to_string(),
        message_vi: vi.into(),
        message_en: en.into(),
    }
}

/// A typed text: trimmed, NFC, 1..=max characters, no control characters but line breaks when `multiline`.
fn text(
    v: Option<&Value>,
    field: &str,
    max: usize,
    multiline: bool,
    errs: &mut Vec<FieldDetail>,
) -> Option<String> {
    let s = match v {
        Some(Value::String(s)) => s.replace("\r\n", "\n").trim().nfc().collect::<String>(),
        Some(Value::Null) | None => String::new(),
        Some(_) => {
            errs.push(detail(
                field,
                "not_text",
                "Ô này phải là chữ.",
                "This must be text.",
            ));
            return None;
        }
    };
    if s.is_empty() {
        errs.push(detail(
            field,
            "required",
            "Hãy điền ô này.",
            "Please fill this in.",
        ));
        return None;
    }
    if s.chars().count() > max {
        errs.push(detail(
            field,
            "too_long",
            format!("Tối đa {max} ký tự."),
            format!("At most {max} characters."),
        ));
        return None;
    }
    if s.chars()
        .any(|c| c.is_control() && !(multiline && c == '\n'))
    {
        errs.push(detail(
            field,
            "control_chars",
            "Có ký tự điều khiển không hợp lệ.",
            "Holds control characters.",
        ));
        return None;
    }
    Some(s)
}

fn optional_text(
    v: Option<&Value>,
    field: &str,
    max: usize,
    errs: &mut Vec<FieldDetail>,
) -> Option<String> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        v => text(v, field, max, true, errs),
    }
}

fn date(v: Option<&Value>, field: &str, errs: &mut Vec<FieldDetail>) -> Option<String> {
    let s = text(v, field, 10, false, errs)?;
    if deadline::parse_date(&s).is_none() {
        errs.push(detail(
            field,
            "bad_date",
            "Ngày không hợp lệ (năm-tháng-ngày, ví dụ 2026-11-30).",
            "Not a valid date (year-month-day, e.g. 2026-11-30).",
        ));
        return None;
    }
    Some(s)
}

/// Papers: a list of 1..=MAX_NEWS_LIST texts, or one text with one paper per line.
fn papers(v: Option<&Value>, errs: &mut Vec<FieldDetail>) -> Option<Vec<String>> {
    let items: Vec<Value> = match v {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::String(s)) => s
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| Value::String(l.to_owned()))
            .collect(),
        _ => Vec::new(),
    };
    if items.is_empty() {
        errs.push(detail(
            "papers",
            "required",
            "Hãy ghi ít nhất một giấy tờ cần bổ sung.",
            "Name at least one paper to bring.",
        ));
        return None;
    }
    if items.len() > MAX_NEWS_LIST {
        errs.push(detail(
            "papers",
            "too_many",
            format!("Tối đa {MAX_NEWS_LIST} giấy tờ."),
            format!("At most {MAX_NEWS_LIST} papers."),
        ));
        return None;
    }
    let out: Vec<Option<String>> = items
        .iter()
        .enumerate()
        .map(|(i, p)| {
            text(
                Some(p),
                &format!("papers[{i}]"),
                MAX_NEWS_TEXT_CHARS,
                false,
                errs,
            )
        })
        .collect();
    out.into_iter().collect()
}

/// The result numbers a registration must record for a dossier of procedure version `procedure_id`
/// v`version`: the `results` of its package (kind, VI label, EN label); none when the package is unknown.
pub fn required_numbers(procedure_id: &str, version: u32) -> Vec<(String, String, String)> {
    let r = protocol::ProcedureRef {
        id: procedure_id.to_owned(),
        version,
    };
    crate::shared::procedures::package(&r)
        .map(|p| {
            p.results
                .iter()
                .map(|x| (x.kind.clone(), x.label.vi.clone(), x.label.en.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn numbers(
    v: Option<&Value>,
    procedure_id: &str,
    version: u32,
    fields: &BTreeMap<String, String>,
    errs: &mut Vec<FieldDetail>,
) -> Option<Vec<ResultNumber>> {
    // Accept either [{kind, number}] or {kind: number}.
    let mut given: BTreeMap<String, Value> = BTreeMap::new();
    match v {
        Some(Value::Array(a)) => {
            for (i, r) in a.iter().enumerate() {
                match (r.get("kind").and_then(Value::as_str), r.get("number")) {
                    (Some(k), Some(n)) => {
                        given.insert(k.to_owned(), n.clone());
                    }
                    _ => errs.push(detail(
                        &format!("result_numbers[{i}]"),
                        "bad_entry",
                        "Mỗi số cần loại và số.",
                        "Each entry needs a kind and a number.",
                    )),
                }
            }
        }
        Some(Value::Object(o)) => {
            for (k, n) in o {
                given.insert(k.clone(), n.clone());
            }
        }
        _ => {}
    }
    let required = required_numbers(procedure_id, version);
    for k in given.keys() {
        if !required.iter().any(|(r, _, _)| r == k) {
            errs.push(detail(
                &format!("result_numbers.{k}"),
                "unknown_field",
                "Loại số này không thuộc thủ tục.",
                "This kind of number does not belong to the procedure.",
            ));
        }
    }
    let mut out = Vec::new();
    let mut ok = true;
    for (kind, vi, en) in &required {
        let field = format!("result_numbers.{kind}");
        let before = errs.len();
        let Some(n) = text(given.get(kind), &field, MAX_NEWS_TEXT_CHARS, false, errs) else {
            if let Some(e) = errs.get_mut(before) {
                e.message_vi = format!("{vi}: {}", e.message_vi);
                e.message_en = format!("{en}: {}", e.message_en);
            }
            ok = false;
            continue;
        };
        match kind.as_str() {
            "pin" => {
                let pin = match protocol::Pin::parse(&n) {
                    Ok(p) => p,
                    Err(_) => {
                        errs.push(detail(
                            &field,
                            "bad_pin",
                            "Số định danh cá nhân gồm đúng 12 chữ số, bắt đầu bằng mã tỉnh.",
                            "A personal identification number is exactly 12 digits opening with a province code.",
                        ));
                        ok = false;
                        continue;
                    }
                };
                let sex = fields.get("child.sex").and_then(|s| s.parse::<Sex>().ok());
                let year = fields
                    .get("child.date_of_birth")
                    .and_then(|s| deadline::parse_date(s))
                    .map(|d| d.year());
                if let (Some(sex), Some(year)) = (sex, year) {
                    if !pin.consistent_with(sex, year) {
                        errs.push(detail(
                            &field,
                            "pin_mismatch",
                            "Chữ số thứ 4–6 của số định danh không khớp giới tính và năm sinh của trẻ.",
                            "Digits 4–6 of the number do not match the child's sex and year of birth.",
                        ));
                        ok = false;
                        continue;
                    }
                }
            }
            "health_insurance" => {
                let ten = n.len() == 10 && n.bytes().all(|b| b.is_ascii_digit());
                let old = n.len() == 15
                    && n[..2].bytes().all(|b| b.is_ascii_uppercase())
                    && n[2..].bytes().all(|b| b.is_ascii_digit());
                if !(ten || old) {
                    errs.push(detail(
                        &field,
                        "bad_insurance_number",
                        "Mã số BHXH gồm 10 chữ số (hoặc số thẻ cũ 15 ký tự, ví dụ TE1797912345678).",
                        "The social-insurance number is 10 digits (or the old 15-character card code, e.g. TE1797912345678).",
                    ));
                    ok = false;
                    continue;
                }
            }
            _ => {}
        }
        out.push(ResultNumber {
            kind: (*kind).to_owned(),
            number: n,
        });
    }
    ok.then_some(out)
}

/// The dossier's current standing as shown and used for concurrency.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Standing {
    #[schema(value_type = CaseworkStatus)]
    pub status: String,
    /// The id of the last status-changing audit entry (0 when none): send it back as `expected_version`.
    pub version: i64,
    #[schema(format = Date)]
    pub received_on: String,
    /// The legal deadline (working days, holidays skipped).
    #[schema(format = Date)]
    pub due_on: String,
    pub extended: bool,
    #[schema(value_type = Option<Vec<String>>)]
    pub papers: Option<Value>,
    pub message: Option<String>,
    #[schema(value_type = Option<Vec<crate::shared::api_doc::protocol::ResultNumber>>)]
    pub result_numbers: Option<Value>,
    pub reason: Option<String>,
    #[schema(value_type = Option<Pickup>)]
    pub pickup: Option<Value>,
    #[schema(format = DateTime)]
    pub updated_at: Option<String>,
    #[schema(format = DateTime)]
    pub closed_at: Option<String>,
    /// Where it can go next.
    #[schema(value_type = Vec<CaseworkStatus>)]
    pub next: Vec<&'static str>,
}

/// The version of a dossier: the last status-changing audit id.
pub fn version_of(c: &Connection, dossier_id: &str) -> StoreResult<i64> {
    Ok(c.query_row(
        "SELECT coalesce(max(id), 0) FROM audit_log WHERE dossier_id = ?1
           AND action IN ('status_changed', 'deadline_extended')",
        [dossier_id],
        |r| r.get(0),
    )?)
}

struct Base {
    procedure_id: String,
    version: i64,
    /// The sealing time: the receipt the legal clock counts from (`shared::deadline`).
    sealed_at: String,
    fields: BTreeMap<String, String>,
}

fn base(c: &Connection, id: &str) -> StoreResult<Option<Base>> {
    let row: Option<(String, i64, String, String)> = c
        .query_row(
            "SELECT procedure_id, procedure_version, sealed_at, fields_json FROM received_dossiers
             WHERE dossier_id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((procedure_id, version, sealed_at, fields)) = row else {
        return Ok(None);
    };
    Ok(Some(Base {
        procedure_id,
        version,
        sealed_at,
        fields: serde_json::from_str(&fields).map_err(|e| StoreError::Corrupt(e.to_string()))?,
    }))
}

/// The standing of a dossier; computes (without storing) received_on / due_on when it has no row yet.
pub fn standing(c: &Connection, id: &str) -> StoreResult<Option<Standing>> {
    let Some(b) = base(c, id)? else {
        return Ok(None);
    };
    let version = version_of(c, id)?;
    type Row = (
        String,
        String,
        String,
        bool,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        Option<String>,
    );
    let row: Option<Row> = c
        .query_row(
            "SELECT status, received_on, due_on, extended, papers_json, message, result_json, reason,
                    pickup_json, updated_at, closed_at
             FROM dossier_status WHERE dossier_id = ?1",
            [id],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                ))
            },
        )
        .optional()?;
    let js = |s: Option<String>| s.and_then(|s| serde_json::from_str::<Value>(&s).ok());
    Ok(Some(match row {
        Some((status, on, due, ext, papers, message, result, reason, pickup, updated, closed)) => {
            Standing {
                next: next_statuses(&status).to_vec(),
                status,
                version,
                received_on: on,
                due_on: due,
                extended: ext,
                papers: js(papers),
                message,
                result_numbers: js(result),
                reason,
                pickup: js(pickup),
                updated_at: Some(updated),
                closed_at: closed,
            }
        }
        None => {
            let rules = cstore::rules(c)?;
            let hol = &rules.calendar;
            let on = cstore::received_on_of(&b.sealed_at, &b.procedure_id, hol);
            let due = deadline::due_on(
                on,
                cstore::limit_days(&rules, &b.procedure_id, b.version, false),
                hol,
            );
            Standing {
                status: "received".into(),
                version,
                received_on: deadline::fmt_date(on),
                due_on: deadline::fmt_date(due),
                extended: false,
                papers: None,
                message: None,
                result_numbers: None,
                reason: None,
                pickup: None,
                updated_at: None,
                closed_at: None,
                next: next_statuses("received").to_vec(),
            }
        }
    }))
}

/// Applies a status change by `actor`, signing news with `key`. One write transaction: the status row, the
/// audit entry and the news (for needs_papers, registered, ready_for_pickup, rejected) commit together.
pub fn change(
    c: &mut Connection,
    key: &protocol::DeviceKey,
    actor: Actor<'_>,
    id: &str,
    body: &StatusBody,
) -> Result<Standing, ChangeError> {
    let tx = write_tx(c)?;
    let Some(b) = base(&tx, id)? else {
        return Err(ChangeError::NotFound);
    };
    let current = standing(&tx, id)?.ok_or(ChangeError::NotFound)?;
    if let Some(expected) = body.expected_version {
        if expected != current.version {
            return Err(ChangeError::Stale {
                current: current.version,
            });
        }
    }
    let to = body.to.as_str();
    if !cstore::STATUSES.contains(&to) {
        return Err(ChangeError::Invalid(vec![detail(
            "to",
            "bad_status",
            "Tình trạng không hợp lệ.",
            "Not a valid status.",
        )]));
    }
    // Extending the deadline without changing status: `to` equal to the current status with `extended`.
    let extend_only = to == current.status && body.extended == Some(true);
    if !extend_only && !next_statuses(&current.status).contains(&to) {
        return Err(ChangeError::Transition {
            from: current.status.clone(),
            to: to.to_owned(),
        });
    }

    let mut errs = Vec::new();
    let unexpected = |name: &str, v: &Option<Value>, errs: &mut Vec<FieldDetail>| {
        if v.as_ref()
            .is_some_and(|v| !v.is_null() && v.as_str() != Some(""))
        {
            errs.push(detail(
                name,
                "unknown_field",
                "Ô này không thuộc tình trạng đã chọn.",
                "This field does not belong to the chosen status.",
            ));
        }
    };
    let mut papers_v = None;
    let message: Option<String>;
    let mut result = None;
    let mut reason = None;
    let mut pickup = None;
    let mut news: Option<NewsStatus> = None;
    let wants_extension = body.extended == Some(true) && !current.extended;
    if extend_only || !matches!(to, "needs_papers" | "ready_for_pickup") {
        unexpected("papers", &body.papers, &mut errs);
    }
    if to != "registered" || extend_only {
        unexpected("result_numbers", &body.result_numbers, &mut errs);
    }
    if to != "ready_for_pickup" || extend_only {
        unexpected("place", &body.place, &mut errs);
        unexpected("from_date", &body.from_date, &mut errs);
        unexpected("until_date", &body.until_date, &mut errs);
    }
    if extend_only {
        if current.extended {
            errs.push(detail(
                "extended",
                "already_extended",
                "Thời hạn đã được gia hạn.",
                "The deadline is already extended.",
            ));
        }
        if FINAL.contains(&current.status.as_str()) || current.status == "registered" {
            errs.push(detail(
                "extended",
                "closed",
                "Hồ sơ đã giải quyết; không gia hạn.",
                "The dossier is settled; no extension.",
            ));
        }
        reason = text(
            body.reason.as_ref(),
            "reason",
            MAX_NOTE_CHARS,
            true,
            &mut errs,
        );
        message = optional_text(body.message.as_ref(), "message", MAX_NOTE_CHARS, &mut errs);
    } else {
        match to {
            "needs_papers" => {
                papers_v = papers(body.papers.as_ref(), &mut errs);
                message = text(
                    body.message.as_ref(),
                    "message",
                    MAX_NOTE_CHARS,
                    true,
                    &mut errs,
                );
                if wants_extension {
                    reason = text(
                        body.reason.as_ref(),
                        "reason",
                        MAX_NOTE_CHARS,
                        true,
                        &mut errs,
                    );
                } else {
                    unexpected("reason", &body.reason, &mut errs);
                }
                if let Some(p) = &papers_v {
                    news = Some(NewsStatus::NeedsPapers { papers: p.clone() });
                }
            }
            "registered" => {
                message =
                    optional_text(body.message.as_ref(), "message", MAX_NOTE_CHARS, &mut errs);
                result = numbers(
                    body.result_numbers.as_ref(),
                    &b.procedure_id,
                    u32::try_from(b.version).unwrap_or(0),
                    &b.fields,
                    &mut errs,
                );
                if let Some(r) = &result {
                    news = Some(NewsStatus::Registered {
                        result_numbers: r.clone(),
                    });
                }
            }
            "ready_for_pickup" => {
                message =
                    optional_text(body.message.as_ref(), "message", MAX_NOTE_CHARS, &mut errs);
                let place = text(
                    body.place.as_ref(),
                    "place",
                    MAX_NEWS_TEXT_CHARS,
                    false,
                    &mut errs,
                );
                let from = date(body.from_date.as_ref(), "from_date", &mut errs);
                let until = match body.until_date.as_ref() {
                    None | Some(Value::Null) => Some(None),
                    Some(Value::String(s)) if s.trim().is_empty() => Some(None),
                    v => date(v, "until_date", &mut errs).map(Some),
                };
                if let (Some(place), Some(from_date), Some(until_date)) = (place, from, until) {
                    if until_date
                        .as_deref()
                        .is_some_and(|u| u < from_date.as_str())
                    {
                        errs.push(detail(
                            "until_date",
                            "before_from",
                            "Ngày hết hạn nhận phải sau ngày bắt đầu.",
                            "The last day must not be before the first day.",
                        ));
                    } else {
                        pickup = Some(
                            json!({"place": place, "from_date": from_date, "until_date": until_date}),
                        );
                        news = Some(NewsStatus::ReadyForPickup {
                            place,
                            from_date,
                            until_date,
                        });
                    }
                }
            }
            "rejected" => {
                message =
                    optional_text(body.message.as_ref(), "message", MAX_NOTE_CHARS, &mut errs);
                reason = text(
                    body.reason.as_ref(),
                    "reason",
                    MAX_NOTE_CHARS,
                    true,
                    &mut errs,
                );
                if let Some(r) = &reason {
                    news = Some(NewsStatus::Rejected { reason: r.clone() });
                }
            }
            _ => {
                // in_progress, handed_over: office-internal; a note is allowed.
                message =
                    optional_text(body.message.as_ref(), "message", MAX_NOTE_CHARS, &mut errs);
                if wants_extension {
                    reason = text(
                        body.reason.as_ref(),
                        "reason",
                        MAX_NOTE_CHARS,
                        true,
                        &mut errs,
                    );
                } else {
                    unexpected("reason", &body.reason, &mut errs);
                }
            }
        }
        if body.extended == Some(true) && !matches!(to, "in_progress" | "needs_papers") {
            errs.push(detail(
                "extended",
                "not_here",
                "Chỉ gia hạn khi hồ sơ đang xử lý.",
                "Extend only while the dossier is being worked.",
            ));
        }
    }
    if body.extended == Some(false) && current.extended {
        errs.push(detail(
            "extended",
            "cannot_shorten",
            "Không thể bỏ gia hạn đã ghi.",
            "A recorded extension cannot be withdrawn.",
        ));
    }
    if !errs.is_empty() {
        return Err(ChangeError::Invalid(errs));
    }

    // The row, created with its deadline if missing.
    let now = clock::now_rfc3339();
    let extended = current.extended || wants_extension;
    let rules = cstore::rules(&tx)?;
    let hol = &rules.calendar;
    let on = deadline::parse_date(&current.received_on)
        .unwrap_or_else(|| cstore::received_on_of(&b.sealed_at, &b.procedure_id, hol));
    let due = deadline::fmt_date(deadline::due_on(
        on,
        cstore::limit_days(&rules, &b.procedure_id, b.version, extended),
        hol,
    ));
    tx.execute(
        "INSERT OR IGNORE INTO dossier_status(dossier_id, status, received_on, due_on, updated_at)
         VALUES (?1, 'received', ?2, ?3, ?4)",
        params![id, current.received_on, current.due_on, now],
    )?;
    let closed = FINAL.contains(&to);
    let user = actor.id;
    tx.execute(
        "UPDATE dossier_status SET status = ?2, due_on = ?3, extended = ?4,
            papers_json = coalesce(?5, papers_json), message = coalesce(?6, message),
            result_json = coalesce(?7, result_json), reason = coalesce(?8, reason),
            pickup_json = coalesce(?9, pickup_json), updated_at = ?10, updated_by = ?11,
            registered_at = CASE WHEN ?2 = 'registered' AND registered_at IS NULL THEN ?10 ELSE registered_at END,
            closed_at = CASE WHEN ?12 THEN ?10 ELSE closed_at END
         WHERE dossier_id = ?1",
        params![
            id,
            to,
            due,
            extended,
            papers_v.as_ref().map(|p| json!(p).to_string()),
            message,
            result.as_ref().map(|r| json!(r).to_string()),
            reason.as_ref().filter(|_| to == "rejected"),
            pickup.as_ref().map(Value::to_string),
            now,
            user,
            closed
        ],
    )?;
    if wants_extension {
        audit::append(
            &tx,
            actor,
            &Event {
                dossier_id: Some(id),
                action: "deadline_extended",
                from_status: Some(&current.status),
                to_status: Some(to),
                detail: json!({"reason": reason, "due_on_before": current.due_on, "due_on": due}),
            },
        )?;
    }
    if !extend_only {
        let mut d = serde_json::Map::new();
        if let Some(p) = &papers_v {
            d.insert("papers".into(), json!(p));
        }
        if let Some(m) = &message {
            d.insert("message".into(), json!(m));
        }
        if let Some(r) = &result {
            d.insert("result_numbers".into(), json!(r));
        }
        if let Some(r) = &reason {
            d.insert("reason".into(), json!(r));
        }
        if let Some(p) = &pickup {
            d.insert("pickup".into(), p.clone());
        }
        let published = match news {
            Some(n) => {
                let user_id = actor.id.ok_or_else(|| {
                    ChangeError::Store(StoreError::Corrupt("news needs a signed-in clerk".into()))
                })?;
                let signed = crate::office::news::store::publish_in(
                    &tx,
                    key,
                    id,
                    n,
                    message.clone(),
                    user_id,
                )?
                .ok_or(ChangeError::NotFound)?;
                Some(signed.news.news_id)
            }
            None => None,
        };
        if let Some(n) = published {
            d.insert("news_id".into(), json!(n));
        }
        audit::append(
            &tx,
            actor,
            &Event {
                dossier_id: Some(id),
                action: "status_changed",
                from_status: Some(&current.status),
                to_status: Some(to),
                detail: Value::Object(d),
            },
        )?;
    }
    let out = standing(&tx, id)?.ok_or(ChangeError::NotFound)?;
    tx.commit().map_err(StoreError::classify)?;
    Ok(out)
}

use super::store::FINAL;

#[cfg(test)]
mod doc_tests {
    #[test]
    fn the_documented_statuses_are_the_store_s() {
        use utoipa::PartialSchema;
        let v = serde_json::to_value(super::CaseworkStatus::schema()).unwrap();
        let doc: Vec<&str> = v["enum"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|x| x.as_str())
            .collect();
        assert_eq!(doc, super::cstore::STATUSES);
    }
}
