//! Integration test: a new procedure without a new binary (issue 20). A small procedure is authored as
//! sheets (`tests/fixtures/packages/residence-confirmation.v1/`), checked and built with `hub procedure`,
//! published at a real office hub by its admin (clerks refused, malformed and clashing packages refused,
//! audited); one paired field hub pulls it over a real sync session, another from the USB ack file; a
//! phone captures and seals a dossier with it; the office verifies, prints and exports it. A tampered
//! package is refused with a plain error and installs nothing.

use std::path::Path;

use crate::common::*;
use serde_json::{json, Value};

const FIXTURE: &str = "tests/fixtures/packages/residence-confirmation.v1";
const ID: &str = "residence-confirmation";

fn fixture_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(FIXTURE)
}

/// `hub procedure build` of `src` into `out`; the package JSON.
fn build(src: &Path, out: &Path) -> Value {
    let o = cli(
        &[
            "procedure",
            "build",
            src.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        o.status.success(),
        "build: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap()
}

fn procedure_ids(list: &Value) -> Vec<String> {
    list["procedures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{} v{}", p["id"].as_str().unwrap(), p["version"]))
        .collect()
}

fn fields() -> Value {
    json!({
        "requester.full_name": "Điểu Thị Cư Trú",
        "requester.date_of_birth": "1990-05-14",
        "requester.sex": "female",
        "requester.pin": "070190001234",
        "requester.phone": "0912345678",
        "request.purpose": "Xác nhận nơi thường trú",
    })
}

/// Captures a dossier of the new procedure with `fields` and an ID photo, and seals it.
async fn capture_new(officer: &Client, fields: &Value, photo: &[u8]) -> Value {
    let id = fill_draft(officer, ID, fields, &["id_document"], "can-cuoc.jpg", photo).await;
    seal_draft(officer, &id).await
}

#[test]
fn an_authored_procedure_is_published_pulled_captured_and_exported() {
    let tmp = tempfile::tempdir().unwrap();
    let (field_dir, usb_dir, office_dir) = (
        tmp.path().join("field"),
        tmp.path().join("usb-field"),
        tmp.path().join("office"),
    );
    init_office(&office_dir);
    init_hub("field", &field_dir, Some("Tổ lưu động Bù Gia Mập"));
    init_hub("field", &usb_dir, Some("Tổ lưu động Đắk Ơ"));
    pair_by_files(tmp.path(), &field_dir, &office_dir);
    let t2 = tmp.path().join("second");
    std::fs::create_dir_all(&t2).unwrap();
    pair_by_files(&t2, &usb_dir, &office_dir);

    // Authoring: the sheets check clean and build to a package; a defect is reported with its place.
    let src = tmp.path().join("src");
    copy_dir(&fixture_dir(), &src);
    let out = cli(&["procedure", "check", src.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{out:?}");
    let package = build(&src, &tmp.path().join("pkg.json"));
    assert_eq!(package["procedure"]["id"], ID);
    let broken = tmp.path().join("broken");
    copy_dir(&src, &broken);
    let items = std::fs::read_to_string(broken.join("export_items.csv")).unwrap();
    std::fs::write(
        broken.join("export_items.csv"),
        items.replace("requester.pin", "requester.pinn"),
    )
    .unwrap();
    let out = cli(&["procedure", "check", broken.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("export_items"), "{said}");
    assert!(said.contains("requester.pinn"), "{said}");
    assert!(said.contains("row"), "{said}");

    // Publishing at the office: admins only, checked, versions immutable, audited.
    let office = Hub::start("office", &office_dir);
    let hash = block_on(async {
        let (admin, clerk) = office_clerk(&office).await;
        let (s, b) = clerk.post("/api/v1/office/packages", package.clone()).await;
        assert_eq!(s, 403, "{b}");
        let mut bad = package.clone();
        bad["procedure"]["groups"][0]["fields"][0]["kind"] = json!("colour");
        let (s, b) = admin.post("/api/v1/office/packages", bad).await;
        assert_eq!(s, 422, "{b}");
        assert_eq!(b["error"]["code"], "package_invalid", "{b}");
        let (s, b) = admin.post("/api/v1/office/packages", package.clone()).await;
        assert_eq!(s, 201, "{b}");
        assert_eq!(b["status"], "published");
        let hash = b["hash"].as_str().unwrap().to_string();
        let (s, b) = admin.post("/api/v1/office/packages", package.clone()).await;
        assert_eq!((s, &b["status"]), (200, &json!("already_published")), "{b}");
        let mut changed = package.clone();
        changed["procedure"]["time_limit_working_days"] = json!(5);
        let (s, b) = admin.post("/api/v1/office/packages", changed).await;
        assert_eq!(s, 409, "{b}");
        assert_eq!(b["error"]["code"], "package_version_taken");
        assert!(
            b["error"]["message_vi"]
                .as_str()
                .unwrap()
                .contains("phiên bản 2"),
            "{b}"
        );
        // A built-in version cannot be replaced either.
        let mut builtin = package.clone();
        builtin["procedure"]["id"] = json!("marital-status-certificate");
        let (s, b) = admin.post("/api/v1/office/packages", builtin).await;
        assert_eq!(s, 409, "{b}");

        let (s, list) = clerk.get("/api/v1/office/packages").await;
        assert_eq!(s, 200, "{list}");
        let row = list["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["procedure_id"] == ID)
            .unwrap_or_else(|| panic!("{list}"))
            .clone();
        assert_eq!(row["origin"], "published");
        assert_eq!(row["holders"], json!([]));
        assert_eq!(row["exports"], 1);
        // The office itself now serves, prints and exports it.
        let (_, procs) = clerk.get("/api/v1/procedures").await;
        assert!(
            procedure_ids(&procs).contains(&format!("{ID} v1")),
            "{procs}"
        );
        hash
    });
    let audited: i64 = crate::common::db(office_dir.join("hub.sqlite"))
        .unwrap()
        .query_row(
            "SELECT count(*) FROM audit_log WHERE action = 'package_published' AND detail_json LIKE ?1",
            [format!("%{hash}%")],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited, 1, "one publication, audited once");

    // Network: the field hub pulls it at its next sync and a phone captures and seals with it.
    let args = ["--sync", "off", "--office-url", office.base.as_str()];
    let field = Hub::start_with("field", &field_dir, &args);
    let photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();
    let code = block_on(async {
        let officer = field_officer(&field, "mat-khau-can-bo").await;
        let (_, procs) = officer.get("/api/v1/procedures").await;
        assert!(!procedure_ids(&procs).contains(&format!("{ID} v1")));
        let (s, b) = officer.post("/api/v1/upload/run", json!({})).await;
        assert_eq!(s, 202, "{b}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let status = loop {
            let (_, st) = officer.get("/api/v1/upload/status").await;
            if st["progress"]["running"] == false && st["progress"]["last_success_at"].is_string() {
                break st;
            }
            assert!(std::time::Instant::now() < deadline, "no sync: {st}");
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        };
        assert_eq!(
            status["progress"]["last_packages"][0]["id"], ID,
            "the sync page names the new procedure: {status}"
        );
        let (_, procs) = officer.get("/api/v1/procedures").await;
        assert!(
            procedure_ids(&procs).contains(&format!("{ID} v1")),
            "{procs}"
        );
        assert!(
            procs["in_force"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["id"] == ID),
            "a new draft uses it: {procs}"
        );
        let r = capture_new(&officer, &fields(), &photo).await;
        assert_eq!(r["protected"], true, "{r}");
        // The PIN check of the package runs: a PIN of the wrong sex is refused at seal.
        let mut wrong = fields();
        wrong["requester.sex"] = json!("male");
        let id2 = fill_draft(
            &officer,
            ID,
            &wrong,
            &["id_document"],
            "can-cuoc.jpg",
            &photo,
        )
        .await;
        let (s, b) = officer
            .post(&format!("/api/v1/drafts/{id2}/seal"), json!({}))
            .await;
        assert_eq!(s, 422, "{b}");
        assert!(
            b.to_string().contains("requester.pin") || b.to_string().contains("requester.sex"),
            "{b}"
        );
        let (s, b) = officer.post("/api/v1/upload/run", json!({})).await;
        assert_eq!(s, 202, "{b}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let (_, st) = officer.get("/api/v1/upload/status").await;
            if st["counts"]["acked"] == 1 && st["progress"]["running"] == false {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "not acknowledged: {st}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
        r["code"].as_str().unwrap().to_string()
    });
    drop(field);

    // The office: the dossier verified, printed on its form, exported to its system.
    block_on(async {
        let clerk = Client::login(&office.base, "vanthu", "mat-khau-van-thu").await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let d = loop {
            let (_, list) = clerk.get("/api/v1/office/dossiers").await;
            if let Some(d) = list["dossiers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["receipt_code"] == code.as_str())
            {
                break d.clone();
            }
            assert!(std::time::Instant::now() < deadline, "not received: {list}");
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        };
        assert_eq!(d["verification"], "verified", "{d}");
        let did = d["dossier_id"].as_str().unwrap();
        let (s, forms) = clerk
            .get(&format!("/api/v1/office/dossiers/{did}/forms"))
            .await;
        assert_eq!(s, 200, "{forms}");
        let text = forms.to_string();
        assert!(
            text.contains("TỜ KHAI ĐỀ NGHỊ XÁC NHẬN THÔNG TIN VỀ CƯ TRÚ"),
            "{forms}"
        );
        assert!(
            text.contains("Điểu Thị Cư Trú") && text.contains("14/05/1990"),
            "{forms}"
        );
        let (s, made) = clerk
            .post(
                "/api/v1/office/exports",
                json!({"system": "ct07", "format": "csv"}),
            )
            .await;
        assert_eq!(s, 201, "{made}");
        assert_eq!(made["rows"], 1);
        let (s, bytes) = clerk
            .get_bytes(&format!(
                "/api/v1/office/exports/{}/file",
                made["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(s, 200);
        let csv = String::from_utf8_lossy(&bytes).to_string();
        assert!(csv.contains("ĐIỂU THỊ CƯ TRÚ"), "{csv}");
        // CSV dates in ISO 8601 (issue 24).
        assert!(csv.contains("1990-05-14") && csv.contains("Nữ"), "{csv}");

        // The Procedures page: which field hub holds it.
        let (_, list) = clerk.get("/api/v1/office/packages").await;
        let row = list["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["procedure_id"] == ID)
            .unwrap()
            .clone();
        let holders = row["holders"].as_array().unwrap();
        assert_eq!(holders.len(), 1, "{row}");
        assert_eq!(holders[0]["device_name"], "Tổ lưu động Bù Gia Mập");
        assert!(
            holders[0]["confirmed_at"].is_string(),
            "confirmed at the second sync: {row}"
        );
    });

    // USB: the second field hub's batch goes by stick; the ack file brings the package back.
    let usb = Hub::start_with("field", &usb_dir, &["--sync", "off"]);
    block_on(async {
        let officer = field_officer(&usb, "mat-khau-can-bo").await;
        capture_and_seal(&officer, "Thị Sa Ly", "058198004567", &photo).await;
    });
    drop(usb);
    drop(office);
    let batch = tmp.path().join("b.batch");
    cli_ok(
        &[
            "batch",
            "export",
            "--data",
            usb_dir.to_str().unwrap(),
            "--out",
            batch.to_str().unwrap(),
        ],
        &[],
    );
    // A field hub older than packages writes no `ack_packages` in batch_meta: its ack file stays one line
    // (it reads the whole file as one ack).
    let old_batch = tmp.path().join("old.batch");
    std::fs::copy(&batch, &old_batch).unwrap();
    rusqlite::Connection::open(&old_batch)
        .unwrap()
        .execute("DELETE FROM batch_meta WHERE key = 'ack_packages'", [])
        .unwrap();
    let (code, report) = batch_import_json(&office_dir, &old_batch);
    assert_eq!(code, 0, "{report}");
    let old_ack = std::fs::read(report["ack_file"].as_str().unwrap()).unwrap();
    assert_eq!(
        old_ack
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count(),
        1
    );
    protocol::SignedAck::from_bytes(old_ack.trim_ascii_end()).unwrap();

    let (code, report) = batch_import_json(&office_dir, &batch);
    assert_eq!(code, 0, "{report}");
    let ack = std::path::PathBuf::from(report["ack_file"].as_str().unwrap());
    let ack_bytes = std::fs::read(&ack).unwrap();
    assert!(
        ack_bytes.split(|b| *b == b'\n').count() >= 2,
        "the ack file carries packages"
    );

    // A tampered package line: refused, plainly, and nothing installed from it.
    let tampered = tmp.path().join("tampered-ack.json");
    let text = String::from_utf8(ack_bytes.clone()).unwrap();
    std::fs::write(
        &tampered,
        text.replace("Công an cấp xã", "Công an cấp huyện"),
    )
    .unwrap();
    let out = cli_ok(
        &[
            "batch",
            "import-ack",
            "--data",
            usb_dir.to_str().unwrap(),
            tampered.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.contains("refused"), "{out}");
    assert!(out.contains("not signed by the paired office"), "{out}");
    assert!(!out.contains(&format!("installed: {ID}")), "{out}");

    let out = cli_ok(
        &[
            "batch",
            "import-ack",
            "--data",
            usb_dir.to_str().unwrap(),
            ack.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.contains(&format!("{ID} v1")), "{out}");
    let usb = Hub::start_with("field", &usb_dir, &["--sync", "off"]);
    block_on(async {
        let officer = Client::login(&usb.base, "canbo", "mat-khau-can-bo").await;
        let (_, procs) = officer.get("/api/v1/procedures").await;
        assert!(
            procedure_ids(&procs).contains(&format!("{ID} v1")),
            "{procs}"
        );
        let r = capture_new(&officer, &fields(), &photo).await;
        assert!(r["code"].is_string(), "{r}");
    });
}
