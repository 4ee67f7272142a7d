//! The public queue board and pre-declarations under a flood from the open Wi-Fi (issue 18, finding 8).
//!
//! Board streams (`GET /api/v1/board/events`) are capped per client address (`--board-streams-per-address`,
//! 4 by default) and in all (`--max-board-streams`), so one phone cannot take every slot and leave the TV
//! with a 503; a refused stream gets a JSON error with `Retry-After` and the board polls the plain JSON
//! board meanwhile. At the global cap a newcomer takes the oldest stream of the address holding the most.
//! Pre-declarations are limited per session (`--predeclarations-per-session`) besides per address.
//!
//! The clients leave from several loopback addresses (any 127.0.0.0/8 address reaches the hub): the
//! attacker's phone from 127.0.0.2, the TV from 127.0.0.9, and so on.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::*;

const ADMIN_PW: &str = "Quản-trị-viên-2024";

/// An HTTP client whose connections leave from 127.0.0.`last`.
fn from(last: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// Opens a board stream from 127.0.0.`last`; on 200, reads until the first `board` event and returns it
/// with the open response.
async fn open_stream(hub: &Hub, last: u8) -> Result<(reqwest::Response, Value), reqwest::Response> {
    let mut r = from(last)
        .get(hub.url("/api/v1/board/events"))
        .send()
        .await
        .unwrap();
    if r.status() != 200 {
        return Err(r);
    }
    let mut buf = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            if block.lines().any(|l| l == "event: board") {
                let data: String = block
                    .lines()
                    .filter_map(|l| l.strip_prefix("data: "))
                    .collect();
                return Ok((r, serde_json::from_str(&data).unwrap()));
            }
            continue;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no board event: {buf}");
        let chunk = tokio::time::timeout(left, r.chunk())
            .await
            .expect("a board event in time")
            .unwrap()
            .expect("the stream is open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

/// A refused stream: its status, its `Retry-After` in seconds and its JSON error.
async fn refusal(r: reqwest::Response) -> (u16, u64, Value) {
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After in seconds");
    (status, retry, r.json().await.unwrap())
}

/// Whether the stream ends (the hub closed it) within `within`.
async fn ends_within(r: &mut reqwest::Response, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        match tokio::time::timeout(left, r.chunk()).await {
            Err(_) => return false,
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None)) | Ok(Err(_)) => return true,
        }
    }
}

#[test]
fn one_phone_cannot_take_the_boards_streams_from_the_tv() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start("field", tmp.path());
    block_on(async {
        let admin = Client::setup(&hub, "admin", ADMIN_PW).await;
        let sid = open_bu_lu_session(&admin).await;

        // One phone opens as many streams as it can: 4 are granted, the next 30 refused with a JSON
        // error saying why (Vietnamese and English) and when to ask again.
        let mut phone = Vec::new();
        for _ in 0..4 {
            let (r, b) = open_stream(&hub, 2).await.expect("a stream within the cap");
            assert_eq!(b["session"]["hamlet"], "Thôn Bù Lư");
            phone.push(r);
        }
        for i in 0..30 {
            let r = open_stream(&hub, 2)
                .await
                .err()
                .unwrap_or_else(|| panic!("stream {} from one address was granted", 5 + i));
            let (status, retry, e) = refusal(r).await;
            assert_eq!(status, 429);
            assert!((1..=120).contains(&retry), "Retry-After {retry}");
            assert_eq!(e["error"]["code"], "too_many_streams");
            assert!(e["error"]["message_vi"]
                .as_str()
                .unwrap()
                .contains("bảng số thứ tự"));
            assert!(e["error"]["message_en"]
                .as_str()
                .unwrap()
                .contains("queue board"));
        }
        // The phone may still read the plain JSON board (what a refused board polls).
        let r = from(2).get(hub.url("/api/v1/board")).send().await.unwrap();
        assert_eq!(r.status(), 200);

        // The TV, from another address, gets its stream and follows the desks live.
        let (mut tv, first) = open_stream(&hub, 9).await.expect("the TV's stream");
        assert_eq!(first["session"]["venue_name"], "Nhà văn hoá thôn Bù Lư");
        let (s, _) = admin
            .post(
                &format!("/api/v1/outreach/sessions/{sid}/tickets"),
                json!({}),
            )
            .await;
        assert_eq!(s, 201);
        let mut buf = String::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !buf.contains("\"next\":[1]") {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "the TV did not see the new ticket: {buf}");
            let chunk = tokio::time::timeout(left, tv.chunk())
                .await
                .expect("an event in time")
                .unwrap()
                .expect("the TV's stream is open");
            buf.push_str(&String::from_utf8_lossy(&chunk));
        }

        // The phone closes its streams: its slots come back.
        phone.clear();
        let deadline = Instant::now() + Duration::from_secs(20);
        while open_stream(&hub, 2).await.is_err() {
            assert!(
                Instant::now() < deadline,
                "the phone's slots were not freed"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
}

#[test]
fn at_the_global_cap_a_newcomer_takes_a_stream_from_the_busiest_address() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start_with(
        "field",
        tmp.path(),
        &[
            "--board-streams-per-address",
            "2",
            "--max-board-streams",
            "4",
        ],
    );
    block_on(async {
        // Two attacking addresses fill the 4 slots.
        let mut a = Vec::new();
        for last in [2, 2, 3, 3] {
            a.push(open_stream(&hub, last).await.expect("within the caps").0);
        }
        // The TV still gets a stream: the oldest of an address holding two ends.
        let (_tv, _) = open_stream(&hub, 9).await.expect("the TV's stream");
        let mut ended = 0;
        for r in a.iter_mut() {
            if ends_within(r, Duration::from_millis(1500)).await {
                ended += 1;
            }
        }
        assert_eq!(ended, 1, "exactly one attacking stream made room");
        // An attacker coming back finds no one holding two more than it: 503, poll instead.
        let r = open_stream(&hub, 2)
            .await
            .expect_err("refused at the global cap");
        let (status, retry, e) = refusal(r).await;
        assert_eq!(status, 503);
        assert!(retry >= 1);
        assert_eq!(e["error"]["code"], "too_many_boards");
        let r = from(2).get(hub.url("/api/v1/board")).send().await.unwrap();
        assert_eq!(r.status(), 200);
    });
}

/// Sends a pre-declaration from 127.0.0.`last`: its status and body.
async fn predeclare(hub: &Hub, last: u8, name: &str) -> (u16, Value) {
    let r = from(last)
        .post(hub.url("/api/v1/public/predeclarations"))
        .json(
            &json!({"procedure": {"id": "marital-status-certificate", "version": 1},
                      "fields": {"subject.full_name": name}}),
        )
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[test]
fn pre_declarations_are_bounded_per_session_whatever_the_addresses() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start_with("field", tmp.path(), &["--predeclarations-per-session", "3"]);
    block_on(async {
        let admin = Client::setup(&hub, "admin", ADMIN_PW).await;
        let sid = open_bu_lu_session(&admin).await;
        // Three phones, one pre-declaration each (far under the per-address limit): accepted.
        for (i, last) in [2u8, 3, 4].into_iter().enumerate() {
            let (s, b) = predeclare(&hub, last, "Điểu Thị Lan").await;
            assert_eq!(s, 201, "{b}");
            assert_eq!(b["ticket"], i as u64 + 1);
        }
        // A fourth phone: the session's ceiling is reached; the villager is sent to the desk, in
        // Vietnamese and English.
        let (s, b) = predeclare(&hub, 5, "Lâm Văn Tư").await;
        assert_eq!(s, 503, "{b}");
        assert_eq!(b["error"]["code"], "predeclarations_full");
        assert!(
            b["error"]["message_vi"]
                .as_str()
                .unwrap()
                .contains("bàn hướng dẫn"),
            "{b}"
        );
        assert!(
            b["error"]["message_en"]
                .as_str()
                .unwrap()
                .contains("guidance desk"),
            "{b}"
        );
        // Nothing of it was stored: no ticket on the board, not in the team's list.
        let (_, list) = admin.get("/api/v1/predeclarations").await;
        assert_eq!(list["predeclarations"].as_array().unwrap().len(), 3);
        let (_, board) = admin.get("/api/v1/board").await;
        assert!(!board.to_string().contains("[1,2,3,4]"), "{board}");
        // Taking one as a draft does not make room: the ceiling counts the session's pre-declarations.
        let id = list["predeclarations"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (s, _) = admin
            .post(&format!("/api/v1/predeclarations/{id}/take"), json!({}))
            .await;
        assert_eq!(s, 201);
        assert_eq!(predeclare(&hub, 6, "Lâm Văn Tư").await.0, 503);

        // The next session starts afresh.
        let (s, _) = admin
            .post(&format!("/api/v1/outreach/sessions/{sid}/close"), json!({}))
            .await;
        assert_eq!(s, 200);
        open_bu_lu_session(&admin).await;
        let (s, b) = predeclare(&hub, 7, "Lâm Văn Tư").await;
        assert_eq!((s, b["ticket"].clone()), (201, json!(1)), "{b}");
    });
}

#[test]
fn with_no_session_open_the_waiting_pre_declarations_are_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start_with("field", tmp.path(), &["--predeclarations-per-session", "2"]);
    block_on(async {
        let admin = Client::setup(&hub, "admin", ADMIN_PW).await;
        for last in [2u8, 3] {
            let (s, b) = predeclare(&hub, last, "Điểu Thị Lan").await;
            assert_eq!((s, b["number_kind"].clone()), (201, json!("pickup")), "{b}");
        }
        let (s, b) = predeclare(&hub, 4, "Điểu Thị Lan").await;
        assert_eq!(s, 503, "{b}");
        assert_eq!(b["error"]["code"], "predeclarations_full");
        // The team takes one: room for one more.
        let (_, list) = admin.get("/api/v1/predeclarations").await;
        let id = list["predeclarations"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (s, _) = admin
            .post(&format!("/api/v1/predeclarations/{id}/take"), json!({}))
            .await;
        assert_eq!(s, 201);
        assert_eq!(predeclare(&hub, 5, "Điểu Thị Lan").await.0, 201);
        assert_eq!(predeclare(&hub, 6, "Điểu Thị Lan").await.0, 503);
    });
}
