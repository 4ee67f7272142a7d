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
    pub name: String,
    pub media_type: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Draft {
    pub id: String,
    /// `{"id", "version"}` of the catalogue procedure (see docs/protocol.md).
    #[schema(value_type = Object)]
    pub procedure: ProcedureRef,
    pub fields: BTreeMap<String, String>,
    pub attachments: Vec<AttachmentInfo>,
    /// Increases with each save; an update names the version it was typed on.
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    /// `{id, name, role}` of the author.
    #[schema(value_type = Object)]
    pub created_by: UserOut,
    /// The outreach session that was open when the draft was started, if any.
    pub session_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DraftSummary {
    pub id: String,
    pub procedure: ProcedureRef,
    pub title: String,
    pub updated_at: String,
    pub attachments: i64,
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
