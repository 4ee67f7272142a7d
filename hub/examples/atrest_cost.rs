//! What encryption at rest (issue 19) costs on the paths a field hub takes, plaintext against encrypted,
//! with the hub's own code: two data directories side by side in a temporary folder (`ATREST_DIR`, default
//! the system's), one plain, one whose data key is registered in this process, so
//! [`Db::open`](hub::shared::store::Db::open) keys it with SQLCipher (same schema, same settings: WAL,
//! `synchronous = FULL`, `secure_delete`). Each operation runs `ATREST_RUNS` times (default 50; the
//! argon2id ones `ATREST_ARGON_RUNS`, default the same), plain and encrypted alternating; the median, the
//! 10th and 90th percentiles and the ratio encrypted/plain are printed.
//!
//! 1. capture: one photo (`ATREST_PHOTO_KB`, default 300 KiB) stored into a draft
//!    (`field::capture::store::add_attachment`, its own transaction), then read back (`attachment_bytes`,
//!    as the photo view does: from SQLite's page cache, already decrypted);
//! 2. seal: one transaction shaped like `field::seal::engine::seal_draft`: the draft's photos read, a
//!    receipt, an envelope (~2 KB header and payload), the photo's ciphertext, the slip record, the
//!    draft deleted with its photo (secure delete overwrites it); then the WAL checkpoint (TRUNCATE) the
//!    scrubber runs 2 s later, off the request's path;
//! 3. opening the database (`store::open_keyed` and a first query), the keyed one applying the key;
//! 4. unlocking: `vault::keyring::Keyring::unlock` (one argon2id run, the key's check), against the
//!    argon2id check of a login password (`vault::password::verify_password`) that every login does anyway;
//! 5. a secret file (the CA key's size): written sealed (`vault::files::write_sealed`) against plain
//!    (`write_atomic`; both 0600, fsynced, renamed), and read (`read_secret`).
//!
//! Run by `tests/perf/atrest.sh` (dist profile, x86_64 native and aarch64 under qemu-aarch64-static):
//! `cargo run --profile dist --example atrest_cost -p hub`.

use std::path::Path;
use std::time::{Duration, Instant};

use hub::field::capture::store::{self as drafts, NewAttachment};
use hub::shared::store::{self, Db, StoreResult};
use hub::shared::vault::{self, files, keyring, password, DataKey};
use rusqlite::{params, Connection};

/// KiB of the photo by default (`ATREST_PHOTO_KB`): a stored photo is at most 100 KiB of JPEG
/// (`docs/operations.md`, "Photo processing figures"), so 300 KiB is a 3-in-1 dossier's three photos, or
/// one photo taken with a larger budget.
const PHOTO_KB: usize = 300;
/// Bytes of an envelope's header and payload (the age ciphertext of a signed dossier without photos).
const ENVELOPE_BYTES: usize = 2 * 1024;
/// Bytes of the secret file (a PEM P-256 private key, as `tls/ca.key`).
const SECRET_BYTES: usize = 241;

fn random(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    getrandom::getrandom(&mut b).expect("randomness");
    b
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n: &usize| *n > 0)
        .unwrap_or(default)
}

/// One side of the comparison: a data directory, its database and its key (encrypted side only).
struct Side {
    dir: std::path::PathBuf,
    db: Db,
    key: Option<DataKey>,
    user_id: String,
}

impl Side {
    fn new(dir: &Path, key: Option<DataKey>) -> StoreResult<Side> {
        std::fs::create_dir_all(dir.join("keys"))?;
        if let Some(k) = &key {
            vault::register(dir, k.clone());
        }
        let db = Db::open(&dir.join("hub.sqlite"))?;
        let user_id = uuid::Uuid::now_v7().to_string();
        db.call_sync(|c| {
            c.execute(
                "INSERT INTO users(id, name, role, password_hash, created_at) VALUES (?1, 'canbo', 'officer', 'x', ?2)",
                params![user_id, hub::shared::clock::now_rfc3339()],
            )?;
            Ok(())
        })?;
        Ok(Side {
            dir: dir.to_path_buf(),
            db,
            key,
            user_id,
        })
    }
}

/// Timings of one operation, plain and encrypted.
#[derive(Default)]
struct Pair {
    plain: Vec<Duration>,
    enc: Vec<Duration>,
}

impl Pair {
    fn push(&mut self, encrypted: bool, d: Duration) {
        if encrypted {
            self.enc.push(d)
        } else {
            self.plain.push(d)
        }
    }
}

fn pct(v: &[Duration], p: f64) -> f64 {
    let mut s: Vec<f64> = v.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    s.sort_by(|a, b| a.total_cmp(b));
    if s.is_empty() {
        return f64::NAN;
    }
    if p == 50.0 && s.len().is_multiple_of(2) {
        return (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0;
    }
    s[((p / 100.0) * (s.len() - 1) as f64).round() as usize]
}

/// The seal-shaped transaction: the draft's photos read, receipt, envelope, photo ciphertext, slip, the
/// draft deleted (its photos with it: `ON DELETE CASCADE`).
fn seal_like(c: &mut Connection, draft_id: &str, user_id: &str, seq: i64) -> StoreResult<()> {
    let tx = store::write_tx(c)?;
    let photos = drafts::attachments_with_bytes(&tx, draft_id)?;
    assert_eq!(photos.len(), 1, "the draft has its photo");
    let now = hub::shared::clock::now_rfc3339();
    let dossier_id = draft_id;
    tx.execute(
        "INSERT INTO receipts(dossier_id, code, procedure_id, procedure_version, sealed_at, sealed_by, receipt_seq,
             qr, disposition, refers_to, session_id)
         VALUES (?1, ?2, 'marital-status-certificate', 1, ?3, ?4, ?5, ?6, 'new', NULL, NULL)",
        params![dossier_id, format!("R{seq:08}"), now, user_id, seq, "Q".repeat(180)],
    )?;
    let header = random(ENVELOPE_BYTES / 4);
    let payload = random(ENVELOPE_BYTES - ENVELOPE_BYTES / 4);
    tx.execute(
        "INSERT INTO envelopes(seq, dossier_id, header, signature, hash, payload, sealed_at) VALUES (?1,?2,?3,?4,?5,?6,?7)",
        params![seq, dossier_id, header, "s".repeat(128), hex::encode(random(32)), payload, now],
    )?;
    // The photo's age ciphertext: as long as the photo plus age's header and tags.
    let blob = random(photos[0].1.len() + 200);
    tx.execute(
        "INSERT INTO envelope_blobs(seq, idx, sha256, bytes) VALUES (?1, 0, ?2, ?3)",
        params![seq, hex::encode(random(32)), blob],
    )?;
    tx.execute(
        "UPDATE receipts SET seq = ?1 WHERE dossier_id = ?2",
        params![seq, dossier_id],
    )?;
    tx.execute(
        "INSERT INTO receipt_slips(dossier_id, lang, originals) VALUES (?1, 'vi', '[]')",
        params![dossier_id],
    )?;
    assert!(drafts::delete(&tx, draft_id)?, "the draft is deleted");
    tx.commit()?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs = env_usize("ATREST_RUNS", 50);
    let argon_runs = env_usize("ATREST_ARGON_RUNS", runs);
    let photo_bytes = env_usize("ATREST_PHOTO_KB", PHOTO_KB) * 1024;
    let base = std::env::var_os("ATREST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let tmp = tempfile::Builder::new()
        .prefix("atrest-cost.")
        .tempdir_in(&base)?;
    let key = DataKey::generate()?;
    let sides = [
        Side::new(&tmp.path().join("plain"), None)?,
        Side::new(&tmp.path().join("encrypted"), Some(key.clone()))?,
    ];
    // The encrypted side really is: its file does not start with SQLite's magic, the plain one does.
    assert!(!store::is_encrypted_file(&sides[0].dir.join("hub.sqlite")));
    assert!(store::is_encrypted_file(&sides[1].dir.join("hub.sqlite")));
    let (cipher, provider): (String, String) = sides[1].db.call_sync(|c| {
        Ok((
            c.query_row("PRAGMA cipher_version", [], |r| r.get(0))?,
            c.query_row("PRAGMA cipher_provider_version", [], |r| r.get(0))?,
        ))
    })?;
    let sqlite: String = sides[0]
        .db
        .call_sync(|c| Ok(c.query_row("SELECT sqlite_version()", [], |r| r.get(0))?))?;
    println!(
        "atrest_cost: {} ({}), SQLite {sqlite}, SQLCipher {cipher}, crypto {provider}; {runs} runs ({argon_runs} for argon2id); photo {} KiB; data in {}{}",
        std::env::consts::ARCH,
        if cfg!(debug_assertions) { "debug build" } else { "optimised build" },
        photo_bytes / 1024,
        base.display(),
        std::env::var("OPENSSL_armcap")
            .map(|v| format!("; OPENSSL_armcap={v}"))
            .unwrap_or_default(),
    );

    let mut capture = Pair::default();
    let mut read = Pair::default();
    let mut seal = Pair::default();
    let mut checkpoint = Pair::default();
    let mut open = Pair::default();
    let procedure = protocol::ProcedureRef {
        id: "marital-status-certificate".into(),
        version: 1,
    };
    let fields: std::collections::BTreeMap<String, String> = [
        ("ho_ten".to_string(), "Nguyễn Thị Lan".to_string()),
        ("ngay_sinh".to_string(), "1990-04-12".to_string()),
        ("so_dinh_danh".to_string(), "001190012345".to_string()),
    ]
    .into();
    for i in 0..runs {
        let photo = random(photo_bytes);
        // Alternate which side goes first, so drift in the machine's load falls on both.
        let order: [usize; 2] = if i % 2 == 0 { [0, 1] } else { [1, 0] };
        for s in order {
            let side = &sides[s];
            let encrypted = side.key.is_some();
            let user_id = side.user_id.clone();
            let draft = side
                .db
                .call_sync(|c| drafts::create(c, &procedure, &fields, &user_id, None))?;
            let t = Instant::now();
            let info = side.db.call_sync(|c| {
                drafts::add_attachment(
                    c,
                    &draft.id,
                    NewAttachment {
                        role: "id_front",
                        name: "photo.jpg",
                        media_type: "image/jpeg",
                        bytes: &photo,
                    },
                )
            })?;
            capture.push(encrypted, t.elapsed());

            let t = Instant::now();
            let back = side
                .db
                .call_sync(|c| drafts::attachment_bytes(c, &draft.id, &info.id))?;
            read.push(encrypted, t.elapsed());
            assert_eq!(
                back.map(|(_, b)| b.len()),
                Some(photo_bytes),
                "the photo reads back"
            );

            let t = Instant::now();
            side.db
                .call_sync(|c| seal_like(c, &draft.id, &user_id, i as i64 + 1))?;
            seal.push(encrypted, t.elapsed());

            let t = Instant::now();
            let cp = side.db.call_sync(|c| store::checkpoint_truncate(c))?;
            checkpoint.push(encrypted, t.elapsed());
            assert!(!cp.busy && cp.frames == 0, "the WAL is emptied: {cp:?}");

            let t = Instant::now();
            let c = store::open_keyed(&side.dir.join("hub.sqlite"), side.key.as_ref())?;
            let n: i64 = c.query_row("SELECT count(*) FROM receipts", [], |r| r.get(0))?;
            open.push(encrypted, t.elapsed());
            assert_eq!(n, i as i64 + 1);
            drop(c);
        }
    }
    // The encrypted database holds no plaintext of what was stored (a check that the figures are of
    // encrypted writes): a draft's ID number is in the plain file, not in the encrypted one.
    for (s, expect) in [(0, true), (1, false)] {
        sides[s].db.call_sync(|c| {
            drafts::create(c, &procedure, &fields, &sides[s].user_id, None)?;
            store::checkpoint_truncate(c)?;
            Ok(())
        })?;
        let raw = std::fs::read(sides[s].dir.join("hub.sqlite"))?;
        let found = raw.windows(12).any(|w| w == b"001190012345");
        assert_eq!(found, expect, "plaintext in side {s}'s file: {found}");
    }

    // Unlocking: the keyring copy's argon2id (the locked start's login) against a login's own check.
    let holder_pw = "mật khẩu của cán bộ 2026";
    let hash = password::hash_password(holder_pw)?;
    let holder = keyring::Holder {
        user_id: &sides[1].user_id,
        name_key: "canbo",
        role: "officer",
        password_hash: &hash,
    };
    let kr = keyring::Keyring::new(&key, &holder, holder_pw)?;
    let mut unlock = Pair::default();
    for _ in 0..argon_runs {
        let t = Instant::now();
        assert!(password::verify_password(holder_pw, Some(&hash)));
        unlock.push(false, t.elapsed());
        let t = Instant::now();
        let (k, _) = kr.unlock("canbo", holder_pw)?;
        unlock.push(true, t.elapsed());
        assert_eq!(k.check_value(), key.check_value());
    }

    // A secret file, written and read.
    let mut secret_write = Pair::default();
    let mut secret_read = Pair::default();
    let content = random(SECRET_BYTES);
    for i in 0..runs {
        let order: [usize; 2] = if i % 2 == 0 { [0, 1] } else { [1, 0] };
        for s in order {
            let side = &sides[s];
            let path = side.dir.join("keys").join("ca.key");
            let t = Instant::now();
            match &side.key {
                Some(k) => files::write_sealed(k, &path, &content)?,
                None => files::write_atomic(&path, &content)?,
            }
            secret_write.push(side.key.is_some(), t.elapsed());
            let t = Instant::now();
            let back = files::read_secret(&side.dir, &path)?;
            secret_read.push(side.key.is_some(), t.elapsed());
            assert_eq!(back, content);
            assert_eq!(files::is_sealed(&path), side.key.is_some());
        }
    }
    vault::forget(&sides[1].dir);

    println!(
        "{:<58} {:>22} {:>22} {:>7} {:>9}",
        "operation (ms: median [p10–p90])", "plain", "encrypted", "ratio", "extra ms"
    );
    let rows: [(&str, &Pair); 8] = [
        ("1. store one photo (capture, own transaction)", &capture),
        ("1b. read the photo back", &read),
        (
            "2. seal transaction (receipt, 2 KB envelope, photo blob, delete draft)",
            &seal,
        ),
        ("2b. WAL checkpoint (TRUNCATE) after the seal", &checkpoint),
        ("3. open the database (key applied) + first query", &open),
        (
            "4. unlock: argon2id unwrap (plain column: login's argon2id check)",
            &unlock,
        ),
        (
            "5. write a secret file (sealed vs plain; fsync, rename)",
            &secret_write,
        ),
        ("5b. read a secret file", &secret_read),
    ];
    for (name, p) in rows {
        let (pm, em) = (pct(&p.plain, 50.0), pct(&p.enc, 50.0));
        println!(
            "{:<58} {:>8.3} [{:.2}–{:.2}] {:>8.3} [{:.2}–{:.2}] {:>6.2}x {:>+9.3}",
            name,
            pm,
            pct(&p.plain, 10.0),
            pct(&p.plain, 90.0),
            em,
            pct(&p.enc, 10.0),
            pct(&p.enc, 90.0),
            em / pm,
            em - pm
        );
        // One machine-readable line per row (tests/perf/atrest.sh collects them).
        println!(
            "ATREST\t{}\t{}\t{pm:.3}\t{em:.3}\t{:.3}",
            std::env::consts::ARCH,
            name.split_whitespace().next().unwrap_or(""),
            em / pm
        );
    }
    let sizes: Vec<u64> = sides
        .iter()
        .map(|s| std::fs::metadata(s.dir.join("hub.sqlite")).map(|m| m.len()))
        .collect::<Result<_, _>>()?;
    println!(
        "database files after the runs: plain {} bytes, encrypted {} bytes ({:+.1} %: SQLCipher's per-page IV and HMAC)",
        sizes[0],
        sizes[1],
        (sizes[1] as f64 / sizes[0] as f64 - 1.0) * 100.0
    );
    Ok(())
}
