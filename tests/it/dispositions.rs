//! Refusals, corrections and cancellations on real processes: a sealed dossier is never edited in place;
//! each change is a sealed dossier of its own that names the earlier one, so the chain has no hole and the
//! office receives the whole history (protocol §3.1.1).

use crate::common::*;
use serde_json::{json, Value};

async fn new_draft(c: &Client, fields: Value) -> String {
    let (st, d) = c
        .post(
            "/api/v1/drafts",
            json!({"procedure": {"id": "marital-status-certificate", "version": 1}, "fields": fields}),
        )
        .await;
    assert_eq!(st, 201, "{d}");
    d["id"].as_str().unwrap().to_owned()
}

#[test]
fn refusals_corrections_and_cancellations_reach_the_office_as_history() {
    // This commune counts 5 working days for the certificate (a configured time limit).
    let (tmp, field_dir, office_dir, field) =
        paired_field(&["--time-limit", "marital-status-certificate=5"]);
    let photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();

    let (original, correction, refused, void) = block_on(async {
        let (_admin, officer, volunteer) = field_team(&field).await;
        let (_, procs) = officer.get("/api/v1/procedures").await;
        let limit = |id: &str| {
            procs["procedures"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["id"] == id)
                .unwrap()["time_limit_working_days"]
                .clone()
        };
        assert_eq!(limit("marital-status-certificate"), 5, "configured");
        assert_eq!(limit("birth-residence-insurance"), 3, "catalogue default");

        let (original, _) =
            capture_and_seal(&officer, "Điểu Thị Hạnh", "070198001234", &photo).await;
        assert_eq!(original["disposition"], "new");
        let original_id = original["dossier_id"].as_str().unwrap().to_owned();

        // A correction is a complete new dossier that names the one it replaces, with a reason.
        let mut fields = marital_fields("Điểu Thị Hạnh", "070198001234");
        fields.insert(
            "request.purpose".into(),
            "Làm thủ tục kết hôn với người nước ngoài".into(),
        );
        let id = new_draft(&officer, json!(fields)).await;
        let (st, _) = officer
            .upload(
                &id,
                "id_document",
                "giay-to.jpg",
                photo.clone(),
                "image/jpeg",
            )
            .await;
        assert_eq!(st, 201);
        let corrects =
            json!({"corrects": {"dossier_id": original_id, "reason": "Ghi sai mục đích sử dụng"}});
        let (st, correction) = officer
            .post(&format!("/api/v1/drafts/{id}/seal"), corrects.clone())
            .await;
        assert_eq!(st, 201, "{correction}");
        assert_eq!(correction["disposition"], "supersedes");
        assert_eq!(correction["refers_to"], original_id.as_str());
        assert_ne!(
            correction["code"], original["code"],
            "a correction has its own receipt"
        );
        // The same dossier cannot be corrected twice: work on the latest version.
        let id2 = new_draft(&officer, json!(fields)).await;
        let (st, b) = officer
            .post(&format!("/api/v1/drafts/{id2}/seal"), corrects)
            .await;
        assert_eq!(st, 422, "{b}");
        assert_eq!(b["error"]["details"][0]["code"], "already_replaced", "{b}");

        // Refused at the session: sealed with what was captured (draft-stage rules) and a reason.
        let id3 = new_draft(&officer, json!({"subject.full_name": "Thị Sa Ly"})).await;
        let (st, b) = volunteer
            .post(
                &format!("/api/v1/drafts/{id3}/refuse"),
                json!({"reason": "Không có giấy tờ"}),
            )
            .await;
        assert_eq!(st, 403, "volunteers cannot refuse: {b}");
        let (st, b) = officer
            .post(
                &format!("/api/v1/drafts/{id3}/refuse"),
                json!({"reason": "  "}),
            )
            .await;
        assert_eq!(st, 422, "{b}");
        assert_eq!(b["error"]["details"][0]["field"], "reason");
        let (st, refused) = officer
            .post(
                &format!("/api/v1/drafts/{id3}/refuse"),
                json!({"reason": "Người yêu cầu không mang giấy tờ tùy thân"}),
            )
            .await;
        assert_eq!(st, 201, "{refused}");
        assert_eq!(refused["disposition"], "refused");

        // Cancelled: the villager withdraws the corrected request.
        let cid = correction["dossier_id"].as_str().unwrap();
        let (st, _) = officer
            .post(
                "/api/v1/dossiers/019a0000-0000-7000-8000-000000000000/void",
                json!({"reason": "x"}),
            )
            .await;
        assert_eq!(st, 404);
        let (st, void) = officer
            .post(
                &format!("/api/v1/dossiers/{cid}/void"),
                json!({"reason": "Người dân rút hồ sơ"}),
            )
            .await;
        assert_eq!(st, 201, "{void}");
        assert_eq!(void["disposition"], "voids");
        assert_eq!(void["refers_to"], cid);

        // The field list shows the history: each replaced dossier names what replaced it.
        let (_, list) = officer.get("/api/v1/dossiers").await;
        let by_id = |id: &str| {
            list["dossiers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["dossier_id"] == id)
                .cloned()
                .unwrap()
        };
        assert_eq!(by_id(&original_id)["replaced_by"], cid);
        assert_eq!(by_id(cid)["replaced_by"], void["dossier_id"]);
        assert_eq!(list["dossiers"].as_array().unwrap().len(), 4);
        (original, correction, refused, void)
    });

    // The chain has no hole: four dossiers, four envelopes; the office stores all four with their links.
    let batch = tmp.path().join("lan-1.batch");
    let out = batch_export(&field_dir, &batch, &[]);
    assert!(out.contains("4 envelope(s)"), "{out}");
    let (_, report) = batch_import_json(&office_dir, &batch);
    assert_eq!(report["accepted"], true, "{report:#}");
    assert_eq!(report["stored"], 4);

    let office = Hub::start("office", &office_dir);
    block_on(async {
        let (_admin, clerk) = office_clerk(&office).await;
        let get = |r: &Value| {
            let id = r["dossier_id"].as_str().unwrap().to_owned();
            let clerk = &clerk;
            async move { clerk.get(&format!("/api/v1/office/dossiers/{id}")).await.1 }
        };
        let o = get(&original).await;
        assert_eq!(o["disposition"], "new");
        assert_eq!(o["replaced_by"], correction["dossier_id"]);
        let c = get(&correction).await;
        assert_eq!(c["disposition"], "supersedes");
        assert_eq!(c["refers_to"], original["dossier_id"]);
        assert_eq!(c["reason"], "Ghi sai mục đích sử dụng");
        assert_eq!(c["replaced_by"], void["dossier_id"]);
        let r = get(&refused).await;
        assert_eq!(r["disposition"], "refused");
        assert_eq!(r["fields"]["subject.full_name"], "Thị Sa Ly");
        let v = get(&void).await;
        assert_eq!(v["disposition"], "voids");
        assert_eq!(v["fields"], json!({}));
        for d in [&o, &c, &r, &v] {
            assert!(
                d["checks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|c| c["ok"] == true),
                "every check passes for a {}: {}",
                d["disposition"],
                d["checks"]
            );
            // What each check found reads in Vietnamese (and in English apart), fields by their label,
            // never an English sentence or a raw key on the clerk's Vietnamese page.
            for c in d["checks"].as_array().unwrap() {
                let vi = c["detail_vi"].as_str().unwrap_or_default();
                let en = c["detail_en"].as_str().unwrap_or_default();
                assert!(!vi.is_empty() && !en.is_empty(), "{c}");
                assert_eq!(c["detail"], c["detail_en"], "{c}");
                for english in [
                    "signed by",
                    "ciphertext",
                    "photo(s)",
                    "rules",
                    "dossier",
                    "new",
                    "refused",
                ] {
                    assert!(!vi.contains(english), "English in {c}");
                }
                assert!(
                    !vi.contains("subject.") && !vi.contains("requester."),
                    "a raw key in {c}"
                );
            }
            let disposition = d["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["check"] == "disposition")
                .unwrap()["detail_vi"]
                .as_str()
                .unwrap()
                .to_owned();
            let want = match d["disposition"].as_str().unwrap() {
                "new" => "Hồ sơ mới".to_owned(),
                "refused" => "Từ chối tại buổi lưu động".to_owned(),
                "supersedes" => format!("Bản sửa cho hồ sơ {}", d["refers_to"].as_str().unwrap()),
                _ => format!("Huỷ hồ sơ {}", d["refers_to"].as_str().unwrap()),
            };
            assert_eq!(disposition, want);
        }
    });
}
