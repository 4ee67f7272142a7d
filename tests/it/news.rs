//! Integration test: status news back to the field (protocol §11.7) with two real hubs paired by files.
//! A field hub seals dossiers (one during an open outreach session, one outside), the office imports them
//! (USB batch), a clerk publishes each status kind over HTTP (bad input refused field by field), the field
//! device pulls over a real sync session (challenge + SyncHello signed with the field key loaded from its
//! data directory), every item verifies with the office key, paging by `after`/`more` over more than 50
//! items, a pending or revoked device is refused; then the field stores them through the hub library and
//! its news page shows them by hamlet and by receipt code, re-verified, and "told" is recorded.

use std::path::Path;

use crate::common::*;
use protocol::{DevicePublicKey, NewsBatch};
use serde_json::{json, Value};

/// `GET /api/v1/sync/news?after=N` with the session token: status and raw body.
async fn pull(office: &Hub, token: &str, after: u64) -> (u16, Vec<u8>) {
    let r = reqwest::Client::new()
        .get(office.url(&format!("/api/v1/sync/news?after={after}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

fn set_status(office_dir: &Path, device: &str, status: &str) {
    let c = crate::common::db(office_dir.join("hub.sqlite")).unwrap();
    c.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    c.execute(
        "UPDATE trusted_peers SET status = ?2 WHERE device_id = ?1",
        [device, status],
    )
    .unwrap();
}

#[test]
fn office_publishes_field_pulls_and_shows_by_hamlet() {
    // Field: one dossier sealed during an outreach session in Thôn Bù Lư, one outside any session.
    let (tmp, field_dir, office_dir, field) = paired_field(&[]);
    let photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();
    let (in_session, outside, field_id, sid) = block_on(async {
        let admin = Client::setup(&field, "quantri", "mat-khau-quan-tri").await;
        for (name, role) in [("canbo", "officer"), ("tnv", "volunteer")] {
            admin.add_user(name, role, "mat-khau-12345").await;
        }
        let officer = Client::login(&field.base, "canbo", "mat-khau-12345").await;
        let sid = open_bu_lu_session(&officer).await;
        let (r1, _) = capture_and_seal(&officer, "Điểu Thị Hà", "070198001234", &photo).await;
        let (s, b) = officer
            .post(&format!("/api/v1/outreach/sessions/{sid}/close"), json!({}))
            .await;
        assert_eq!(s, 200, "{b}");
        let (r2, _) = capture_and_seal(&officer, "Thị Sa Ly", "058198004567", &photo).await;
        let (_, h) = officer.get("/healthz").await;
        (r1, r2, h["device_id"].as_str().unwrap().to_string(), sid)
    });
    let code1 = in_session["code"].as_str().unwrap().to_string();
    let code2 = outside["code"].as_str().unwrap().to_string();

    carry_batch(&tmp.path().join("b.batch"), &field_dir, &office_dir);

    // The manifest carried the session's summary (protocol §3.5): the office knows which envelope belongs
    // to which session, and the received dossier names its session.
    {
        let db = crate::common::db(office_dir.join("hub.sqlite")).unwrap();
        let (hamlet, json): (String, String) = db
            .query_row(
                "SELECT hamlet, summary_json FROM session_summaries WHERE device_id = ?1 AND session_id = ?2",
                [&field_id, &sid],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(hamlet, "Thôn Bù Lư");
        let summary: protocol::SessionSummary = serde_json::from_str(&json).unwrap();
        assert_eq!(summary.dossiers.len(), 1, "{json}");
        assert!(summary.closed_at.is_some(), "{json}");
        let seq = summary.dossiers[0].seq as i64;
        let (announced, received): (String, Option<String>) = db
            .query_row(
                "SELECT e.session_id, d.session_id FROM session_envelopes e
                 JOIN received_dossiers d ON d.device_id = e.device_id AND d.seq = e.seq
                 WHERE e.device_id = ?1 AND e.seq = ?2",
                rusqlite::params![&field_id, seq],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(
            (announced.as_str(), received.as_deref()),
            (sid.as_str(), Some(sid.as_str()))
        );
        let head: i64 = db
            .query_row(
                "SELECT head_seq FROM device_heads WHERE device_id = ?1",
                [&field_id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(head, 2);
    }

    let office = Hub::start("office", &office_dir);
    let office_keys = crate::common::hub_keys(&office_dir);
    let office_pub: DevicePublicKey = office_keys.device.public();
    let office_id = office_keys.device_id.to_string();
    let field_device = protocol::DeviceId::parse(&field_id).unwrap();

    block_on(async {
        let (admin, clerk) = office_clerk(&office).await;
        let (_, list) = clerk.get("/api/v1/office/dossiers").await;
        let id_of = |code: &str| {
            list["dossiers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["receipt_code"] == code)
                .unwrap()["dossier_id"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let (d1, d2) = (id_of(&code1), id_of(&code2));
        let news1 = format!("/api/v1/office/dossiers/{d1}/news");

        // Bad inputs are refused, naming the field.
        for (body, field) in [
            (json!({"status": {"kind": "lost"}}), "status.kind"),
            (
                json!({"status": {"kind": "needs_papers", "papers": []}}),
                "status.papers",
            ),
            (
                json!({"status": {"kind": "needs_papers", "papers": ["Sổ hộ khẩu", " "]}}),
                "status.papers[1]",
            ),
            (
                json!({"status": {"kind": "registered", "result_numbers": [{"kind": "pin", "number": ""}]}}),
                "status.result_numbers[0].number",
            ),
            (
                json!({"status": {"kind": "ready_for_pickup", "place": "UBND xã", "from_date": "30/06/2025"}}),
                "status.from_date",
            ),
            (
                json!({"status": {"kind": "ready_for_pickup", "place": "", "from_date": "2025-07-01"}}),
                "status.place",
            ),
            (
                json!({"status": {"kind": "ready_for_pickup", "place": "UBND xã", "from_date": "2025-07-02",
                               "until_date": "2025-07-01"}}),
                "status.until_date",
            ),
            (
                json!({"status": {"kind": "rejected", "reason": ""}}),
                "status.reason",
            ),
            (
                json!({"status": {"kind": "received_verified"}, "note": "x".repeat(501)}),
                "note",
            ),
        ] {
            let (s, b) = clerk.post(&news1, body.clone()).await;
            assert_eq!(s, 422, "{body} → {b}");
            assert_eq!(b["error"]["field"], field, "{b}");
            assert!(
                b["error"]["details"][0]["message_vi"]
                    .as_str()
                    .unwrap()
                    .len()
                    > 3
            );
            assert!(
                b["error"]["details"][0]["message_en"]
                    .as_str()
                    .unwrap()
                    .len()
                    > 3
            );
        }
        // Only clerks; only received dossiers.
        assert_eq!(
            admin
                .post(&news1, json!({"status": {"kind": "received_verified"}}))
                .await
                .0,
            201
        );
        let (s, _) = clerk
            .post(
                "/api/v1/office/dossiers/0193a5b2-7c4e-7d10-8f00-000000000001/news",
                json!({"status": {"kind": "received_verified"}}),
            )
            .await;
        assert_eq!(s, 404);
        let (s, _) = Client::new(&office.base).get(&news1).await;
        assert_eq!(s, 401);

        // Each status kind.
        for body in [
            json!({"status": {"kind": "needs_papers", "papers": ["Giấy khai sinh (bản chính)", "Sổ hộ khẩu"]},
                   "note": "Mang đến UBND xã trước thứ Sáu."}),
            json!({"status": {"kind": "registered", "result_numbers": [
                {"kind": "birth_registration", "number": "123/2025"}, {"kind": "pin", "number": "070225001234"}]}}),
            json!({"status": {"kind": "rejected", "reason": "Không thuộc thẩm quyền của xã."}}),
            json!({"status": {"kind": "ready_for_pickup", "place": "Bộ phận một cửa, UBND xã Bù Gia Mập",
                   "from_date": "2025-07-01", "until_date": "2025-07-31"}, "note": null}),
        ] {
            let (s, b) = clerk.post(&news1, body.clone()).await;
            assert_eq!(s, 201, "{b}");
            assert_eq!(b["status"], body["status"]);
            assert_eq!(b["receipt_code"], code1.as_str());
            assert_eq!(b["device_id"], field_id.as_str());
        }
        let (s, b) = clerk
            .post(&format!("/api/v1/office/dossiers/{d2}/news"),
                json!({"status": {"kind": "received_verified"}, "note": "Hồ sơ đã đến văn phòng xã."}))
            .await;
        assert_eq!(s, 201, "{b}");
        assert_eq!(b["seq"], 6, "seq is per field device, across its dossiers");

        let (s, b) = clerk.get(&news1).await;
        assert_eq!(s, 200);
        let kinds: Vec<&str> = b["news"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["status"]["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "ready_for_pickup",
                "rejected",
                "registered",
                "needs_papers",
                "received_verified"
            ],
            "newest first"
        );
        assert_eq!(b["news"][0]["published_by_name"], "vanthu");

        // The field device pulls over a real sync session.
        assert_eq!(pull(&office, "not-a-token", 0).await.0, 401);
        let token =
            field_sync_token(&office, &field_dir, &office_id, "2025-06-30T08:00:00+07:00").await;
        let (s, body) = pull(&office, &token, 0).await;
        assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
        let batch = NewsBatch::from_bytes(&body).unwrap();
        batch.verify(&office_pub, &field_device).unwrap();
        assert_eq!(batch.items.len(), 6);
        assert!(!batch.more);
        assert_eq!(
            batch.items.iter().map(|i| i.news.seq).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5, 6]
        );
        let (_, body) = pull(&office, &token, 4).await;
        let b4 = NewsBatch::from_bytes(&body).unwrap();
        assert_eq!(b4.after, 4);
        assert_eq!(b4.items.len(), 2);

        // Paging: more than 50 items.
        for i in 0..50 {
            let (s, b) = clerk
                .post(&format!("/api/v1/office/dossiers/{d2}/news"),
                    json!({"status": {"kind": "needs_papers", "papers": [format!("Giấy tờ số {i}")]}}))
                .await;
            assert_eq!(s, 201, "{b}");
        }
        let mut after = 0;
        let mut all = Vec::new();
        let mut pulls = 0;
        loop {
            let (s, body) = pull(&office, &token, after).await;
            assert_eq!(s, 200);
            let b = NewsBatch::from_bytes(&body).unwrap();
            b.verify(&office_pub, &field_device).unwrap();
            assert!(b.items.len() <= 50);
            pulls += 1;
            after = b.items.last().map_or(after, |i| i.news.seq);
            all.extend(b.items);
            if !b.more {
                break;
            }
        }
        assert_eq!(pulls, 2);
        assert_eq!(all.len(), 56);
        assert_eq!(all.last().unwrap().news.seq, 56);
        let (_, body) = pull(&office, &token, 56).await;
        let empty = NewsBatch::from_bytes(&body).unwrap();
        assert!(empty.items.is_empty() && !empty.more);

        // A pending or revoked device is refused at once (same token).
        for (status, code) in [
            ("pending_approval", "device_pending_approval"),
            ("revoked", "device_revoked"),
        ] {
            set_status(&office_dir, &field_id, status);
            let (s, body) = pull(&office, &token, 0).await;
            let b: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(s, 403, "{b}");
            assert_eq!(b["error"]["code"], code);
        }
        set_status(&office_dir, &field_id, "approved");

        // The field stores them through the hub library (the uploader's news pull does the same).
        let db = {
            crate::common::unlock_here(&field_dir);
            hub::shared::store::Db::open(&field_dir.join("hub.sqlite"))
        }
        .unwrap();
        let (pk, dev) = (office_pub, field_device.clone());
        let items = all.clone();
        let new = db
            .call_sync(move |c| {
                assert_eq!(hub::field::news::store::last_seq_in(c, &pk.device_id())?, 0);
                let n = hub::field::news::store::save_incoming(c, &pk, &dev, &items)?.unwrap();
                assert_eq!(
                    hub::field::news::store::last_seq_in(c, &pk.device_id())?,
                    56
                );
                Ok(n)
            })
            .unwrap();
        assert_eq!(new, 56);
        let (pk, dev) = (office_pub, field_device.clone());
        let again = db
            .call_sync(move |c| hub::field::news::store::save_incoming(c, &pk, &dev, &all[..6]))
            .unwrap()
            .unwrap();
        assert_eq!(again, 0, "idempotent");

        // The field's news page: by hamlet, newest first, re-verified.
        let vol = Client::login(&field.base, "tnv", "mat-khau-12345").await;
        let (s, b) = vol.get("/api/v1/news").await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["unverified"], 0);
        let hamlets = b["hamlets"].as_array().unwrap();
        assert_eq!(hamlets.len(), 2, "{b}");
        let bu_lu = hamlets
            .iter()
            .find(|g| g["hamlet"] == "Thôn Bù Lư")
            .unwrap();
        let none = hamlets.iter().find(|g| g["hamlet"].is_null()).unwrap();
        assert_eq!(bu_lu["items"].as_array().unwrap().len(), 5);
        assert_eq!(none["items"].as_array().unwrap().len(), 51);
        assert!(bu_lu["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["receipt_code"] == code1.as_str()));
        assert_eq!(bu_lu["items"][0]["status"]["kind"], "ready_for_pickup");
        assert_eq!(
            bu_lu["items"][0]["status"]["place"],
            "Bộ phận một cửa, UBND xã Bù Gia Mập"
        );
        assert_eq!(
            bu_lu["items"][0]["procedure"]["id"],
            "marital-status-certificate"
        );
        assert_eq!(bu_lu["items"][0]["verified"], true);
        assert_eq!(none["items"][0]["status"]["papers"][0], "Giấy tờ số 49");

        // By receipt code, typed leniently (lower case, no hyphens, O for 0).
        let lenient = code1.replace('-', " ").to_lowercase();
        let (s, b) = vol
            .get(&format!(
                "/api/v1/news?receipt={}",
                lenient.replace(' ', "%20")
            ))
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["receipt"], code1.as_str());
        assert_eq!(b["hamlets"].as_array().unwrap().len(), 1);
        assert_eq!(b["hamlets"][0]["items"].as_array().unwrap().len(), 5);
        let (s, b) = vol.get("/api/v1/news?receipt=ABCD").await;
        assert_eq!(s, 422);
        assert_eq!(b["error"]["field"], "receipt");

        // The public receipt status (villagers scan their slip's QR) shows the latest news, its public
        // part only: where and when to pick up, never the note or result numbers.
        let (_, slip) = vol.get(&format!("/api/v1/receipts/{code1}/slip")).await;
        let key = slip["tracking_key"].as_str().unwrap().to_string();
        let (s, p) = Client::new(&field.base)
            .get(&format!("/api/v1/public/receipts/{code1}?k={key}"))
            .await;
        assert_eq!(s, 200, "{p}");
        assert_eq!(p["news"]["kind"], "ready_for_pickup");
        assert_eq!(p["news"]["place"], "Bộ phận một cửa, UBND xã Bù Gia Mập");
        assert_eq!(p["news"]["until_date"], "2025-07-31");
        assert!(!p.to_string().contains("070225001234"), "{p}");

        // Told.
        let nid = bu_lu["items"][0]["news_id"].as_str().unwrap().to_string();
        let (s, b) = vol
            .post(&format!("/api/v1/news/{nid}/told"), json!({}))
            .await;
        assert_eq!(s, 200, "{b}");
        let told_at = b["told_at"].as_str().unwrap().to_string();
        let (_, b) = vol
            .post(&format!("/api/v1/news/{nid}/told"), json!({}))
            .await;
        assert_eq!(b["told_at"], told_at.as_str(), "the first time counts");
        assert_eq!(vol.post("/api/v1/news/nope/told", json!({})).await.0, 404);
        let (_, b) = vol.get(&format!("/api/v1/news?receipt={code1}")).await;
        assert_eq!(b["hamlets"][0]["items"][0]["told_at"], told_at.as_str());

        // An item altered after it was stored no longer verifies and is flagged.
        let c = crate::common::db(field_dir.join("hub.sqlite")).unwrap();
        c.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
        let signed: Vec<u8> = c
            .query_row(
                "SELECT signed FROM news_in WHERE news_id = ?1",
                [&nid],
                |r| r.get(0),
            )
            .unwrap();
        let forged = String::from_utf8(signed)
            .unwrap()
            .replace("2025-07-31", "2025-08-31")
            .into_bytes();
        c.execute(
            "UPDATE news_in SET signed = ?2 WHERE news_id = ?1",
            rusqlite::params![nid, forged],
        )
        .unwrap();
        let (_, b) = vol.get(&format!("/api/v1/news?receipt={code1}")).await;
        assert_eq!(b["unverified"], 1);
        assert_eq!(b["hamlets"][0]["items"][0]["verified"], false);
        assert_eq!(b["hamlets"][0]["items"][1]["verified"], true);

        // Modes: the office has no field news page, the field no publishing: `404 wrong_mode` for every
        // caller, checked before the login and the role gate.
        for (s, b) in [clerk.get("/api/v1/news").await, vol.get(&news1).await] {
            assert_eq!((s, b["error"]["code"].as_str()), (404, Some("wrong_mode")));
        }
        let office_admin = Client::login(&office.base, "quantri", "mat-khau-van-phong").await;
        let (s, b) = office_admin.get("/api/v1/news").await;
        assert_eq!((s, b["error"]["code"].as_str()), (404, Some("wrong_mode")));
        let field_admin = Client::login(&field.base, "quantri", "mat-khau-quan-tri").await;
        let (s, b) = field_admin.get(&news1).await;
        assert_eq!((s, b["error"]["code"].as_str()), (404, Some("wrong_mode")));
    });
}
