//! `office-load generate`: for each simulated device, a real field data directory, real sealed dossiers
//! made through the hub library's own code paths (drafts in `capture::store`, sealing in
//! `seal::engine::seal_draft`, outreach sessions in `outreach::store`), then real batch files written by
//! `batch::export`. Devices run on worker threads.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use hub::field::capture::store as drafts;
use hub::field::outreach::store::{self as outreach, NewSession, VenueKind};
use hub::field::seal::engine::{seal_draft, SealAs};
use hub::shared::auth::{AuthUser, Role};
use hub::shared::datadir::DataDir;
use protocol::{HubMode, ProcedureRef};

use crate::data::{self, Commune, Rng};

pub struct Options {
    pub office_card: PathBuf,
    pub devices: usize,
    pub per_device: usize,
    pub out: PathBuf,
    pub photo: Option<PathBuf>,
    pub threads: usize,
    /// Delete each field data directory once its batches are written (saves disk on big runs).
    pub drop_field: bool,
}

/// What one device produced.
struct DeviceDone {
    dossiers: usize,
    batches: usize,
    held_back: usize,
    duplicates: usize,
    in_sessions: usize,
}

pub fn run(o: Options) -> anyhow::Result<()> {
    let card_text = std::fs::read_to_string(&o.office_card)
        .with_context(|| format!("cannot read {}", o.office_card.display()))?;
    let card = protocol::KeyCard::parse(&card_text).context("not a valid office key card")?;
    if card.mode != HubMode::Office {
        bail!(
            "{} is a {} hub's card, not an office's",
            o.office_card.display(),
            card.mode
        );
    }
    let photo = match &o.photo {
        Some(p) => std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?,
        None => data::small_jpeg(),
    };
    for sub in ["field", "cards", "batches", "held-back"] {
        std::fs::create_dir_all(o.out.join(sub))?;
    }
    let communes = data::communes();
    if communes.is_empty() {
        bail!("the hub's admin-unit sample has no commune");
    }
    println!(
        "generating {} devices × {} dossiers = {} (photo {} bytes, {} threads) into {}",
        o.devices,
        o.per_device,
        o.devices * o.per_device,
        photo.len(),
        o.threads,
        o.out.display()
    );
    let start = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let sealed = Arc::new(AtomicUsize::new(0));
    let done_devices = Arc::new(AtomicUsize::new(0));
    let o = Arc::new(o);
    let photo = Arc::new(photo);
    let card_text = Arc::new(card_text);
    let communes = Arc::new(communes);
    let mut handles = Vec::new();
    for _ in 0..o.threads.max(1) {
        let (next, sealed, done_devices, o, photo, card_text, communes) = (
            next.clone(),
            sealed.clone(),
            done_devices.clone(),
            o.clone(),
            photo.clone(),
            card_text.clone(),
            communes.clone(),
        );
        handles.push(std::thread::spawn(move || -> anyhow::Result<Vec<DeviceDone>> {
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= o.devices {
                    return Ok(mine);
                }
                let d = device(i, &o, &photo, &card_text, &communes, &sealed)
                    .with_context(|| format!("device {i}"))?;
                let n = done_devices.fetch_add(1, Ordering::SeqCst) + 1;
                let total = sealed.load(Ordering::SeqCst);
                let secs = start.elapsed().as_secs_f64();
                println!(
                    "device {i:02} done: {} dossiers in {} batches ({} held back), {} in sessions, {} duplicates — {n}/{} devices, {total} dossiers, {:.0} dossiers/s",
                    d.dossiers, d.batches, d.held_back, d.in_sessions, d.duplicates, o.devices, total as f64 / secs
                );
                mine.push(d);
            }
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(
            h.join()
                .map_err(|_| anyhow::anyhow!("a worker panicked"))??,
        );
    }
    let secs = start.elapsed().as_secs_f64();
    let total: usize = all.iter().map(|d| d.dossiers).sum();
    println!(
        "generated {total} dossiers in {} batch files ({} held back in {}/held-back), {} in outreach sessions, {} deliberate duplicates, in {secs:.1} s ({:.0} dossiers/s); batches {}",
        all.iter().map(|d| d.batches).sum::<usize>(),
        all.iter().map(|d| d.held_back).sum::<usize>(),
        o.out.display(),
        all.iter().map(|d| d.in_sessions).sum::<usize>(),
        all.iter().map(|d| d.duplicates).sum::<usize>(),
        total as f64 / secs,
        human(dir_size(&o.out.join("batches"))? + dir_size(&o.out.join("held-back"))?),
    );
    Ok(())
}

/// How many batches device `i` exports (2–4) and whether it holds one back (a gap at the office).
pub fn batches_of(i: usize) -> (usize, Option<usize>) {
    let n = 2 + i % 3;
    let held = (n >= 3 && i % 5 == 1).then_some(1);
    (n, held)
}

fn device(
    i: usize,
    o: &Options,
    photo: &[u8],
    card_text: &str,
    communes: &[Commune],
    sealed: &AtomicUsize,
) -> anyhow::Result<DeviceDone> {
    let dir_path = o.out.join("field").join(format!("dev-{i:02}"));
    if dir_path.exists() {
        std::fs::remove_dir_all(&dir_path)?;
    }
    let name = format!("Trạm lưu động số {:02}", i + 1);
    let dir = DataDir::open_or_create(&dir_path, Some(HubMode::Field), Some(&name))?;
    std::fs::write(
        o.out.join("cards").join(format!("dev-{i:02}.pub")),
        dir.key_card()?.to_text(),
    )?;
    let card = protocol::KeyCard::parse(card_text)?;
    let me = dir.keys.device_id.clone();
    let user = dir.db.call_sync(|c| {
        // Generation only: the field hub's durability setting is not what is measured here, and a sync per
        // sealed dossier would make the 100,000 take hours on a shared disk.
        c.pragma_update(None, "synchronous", "OFF")?;
        let hash = hub::shared::auth::hash_password("mat-khau-can-bo-ho-tich")
            .map_err(|e| hub::shared::store::StoreError::Corrupt(e.to_string()))?;
        let u = hub::shared::auth::store::insert_user(c, "canbo", Role::Officer, &hash)?;
        hub::shared::trust::trust_card(c, HubMode::Field, &me, &card, card_text)
            .map_err(|e| hub::shared::store::StoreError::Corrupt(e.to_string()))?;
        Ok(u)
    })?;
    let officer = AuthUser {
        id: user.id.clone(),
        name: user.name.clone(),
        role: Role::Officer,
        csrf: String::new(),
        must_change_password: false,
    };
    let mut r = Rng::new(0xC0FFEE + i as u64 * 7919);
    let today = hub::shared::clock::today_vn();
    let (nb, held) = batches_of(i);
    let mut done = DeviceDone {
        dossiers: 0,
        batches: 0,
        held_back: 0,
        duplicates: 0,
        in_sessions: 0,
    };
    let mut from_seq = 1u64;
    let mut last_fields: Option<(ProcedureRef, std::collections::BTreeMap<String, String>)> = None;
    for b in 0..nb {
        let n = o.per_device * (b + 1) / nb - o.per_device * b / nb;
        // About 60 % of a batch is captured in outreach sessions of 40–120 dossiers, the rest at the office
        // desk (outside any session).
        let mut left = n;
        let mut in_session = n * 6 / 10;
        while left > 0 {
            let session = if in_session > 0 {
                let size = (40 + r.below(81) as usize).min(in_session);
                in_session -= size;
                let commune = r.pick(communes).clone();
                let new = NewSession {
                    hamlet: data::hamlet(&mut r),
                    venue_kind: VenueKind::CulturalHouse,
                    venue_name: format!("Nhà văn hoá {}", data::hamlet(&mut r)),
                    commune_code: Some(commune.code),
                    date: today.to_string(),
                    team: Vec::new(),
                };
                let s = dir
                    .db
                    .call_sync(|c| outreach::open_session(c, &new, &user.id))?
                    .map_err(|e| anyhow::anyhow!("open session refused: {e:?}"))?;
                Some((s.id, size))
            } else {
                None
            };
            let count = session.as_ref().map(|(_, s)| *s).unwrap_or(left);
            for _ in 0..count {
                let dup = last_fields.is_some() && r.chance(1);
                let (procedure, fields) = if dup {
                    done.duplicates += 1;
                    last_fields.clone().unwrap()
                } else if r.chance(45) {
                    let p = ProcedureRef {
                        id: "birth-residence-insurance".into(),
                        version: 1,
                    };
                    (p, data::three_in_one(&mut r, communes, today))
                } else {
                    let p = ProcedureRef {
                        id: "marital-status-certificate".into(),
                        version: 1,
                    };
                    (p, data::marital(&mut r, communes, today))
                };
                seal_one(&dir, &officer, &procedure, &fields, photo)?;
                last_fields = Some((procedure, fields));
                done.dossiers += 1;
                if session.is_some() {
                    done.in_sessions += 1;
                }
                sealed.fetch_add(1, Ordering::Relaxed);
            }
            if let Some((id, _)) = session {
                dir.db
                    .call_sync(|c| outreach::close_session(c, &id, &user.id))?
                    .map_err(|e| anyhow::anyhow!("close session refused: {e:?}"))?;
            }
            left -= count;
        }
        let folder = if held == Some(b) {
            done.held_back += 1;
            "held-back"
        } else {
            "batches"
        };
        let out = o
            .out
            .join(folder)
            .join(format!("dev-{i:02}-b{}.batch", b + 1));
        let s = hub::field::uploader::batch_file::export(&dir, &out, from_seq)?;
        from_seq = s.last_seq + 1;
        done.batches += 1;
    }
    drop(dir);
    if o.drop_field {
        std::fs::remove_dir_all(&dir_path)?;
    }
    Ok(done)
}

/// One dossier the way the field app makes it: a draft with its values, its photo(s), then sealing.
fn seal_one(
    dir: &DataDir,
    officer: &AuthUser,
    procedure: &ProcedureRef,
    fields: &std::collections::BTreeMap<String, String>,
    photo: &[u8],
) -> anyhow::Result<()> {
    let roles: &[&str] = if procedure.id == "birth-residence-insurance" {
        &["birth_certificate", "requester_id"]
    } else {
        &["id_document"]
    };
    let receipt = dir.db.call_sync(|c| {
        let tx = hub::shared::store::write_tx(c)?;
        let draft = drafts::create(&tx, procedure, fields, &officer.id, None)?;
        for role in roles {
            drafts::add_attachment(
                &tx,
                &draft.id,
                drafts::NewAttachment {
                    role,
                    name: "giay-to.jpg",
                    media_type: "image/jpeg",
                    bytes: photo,
                },
            )?;
        }
        tx.commit()?;
        seal_draft(c, &dir.keys.device, officer, &draft.id, SealAs::New)
    })?;
    match receipt {
        Ok(r) if r.protected => Ok(()),
        Ok(_) => bail!("sealed but not protected: is the office card trusted?"),
        Err(refusal) => bail!("the hub refused to seal {}: {refusal:?}", procedure.id),
    }
}

pub fn dir_size(p: &Path) -> anyhow::Result<u64> {
    let mut n = 0;
    if !p.exists() {
        return Ok(0);
    }
    for e in std::fs::read_dir(p)? {
        let e = e?;
        let m = e.metadata()?;
        n += if m.is_dir() {
            dir_size(&e.path())?
        } else {
            m.len()
        };
    }
    Ok(n)
}

pub fn human(bytes: u64) -> String {
    if bytes >= 1 << 30 {
        format!("{:.2} GiB", bytes as f64 / (1u64 << 30) as f64)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
    }
}
