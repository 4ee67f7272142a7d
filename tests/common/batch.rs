//! Fixtures for the tests that feed one batch file to many offices (`batch_tamper`, `intake`): a field
//! hub's sealed work exported once, encrypted to an office key that a template directory holds, and fresh
//! office data directories with that key which trust the field hub.

use std::path::{Path, PathBuf};

use super::*;

/// What [`sealed_field_batch`] made, all inside its `root`.
pub struct SealedBatch {
    /// The field hub's data directory (`root/field`); the hub is stopped.
    pub field_dir: PathBuf,
    /// The office data directory whose keys every office copies (`root/office-template`), never started.
    pub template: PathBuf,
    /// The field hub's key card (`root/field.pub`).
    pub field_card: PathBuf,
    /// Everything the field sealed, exported (`root/all.batch`).
    pub batch: PathBuf,
}

/// In `root`: initialises the office template, starts a field hub that trusts the template's key card
/// (`root/office.pub`), runs `before_sealing` with the field's data directory, seals three marital-status
/// dossiers with `photo` (one photo each), stops the field hub, writes its key card and exports its batch.
pub fn sealed_field_batch(
    root: &Path,
    photo: &[u8],
    before_sealing: impl FnOnce(&Path),
) -> SealedBatch {
    let field_dir = root.join("field");
    let template = root.join("office-template");
    init_hub("office", &template, None);
    let field = Hub::start("field", &field_dir);
    let office_card = root.join("office.pub");
    key_card(&template, &office_card);
    trust_card(&field_dir, &office_card);
    before_sealing(&field_dir);
    block_on(async {
        let admin = Client::setup(&field, "quantri", "mat-khau-quan-tri").await;
        for (name, pin) in [
            ("Điểu Thị Hạnh", "070198001234"),
            ("Thị Sa Ly", "058198004567"),
            ("Ka Thị Nga", "070198009876"),
        ] {
            capture_and_seal(&admin, name, pin, photo).await;
        }
    });
    drop(field);
    let field_card = root.join("field.pub");
    key_card(&field_dir, &field_card);
    let batch = root.join("all.batch");
    batch_export(&field_dir, &batch, &[]);
    SealedBatch {
        field_dir,
        template,
        field_card,
        batch,
    }
}

/// A fresh office data directory `root/name` with the keys of `root/office-template` (the key the field
/// encrypted to) that trusts the field's key card `field_card` by file (status approved).
pub fn office_from_template(root: &Path, name: &str, field_card: &Path) -> PathBuf {
    let dir = root.join(name);
    copy_dir(&root.join("office-template/keys"), &dir.join("keys"));
    init_hub("office", &dir, None);
    trust_card(&dir, field_card);
    dir
}
