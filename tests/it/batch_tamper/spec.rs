//! Where the office once disagreed with docs/protocol.md (issue 18, finding 10): each case is a batch whose
//! every signature verifies — only a rule of the spec is broken — and the office must refuse it (the file)
//! or quarantine it (the envelope) with the spec's check code, instead of storing it. The same cases are in
//! `protocol/vectors/rejections.json`.

use std::path::PathBuf;

use protocol::{
    canonical_bytes, BatchManifest, BlobRef, Disposition, Dossier, EnvelopeHeader, SignedDossier,
};
use unicode_normalization::UnicodeNormalization;

use super::*;

/// The field's signing key and the office's age identity and recipient of the fixture.
struct Keys {
    field: hub::shared::keys::HubKeys,
    office: hub::shared::keys::HubKeys,
}

fn keys(fx: &Fixture) -> Keys {
    Keys {
        field: crate::common::hub_keys(&fx.field_dir),
        office: crate::common::hub_keys(&fx.root.join("office-template")),
    }
}

/// Re-signs the manifest row of `c` after `edit`, with the field key (so only the edit is "wrong").
fn resign_manifest(c: &Connection, k: &Keys, edit: impl FnOnce(&mut BatchManifest)) {
    let body: Vec<u8> = c
        .query_row("SELECT body FROM manifest", [], |r| r.get(0))
        .unwrap();
    let mut m = BatchManifest::from_bytes(&body).unwrap();
    edit(&mut m);
    let signed = m.clone().sign(&k.field.device).unwrap();
    c.execute(
        "UPDATE manifest SET body = ?1, signature = ?2",
        rusqlite::params![canonical_bytes(&m).unwrap(), signed.signature.to_hex()],
    )
    .unwrap();
}

/// A copy of the good batch whose last envelope (seq 3) carries a dossier changed by `edit_dossier` and a
/// header changed by `edit_header`, both signed again by the field key and sealed again to the office, with
/// the manifest updated and signed again: every signature and hash verifies.
fn resealed(
    fx: &Fixture,
    name: &str,
    edit_dossier: impl FnOnce(&mut Dossier),
    edit_header: impl FnOnce(&mut EnvelopeHeader),
) -> PathBuf {
    let k = keys(fx);
    altered(fx, name, |c| {
        let (header, payload): (Vec<u8>, Vec<u8>) = c
            .query_row(
                "SELECT header, payload FROM envelopes WHERE seq = 3",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let plain = protocol::decrypt_with(k.office.age_identity(), &payload).unwrap();
        let mut d = SignedDossier::from_bytes(&plain).unwrap().dossier;
        edit_dossier(&mut d);
        let sealed = d.clone().sign(&k.field.device).unwrap().to_bytes().unwrap();
        let ct =
            protocol::encrypt_to(std::slice::from_ref(&k.office.age_recipient), &sealed).unwrap();
        let mut h = EnvelopeHeader::from_bytes(&header).unwrap();
        h.payload = BlobRef::of(&ct);
        if d.attachments.is_empty() {
            h.blobs.clear();
        }
        edit_header(&mut h);
        let sig = h.clone().sign(&k.field.device).unwrap().signature;
        c.execute(
            "UPDATE envelopes SET header = ?1, signature = ?2, payload = ?3 WHERE seq = 3",
            rusqlite::params![h.to_bytes().unwrap(), sig.to_hex(), ct],
        )
        .unwrap();
        let hash = h.hash().unwrap();
        resign_manifest(c, &k, |m| {
            let e = m.envelopes.iter_mut().find(|e| e.seq == 3).unwrap();
            e.hash = hash.clone();
            e.payload = h.payload.clone();
            e.blobs = h.blobs.clone();
            m.chain_head.hash = hash;
        });
    })
}

#[test]
fn resealing_with_nothing_broken_is_stored() {
    // Control: the re-sealing the cases below use, with nothing broken, is stored whole.
    let fx = fixture();
    let o = office(&fx, "o-control");
    let b = resealed(&fx, "control.batch", |_| {}, |_| {});
    let (code, report) = batch_import_json(&o, &b);
    assert_eq!(
        (code, &report["stored"]),
        (0, &serde_json::json!(3)),
        "{report:#}"
    );
}

#[test]
fn a_cancellation_carrying_fields_is_quarantined() {
    let fx = fixture();
    // (a) §3.1.1: a cancellation carrying fields MUST be rejected (it was stored with a failed check).
    let o = office(&fx, "o-voids");
    let b = resealed(
        &fx,
        "voids.batch",
        |d| {
            d.attachments.clear();
            d.disposition = Disposition::Voids {
                dossier_id: "019a9f3e-6c00-7000-8000-0000000000ff".into(),
                reason: "Người dân rút hồ sơ".into(),
            };
            assert!(!d.fields.is_empty());
        },
        |_| {},
    );
    let r = assert_quarantined(&fx, &o, &b, "format", 3, 2);
    assert!(
        r["quarantined"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("cancellation"),
        "{r:#}"
    );
    assert_eq!(stored_count(&o), 2);
}

#[test]
fn manifest_entries_out_of_order_are_refused() {
    let fx = fixture();
    // (b) §3.4: manifest entries out of seq order MUST be refused, not sorted (the chain head stays last,
    // so only the order is wrong).
    let o = office(&fx, "o-order");
    let k = keys(&fx);
    let b = altered(&fx, "order.batch", |c| {
        resign_manifest(c, &k, |m| m.envelopes.swap(0, 1))
    });
    let r = assert_refused(&o, &b, "manifest_mismatch", None);
    assert!(
        r["problems"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("ascending"),
        "{r:#}"
    );
    assert_eq!(stored_count(&o), 0);
}

#[test]
fn a_header_sealed_at_other_than_the_dossier_s_is_quarantined() {
    let fx = fixture();
    // (c) §3.2: a header whose sealed_at differs from the dossier's (both signed) is quarantined.
    let o = office(&fx, "o-sealed-at");
    let b = resealed(
        &fx,
        "sealed-at.batch",
        |_| {},
        |h| h.sealed_at = "2001-01-01T00:00:00Z".into(),
    );
    let r = assert_quarantined(&fx, &o, &b, "format", 3, 2);
    assert!(
        r["quarantined"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("sealed_at"),
        "{r:#}"
    );
}

#[test]
fn batch_meta_copies_other_than_the_manifest_are_refused() {
    let fx = fixture();
    // (d) §8: batch_meta's unsigned copies MUST equal the signed manifest's.
    for (key, value) in [
        ("batch_id", "019a9f3e-9000-7000-8000-0000000000ee"),
        ("device_id", "0000000000000000"),
        ("created_at", "2001-01-01T00:00:00Z"),
    ] {
        let o = office(&fx, &format!("o-meta-{key}"));
        let b = altered(&fx, &format!("meta-{key}.batch"), |c| {
            c.execute(
                "UPDATE batch_meta SET value = ?1 WHERE key = ?2",
                [value, key],
            )
            .unwrap();
        });
        let r = assert_refused(&o, &b, "manifest_mismatch", None);
        assert!(
            r["problems"][0]["detail"].as_str().unwrap().contains(key),
            "{r:#}"
        );
    }
}

#[test]
fn a_decomposed_nfd_value_is_quarantined() {
    let fx = fixture();
    // (e) §1: a field value in NFD (decomposed) is not the NFC the spec requires.
    let o = office(&fx, "o-nfd");
    let b = resealed(
        &fx,
        "nfd.batch",
        |d| {
            let v = d.fields.get_mut("subject.full_name").unwrap();
            let nfd: String = v.nfd().collect();
            assert_ne!(&nfd, v, "the name has letters that decompose");
            *v = nfd;
        },
        |_| {},
    );
    let r = assert_quarantined(&fx, &o, &b, "format", 3, 2);
    assert!(
        r["quarantined"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("NFC"),
        "{r:#}"
    );
}
