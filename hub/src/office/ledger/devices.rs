//! The ledger per field device: every sequence number from 1 to the highest the office knows of (announced
//! chain head, received or quarantined), each received and verified, missing or set aside. Counted with a
//! handful of grouped queries over the indexes, and for one device compressed into runs of the same state
//! so that a device with thousands of envelopes fits on one screen.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{params, Connection};
use serde::Serialize;

use crate::shared::store::StoreResult;

/// One field device in the ledger overview.
/// A device's status in the ledger: the pairing status, or `unknown` (not in the trusted devices).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // documentation only: the status travels as a string
pub enum LedgerDeviceStatus {
    PendingApproval,
    Approved,
    Revoked,
    Unknown,
}

/// What the office has of a sequence number (or a run of them).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // documentation only: the state travels as a string
pub enum SeqState {
    Received,
    Missing,
    Quarantined,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = LedgerDevice)]
pub struct DeviceRow {
    pub device_id: String,
    /// The name on its key card, if the device is known.
    pub name: Option<String>,
    /// `approved`, `pending_approval`, `revoked`, or `unknown` (not in the trusted devices).
    #[schema(value_type = LedgerDeviceStatus)]
    pub status: String,
    /// The highest seq known: announced head, received or quarantined.
    pub head: u64,
    /// Envelopes received and verified.
    pub received: u64,
    /// Seqs up to the head neither received nor set aside.
    pub missing: u64,
    /// Unresolved quarantine items of the device.
    pub quarantined: u64,
    /// When the latest envelope arrived.
    #[schema(format = DateTime)]
    pub last_received_at: Option<String>,
    /// The head the device itself announced in a manifest, and when.
    pub announced_head: Option<u64>,
    #[schema(format = DateTime)]
    pub announced_at: Option<String>,
    /// Nothing missing and nothing set aside.
    pub complete: bool,
}

#[derive(Default)]
struct Acc {
    name: Option<String>,
    status: Option<String>,
    mode_field: bool,
    announced: Option<(u64, String)>,
    received: u64,
    max_received: u64,
    last_received_at: Option<String>,
    max_quarantined: u64,
    open_items: u64,
    open_not_received: u64,
}

/// Every known field device: trusted field devices, and any device with received or quarantined
/// envelopes or an announced head. Incomplete devices first, then by name.
pub fn overview(c: &Connection) -> StoreResult<Vec<DeviceRow>> {
    let mut acc: BTreeMap<String, Acc> = BTreeMap::new();
    {
        let mut st =
            c.prepare("SELECT device_id, name, status, mode = 'field' FROM trusted_peers")?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, bool>(3)?,
            ))
        })?;
        for row in rows {
            let (id, name, status, field) = row?;
            let a = acc.entry(id).or_default();
            a.name = Some(name);
            a.status = Some(status);
            a.mode_field = field;
        }
    }
    {
        let mut st = c.prepare("SELECT device_id, head_seq, seen_at FROM device_heads")?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            let (id, head, at) = row?;
            acc.entry(id).or_default().announced = Some((head as u64, at));
        }
    }
    {
        let mut st = c.prepare(
            "SELECT device_id, count(*), max(seq), max(received_at) FROM received_envelopes GROUP BY device_id",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })?;
        for row in rows {
            let (id, n, max, at) = row?;
            let a = acc.entry(id).or_default();
            a.received = n as u64;
            a.max_received = max as u64;
            a.last_received_at = at;
        }
    }
    {
        let mut st = c.prepare(
            "SELECT q.device_id, max(q.seq),
                    sum(q.resolved_at IS NULL),
                    count(DISTINCT CASE WHEN q.resolved_at IS NULL AND r.seq IS NULL THEN q.seq END)
             FROM quarantine q
             LEFT JOIN received_envelopes r ON r.device_id = q.device_id AND r.seq = q.seq
             GROUP BY q.device_id",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        for row in rows {
            let (id, max, open, open_nr) = row?;
            let a = acc.entry(id).or_default();
            a.max_quarantined = max as u64;
            a.open_items = open as u64;
            a.open_not_received = open_nr as u64;
        }
    }
    let mut out: Vec<DeviceRow> = acc
        .into_iter()
        .filter(|(_, a)| {
            a.mode_field || a.received > 0 || a.max_quarantined > 0 || a.announced.is_some()
        })
        .map(|(id, a)| {
            let head = a
                .announced
                .as_ref()
                .map_or(0, |h| h.0)
                .max(a.max_received)
                .max(a.max_quarantined);
            let missing = head.saturating_sub(a.received + a.open_not_received);
            DeviceRow {
                device_id: id,
                name: a.name,
                status: a.status.unwrap_or_else(|| "unknown".into()),
                head,
                received: a.received,
                missing,
                quarantined: a.open_items,
                last_received_at: a.last_received_at,
                announced_head: a.announced.as_ref().map(|h| h.0),
                announced_at: a.announced.map(|h| h.1),
                complete: missing == 0 && a.open_items == 0,
            }
        })
        .collect();
    out.sort_by(|x, y| {
        (x.complete, x.name.as_deref().unwrap_or("~"), &x.device_id).cmp(&(
            y.complete,
            y.name.as_deref().unwrap_or("~"),
            &y.device_id,
        ))
    });
    Ok(out)
}

/// One device's row of the overview, if the office knows of it.
pub fn device(c: &Connection, device_id: &str) -> StoreResult<Option<DeviceRow>> {
    Ok(overview(c)?.into_iter().find(|d| d.device_id == device_id))
}

/// A run of consecutive seqs in the same state (and, for missing ones, the same announced session; for
/// set-aside ones, the same reason).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Run {
    /// `received`, `missing` or `quarantined`.
    #[schema(value_type = SeqState)]
    pub state: &'static str,
    pub from: u64,
    pub to: u64,
    pub count: u64,
    /// Missing: the session the manifests announced these seqs in.
    pub session_id: Option<String>,
    pub hamlet: Option<String>,
    #[schema(format = Date)]
    pub date: Option<String>,
    /// Missing: the procedures announced, with counts.
    pub procedures: BTreeMap<String, u64>,
    /// Quarantined: the check code, its plain explanation and the first item's id.
    pub reason: Option<String>,
    pub explain_vi: Option<String>,
    pub explain_en: Option<String>,
    pub quarantine_id: Option<i64>,
}

impl Run {
    fn new(state: &'static str, seq: u64) -> Run {
        Run {
            state,
            from: seq,
            to: seq,
            count: 1,
            session_id: None,
            hamlet: None,
            date: None,
            procedures: BTreeMap::new(),
            reason: None,
            explain_vi: None,
            explain_en: None,
            quarantine_id: None,
        }
    }
}

/// One seq of the page of individual rows.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct SeqRow {
    pub seq: u64,
    #[schema(value_type = SeqState)]
    pub state: &'static str,
    pub dossier_id: Option<String>,
    pub procedure_id: Option<String>,
    pub receipt_code: Option<String>,
    #[schema(format = DateTime)]
    pub received_at: Option<String>,
    pub session_id: Option<String>,
    pub hamlet: Option<String>,
    pub reason: Option<String>,
    pub explain_vi: Option<String>,
    pub explain_en: Option<String>,
    pub quarantine_id: Option<i64>,
}

/// A device's ledger: its overview row, the runs over 1..=head, and the rows of `from..from+limit`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeviceLedger {
    pub device: DeviceRow,
    pub runs: Vec<Run>,
    pub from: u64,
    pub limit: u64,
    pub rows: Vec<SeqRow>,
    /// The `from` of the next page, if any.
    pub next_from: Option<u64>,
}

/// A set-aside envelope: the first unresolved item of its seq.
#[derive(Debug, Clone)]
struct Held {
    id: i64,
    reason: String,
}

/// Where an announced seq belongs.
#[derive(Debug, Clone)]
struct Announced {
    session_id: String,
    procedure_id: String,
    hamlet: Option<String>,
    date: Option<String>,
}

/// Plain-language explanation (Vietnamese, English) of a quarantine check code.
pub fn explain(reason: &str) -> (&'static str, &'static str) {
    match reason {
        "equivocation" => (
            "CẢNH BÁO: hai hồ sơ khác nhau cùng một số. Không xử lý trước khi kiểm tra thiết bị với đội.",
            "ALARM: two different dossiers with the same number. Do not process either before checking the device with the team.",
        ),
        "device_revoked" => (
            "Văn phòng đã thu hồi thiết bị này từ một số nhỏ hơn hoặc bằng số này (máy bị báo mất hoặc bị lấy cắp): hồ sơ có thể bị làm giả. Không xử lý; hãy đối chiếu với đội.",
            "The office revoked this device from this number or a lower one (reported lost or stolen): the dossier may be forged. Do not process it; check with the team.",
        ),
        "envelope_signature" | "dossier_signature" => (
            "Chữ ký không hợp lệ: hồ sơ có thể đã bị sửa trên đường gửi. Nhờ đội gửi lại.",
            "The signature is not valid: the dossier may have been altered on the way. Ask the team to send it again.",
        ),
        "payload_hash" | "blob_hash" | "attachment_hash" => (
            "Nội dung hoặc ảnh bị hỏng hay bị sửa (không khớp dấu vân tay). Nhờ đội gửi lại.",
            "The contents or a photo were damaged or altered (they do not match their fingerprint). Ask the team to send it again.",
        ),
        "blob_missing" => (
            "Một ảnh của hồ sơ chưa đến. Nhờ đội gửi lại.",
            "A photo of the dossier did not arrive. Ask the team to send it again.",
        ),
        "decrypt" => (
            "Không mở được bằng khóa của văn phòng này: thiết bị có thể ghép nối với văn phòng khác.",
            "It cannot be opened with this office's key: the device may be paired with another office.",
        ),
        "manifest_mismatch" | "seq_mismatch" | "format" | "envelope_format" => (
            "Hồ sơ bị hỏng hoặc không khớp danh sách đã ký. Nhờ đội xuất lại tệp.",
            "The dossier is damaged or does not match the signed list. Ask the team for a new export.",
        ),
        "device_mismatch" | "chain" | "unexpected_envelope" | "replay" => (
            "Hồ sơ không khớp với thiết bị hoặc các hồ sơ đã nhận. Kiểm tra với đội trước khi xử lý.",
            "The dossier does not fit the device or the dossiers already received. Check with the team before processing it.",
        ),
        _ => (
            "Hồ sơ không qua được một bước kiểm tra. Kiểm tra với đội.",
            "The dossier failed a check. Check with the team.",
        ),
    }
}

/// Most rows in one page of a device ledger.
pub const MAX_PAGE: u64 = 500;

/// The ledger of `device_id` (None if unknown): runs over every seq, and the rows from `from`.
pub fn ledger(
    c: &Connection,
    device_id: &str,
    from: u64,
    limit: u64,
) -> StoreResult<Option<DeviceLedger>> {
    let Some(device) = device(c, device_id)? else {
        return Ok(None);
    };
    let head = device.head;
    let from = from.max(1);
    let limit = limit.clamp(1, MAX_PAGE);

    // Received seqs as islands of consecutive numbers (no row per seq leaves SQLite).
    let mut islands: Vec<(u64, u64)> = Vec::new();
    {
        let mut st = c.prepare(
            "SELECT min(seq), max(seq) FROM (
                 SELECT seq, seq - row_number() OVER (ORDER BY seq) AS g
                 FROM received_envelopes WHERE device_id = ?1)
             GROUP BY g ORDER BY 1",
        )?;
        let rows = st.query_map([device_id], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
        })?;
        for row in rows {
            islands.push(row?);
        }
    }
    // Open quarantine items of seqs not received (bounded by what the device sent badly).
    let mut held: BTreeMap<u64, Held> = BTreeMap::new();
    {
        let mut st = c.prepare(
            "SELECT q.seq, min(q.id), q.reason FROM quarantine q
             WHERE q.device_id = ?1 AND q.resolved_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM received_envelopes r WHERE r.device_id = q.device_id AND r.seq = q.seq)
             GROUP BY q.seq ORDER BY q.seq",
        )?;
        let rows = st.query_map([device_id], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                Held {
                    id: r.get(1)?,
                    reason: r.get(2)?,
                },
            ))
        })?;
        for row in rows {
            let (seq, h) = row?;
            held.insert(seq, h);
        }
    }
    // Announced seqs not received: the session each gap belongs to.
    let mut announced: HashMap<u64, Announced> = HashMap::new();
    {
        let mut st = c.prepare(
            "SELECT e.seq, e.session_id, e.procedure_id, s.hamlet, s.date FROM session_envelopes e
             LEFT JOIN session_summaries s ON s.device_id = e.device_id AND s.session_id = e.session_id
             WHERE e.device_id = ?1
               AND NOT EXISTS (SELECT 1 FROM received_envelopes r WHERE r.device_id = e.device_id AND r.seq = e.seq)",
        )?;
        let rows = st.query_map([device_id], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                Announced {
                    session_id: r.get(1)?,
                    procedure_id: r.get(2)?,
                    hamlet: r.get(3)?,
                    date: r.get(4)?,
                },
            ))
        })?;
        for row in rows {
            let (seq, a) = row?;
            announced.insert(seq, a);
        }
    }

    let runs = build_runs(head, &islands, &held, &announced);
    let rows = page_rows(c, device_id, from, limit, head, &held, &announced)?;
    let last = from.saturating_add(limit - 1);
    Ok(Some(DeviceLedger {
        device,
        runs,
        from,
        limit,
        rows,
        next_from: (last < head).then_some(last + 1),
    }))
}

/// Runs over 1..=head from the received islands, the set-aside seqs and the announced gaps.
fn build_runs(
    head: u64,
    islands: &[(u64, u64)],
    held: &BTreeMap<u64, Held>,
    announced: &HashMap<u64, Announced>,
) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    let mut next = 1u64;
    let gap = |runs: &mut Vec<Run>, a: u64, b: u64| {
        for seq in a..=b {
            let mut run = if let Some(h) = held.get(&seq) {
                let (vi, en) = explain(&h.reason);
                let mut r = Run::new("quarantined", seq);
                r.reason = Some(h.reason.clone());
                r.explain_vi = Some(vi.into());
                r.explain_en = Some(en.into());
                r.quarantine_id = Some(h.id);
                r
            } else {
                let mut r = Run::new("missing", seq);
                if let Some(a) = announced.get(&seq) {
                    r.session_id = Some(a.session_id.clone());
                    r.hamlet = a.hamlet.clone();
                    r.date = a.date.clone();
                    r.procedures.insert(a.procedure_id.clone(), 1);
                }
                r
            };
            if let Some(last) = runs.last_mut() {
                if last.state == run.state
                    && last.to + 1 == seq
                    && last.session_id == run.session_id
                    && last.reason == run.reason
                {
                    last.to = seq;
                    last.count += 1;
                    for (p, n) in std::mem::take(&mut run.procedures) {
                        *last.procedures.entry(p).or_default() += n;
                    }
                    continue;
                }
            }
            runs.push(run);
        }
    };
    for &(a, b) in islands {
        if a > next {
            gap(&mut runs, next, a - 1);
        }
        let mut r = Run::new("received", a);
        r.to = b;
        r.count = b - a + 1;
        runs.push(r);
        next = b + 1;
    }
    if next <= head {
        gap(&mut runs, next, head);
    }
    runs
}

/// The individual rows of seqs `from..from+limit` (capped at the head), with three range queries.
fn page_rows(
    c: &Connection,
    device_id: &str,
    from: u64,
    limit: u64,
    head: u64,
    held: &BTreeMap<u64, Held>,
    announced: &HashMap<u64, Announced>,
) -> StoreResult<Vec<SeqRow>> {
    if from > head {
        return Ok(Vec::new());
    }
    let to = head.min(from + limit - 1);
    let mut received: HashMap<u64, SeqRow> = HashMap::new();
    let mut st = c.prepare(
        "SELECT r.seq, r.dossier_id, d.procedure_id, d.receipt_code, r.received_at, d.session_id, s.hamlet
         FROM received_envelopes r
         LEFT JOIN received_dossiers d ON d.dossier_id = r.dossier_id
         LEFT JOIN session_summaries s ON s.device_id = r.device_id AND s.session_id = d.session_id
         WHERE r.device_id = ?1 AND r.seq BETWEEN ?2 AND ?3",
    )?;
    let rows = st.query_map(params![device_id, from as i64, to as i64], |r| {
        Ok(SeqRow {
            seq: r.get::<_, i64>(0)? as u64,
            state: "received",
            dossier_id: r.get(1)?,
            procedure_id: r.get(2)?,
            receipt_code: r.get(3)?,
            received_at: r.get(4)?,
            session_id: r.get(5)?,
            hamlet: r.get(6)?,
            reason: None,
            explain_vi: None,
            explain_en: None,
            quarantine_id: None,
        })
    })?;
    for row in rows {
        let row = row?;
        received.insert(row.seq, row);
    }
    let mut out = Vec::with_capacity((to - from + 1) as usize);
    for seq in from..=to {
        if let Some(r) = received.remove(&seq) {
            out.push(r);
            continue;
        }
        let mut row = SeqRow {
            seq,
            state: "missing",
            dossier_id: None,
            procedure_id: None,
            receipt_code: None,
            received_at: None,
            session_id: None,
            hamlet: None,
            reason: None,
            explain_vi: None,
            explain_en: None,
            quarantine_id: None,
        };
        if let Some(h) = held.get(&seq) {
            let (vi, en) = explain(&h.reason);
            row.state = "quarantined";
            row.reason = Some(h.reason.clone());
            row.explain_vi = Some(vi.into());
            row.explain_en = Some(en.into());
            row.quarantine_id = Some(h.id);
        }
        if let Some(a) = announced.get(&seq) {
            row.session_id = Some(a.session_id.clone());
            row.hamlet = a.hamlet.clone();
            row.procedure_id = Some(a.procedure_id.clone());
        }
        out.push(row);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(c: &Connection, id: &str, name: &str) {
        c.execute(
            "INSERT INTO trusted_peers(device_id, mode, name, sign_pub, age_recipient, card, trusted_at)
             VALUES (?1, 'field', ?2, 'x', 'x', 'x', '2026-01-01T00:00:00Z')",
            params![id, name],
        )
        .unwrap();
    }

    fn receive(c: &Connection, dev: &str, seq: u64, session: Option<&str>) {
        let did = format!("{dev}-{seq}");
        c.execute(
            "INSERT INTO received_envelopes(device_id, seq, hash, prev, header, signature, dossier_id, batch_id, received_at)
             VALUES (?1, ?2, 'h', 'p', x'00', 's', ?3, 'b', ?4)",
            params![dev, seq as i64, did, format!("2026-03-01T00:00:{:02}Z", seq % 60)],
        )
        .unwrap();
        c.execute(
            "INSERT INTO received_dossiers(dossier_id, device_id, seq, procedure_id, procedure_version, receipt_code,
                 title, fields_json, signed_dossier, sealed_at, received_at, checks_json, session_id)
             VALUES (?1, ?2, ?3, 'marital-status-certificate', 1, 'RC', 't', '{}', x'00',
                 '2026-03-01T00:00:00Z', '2026-03-01T00:00:00Z', '[]', ?4)",
            params![did, dev, seq as i64, session],
        )
        .unwrap();
    }

    fn quarantine(c: &Connection, dev: &str, seq: u64, reason: &str) {
        c.execute(
            "INSERT INTO quarantine(device_id, seq, hash, reason, detail, via, raised_at)
             VALUES (?1, ?2, 'bad', ?3, 'd', 'file', '2026-03-01T00:00:00Z')",
            params![dev, seq as i64, reason],
        )
        .unwrap();
    }

    fn announce(
        c: &Connection,
        dev: &str,
        session: &str,
        hamlet: &str,
        seqs: std::ops::RangeInclusive<u64>,
        head: u64,
    ) {
        c.execute(
            "INSERT INTO session_summaries(device_id, session_id, hamlet, date, summary_json, batch_id, as_of, received_at)
             VALUES (?1, ?2, ?3, '2026-03-01', '{}', 'b', 'x', 'x')",
            params![dev, session, hamlet],
        )
        .unwrap();
        for s in seqs {
            c.execute(
                "INSERT INTO session_envelopes(device_id, seq, session_id, procedure_id, disposition)
                 VALUES (?1, ?2, ?3, 'marital-status-certificate', 'new')",
                params![dev, s as i64, session],
            )
            .unwrap();
        }
        c.execute(
            "INSERT INTO device_heads(device_id, head_seq, head_hash, batch_id, seen_at) VALUES (?1, ?2, 'h', 'b', 'x')
             ON CONFLICT(device_id) DO UPDATE SET head_seq = excluded.head_seq",
            params![dev, head as i64],
        )
        .unwrap();
    }

    #[test]
    fn gaps_are_runs_named_by_their_session_and_quarantine_is_set_aside() {
        let c = crate::shared::store::open_memory().unwrap();
        peer(&c, "dev-a", "Máy A");
        peer(&c, "dev-b", "Máy B");
        for s in (1..=10).chain(16..=18).chain(20..=20) {
            receive(&c, "dev-a", s, Some("sess-1"));
        }
        announce(&c, "dev-a", "sess-1", "Thôn Bù Lư", 11..=15, 22);
        quarantine(&c, "dev-a", 19, "payload_hash");
        for s in 1..=3 {
            receive(&c, "dev-b", s, None);
        }
        let all = overview(&c).unwrap();
        assert_eq!(all.len(), 2);
        let a = &all[0];
        assert_eq!(a.device_id, "dev-a", "incomplete first");
        assert_eq!(
            (a.head, a.received, a.missing, a.quarantined),
            (22, 14, 7, 1)
        );
        assert!(!a.complete);
        assert!(all[1].complete && all[1].head == 3);

        let l = ledger(&c, "dev-a", 1, 500).unwrap().unwrap();
        let shape: Vec<(&str, u64, u64, Option<&str>)> = l
            .runs
            .iter()
            .map(|r| (r.state, r.from, r.to, r.session_id.as_deref()))
            .collect();
        assert_eq!(
            shape,
            vec![
                ("received", 1, 10, None),
                ("missing", 11, 15, Some("sess-1")),
                ("received", 16, 18, None),
                ("quarantined", 19, 19, None),
                ("received", 20, 20, None),
                ("missing", 21, 22, None),
            ]
        );
        assert_eq!(l.runs[1].hamlet.as_deref(), Some("Thôn Bù Lư"));
        assert_eq!(l.runs[1].procedures["marital-status-certificate"], 5);
        assert_eq!(l.runs[3].reason.as_deref(), Some("payload_hash"));
        assert!(l.runs[3].explain_vi.as_deref().unwrap().contains("gửi lại"));
        assert_eq!(l.rows.len(), 22);
        assert_eq!(l.rows[0].dossier_id.as_deref(), Some("dev-a-1"));
        assert_eq!(l.rows[12].state, "missing");
        assert_eq!(l.rows[12].session_id.as_deref(), Some("sess-1"));
        assert_eq!(l.rows[18].state, "quarantined");
        assert_eq!(l.next_from, None);

        let p = ledger(&c, "dev-a", 5, 10).unwrap().unwrap();
        assert_eq!(p.rows.first().unwrap().seq, 5);
        assert_eq!(p.rows.len(), 10);
        assert_eq!(p.next_from, Some(15));

        // The good copy arrives and the clerk resolves the item: complete.
        for s in (11..=15).chain(19..=19).chain(21..=22) {
            receive(&c, "dev-a", s, Some("sess-1"));
        }
        c.execute("UPDATE quarantine SET resolved_at = 'x'", [])
            .unwrap();
        let a = device(&c, "dev-a").unwrap().unwrap();
        assert!(a.complete, "{a:?}");
        let l = ledger(&c, "dev-a", 1, 500).unwrap().unwrap();
        assert_eq!(l.runs.len(), 1);
        assert_eq!((l.runs[0].from, l.runs[0].to), (1, 22));
        assert!(ledger(&c, "nobody", 1, 10).unwrap().is_none());
    }
}
