//! Joining the hub, on real processes: the join page's QR PNGs decode to exactly the expected texts
//! (Wi-Fi escaping included), `/ca.crt` is public and is the hub's CA, the HTTPS listener's chain verifies
//! against that CA for the mDNS host name and loopback (and not without it), key files are 0600, the
//! certificates survive a restart, and mDNS advertises `_http._tcp` with the right host name.

use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::Value;

const SSID: &str = r#"Trạm;1,"A":\"#;
const PASSWORD: &str = r#"p;a,s:s"w\rd"#;
const WIFI_QR: &str = r#"WIFI:T:WPA;S:Trạm\;1\,\"A\"\:\\;P:p\;a\,s\:s\"w\\rd;;"#;
const HOST: &str = "tram-phuoc-minh.local";

/// The text of the single QR code in a PNG.
fn decode_qr(png: &[u8]) -> String {
    let img = image::load_from_memory(png).expect("a PNG").to_luma8();
    assert!(
        img.width() >= 200,
        "QR too small for a phone camera: {} px",
        img.width()
    );
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
        img.width() as usize,
        img.height() as usize,
        |x, y| img.get_pixel(x as u32, y as u32).0[0],
    );
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    grids[0].decode().expect("QR decodes").1
}

fn https_client(root: Option<&[u8]>, resolve: Option<(&str, SocketAddr)>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .timeout(Duration::from_secs(10));
    if let Some(der) = root {
        b = b.add_root_certificate(reqwest::Certificate::from_der(der).unwrap());
    }
    if let Some((name, addr)) = resolve {
        b = b.resolve(name, addr);
    }
    b.build().unwrap()
}

/// Starts the hub with HTTPS on a port the kernel picks; returns it and that port (from its banner).
fn start(dir: &std::path::Path) -> (Hub, u16) {
    let hub = Hub::start_with(
        "field",
        dir,
        &[
            "--name",
            "Trạm Phước Minh",
            "--wifi-ssid",
            SSID,
            "--wifi-password",
            PASSWORD,
            "--https-listen",
            "127.0.0.1:0",
        ],
    );
    let https = hub
        .https_base()
        .expect("the banner names the HTTPS address");
    let port = https.rsplit(':').next().unwrap().parse().unwrap();
    (hub, port)
}

#[test]
fn join_qr_codes_the_ca_and_https() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    let (hub, https_port) = start(&dir);
    let http_port: u16 = hub.base.rsplit(':').next().unwrap().parse().unwrap();
    let https_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, https_port));

    let (ca_der, server_pem) = block_on(async {
        // Team only: the Wi-Fi password is in there.
        let anon = Client::new(&hub.base);
        for p in [
            "/api/v1/join",
            "/api/v1/join/wifi.png",
            "/api/v1/join/app.png",
            "/api/v1/join/ca.png",
        ] {
            assert_eq!(anon.get(p).await.0, 401, "{p}");
        }
        let admin = Client::setup(&hub, "quantri", "mat-khau-quan-tri").await;
        let (s, j) = admin.get("/api/v1/join").await;
        assert_eq!(s, 200, "{j}");
        assert_eq!(j["host_name"], HOST);
        assert_eq!(j["wifi"]["ssid"], SSID);
        assert_eq!(j["wifi"]["security"], "WPA");
        assert_eq!(j["wifi"]["qr_text"], WIFI_QR);

        // The PNGs decode to exactly the strings the page shows beside them.
        let (s, png) = admin.get_bytes("/api/v1/join/wifi.png").await;
        assert_eq!(s, 200);
        assert_eq!(decode_qr(&png), WIFI_QR);
        let app_url = j["app_url"].as_str().unwrap().to_string();
        assert!(
            app_url.starts_with("http://") && app_url.ends_with(&format!(":{http_port}/")),
            "{app_url}"
        );
        assert_eq!(
            decode_qr(&admin.get_bytes("/api/v1/join/app.png").await.1),
            app_url
        );
        let https_url = j["app_url_https"].as_str().unwrap().to_string();
        assert!(
            https_url.starts_with("https://") && https_url.ends_with(&format!(":{https_port}/")),
            "{https_url}"
        );
        assert_eq!(
            decode_qr(&admin.get_bytes("/api/v1/join/app.png?https=1").await.1),
            https_url
        );
        let ca_url = j["ca"]["download_url"].as_str().unwrap().to_string();
        assert!(
            ca_url.starts_with("http://") && ca_url.ends_with(&format!(":{http_port}/ca.crt")),
            "{ca_url}"
        );
        assert_eq!(
            decode_qr(&admin.get_bytes("/api/v1/join/ca.png").await.1),
            ca_url
        );
        let https_urls: Vec<&str> = j["urls"]["https"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(
            https_urls.contains(&format!("https://{HOST}:{https_port}/").as_str()),
            "{https_urls:?}"
        );

        // Reached by name, the QR codes carry that name (not the hub laptop's own address).
        let r = admin
            .http
            .get(format!("{}/api/v1/join/app.png", hub.base))
            .header("host", format!("tram.test:{http_port}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            decode_qr(&r.bytes().await.unwrap()),
            format!("http://tram.test:{http_port}/")
        );

        // /ca.crt is public, DER, the CA that the join page fingerprints.
        let r = reqwest::get(format!("{}/ca.crt", hub.base)).await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/x-x509-ca-cert");
        let der = r.bytes().await.unwrap().to_vec();
        let (_, cert) = x509_parser::parse_x509_certificate(&der).expect("an X.509 certificate");
        assert!(cert.is_ca());
        let cn = cert
            .subject()
            .iter_common_name()
            .next()
            .unwrap()
            .as_str()
            .unwrap();
        assert_eq!(cn, "Trạm Phước Minh – Trạm hồ sơ local CA");
        let validity = cert.validity();
        let years =
            (validity.not_after.timestamp() - validity.not_before.timestamp()) / 86_400 / 365;
        assert!((9..=10).contains(&years), "{years} years");
        let nc = cert
            .name_constraints()
            .unwrap()
            .expect("name-constrained CA");
        assert!(nc.value.permitted_subtrees.is_some());
        let fp = protocol::sha256_hex(&der).to_uppercase();
        assert_eq!(j["ca"]["sha256"].as_str().unwrap().replace(':', ""), fp);

        // HTTPS verifies against that CA only, for the host name and for loopback.
        let trusting = https_client(Some(&der), Some((HOST, https_addr)));
        for url in [
            format!("https://{HOST}:{https_port}/healthz"),
            format!("https://127.0.0.1:{https_port}/healthz"),
            format!("https://localhost:{https_port}/healthz"),
        ] {
            let r = trusting
                .get(&url)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{url}: {e:?}"));
            assert_eq!(r.status(), 200, "{url}");
            let h: Value = r.json().await.unwrap();
            assert_eq!(h["status"], "ok");
        }
        // The same app: logging in over HTTPS works.
        let r = trusting
            .post(format!("https://{HOST}:{https_port}/api/v1/login"))
            .json(&serde_json::json!({"name": "quantri", "password": "mat-khau-quan-tri"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let untrusting = https_client(None, Some((HOST, https_addr)));
        assert!(untrusting
            .get(format!("https://{HOST}:{https_port}/healthz"))
            .send()
            .await
            .is_err());
        let wrong_name = https_client(Some(&der), Some(("other.local", https_addr)));
        assert!(wrong_name
            .get(format!("https://other.local:{https_port}/healthz"))
            .send()
            .await
            .is_err());
        (der, std::fs::read(dir.join("tls/server.pem")).unwrap())
    });

    for f in ["ca.key", "server.key"] {
        let m = std::fs::metadata(dir.join("tls").join(f))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(m & 0o777, 0o600, "{f}");
    }

    // A restart keeps the CA (phones installed it) and the still-valid server certificate.
    drop(hub);
    let (hub, https_port) = start(&dir);
    let https_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, https_port));
    block_on(async {
        let (s, der) = Client::new(&hub.base).get_bytes("/ca.crt").await;
        assert_eq!(s, 200);
        assert_eq!(der, ca_der);
        assert_eq!(
            std::fs::read(dir.join("tls/server.pem")).unwrap(),
            server_pem
        );
        let r = https_client(Some(&ca_der), Some((HOST, https_addr)))
            .get(format!("https://{HOST}:{https_port}/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    });
}

#[test]
fn https_off_and_no_wifi_are_said_plainly() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start_with("field", tmp.path(), &["--https-listen", "off"]);
    block_on(async {
        assert_eq!(Client::new(&hub.base).get("/ca.crt").await.0, 404);
        let admin = Client::setup(&hub, "quantri", "mat-khau-quan-tri").await;
        let (s, j) = admin.get("/api/v1/join").await;
        assert_eq!(s, 200);
        assert!(
            j["wifi"].is_null() && j["ca"].is_null() && j["app_url_https"].is_null(),
            "{j}"
        );
        assert_eq!(admin.get("/api/v1/join/wifi.png").await.0, 404);
        assert_eq!(admin.get("/api/v1/join/app.png?https=1").await.0, 404);
        let (s, png) = admin.get_bytes("/api/v1/join/app.png").await;
        assert_eq!(s, 200);
        assert_eq!(decode_qr(&png), j["app_url"].as_str().unwrap());
    });
    assert!(
        !tmp.path().join("tls").exists(),
        "no CA is made while HTTPS is off"
    );
}

#[test]
fn mdns_advertises_http_with_the_host_name_from_the_hub_name() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start_with(
        "field",
        tmp.path(),
        &["--name", "Trạm Phước Minh", "--https-listen", "off"],
    );
    let http_port: u16 = hub.base.rsplit(':').next().unwrap().parse().unwrap();
    let daemon = mdns_sd::ServiceDaemon::new().unwrap();
    daemon.disable_interface(mdns_sd::IfKind::All).unwrap();
    daemon
        .enable_interface(mdns_sd::IfKind::LoopbackV4)
        .unwrap();
    let rx = daemon.browse("_http._tcp.local.").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut found = None;
    while Instant::now() < deadline && found.is_none() {
        if let Ok(mdns_sd::ServiceEvent::ServiceResolved(s)) =
            rx.recv_timeout(Duration::from_millis(500))
        {
            // Other tests' hubs may advertise on loopback too: ours is the one on our port.
            if s.get_port() == http_port {
                found = Some(s);
            }
        }
    }
    let _ = daemon.shutdown();
    let s = found.expect("the hub's _http._tcp service resolved over loopback mDNS");
    assert_eq!(s.get_hostname(), format!("{HOST}."));
    // The instance is the hub's name; mDNS conflict resolution may add " (2)" when another hub of this
    // test binary has the same name on loopback at the same time.
    let instance = s.get_fullname().strip_suffix("._http._tcp.local.").unwrap();
    assert!(instance.starts_with("Trạm Phước Minh"), "{instance}");
    assert!(s.get_addresses_v4().contains(&Ipv4Addr::LOCALHOST));
}
