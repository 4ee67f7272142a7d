//! Accounts (issue 17, item 10): a user name logs in whatever letter case or Unicode form it is typed in.
//! Phone keyboards send Vietnamese diacritics composed (NFC) or decomposed (NFD), and people capitalise
//! names differently; the name still names one user, the password still decides, and a second account
//! whose name differs only so is refused.

use unicode_normalization::UnicodeNormalization;

use crate::common::*;

const ADMIN_PW: &str = "Quan-tri-2026!";
const AN_PW: &str = "Mat-khau-An-2026";

#[test]
fn a_name_logs_in_whatever_its_case_and_unicode_form() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start("field", &dir.path().join("hub"));
    block_on(async {
        let admin = Client::setup(&hub, "admin", ADMIN_PW).await;
        admin.add_user("Nguyễn Văn An", "officer", AN_PW).await;

        let nfd: String = "Nguyễn Văn An".nfd().collect();
        assert_ne!(
            nfd, "Nguyễn Văn An",
            "the test really types decomposed diacritics"
        );
        for typed in [
            nfd.clone(),
            "nguyễn văn an".to_string(),
            "NGUYỄN VĂN AN".nfd().collect::<String>(),
        ] {
            let c = Client::login(&hub.base, &typed, AN_PW).await;
            let (s, me) = c.get("/api/v1/me").await;
            assert_eq!(s, 200);
            assert_eq!(
                me["user"]["name"], "Nguyễn Văn An",
                "typed as {typed:?}: the stored name"
            );
        }

        // The password still decides.
        let c = Client::new(&hub.base);
        let (s, body) = c
            .post(
                "/api/v1/login",
                serde_json::json!({"name": nfd, "password": "Sai-mat-khau-2026"}),
            )
            .await;
        assert_eq!(s, 401, "{body}");

        // A second account whose name differs only in case or form is refused.
        let (s, body) = admin
        .post(
            "/api/v1/users",
            serde_json::json!({"name": "nguyễn văn an".nfd().collect::<String>(), "role": "volunteer", "password": "Mat-khau-khac-2026"}),
        )
        .await;
        assert!((400..500).contains(&s), "{s} {body}");
    });
}
