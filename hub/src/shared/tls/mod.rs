//! The hub's local certificate authority and the TLS side of its HTTPS listener.
//!
//! Browsers give service workers, the camera and the microphone only to secure contexts, and a hub is
//! reached as `http://<name>.local` or by IP. So on first start the hub makes its own certificate authority
//! (ECDSA P-256, 10 years, name-constrained to `.local`, `localhost` and private addresses so that, once a
//! team phone trusts it, it can vouch for nothing on the internet), and a server certificate signed by it
//! (about 2 years, below Apple's 825-day limit) for the mDNS host name, `localhost`, loopback and the
//! machine's private IP addresses. The server certificate is issued again when it is close to expiry or
//! when those names change. Files, in the data directory:
//!
//! ```text
//! DATA/tls/            0700
//! DATA/tls/ca.pem      the CA certificate (public: served as /ca.crt)
//! DATA/tls/ca.key      the CA private key, 0600, never served
//! DATA/tls/server.pem  server certificate
//! DATA/tls/server.key  its private key, 0600
//! DATA/tls/server.json the names it was issued for, its expiry, and the CA it chains to
//! ```

use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    NameConstraints, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

/// Lifetime of the local CA.
const CA_DAYS: i64 = 3650;
/// Lifetime of a server certificate (Apple refuses more than 825 days).
const SERVER_DAYS: i64 = 730;
/// A server certificate is issued again when it has less than this left.
const RENEW_BEFORE_DAYS: i64 = 30;
/// How long a client may take over the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The hub's certificate authority (public part; the key stays in the data directory).
#[derive(Debug, Clone)]
pub struct LocalCa {
    /// DER of the CA certificate (what `/ca.crt` serves).
    pub der: Vec<u8>,
    /// SHA-256 of the DER, upper-case hex pairs separated by colons (how phones show it).
    pub fingerprint: String,
}

/// Certificates ready for the HTTPS listener.
pub struct TlsMaterial {
    pub ca: LocalCa,
    /// Server certificate then CA certificate.
    pub chain: Vec<CertificateDer<'static>>,
    key: PrivatePkcs8KeyDer<'static>,
    /// Names and addresses in the server certificate.
    pub names: Vec<String>,
    /// Whether the server certificate was issued at this start.
    pub issued_now: bool,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct ServerMeta {
    names: Vec<String>,
    not_after: i64,
    ca_sha256: String,
}

/// Upper-case colon-separated SHA-256 of `der`.
pub fn fingerprint(der: &[u8]) -> String {
    let hex = protocol::sha256_hex(der).to_uppercase();
    hex.as_bytes()
        .chunks(2)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

/// Whether a server certificate may name `ip`: the CA's name constraints permit only loopback, private,
/// carrier-grade NAT and link-local IPv4 ranges and IPv6 loopback and unique-local addresses.
pub fn ip_allowed(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
                || v4.is_link_local()
        }
        IpAddr::V6(v6) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

fn permitted_subtrees() -> Vec<GeneralSubtree> {
    vec![
        GeneralSubtree::DnsName("local".into()),
        GeneralSubtree::DnsName("localhost".into()),
        GeneralSubtree::IpAddress(CidrSubnet::from_v4_prefix([127, 0, 0, 0], 8)),
        GeneralSubtree::IpAddress(CidrSubnet::from_v4_prefix([10, 0, 0, 0], 8)),
        GeneralSubtree::IpAddress(CidrSubnet::from_v4_prefix([172, 16, 0, 0], 12)),
        GeneralSubtree::IpAddress(CidrSubnet::from_v4_prefix([192, 168, 0, 0], 16)),
        GeneralSubtree::IpAddress(CidrSubnet::from_v4_prefix([100, 64, 0, 0], 10)),
        GeneralSubtree::IpAddress(CidrSubnet::from_v4_prefix([169, 254, 0, 0], 16)),
        GeneralSubtree::IpAddress(CidrSubnet::from_v6_prefix(
            Ipv6Addr::LOCALHOST.octets(),
            128,
        )),
        GeneralSubtree::IpAddress(CidrSubnet::from_v6_prefix(
            [0xfc, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            7,
        )),
    ]
}

/// The names a server certificate for `host` (e.g. `tram.local`) covers: the host, `localhost`, loopback,
/// and the permitted ones among `ips`; sorted, without repeats.
pub fn server_names(host: &str, ips: &[IpAddr]) -> Vec<String> {
    let mut names = vec![
        host.to_ascii_lowercase(),
        "localhost".to_string(),
        IpAddr::V4(Ipv4Addr::LOCALHOST).to_string(),
        IpAddr::V6(Ipv6Addr::LOCALHOST).to_string(),
    ];
    names.extend(
        ips.iter()
            .filter(|ip| ip_allowed(**ip) && !ip.is_unspecified())
            .map(|ip| ip.to_string()),
    );
    names.sort();
    names.dedup();
    names
}

/// The machine's current IP addresses (every interface, without IPv6 link-local ones, which need a zone).
pub fn machine_ips() -> Vec<IpAddr> {
    let mut ips: Vec<IpAddr> = if_addrs::get_if_addrs()
        .map(|l| l.into_iter().map(|i| i.ip()).collect())
        .unwrap_or_default();
    ips.retain(|ip| match ip {
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80,
        IpAddr::V4(_) => true,
    });
    ips.sort();
    ips.dedup();
    ips
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    Ok(())
}

fn new_key() -> anyhow::Result<KeyPair> {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).context("cannot generate a key")
}

/// Loads the CA and server certificate from `data/tls`, making them when missing, and issuing the server
/// certificate again when it expires within 30 days, chains to another CA, or names other than `names`.
pub fn load_or_create(
    data: &Path,
    hub_name: &str,
    names: &[String],
) -> anyhow::Result<TlsMaterial> {
    let dir = data.join("tls");
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
    let (ca_pem_path, ca_key_path) = (dir.join("ca.pem"), dir.join("ca.key"));
    if !ca_pem_path.exists() || !ca_key_path.exists() {
        let key = new_key()?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(
            DnType::CommonName,
            format!("{hub_name} – Trạm hồ sơ local CA"),
        );
        dn.push(DnType::OrganizationName, "Outreach kit (local)");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.name_constraints = Some(NameConstraints {
            permitted_subtrees: permitted_subtrees(),
            excluded_subtrees: vec![],
        });
        let now = crate::shared::clock::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(CA_DAYS);
        params.serial_number = Some(random_serial()?);
        let cert = params.self_signed(&key).context("cannot make the CA")?;
        // Key first: a CA certificate without its key would be useless.
        write_file(&ca_key_path, key.serialize_pem().as_bytes(), 0o600)?;
        write_file(&ca_pem_path, cert.pem().as_bytes(), 0o644)?;
        tracing::info!("made the hub's local certificate authority");
    }
    fs::set_permissions(&ca_key_path, fs::Permissions::from_mode(0o600))?;
    let ca_pem = fs::read_to_string(&ca_pem_path)
        .with_context(|| format!("cannot read {}", ca_pem_path.display()))?;
    let ca_key = KeyPair::from_pem(&fs::read_to_string(&ca_key_path)?)
        .with_context(|| format!("{} is not a private key", ca_key_path.display()))?;
    let ca_der = pem_to_der(&ca_pem).context("the CA certificate file is damaged")?;
    let ca = LocalCa {
        fingerprint: fingerprint(&ca_der),
        der: ca_der.clone(),
    };

    let (srv_pem_path, srv_key_path, meta_path) = (
        dir.join("server.pem"),
        dir.join("server.key"),
        dir.join("server.json"),
    );
    let now = crate::shared::clock::now_utc();
    let meta: Option<ServerMeta> = fs::read(&meta_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let fresh = meta.as_ref().is_some_and(|m| {
        m.names == names
            && m.ca_sha256 == ca.fingerprint
            && m.not_after - now.unix_timestamp() > RENEW_BEFORE_DAYS * 86_400
    }) && srv_pem_path.exists()
        && srv_key_path.exists();
    let issued_now = !fresh;
    if issued_now {
        let issuer =
            Issuer::from_ca_cert_pem(&ca_pem, &ca_key).context("cannot read the CA certificate")?;
        let key = new_key()?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        let cn = names
            .iter()
            .find(|n| n.ends_with(".local"))
            .or(names.first())
            .cloned()
            .unwrap_or_else(|| "localhost".into());
        dn.push(DnType::CommonName, cn);
        params.distinguished_name = dn;
        params.subject_alt_names = names
            .iter()
            .map(|n| match n.parse::<IpAddr>() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => n
                    .clone()
                    .try_into()
                    .map(SanType::DnsName)
                    .map_err(|e| anyhow::anyhow!("bad host name {n}: {e}")),
            })
            .collect::<anyhow::Result<_>>()?;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        params.not_before = now - time::Duration::days(1);
        let not_after = now + time::Duration::days(SERVER_DAYS);
        params.not_after = not_after;
        params.serial_number = Some(random_serial()?);
        let cert = params
            .signed_by(&key, &issuer)
            .context("cannot issue the server certificate")?;
        write_file(&srv_key_path, key.serialize_pem().as_bytes(), 0o600)?;
        write_file(&srv_pem_path, cert.pem().as_bytes(), 0o644)?;
        let meta = ServerMeta {
            names: names.to_vec(),
            not_after: not_after.unix_timestamp(),
            ca_sha256: ca.fingerprint.clone(),
        };
        write_file(&meta_path, &serde_json::to_vec_pretty(&meta)?, 0o644)?;
        tracing::info!(names = names.len(), "issued the HTTPS server certificate");
    }
    fs::set_permissions(&srv_key_path, fs::Permissions::from_mode(0o600))?;
    let srv_der = pem_to_der(&fs::read_to_string(&srv_pem_path)?)
        .context("the server certificate file is damaged")?;
    let srv_key = KeyPair::from_pem(&fs::read_to_string(&srv_key_path)?)
        .context("the server key file is damaged")?;
    Ok(TlsMaterial {
        ca,
        chain: vec![CertificateDer::from(srv_der), CertificateDer::from(ca_der)],
        key: PrivatePkcs8KeyDer::from(srv_key.serialize_der()),
        names: names.to_vec(),
        issued_now,
    })
}

fn random_serial() -> anyhow::Result<rcgen::SerialNumber> {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    b[0] &= 0x7f; // positive
    b[0] |= 0x01; // and 16 bytes long
    Ok(rcgen::SerialNumber::from_slice(&b))
}

/// The DER inside the first `CERTIFICATE` PEM block.
fn pem_to_der(pem: &str) -> anyhow::Result<Vec<u8>> {
    use base64::Engine;
    let body = pem
        .split("-----BEGIN CERTIFICATE-----")
        .nth(1)
        .and_then(|r| r.split("-----END CERTIFICATE-----").next())
        .context("no certificate in the PEM file")?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    Ok(base64::engine::general_purpose::STANDARD.decode(b64)?)
}

/// The rustls configuration serving `m` (TLS 1.2 and 1.3, HTTP/1.1).
pub fn server_config(m: &TlsMaterial) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(m.chain.clone(), PrivateKeyDer::Pkcs8(m.key.clone_key()))
        .context("the server certificate and key do not match")?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// A rustls client configuration that trusts exactly one CA certificate, `ca_der` (the office's local CA
/// pinned at pairing): not the system's roots, never "accept anything". The CA's name constraints still
/// apply, so it vouches only for `.local`, `localhost` and private addresses. HTTP/1.1.
pub fn pinned_client_config(ca_der: &[u8]) -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(ca_der.to_vec()))
        .context("the pinned office certificate is not a usable CA certificate")?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

/// The hub's CA certificate (DER) in `data`, if it made one (`load_or_create`).
pub fn local_ca_der(data: &Path) -> Option<Vec<u8>> {
    let pem = fs::read_to_string(data.join("tls").join("ca.pem")).ok()?;
    pem_to_der(&pem).ok()
}

/// The TLS acceptor serving `config`.
pub fn acceptor(config: Arc<rustls::ServerConfig>) -> tokio_rustls::TlsAcceptor {
    tokio_rustls::TlsAcceptor::from(config)
}

/// The TLS handshake of an accepted connection, bounded by a timeout (a client that opens a connection
/// and never says hello is closed after 10 s); `None` when it fails or times out. The caller runs it in
/// the connection's own task, so one slow client never holds up the others, and counts the connection
/// against the connection caps from the start (`app::serve`).
pub async fn handshake(
    acceptor: &tokio_rustls::TlsAcceptor,
    stream: TcpStream,
) -> Option<TlsStream<TcpStream>> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!("TLS handshake timed out");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_only_addresses_the_ca_may_vouch_for() {
        let ips: Vec<IpAddr> = [
            "192.168.4.1",
            "8.8.8.8",
            "100.72.0.3",
            "fd00::1",
            "2001:db8::1",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let n = server_names("Tram.local", &ips);
        for want in [
            "tram.local",
            "localhost",
            "127.0.0.1",
            "::1",
            "192.168.4.1",
            "100.72.0.3",
            "fd00::1",
        ] {
            assert!(n.contains(&want.to_string()), "{want} missing from {n:?}");
        }
        assert!(
            !n.iter().any(|x| x == "8.8.8.8" || x == "2001:db8::1"),
            "{n:?}"
        );
    }

    #[test]
    fn the_ca_is_made_once_and_the_server_certificate_follows_the_names() {
        let dir = tempfile::tempdir().unwrap();
        let names = server_names("tram.local", &[]);
        let a = load_or_create(dir.path(), "Trạm", &names).unwrap();
        assert!(a.issued_now);
        let mode = |f: &str| {
            fs::metadata(dir.path().join("tls").join(f))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("ca.key"), 0o600);
        assert_eq!(mode("server.key"), 0o600);
        let b = load_or_create(dir.path(), "Trạm", &names).unwrap();
        assert!(!b.issued_now);
        assert_eq!(a.ca.der, b.ca.der);
        assert_eq!(a.chain[0], b.chain[0]);
        let more = server_names("tram.local", &["10.0.0.7".parse().unwrap()]);
        let c = load_or_create(dir.path(), "Trạm", &more).unwrap();
        assert!(c.issued_now);
        assert_eq!(a.ca.der, c.ca.der);
        assert_ne!(a.chain[0], c.chain[0]);
        assert!(server_config(&c).is_ok());
        assert_eq!(a.ca.fingerprint.len(), 32 * 3 - 1);
    }
}
