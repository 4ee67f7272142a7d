//! Issue 19, "a CA that limits the damage": a copy of the hub's CA key (taken with a stolen hub) must not
//! let a thief make certificates that team phones accept for other servers. The CA is name-constrained to
//! the hub's own host name, `localhost`, loopback, the access point's subnet and the /24 of its own LAN
//! addresses; checked here by real path validation (rustls' webpki verifier, the one the field hub uses
//! for its office): certificates forged with the CA key for `van-phong-xa.local` or `192.168.1.1` do not
//! verify, while the hub's own certificate does (and a CA made the old way, for comparison, would have
//! vouched for them). `hub tls rotate` makes a new CA (the old one kept as `ca.old.*`, keys 0600), which the
//! hub serves after a restart; `hub tls show` prints its fingerprint and constraints; the plain-HTTP setup
//! status carries the fingerprint for the login page. An office that rotates makes its field hub refuse it
//! (pinned CA) until the field pairs again, after which sync works over the new CA.

use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use serde_json::{json, Value};

use crate::common::*;
use hub::shared::tls;

const HOST: &str = "tram-phuoc-minh.local";

/// Real path validation of `ee` for `name` with `ca` as the only root (as a phone that installed it).
fn verify(ca: &[u8], ee: &CertificateDer<'_>, name: &str) -> Result<(), rustls::Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(ca.to_vec())).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let v = rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .unwrap();
    let sn = ServerName::try_from(name.to_string()).unwrap();
    v.verify_server_cert(ee, &[], &sn, &[], UnixTime::now())
        .map(|_| ())
}

/// A server certificate for `names` signed with the CA key in `data/tls` (what a thief could make).
fn forge(data: &Path, names: &[&str]) -> CertificateDer<'static> {
    let dir = data.join("tls");
    let key =
        rcgen::KeyPair::from_pem(&std::fs::read_to_string(dir.join("ca.key")).unwrap()).unwrap();
    let issuer =
        rcgen::Issuer::from_ca_cert_pem(&std::fs::read_to_string(dir.join("ca.pem")).unwrap(), key)
            .unwrap();
    let mut p =
        rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
    p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    p.use_authority_key_identifier_extension = true;
    let k = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    p.signed_by(&k, &issuer).unwrap().der().clone()
}

/// The DER of the certificate in the PEM file `p`.
fn der_of_pem(p: &Path) -> Vec<u8> {
    use base64::Engine;
    let pem = std::fs::read_to_string(p).unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_copy_of_the_ca_key_vouches_only_for_the_hub_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let ips: Vec<IpAddr> = ["10.42.0.1", "192.168.4.7"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let names = tls::server_names(HOST, &ips);
    let m = tls::load_or_create(tmp.path(), "Trạm Phước Minh", &names).unwrap();
    assert!(m.uncovered.is_empty(), "{:?}", m.uncovered);
    let ca = &m.ca.der;

    // The hub's own certificate verifies for each of its names.
    for n in [
        HOST,
        "localhost",
        "127.0.0.1",
        "::1",
        "10.42.0.1",
        "192.168.4.7",
    ] {
        verify(ca, &m.chain[0], n).unwrap_or_else(|e| panic!("{n}: {e:?}"));
    }
    // A certificate made with the CA key for the hub's own names verifies too (the forging is sound, so
    // the refusals below are the constraints' doing): what remains possible with a stolen key.
    for n in [HOST, "10.42.0.77", "192.168.4.200"] {
        verify(ca, &forge(tmp.path(), &[n]), n).unwrap_or_else(|e| panic!("{n}: {e:?}"));
    }
    // Anything else, refused by the name constraints.
    for n in [
        "van-phong-xa.local",
        "192.168.1.1",
        "10.0.0.1",
        "172.16.0.1",
        "100.64.0.1",
        "169.254.1.1",
        "fd00::1",
        "localhost.local",
    ] {
        let e = verify(ca, &forge(tmp.path(), &[n]), n)
            .expect_err(&format!("a forged certificate for {n} verified"));
        assert!(
            format!("{e:?}").contains("NameConstraintViolation"),
            "{n}: {e:?}"
        );
    }
    // Smuggling a foreign name next to an own one does not help either.
    let e = verify(ca, &forge(tmp.path(), &[HOST, "van-phong-xa.local"]), HOST).unwrap_err();
    assert!(
        format!("{e:?}").contains("NameConstraintViolation"),
        "{e:?}"
    );

    // The same forgery under a CA constrained the old way (all of .local and every private range)
    // verifies: what this change closes.
    let old = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(old.path().join("tls")).unwrap();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut p = rcgen::CertificateParams::default();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    p.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
    p.name_constraints = Some(rcgen::NameConstraints {
        permitted_subtrees: tls::legacy_permits()
            .iter()
            .map(|p| match p {
                tls::Permit::Dns(d) => rcgen::GeneralSubtree::DnsName(d.clone()),
                tls::Permit::Net(ip, n) => {
                    rcgen::GeneralSubtree::IpAddress(rcgen::CidrSubnet::from_addr_prefix(*ip, *n))
                }
            })
            .collect(),
        excluded_subtrees: vec![],
    });
    let old_ca = p.self_signed(&key).unwrap();
    std::fs::write(old.path().join("tls/ca.pem"), old_ca.pem()).unwrap();
    std::fs::write(old.path().join("tls/ca.key"), key.serialize_pem()).unwrap();
    for n in ["van-phong-xa.local", "192.168.1.1"] {
        verify(old_ca.der(), &forge(old.path(), &[n]), n)
            .unwrap_or_else(|e| panic!("old CA, {n}: {e:?}"));
    }
    // Such a CA is reported, with what to do.
    let facts = tls::ca_facts(old_ca.der(), None).unwrap();
    assert!(tls::is_wide(facts.permits.as_deref().unwrap()));
    let legacy = tls::load_or_create(old.path(), "Trạm", &names).unwrap();
    assert!(
        legacy
            .ca
            .notice
            .as_deref()
            .is_some_and(|n| n.contains("hub tls rotate")),
        "{:?}",
        legacy.ca.notice
    );
}

fn https_client(root: &[u8]) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_der(root).unwrap())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap()
}

fn start(dir: &Path) -> (Hub, String) {
    let hub = Hub::start_with(
        "field",
        dir,
        &["--name", "Trạm Phước Minh", "--https-listen", "127.0.0.1:0"],
    );
    let https = hub.https_base().expect("HTTPS in the banner");
    (hub, https)
}

#[test]
fn rotate_makes_a_new_ca_that_the_hub_serves_after_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    let data = dir.to_str().unwrap();
    let (hub, https) = start(&dir);
    let old = tls::local_ca_der(&dir).unwrap();
    let old_fp = tls::fingerprint(&old);

    let shown = cli_ok(&["tls", "show", "--data", data], &[]);
    assert!(shown.contains(&format!("SHA-256:  {old_fp}")), "{shown}");
    assert!(shown.contains(HOST), "{shown}");
    assert!(shown.contains("10.42.0.0/24"), "{shown}");
    assert!(shown.contains("127.0.0.0/8"), "{shown}");
    assert!(!shown.contains("192.168.0.0/16"), "{shown}");
    assert!(!shown.contains("WARNING"), "{shown}");

    block_on(async {
        let r = https_client(&old)
            .get(format!("{https}/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    });

    // Rotated while the hub serves: said so; the running hub keeps the old chain until restarted.
    let out = cli_ok(&["tls", "rotate", "--data", data], &[]);
    let new = tls::local_ca_der(&dir).unwrap();
    let new_fp = tls::fingerprint(&new);
    assert_ne!(new_fp, old_fp);
    assert!(
        out.contains(&format!("New certificate authority SHA-256: {new_fp}")),
        "{out}"
    );
    assert!(out.contains(&old_fp), "{out}");
    assert!(out.contains("restart it"), "{out}");
    let t = dir.join("tls");
    assert_eq!(tls::local_ca_der(&dir).unwrap(), new);
    assert_eq!(der_of_pem(&t.join("ca.old.pem")), old);
    for f in ["ca.key", "ca.old.key", "server.key"] {
        assert_eq!(mode(&t.join(f)), 0o600, "{f}");
    }
    assert_eq!(mode(&t), 0o700);
    block_on(async {
        let r = https_client(&old)
            .get(format!("{https}/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            200,
            "the running hub still serves the old chain"
        );
    });
    drop(hub);

    // After a restart: the new chain, the new CA at /ca.crt and its fingerprint in the setup status.
    let (hub, https) = start(&dir);
    block_on(async {
        let e = https_client(&old)
            .get(format!("{https}/healthz"))
            .send()
            .await
            .expect_err("the old CA no longer verifies the hub");
        assert!(
            format!("{e:?}").to_lowercase().contains("certificate"),
            "{e:?}"
        );
        let c = https_client(&new);
        let r = c.get(format!("{https}/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let served = reqwest::get(hub.url("/ca.crt"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(served.to_vec(), new);
        let s: Value = reqwest::get(hub.url("/api/v1/setup"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(s["ca_sha256"], json!(new_fp), "{s}");
    });
    for f in ["ca.key", "ca.old.key", "server.key"] {
        assert_eq!(mode(&t.join(f)), 0o600, "{f} after restart");
    }
    let shown = cli_ok(&["tls", "show", "--data", data], &[]);
    assert!(shown.contains(&format!("SHA-256:  {new_fp}")), "{shown}");
    assert!(
        shown.contains(&format!(
            "Previous CA (ca.old.pem, replaced by `hub tls rotate`): {old_fp}"
        )),
        "{shown}"
    );
    drop(hub);

    // Stopped: rotating again says the next start serves it.
    let out = cli_ok(&["tls", "rotate", "--data", data], &[]);
    assert!(out.contains("from its next start"), "{out}");
    assert_eq!(
        tls::fingerprint(&tls::local_ca_der(&dir).unwrap()),
        out.lines()
            .find_map(|l| l.strip_prefix("New certificate authority SHA-256: "))
            .unwrap()
    );
}

#[test]
fn an_office_that_rotates_its_ca_is_refused_until_its_field_hub_pairs_again() {
    let tmp = tempfile::tempdir().unwrap();
    let office_dir = tmp.path().join("office");
    let field_dir = tmp.path().join("field");
    let office_args = [
        "--https-listen",
        "127.0.0.1:0",
        "--name",
        "UBND xã Bù Gia Mập",
    ];
    let office = Hub::start_with("office", &office_dir, &office_args);
    let field = Hub::start("field", &field_dir);
    let pair = |office: &Hub, first: bool| {
        block_on(async {
            let clerk = if first {
                office_clerk(office).await.1
            } else {
                Client::login(&office.base, "vanthu", "mat-khau-van-thu").await
            };
            let (s, code) = clerk.post("/api/v1/pairing/codes", json!({})).await;
            assert_eq!(s, 201, "{code}");
            let fadmin = if first {
                Client::setup(&field, "quantri", "mat-khau-quan-tri").await
            } else {
                Client::login(&field.base, "quantri", "mat-khau-quan-tri").await
            };
            let (s, paired) = fadmin
                .post(
                    "/api/v1/pairing/office",
                    json!({"qr_text": code["qr_text"]}),
                )
                .await;
            assert_eq!(s, 200, "{paired}");
            if first {
                let id = crate::common::hub_keys(&field_dir).device_id;
                let (s, b) = clerk
                    .post(
                        &format!("/api/v1/pairing/devices/{}/approve", id.as_str()),
                        json!({}),
                    )
                    .await;
                assert_eq!(s, 200, "{b}");
            } else {
                assert_eq!(paired["already_paired"], true, "{paired}");
            }
        })
    };
    let sync = |https: &str| {
        let out = std::process::Command::new(hub_bin())
            .envs(unlock_env(&field_dir))
            .args(["sync", "--data"])
            .arg(&field_dir)
            .args(["--mdns", "off", "--office-url", https])
            .env("HUB_LOG", "warn")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    pair(&office, true);
    let (ok, text) = sync(&office.https_base().unwrap());
    assert!(ok, "{text}");
    drop(office);

    let out = cli_ok(
        &["tls", "rotate", "--data", office_dir.to_str().unwrap()],
        &[],
    );
    assert!(out.contains("pair again"), "{out}");
    let office = Hub::start_with("office", &office_dir, &office_args);
    let https = office.https_base().unwrap();
    let (ok, text) = sync(&https);
    assert!(!ok, "{text}");
    // The pinned (old) CA does not verify the office's new chain: refused before anything is sent (the
    // run then falls back to the paired address, here gone with the old port; on a LAN the run ends with
    // `office_certificate_mismatch`, tests/it/office_tls.rs).
    assert!(text.contains("does not chain to the pinned CA"), "{text}");
    assert!(!text.contains("Synced"), "{text}");

    pair(&office, false);
    let (ok, text) = sync(&https);
    assert!(ok, "{text}");
    assert!(
        text.contains(&format!("Synced with the office at {https}")),
        "{text}"
    );
    // The field now pins the office's new CA.
    let c = crate::common::db(field_dir.join("hub.sqlite")).unwrap();
    let pin: String = c
        .query_row(
            "SELECT value FROM meta WHERE key LIKE 'office_tls:%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let pin: Value = serde_json::from_str(&pin).unwrap();
    assert_eq!(
        pin["tls"]["ca_cert"],
        json!(hex::encode(tls::local_ca_der(&office_dir).unwrap()))
    );
}
