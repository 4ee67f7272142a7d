//! The hub's local certificate authority and the TLS side of its HTTPS listener.
//!
//! Browsers give service workers, the camera and the microphone only to secure contexts, and a hub is
//! reached as `http://<name>.local` or by IP. So on first start the hub makes its own certificate authority
//! (ECDSA P-256, 10 years) and a server certificate signed by it (about 2 years, below Apple's 825-day
//! limit) for the mDNS host name, `localhost`, loopback and the machine's private IP addresses. The server
//! certificate is issued again when it is close to expiry or when those names change.
//!
//! The CA is name-constrained to **this hub's own names** (RFC 5280 §4.2.1.10, checked by phones and by
//! rustls/webpki): its `.local` host name, `localhost`, loopback, the access point kit's fixed subnet
//! (`10.42.0.0/24`, `deploy/ap`), and the /24 (IPv4) or /64 (IPv6 unique-local) around each private address
//! the machine had when the CA was made. A copy of its key, taken with a stolen hub, can vouch for the hub
//! itself and its own networks — never for `van-phong-xa.local` or a router elsewhere. When the hub later
//! moves to a network its CA does not cover, the addresses outside are left out of the server certificate
//! and the start says so (log and banner): `hub tls rotate` makes a CA for the new networks
//! ([`rotate`]; team phones install it again from the join page). A CA made before this (all of `.local`
//! and every private range) still works and is reported as such, until rotated. Files, in the data
//! directory:
//!
//! ```text
//! DATA/tls/            0700
//! DATA/tls/ca.pem      the CA certificate (public: served as /ca.crt)
//! DATA/tls/ca.key      the CA private key, 0600, never served; sealed under the data key on a
//!                      protected field hub (`shared::vault`), so a stolen hub's CA key is useless
//! DATA/tls/server.pem  server certificate
//! DATA/tls/server.key  its private key, 0600
//! DATA/tls/server.json the names it was issued for, its expiry, and the CA it chains to
//! DATA/tls/ca.old.pem  after `hub tls rotate`: the CA it replaced (ca.old.key, 0600, its key)
//! ```

pub mod cli;

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
    /// What the operator should know at start (the CA does not cover some of the hub's addresses, or is
    /// an older, wide one), for the banner; `None` when all is well.
    pub notice: Option<String>,
    /// The names and addresses of the server certificate (what HTTPS answers for).
    pub served: Vec<String>,
}

/// Certificates ready for the HTTPS listener.
pub struct TlsMaterial {
    pub ca: LocalCa,
    /// Server certificate then CA certificate.
    pub chain: Vec<CertificateDer<'static>>,
    key: PrivatePkcs8KeyDer<'static>,
    /// Names and addresses in the server certificate.
    pub names: Vec<String>,
    /// Names and addresses asked for that the CA's constraints do not cover (left out).
    pub uncovered: Vec<String>,
    /// The CA's permitted subtrees (`None`: it has no name constraints).
    pub permits: Option<Vec<Permit>>,
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

/// Whether a server certificate may ever name `ip`: loopback, private, carrier-grade NAT and link-local
/// IPv4 addresses, IPv6 loopback and unique-local ones (never a public address); the CA's own constraints
/// narrow this further ([`Permit`]).
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

/// The access point kit's fixed subnet (`deploy/ap/ap.sh`: AP_ADDRESS 10.42.0.1, AP_PREFIX 24): always
/// in a new CA's constraints, so a hub whose CA was made on another network still serves its own Wi-Fi.
pub const AP_SUBNET: (Ipv4Addr, u8) = (Ipv4Addr::new(10, 42, 0, 0), 24);

/// One permitted subtree of the CA's name constraints: a DNS name (itself and the names below it) or an
/// address range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Permit {
    Dns(String),
    Net(IpAddr, u8),
}

fn masked(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let m = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(32)))
                .unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & m))
        }
        IpAddr::V6(v6) => {
            let m = u128::MAX
                .checked_shl(128 - u32::from(prefix.min(128)))
                .unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & m))
        }
    }
}

impl Permit {
    fn net(ip: IpAddr, prefix: u8) -> Permit {
        Permit::Net(masked(ip, prefix), prefix)
    }

    /// Whether this subtree permits `name` (a DNS name or an IP address, as in a server certificate).
    pub fn covers(&self, name: &str) -> bool {
        match (self, name.parse::<IpAddr>()) {
            (Permit::Net(net, prefix), Ok(ip)) => {
                net.is_ipv4() == ip.is_ipv4() && masked(ip, *prefix) == *net
            }
            (Permit::Dns(base), Err(_)) => {
                let (n, b) = (name.to_ascii_lowercase(), base.to_ascii_lowercase());
                n == b || n.ends_with(&format!(".{b}"))
            }
            _ => false,
        }
    }

    fn subtree(&self) -> GeneralSubtree {
        match self {
            Permit::Dns(d) => GeneralSubtree::DnsName(d.clone()),
            Permit::Net(ip, p) => GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(*ip, *p)),
        }
    }
}

impl std::fmt::Display for Permit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Permit::Dns(d) => write!(f, "{d}"),
            Permit::Net(ip, p) => write!(f, "{ip}/{p}"),
        }
    }
}

/// What a CA made for the server names `names` (see [`server_names`]) is constrained to: each DNS name
/// among them (the `.local` host name, `localhost`), IPv4 loopback 127.0.0.0/8 and IPv6 loopback, the
/// access point's subnet [`AP_SUBNET`], and around every other address named, its /24 (IPv4: a LAN where
/// DHCP may hand the hub another address) or its /64 (IPv6). Never all of `.local`, never a whole private
/// range, never a public address.
pub fn ca_permits(names: &[String]) -> Vec<Permit> {
    let mut out = vec![
        Permit::net(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)), 8),
        Permit::net(IpAddr::V6(Ipv6Addr::LOCALHOST), 128),
        Permit::net(IpAddr::V4(AP_SUBNET.0), AP_SUBNET.1),
    ];
    for n in names {
        let p = match n.parse::<IpAddr>() {
            Ok(ip) if !ip_allowed(ip) || ip.is_unspecified() || ip.is_loopback() => continue,
            Ok(ip @ IpAddr::V4(_)) => Permit::net(ip, 24),
            Ok(ip @ IpAddr::V6(_)) => Permit::net(ip, 64),
            Err(_) if n.is_empty() || n == "local" => continue,
            Err(_) => Permit::Dns(n.to_ascii_lowercase()),
        };
        if !out.iter().any(|o| p.is_within(o)) {
            out.push(p);
        }
    }
    out
}

impl Permit {
    /// Whether every name this subtree permits is also permitted by `other`.
    fn is_within(&self, other: &Permit) -> bool {
        match (self, other) {
            (Permit::Net(ip, p), Permit::Net(_, q)) => p >= q && other.covers(&ip.to_string()),
            (Permit::Dns(d), Permit::Dns(_)) => other.covers(d),
            _ => false,
        }
    }
}

/// The constraints every CA made before issue 19 carries: all of `.local`, `localhost`, and every
/// loopback, private, carrier-grade NAT, link-local and unique-local range.
pub fn legacy_permits() -> Vec<Permit> {
    let v4 = |a, b, c, d, p| Permit::Net(IpAddr::V4(Ipv4Addr::new(a, b, c, d)), p);
    vec![
        Permit::Dns("local".into()),
        Permit::Dns("localhost".into()),
        v4(127, 0, 0, 0, 8),
        v4(10, 0, 0, 0, 8),
        v4(172, 16, 0, 0, 12),
        v4(192, 168, 0, 0, 16),
        v4(100, 64, 0, 0, 10),
        v4(169, 254, 0, 0, 16),
        Permit::Net(IpAddr::V6(Ipv6Addr::LOCALHOST), 128),
        Permit::Net(IpAddr::V6(Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0)), 7),
    ]
}

/// Whether `permits` is as wide as a CA made before issue 19 (vouches for every `.local` name).
pub fn is_wide(permits: &[Permit]) -> bool {
    permits.iter().any(|p| *p == Permit::Dns("local".into()))
}

/// What a CA certificate says about itself: its permitted subtrees (`None` when it has no name
/// constraints at all), validity (Unix seconds) and whether its public key is `key`'s.
#[derive(Debug, Clone)]
pub struct CaFacts {
    pub permits: Option<Vec<Permit>>,
    pub not_before: i64,
    pub not_after: i64,
    pub subject: String,
}

/// Reads the name constraints and validity of the CA certificate `der`; checks, when `key` is given,
/// that the certificate holds `key`'s public key (a `ca.pem` and `ca.key` of different CAs would issue
/// server certificates that chain to nothing).
pub fn ca_facts(der: &[u8], key: Option<&KeyPair>) -> anyhow::Result<CaFacts> {
    use rcgen::PublicKeyData;
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| anyhow::anyhow!("the CA certificate cannot be read: {e}"))?;
    if let Some(k) = key {
        anyhow::ensure!(
            cert.tbs_certificate.subject_pki.raw == k.subject_public_key_info().as_slice(),
            "ca.pem and ca.key belong to different certificate authorities"
        );
    }
    let permits = match cert
        .name_constraints()
        .map_err(|e| anyhow::anyhow!("the CA's name constraints cannot be read: {e}"))?
    {
        None => None,
        Some(ext) => {
            let mut out = Vec::new();
            for t in ext.value.permitted_subtrees.iter().flatten() {
                match &t.base {
                    GeneralName::DNSName(d) => {
                        out.push(Permit::Dns(d.trim_start_matches('.').to_string()))
                    }
                    GeneralName::IPAddress(b) if b.len() == 8 => {
                        let ip = Ipv4Addr::new(b[0], b[1], b[2], b[3]);
                        let mask = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
                        out.push(Permit::Net(IpAddr::V4(ip), mask.leading_ones() as u8));
                    }
                    GeneralName::IPAddress(b) if b.len() == 32 => {
                        let ip: [u8; 16] = b[..16].try_into().expect("16 bytes");
                        let mask: [u8; 16] = b[16..].try_into().expect("16 bytes");
                        out.push(Permit::Net(
                            IpAddr::V6(Ipv6Addr::from(ip)),
                            u128::from_be_bytes(mask).leading_ones() as u8,
                        ));
                    }
                    // Any other kind of subtree permits no DNS name or address.
                    _ => {}
                }
            }
            Some(out)
        }
    };
    Ok(CaFacts {
        permits,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        subject: cert.subject().to_string(),
    })
}

/// Whether a CA with `permits` vouches for `name` (no constraints: anything).
pub fn permitted(permits: Option<&[Permit]>, name: &str) -> bool {
    permits.is_none_or(|ps| ps.iter().any(|p| p.covers(name)))
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

/// Makes a new CA for a hub named `hub_name` serving `names`, constrained to [`ca_permits`]`(names)`,
/// and writes it to `dir/ca.key` (0600) and `dir/ca.pem`: both written aside first, then renamed.
fn make_ca(dir: &Path, hub_name: &str, names: &[String]) -> anyhow::Result<()> {
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
        permitted_subtrees: ca_permits(names).iter().map(Permit::subtree).collect(),
        excluded_subtrees: vec![],
    });
    let now = crate::shared::clock::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(CA_DAYS);
    params.serial_number = Some(random_serial()?);
    let cert = params.self_signed(&key).context("cannot make the CA")?;
    let pem_new = dir.join("ca.new.pem");
    write_file(&pem_new, cert.pem().as_bytes(), 0o644)?;
    // Key first: a CA certificate without its key would be useless (a mismatch is caught at load). The key
    // is written atomically, and sealed under the data key on a protected hub.
    write_ca_key(dir, "ca.key", key.serialize_pem().as_bytes())
        .context("cannot install the new CA key")?;
    fs::rename(&pem_new, dir.join("ca.pem")).context("cannot install the new CA certificate")?;
    Ok(())
}

/// The data directory of the TLS folder `dir` (`DATA/tls`).
fn data_of(dir: &Path) -> &Path {
    dir.parent().unwrap_or(Path::new("."))
}

/// Writes a CA key file `name` in `dir` (0600, atomic; sealed on a protected hub).
fn write_ca_key(dir: &Path, name: &str, pem: &[u8]) -> anyhow::Result<()> {
    crate::shared::vault::files::write_secret(data_of(dir), &dir.join(name), pem)?;
    Ok(())
}

/// Reads the CA key file `name` in `dir`; `Ok(None)` while the hub is locked (the key is sealed).
fn read_ca_key(dir: &Path, name: &str) -> anyhow::Result<Option<Vec<u8>>> {
    match crate::shared::vault::files::read_secret(data_of(dir), &dir.join(name)) {
        Ok(b) => Ok(Some(b)),
        Err(crate::shared::vault::VaultError::Locked) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The names among `names` a CA with `permits` covers, and the others.
fn split_covered(permits: Option<&[Permit]>, names: &[String]) -> (Vec<String>, Vec<String>) {
    names.iter().cloned().partition(|n| permitted(permits, n))
}

/// Loads the CA and server certificate from `data/tls`, making them when missing, and issuing the server
/// certificate again when it expires within 30 days, chains to another CA, or names other than `names`.
/// Names the CA's constraints do not cover (the hub moved to another network, or was renamed) are left
/// out of the server certificate, reported in [`TlsMaterial::uncovered`] and logged.
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
        make_ca(&dir, hub_name, names)?;
        tracing::info!("made the hub's local certificate authority");
    }
    fs::set_permissions(&ca_key_path, fs::Permissions::from_mode(0o600))?;
    if dir.join("ca.old.key").exists() {
        fs::set_permissions(dir.join("ca.old.key"), fs::Permissions::from_mode(0o600))?;
    }
    let ca_pem = fs::read_to_string(&ca_pem_path)
        .with_context(|| format!("cannot read {}", ca_pem_path.display()))?;
    // While a protected hub is locked its CA key is sealed: the server certificate on disk is served as it
    // is, and issued again (if due) at the first start after an unlock.
    let ca_key = match read_ca_key(&dir, "ca.key")? {
        Some(pem) => Some(
            KeyPair::from_pem(&String::from_utf8_lossy(&pem))
                .with_context(|| format!("{} is not a private key", ca_key_path.display()))?,
        ),
        None => None,
    };
    let ca_der = pem_to_der(&ca_pem).context("the CA certificate file is damaged")?;
    let facts = ca_facts(&ca_der, ca_key.as_ref()).with_context(|| {
        format!(
            "{}: run `hub tls rotate --data {}` to make a new one",
            dir.display(),
            data.display()
        )
    })?;
    let (covered, uncovered) = split_covered(facts.permits.as_deref(), names);
    let rotate_hint = format!(
        "run `hub tls rotate --data {}` and restart; team phones then install the new certificate from the \
         join page",
        data.display()
    );
    let notice = if !uncovered.is_empty() {
        Some(format!(
            "HTTPS does not answer at {}: the hub's certificate authority was made for other networks \
             (the hub moved?). To serve there, {rotate_hint}.",
            uncovered.join(", ")
        ))
    } else if facts.permits.as_deref().is_some_and(is_wide) {
        Some(format!(
            "the hub's certificate authority (made by an older version) vouches for every .local name and \
             private address: {rotate_hint}."
        ))
    } else {
        None
    };
    let ca = LocalCa {
        fingerprint: fingerprint(&ca_der),
        der: ca_der.clone(),
        notice,
        served: covered.clone(),
    };
    if !uncovered.is_empty() {
        tracing::warn!(
            not_covered = %uncovered.join(", "),
            "the hub's certificate authority does not vouch for these addresses (another network?): HTTPS \
             does not answer for them. Run `hub tls rotate` and restart, then team phones install the new \
             certificate from the join page"
        );
    }
    if facts.permits.as_deref().is_some_and(is_wide) {
        tracing::warn!(
            "the hub's certificate authority vouches for every .local name and private address (made by an \
             older version): a copy of its key could impersonate any local server to team phones. Run \
             `hub tls rotate` and restart, then team phones install the new certificate from the join page"
        );
    }
    let names = covered;
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
    let mut issued_now = false;
    match (&ca_key, fresh) {
        (_, true) => {}
        (Some(ca_key), false) => {
            issue_server(&dir, &ca_pem, ca_key, &ca.fingerprint, &names)?;
            tracing::info!(names = names.len(), "issued the HTTPS server certificate");
            issued_now = true;
        }
        (None, false) if srv_pem_path.exists() && srv_key_path.exists() => tracing::warn!(
            "the HTTPS server certificate is due to be issued again, but the hub is locked: serving the \
             current one until the next start after an officer unlocks the hub"
        ),
        (None, false) => anyhow::bail!(
            "the hub is locked and has no HTTPS server certificate: unlock it (log in over \
             http://127.0.0.1 on this machine, or `hub vault status`) or start with --https-listen off"
        ),
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
        names,
        uncovered,
        permits: facts.permits,
        issued_now,
    })
}

/// Issues a server certificate for `names` signed by the CA (`ca_pem`, `ca_key`), and writes it with its
/// key (0600) and `server.json` into `dir`.
fn issue_server(
    dir: &Path,
    ca_pem: &str,
    ca_key: &KeyPair,
    ca_sha256: &str,
    names: &[String],
) -> anyhow::Result<()> {
    let now = crate::shared::clock::now_utc();
    let issuer =
        Issuer::from_ca_cert_pem(ca_pem, ca_key).context("cannot read the CA certificate")?;
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
    write_file(
        &dir.join("server.key"),
        key.serialize_pem().as_bytes(),
        0o600,
    )?;
    write_file(&dir.join("server.pem"), cert.pem().as_bytes(), 0o644)?;
    let meta = ServerMeta {
        names: names.to_vec(),
        not_after: not_after.unix_timestamp(),
        ca_sha256: ca_sha256.to_string(),
    };
    write_file(
        &dir.join("server.json"),
        &serde_json::to_vec_pretty(&meta)?,
        0o644,
    )?;
    Ok(())
}

/// What `hub tls rotate` did.
#[derive(Debug)]
pub struct Rotated {
    /// The fingerprint of the CA replaced (kept as `ca.old.pem` / `ca.old.key`), if there was one.
    pub old_fingerprint: Option<String>,
    pub ca: LocalCa,
    /// The new CA's constraints.
    pub permits: Vec<Permit>,
    /// The names of the new server certificate.
    pub names: Vec<String>,
}

/// Replaces the hub's CA in `data/tls` by a new one for `names` (see [`ca_permits`]), keeping the old CA
/// as `ca.old.pem` and `ca.old.key` (0600; a previous `ca.old.*` is overwritten), and issues a server
/// certificate for the names it covers. A serving hub keeps the old certificates in memory until it
/// restarts.
pub fn rotate(data: &Path, hub_name: &str, names: &[String]) -> anyhow::Result<Rotated> {
    let dir = data.join("tls");
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
    let (ca_pem_path, ca_key_path) = (dir.join("ca.pem"), dir.join("ca.key"));
    let mut old_fingerprint = None;
    if ca_pem_path.exists() && ca_key_path.exists() {
        let pem = fs::read(&ca_pem_path)?;
        let key = read_ca_key(&dir, "ca.key")?
            .context("the hub is locked: unlock it to rotate its certificate authority")?;
        old_fingerprint = pem_to_der(&String::from_utf8_lossy(&pem))
            .ok()
            .map(|d| fingerprint(&d));
        write_ca_key(&dir, "ca.old.key", &key)?;
        write_file(&dir.join("ca.old.pem"), &pem, 0o644)?;
    }
    make_ca(&dir, hub_name, names)?;
    let ca_pem = fs::read_to_string(&ca_pem_path)?;
    let ca_key = KeyPair::from_pem(&String::from_utf8_lossy(
        &read_ca_key(&dir, "ca.key")?.context("the new CA key cannot be read back")?,
    ))?;
    let ca_der = pem_to_der(&ca_pem)?;
    let permits = ca_facts(&ca_der, Some(&ca_key))?
        .permits
        .unwrap_or_default();
    let (covered, _) = split_covered(Some(&permits), names);
    let ca = LocalCa {
        fingerprint: fingerprint(&ca_der),
        der: ca_der,
        notice: None,
        served: covered.clone(),
    };
    issue_server(&dir, &ca_pem, &ca_key, &ca.fingerprint, &covered)?;
    tracing::info!(ca = %ca.fingerprint, "rotated the hub's local certificate authority");
    Ok(Rotated {
        old_fingerprint,
        ca,
        permits,
        names: covered,
    })
}

/// The names the current server certificate in `data/tls` was issued for (from `server.json`).
pub fn served_names(data: &Path) -> Option<Vec<String>> {
    let b = fs::read(data.join("tls").join("server.json")).ok()?;
    serde_json::from_slice::<ServerMeta>(&b)
        .ok()
        .map(|m| m.names)
}

/// The validity end (Unix seconds) of the current server certificate, from `server.json`.
pub fn server_not_after(data: &Path) -> Option<i64> {
    let b = fs::read(data.join("tls").join("server.json")).ok()?;
    serde_json::from_slice::<ServerMeta>(&b)
        .ok()
        .map(|m| m.not_after)
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
/// apply, so it vouches only for the office's own names and networks. HTTP/1.1.
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
        // The access point's address is covered: the server certificate follows.
        let more = server_names("tram.local", &["10.42.0.1".parse().unwrap()]);
        let c = load_or_create(dir.path(), "Trạm", &more).unwrap();
        assert!(c.issued_now);
        assert!(c.uncovered.is_empty(), "{:?}", c.uncovered);
        assert_eq!(a.ca.der, c.ca.der);
        assert_ne!(a.chain[0], c.chain[0]);
        assert!(server_config(&c).is_ok());
        assert_eq!(a.ca.fingerprint.len(), 32 * 3 - 1);
        // Another network the CA was not made for: left out and reported, the certificate kept.
        let moved = server_names(
            "tram.local",
            &["10.42.0.1".parse().unwrap(), "10.0.0.7".parse().unwrap()],
        );
        let d = load_or_create(dir.path(), "Trạm", &moved).unwrap();
        assert_eq!(d.uncovered, vec!["10.0.0.7".to_string()]);
        assert!(!d.issued_now);
        assert_eq!(d.names, c.names);
        assert_eq!(d.chain[0], c.chain[0]);
    }

    #[test]
    fn the_ca_permits_only_the_hubs_own_names_and_networks() {
        let names = server_names(
            "tram.local",
            &[
                "192.168.4.7".parse().unwrap(),
                "10.42.0.1".parse().unwrap(),
                "fd00::5".parse().unwrap(),
                "8.8.8.8".parse().unwrap(),
            ],
        );
        let p = ca_permits(&names);
        let shown: Vec<String> = p.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            shown,
            [
                "127.0.0.0/8",
                "::1/128",
                "10.42.0.0/24",
                "192.168.4.0/24",
                "fd00::/64",
                "localhost",
                "tram.local",
            ],
            "{shown:?}"
        );
        let ok = |n: &str| permitted(Some(&p), n);
        for n in [
            "tram.local",
            "localhost",
            "127.0.0.1",
            "::1",
            "192.168.4.200",
            "10.42.0.9",
            "fd00::9",
        ] {
            assert!(ok(n), "{n}");
        }
        for n in [
            "van-phong-xa.local",
            "local",
            "192.168.1.1",
            "10.0.0.1",
            "172.16.0.1",
            "100.64.0.1",
            "fc00::1",
            "8.8.8.8",
            "xtram.local",
        ] {
            assert!(!ok(n), "{n}");
        }
        assert!(!is_wide(&p));
        assert!(is_wide(&legacy_permits()));
        assert!(permitted(Some(&legacy_permits()), "van-phong-xa.local"));
    }

    #[test]
    fn the_constraints_read_back_from_the_certificate_are_those_written() {
        let dir = tempfile::tempdir().unwrap();
        let names = server_names("tram.local", &["192.168.4.7".parse().unwrap()]);
        let m = load_or_create(dir.path(), "Trạm", &names).unwrap();
        assert_eq!(m.permits.as_deref(), Some(ca_permits(&names).as_slice()));
        let f = ca_facts(&m.ca.der, None).unwrap();
        assert!(f.not_after - f.not_before > 3600 * 86_400);
        // A key of another CA is refused rather than issuing certificates that chain to nothing.
        let other = new_key().unwrap();
        assert!(ca_facts(&m.ca.der, Some(&other)).is_err());
        // Rotation: a new CA, the old one kept, keys 0600.
        let r = rotate(dir.path(), "Trạm", &names).unwrap();
        assert_eq!(
            r.old_fingerprint.as_deref(),
            Some(m.ca.fingerprint.as_str())
        );
        assert_ne!(r.ca.fingerprint, m.ca.fingerprint);
        let tls = dir.path().join("tls");
        assert_eq!(local_ca_der(dir.path()).unwrap(), r.ca.der);
        assert_eq!(
            pem_to_der(&fs::read_to_string(tls.join("ca.old.pem")).unwrap()).unwrap(),
            m.ca.der
        );
        for f in ["ca.key", "ca.old.key", "server.key"] {
            let mode = fs::metadata(tls.join(f)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{f}");
        }
        let again = load_or_create(dir.path(), "Trạm", &names).unwrap();
        assert!(!again.issued_now, "rotate issued the server certificate");
        assert_eq!(again.ca.der, r.ca.der);
    }
}
