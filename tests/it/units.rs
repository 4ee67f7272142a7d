//! Administrative units on a real hub process: the built-in sample answers on first run; `hub units import`
//! of the full 2026 dataset while the hub is serving replaces it (34 provinces, 3,321 units); the HTTP
//! search finds communes with or without diacritics; a bad file is refused and changes nothing, and so does
//! the same file imported again; a unit is named as of a day (the Đồng Nai wards that were communes before
//! 30 April 2026). Former units after a newer list: `unit_history.rs`.

use std::path::PathBuf;
use std::time::Instant;

use crate::common::*;

fn dataset_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/vn-admin-units/units-2026-07-25.json")
}

#[test]
fn import_full_dataset_while_serving_then_search() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("office");
    let data_s = data.to_str().unwrap();
    let hub = Hub::start("office", &data);

    block_on(async {
        // Logged-in users only.
        let (s, b) = Client::new(&hub.base)
            .get("/api/v1/units/search?q=bu")
            .await;
        assert_eq!(s, 401, "{b}");

        let admin = Client::setup(&hub, "quantri", "mat-khau-quan-tri").await;
        // First run: the built-in sample (Khánh Hoà, Đồng Nai).
        let (s, b) = admin.get("/api/v1/units/provinces").await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["dataset"]["source"], "sample");
        let codes: Vec<&str> = b["provinces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["56", "75"]);
        let (s, b) = admin.get("/api/v1/units/search?q=bu%20gia%20map").await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["units"][0]["code"], "25222");
    });

    // Import the full dataset while the hub is serving the same directory.
    let file = dataset_file();
    let started = Instant::now();
    let out = cli_ok(
        &["units", "import", "--data", data_s, file.to_str().unwrap()],
        &[],
    );
    let took = started.elapsed();
    assert!(
        out.contains("units-2026-07-25.json (dataset of 2026-07-25): 34 provinces, 3321 units"),
        "{out}"
    );
    assert!(out.contains("3161 added, 0 removed, 0 renamed"), "{out}");
    // Nothing of the sample was dropped or renamed: nothing goes to the history.
    assert!(!out.contains("Kept in the history"), "{out}");
    eprintln!("hub units import (process, full file): {took:?}\n{out}");
    // The same file again changes nothing (exit 0).
    let again = cli_ok(
        &["units", "import", "--data", data_s, file.to_str().unwrap()],
        &[],
    );
    assert!(
        again.contains("units-2026-07-25.json is the stored list already")
            && again.contains("nothing was changed"),
        "{again}"
    );

    // A refused file exits 2, names the entry and changes nothing.
    let bad = tmp.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"[{"Code":"75","Name":"Đồng Nai","NameEn":"Dong Nai","FullName":"Thành phố Đồng Nai",
             "FullNameEn":"Dong Nai City","CodeName":"dong_nai","Wards":[{"Code":"25222",
             "Name":"Bù Gia Mập","NameEn":"Bu Gia Map","FullName":"Xã Bù Gia Mập",
             "FullNameEn":"Bu Gia Map Commune","CodeName":"bu_gia_map","ProvinceCode":"70"}]}]"#,
    )
    .unwrap();
    let refused = cli(
        &["units", "import", "--data", data_s, bad.to_str().unwrap()],
        &[],
    );
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("province 75, unit #1 (Code \"25222\", Bù Gia Mập)")
            && err.contains("ProvinceCode is \"70\""),
        "{err}"
    );

    // The CLI list sees the full list.
    let out = cli_ok(
        &["units", "list", "--data", data_s, "--search", "Khánh Hòa"],
        &[],
    );
    assert!(out.contains("04342  Xã Khánh Hoà, Tỉnh Lào Cai"), "{out}");
    assert!(
        out.contains("31789  Phường Khánh Hoà, Thành phố Cần Thơ"),
        "{out}"
    );

    block_on(async {
        let admin = Client::login(&hub.base, "quantri", "mat-khau-quan-tri").await;
        let (s, b) = admin.get("/api/v1/units/provinces").await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["dataset"]["name"], "units-2026-07-25.json");
        assert_eq!(b["dataset"]["date"], "2026-07-25");
        assert_eq!(b["dataset"]["source"], "import");
        let provinces = b["provinces"].as_array().unwrap();
        assert_eq!(provinces.len(), 34);
        let total: i64 = provinces.iter().map(|p| p["units"].as_i64().unwrap()).sum();
        assert_eq!(total, 3321);

        // Without diacritics, with them, and with the other tone placement.
        for q in [
            "bu%20gia%20map",
            "B%C3%B9%20Gia%20M%E1%BA%ADp",
            "BU-GIA-MAP",
        ] {
            let (s, b) = admin.get(&format!("/api/v1/units/search?q={q}")).await;
            assert_eq!(s, 200, "{b}");
            let u = &b["units"][0];
            assert_eq!(u["code"], "25222", "{q}: {b}");
            assert_eq!(u["label"], "Xã Bù Gia Mập, Thành phố Đồng Nai");
            assert_eq!(u["province"]["code"], "75");
        }
        // "Thanh Hóa" (old placement) finds the Thanh Hoá ward of Đồng Tháp spelled "Thanh Hoà".
        let (s, b) = admin
            .get("/api/v1/units/search?q=Thanh%20H%C3%B3a&province=82")
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["units"][0]["code"], "28436", "{b}");
        // Limit and province filter.
        let (s, b) = admin.get("/api/v1/units/search?q=hoa&limit=100").await;
        assert_eq!(s, 200);
        assert_eq!(b["units"].as_array().unwrap().len(), 100);
        let (_, b) = admin.get("/api/v1/units/search?q=hoa").await;
        assert_eq!(b["units"].as_array().unwrap().len(), 20);
        let (_, b) = admin.get("/api/v1/units/search?q=hoa&province=01").await;
        assert!(b["units"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["province"]["code"] == "01"));

        // Errors in the API's shape.
        let (s, b) = admin.get("/api/v1/units/search?q=hoa&limit=101").await;
        assert_eq!(s, 400, "{b}");
        assert_eq!(b["error"]["code"], "bad_request");
        assert_eq!(b["error"]["field"], "limit");
        assert!(b["error"]["message_vi"].is_string() && b["error"]["message_en"].is_string());
        let (s, b) = admin.get("/api/v1/units/search").await;
        assert_eq!((s, b["error"]["field"].as_str()), (400, Some("q")));
        let (s, b) = admin.get("/api/v1/units/search?q=x&province=99").await;
        assert_eq!((s, b["error"]["code"].as_str()), (404, Some("not_found")));
        let (s, b) = admin.get("/api/v1/units/2522").await;
        assert_eq!((s, b["error"]["field"].as_str()), (400, Some("code")));
        let (s, b) = admin.get("/api/v1/units/99999").await;
        assert_eq!((s, b["error"]["code"].as_str()), (404, Some("not_found")));

        let (s, b) = admin.get("/api/v1/units/00004").await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["label"], "Phường Ba Đình, Thành phố Hà Nội");
        assert_eq!(b["former"], false);
        assert!(
            b.get("valid_until").is_none() && b.get("successor").is_none(),
            "{b}"
        );
        // The compiled-in history: a commune of Đồng Nai that became a ward on 30/04/2026, by day.
        let (s, b) = admin.get("/api/v1/units/26248?on=2026-04-29").await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["label"], "Xã Trảng Bom, Tỉnh Đồng Nai");
        assert_eq!(
            (b["former"].as_bool(), b["valid_until"].as_str()),
            (Some(false), Some("2026-04-30"))
        );
        let (_, b) = admin.get("/api/v1/units/26248?on=2026-04-30").await;
        assert_eq!(b["label"], "Phường Trảng Bom, Thành phố Đồng Nai");
        let (_, b) = admin.get("/api/v1/units/26248").await;
        assert_eq!(b["label"], "Phường Trảng Bom, Thành phố Đồng Nai");

        // Rough latency of a search over the full list through HTTP (loopback, debug build).
        let n = 50;
        let t = Instant::now();
        for _ in 0..n {
            let (s, _) = admin.get("/api/v1/units/search?q=hoa%20binh").await;
            assert_eq!(s, 200);
        }
        eprintln!("search latency: {:?} per request", t.elapsed() / n);
    });
}
