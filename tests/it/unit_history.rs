//! Administrative units replaced by a newer list, on real hubs (issue 16, item 7). A field hub seals a 3-in-1
//! dossier whose residence is 25222 (Xã Bù Gia Mập, Đồng Nai) and keeps a draft with the same code; the
//! office receives the dossier (USB batch). Then `hub units import` of a next version of the list (synthetic:
//! no newer official list exists, see docs/domain.md) retires 25222 in favour of 25223 Phường Bù Gia Mập,
//! taking effect tomorrow. Afterwards, on the office: the unit route still names 25222 (marked "(cũ)", with
//! its successor; unmarked as of the capture day), the export names it as it was, the search no longer
//! offers it, and importing the same file again changes nothing. On the field hub: the picker no longer
//! offers it and the draft cannot be sealed with it, while the retired code is still named for the form.

use std::path::Path;

use crate::common::*;
use serde_json::{json, Value};

/// The built-in sample with 25222 Xã Bù Gia Mập replaced by a new unit 25223 Phường Bù Gia Mập.
fn next_version() -> Value {
    let mut v: Value = serde_json::from_str(hub::shared::units::sample::SAMPLE_JSON).unwrap();
    let wards = v[1]["Wards"].as_array_mut().unwrap();
    let i = wards.iter().position(|u| u["Code"] == "25222").unwrap();
    wards[i]["Code"] = "25223".into();
    wards[i]["FullName"] = "Phường Bù Gia Mập".into();
    v
}

/// A 3-in-1 dossier living in 25222 (as the exports test's first one).
fn birth() -> Value {
    json!({
        "child.full_name": "Điểu Thị Mai",
        "child.date_of_birth": "2026-04-21",
        "child.sex": "female",
        "child.nationality": "Việt Nam",
        "child.place_of_birth": "Trạm Y tế xã Bù Gia Mập",
        "child.hometown": "Xã Bù Gia Mập, tỉnh Bình Phước (cũ)",
        "birth.proof": "facility",
        "birth.copies": "2",
        "mother.full_name": "Thị Hoa",
        "mother.date_of_birth": "1998",
        "mother.ethnicity": "Xtiêng",
        "mother.nationality": "Việt Nam",
        "mother.pin": "070198001234",
        "mother.residence_commune": "25222",
        "mother.residence_detail": "Thôn Bù Khơn",
        "mother.phone": "0912345678",
        "father.declared": "yes",
        "father.full_name": "Điểu Minh",
        "father.date_of_birth": "1995-04-02",
        "father.ethnicity": "Xtiêng",
        "father.nationality": "Việt Nam",
        "father.pin": "070095004321",
        "requester.relationship": "mother",
        "requester.id_type": "can_cuoc",
        "residence.head_is": "mother",
        "residence.relationship_to_head": "child",
        "insurance.household_code": "0701234567",
        "declaration.confirmed": "yes",
    })
}

fn import(data: &Path, file: &Path) -> String {
    cli_ok(
        &[
            "units",
            "import",
            "--data",
            data.to_str().unwrap(),
            file.to_str().unwrap(),
        ],
        &[],
    )
}

/// Every data row of a CSV export (header first), naively split: enough to look for a label.
async fn export_text(clerk: &Client, system: &str) -> String {
    let (s, made) = clerk
        .post(
            "/api/v1/office/exports",
            json!({"system": system, "format": "csv", "again": true}),
        )
        .await;
    assert_eq!(s, 201, "{made}");
    let id = made["id"].as_str().unwrap();
    let (s, bytes) = clerk
        .get_bytes(&format!("/api/v1/office/exports/{id}/file"))
        .await;
    assert_eq!(s, 200);
    String::from_utf8(bytes).unwrap()
}

#[test]
fn a_retired_code_keeps_its_name_on_dossiers_and_leaves_the_picker() {
    let (tmp, field_dir, office_dir, field) = paired_field(&[]);
    let photo = std::fs::read(sample_photo("giay-chung-sinh.jpg")).unwrap();
    let today = hub::shared::clock::today_vn();
    let tomorrow = today.next_day().unwrap();
    let next = tmp.path().join(format!("units-{tomorrow}.json"));
    std::fs::write(&next, serde_json::to_vec(&next_version()).unwrap()).unwrap();
    let p3 = "birth-residence-insurance";

    let draft = block_on(async {
        let officer = field_officer(&field, "mat-khau-12345").await;
        let id = fill_draft(
            &officer,
            p3,
            &birth(),
            &["birth_certificate", "requester_id"],
            "giay-to.jpg",
            &photo,
        )
        .await;
        seal_draft(&officer, &id).await;
        fill_draft(
            &officer,
            p3,
            &birth(),
            &["birth_certificate", "requester_id"],
            "giay-to.jpg",
            &photo,
        )
        .await
    });
    carry_batch(&tmp.path().join("b.batch"), &field_dir, &office_dir);

    // The field hub takes the next list while serving: a new capture cannot use 25222 any more.
    let out = import(&field_dir, &next);
    assert!(
        out.contains("1 added, 1 removed")
            && out.contains("1 former unit(s), 1 with a known successor"),
        "{out}"
    );
    block_on(async {
        let officer = Client::login(&field.base, "canbo", "mat-khau-12345").await;
        let (s, b) = officer.get("/api/v1/units/search?q=bu%20gia%20map").await;
        assert_eq!(s, 200, "{b}");
        let codes: Vec<&str> = b["units"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["25223"], "{b}");
        // What the form shows for the draft's value: the old name, marked, and where it went.
        let (s, u) = officer.get("/api/v1/units/25222").await;
        assert_eq!(s, 200, "{u}");
        assert_eq!(u["label"], "Xã Bù Gia Mập (cũ), Thành phố Đồng Nai");
        assert_eq!(u["former"], true);
        assert_eq!(u["successor"]["code"], "25223");
        let (s, b) = officer
            .post(&format!("/api/v1/drafts/{draft}/seal"), json!({}))
            .await;
        assert_ne!(s, 201, "{b}");
        assert!(b.to_string().contains("mother.residence_commune"), "{b}");
    });
    drop(field);

    let office = Hub::start("office", &office_dir);
    block_on(async {
        let (_admin, clerk) = office_clerk(&office).await;
        let (_, list) = clerk.get("/api/v1/office/dossiers").await;
        let d = &list["dossiers"][0];
        let id = d["dossier_id"].as_str().unwrap();
        let (s, page) = clerk.get(&format!("/api/v1/office/dossiers/{id}")).await;
        assert_eq!(s, 200, "{page}");
        assert!(page.to_string().contains("\"25222\""), "{page}");
        // Before the office knows the newer list: the current name.
        let (_, u) = clerk.get("/api/v1/units/25222").await;
        assert_eq!(u["label"], "Xã Bù Gia Mập, Thành phố Đồng Nai");
        assert_eq!(u["former"], false);

        // The office takes the next list while serving.
        let out = import(&office_dir, &next);
        assert!(out.contains(&format!("valid until {tomorrow}")), "{out}");

        // The dossier page names the unit (its code as sealed, its name from the unit route).
        let (s, u) = clerk.get("/api/v1/units/25222").await;
        assert_eq!(s, 200, "{u}");
        assert_eq!(u["label"], "Xã Bù Gia Mập (cũ), Thành phố Đồng Nai");
        assert_eq!(u["former"], true);
        assert_eq!(u["valid_until"], tomorrow.to_string());
        assert_eq!(
            u["successor"],
            json!({"code": "25223", "label": "Phường Bù Gia Mập, Thành phố Đồng Nai"})
        );
        // As of the capture day: the name it had, unmarked.
        let (s, u) = clerk.get(&format!("/api/v1/units/25222?on={today}")).await;
        assert_eq!(s, 200, "{u}");
        assert_eq!(u["label"], "Xã Bù Gia Mập, Thành phố Đồng Nai");
        let (s, b) = clerk.get("/api/v1/units/25222?on=h%C3%B4m-qua").await;
        assert_eq!((s, b["error"]["field"].as_str()), (400, Some("on")), "{b}");
        let (s, _) = clerk.get("/api/v1/units/99999").await;
        assert_eq!(s, 404);
        // The export names it as on the day the dossier came in (the birth declaration: CT01 waits for
        // the child's PIN, issue 24).
        let csv = export_text(&clerk, "birth_declaration").await;
        assert!(csv.contains("Xã Bù Gia Mập, Thành phố Đồng Nai"), "{csv}");
        assert!(
            !csv.contains("25222") && !csv.contains("Bù Gia Mập (cũ)"),
            "{csv}"
        );
        // The picker offers the new unit only.
        let (_, b) = clerk.get("/api/v1/units/search?q=bu%20gia%20map").await;
        assert_eq!(b["units"].as_array().unwrap().len(), 1, "{b}");
        assert_eq!(b["units"][0]["code"], "25223");

        // The same file again changes nothing.
        let (_, p_before) = clerk.get("/api/v1/units/provinces").await;
        let (_, u_before) = clerk.get("/api/v1/units/25222").await;
        let out = import(&office_dir, &next);
        assert!(out.contains("nothing was changed"), "{out}");
        let (_, p_after) = clerk.get("/api/v1/units/provinces").await;
        let (_, u_after) = clerk.get("/api/v1/units/25222").await;
        assert_eq!((&p_before, &u_before), (&p_after, &u_after));
        assert_eq!(p_after["dataset"]["effective_date"], tomorrow.to_string());
    });
}
