//! Every QR code the hub serves as a PNG, and the one it prints at start, read by two decoders — zbar
//! (`zbarimg --raw -q`, Debian's zbar-tools, which honours the ECI charset marker and otherwise takes
//! byte-mode text for ISO-8859-1/Shift JIS) and rqrr — and compared with exactly the text meant: the
//! join page's Wi-Fi code (a Vietnamese network name with `;` and `"`, escaped `\;` `\"` as the `WIFI:`
//! format wants) and app/certificate codes, the receipt's signed code, the slip's tracking code (also
//! asked for with `Host: localhost:PORT` and `[::1]`: the LAN address, never loopback, and in the thermal
//! printer's slip preview), the printer test page's code, the office's pairing code, and the terminal QR
//! of the start banner painted as a dark and as a light terminal shows it.
//!
//! The field hub listens on `0.0.0.0` (port 0) so that it has LAN addresses. A machine without any
//! non-loopback IPv4 address has nothing to substitute: the tests then expect the request's own host,
//! and say so on standard error (the substitution itself is unit-tested in `field::seal::slip`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::{json, Value};

const SSID: &str = r#"Trạm "Phước"; Minh"#;
const PASSWORD: &str = r#"mật;khẩu"1"#;
/// The `WIFI:` text of that network, written by hand from the format's escaping rules.
const WIFI_QR: &str = r#"WIFI:T:WPA;S:Trạm \"Phước\"\; Minh;P:mật\;khẩu\"1;;"#;

/// What zbar reads in a PNG (`zbarimg --raw -q`): the text of each symbol, or `None` when it finds none.
fn zbar(png: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qr.png");
    std::fs::write(&path, png).unwrap();
    let out = Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(&path)
        .output()
        .expect("zbarimg (Debian package zbar-tools) is installed");
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).expect("zbar prints UTF-8");
    Some(text.strip_suffix('\n').unwrap_or(&text).to_string())
}

/// What rqrr reads in a greyscale image: the text of the single QR code, or `None`.
fn rqrr_read(img: &image::GrayImage) -> Option<String> {
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
        img.width() as usize,
        img.height() as usize,
        |x, y| img.get_pixel(x as u32, y as u32).0[0],
    );
    let grids = prepared.detect_grids();
    if grids.len() != 1 {
        return None;
    }
    grids[0].decode().ok().map(|(_, t)| t)
}

/// Asserts that both decoders read exactly `meant` in `png` (a PNG image at least 200 px wide).
fn assert_reads(what: &str, png: &[u8], meant: &str) {
    let img = image::load_from_memory(png)
        .unwrap_or_else(|e| panic!("{what}: not an image: {e}"))
        .to_luma8();
    assert!(img.width() >= 200, "{what}: {} px", img.width());
    assert_eq!(zbar(png).as_deref(), Some(meant), "{what}: zbar");
    assert_eq!(rqrr_read(&img).as_deref(), Some(meant), "{what}: rqrr");
    eprintln!("{what}: both decoders read {meant:?}");
}

/// The machine's phone-reachable addresses as the hub lists them: IPv4, not loopback, in order.
fn lan_ips() -> Vec<IpAddr> {
    let mut ips: Vec<IpAddr> = if_addrs::get_if_addrs()
        .unwrap()
        .into_iter()
        .map(|i| i.ip())
        .filter(|ip| ip.is_ipv4() && !ip.is_loopback())
        .collect();
    ips.sort();
    ips.dedup();
    ips
}

/// Starts a field hub listening on every interface (HTTP on port 0, HTTPS on loopback port 0), with the
/// Wi-Fi above; waits until it answers on loopback.
fn start_on_all_interfaces(data: &std::path::Path) -> Hub {
    let mut child = Command::new(hub_bin())
        .args(["serve", "--mode", "field", "--data"])
        .arg(data)
        .args(["--listen", "0.0.0.0:0", "--mdns", "off"])
        .args(["--https-listen", "127.0.0.1:0"])
        .args(["--name", "Trạm Phước Minh"])
        .args(["--wifi-ssid", SSID, "--wifi-password", PASSWORD])
        .env("HUB_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn hub");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut banner = Vec::new();
    let (mut base, mut setup_token) = (None, None);
    // The banner ends with the setup link (a fresh hub).
    while setup_token.is_none() {
        assert!(
            Instant::now() < deadline,
            "no setup link within 30 s: {banner:#?}"
        );
        assert!(
            !matches!(child.try_wait(), Ok(Some(_))),
            "the hub exited: {banner:#?}"
        );
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            if base.is_none() {
                base = banner_url(&line, "http");
            }
            if let Some(i) = line.find("#/setup?token=") {
                setup_token = Some(line[i + "#/setup?token=".len()..].trim().to_string());
            }
            banner.push(line);
        }
    }
    let base: String = base.expect("the banner names the loopback address");
    block_on(async {
        while reqwest::get(format!("{base}/healthz")).await.is_err() {
            assert!(Instant::now() < deadline, "the hub does not answer");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    Hub {
        child,
        base,
        data: data.to_path_buf(),
        setup_token,
        banner,
        stdout_lines: rx,
    }
}

/// `GET path` as `c`, with the `Host` header `host` when given: status and body.
async fn get_as(c: &Client, path: &str, host: Option<&str>) -> (u16, Vec<u8>) {
    let mut req = c.http.get(format!("{}{}", c.base, path));
    if let Some(h) = host {
        req = req.header(reqwest::header::HOST, h);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

/// Paints terminal text as a terminal shows it: a character cell is one module wide and two high
/// (`▀`: upper half in the foreground colour, lower in the background; `▄`, `█` and space likewise),
/// SGR colours as set, else the theme's own (`dark`: light text on black, else black on white). Scaled
/// to 6 px a module with 8 modules of the terminal's background around it, as a screen would be.
fn paint_terminal(text: &str, dark: bool) -> image::GrayImage {
    let (def_fg, def_bg) = if dark { (230u8, 0u8) } else { (0, 255) };
    let mut rows: Vec<Vec<u8>> = Vec::new();
    for line in text.lines() {
        let (mut fg, mut bg) = (def_fg, def_bg);
        let (mut top, mut bottom) = (Vec::new(), Vec::new());
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                assert_eq!(chars.next(), Some('['), "a CSI sequence");
                let params: String = chars.by_ref().take_while(|&p| p != 'm').collect();
                for p in params.split(';') {
                    match p.parse::<u8>().unwrap_or(0) {
                        0 => (fg, bg) = (def_fg, def_bg),
                        39 => fg = def_fg,
                        49 => bg = def_bg,
                        30 => fg = 0,
                        40 => bg = 0,
                        37 | 97 => fg = 255,
                        47 | 107 => bg = 255,
                        n => panic!("unexpected SGR {n}"),
                    }
                }
                continue;
            }
            let (t, b) = match c {
                '▀' => (fg, bg),
                '▄' => (bg, fg),
                '█' => (fg, fg),
                ' ' => (bg, bg),
                other => panic!("unexpected character {other:?} in the terminal QR"),
            };
            top.push(t);
            bottom.push(b);
        }
        rows.push(top);
        rows.push(bottom);
    }
    let w = rows.iter().map(Vec::len).max().unwrap() as u32;
    let h = rows.len() as u32;
    let (scale, pad) = (6u32, 8u32);
    image::GrayImage::from_fn((w + 2 * pad) * scale, (h + 2 * pad) * scale, |x, y| {
        let (x, y) = (x / scale, y / scale);
        if x < pad || y < pad || x >= w + pad || y >= h + pad {
            return image::Luma([def_bg]);
        }
        let row = &rows[(y - pad) as usize];
        image::Luma([*row.get((x - pad) as usize).unwrap_or(&def_bg)])
    })
}

fn png_of(img: &image::GrayImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[test]
fn every_qr_png_of_the_field_hub_reads_as_meant_with_zbar_and_rqrr() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = start_on_all_interfaces(&tmp.path().join("field"));
    let port: u16 = hub.base.rsplit(':').next().unwrap().parse().unwrap();
    let lan = lan_ips();
    // Where a phone reaches this hub: its first LAN address, or (none on this machine) the host asked.
    let phone_host = |asked: &str| match lan.first() {
        Some(ip) => ip.to_string(),
        None => {
            eprintln!(
                "NOTE: no non-loopback IPv4 address here: {asked} is kept (nothing to substitute)"
            );
            asked.to_string()
        }
    };

    // The start banner's terminal QR: the first address, dark on light on a dark and on a light terminal.
    let qr_lines: Vec<&str> = hub
        .banner
        .iter()
        .filter(|l| l.contains('▀') || l.contains('█') || l.contains('▄'))
        .map(String::as_str)
        .collect();
    assert!(qr_lines.len() > 10, "{:#?}", hub.banner);
    let first_url = format!("http://{}:{port}/", phone_host("127.0.0.1"));
    assert!(
        hub.banner.iter().any(|l| l.trim() == first_url),
        "{first_url} in {:#?}",
        hub.banner
    );
    let terminal = qr_lines.join("\n");
    for dark in [true, false] {
        let img = paint_terminal(&terminal, dark);
        let what = if dark {
            "terminal QR, white-on-black theme"
        } else {
            "terminal QR, black-on-white theme"
        };
        assert_reads(what, &png_of(&img), &first_url);
    }

    block_on(async {
        let admin = Client::setup(&hub, "quantri", "mat-khau-quan-tri").await;

        // The join page: Wi-Fi (exact `WIFI:` text, UTF-8 marked), the app and certificate addresses.
        let (s, j) = admin.get("/api/v1/join").await;
        assert_eq!(s, 200, "{j}");
        assert_eq!(j["wifi"]["ssid"], SSID);
        assert_eq!(j["wifi"]["qr_text"], WIFI_QR);
        let (s, png) = admin.get_bytes("/api/v1/join/wifi.png").await;
        assert_eq!(s, 200);
        assert_reads("join Wi-Fi QR", &png, WIFI_QR);
        for host in [None, Some(format!("localhost:{port}"))] {
            let (s, body) = get_as(&admin, "/api/v1/join", host.as_deref()).await;
            assert_eq!(s, 200);
            let j: Value = serde_json::from_slice(&body).unwrap();
            let app_url = j["app_url"].as_str().unwrap().to_string();
            assert_eq!(
                app_url,
                format!("http://{}:{port}/", phone_host("127.0.0.1"))
            );
            let (s, png) = get_as(&admin, "/api/v1/join/app.png", host.as_deref()).await;
            assert_eq!(s, 200);
            assert_reads(&format!("join app QR (Host {host:?})"), &png, &app_url);
            let https_url = j["app_url_https"].as_str().unwrap().to_string();
            assert!(https_url.starts_with("https://"), "{https_url}");
            let (s, png) = get_as(&admin, "/api/v1/join/app.png?https=1", host.as_deref()).await;
            assert_eq!(s, 200);
            assert_reads(&format!("join HTTPS QR (Host {host:?})"), &png, &https_url);
            let ca_url = j["ca"]["download_url"].as_str().unwrap().to_string();
            assert_eq!(ca_url, format!("{app_url}ca.crt"));
            let (s, png) = get_as(&admin, "/api/v1/join/ca.png", host.as_deref()).await;
            assert_eq!(s, 200);
            assert_reads(
                &format!("join certificate QR (Host {host:?})"),
                &png,
                &ca_url,
            );
        }

        // A sealed receipt: its signed QR and the slip's tracking QR.
        let photo = std::fs::read(sample_photo("giay-chung-sinh.jpg")).unwrap();
        let fields: BTreeMap<String, String> = marital_fields("Điểu Thị Hạnh", "070198001234");
        let receipt = seal_marital(&admin, &fields, &photo).await;
        let code = receipt["code"].as_str().unwrap().to_string();
        let signed = receipt["qr"].as_str().unwrap().to_string();
        assert!(signed.starts_with("OKR1:"), "{signed}");
        let (s, png) = admin
            .get_bytes(&format!("/api/v1/receipts/{code}/qr.png"))
            .await;
        assert_eq!(s, 200);
        assert_reads("receipt signed QR", &png, &signed);

        let (s, slip) = admin.get(&format!("/api/v1/receipts/{code}/slip")).await;
        assert_eq!(s, 200, "{slip}");
        let compact = code.replace('-', "");
        let key = slip["tracking_key"].as_str().unwrap().replace('-', "");
        let tail = format!("#/r/{compact}?k={key}");
        // Asked on the hub's own screen, by any loopback name: the LAN address. By the LAN address: itself.
        let mut hosts = vec![
            (format!("localhost:{port}"), phone_host("localhost")),
            (format!("127.0.0.1:{port}"), phone_host("127.0.0.1")),
            (format!("[::1]:{port}"), phone_host("::1")),
        ];
        if let Some(ip) = lan.first() {
            hosts.push((format!("{ip}:{port}"), ip.to_string()));
        }
        for (host, expect_host) in &hosts {
            let expect_host = if expect_host.contains(':') {
                format!("[{expect_host}]")
            } else {
                expect_host.clone()
            };
            let meant = format!("http://{expect_host}:{port}/{tail}");
            let (s, body) =
                get_as(&admin, &format!("/api/v1/receipts/{code}/slip"), Some(host)).await;
            assert_eq!(s, 200);
            let slip: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(slip["tracking_url"], meant.as_str(), "Host {host}");
            let (s, png) = get_as(
                &admin,
                &format!("/api/v1/receipts/{code}/track.png"),
                Some(host),
            )
            .await;
            assert_eq!(s, 200);
            assert_reads(&format!("tracking QR (Host {host})"), &png, &meant);
            if !lan.is_empty() {
                assert!(
                    !meant.contains("localhost")
                        && !meant.contains("127.")
                        && !meant.contains("[::1]"),
                    "{meant}"
                );
            }
        }
        // The thermal printer's pictures: the slip's preview carries the same tracking QR (asked on the
        // hub's own screen too), the test page its fixed text.
        let (host, expect_host) = &hosts[0];
        let (s, png) = get_as(
            &admin,
            &format!("/api/v1/receipts/{code}/thermal.png"),
            Some(host),
        )
        .await;
        assert_eq!(s, 200);
        assert_reads(
            &format!("thermal slip preview (Host {host})"),
            &png,
            &format!("http://{expect_host}:{port}/{tail}"),
        );
        let (s, png) = admin.get_bytes("/api/v1/printer/test.png").await;
        assert_eq!(s, 200);
        assert_reads("printer test page", &png, "OUTREACH-KIT PRINTER TEST OK");

        // An odd Host is refused, not echoed into a QR.
        let (s, body) = get_as(
            &admin,
            &format!("/api/v1/receipts/{code}/track.png"),
            Some("evil.example;x"),
        )
        .await;
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        assert_eq!(s, 400, "{body}");
        assert!(body["error"]["message_vi"].is_string(), "{body}");
    });
}

#[test]
fn the_office_pairing_qr_reads_as_meant_with_zbar_and_rqrr() {
    let tmp = tempfile::tempdir().unwrap();
    let office = Hub::start("office", &tmp.path().join("office"));
    block_on(async {
        let admin = Client::setup(&office, "quantri", "mat-khau-quan-tri").await;
        for body in [json!({}), json!({"base_url": "http://192.168.1.10:8080"})] {
            let (s, code) = admin.post("/api/v1/pairing/codes", body.clone()).await;
            assert_eq!(s, 201, "{code}");
            let text = code["qr_text"].as_str().unwrap().to_string();
            if let Some(base) = body["base_url"].as_str() {
                assert!(text.contains(base), "{text}");
            }
            let mut path = code["qr_png"].as_str().unwrap().to_string();
            if let Some(base) = body["base_url"].as_str() {
                path.push_str(&format!(
                    "?url={}",
                    base.replace(':', "%3A").replace('/', "%2F")
                ));
            }
            let (s, png) = admin.get_bytes(&path).await;
            assert_eq!(s, 200);
            assert_reads(&format!("pairing QR ({body})"), &png, &text);
        }
    });
}
