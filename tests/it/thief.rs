//! A stolen field hub reveals nothing (issue 19). The test plays the thief: a field hub whose admin is set
//! up (which protects its data directory) holds every kind of personal data the field keeps — drafts with
//! photos, dossiers sealed before pairing (`pending_protection`), pre-declarations, status news from the
//! office, named tickets in an open outreach session — and a backup written into its data directory. The
//! power is cut (SIGKILL, no clean shutdown). Then every file below the data directory (database, WAL,
//! SHM, keys, TLS, the backup) is read and searched for each name (UTF-8 NFC and NFD), each 12-digit PIN,
//! slices of each photo (as sent and as the hub stored it), the device key seed, the age identity and the
//! CA key: nothing is found. The hub then starts **locked** on the same directory (public pages only, 503
//! `hub_locked` on the team API), an officer logs in, which unlocks it, and everything is there.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use unicode_normalization::UnicodeNormalization;

use crate::common::*;

pub(crate) const ADMIN: &str = "quantri";
pub(crate) const ADMIN_PW: &str = "Quan-tri-kho-doan-2026";
pub(crate) const OFFICER: &str = "canbo";
pub(crate) const OFFICER_PW: &str = "Can-bo-lap-ho-so-2026";

/// The first bytes of a sealed secret file (`shared::vault::files::MAGIC`).
pub(crate) const SEALED: &[u8] = b"OUTREACH-SEALED-1\n";

/// Every regular file below `dir`, recursively.
pub(crate) fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                todo.push(p);
            } else if t.is_file() {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A labelled byte string a thief must not find.
pub(crate) type Needle = (String, Vec<u8>);

/// The byte strings a plaintext `v` leaves on disk: its UTF-8 in NFC and, when different, in NFD.
pub(crate) fn text_needles(label: &str, v: &str) -> Vec<Needle> {
    let nfc: String = v.nfc().collect();
    let nfd: String = v.nfd().collect();
    let mut out = vec![(format!("{label} {v:?} (NFC)"), nfc.clone().into_bytes())];
    if nfd != nfc {
        out.push((format!("{label} {v:?} (NFD)"), nfd.into_bytes()));
    }
    out
}

/// Slices of a photo's bytes: the 64 bytes at its middle, and 48-byte windows every 4,001 bytes past its
/// header. SQLite spreads a photo over pages (4-byte link, then 4,092 bytes of it), so the whole photo is
/// never one run of bytes on disk, but nearly every short window of it is, in a plaintext database.
pub(crate) fn photo_needles(label: &str, photo: &[u8]) -> Vec<Needle> {
    assert!(photo.len() > 1_000, "{label}: {} bytes", photo.len());
    let mid = photo.len() / 2 - 32;
    let mut out = vec![(
        format!("{label}: 64 bytes at {mid} of {}", photo.len()),
        photo[mid..mid + 64].to_vec(),
    )];
    out.extend(
        (600..photo.len().saturating_sub(48))
            .step_by(4_001)
            .map(|at| {
                (
                    format!("{label}: 48 bytes at {at}"),
                    photo[at..at + 48].to_vec(),
                )
            }),
    );
    out
}

/// What a search of a data directory found, and how much it read.
pub(crate) struct Searched {
    pub found: Vec<String>,
    pub files: usize,
    pub bytes: u64,
}

/// Reads every file below `dir` and looks for every needle in it (needles of 8 bytes or more, indexed by
/// their first 8 bytes so a 20 MB directory and thousands of needles take one pass per file).
pub(crate) fn search(dir: &Path, needles: &[Needle]) -> Searched {
    let mut by_prefix: HashMap<[u8; 8], Vec<usize>> = HashMap::new();
    for (i, (label, n)) in needles.iter().enumerate() {
        assert!(
            n.len() >= 8,
            "needle {label} is too short to be distinctive"
        );
        by_prefix
            .entry(n[..8].try_into().unwrap())
            .or_default()
            .push(i);
    }
    let mut found = Vec::new();
    let (mut files, mut bytes) = (0, 0u64);
    for f in files_below(dir) {
        let data = std::fs::read(&f).unwrap();
        files += 1;
        bytes += data.len() as u64;
        let mut hit = vec![false; needles.len()];
        for at in 0..data.len().saturating_sub(7) {
            let Some(cands) = by_prefix.get(&<[u8; 8]>::try_from(&data[at..at + 8]).unwrap())
            else {
                continue;
            };
            for &i in cands {
                let n = &needles[i].1;
                if !hit[i] && data[at..].starts_with(n) {
                    hit[i] = true;
                }
            }
        }
        for (i, h) in hit.into_iter().enumerate() {
            if h {
                found.push(format!(
                    "{} in {}",
                    needles[i].0,
                    f.strip_prefix(dir).unwrap().display()
                ));
            }
        }
    }
    Searched {
        found,
        files,
        bytes,
    }
}

/// A photo no other test uses: a pseudo-random pattern (incompressible, so its bytes are its own).
pub(crate) fn distinctive_photo(seed: u32) -> Vec<u8> {
    jpeg_of(320, 240, move |x, y| {
        let v = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503) ^ seed).wrapping_mul(97);
        [(v >> 3) as u8, (v >> 11) as u8, (v >> 19) as u8]
    })
}

/// A photo as the hub stored it: its attachment id and bytes.
pub(crate) type Photo = (String, Vec<u8>);

/// The stored bytes of every photo of draft `id`, by attachment id (the hub may re-encode what it was sent).
pub(crate) async fn stored_photos(c: &Client, id: &str) -> Vec<Photo> {
    let (s, d) = c.get(&format!("/api/v1/drafts/{id}")).await;
    assert_eq!(s, 200, "{d}");
    let mut out = Vec::new();
    for a in d["attachments"].as_array().unwrap() {
        let aid = a["id"].as_str().unwrap().to_string();
        let (s, b) = c
            .get_bytes(&format!("/api/v1/drafts/{id}/attachments/{aid}"))
            .await;
        assert_eq!(s, 200);
        out.push((aid, b));
    }
    out
}

/// A villager's pre-declaration answers (what the self-service form asks: no office-only fields).
pub(crate) fn predeclared_fields(name: &str, pin: &str) -> Value {
    let mut f = marital_fields(name, pin);
    f.remove("addressee.commune");
    f.remove("declaration.confirmed");
    json!(f)
}

/// Posts a pre-declaration as a villager's phone would (no login); asserts 201.
pub(crate) async fn predeclare(base: &str, name: &str, pin: &str) -> Value {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/public/predeclarations"))
        .json(
            &json!({"procedure": {"id": "marital-status-certificate", "version": 1},
                      "fields": predeclared_fields(name, pin), "lang": "vi"}),
        )
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    let b: Value = r.json().await.unwrap();
    assert_eq!(s, 201, "{b}");
    b
}

/// `(status, error code)` of an anonymous GET of `path`.
pub(crate) async fn anon_get(base: &str, path: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// `POST /api/v1/login` with a fresh cookie jar: the status and body.
pub(crate) async fn try_login(base: &str, name: &str, password: &str) -> (u16, Value) {
    Client::new(base)
        .post("/api/v1/login", json!({"name": name, "password": password}))
        .await
}

/// Whether the hub at `base` says it is locked (`GET /api/v1/setup` → `locked: true`).
pub(crate) async fn is_locked(base: &str) -> bool {
    let (s, b) = anon_get(base, "/api/v1/setup").await;
    assert_eq!(s, 200, "{b}");
    b["locked"] == true
}

/// Asserts the hub at `base` is locked: `GET /api/v1/setup` says so and the team API answers
/// 503 `hub_locked` (JSON, Vietnamese and English).
pub(crate) async fn assert_locked(base: &str, why: &str) {
    assert!(is_locked(base).await, "{why}: /api/v1/setup says locked");
    let (s, b) = anon_get(base, "/api/v1/drafts").await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (503, Some("hub_locked")),
        "{why}: GET /api/v1/drafts → {b}"
    );
    assert!(
        b["error"]["message_vi"]
            .as_str()
            .is_some_and(|m| m.len() > 5)
            && b["error"]["message_en"]
                .as_str()
                .is_some_and(|m| m.len() > 5),
        "{why}: the locked answer speaks Vietnamese and English: {b}"
    );
}

/// Logs in on a locked hub (which unlocks it); asserts 200 and that it is unlocked afterwards.
pub(crate) async fn unlock_by_login(base: &str, name: &str, password: &str) -> Client {
    let (s, b) = try_login(base, name, password).await;
    assert_eq!(s, 200, "login of {name} on the locked hub: {b}");
    let mut c = Client::new(base);
    // The cookie jar of `try_login` was dropped with its client: log in again on this one (now unlocked,
    // an ordinary login).
    let (s2, b2) = c
        .post("/api/v1/login", json!({"name": name, "password": password}))
        .await;
    assert_eq!(s2, 200, "second login of {name}: {b2}");
    c.csrf = b2["csrf_token"].as_str().unwrap().to_string();
    assert!(
        !is_locked(base).await,
        "an officer's login unlocked the hub"
    );
    c
}

/// SIGKILL: the power cut (`Child::kill` sends SIGKILL on Unix).
pub(crate) fn power_cut(mut hub: Hub) {
    hub.child.kill().unwrap();
    hub.child.wait().unwrap();
}

/// The first bytes of the file at `p`.
pub(crate) fn head(p: &Path, n: usize) -> Vec<u8> {
    let b = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    b[..n.min(b.len())].to_vec()
}

/// Signed status news from the office in `office_dir` for the dossier of `receipt`, addressed to the field
/// in `field_dir`, stored in the field's database through the hub library (what the uploader's news pull
/// does; the field stays unpaired so that its dossiers stay pending). The field directory must be unlocked
/// in this process. Returns the news ids.
fn store_news(
    office_dir: &Path,
    field_dir: &Path,
    receipt: &Value,
    result_pin: &str,
    note: &str,
) -> usize {
    let office = hub::shared::keys::load_or_create(office_dir).unwrap();
    let field = hub::shared::keys::load(field_dir).unwrap();
    let code: protocol::ReceiptCode = receipt["code"].as_str().unwrap().parse().unwrap();
    let dossier = receipt["dossier_id"].as_str().unwrap().to_string();
    let items: Vec<protocol::SignedNews> = [
        (protocol::NewsStatus::ReceivedVerified, None),
        (
            protocol::NewsStatus::Registered {
                result_numbers: vec![protocol::ResultNumber {
                    kind: "pin".into(),
                    number: result_pin.into(),
                }],
            },
            Some(note.to_string()),
        ),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (status, note))| {
        let n = protocol::News {
            kind: protocol::NEWS_KIND.into(),
            v: 1,
            office_id: office.device_id.clone(),
            news_id: uuid::Uuid::now_v7().to_string(),
            device_id: field.device_id.clone(),
            seq: i as u64 + 1,
            receipt_code: code.clone(),
            dossier_id: dossier.clone(),
            status,
            note,
            published_at: "2026-12-07T03:00:00Z".into(),
        };
        protocol::SignedNews::sign(n, &office.device).unwrap()
    })
    .collect();
    let db = hub::shared::store::Db::open(&field_dir.join("hub.sqlite")).unwrap();
    let (pk, dev) = (office.device.public(), field.device_id.clone());
    db.call_sync(move |c| hub::field::news::store::save_incoming(c, &pk, &dev, &items))
        .unwrap()
        .unwrap()
}

/// One villager's data the thief looks for.
struct Person {
    name: &'static str,
    pin: &'static str,
}

const DRAFT_A: Person = Person {
    name: "Điểu Thị Ngọc Trộm",
    pin: "070198316402",
};
const DRAFT_B: Person = Person {
    name: "Lâm Văn Khuyến Nháp",
    pin: "070198527513",
};
const PENDING_A: Person = Person {
    name: "Thị Hoài Niêm Phong",
    pin: "070198638624",
};
const PENDING_B: Person = Person {
    name: "Y Bơr Chưa Ghép",
    pin: "070198749735",
};
const PREDECL_A: Person = Person {
    name: "K'Brơi Khai Trước",
    pin: "070198850846",
};
const PREDECL_B: Person = Person {
    name: "Hà Thị Điện Thoại",
    pin: "070198961957",
};
/// Ticket names (no PIN on a ticket).
const TICKET_NAMES: [&str; 2] = ["Nguyễn Thị Vé Lượt", "Điểu Xuân Xếp Hàng"];
/// The result number (the child's PIN) in the office's news, and the name in its note.
const NEWS_PIN: &str = "079224073068";
const NEWS_NOTE_NAME: &str = "Ông Điểu Quyết Tin Tức";

#[test]
fn a_stolen_field_hub_reveals_nothing_and_an_officer_unlocks_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let field_dir = tmp.path().join("field");
    let office_dir = tmp.path().join("office");
    // The office only signs the news here (its key, from its own directory); the field stays unpaired so
    // that its sealed dossiers stay pending.
    init_office(&office_dir);
    init_hub("field", &field_dir, Some("Tổ lưu động Bù Gia Mập"));
    // A recovery key: backups written into the data directory are encrypted to it; its secret is kept
    // outside (at the office), never on the hub.
    let recovery =
        crate::backup::recovery_key(&field_dir, tmp.path(), "recovery-key-at-the-office.txt");
    let recovery_secret = std::fs::read_to_string(&recovery).unwrap();
    // HTTPS on, so that the hub has a CA (tls/ca.key) to protect.
    let https = ["--https-listen", "127.0.0.1:0", "--sync", "off"];
    let field = Hub::start_locked("field", &field_dir, &https);
    assert!(
        field_dir.join("tls/ca.key").exists(),
        "the hub made its CA at start"
    );
    assert!(!field_dir.join("keys/keyring.json").exists());

    let sample = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();
    let photos_sent: Vec<(String, Vec<u8>)> = vec![
        ("sample photo as sent".into(), sample.clone()),
        ("photo 101 as sent".into(), distinctive_photo(101)),
        ("photo 202 as sent".into(), distinctive_photo(202)),
        ("photo 303 as sent".into(), distinctive_photo(303)),
    ];

    struct Made {
        /// Each draft's id and its photos as stored (attachment id, bytes).
        drafts: Vec<(String, Vec<Photo>)>,
        pending_photos: Vec<Vec<u8>>,
        receipts: Vec<Value>,
        session: String,
        ticket_ids: Vec<String>,
        predecl_ids: Vec<String>,
    }
    let made = block_on(async {
        // Setting up the admin protects the directory: a keyring, an encrypted database.
        let admin = Client::setup(&field, ADMIN, ADMIN_PW).await;
        assert!(
            field_dir.join("keys/keyring.json").exists(),
            "the setup of the first admin protected the data directory"
        );
        admin.add_user(OFFICER, "officer", OFFICER_PW).await;
        admin
            .add_user("tinhnguyen", "volunteer", "Tinh-nguyen-vien-2026")
            .await;
        let officer = Client::login(&field.base, OFFICER, OFFICER_PW).await;
        let volunteer = Client::login(&field.base, "tinhnguyen", "Tinh-nguyen-vien-2026").await;

        // Two dossiers sealed before pairing: pending protection.
        let mut receipts = Vec::new();
        let mut pending_photos = Vec::new();
        for (p, photo) in [(&PENDING_A, &photos_sent[1].1), (&PENDING_B, &sample)] {
            let id = fill_draft(
                &officer,
                "marital-status-certificate",
                &marital_fields(p.name, p.pin),
                &["id_document"],
                "giay-to.jpg",
                photo,
            )
            .await;
            pending_photos.extend(stored_photos(&officer, &id).await.into_iter().map(|x| x.1));
            let r = seal_draft(&officer, &id).await;
            assert_eq!(r["protected"], false, "unpaired: pending protection {r}");
            receipts.push(r);
        }
        let (_, st) = officer.get("/api/v1/status").await;
        assert_eq!(st["pending_protection"], 2, "{st}");

        // Two drafts with photos, left unsealed.
        let mut drafts = Vec::new();
        for (p, photo, roles) in [
            (
                &DRAFT_A,
                &photos_sent[2].1,
                &["id_document", "id_document"][..],
            ),
            (&DRAFT_B, &sample, &["id_document"][..]),
        ] {
            let id = fill_draft(
                &volunteer,
                "marital-status-certificate",
                &marital_fields(p.name, p.pin),
                roles,
                "giay-to.jpg",
                photo,
            )
            .await;
            let stored = stored_photos(&volunteer, &id).await;
            drafts.push((id, stored));
        }
        // A third photo on the second draft: the distinctive one.
        let (s, b) = volunteer
            .upload(
                &drafts[1].0,
                "id_document",
                "them.jpg",
                photos_sent[3].1.clone(),
                "image/jpeg",
            )
            .await;
        assert_eq!(s, 201, "{b}");
        drafts[1].1 = stored_photos(&volunteer, &drafts[1].0).await;

        // An open outreach session with named tickets and pre-declarations from phones.
        let session = open_bu_lu_session(&officer).await;
        let mut ticket_ids = Vec::new();
        for name in TICKET_NAMES {
            let (s, t) = volunteer
                .post(
                    &format!("/api/v1/outreach/sessions/{session}/tickets"),
                    json!({ "name": name }),
                )
                .await;
            assert_eq!(s, 201, "{t}");
            assert_eq!(t["name"], name, "{t}");
            ticket_ids.push(t["id"].as_str().unwrap().to_string());
        }
        let mut predecl_ids = Vec::new();
        for p in [&PREDECL_A, &PREDECL_B] {
            predeclare(&field.base, p.name, p.pin).await;
            let (_, list) = officer.get("/api/v1/predeclarations").await;
            let id = list["predeclarations"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["title"] == p.name)
                .unwrap_or_else(|| panic!("{} in {list}", p.name))["id"]
                .as_str()
                .unwrap()
                .to_string();
            predecl_ids.push(id);
        }
        Made {
            drafts,
            pending_photos,
            receipts,
            session,
            ticket_ids,
            predecl_ids,
        }
    });

    // News from the office for the first pending dossier, stored as the uploader's pull stores them. The
    // test process unlocks the directory with the officer's password to write into it (and, later, to
    // read the plaintext of the secret files the thief must not find).
    hub::shared::unlock::unlock_password(&field_dir, OFFICER, OFFICER_PW)
        .expect("the officer's password opens the keyring");
    let note = format!("{NEWS_NOTE_NAME} đến UBND xã nhận giấy khai sinh của con.");
    assert_eq!(
        store_news(&office_dir, &field_dir, &made.receipts[0], NEWS_PIN, &note),
        2
    );

    // The CA is rotated (`hub tls rotate`, as after a move to another network): the old CA's key is kept
    // as tls/ca.old.key, sealed like the new one.
    let officer_env = [
        ("HUB_UNLOCK_USER", OFFICER),
        ("HUB_UNLOCK_PASSWORD", OFFICER_PW),
    ];
    let old_ca_pem =
        hub::shared::vault::files::read_secret(&field_dir, &field_dir.join("tls/ca.key")).unwrap();
    cli_ok(
        &["tls", "rotate", "--data", field_dir.to_str().unwrap()],
        &officer_env,
    );
    assert!(field_dir.join("tls/ca.old.key").exists());

    // A backup written into the data directory (encrypted to the recovery key: the hub is unpaired).
    std::fs::create_dir_all(field_dir.join("backups")).unwrap();
    let backup = field_dir.join("backups/truoc-khi-mat.hubbackup");
    cli_ok(
        &[
            "backup",
            "--data",
            field_dir.to_str().unwrap(),
            "--out",
            backup.to_str().unwrap(),
        ],
        &officer_env,
    );
    assert!(backup.exists());

    // The thief unplugs the hub while it runs.
    power_cut(field);

    // The secret files are sealed.
    for rel in [
        "keys/device.ed25519",
        "keys/encrypt.age",
        "tls/ca.key",
        "tls/ca.old.key",
    ] {
        let h = head(&field_dir.join(rel), SEALED.len());
        assert_eq!(
            h,
            SEALED,
            "{rel} starts with {:?}",
            String::from_utf8_lossy(&h)
        );
    }
    let db_head = head(&field_dir.join("hub.sqlite"), 16);
    assert_ne!(
        db_head, b"SQLite format 3\0",
        "hub.sqlite is not a plaintext SQLite file"
    );

    // What the thief must not find.
    let mut needles: Vec<Needle> = Vec::new();
    for p in [
        &DRAFT_A, &DRAFT_B, &PENDING_A, &PENDING_B, &PREDECL_A, &PREDECL_B,
    ] {
        needles.extend(text_needles("name", p.name));
        needles.extend(text_needles("PIN", p.pin));
    }
    for n in TICKET_NAMES {
        needles.extend(text_needles("ticket name", n));
    }
    needles.extend(text_needles("news result PIN", NEWS_PIN));
    needles.extend(text_needles("name in a news note", NEWS_NOTE_NAME));
    for (label, bytes) in &photos_sent {
        needles.extend(photo_needles(label, bytes));
    }
    for (i, (id, stored)) in made.drafts.iter().enumerate() {
        for (aid, bytes) in stored {
            needles.extend(photo_needles(
                &format!("draft {i} ({id}) photo {aid} as stored"),
                bytes,
            ));
        }
    }
    for (i, bytes) in made.pending_photos.iter().enumerate() {
        needles.extend(photo_needles(
            &format!("pending dossier {i} photo as stored"),
            bytes,
        ));
    }
    // The plaintext of the secret files, read through the unlock of this process.
    let secret = |rel: &str| {
        hub::shared::vault::files::read_secret(&field_dir, &field_dir.join(rel))
            .unwrap_or_else(|e| panic!("{rel}: {e}"))
    };
    let seed_hex = String::from_utf8(secret("keys/device.ed25519")).unwrap();
    let seed_hex = seed_hex.trim();
    assert_eq!(seed_hex.len(), 64, "a hex seed");
    needles.push(("device key seed (hex)".into(), seed_hex.as_bytes().to_vec()));
    needles.push((
        "device key seed (raw)".into(),
        hex::decode(seed_hex).unwrap(),
    ));
    let age_secret = String::from_utf8(secret("keys/encrypt.age")).unwrap();
    let age_secret = age_secret.trim();
    assert!(
        age_secret.starts_with("AGE-SECRET-KEY-1"),
        "an age identity"
    );
    needles.push(("age identity".into(), age_secret.as_bytes().to_vec()));
    needles.push((
        "an age identity's prefix".into(),
        b"AGE-SECRET-KEY-1".to_vec(),
    ));
    needles.push((
        "the recovery key's secret".into(),
        recovery_secret.trim().as_bytes().to_vec(),
    ));
    let new_ca_pem = secret("tls/ca.key");
    assert_eq!(
        secret("tls/ca.old.key"),
        old_ca_pem,
        "ca.old.key is the CA key before the rotation"
    );
    for (which, pem) in [("CA key", new_ca_pem), ("old CA key", old_ca_pem)] {
        let pem = String::from_utf8(pem).unwrap();
        let body: String = pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .concat();
        let der = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap()
        };
        for line in pem
            .lines()
            .filter(|l| l.len() >= 16 && !l.starts_with("-----"))
        {
            needles.push((
                format!("a line of the {which}'s PEM"),
                line.as_bytes().to_vec(),
            ));
        }
        needles.push((
            format!("the {which} (DER, middle)"),
            der[der.len() / 2 - 16..der.len() / 2 + 16].to_vec(),
        ));
    }
    hub::shared::vault::forget(&field_dir);

    let started = std::time::Instant::now();
    let s = search(&field_dir, &needles);
    eprintln!(
        "figures: the thief searched {} files, {} bytes, for {} needles in {} ms: {} found",
        s.files,
        s.bytes,
        needles.len(),
        started.elapsed().as_millis(),
        s.found.len()
    );
    for f in files_below(&field_dir) {
        eprintln!(
            "  {} ({} bytes)",
            f.strip_prefix(&field_dir).unwrap().display(),
            std::fs::metadata(&f).unwrap().len()
        );
    }
    for want in [
        "hub.sqlite",
        "hub.sqlite-wal",
        "keys/device.ed25519",
        "keys/encrypt.age",
        "keys/keyring.json",
        "tls/ca.key",
        "tls/ca.old.key",
        "backups/truoc-khi-mat.hubbackup",
    ] {
        assert!(
            field_dir.join(want).exists(),
            "{want} is among the files searched"
        );
    }
    assert!(
        s.found.is_empty(),
        "the thief reads {} secrets in the stolen data directory: {:#?}",
        s.found.len(),
        s.found
    );

    // Back on the same directory: the hub starts locked.
    let field = Hub::start_locked("field", &field_dir, &https);
    assert!(
        field.setup_token.is_none(),
        "no setup link: {:?}",
        field.banner
    );
    block_on(async {
        assert_locked(&field.base, "after the power cut").await;
        // The public side still answers: health, the CA certificate for team phones.
        let (s, _) = anon_get(&field.base, "/healthz").await;
        assert_eq!(s, 200);
        let r = reqwest::get(field.url("/ca.crt")).await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "/ca.crt on a locked hub");
        // The web app and the public procedure guides.
        let r = reqwest::get(field.url("/")).await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "the web app on a locked hub");
        assert!(r.text().await.unwrap().contains("<html"));
        let (s, g) = anon_get(&field.base, "/api/v1/guides/marital-status-certificate").await;
        assert_eq!(s, 200, "a guide on a locked hub: {g}");
        // Every other API call is refused, writes included.
        let r = reqwest::Client::new()
            .post(field.url("/api/v1/public/predeclarations"))
            .json(
                &json!({"procedure": {"id": "marital-status-certificate", "version": 1},
                          "fields": predeclared_fields("Người Khác", "070198000111")}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status().as_u16(),
            503,
            "a pre-declaration on a locked hub"
        );

        // An officer logs in: unlocked, and everything is there.
        let officer = unlock_by_login(&field.base, OFFICER, OFFICER_PW).await;
        let (s, list) = officer.get("/api/v1/drafts").await;
        assert_eq!(s, 200, "{list}");
        let ids: Vec<&str> = list["drafts"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| d["id"].as_str())
            .collect();
        for (id, stored) in &made.drafts {
            assert!(ids.contains(&id.as_str()), "draft {id} in {list}");
            let (s, d) = officer.get(&format!("/api/v1/drafts/{id}")).await;
            assert_eq!(s, 200, "{d}");
            let text = d.to_string();
            assert!(
                [&DRAFT_A, &DRAFT_B]
                    .iter()
                    .any(|p| text.contains(p.name) && text.contains(p.pin)),
                "the draft's name and PIN: {d}"
            );
            assert_eq!(
                stored_photos(&officer, id).await,
                *stored,
                "the photos of draft {id}, byte for byte"
            );
        }
        let (_, st) = officer.get("/api/v1/status").await;
        assert_eq!(st["pending_protection"], 2, "pending dossiers: {st}");
        let (s, dossiers) = officer.get("/api/v1/dossiers").await;
        assert_eq!(s, 200, "{dossiers}");
        for r in &made.receipts {
            let code = r["code"].as_str().unwrap();
            assert!(
                dossiers.to_string().contains(code),
                "dossier {code} listed: {dossiers}"
            );
        }
        let (s, pre) = officer.get("/api/v1/predeclarations").await;
        assert_eq!(s, 200, "{pre}");
        for (p, id) in [&PREDECL_A, &PREDECL_B].iter().zip(&made.predecl_ids) {
            assert!(
                pre.to_string().contains(p.name) && pre.to_string().contains(id.as_str()),
                "pre-declaration of {}: {pre}",
                p.name
            );
        }
        // Taking one makes a draft with the villager's answers, PIN included.
        let (s, taken) = officer
            .post(
                &format!("/api/v1/predeclarations/{}/take", made.predecl_ids[0]),
                json!({}),
            )
            .await;
        assert_eq!(s, 201, "{taken}");
        let taken_draft = taken["id"].as_str().unwrap().to_string();
        let (_, d) = officer.get(&format!("/api/v1/drafts/{taken_draft}")).await;
        assert!(
            d.to_string().contains(PREDECL_A.pin),
            "the pre-declared PIN: {d}"
        );
        let (s, news) = officer.get("/api/v1/news").await;
        assert_eq!(s, 200, "{news}");
        // (Shown as unverified: the field is not paired with the office that signed them.)
        assert_eq!(
            news["hamlets"][0]["items"].as_array().map(Vec::len),
            Some(2),
            "{news}"
        );
        assert!(
            news.to_string().contains(NEWS_PIN) && news.to_string().contains(NEWS_NOTE_NAME),
            "the office's news: {news}"
        );
        let (s, tickets) = officer
            .get(&format!(
                "/api/v1/outreach/sessions/{}/tickets",
                made.session
            ))
            .await;
        assert_eq!(s, 200, "{tickets}");
        for (name, id) in TICKET_NAMES.iter().zip(&made.ticket_ids) {
            assert!(
                tickets.to_string().contains(name) && tickets.to_string().contains(id.as_str()),
                "ticket of {name}: {tickets}"
            );
        }
        // Capture goes on: a new draft saves.
        let (s, d) = officer
            .post(
                "/api/v1/drafts",
                json!({"procedure": {"id": "marital-status-certificate", "version": 1}, "fields": {}}),
            )
            .await;
        assert_eq!(s, 201, "{d}");
    });
}

/// Polls the field's upload status until `pred` holds (at most `secs`).
async fn wait_upload(c: &Client, secs: u64, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let (s, b) = c.get("/api/v1/upload/status").await;
        assert_eq!(s, 200, "{b}");
        if pred(&b) {
            return b;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out; last status {b:#}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}

/// The same thief, later in a hub's life: paired with its office, its dossiers uploaded and acknowledged
/// over a real sync session, and the office's status news (a result PIN, a name in the note) pulled by the
/// field's uploader. Then a power cut: nothing of it is on the field hub's disk; after the restart and an
/// officer's login the news is there, verified with the office key.
#[test]
fn a_stolen_paired_hub_reveals_nothing_of_its_uploads_and_news() {
    let tmp = tempfile::tempdir().unwrap();
    let field_dir = tmp.path().join("field");
    let office_dir = tmp.path().join("office");
    init_hub("field", &field_dir, Some("Tổ lưu động Bù Khơn"));
    init_office(&office_dir);
    pair_by_files(tmp.path(), &field_dir, &office_dir);
    let office = Hub::start("office", &office_dir);
    let args = ["--sync", "off", "--office-url", office.base.as_str()];
    let field = Hub::start_locked("field", &field_dir, &args);
    let sealed = [
        Person {
            name: "Điểu Thị Đã Gửi",
            pin: "070198402915",
        },
        Person {
            name: "K'Brơi Văn Đồng Bộ",
            pin: "070198513026",
        },
    ];
    let draft = Person {
        name: "Lâm Thị Còn Nháp",
        pin: "070198624137",
    };
    let news_pin = "079224185179";
    let news_name = "Bà Điểu Thị Báo Tin";
    let mut photos_stored = Vec::new();

    let (codes, draft_id) = block_on(async {
        let admin = Client::setup(&field, ADMIN, ADMIN_PW).await;
        admin.add_user(OFFICER, "officer", OFFICER_PW).await;
        let officer = Client::login(&field.base, OFFICER, OFFICER_PW).await;
        let mut codes = Vec::new();
        for (i, p) in sealed.iter().enumerate() {
            let id = fill_draft(
                &officer,
                "marital-status-certificate",
                &marital_fields(p.name, p.pin),
                &["id_document"],
                "giay-to.jpg",
                &distinctive_photo(500 + i as u32),
            )
            .await;
            photos_stored.extend(stored_photos(&officer, &id).await);
            let r = seal_draft(&officer, &id).await;
            assert_eq!(r["protected"], true, "paired: sealed to the office {r}");
            codes.push(r["code"].as_str().unwrap().to_string());
        }
        let draft_id = fill_draft(
            &officer,
            "marital-status-certificate",
            &marital_fields(draft.name, draft.pin),
            &["id_document"],
            "giay-to.jpg",
            &distinctive_photo(600),
        )
        .await;
        photos_stored.extend(stored_photos(&officer, &draft_id).await);

        // Upload over a real sync session; the office acknowledges both.
        let (s, b) = officer.post("/api/v1/upload/run", json!({})).await;
        assert_eq!(s, 202, "{b}");
        wait_upload(&officer, 90, |b| b["counts"]["acked"] == 2).await;

        // The office's clerk publishes the result of the first one.
        let (_, clerk) = office_clerk(&office).await;
        let (_, list) = clerk.get("/api/v1/office/dossiers").await;
        let dossier = list["dossiers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["receipt_code"] == codes[0].as_str())
            .unwrap_or_else(|| panic!("{} at the office: {list}", codes[0]))["dossier_id"]
            .as_str()
            .unwrap()
            .to_string();
        let (s, b) = clerk
            .post(
                &format!("/api/v1/office/dossiers/{dossier}/news"),
                json!({"status": {"kind": "registered",
                                  "result_numbers": [{"kind": "pin", "number": news_pin}]},
                       "note": format!("{news_name} nhận kết quả tại UBND xã.")}),
            )
            .await;
        assert_eq!(s, 201, "{b}");

        // The field's next run pulls it.
        let (s, b) = officer.post("/api/v1/upload/run", json!({})).await;
        assert_eq!(s, 202, "{b}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let (_, n) = officer.get("/api/v1/news").await;
            if n.to_string().contains(news_pin) {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "no news pulled: {n}");
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
        (codes, draft_id)
    });
    drop(office);
    power_cut(field);

    let mut needles: Vec<Needle> = Vec::new();
    for p in sealed.iter().chain([&draft]) {
        needles.extend(text_needles("name", p.name));
        needles.extend(text_needles("PIN", p.pin));
    }
    needles.extend(text_needles("news result PIN", news_pin));
    needles.extend(text_needles("name in the news note", news_name));
    for (aid, bytes) in &photos_stored {
        needles.extend(photo_needles(&format!("photo {aid} as stored"), bytes));
    }
    needles.push((
        "an age identity's prefix".into(),
        b"AGE-SECRET-KEY-1".to_vec(),
    ));
    let s = search(&field_dir, &needles);
    eprintln!(
        "figures: the thief searched {} files, {} bytes of the paired hub for {} needles: {} found",
        s.files,
        s.bytes,
        needles.len(),
        s.found.len()
    );
    assert!(
        s.found.is_empty(),
        "the thief reads in the paired hub's directory: {:#?}",
        s.found
    );

    let field = Hub::start_locked("field", &field_dir, &["--sync", "off"]);
    block_on(async {
        assert_locked(&field.base, "the paired hub after the power cut").await;
        let officer = unlock_by_login(&field.base, OFFICER, OFFICER_PW).await;
        let (_, news) = officer.get("/api/v1/news").await;
        assert_eq!(
            news["unverified"], 0,
            "verified with the office key: {news}"
        );
        assert!(
            news.to_string().contains(news_pin) && news.to_string().contains(news_name),
            "{news}"
        );
        let (s, d) = officer.get(&format!("/api/v1/drafts/{draft_id}")).await;
        assert_eq!(s, 200, "{d}");
        let (_, list) = officer.get("/api/v1/dossiers").await;
        for code in &codes {
            assert!(list.to_string().contains(code.as_str()), "{code}: {list}");
        }
        let (_, st) = officer.get("/api/v1/upload/status").await;
        assert_eq!(st["counts"]["acked"], 2, "{st}");
    });
}
