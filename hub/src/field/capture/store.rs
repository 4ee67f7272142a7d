//! Drafts and draft photos in the store.

use std::collections::BTreeMap;

use protocol::ProcedureRef;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::shared::auth::store::UserOut;
use crate::shared::auth::Role;
use crate::shared::clock;
use crate::shared::store::{StoreError, StoreResult};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AttachmentInfo {
    pub id: String,
    pub role: String,
    /// The stored copy's neutral file name, `<role>-<n>.jpg` (never the name the phone sent).
    pub name: String,
    pub media_type: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Draft {
    pub id: String,
    /// `{"id", "version"}` of the catalogue procedure (see docs/protocol.md).
    #[schema(value_type = crate::shared::api_doc::protocol::ProcedureRef)]
    pub procedure: ProcedureRef,
    pub fields: BTreeMap<String, String>,
    pub attachments: Vec<AttachmentInfo>,
    /// Increases with each save; an update names the version it was typed on.
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    /// `{id, name, role}` of the author.
    pub created_by: UserOut,
    /// The outreach session that was open when the draft was started, if any.
    pub session_id: Option<String>,
}

/// One draft in the drafts list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DraftSummary {
    pub id: String,
    #[schema(value_type = crate::shared::api_doc::protocol::ProcedureRef)]
    pub procedure: ProcedureRef,
    pub title: String,
    pub updated_at: String,
    pub attachments: i64,
    /// The day (YYYY-MM-DD, Vietnam time) retention will delete this untouched draft, once that is
    /// within the warning period ([`DraftRetention::warning_days`]); `null` before.
    #[schema(format = Date)]
    pub deleted_on: Option<String>,
}

/// How long an untouched draft is kept (`hub serve --draft-retention-days`, `--draft-warning-days`).
/// Registered as a part of the hub's state so the drafts list can warn before retention deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DraftRetention {
    /// Days after its last change (typing, a photo) a draft is deleted with its photos.
    pub days: u32,
    /// Days before that the drafts list shows the date it will be deleted on.
    pub warning_days: u32,
}

impl Default for DraftRetention {
    fn default() -> Self {
        Self {
            days: 30,
            warning_days: 5,
        }
    }
}

impl DraftRetention {
    /// The RFC 3339 UTC time before which a draft's last change makes it due for deletion at `now`.
    pub fn cutoff(&self, now: time::OffsetDateTime) -> String {
        rfc3339(now - time::Duration::days(i64::from(self.days)))
    }

    /// Sets [`DraftSummary::deleted_on`] on the drafts due within the warning period at `now`.
    pub fn annotate(&self, drafts: &mut [DraftSummary], now: time::OffsetDateTime) {
        for d in drafts {
            let Some(changed) = clock::unix_of(&d.updated_at) else {
                continue;
            };
            let due = changed + i64::from(self.days) * 86_400;
            let warn_from = due - i64::from(self.warning_days) * 86_400;
            if now.unix_timestamp() >= warn_from {
                let due = clock::rfc3339_of_ms(due.max(now.unix_timestamp()) * 1000);
                d.deleted_on = clock::vn_date_of(&due).map(|day| day.to_string());
            }
        }
    }
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    clock::rfc3339_of_ms((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// What a retention run deleted from capture: drafts and their photos.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub drafts: usize,
    pub photos: usize,
}

/// Deletes, with their photos, the drafts whose last change is before `cutoff` (RFC 3339 UTC).
pub fn purge_untouched(c: &Connection, cutoff: &str) -> StoreResult<Purged> {
    let tx = if c.is_autocommit() {
        Some(c.unchecked_transaction().map_err(StoreError::classify)?)
    } else {
        None
    };
    let photos = c.execute(
        "DELETE FROM draft_attachments
         WHERE draft_id IN (SELECT id FROM drafts WHERE updated_at < ?1)",
        [cutoff],
    )?;
    let drafts = c.execute("DELETE FROM drafts WHERE updated_at < ?1", [cutoff])?;
    if let Some(tx) = tx {
        tx.commit().map_err(StoreError::classify)?;
    }
    Ok(Purged { drafts, photos })
}

/// Outcome of an update with optimistic concurrency.
pub enum Update {
    Saved(Box<Draft>),
    NotFound,
    Conflict { current: i64 },
}

fn parse_fields(json: &str) -> StoreResult<BTreeMap<String, String>> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("draft fields: {e}")))
}

fn fields_json(fields: &BTreeMap<String, String>) -> String {
    serde_json::to_string(fields).unwrap_or_else(|_| "{}".into())
}

use crate::shared::procedures::title_of;

pub fn create(
    c: &Connection,
    procedure: &ProcedureRef,
    fields: &BTreeMap<String, String>,
    user_id: &str,
    idempotency_key: Option<&str>,
) -> StoreResult<Draft> {
    if let Some(k) = idempotency_key {
        let existing: Option<String> = c
            .query_row(
                "SELECT id FROM drafts WHERE idempotency_key = ?1",
                [k],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = existing {
            return get(c, &id)?.ok_or_else(|| StoreError::Corrupt("draft vanished".into()));
        }
    }
    let id = uuid::Uuid::now_v7().to_string();
    let now = clock::now_rfc3339();
    // Every dossier belongs to the session it was started in (none open: captured outside a session).
    let session_id = crate::field::outreach::store::current_session(c)?.map(|s| s.id);
    c.execute(
        "INSERT INTO drafts(id, procedure_id, procedure_version, fields_json, created_by, created_at, updated_at,
                            idempotency_key, session_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8)",
        params![id, procedure.id, procedure.version, fields_json(fields), user_id, now, idempotency_key, session_id],
    )
    .map_err(StoreError::classify)?;
    get(c, &id)?.ok_or_else(|| StoreError::Corrupt("draft vanished".into()))
}

pub fn get(c: &Connection, id: &str) -> StoreResult<Option<Draft>> {
    let row = c
        .query_row(
            "SELECT d.id, d.procedure_id, d.procedure_version, d.fields_json, d.version, d.created_at, d.updated_at,
                    u.id, u.name, u.role, d.session_id
             FROM drafts d JOIN users u ON u.id = d.created_by WHERE d.id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    ProcedureRef { id: r.get(1)?, version: r.get(2)? },
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    UserOut {
                        id: r.get(7)?,
                        name: r.get(8)?,
                        role: Role::parse(&r.get::<_, String>(9)?).unwrap_or(Role::Volunteer),
                    },
                    r.get::<_, Option<String>>(10)?,
                ))
            },
        )
        .optional()?;
    let Some((id, procedure, fj, version, created_at, updated_at, created_by, session_id)) = row
    else {
        return Ok(None);
    };
    let attachments = attachments(c, &id)?;
    Ok(Some(Draft {
        id,
        procedure,
        fields: parse_fields(&fj)?,
        attachments,
        version,
        created_at,
        updated_at,
        created_by,
        session_id,
    }))
}

pub fn list(c: &Connection) -> StoreResult<Vec<DraftSummary>> {
    let mut st = c.prepare(
        "SELECT d.id, d.procedure_id, d.procedure_version, d.fields_json, d.updated_at,
                (SELECT count(*) FROM draft_attachments a WHERE a.draft_id = d.id)
         FROM drafts d ORDER BY d.updated_at DESC",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            ProcedureRef {
                id: r.get(1)?,
                version: r.get(2)?,
            },
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, i64>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, procedure, fj, updated_at, n) = row?;
        out.push(DraftSummary {
            id,
            procedure,
            title: title_of(&parse_fields(&fj)?),
            updated_at,
            attachments: n,
            deleted_on: None,
        });
    }
    Ok(out)
}

pub fn update(
    c: &Connection,
    id: &str,
    fields: &BTreeMap<String, String>,
    expected_version: i64,
) -> StoreResult<Update> {
    let current: Option<i64> = c
        .query_row("SELECT version FROM drafts WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    match current {
        None => Ok(Update::NotFound),
        Some(v) if v != expected_version => Ok(Update::Conflict { current: v }),
        Some(_) => {
            c.execute(
                "UPDATE drafts SET fields_json = ?1, version = version + 1, updated_at = ?2 WHERE id = ?3",
                params![fields_json(fields), clock::now_rfc3339(), id],
            )
            .map_err(StoreError::classify)?;
            Ok(get(c, id)?
                .map(|d| Update::Saved(Box::new(d)))
                .unwrap_or(Update::NotFound))
        }
    }
}

pub fn delete(c: &Connection, id: &str) -> StoreResult<bool> {
    Ok(c.execute("DELETE FROM drafts WHERE id = ?1", [id])? > 0)
}

pub fn attachments(c: &Connection, draft_id: &str) -> StoreResult<Vec<AttachmentInfo>> {
    let mut st = c.prepare(
        "SELECT id, role, name, media_type, size, sha256 FROM draft_attachments WHERE draft_id = ?1
         ORDER BY created_at, id",
    )?;
    let rows = st.query_map([draft_id], |r| {
        Ok(AttachmentInfo {
            id: r.get(0)?,
            role: r.get(1)?,
            name: r.get(2)?,
            media_type: r.get(3)?,
            size: r.get::<_, i64>(4)? as u64,
            sha256: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The neutral file name of the next photo of `role` in draft `draft_id` (see
/// [`crate::shared::media::stored_name`]): the first `<role>-<n>.jpg` the draft does not hold yet.
pub fn next_photo_name(c: &Connection, draft_id: &str, role: &str) -> StoreResult<String> {
    let taken: std::collections::HashSet<String> = attachments(c, draft_id)?
        .into_iter()
        .map(|a| a.name)
        .collect();
    Ok((1..)
        .map(|n| crate::shared::media::stored_name(role, n))
        .find(|name| !taken.contains(name))
        .expect("a free name"))
}

pub struct NewAttachment<'a> {
    pub role: &'a str,
    pub name: &'a str,
    pub media_type: &'a str,
    pub bytes: &'a [u8],
}

pub fn add_attachment(
    c: &Connection,
    draft_id: &str,
    a: NewAttachment<'_>,
) -> StoreResult<AttachmentInfo> {
    let id = uuid::Uuid::now_v7().to_string();
    let sha = protocol::sha256_hex(a.bytes);
    // One transaction (the caller's, if it has one): a full disk never leaves a stored photo the user was
    // told failed.
    let tx = if c.is_autocommit() {
        Some(c.unchecked_transaction().map_err(StoreError::classify)?)
    } else {
        None
    };
    c.execute(
        "INSERT INTO draft_attachments(id, draft_id, role, name, media_type, sha256, size, bytes, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![id, draft_id, a.role, a.name, a.media_type, sha, a.bytes.len() as i64, a.bytes, clock::now_rfc3339()],
    )
    .map_err(StoreError::classify)?;
    c.execute(
        "UPDATE drafts SET updated_at = ?1 WHERE id = ?2",
        params![clock::now_rfc3339(), draft_id],
    )
    .map_err(StoreError::classify)?;
    if let Some(tx) = tx {
        tx.commit().map_err(StoreError::classify)?;
    }
    Ok(AttachmentInfo {
        id,
        role: a.role.into(),
        name: a.name.into(),
        media_type: a.media_type.into(),
        size: a.bytes.len() as u64,
        sha256: sha,
    })
}

pub fn attachment_bytes(
    c: &Connection,
    draft_id: &str,
    att_id: &str,
) -> StoreResult<Option<(String, Vec<u8>)>> {
    Ok(c.query_row(
        "SELECT media_type, bytes FROM draft_attachments WHERE draft_id = ?1 AND id = ?2",
        [draft_id, att_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?)
}

/// Every photo of a draft with its bytes, in display order (for sealing).
pub fn attachments_with_bytes(
    c: &Connection,
    draft_id: &str,
) -> StoreResult<Vec<(AttachmentInfo, Vec<u8>)>> {
    let infos = attachments(c, draft_id)?;
    let mut out = Vec::with_capacity(infos.len());
    for info in infos {
        let bytes: Vec<u8> = c.query_row(
            "SELECT bytes FROM draft_attachments WHERE id = ?1",
            [&info.id],
            |r| r.get(0),
        )?;
        out.push((info, bytes));
    }
    Ok(out)
}

pub fn delete_attachment(c: &Connection, draft_id: &str, att_id: &str) -> StoreResult<bool> {
    Ok(c.execute(
        "DELETE FROM draft_attachments WHERE draft_id = ?1 AND id = ?2",
        [draft_id, att_id],
    )? > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(updated_at: &str) -> DraftSummary {
        DraftSummary {
            id: "d".into(),
            procedure: ProcedureRef {
                id: "p".into(),
                version: 1,
            },
            title: String::new(),
            updated_at: updated_at.into(),
            attachments: 0,
            deleted_on: None,
        }
    }

    #[test]
    fn drafts_are_flagged_within_the_warning_period_with_the_day_they_go() {
        let r = DraftRetention::default();
        let now = time::macros::datetime!(2026-12-07 03:00 UTC);
        let mut list = [
            summary("2026-11-20T03:00:00Z"), // 17 days: not yet
            summary("2026-11-12T03:00:00Z"), // 25 days: due in 5, flagged
            summary("2026-11-11T18:00:00Z"), // due 2026-12-11 18:00 UTC = 12/12 01:00 in Vietnam
            summary("2026-10-01T03:00:00Z"), // overdue: goes at the next run, today
        ];
        r.annotate(&mut list, now);
        let days: Vec<Option<&str>> = list.iter().map(|d| d.deleted_on.as_deref()).collect();
        assert_eq!(
            days,
            [
                None,
                Some("2026-12-12"),
                Some("2026-12-12"),
                Some("2026-12-07")
            ]
        );
        assert_eq!(r.cutoff(now), "2026-11-07T03:00:00Z");
    }

    #[test]
    fn untouched_drafts_go_with_their_photos_and_the_others_stay() {
        let c = crate::shared::store::open_memory().unwrap();
        let uid = crate::shared::auth::store::insert_user(&c, "an", Role::Officer, "x")
            .unwrap()
            .id;
        let p = ProcedureRef {
            id: "marital-status-certificate".into(),
            version: 1,
        };
        let old = create(&c, &p, &BTreeMap::new(), &uid, None).unwrap();
        let new = create(&c, &p, &BTreeMap::new(), &uid, None).unwrap();
        for d in [&old, &new] {
            add_attachment(
                &c,
                &d.id,
                NewAttachment {
                    role: "id_document",
                    name: "a.jpg",
                    media_type: "image/jpeg",
                    bytes: b"photo",
                },
            )
            .unwrap();
        }
        c.execute(
            "UPDATE drafts SET updated_at = '2026-10-01T00:00:00Z' WHERE id = ?1",
            [&old.id],
        )
        .unwrap();
        let purged = purge_untouched(&c, "2026-11-01T00:00:00Z").unwrap();
        assert_eq!(
            purged,
            Purged {
                drafts: 1,
                photos: 1
            }
        );
        assert!(get(&c, &old.id).unwrap().is_none());
        assert_eq!(get(&c, &new.id).unwrap().unwrap().attachments.len(), 1);
    }
}
