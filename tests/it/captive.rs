//! The captive portal on real processes (`hub serve --captive-portal URL`): phones' connectivity checks,
//! sent with the real check host names (resolved to the hub as the access point's DNS does), are
//! redirected to the portal page until the phone taps "Open the app"; then that phone, and only that one,
//! gets each check's exact "online" answer. Foreign host names go to the portal, the hub's own names
//! reach the app untouched, and without the flag none of this exists.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::common::*;
use reqwest::redirect::Policy;
use serde_json::Value;

const PORTAL: &str = "http://10.42.0.1/";
const PORTAL_PAGE: &str = "http://10.42.0.1/captive-portal";
const MDNS_HOST: &str = "tram-cong-tac.local";

/// Foreign check hosts and names the access point's DNS sends to the hub.
const NAMES: &[&str] = &[
    "connectivitycheck.gstatic.com",
    "www.google.com",
    "captive.apple.com",
    "www.apple.com",
    "www.msftconnecttest.com",
    "www.msftncsi.com",
    "detectportal.firefox.com",
    "nmcheck.gnome.org",
    "example.com",
    MDNS_HOST,
];

/// (host, path, expected status, expected body) of each check once welcomed.
const CHECKS: &[(&str, &str, u16, &str)] = &[
    ("connectivitycheck.gstatic.com", "/generate_204", 204, ""),
    ("www.google.com", "/gen_204", 204, ""),
    (
        "captive.apple.com",
        "/hotspot-detect.html",
        200,
        "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>",
    ),
    (
        "www.apple.com",
        "/library/test/success.html",
        200,
        "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>",
    ),
    (
        "www.msftconnecttest.com",
        "/connecttest.txt",
        200,
        "Microsoft Connect Test",
    ),
    ("www.msftncsi.com", "/ncsi.txt", 200, "Microsoft NCSI"),
    ("detectportal.firefox.com", "/success.txt", 200, "success\n"),
    (
        "nmcheck.gnome.org",
        "/check_network_status.txt",
        200,
        "NetworkManager is online\n",
    ),
];

/// A phone on the access point: every name resolves to the hub; requests leave from `source`.
fn phone(hub: &Hub, source: &str) -> reqwest::Client {
    let port = hub.base.rsplit(':').next().unwrap().parse::<u16>().unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut b = reqwest::Client::builder()
        .redirect(Policy::none())
        .timeout(Duration::from_secs(10))
        .local_address(source.parse::<IpAddr>().unwrap());
    for n in NAMES {
        b = b.resolve(n, addr);
    }
    b.build().unwrap()
}

fn port(hub: &Hub) -> u16 {
    hub.base.rsplit(':').next().unwrap().parse().unwrap()
}

async fn get(c: &reqwest::Client, url: &str) -> (u16, Option<String>, String) {
    let r = c.get(url).send().await.expect(url);
    let status = r.status().as_u16();
    let loc = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    (status, loc, r.text().await.unwrap())
}

#[test]
fn phones_are_welcomed_once_then_their_checks_get_online_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start_with(
        "field",
        &tmp.path().join("hub"),
        &["--captive-portal", PORTAL, "--host-name", MDNS_HOST],
    );
    let p = port(&hub);
    block_on(async {
        let a = phone(&hub, "127.0.0.1");
        let b = phone(&hub, "127.0.0.2");

        // Not welcomed: every check and every foreign name leads to the portal page.
        for (host, path, _, _) in CHECKS {
            let (s, loc, _) = get(&a, &format!("http://{host}:{p}{path}")).await;
            assert_eq!(
                (s, loc.as_deref()),
                (302, Some(PORTAL_PAGE)),
                "{host}{path}"
            );
        }
        for url in ["/", "/some/page", "/api/v1/procedures"] {
            let (s, loc, _) = get(&a, &format!("http://example.com:{p}{url}")).await;
            assert_eq!((s, loc.as_deref()), (302, Some(PORTAL_PAGE)), "{url}");
        }

        // The hub's own names reach the app and API untouched (IP literal, mDNS name).
        let (s, loc, body) = get(&a, &format!("{}/", hub.base)).await;
        assert_eq!((s, loc), (200, None));
        assert!(body.contains("<html"), "the app shell");
        let (s, _, body) = get(&a, &format!("http://{MDNS_HOST}:{p}/healthz")).await;
        assert_eq!(s, 200);
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["status"],
            "ok"
        );
        let (s, _, _) = get(&a, &format!("http://{MDNS_HOST}:{p}/api/v1/procedures")).await;
        assert_eq!(
            s, 401,
            "the API answers on the hub's own name (login needed)"
        );
        let (s, loc, body) = get(&a, &format!("{}/generate_204", hub.base)).await;
        assert_eq!(
            (s, loc, body.as_str()),
            (404, None, "not found"),
            "a check path on the hub's own name gets the app's answer for an unknown path"
        );

        // The portal page: Vietnamese first, then English; one button; the address to type.
        let (s, _, page) = get(&a, &format!("{}/captive-portal", hub.base)).await;
        assert_eq!(s, 200);
        let vi = page.find("không có Internet").expect("Vietnamese text");
        let en = page.find("no internet").expect("English text");
        assert!(vi < en, "Vietnamese first");
        assert!(page.contains(r#"action="/captive-portal/welcome""#));
        assert!(page.contains("<code>http://10.42.0.1/</code>"));
        assert_eq!(page.matches("<h1").count(), 1);
        assert!(!page.contains("captive-welcomed"));
        // RFC 8908 API: captive until welcomed.
        let r = a
            .get(format!("{}/captive-portal/api", hub.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.headers()["content-type"].to_str().unwrap(),
            "application/captive+json"
        );
        let api: Value = r.json().await.unwrap();
        assert_eq!(api["captive"], true);
        assert_eq!(api["user-portal-url"], PORTAL_PAGE);

        // "Open the app" (the form is posted to whatever host showed the page).
        let r = a
            .post(format!(
                "http://captive.apple.com:{p}/captive-portal/welcome"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 303);
        assert_eq!(r.headers()["location"].to_str().unwrap(), PORTAL);

        // Welcomed: the exact online answers, for this phone only.
        for (host, path, status, body) in CHECKS {
            let (s, loc, got) = get(&a, &format!("http://{host}:{p}{path}")).await;
            assert_eq!(
                (s, loc, got.as_str()),
                (*status, None, *body),
                "{host}{path}"
            );
            let (s, loc, _) = get(&b, &format!("http://{host}:{p}{path}")).await;
            assert_eq!(
                (s, loc.as_deref()),
                (302, Some(PORTAL_PAGE)),
                "another phone is not welcomed: {host}{path}"
            );
        }
        let (s, loc, _) = get(&a, &format!("http://example.com:{p}/")).await;
        assert_eq!(
            (s, loc.as_deref()),
            (302, Some(PORTAL)),
            "a welcomed phone's foreign names lead to the app"
        );
        let api: Value = a
            .get(format!("{}/captive-portal/api", hub.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(api["captive"], false);
        let left = api["seconds-remaining"].as_u64().unwrap();
        assert!((43_000..=43_200).contains(&left), "{left}");
        let (_, _, page) = get(&a, &format!("{}/captive-portal", hub.base)).await;
        assert!(page.contains("captive-welcomed") && page.contains(r#"href="http://10.42.0.1/""#));
        let api: Value = b
            .get(format!("{}/captive-portal/api", hub.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(api["captive"], true);

        // Wrong methods and unknown portal paths.
        let r = a
            .get(format!("{}/captive-portal/welcome", hub.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 405);
        let r = a
            .get(format!("{}/captive-portal/x", hub.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 404);
    });
}

#[test]
fn without_the_flag_there_is_no_portal() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start_with(
        "field",
        &tmp.path().join("hub"),
        &["--host-name", MDNS_HOST],
    );
    let p = port(&hub);
    block_on(async {
        let a = phone(&hub, "127.0.0.1");
        for (host, path, _, _) in CHECKS {
            let (s, loc, body) = get(&a, &format!("http://{host}:{p}{path}")).await;
            assert_eq!(
                (s, loc, body.as_str()),
                (404, None, "not found"),
                "{host}{path} falls through to the app (an unknown path)"
            );
        }
        let (s, loc, body) = get(&a, &format!("http://example.com:{p}/")).await;
        assert_eq!((s, loc), (200, None));
        assert!(body.contains("<html"), "any name reaches the app");
        let (s, loc, _) = get(&a, &format!("{}/captive-portal", hub.base)).await;
        assert_eq!((s, loc), (404, None), "no portal page");
        let r = a
            .post(format!("{}/captive-portal/welcome", hub.base))
            .send()
            .await
            .unwrap();
        assert_ne!(r.status().as_u16(), 303);
    });
}

#[test]
fn a_portal_url_that_is_not_the_hubs_address_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    let out = cli(
        &[
            "serve",
            "--data",
            data.to_str().unwrap(),
            "--captive-portal",
            "10.42.0.1",
        ],
        &[],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("must start with http://"), "{err}");
    let out = cli(
        &[
            "serve",
            "--data",
            data.to_str().unwrap(),
            "--captive-portal",
            "http://10.42.0.1/portal",
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/captive-portal"));
}
