//! Reconciliation at the office on real hubs: a field hub seals six dossiers in an outreach session and
//! exports them in two batch files (1–3, 4–6). The office imports the second only: the ledger shows 1–3
//! missing, named by their session, and the device is not complete; a tampered copy of the first batch
//! sets no. 2 aside (quarantined, with its reason); the good first batch completes the ledger. Expected vs
//! received per session follows. Two 3-in-1 dossiers for the same child and two marital requests with the
//! same PIN are listed as duplicates; merge and keep decisions take them off the list, with the merge in
//! merged_away and both decisions in the audit log.

use std::path::Path;

use crate::common::*;
use serde_json::{json, Value};

fn small_jpeg() -> Vec<u8> {
    jpeg_of(64, 48, |x, y| [(x * 4) as u8, (y * 5) as u8, 90])
}

fn export(field_dir: &Path, out: &Path, from_seq: u64) {
    batch_export(field_dir, out, &["--from-seq", &from_seq.to_string()]);
}

/// Starts the office, signs the clerk in, runs `f`, stops the office.
fn with_office<T>(office_dir: &Path, f: impl AsyncFnOnce(&Client) -> T) -> T {
    let office = Hub::start("office", office_dir);
    block_on(async {
        let clerk = Client::login(&office.base, "vanthu", "mat-khau-12345").await;
        f(&clerk).await
    })
}

fn runs(l: &Value) -> Vec<(String, u64, u64)> {
    l["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["state"].as_str().unwrap().to_string(),
                r["from"].as_u64().unwrap(),
                r["to"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn ledger_gap_quarantine_complete_sessions_and_duplicates() {
    // Field: six dossiers in one outreach session, exported as 1–3 then 4–6.
    let (tmp, field_dir, office_dir, field) = paired_field(&[]);
    cli_ok(
        &[
            "user",
            "add",
            "--data",
            office_dir.to_str().unwrap(),
            "--name",
            "vanthu",
            "--role",
            "clerk",
        ],
        &[("HUB_PASSWORD", "mat-khau-12345")],
    );
    let photo = small_jpeg();
    let born = (time::OffsetDateTime::now_utc() - time::Duration::days(20))
        .date()
        .to_string();
    let batch_a = tmp.path().join("a.batch");
    let batch_b = tmp.path().join("b.batch");
    let (field_id, sid) = block_on(async {
        let officer = field_officer(&field, "mat-khau-12345").await;
        let sid = open_bu_lu_session(&officer).await;
        capture_and_seal(&officer, "Điểu Thị Hạnh", "070198001111", &photo).await;
        capture_and_seal(&officer, "Ka Thị Nga", "070198009876", &photo).await;
        capture_and_seal(&officer, "Thị Sa Ly", "058198004567", &photo).await;
        export(&field_dir, &batch_a, 1);
        seal_three_in_one(&officer, "Điểu Thị Mai", &born, &photo).await;
        seal_three_in_one(&officer, "điểu thị  MAI", &born, &photo).await;
        capture_and_seal(&officer, "Thị Sa Ly", "058198004567", &photo).await;
        export(&field_dir, &batch_b, 4);
        let (_, h) = officer.get("/healthz").await;
        (h["device_id"].as_str().unwrap().to_string(), sid)
    });
    drop(field);

    // The office gets the second batch only: 1–3 are missing, named by their session.
    let (_, r) = batch_import_json(&office_dir, &batch_b);
    assert_eq!(r["stored"], 3, "{r}");
    with_office(&office_dir, async |clerk| {
        let (s, all) = clerk.get("/api/v1/office/ledger").await;
        assert_eq!(s, 200, "{all}");
        let dev = all["devices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["device_id"] == field_id.as_str())
            .unwrap_or_else(|| panic!("{all}"));
        assert_eq!(dev["head"], 6, "{dev}");
        assert_eq!(dev["received"], 3);
        assert_eq!(dev["missing"], 3);
        assert_eq!(dev["complete"], false);
        assert_eq!(dev["status"], "approved");
        assert_eq!(all["complete"], false);

        let (s, l) = clerk
            .get(&format!(
                "/api/v1/office/ledger/{field_id}?from=1&limit=500"
            ))
            .await;
        assert_eq!(s, 200, "{l}");
        assert_eq!(
            runs(&l),
            vec![("missing".into(), 1, 3), ("received".into(), 4, 6)]
        );
        assert_eq!(l["runs"][0]["session_id"], sid.as_str(), "{l}");
        assert_eq!(l["runs"][0]["hamlet"], "Thôn Bù Lư");
        assert_eq!(l["runs"][0]["procedures"]["marital-status-certificate"], 3);
        assert_eq!(l["rows"].as_array().unwrap().len(), 6);
        assert_eq!(l["rows"][3]["state"], "received");
        assert_eq!(l["rows"][3]["procedure_id"], "birth-residence-insurance");

        let (s, ss) = clerk
            .get("/api/v1/office/ledger/sessions?from=2000-01-01&to=2100-01-01")
            .await;
        assert_eq!(s, 200, "{ss}");
        let row = &ss["sessions"][0];
        assert_eq!(row["session_id"], sid.as_str(), "{ss}");
        assert_eq!(row["summary_received"], true);
        assert_eq!(
            (&row["expected"], &row["received"], &row["missing"]),
            (&json!(6), &json!(3), &json!(3))
        );
        assert_eq!(row["missing_seqs"], json!([1, 2, 3]));
        assert_eq!(
            row["by_procedure"]["birth-residence-insurance"]["received"],
            2
        );
        assert_eq!(ss["by_hamlet"]["Thôn Bù Lư"]["expected"], 6);
        assert_eq!(
            ss["by_procedure"]["marital-status-certificate"]["missing"],
            3
        );

        // Unknown device, bad parameters.
        let (s, _) = clerk.get("/api/v1/office/ledger/nope").await;
        assert_eq!(s, 404);
        let (s, e) = clerk
            .get("/api/v1/office/ledger/sessions?from=yesterday")
            .await;
        assert_eq!((s, e["error"]["field"].as_str()), (422, Some("from")));
    });

    // A tampered copy of the first batch: no. 2's contents zeroed. It is set aside with its reason.
    let tampered = tmp.path().join("a-tampered.batch");
    std::fs::copy(&batch_a, &tampered).unwrap();
    {
        let c = crate::common::db(&tampered).unwrap();
        c.execute(
            "UPDATE envelopes SET payload = CAST(zeroblob(length(payload)) AS BLOB) WHERE seq = 2",
            [],
        )
        .unwrap();
    }
    let (_, r) = batch_import_json(&office_dir, &tampered);
    assert_eq!(r["stored"], 2, "{r}");
    with_office(&office_dir, async |clerk| {
        let (_, l) = clerk
            .get(&format!("/api/v1/office/ledger/{field_id}"))
            .await;
        assert_eq!(
            runs(&l),
            vec![
                ("received".into(), 1, 1),
                ("quarantined".into(), 2, 2),
                ("received".into(), 3, 6)
            ]
        );
        let q = &l["runs"][1];
        assert_eq!(q["reason"], "payload_hash", "{q}");
        assert!(q["explain_vi"].as_str().unwrap().contains("gửi lại"));
        assert!(q["quarantine_id"].as_i64().is_some());
        assert_eq!(l["device"]["quarantined"], 1);
        assert_eq!(l["device"]["missing"], 0);
        assert_eq!(l["device"]["complete"], false);
        assert_eq!(l["rows"][1]["state"], "quarantined");
    });

    // The good first batch: the set-aside copy is settled by the good one, and the ledger is complete.
    let (_, r) = batch_import_json(&office_dir, &batch_a);
    assert_eq!(r["stored"], 1, "{r}");
    let dossiers: Vec<(u64, String)> = {
        let c = crate::common::db(office_dir.join("hub.sqlite")).unwrap();
        let mut st = c
            .prepare("SELECT seq, dossier_id FROM received_dossiers ORDER BY seq")
            .unwrap();
        st.query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let id_of = |seq: u64| dossiers.iter().find(|d| d.0 == seq).unwrap().1.clone();
    with_office(&office_dir, async |clerk| {
        let (_, all) = clerk.get("/api/v1/office/ledger").await;
        assert_eq!(all["complete"], true, "{all}");
        assert_eq!(all["devices"][0]["received"], 6);
        let (_, l) = clerk
            .get(&format!("/api/v1/office/ledger/{field_id}"))
            .await;
        assert_eq!(runs(&l), vec![("received".into(), 1, 6)]);
        let (_, ss) = clerk
            .get("/api/v1/office/ledger/sessions?from=2000-01-01&to=2100-01-01")
            .await;
        assert_eq!(ss["sessions"][0]["complete"], true, "{ss}");
        assert_eq!(ss["totals"]["received"], 6);

        // Duplicates: the two 3-in-1 for the same child (4, 5) and the two requests of Thị Sa Ly (3, 6).
        let (s, d) = clerk.get("/api/v1/office/duplicates").await;
        assert_eq!(s, 200, "{d}");
        assert_eq!(d["total"], 2, "{d}");
        let pair_of = |d: &Value, x: &str| {
            d["pairs"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["a"]["dossier_id"] == x || p["b"]["dossier_id"] == x)
                .cloned()
        };
        let child = pair_of(&d, &id_of(4)).expect("the child's pair is listed");
        assert_eq!(child["matched_on"], json!(["child_name_dob_mother"]));
        let name = child["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["key"] == "child.full_name")
            .unwrap();
        assert_eq!(name["differ"], true, "{name}");
        let sa_ly = pair_of(&d, &id_of(3)).expect("Thị Sa Ly's pair is listed");
        assert_eq!(sa_ly["matched_on"], json!(["name_dob", "pin"]));

        // Refusals: not a pair; merge without choosing.
        let (s, e) = clerk
            .post(
                "/api/v1/office/duplicates/decision",
                json!({"a": id_of(1), "b": id_of(2), "decision": "keep"}),
            )
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (409, Some("not_duplicates"))
        );
        let (s, e) = clerk
            .post(
                "/api/v1/office/duplicates/decision",
                json!({"a": id_of(4), "b": id_of(5), "decision": "merge"}),
            )
            .await;
        assert_eq!((s, e["error"]["field"].as_str()), (422, Some("kept")));

        // Merge the child's pair, keeping no. 4.
        let (s, b) = clerk
            .post(
                "/api/v1/office/duplicates/decision",
                json!({"a": id_of(5), "b": id_of(4), "decision": "merge", "kept": id_of(4),
                       "note": "Cùng một bé, nhập hai lần"}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        let (s, e) = clerk
            .post(
                "/api/v1/office/duplicates/decision",
                json!({"a": id_of(4), "b": id_of(5), "decision": "keep"}),
            )
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (409, Some("already_decided"))
        );
        // Keep both of Thị Sa Ly's requests.
        let (s, b) = clerk
            .post(
                "/api/v1/office/duplicates/decision",
                json!({"a": id_of(3), "b": id_of(6), "decision": "keep"}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        let (_, d) = clerk.get("/api/v1/office/duplicates").await;
        assert_eq!(d["total"], 0, "{d}");
    });
    let c = crate::common::db(office_dir.join("hub.sqlite")).unwrap();
    let away: Vec<(String, String)> = c
        .prepare("SELECT dossier_id, kept FROM merged_away")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(away, vec![(id_of(5), id_of(4))]);
    let actions = |id: String| -> Vec<(String, String)> {
        c.prepare("SELECT action, actor_name FROM audit_log WHERE dossier_id = ?1 ORDER BY id")
            .unwrap()
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    for seq in [4, 5] {
        assert_eq!(
            actions(id_of(seq)),
            vec![("merged".to_string(), "vanthu".to_string())]
        );
    }
    for seq in [3, 6] {
        assert_eq!(
            actions(id_of(seq)),
            vec![("kept_both".to_string(), "vanthu".to_string())]
        );
    }
}
