//! The printed slip's record, on a real hub process: the villager's language chosen at capture goes with
//! the seal (`slip_lang`) and the papers that apply to the dossier are worked out when sealing; both are
//! kept with the receipt (no personal data) and survive a restart; an unknown or unwritten language is
//! refused with the offending field; a receipt without the record (sealed before it existed) still prints
//! every paper with its condition.

use crate::common::*;
use serde_json::{json, Value};

fn roles(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|o| o["role"].as_str().unwrap())
        .collect()
}

#[test]
fn the_slip_keeps_the_villagers_language_and_only_the_papers_that_apply() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("field");
    let photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();
    let hub = Hub::start("field", &dir);
    let code = block_on(async {
        let (admin, officer, _) = field_team(&hub).await;
        // Xtiêng is written; a language the hub only records (no script) cannot be printed.
        for (code, script) in [("stg", true), ("kdt", false)] {
            let (s, b) = admin
                .post(
                    "/api/v1/languages",
                    json!({"code": code, "native_name": format!("Tiếng {code}"), "vi_name": format!("Tiếng {code}"), "has_script": script}),
                )
                .await;
            assert_eq!(s, 201, "{b}");
        }

        // Asked for someone else: the letter of authorisation applies too.
        let mut fields = marital_fields("Điểu Thị Hạnh", "070198001234");
        fields.insert("requester.relationship".into(), "other".into());
        fields.insert("requester.relationship_other".into(), "con gái".into());
        let id = fill_draft(
            &officer,
            "marital-status-certificate",
            &fields,
            &["id_document", "authorisation_letter"],
            "giay-to.jpg",
            &photo,
        )
        .await;
        for (lang, why) in [("tlh", "unknown"), ("kdt", "no script")] {
            let (s, b) = officer
                .post(
                    &format!("/api/v1/drafts/{id}/seal"),
                    json!({ "slip_lang": lang }),
                )
                .await;
            assert_eq!(s, 422, "{why}: {b}");
            assert_eq!(b["error"]["code"], "unknown_language", "{b}");
            assert_eq!(b["error"]["field"], "slip_lang", "{b}");
            assert!(b["error"]["message_vi"]
                .as_str()
                .unwrap()
                .contains("Ngôn ngữ"));
        }
        let (s, _) = officer.get(&format!("/api/v1/drafts/{id}")).await;
        assert_eq!(s, 200, "a refused language seals nothing");
        let (s, r) = officer
            .post(
                &format!("/api/v1/drafts/{id}/seal"),
                json!({ "slip_lang": "stg" }),
            )
            .await;
        assert_eq!(s, 201, "{r}");
        let code = r["code"].as_str().unwrap().to_owned();

        let (s, slip) = officer.get(&format!("/api/v1/receipts/{code}/slip")).await;
        assert_eq!(s, 200, "{slip}");
        assert_eq!(slip["lang"], "stg");
        assert_eq!(slip["originals_apply"], true);
        assert_eq!(
            roles(&slip["originals"]),
            ["id_document", "authorisation_letter"]
        );
        assert!(slip["originals"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["only_if"].is_null()));
        assert_eq!(slip["languages"], json!(["vi", "en", "stg"]));
        // The villager's phone (the QR on the slip) lists the same papers.
        let key = slip["tracking_key"].as_str().unwrap();
        let (s, st) = Client::new(&hub.base)
            .get(&format!("/api/v1/public/receipts/{code}?k={key}"))
            .await;
        assert_eq!(s, 200, "{st}");
        assert_eq!(
            roles(&st["originals"]),
            ["id_document", "authorisation_letter"]
        );

        // A refusal at the session: the slip in the villager's language, asking for no papers.
        let id = fill_draft(
            &officer,
            "marital-status-certificate",
            &marital_fields("Thị Bích", "070198001235"),
            &["id_document"],
            "giay-to.jpg",
            &photo,
        )
        .await;
        let (s, r) = officer
            .post(
                &format!("/api/v1/drafts/{id}/refuse"),
                json!({"reason": "Thiếu giấy tờ", "slip_lang": "en"}),
            )
            .await;
        assert_eq!(s, 201, "{r}");
        let refused = r["code"].as_str().unwrap();
        let (_, slip) = officer
            .get(&format!("/api/v1/receipts/{refused}/slip"))
            .await;
        assert_eq!(slip["lang"], "en");
        assert_eq!(slip["originals"], json!([]));

        // No language given: Vietnamese.
        let (receipt, _) = capture_and_seal(&officer, "Lâm Văn Tư", "070198001236", &photo).await;
        let c = receipt["code"].as_str().unwrap();
        let (_, slip) = officer.get(&format!("/api/v1/receipts/{c}/slip")).await;
        assert_eq!(slip["lang"], "vi");
        assert_eq!(roles(&slip["originals"]), ["id_document"]);
        code
    });

    // Durable: one record per sealed dossier, kept across a restart. No name, number or answer in it.
    drop(hub);
    let db = crate::common::db(dir.join("hub.sqlite")).unwrap();
    let rows: Vec<(String, String)> = db
        .prepare("SELECT lang, originals FROM receipt_slips ORDER BY rowid")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        rows,
        [
            (
                "stg".into(),
                r#"["id_document","authorisation_letter"]"#.into()
            ),
            ("en".into(), r#"["id_document"]"#.into()),
            ("vi".into(), r#"["id_document"]"#.into()),
        ]
    );
    drop(db);
    let hub = Hub::start("field", &dir);
    block_on(async {
        let officer = Client::login(&hub.base, "canbo", "mat-khau-canbo").await;
        let (_, slip) = officer.get(&format!("/api/v1/receipts/{code}/slip")).await;
        assert_eq!(slip["lang"], "stg", "kept across a restart");
        assert_eq!(
            roles(&slip["originals"]),
            ["id_document", "authorisation_letter"]
        );

        // A receipt sealed before the record existed: make one and forget its record.
        let photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();
        let (receipt, _) = capture_and_seal(&officer, "Điểu Văn Sơn", "070198001237", &photo).await;
        let old = receipt["code"].as_str().unwrap().to_owned();
        let o2 = old.clone();
        let db = crate::common::db(dir.join("hub.sqlite")).unwrap();
        db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
        db.execute(
            "DELETE FROM receipt_slips WHERE dossier_id = (SELECT dossier_id FROM receipts WHERE code = ?1)",
            [&o2],
        )
        .unwrap();
        drop(db);
        let (_, slip) = officer.get(&format!("/api/v1/receipts/{old}/slip")).await;
        assert_eq!(slip["originals_apply"], false);
        assert!(slip["lang"].is_null());
        assert_eq!(
            roles(&slip["originals"]),
            [
                "id_document",
                "previous_certificate",
                "authorisation_letter"
            ]
        );
        assert!(slip["originals"][0]["only_if"].is_null());
        assert!(slip["originals"][2]["only_if"]["vi"]
            .as_str()
            .unwrap()
            .starts_with("nếu "));
    });
}
