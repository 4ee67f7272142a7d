//! Integration tests: outreach sessions, tickets, the live queue board and services rendered, on a real
//! field hub. Roles, ticket numbering under concurrent requests, idempotent retries, a board without
//! names, the Server-Sent Events stream after a call, the consent rule, undo, and the session report.

use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::{json, Value};

async fn post_keyed(c: &Client, path: &str, key: &str, body: Value) -> (u16, Value) {
    let r = c
        .http
        .post(format!("{}{}", c.base, path))
        .header("x-csrf-token", &c.csrf)
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn delete(c: &Client, path: &str) -> (u16, Value) {
    c.send(reqwest::Method::DELETE, path, json!({})).await
}

/// Reads Server-Sent Events from `resp` until one `board` event satisfies `want`, or the deadline.
async fn next_board_event(
    resp: &mut reqwest::Response,
    buf: &mut String,
    want: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            if !block.lines().any(|l| l == "event: board") {
                continue;
            }
            let data: String = block
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .collect();
            let v: Value = serde_json::from_str(&data).unwrap();
            if want(&v) {
                return v;
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "no matching board event; got so far: {buf}"
        );
        let chunk = tokio::time::timeout(left, resp.chunk())
            .await
            .expect("board event in time")
            .unwrap()
            .expect("stream still open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

fn desk<'a>(board: &'a Value, name: &str) -> &'a Value {
    board["desks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["desk"] == name)
        .unwrap()
}

#[test]
fn sessions_tickets_board_services_report() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start("field", tmp.path());
    block_on(async {
        let admin = Client::setup(&hub, "quantri", "mat-khau-quan-tri").await;
        for (n, r) in [("canbo", "officer"), ("tnv", "volunteer")] {
            let (s, b) = admin
                .post(
                    "/api/v1/users",
                    json!({"name": n, "role": r, "password": "mat-khau-dai-du"}),
                )
                .await;
            assert_eq!(s, 201, "{b}");
        }
        let officer = Client::login(&hub.base, "canbo", "mat-khau-dai-du").await;
        let vol = Client::login(&hub.base, "tnv", "mat-khau-dai-du").await;
        let anon = Client::new(&hub.base);

        // No session: the public board says so.
        let (s, b) = anon.get("/api/v1/board").await;
        assert_eq!(s, 200, "{b}");
        assert!(b["session"].is_null());

        // Team candidates: officers may list them, volunteers may not.
        let (s, b) = officer.get("/api/v1/outreach/team-candidates").await;
        assert_eq!(s, 200, "{b}");
        let users = b["users"].as_array().unwrap();
        assert_eq!(users.len(), 3);
        let vol_id = users.iter().find(|u| u["name"] == "tnv").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(vol.get("/api/v1/outreach/team-candidates").await.0, 403);

        // Opening a session: officers and admins only; checked input.
        let place = json!({"hamlet": "Thôn Bù Lư", "venue_kind": "cultural_house",
            "venue_name": "Nhà văn hoá thôn Bù Lư", "commune_code": "25222", "team": [vol_id]});
        let (s, b) = vol.post("/api/v1/outreach/sessions", place.clone()).await;
        assert_eq!(s, 403, "{b}");
        let mut bad = place.clone();
        bad["commune_code"] = json!("99999");
        let (s, b) = officer.post("/api/v1/outreach/sessions", bad).await;
        assert_eq!(s, 422, "{b}");
        assert_eq!(b["error"]["field"], "commune_code");
        let (s, b) = officer
            .post(
                "/api/v1/outreach/sessions",
                json!({"hamlet": " ", "venue_kind": "market", "venue_name": "x", "date": "23/11/2026"}),
            )
            .await;
        assert_eq!(s, 422, "{b}");
        let fields: Vec<&str> = b["error"]["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["hamlet", "venue_kind", "date"]);
        let (s, session) = officer
            .post("/api/v1/outreach/sessions", place.clone())
            .await;
        assert_eq!(s, 201, "{session}");
        let sid = session["id"].as_str().unwrap().to_string();
        assert_eq!(session["open"], true);
        assert_eq!(session["date"].as_str().unwrap().len(), 10);
        assert_eq!(session["team"].as_array().unwrap().len(), 2);
        // One open session at a time, and the error says which one is open.
        let (s, b) = admin.post("/api/v1/outreach/sessions", place.clone()).await;
        assert_eq!(s, 409, "{b}");
        assert_eq!(b["error"]["code"], "session_already_open");
        assert!(b["error"]["message_vi"]
            .as_str()
            .unwrap()
            .contains("Thôn Bù Lư"));

        // Tickets need a login and the CSRF token.
        let tickets = format!("/api/v1/outreach/sessions/{sid}/tickets");
        assert_eq!(anon.post(&tickets, json!({})).await.0, 401);

        // 20 parallel issues → exactly 1..20.
        let mut handles = Vec::new();
        for i in 0..20 {
            let c = Client {
                http: vol.http.clone(),
                base: vol.base.clone(),
                csrf: vol.csrf.clone(),
            };
            let path = tickets.clone();
            handles.push(tokio::spawn(async move {
                post_keyed(&c, &path, &format!("par-{i}"), json!({})).await
            }));
        }
        let mut numbers = Vec::new();
        for h in handles {
            let (s, t) = h.await.unwrap();
            assert_eq!(s, 201, "{t}");
            numbers.push(t["number"].as_i64().unwrap());
        }
        numbers.sort();
        assert_eq!(numbers, (1..=20).collect::<Vec<_>>());

        // A retried request (same Idempotency-Key) answers the same ticket and issues no other.
        let (s, t21) = post_keyed(&vol, &tickets, "retry-1", json!({"name": "Điểu Thị Lan"})).await;
        assert_eq!((s, t21["number"].as_i64()), (201, Some(21)), "{t21}");
        assert_eq!(t21["name"], "Điểu Thị Lan");
        let (s, again) =
            post_keyed(&vol, &tickets, "retry-1", json!({"name": "Điểu Thị Lan"})).await;
        assert_eq!(s, 200, "{again}");
        assert_eq!(again["id"], t21["id"]);
        let (s, t22) = vol.post(&tickets, json!({"name": "K'Brơi"})).await;
        assert_eq!((s, t22["number"].as_i64()), (201, Some(22)), "{t22}");
        // Another user's same key is another request.
        let (s, t23) = post_keyed(&officer, &tickets, "retry-1", json!({})).await;
        assert_eq!((s, t23["number"].as_i64()), (201, Some(23)), "{t23}");

        // The board streams: first the state now…
        let mut sse = reqwest::Client::new()
            .get(hub.url("/api/v1/board/events"))
            .send()
            .await
            .unwrap();
        assert_eq!(sse.status(), 200);
        assert!(sse.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        let mut buf = String::new();
        let first = next_board_event(&mut sse, &mut buf, |_| true).await;
        assert!(desk(&first, "police")["serving"].is_null());
        assert_eq!(first["session"]["hamlet"], "Thôn Bù Lư");

        // …then, after a call at the police desk, the number being served there.
        let call = format!("/api/v1/outreach/sessions/{sid}/desks/police/call-next");
        let (s, b) = post_keyed(&vol, &call, "call-1", json!({})).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["ticket"]["number"], 1);
        let ev = next_board_event(&mut sse, &mut buf, |v| desk(v, "police")["serving"] == 1).await;
        assert_eq!(desk(&ev, "police")["next"], json!([2, 3, 4, 5, 6]));
        // A retried call does not call the next villager.
        let (s, b) = post_keyed(&vol, &call, "call-1", json!({})).await;
        assert_eq!((s, b["ticket"]["number"].as_i64()), (200, Some(1)), "{b}");
        let (_, b) = vol
            .post(
                &format!("/api/v1/outreach/sessions/{sid}/desks/civil_status/call-next"),
                json!({}),
            )
            .await;
        assert_eq!(b["ticket"]["number"], 2);
        let ev = next_board_event(&mut sse, &mut buf, |v| {
            desk(v, "civil_status")["serving"] == 2
        })
        .await;
        assert_eq!(desk(&ev, "police")["serving"], 1);
        drop(sse);

        // The public board has numbers but never names or ticket ids.
        let (s, board) = anon.get("/api/v1/board").await;
        assert_eq!(s, 200);
        let text = board.to_string();
        for secret in ["Điểu", "K'Brơi", t21["id"].as_str().unwrap(), "\"name\""] {
            assert!(!text.contains(secret), "board shows {secret}: {text}");
        }
        assert_eq!(board["desks"].as_array().unwrap().len(), 4);
        assert_eq!(
            board["session"]["commune"],
            "Xã Bù Gia Mập, Thành phố Đồng Nai"
        );

        // Ticket actions: recall, move to another desk, no-show.
        let t1 = b["ticket"]["id"].as_str().unwrap().to_string();
        let act = |id: &str| format!("/api/v1/outreach/tickets/{id}/action");
        let (s, r) = vol.post(&act(&t1), json!({"action": "recall"})).await;
        assert_eq!((s, r["recalls"].as_i64()), (200, Some(1)), "{r}");
        let (s, r) = vol
            .post(&act(&t1), json!({"action": "move", "desk": "telecom"}))
            .await;
        assert_eq!(
            (s, &r["status"], &r["desk"]),
            (200, &json!("waiting"), &json!("telecom"))
        );
        let (_, b) = vol
            .post(
                &format!("/api/v1/outreach/sessions/{sid}/desks/telecom/call-next"),
                json!({}),
            )
            .await;
        assert_eq!(b["ticket"]["number"], 2, "the moved ticket keeps its place");
        let (s, r) = vol.post(&act(&t1), json!({"action": "no_show"})).await;
        assert_eq!((s, &r["status"]), (200, &json!("no_show")), "{r}");
        let (s, r) = vol.post(&act(&t1), json!({"action": "done"})).await;
        assert_eq!(
            (s, &r["error"]["code"]),
            (409, &json!("wrong_ticket_status"))
        );

        // Services rendered: the consent rule.
        let services = format!("/api/v1/outreach/sessions/{sid}/services");
        let (s, b) = vol
            .post(
                &services,
                json!({"desk": "police", "kind": "vneid_level2_activated", "sex": "female"}),
            )
            .await;
        assert_eq!(s, 422, "{b}");
        assert_eq!(b["error"]["field"], "consent");
        let (s, b) = vol
            .post(&services, json!({"desk": "guidance", "kind": "other"}))
            .await;
        assert_eq!((s, &b["error"]["field"]), (422, &json!("note")), "{b}");
        let (s, b) = vol
            .post(
                &services,
                json!({"desk": "police", "kind": "vneid_level2_activated", "consent": true, "ethnicity": "99"}),
            )
            .await;
        assert_eq!((s, &b["error"]["field"]), (422, &json!("ethnicity")), "{b}");
        let taps = [
            json!({"desk": "police", "kind": "vneid_level2_activated", "ticket_id": t1, "consent": true,
                   "sex": "female", "age_band": "18-35", "ethnicity": "22"}),
            json!({"desk": "police", "kind": "vneid_level2_activated", "consent": true, "sex": "male",
                   "age_band": "60+", "ethnicity": "22"}),
            json!({"desk": "telecom", "kind": "sim_registered", "consent": true, "sex": "female",
                   "ethnicity": "01"}),
            json!({"desk": "telecom", "kind": "sim_registered"}),
            json!({"desk": "guidance", "kind": "other", "note": "Hướng dẫn nộp thuế đất"}),
        ];
        for (i, tap) in taps.iter().enumerate() {
            let (s, b) = post_keyed(&vol, &services, &format!("tap-{i}"), tap.clone()).await;
            assert_eq!(s, 201, "{b}");
        }
        // A retried tap is counted once.
        let (s, _) = post_keyed(&vol, &services, "tap-4", taps[4].clone()).await;
        assert_eq!(s, 200);
        // Undo: only the latest tap of the caller.
        let (s, mistaken) = officer
            .post(
                &services,
                json!({"desk": "civil_status", "kind": "dossier_captured"}),
            )
            .await;
        assert_eq!(s, 201);
        let (s, list) = vol.get(&services).await;
        assert_eq!(s, 200);
        let older = list["services"].as_array().unwrap().last().unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (s, b) = delete(&vol, &format!("/api/v1/outreach/services/{older}")).await;
        assert_eq!((s, &b["error"]["code"]), (409, &json!("not_latest_tap")));
        let mid = mistaken["id"].as_str().unwrap();
        assert_eq!(
            delete(&vol, &format!("/api/v1/outreach/services/{mid}"))
                .await
                .0,
            409,
            "another member's tap"
        );
        let (s, b) = delete(&officer, &format!("/api/v1/outreach/services/{mid}")).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(
            delete(&officer, &format!("/api/v1/outreach/services/{mid}"))
                .await
                .0,
            404
        );

        // The report.
        let (s, r) = vol
            .get(&format!("/api/v1/outreach/sessions/{sid}/report"))
            .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["services_total"], 5);
        assert_eq!(r["consented"], 3);
        assert_eq!(
            r["by_kind"],
            json!([{"key": "sim_registered", "count": 2}, {"key": "vneid_level2_activated", "count": 2},
                   {"key": "other", "count": 1}])
        );
        assert_eq!(
            r["by_desk"],
            json!([{"key": "police", "count": 2}, {"key": "telecom", "count": 2},
                   {"key": "guidance", "count": 1}])
        );
        assert_eq!(
            r["by_sex"],
            json!([{"key": "female", "count": 2}, {"key": "male", "count": 1}])
        );
        assert_eq!(
            r["by_age_band"],
            json!([{"key": "18-35", "count": 1}, {"key": "60+", "count": 1}])
        );
        assert_eq!(
            r["by_ethnicity"],
            json!([{"code": "22", "name": "Xtiêng", "system": "vn-1979", "count": 2},
                   {"code": "01", "name": "Kinh", "system": "vn-1979", "count": 1}])
        );
        assert_eq!(r["tickets"]["issued"], 23);
        assert_eq!(r["tickets"]["called"], 1);
        assert_eq!(r["tickets"]["no_show"], 1);
        assert_eq!(r["tickets"]["waiting"], 21);
        assert!(r["median_wait_secs"].as_i64().unwrap() >= 0);

        // Closing: officers only; names on tickets are erased, the board goes blank.
        let close = format!("/api/v1/outreach/sessions/{sid}/close");
        assert_eq!(vol.post(&close, json!({})).await.0, 403);
        let (s, b) = officer.post(&close, json!({})).await;
        assert_eq!((s, &b["open"]), (200, &json!(false)), "{b}");
        let (_, list) = officer.get(&tickets).await;
        assert!(list["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["name"].is_null()));
        let (_, r) = officer
            .get(&format!("/api/v1/outreach/sessions/{sid}/report"))
            .await;
        assert_eq!(
            (
                r["tickets"]["done"].as_i64(),
                r["tickets"]["no_show"].as_i64()
            ),
            (Some(1), Some(22))
        );
        assert_eq!(vol.post(&tickets, json!({})).await.0, 409);
        let (_, board) = anon.get("/api/v1/board").await;
        assert!(board["session"].is_null());
        let (s, list) = vol.get("/api/v1/outreach/sessions").await;
        assert_eq!(s, 200);
        assert_eq!(list["sessions"][0]["tickets"], 23);
        assert_eq!(list["sessions"][0]["services"], 5);
    });
}

/// Board streams are bounded (the 5th from one address is refused; more in
/// `board_streams.rs`), a departed client's slot is freed, and open streams do not hold up a graceful
/// stop (SIGTERM) of the hub.
#[test]
fn board_streams_are_bounded_freed_and_end_at_shutdown() {
    let tmp = tempfile::tempdir().unwrap();
    let mut hub = Hub::start("field", tmp.path());
    let url = hub.url("/api/v1/board/events");
    block_on(async {
        let http = reqwest::Client::new();
        let mut open = Vec::new();
        for _ in 0..4 {
            let r = http.get(&url).send().await.unwrap();
            assert_eq!(r.status(), 200);
            open.push(r);
        }
        let r = http.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 429);
        assert!(r.headers().contains_key("retry-after"));
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["error"]["code"], "too_many_streams");
        // The plain JSON board still answers.
        assert_eq!(
            http.get(hub.url("/api/v1/board"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        // Clients leave: their slots come back.
        open.truncate(0);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            // A fresh client each time: a new connection, not one of the closed ones.
            let r = reqwest::Client::new().get(&url).send().await.unwrap();
            if r.status() == 200 {
                break;
            }
            assert!(Instant::now() < deadline, "stream slots were not freed");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    // A TV still following the board does not keep the hub from stopping. (The stream is held inside
    // the runtime that owns its connection, so the client really is still connected.)
    let pid = hub.child.id().to_string();
    let child = &mut hub.child;
    block_on(async {
        let mut r = reqwest::Client::new().get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let first = r.chunk().await.unwrap().unwrap();
        assert!(String::from_utf8_lossy(&first).contains("event: board"));
        let t0 = Instant::now();
        assert!(std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                assert!(st.success(), "hub exit status {st}");
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "hub did not stop with a board stream open"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The stream ended with the hub.
        assert!(matches!(r.chunk().await, Ok(None) | Err(_)));
    });
}

/// Every dossier belongs to the session that was open when its draft was started: the draft says so, the
/// sealed dossier carries it (`session_id`), and the session report counts it. A draft started with no
/// session open belongs to none.
#[test]
fn dossiers_belong_to_the_session_they_were_started_in() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start("field", tmp.path());
    block_on(async {
        let admin = Client::setup(&hub, "quantri", "mat-khau-quan-tri").await;
        let new_draft = |name: &'static str| {
            let admin = &admin;
            async move {
                let (s, d) = admin
                    .post(
                        "/api/v1/drafts",
                        json!({"procedure": {"id": "marital-status-certificate", "version": 1},
                               "fields": {"requester.full_name": name}}),
                    )
                    .await;
                assert_eq!(s, 201, "{d}");
                d
            }
        };
        let before = new_draft("Điểu Thị Trước").await;
        assert!(before["session_id"].is_null(), "{before}");

        let (s, session) = admin
            .post(
                "/api/v1/outreach/sessions",
                json!({"hamlet": "Thôn Bù Lư", "venue_kind": "school", "venue_name": "Trường tiểu học"}),
            )
            .await;
        assert_eq!(s, 201, "{session}");
        let sid = session["id"].as_str().unwrap();
        let during = new_draft("Điểu Thị Trong").await;
        assert_eq!(during["session_id"], sid, "{during}");
        let id = during["id"].as_str().unwrap();
        let (s, r) = admin
            .post(
                &format!("/api/v1/drafts/{id}/refuse"),
                json!({"reason": "Thiếu giấy tờ gốc"}),
            )
            .await;
        assert_eq!(s, 201, "{r}");
        // The one started before the session stays outside it, even when sealed during it.
        let id0 = before["id"].as_str().unwrap();
        let (s, r0) = admin
            .post(
                &format!("/api/v1/drafts/{id0}/refuse"),
                json!({"reason": "Người yêu cầu rút hồ sơ"}),
            )
            .await;
        assert_eq!(s, 201, "{r0}");

        let (s, rep) = admin
            .get(&format!("/api/v1/outreach/sessions/{sid}/report"))
            .await;
        assert_eq!(s, 200, "{rep}");
        assert_eq!(
            rep["dossiers_by_procedure"],
            json!([{"key": "marital-status-certificate", "count": 1}])
        );
        assert_eq!(
            rep["dossiers_by_disposition"],
            json!([{"key": "refused", "count": 1}])
        );
        // The signed dossier itself names its session (not yet protected: no office key is trusted, so
        // the signed plaintext waits on this hub).
        let db = crate::common::db(tmp.path().join("hub.sqlite")).unwrap();
        let session_of = |dossier_id: &str| -> Value {
            let bytes: Vec<u8> = db
                .query_row(
                    "SELECT signed_dossier FROM pending_protection WHERE dossier_id = ?1",
                    [dossier_id],
                    |r| r.get(0),
                )
                .unwrap();
            let signed: Value = serde_json::from_slice(&bytes).unwrap();
            signed["dossier"]["session_id"].clone()
        };
        assert_eq!(session_of(r["dossier_id"].as_str().unwrap()), json!(sid));
        assert_eq!(session_of(r0["dossier_id"].as_str().unwrap()), Value::Null);
    });
}

/// A villager's pre-declaration answers (what the self-service form asks: no office-only fields).
fn predeclared_fields(name: &str, pin: &str) -> Value {
    let mut f = marital_fields(name, pin);
    f.remove("addressee.commune");
    f.remove("declaration.confirmed");
    json!(f)
}

/// Posts a pre-declaration as a villager's phone would (no login); asserts 201 and returns the answer.
async fn predeclare(hub: &Hub, fields: Value) -> Value {
    let r = reqwest::Client::new()
        .post(hub.url("/api/v1/public/predeclarations"))
        .json(
            &json!({"procedure": {"id": "marital-status-certificate", "version": 1},
                      "fields": fields, "lang": "vi"}),
        )
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    let b: Value = r.json().await.unwrap();
    assert_eq!(s, 201, "{b}");
    b
}

/// Issue 17, item 9: the name typed when issuing a ticket reaches the desk (team views only: never the
/// public board, never the log, erased at close), and a pre-declaration has one number: the queue number
/// the villager was told is the number the team's list, the desk and the board show.
#[test]
fn the_desk_sees_who_holds_each_number_and_predeclarations_keep_theirs() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("hub.log");
    let hub = Hub::start_logged("field", &tmp.path().join("data"), &[], "debug", Some(&log));
    block_on(async {
        let admin = Client::setup(&hub, "quantri", "mat-khau-quan-tri").await;
        admin.add_user("tnv", "volunteer", "mat-khau-dai-du").await;
        let vol = Client::login(&hub.base, "tnv", "mat-khau-dai-du").await;
        let anon = Client::new(&hub.base);
        let sid = open_bu_lu_session(&admin).await;
        let tickets = format!("/api/v1/outreach/sessions/{sid}/tickets");
        for name in [Some("Điểu Thị Lan"), None, Some("K'Brơi")] {
            let body = name.map_or(json!({}), |n| json!({ "name": n }));
            let (s, t) = vol.post(&tickets, body).await;
            assert_eq!(s, 201, "{t}");
        }

        // The villager pre-declares on their phone while the session is open: told one number, 4.
        let told = predeclare(&hub, predeclared_fields("Lâm Thị Hoa", "070190012345")).await;
        assert_eq!(told["number"], 4, "{told}");
        assert_eq!(told["number_kind"], "ticket", "{told}");
        assert_eq!(told["ticket"], 4, "{told}");
        // The team's list shows that same number.
        let (s, list) = vol.get("/api/v1/predeclarations").await;
        assert_eq!(s, 200, "{list}");
        let p = &list["predeclarations"][0];
        assert_eq!(
            (&p["number"], &p["number_kind"]),
            (&json!(4), &json!("ticket")),
            "{p}"
        );
        let pid = p["id"].as_str().unwrap().to_string();

        // The desk view (team) says who holds each waiting number, the pre-declared one included.
        let (s, view) = vol.get(&format!("/api/v1/outreach/sessions/{sid}")).await;
        assert_eq!(s, 200, "{view}");
        let civil = desk(&view, "civil_status");
        assert_eq!(civil["next"], json!([1, 2, 3, 4]));
        let queue = civil["queue"]
            .as_array()
            .unwrap_or_else(|| panic!("{civil}"));
        let holders: Vec<(i64, Value, Value)> = queue
            .iter()
            .map(|q| {
                (
                    q["number"].as_i64().unwrap(),
                    q["name"].clone(),
                    q["predeclaration"].clone(),
                )
            })
            .collect();
        assert_eq!(
            holders,
            [
                (1, json!("Điểu Thị Lan"), Value::Null),
                (2, Value::Null, Value::Null),
                (3, json!("K'Brơi"), Value::Null),
                (4, json!("Lâm Thị Hoa"), json!(pid)),
            ]
        );
        // Calling: the desk shows the number and the name of the villager to call.
        let call = format!("/api/v1/outreach/sessions/{sid}/desks/civil_status/call-next");
        let (_, b) = vol.post(&call, json!({})).await;
        assert_eq!(b["ticket"]["number"], 1, "{b}");
        let (_, view) = vol.get(&format!("/api/v1/outreach/sessions/{sid}")).await;
        let civil = desk(&view, "civil_status");
        assert_eq!(
            (&civil["serving"], &civil["serving_name"]),
            (&json!(1), &json!("Điểu Thị Lan")),
            "{civil}"
        );
        // The pre-declared villager, moved ahead to the police desk and called there: their name, and
        // their pre-declaration to take, at that desk.
        let t4 = queue[3]["ticket_id"].as_str().unwrap();
        let (s, r) = vol
            .post(
                &format!("/api/v1/outreach/tickets/{t4}/action"),
                json!({"action": "move", "desk": "police"}),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        let (_, b) = vol
            .post(
                &format!("/api/v1/outreach/sessions/{sid}/desks/police/call-next"),
                json!({}),
            )
            .await;
        assert_eq!(
            b["ticket"]["number"], 2,
            "the lowest number waiting for any desk first"
        );
        let (_, b) = vol
            .post(
                &format!("/api/v1/outreach/sessions/{sid}/desks/police/call-next"),
                json!({}),
            )
            .await;
        assert_eq!(b["ticket"]["number"], 3);
        let (_, b) = vol
            .post(
                &format!("/api/v1/outreach/sessions/{sid}/desks/police/call-next"),
                json!({}),
            )
            .await;
        assert_eq!(b["ticket"]["number"], 4);
        let (_, view) = vol.get(&format!("/api/v1/outreach/sessions/{sid}")).await;
        let police = desk(&view, "police");
        assert_eq!(
            (
                &police["serving"],
                &police["serving_name"],
                &police["serving_predeclaration"]
            ),
            (&json!(4), &json!("Lâm Thị Hoa"), &json!(pid)),
            "{police}"
        );
        // The board everyone sees: numbers, no names, no ticket or pre-declaration ids.
        let (_, board) = anon.get("/api/v1/board").await;
        assert_eq!(desk(&board, "police")["serving"], 4);
        let text = board.to_string();
        for secret in [
            "Điểu",
            "K'Brơi",
            "Lâm",
            &pid,
            t4,
            "\"name\"",
            "serving_",
            "ticket_id",
            "queue",
            "predeclaration",
        ] {
            assert!(!text.contains(secret), "the board shows {secret}: {text}");
        }

        // Without a session, the villager is told their pre-declaration's own number, and the list shows it.
        let (s, _) = admin
            .post(&format!("/api/v1/outreach/sessions/{sid}/close"), json!({}))
            .await;
        assert_eq!(s, 200);
        let (_, view) = vol.get(&format!("/api/v1/outreach/sessions/{sid}")).await;
        assert!(
            !view.to_string().contains("Lâm Thị Hoa"),
            "no name after close: {view}"
        );
        let told = predeclare(&hub, predeclared_fields("Thị Sa Ly", "058170004567")).await;
        assert!(told["ticket"].is_null(), "{told}");
        assert_eq!(
            (&told["number"], &told["number_kind"]),
            (&told["pickup_number"], &json!("pickup"))
        );
        let (_, list) = vol.get("/api/v1/predeclarations").await;
        let p = list["predeclarations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["title"] == "Thị Sa Ly")
            .unwrap()
            .clone();
        assert_eq!(
            (&p["number"], &p["number_kind"]),
            (&told["number"], &json!("pickup"))
        );
    });
    drop(hub);
    // Names are personal data: never in the log, even at debug level.
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.is_empty());
    for name in ["Điểu Thị Lan", "K'Brơi", "Lâm Thị Hoa", "Thị Sa Ly"] {
        assert!(!text.contains(name), "the log names {name}");
    }
}

/// Refuses draft `id` (a sealed dossier with the disposition `refused`); asserts 201, returns the receipt.
async fn refuse(c: &Client, id: &str) -> Value {
    let (s, r) = c
        .post(
            &format!("/api/v1/drafts/{id}/refuse"),
            json!({"reason": "Thiếu giấy tờ gốc"}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    r
}

/// A new draft started now (so in the open session, if any); returns its id.
async fn new_draft(c: &Client, name: &str) -> String {
    let (s, d) = c
        .post(
            "/api/v1/drafts",
            json!({"procedure": {"id": "marital-status-certificate", "version": 1},
                   "fields": {"requester.full_name": name}}),
        )
        .await;
    assert_eq!(s, 201, "{d}");
    d["id"].as_str().unwrap().to_string()
}

/// Issue 17, item 9: the session report counts every villager served once: tickets that reached a desk
/// or had work done for them (a service, a dossier from their pre-declaration, a dossier sealed at the
/// civil-status desk while they were served there) and villagers served without a ticket (a dossier, or
/// taps not linked to a ticket); a pre-declared villager whose dossier was sealed is no no-show.
#[test]
fn the_session_report_counts_each_villager_served_once() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start("field", tmp.path());
    block_on(async {
        let admin = Client::setup(&hub, "quantri", "mat-khau-quan-tri").await;
        let sid = open_bu_lu_session(&admin).await;
        let base = format!("/api/v1/outreach/sessions/{sid}");
        for _ in 0..3 {
            let (s, t) = admin.post(&format!("{base}/tickets"), json!({})).await;
            assert_eq!(s, 201, "{t}");
        }
        let told = predeclare(&hub, predeclared_fields("Lâm Thị Hoa", "070190012345")).await;
        assert_eq!(told["ticket"], 4);

        // Ticket 1 at the civil-status desk: a dossier is sealed while it is served there.
        let (_, b) = admin
            .post(&format!("{base}/desks/civil_status/call-next"), json!({}))
            .await;
        assert_eq!(b["ticket"]["number"], 1);
        let t1 = b["ticket"]["id"].as_str().unwrap().to_string();
        // (Times are whole seconds: a dossier sealed in the second of a call is the previous villager's.)
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let d1 = new_draft(&admin, "Điểu Thị Lan").await;
        refuse(&admin, &d1).await;
        let (s, _) = admin
            .post(
                &format!("/api/v1/outreach/tickets/{t1}/action"),
                json!({"action": "done"}),
            )
            .await;
        assert_eq!(s, 200);
        // Ticket 4 is never called: the team takes the pre-declaration and seals its dossier.
        let (_, list) = admin.get("/api/v1/predeclarations").await;
        let pid = list["predeclarations"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (s, d4) = admin
            .post(&format!("/api/v1/predeclarations/{pid}/take"), json!({}))
            .await;
        assert_eq!(s, 201, "{d4}");
        // A villager with no ticket: a dossier sealed with nobody at the civil-status desk (after a
        // second, so it cannot fall in the second ticket 1 was finished).
        tokio::time::sleep(Duration::from_millis(1100)).await;
        refuse(&admin, d4["id"].as_str().unwrap()).await;
        let d5 = new_draft(&admin, "Thị Sa Ly").await;
        refuse(&admin, &d5).await;
        // Ticket 2 at the police desk, with a tap linked to it.
        let (_, b) = admin
            .post(&format!("{base}/desks/police/call-next"), json!({}))
            .await;
        assert_eq!(b["ticket"]["number"], 2);
        let t2 = b["ticket"]["id"].as_str().unwrap().to_string();
        let (s, b) = admin
            .post(
                &format!("{base}/services"),
                json!({"desk": "police", "kind": "vneid_level2_activated", "ticket_id": t2}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        // Two villagers shown how to use the public-service portal at the guidance desk, no tickets.
        for _ in 0..2 {
            let (s, b) = admin
                .post(
                    &format!("{base}/services"),
                    json!({"desk": "guidance", "kind": "guidance_given"}),
                )
                .await;
            assert_eq!(s, 201, "{b}");
        }

        // Served: tickets 1 (dossier), 2 (at a desk, a tap), 4 (pre-declared dossier); without a ticket
        // at least 2 (two taps of one kind at one desk; one dossier). Tickets 3 and 4 wait to be called.
        let (s, r) = admin.get(&format!("{base}/report")).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(
            r["villagers"],
            json!({"served": 5, "with_ticket": 3, "without_ticket": 2, "no_show": 0}),
            "{r}"
        );
        assert_eq!(r["tickets"]["waiting"], 2, "{r}");
        assert_eq!(
            r["dossiers_by_disposition"],
            json!([{"key": "refused", "count": 3}])
        );

        // Closing: ticket 4's holder was served (their dossier is sealed), not a no-show; ticket 3 is.
        let (s, _) = admin.post(&format!("{base}/close"), json!({})).await;
        assert_eq!(s, 200);
        let (_, r) = admin.get(&format!("{base}/report")).await;
        assert_eq!(
            r["villagers"],
            json!({"served": 5, "with_ticket": 3, "without_ticket": 2, "no_show": 1}),
            "{r}"
        );
        assert_eq!(
            (&r["tickets"]["done"], &r["tickets"]["no_show"]),
            (&json!(3), &json!(1)),
            "{r}"
        );
    });
}
