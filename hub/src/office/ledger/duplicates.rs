//! Duplicate dossiers: the same person's request for the same procedure captured twice (two sessions,
//! two devices). Each received dossier gets folded keys in `dup_keys` (at intake, and caught up on first
//! use for dossiers stored before): the marital certificate's subject PIN and name + date of birth; the
//! 3-in-1's child name + date of birth + mother's name (the child has no PIN yet). Pairs sharing a key are
//! shown side by side for a clerk to merge (one leaves the lists and exports) or keep both; a decision is
//! final, and is written to both dossiers' history in the audit log.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::json;
use unicode_normalization::UnicodeNormalization;

use crate::shared::audit::{self, Actor, Event};
use crate::shared::clock;
use crate::shared::store::{write_tx, StoreError, StoreResult};

pub const MARITAL: &str = "marital-status-certificate";
pub const THREE_IN_ONE: &str = "birth-residence-insurance";

/// NFC, lower case, inner whitespace collapsed to one space, trimmed.
pub fn fold(s: &str) -> String {
    let n: String = s.nfc().collect::<String>().to_lowercase();
    n.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn field<'a>(f: &'a BTreeMap<String, String>, k: &str) -> Option<&'a str> {
    f.get(k).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// The duplicate keys (key1, key2) of a dossier of `procedure_id` with `fields`.
pub fn keys_of(
    procedure_id: &str,
    fields: &BTreeMap<String, String>,
) -> (Option<String>, Option<String>) {
    match procedure_id {
        MARITAL => {
            let pin = field(fields, "subject.pin").map(|p| {
                format!(
                    "pin:{}",
                    p.chars().filter(|c| !c.is_whitespace()).collect::<String>()
                )
            });
            let nd = match (
                field(fields, "subject.full_name"),
                field(fields, "subject.date_of_birth"),
            ) {
                (Some(n), Some(d)) => Some(format!("nd:{}|{}", fold(n), d)),
                _ => None,
            };
            (pin, nd)
        }
        THREE_IN_ONE => {
            let k = match (
                field(fields, "child.full_name"),
                field(fields, "child.date_of_birth"),
                field(fields, "mother.full_name"),
            ) {
                (Some(n), Some(d), Some(m)) => Some(format!("child:{}|{}|{}", fold(n), d, fold(m))),
                _ => None,
            };
            (k, None)
        }
        _ => (None, None),
    }
}

/// Records the keys of one received dossier (called by intake as it stores the dossier).
pub fn index_dossier(
    c: &Connection,
    dossier_id: &str,
    procedure_id: &str,
    fields: &BTreeMap<String, String>,
) -> StoreResult<()> {
    let (k1, k2) = keys_of(procedure_id, fields);
    c.execute(
        "INSERT OR REPLACE INTO dup_keys(dossier_id, procedure_id, key1, key2) VALUES (?1, ?2, ?3, ?4)",
        params![dossier_id, procedure_id, k1, k2],
    )
    .map_err(StoreError::classify)?;
    Ok(())
}

/// Computes the keys of received dossiers that have none yet (stored before this table existed, or
/// written by a tool). Returns how many were added.
pub fn catch_up(c: &mut Connection) -> StoreResult<usize> {
    let todo: Vec<(String, String, String)> = {
        let mut st = c.prepare(
            "SELECT d.dossier_id, d.procedure_id, d.fields_json FROM received_dossiers d
             WHERE NOT EXISTS (SELECT 1 FROM dup_keys k WHERE k.dossier_id = d.dossier_id)",
        )?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    if todo.is_empty() {
        return Ok(0);
    }
    let tx = write_tx(c)?;
    for (id, proc_id, json) in &todo {
        let fields: BTreeMap<String, String> = serde_json::from_str(json).unwrap_or_default();
        let (k1, k2) = keys_of(proc_id, &fields);
        tx.execute(
            "INSERT OR IGNORE INTO dup_keys(dossier_id, procedure_id, key1, key2) VALUES (?1, ?2, ?3, ?4)",
            params![id, proc_id, k1, k2],
        )
        .map_err(StoreError::classify)?;
    }
    tx.commit().map_err(StoreError::classify)?;
    Ok(todo.len())
}

/// Candidate dossiers: live dossiers sharing a key with another, as (dossier, procedure, kind, key).
/// "Live": not refused or voiding, not replaced by a later dossier, not merged away.
const CANDIDATES_SQL: &str = "
WITH dk AS (
    SELECT procedure_id, key1 AS key FROM dup_keys WHERE key1 IS NOT NULL
    GROUP BY procedure_id, key1 HAVING count(*) > 1),
dk2 AS (
    SELECT procedure_id, key2 AS key FROM dup_keys WHERE key2 IS NOT NULL
    GROUP BY procedure_id, key2 HAVING count(*) > 1),
cand AS (
    SELECT k.dossier_id, k.procedure_id, 1 AS kind, k.key1 AS key FROM dk
        JOIN dup_keys k ON k.procedure_id = dk.procedure_id AND k.key1 = dk.key
    UNION ALL
    SELECT k.dossier_id, k.procedure_id, 2, k.key2 FROM dk2
        JOIN dup_keys k ON k.procedure_id = dk2.procedure_id AND k.key2 = dk2.key)
SELECT cand.dossier_id, cand.procedure_id, cand.kind, cand.key FROM cand
JOIN received_dossiers d ON d.dossier_id = cand.dossier_id
WHERE d.disposition NOT IN ('refused', 'voids')
  AND NOT EXISTS (SELECT 1 FROM received_dossiers n WHERE n.refers_to = d.dossier_id)
  AND NOT EXISTS (SELECT 1 FROM merged_away m WHERE m.dossier_id = d.dossier_id)";

fn match_name(procedure_id: &str, kind: i64) -> &'static str {
    match (procedure_id, kind) {
        (MARITAL, 1) => "pin",
        (MARITAL, _) => "name_dob",
        _ => "child_name_dob_mother",
    }
}

/// A candidate pair (a < b) and what they share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairKey {
    pub a: String,
    pub b: String,
    pub procedure_id: String,
    pub matched_on: Vec<&'static str>,
}

/// Every undecided candidate pair, in a stable order (procedure, a, b).
pub fn pairs(c: &Connection) -> StoreResult<Vec<PairKey>> {
    let mut groups: HashMap<(String, i64, String), Vec<String>> = HashMap::new();
    {
        let mut st = c.prepare(CANDIDATES_SQL)?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        for row in rows {
            let (id, p, kind, key) = row?;
            groups.entry((p, kind, key)).or_default().push(id);
        }
    }
    let decided: HashSet<(String, String)> = {
        let mut st = c.prepare("SELECT dossier_a, dossier_b FROM duplicate_decisions")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut out: BTreeMap<(String, String, String), BTreeSet<&'static str>> = BTreeMap::new();
    for ((p, kind, _), mut ids) in groups {
        ids.sort();
        ids.dedup();
        for i in 0..ids.len() {
            for j in i + 1..ids.len() {
                let pair = (ids[i].clone(), ids[j].clone());
                if decided.contains(&pair) {
                    continue;
                }
                out.entry((p.clone(), pair.0, pair.1))
                    .or_default()
                    .insert(match_name(&p, kind));
            }
        }
    }
    Ok(out
        .into_iter()
        .map(|((p, a, b), m)| PairKey {
            a,
            b,
            procedure_id: p,
            matched_on: m.into_iter().collect(),
        })
        .collect())
}

/// One side of a pair, for the side-by-side view.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = DuplicateSide)]
pub struct Side {
    pub dossier_id: String,
    pub device_id: String,
    pub device_name: Option<String>,
    pub seq: u64,
    pub procedure_version: u32,
    pub receipt_code: String,
    pub title: String,
    #[schema(format = DateTime)]
    pub sealed_at: String,
    #[schema(format = DateTime)]
    pub received_at: String,
    pub session_id: Option<String>,
    #[schema(value_type = crate::shared::api_doc::protocol::CaseworkStatus)]
    pub status: String,
    pub attachments: i64,
    pub fields: BTreeMap<String, String>,
}

/// One field compared.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldCmp {
    pub key: String,
    pub label_vi: String,
    pub label_en: String,
    pub a: Option<String>,
    pub b: Option<String>,
    pub differ: bool,
}

/// A pair as shown to the clerk.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = DuplicatePair)]
pub struct Pair {
    pub a: Side,
    pub b: Side,
    pub procedure_id: String,
    pub procedure_vi: Option<String>,
    pub procedure_en: Option<String>,
    pub matched_on: Vec<&'static str>,
    pub fields: Vec<FieldCmp>,
    pub differ_count: usize,
}

fn side(c: &Connection, id: &str) -> StoreResult<Option<Side>> {
    Ok(c.query_row(
        "SELECT d.dossier_id, d.device_id, p.name, d.seq, d.receipt_code, d.title, d.sealed_at, d.received_at,
                d.session_id, COALESCE(s.status, 'received'),
                (SELECT count(*) FROM received_attachments a WHERE a.dossier_id = d.dossier_id), d.fields_json,
                d.procedure_version
         FROM received_dossiers d
         LEFT JOIN trusted_peers p ON p.device_id = d.device_id
         LEFT JOIN dossier_status s ON s.dossier_id = d.dossier_id
         WHERE d.dossier_id = ?1",
        [id],
        |r| {
            Ok(Side {
                dossier_id: r.get(0)?,
                device_id: r.get(1)?,
                device_name: r.get(2)?,
                seq: r.get::<_, i64>(3)? as u64,
                receipt_code: r.get(4)?,
                title: r.get(5)?,
                sealed_at: r.get(6)?,
                received_at: r.get(7)?,
                session_id: r.get(8)?,
                status: r.get(9)?,
                attachments: r.get(10)?,
                fields: serde_json::from_str(&r.get::<_, String>(11)?).unwrap_or_default(),
                procedure_version: r.get(12)?,
            })
        },
    )
    .optional()?)
}

fn compare(procedure_id: &str, a: &Side, b: &Side) -> (Vec<FieldCmp>, Option<(String, String)>) {
    let def = crate::shared::procedures::find(&protocol::ProcedureRef {
        id: procedure_id.to_string(),
        version: a.procedure_version,
    });
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    if let Some(def) = def {
        for g in &def.groups {
            for f in &g.fields {
                seen.insert(f.key.clone());
                let (va, vb) = (a.fields.get(&f.key).cloned(), b.fields.get(&f.key).cloned());
                if va.is_none() && vb.is_none() {
                    continue;
                }
                out.push(FieldCmp {
                    key: f.key.clone(),
                    label_vi: format!("{} — {}", g.title.vi, f.label.vi),
                    label_en: format!("{} — {}", g.title.en, f.label.en),
                    differ: va != vb,
                    a: va,
                    b: vb,
                });
            }
        }
    }
    let rest: BTreeSet<&String> = a
        .fields
        .keys()
        .chain(b.fields.keys())
        .filter(|k| !seen.contains(*k))
        .collect();
    for k in rest {
        let (va, vb) = (a.fields.get(k).cloned(), b.fields.get(k).cloned());
        out.push(FieldCmp {
            key: k.clone(),
            label_vi: k.clone(),
            label_en: k.clone(),
            differ: va != vb,
            a: va,
            b: vb,
        });
    }
    (out, def.map(|d| (d.title.vi.clone(), d.title.en.clone())))
}

/// Most pairs in one page.
pub const MAX_PAIRS: usize = 200;

/// A page of undecided pairs (after catching up keys), with the total.
pub fn list(c: &mut Connection, offset: usize, limit: usize) -> StoreResult<(usize, Vec<Pair>)> {
    catch_up(c)?;
    let all = pairs(c)?;
    let total = all.len();
    let mut out = Vec::new();
    for k in all.into_iter().skip(offset).take(limit.clamp(1, MAX_PAIRS)) {
        let (Some(a), Some(b)) = (side(c, &k.a)?, side(c, &k.b)?) else {
            continue;
        };
        let (fields, title) = compare(&k.procedure_id, &a, &b);
        out.push(Pair {
            differ_count: fields.iter().filter(|f| f.differ).count(),
            procedure_vi: title.as_ref().map(|t| t.0.clone()),
            procedure_en: title.map(|t| t.1),
            a,
            b,
            procedure_id: k.procedure_id,
            matched_on: k.matched_on,
            fields,
        });
    }
    Ok((total, out))
}

/// Why a decision was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// No such dossier.
    Unknown(String),
    /// The two dossiers are not a listed pair (no shared key, a dossier no longer live).
    NotAPair,
    /// The pair was decided before.
    AlreadyDecided,
}

/// Records `decision` (`merge`, keeping `kept`; or `keep`) on the pair `a`/`b` by `actor`, with the two
/// audit entries, in one transaction.
pub fn decide(
    c: &mut Connection,
    a: &str,
    b: &str,
    decision: &str,
    kept: Option<&str>,
    note: Option<&str>,
    actor: Actor<'_>,
) -> StoreResult<Result<(), Refused>> {
    let (a, b) = if a < b { (a, b) } else { (b, a) };
    catch_up(c)?;
    let tx = write_tx(c)?;
    for id in [a, b] {
        let exists = tx
            .query_row(
                "SELECT 1 FROM received_dossiers WHERE dossier_id = ?1",
                [id],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if !exists {
            return Ok(Err(Refused::Unknown(id.to_string())));
        }
    }
    let decided = tx
        .query_row(
            "SELECT 1 FROM duplicate_decisions WHERE dossier_a = ?1 AND dossier_b = ?2",
            [a, b],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if decided {
        return Ok(Err(Refused::AlreadyDecided));
    }
    let listed = pairs(&tx)?.into_iter().any(|p| p.a == a && p.b == b);
    if !listed {
        return Ok(Err(Refused::NotAPair));
    }
    let user_id = actor.id.unwrap_or_default();
    tx.execute(
        "INSERT INTO duplicate_decisions(dossier_a, dossier_b, decision, kept, note, decided_by, decided_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![a, b, decision, kept, note, user_id, clock::now_rfc3339()],
    )
    .map_err(StoreError::classify)?;
    let merged_away = kept.map(|k| if k == a { b } else { a });
    for (this, other) in [(a, b), (b, a)] {
        audit::append(
            &tx,
            actor,
            &Event {
                dossier_id: Some(this),
                action: if decision == "merge" {
                    "merged"
                } else {
                    "kept_both"
                },
                detail: json!({
                    "other": other,
                    "kept": kept,
                    "merged_away": merged_away,
                    "note": note,
                }),
                ..Event::default()
            },
        )?;
    }
    tx.commit().map_err(StoreError::classify)?;
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child(name: &str, dob: &str, mother: &str) -> BTreeMap<String, String> {
        [
            ("child.full_name", name),
            ("child.date_of_birth", dob),
            ("mother.full_name", mother),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn store(c: &Connection, id: &str, proc_id: &str, f: &BTreeMap<String, String>, disp: &str) {
        c.execute(
            "INSERT INTO received_envelopes(device_id, seq, hash, prev, header, signature, dossier_id, batch_id, received_at)
             VALUES ('dev', (SELECT count(*) + 1 FROM received_envelopes), 'h', 'p', x'00', 's', ?1, 'b', 'x')",
            [id],
        )
        .unwrap();
        c.execute(
            "INSERT INTO received_dossiers(dossier_id, device_id, seq, procedure_id, procedure_version, receipt_code,
                 title, fields_json, signed_dossier, sealed_at, received_at, checks_json, disposition)
             VALUES (?1, 'dev', (SELECT seq FROM received_envelopes WHERE dossier_id = ?1), ?2, 1, 'R', 't', ?3,
                 x'00', 'x', 'x', '[]', ?4)",
            params![id, proc_id, serde_json::to_string(f).unwrap(), disp],
        )
        .unwrap();
    }

    #[test]
    fn folding_makes_one_key_of_differently_typed_names() {
        let nfd = "Đie\u{0302}\u{0300}u  THỊ   mai";
        let (a, _) = keys_of(THREE_IN_ONE, &child(nfd, "2026-01-02", "Thị Hoa"));
        let (b, _) = keys_of(
            THREE_IN_ONE,
            &child(" điều thị mai ", "2026-01-02", "THỊ HOA"),
        );
        assert_eq!(a, b);
        assert!(a.is_some());
        let (c, _) = keys_of(
            THREE_IN_ONE,
            &child("Điều Thị Mai", "2026-01-03", "Thị Hoa"),
        );
        assert_ne!(a, c);
        let (none, _) = keys_of(THREE_IN_ONE, &child("Điều Thị Mai", "", "Thị Hoa"));
        assert_eq!(none, None);
    }

    #[test]
    fn pairs_by_pin_or_name_and_dob_then_merge_and_keep_are_final() {
        let mut c = crate::shared::store::open_memory().unwrap();
        c.execute(
            "INSERT INTO users(id, name, role, password_hash, created_at) VALUES ('u1', 'Lan', 'clerk', 'x', 'x')",
            [],
        )
        .unwrap();
        let m = |name: &str, dob: &str, pin: &str| -> BTreeMap<String, String> {
            [
                ("subject.full_name", name),
                ("subject.date_of_birth", dob),
                ("subject.pin", pin),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
        };
        store(
            &c,
            "m1",
            MARITAL,
            &m("Thị Sa Ly", "1998-03-12", "058198004567"),
            "new",
        );
        store(
            &c,
            "m2",
            MARITAL,
            &m("Thị Sa Ly", "1998-03-12", "058198004567"),
            "new",
        );
        store(&c, "m3", MARITAL, &m("THỊ SA LY", "1998-03-12", ""), "new");
        store(
            &c,
            "m4",
            MARITAL,
            &m("Ka Nga", "1990-01-01", "058198004567"),
            "refused",
        );
        store(
            &c,
            "c1",
            THREE_IN_ONE,
            &child("Điểu Thị Mai", "2026-01-02", "Thị Hoa"),
            "new",
        );
        store(
            &c,
            "c2",
            THREE_IN_ONE,
            &child("điểu thị  mai", "2026-01-02", "Thị Hoa"),
            "new",
        );
        store(
            &c,
            "c3",
            THREE_IN_ONE,
            &child("Điểu Văn Nam", "2026-01-02", "Thị Hoa"),
            "new",
        );
        // Keys for dossiers stored without intake are caught up on first use.
        let (total, list) = super::list(&mut c, 0, 50).unwrap();
        let shape: Vec<(String, String, Vec<&str>)> = list
            .iter()
            .map(|p| {
                (
                    p.a.dossier_id.clone(),
                    p.b.dossier_id.clone(),
                    p.matched_on.clone(),
                )
            })
            .collect();
        assert_eq!(total, 4, "{shape:?}");
        assert_eq!(
            shape,
            vec![
                ("c1".into(), "c2".into(), vec!["child_name_dob_mother"]),
                ("m1".into(), "m2".into(), vec!["name_dob", "pin"]),
                ("m1".into(), "m3".into(), vec!["name_dob"]),
                ("m2".into(), "m3".into(), vec!["name_dob"]),
            ]
        );
        let c12 = &list[0];
        let name = c12
            .fields
            .iter()
            .find(|f| f.key == "child.full_name")
            .unwrap();
        assert!(name.differ);
        assert_eq!(c12.differ_count, 1);

        let clerk = Actor::user("u1", "Lan");
        // Not a pair: refused.
        assert_eq!(
            decide(&mut c, "c1", "c3", "keep", None, None, clerk).unwrap(),
            Err(Refused::NotAPair)
        );
        decide(
            &mut c,
            "c2",
            "c1",
            "merge",
            Some("c1"),
            Some("cùng một bé"),
            clerk,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            decide(&mut c, "c1", "c2", "keep", None, None, clerk).unwrap(),
            Err(Refused::AlreadyDecided)
        );
        let away: String = c
            .query_row(
                "SELECT dossier_id FROM merged_away WHERE kept = 'c1'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(away, "c2");
        for id in ["c1", "c2"] {
            let h = audit::for_dossier(&c, id).unwrap();
            assert_eq!(h.len(), 1);
            assert_eq!(h[0].action, "merged");
            assert_eq!(h[0].detail["merged_away"], "c2");
        }
        decide(&mut c, "m1", "m2", "keep", None, None, clerk)
            .unwrap()
            .unwrap();
        assert_eq!(audit::for_dossier(&c, "m1").unwrap()[0].action, "kept_both");
        let (total, list) = super::list(&mut c, 0, 50).unwrap();
        assert_eq!(total, 2);
        assert!(list.iter().all(|p| p.a.dossier_id.starts_with('m')));
        // A dossier merged away pairs with nothing any more.
        decide(&mut c, "m1", "m3", "merge", Some("m1"), None, clerk)
            .unwrap()
            .unwrap();
        let (total, _) = super::list(&mut c, 0, 50).unwrap();
        assert_eq!(total, 0);
    }
}
