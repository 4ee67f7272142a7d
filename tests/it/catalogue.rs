//! The catalogue as a hub serves it (issue 16): every version, the one in force today for new drafts, the
//! hub's commune for the forms' defaults; a wrong `--commune` stops the hub with the reason.

use std::process::Command;
use std::time::Duration;

use crate::common::*;

#[test]
fn the_hub_serves_every_version_and_says_which_one_a_new_draft_uses() {
    let tmp = tempfile::tempdir().unwrap();
    let field = Hub::start_with("field", tmp.path(), &["--commune", "25222"]);
    block_on(async {
        let officer = field_officer(&field, "mat-khau-12345").await;
        let (s, r) = officer.get("/api/v1/procedures").await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["hub_commune"], "25222");
        let versions = |id: &str| -> Vec<u64> {
            r["procedures"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["id"] == id)
                .map(|p| p["version"].as_u64().unwrap())
                .collect()
        };
        for id in ["marital-status-certificate", "birth-residence-insurance"] {
            assert_eq!(versions(id), [1, 2], "{id}: every version stays served");
            let cur = r["in_force"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["id"] == id)
                .unwrap();
            assert_eq!(cur["version"], 2, "{id}: version 2 is in force today");
        }
        // A draft of either version is kept with its version.
        for v in [1, 2] {
            let (s, d) = officer
                .post(
                    "/api/v1/drafts",
                    serde_json::json!({"procedure": {"id": "marital-status-certificate", "version": v}, "fields": {}}),
                )
                .await;
            assert_eq!(s, 201, "{d}");
            assert_eq!(d["procedure"]["version"], v);
        }
        // Version 2's addressee is a commune code: a text is refused, a known code kept.
        let (s, d) = officer
            .post(
                "/api/v1/drafts",
                serde_json::json!({"procedure": {"id": "marital-status-certificate", "version": 2},
                    "fields": {"addressee.commune": "UBND xã Phước Minh"}}),
            )
            .await;
        assert_eq!(s, 422, "{d}");
        assert_eq!(d["error"]["details"][0]["field"], "addressee.commune");
        // The guide follows the version in force.
        let (s, g) = officer
            .get("/api/v1/guides/marital-status-certificate")
            .await;
        assert_eq!(s, 200, "{g}");
        assert_eq!(g["procedure"]["version"], 2);
    });
}

#[test]
fn an_unknown_commune_stops_the_hub_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().to_str().unwrap();
    cli_ok(&["init", "--mode", "field", "--data", data], &[]);
    let mut child = Command::new(hub_bin())
        .args([
            "serve",
            "--data",
            data,
            "--listen",
            "127.0.0.1:0",
            "--mdns",
            "off",
        ])
        .args(["--https-listen", "off", "--commune", "99999"])
        .env("HUB_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the hub kept running with an unknown commune"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!status.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("99999") && err.contains("hub units list --search"),
        "{err}"
    );
    // Not a 5-digit code at all: refused by the argument parser.
    let out = cli(&["serve", "--data", data, "--commune", "Phước Minh"], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("5-digit"));
}
