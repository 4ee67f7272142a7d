//! One sync run of a field hub against its pinned office (protocol §11.1, §11.8–11.9): locate the office,
//! open a session (challenge → signed hello → token), verify what it holds, send a signed manifest of the
//! envelopes still unacknowledged, each needed envelope, every ciphertext in resumable chunks, ask for the
//! signed ack and mark acknowledged exactly what it covers; then pull status news and apply retention.
//!
//! Every step is idempotent and nothing is marked before a verified ack, so a run may be killed at any
//! point: the next one resumes from what the office reports (`held`).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use protocol::{
    BatchManifest, ChainHead, DeviceStatus, NewsBatch, SignedAck, SignedHoldings, SignedManifest,
    SignedSyncHello, SyncHello, MAX_CHUNK_BYTES,
};
use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::client::{held_of, Body, OfficeClient, SyncError, MAX_ATTEMPTS};
use super::policy::TokenBucket;
use super::progress::{Phase, Progress, Tracker};
use super::store::{self, CipherLoc, PinnedOffice};
use crate::field::uploader::settings::SyncSettings;
use crate::shared::discovery::{browse, MdnsMode};
use crate::shared::keys::HubKeys;
use crate::shared::store::Db;

/// Envelopes per manifest (keeps a manifest well under the office's 256 KiB request limit).
pub const MAX_BATCH_ENVELOPES: usize = 200;
/// Rounds of "send what the ack says is missing" per batch.
pub const MAX_MISSING_ROUNDS: usize = 3;
/// How long to browse mDNS for the office.
pub const MDNS_TIMEOUT: Duration = Duration::from_secs(3);
/// Re-reads of a blob's `held` after a cut, per blob and run.
const MAX_RESYNCS: u32 = 4;

/// What the engine needs from the hub.
pub struct Engine<'a> {
    pub db: &'a Db,
    pub keys: &'a HubKeys,
    pub device_name: &'a str,
    pub settings: &'a SyncSettings,
    pub mdns: MdnsMode,
    pub cancel: CancellationToken,
    pub progress: &'a watch::Sender<Progress>,
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    pub office_url: String,
    pub found_by: String,
    /// Envelopes the run offered in manifests (unacknowledged, not quarantined).
    pub offered: usize,
    /// Envelopes newly acknowledged.
    pub newly_acked: usize,
    /// Bytes of ciphertext sent (chunks, resent ones included).
    pub bytes_sent: u64,
    /// Bytes of the ciphertexts the office still needed at the start.
    pub bytes_needed: u64,
    /// Alarms newly raised.
    pub alarms: usize,
    /// Seqs the office still lacks after the run.
    pub still_missing: Vec<u64>,
    /// News items newly received.
    pub news_new: usize,
    /// Why news could not be pulled (the upload itself still counts).
    pub news_error: Option<String>,
    /// Envelopes numbered again after the office's chain head (a restored or cloned card, §11.4.2).
    pub rechained: usize,
    /// Dossiers sealed while the chain was unsure, chained in this run.
    pub placed: usize,
    /// Procedure packages newly installed from the office (`id vN`).
    pub packages_new: Vec<String>,
    /// The same, as references.
    #[serde(skip)]
    pub packages_installed: Vec<protocol::ProcedureRef>,
    /// Packages the office offered that were refused, with why (never installed).
    pub packages_refused: Vec<String>,
    /// Why packages could not be pulled (the upload itself still counts).
    pub packages_error: Option<String>,
    /// Envelopes pruned by retention.
    pub pruned: usize,
}

/// How a found office was located.
struct Located {
    client: OfficeClient,
    found_by: &'static str,
    challenge: String,
}

/// A failure to compare or settle this hub's chain, in plain words.
pub(super) fn settle_error(e: super::rechain::SettleError) -> SyncError {
    match e {
        super::rechain::SettleError::Store(e) => e.into(),
        super::rechain::SettleError::Io(e) => SyncError::local(
            "chain_guard_io",
            format!("Không ghi được trạng thái chuỗi hồ sơ của trạm: {e}"),
            format!("Could not record the standing of this hub's chain: {e}"),
        ),
    }
}

fn bad(what: &str, e: impl std::fmt::Display) -> SyncError {
    SyncError::BadAnswer(format!("{what}: {e}"))
}

fn plain_status(status: DeviceStatus) -> SyncError {
    match crate::shared::trust::status_gate(status) {
        Ok(()) => SyncError::BadAnswer("unexpected status".into()),
        Err(e) => SyncError::Refused {
            status: e.status.as_u16(),
            code: e.code.to_string(),
            vi: e.message_vi,
            en: e.message_en,
            body: Value::Null,
        },
    }
}

impl Engine<'_> {
    fn tracker(&self) -> Tracker {
        Tracker::new(self.progress.clone())
    }

    fn phase(&self, phase: Phase) {
        self.progress.send_modify(|p| p.phase = phase);
    }

    /// The pinned office, or a plain error when none is paired.
    pub async fn office(&self) -> Result<PinnedOffice, SyncError> {
        self.db
            .call(|c| store::pinned_office(c))
            .await?
            .ok_or_else(|| {
                SyncError::local(
                    "no_office",
                    "Trạm chưa ghép nối với văn phòng xã. Hãy ghép nối (trang Ghép nối) trước khi đồng bộ.",
                    "This hub is not paired with a commune office yet. Pair it (Pairing page) before syncing.",
                )
            })
    }

    /// Tries `--office-url`, then the office found by mDNS, then the URL it was paired at: the first that
    /// answers a challenge is used. Discovery proves nothing; every later message is verified.
    async fn locate(&self, office: &PinnedOffice) -> Result<Located, SyncError> {
        let mut tried: Vec<String> = Vec::new();
        let mut last: Option<SyncError> = None;
        let (id, key) = (office.device_id.clone(), office.key);
        let mut pin = self
            .db
            .call(move |c| super::office_tls::pinned(c, &id, &key))
            .await?;
        for source in ["configured", "mdns", "paired"] {
            let url = match source {
                "configured" => self.settings.office_url.clone(),
                "mdns" => {
                    let (mode, id, fp) = (
                        self.mdns,
                        office.device_id.to_string(),
                        office.fingerprint.clone(),
                    );
                    tokio::task::spawn_blocking(move || {
                        browse::find_office(
                            mode,
                            &browse::Wanted {
                                device_id: &id,
                                fingerprint: &fp,
                            },
                            MDNS_TIMEOUT,
                        )
                    })
                    .await
                    .ok()
                    .flatten()
                }
                _ => office.base_url.clone(),
            };
            let Some(url) = url else { continue };
            if tried.contains(&url) {
                continue;
            }
            tried.push(url.clone());
            // The session token goes over HTTPS with the pinned office CA, or stays on this machine.
            let (url, ca) = match self.secure_url(office, &url, &mut pin).await {
                Ok(x) => x,
                Err(e) => {
                    last = Some(e);
                    continue;
                }
            };
            self.progress.send_modify(|p| {
                p.office_url = Some(url.clone());
                p.found_by = Some(source.into());
            });
            let client = OfficeClient::new(&url, ca.as_deref(), self.cancel.clone())?;
            match client
                .request(Method::POST, "/api/v1/sync/challenge", &Body::None, 2)
                .await
            {
                Ok(b) => {
                    let v: Value = serde_json::from_slice(&b).map_err(|e| bad("challenge", e))?;
                    let challenge = v["challenge"]
                        .as_str()
                        .ok_or_else(|| bad("challenge", "no challenge"))?
                        .to_string();
                    return Ok(Located {
                        client,
                        found_by: source,
                        challenge,
                    });
                }
                Err(e @ SyncError::Unreachable(_)) => last = Some(e),
                Err(
                    e @ SyncError::Local {
                        code: "office_certificate_mismatch",
                        ..
                    },
                ) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            SyncError::local(
                "office_not_found",
                "Không tìm thấy văn phòng xã: không có địa chỉ cấu hình (--office-url), không thấy văn phòng trên mạng nội bộ (mDNS), và chưa biết địa chỉ lúc ghép nối.",
                "The commune office was not found: no configured address (--office-url), not seen on the local network (mDNS), and no address known from pairing.",
            )
        }))
    }

    /// The address to open a session at for `url`, and the CA to trust there: an `https://` URL with the
    /// pinned office CA; a loopback `http://` URL as it is (nothing leaves the machine); any other
    /// `http://` URL upgraded to `https://` on the office's pinned HTTPS port — pinning it first, from the
    /// office's signed statement fetched at `url`, when this hub has no pin yet. The token is never sent
    /// over plain HTTP to another machine.
    async fn secure_url(
        &self,
        office: &PinnedOffice,
        url: &str,
        pin: &mut Option<super::office_tls::OfficeTlsPin>,
    ) -> Result<(String, Option<Vec<u8>>), SyncError> {
        use super::client::{cleartext_refused, https_url, is_https, is_loopback_url};
        if is_https(url) {
            return Ok((url.to_string(), pin.as_ref().map(|p| p.ca_der.clone())));
        }
        if is_loopback_url(url) {
            return Ok((url.to_string(), None));
        }
        if pin.is_none() {
            let (signed, fetched) = super::office_tls::fetch(url, &office.key, self.cancel.clone())
                .await
                .map_err(|e| match e {
                    SyncError::Refused { code, .. } if code == "office_https_off" => {
                        cleartext_refused()
                    }
                    SyncError::Refused { .. } => cleartext_refused(),
                    e => e,
                })?;
            self.db
                .call(move |c| super::office_tls::save(c, &signed))
                .await?;
            tracing::info!(ca = %fetched.ca_sha256, "pinned the office's HTTPS certificate authority");
            *pin = Some(fetched);
        }
        let p = pin.as_ref().expect("pinned above");
        let Some(port) = p.https_port else {
            return Err(cleartext_refused());
        };
        let https = https_url(url, port).ok_or_else(cleartext_refused)?;
        Ok((https, Some(p.ca_der.clone())))
    }

    /// One full run; progress goes to the watch channel. The caller records it (see [`Engine::run`]).
    async fn run_inner(&self, report: &mut RunReport) -> Result<(), SyncError> {
        let office = self.office().await?;
        self.progress.send_modify(|p| {
            p.office_name = Some(office.name.clone());
            p.phase = Phase::Locating;
        });
        let found = self.locate(&office).await?;
        report.office_url = found.client.base.clone();
        report.found_by = found.found_by.into();

        // Session (§11.8).
        self.phase(Phase::Comparing);
        let hello = SyncHello::new(
            self.keys.device_id.clone(),
            office.device_id.clone(),
            found.challenge.clone(),
            crate::shared::clock::now_rfc3339(),
        )
        .map_err(|e| bad("challenge", e))?;
        let signed = SignedSyncHello::sign(hello, &self.keys.device)
            .map_err(|e| SyncError::local("sign", e.to_string(), e.to_string()))?;
        let body = signed.to_bytes().map_err(|e| bad("hello", e))?;
        let v = found
            .client
            .json(Method::POST, "/api/v1/sync/hello", &Body::Json(body))
            .await?;
        let token = v["token"]
            .as_str()
            .ok_or_else(|| bad("hello", "no token"))?
            .to_string();
        let client = found.client.with_token(token);
        // A pause by the office (two copies of this card sealing, §11.4.3) stops sealing here until a clerk
        // approves the device again; the sync itself goes on.
        let paused = v["paused"]
            .as_object()
            .map(|p| crate::shared::chain_guard::Paused {
                since: p
                    .get("since")
                    .and_then(|x| x.as_str())
                    .unwrap_or_default()
                    .chars()
                    .take(64)
                    .collect(),
                reason: p
                    .get("reason")
                    .and_then(|x| x.as_str())
                    .unwrap_or_default()
                    .chars()
                    .take(500)
                    .collect(),
            });
        if let Some(p) = &paused {
            tracing::warn!(since = %p.since, "the office paused this device: sealing stops until it approves it again");
        }
        crate::shared::chain_guard::set_paused(&self.data_dir(), paused.as_ref()).map_err(|e| {
            SyncError::local(
                "chain_guard_io",
                format!("Không ghi được trạng thái tạm dừng của trạm: {e}"),
                format!("Could not record the office's pause of this hub: {e}"),
            )
        })?;
        // The hello names the device's standing: a revoked or unapproved device stops here, in plain words.
        match v["device_status"].as_str() {
            Some("pending_approval") => return Err(plain_status(DeviceStatus::PendingApproval)),
            Some("revoked") => return Err(plain_status(DeviceStatus::Revoked)),
            _ => {}
        }

        // Holdings (§11.4), verified with the pinned key.
        let holdings = self.fetch_holdings(&office, &client).await?;
        let q = holdings.quarantined.clone();
        let (fresh, new_alarms) = self
            .db
            .call(move |c| {
                let fresh = store::new_equivocations(c, &q)?;
                Ok((fresh, store::alarms_from_holdings(c, &q)?))
            })
            .await?;
        report.alarms += new_alarms;
        if holdings.device_status != DeviceStatus::Approved {
            return Err(plain_status(holdings.device_status));
        }
        self.check_chain(&holdings, &fresh).await?;
        self.offer(&office, &client, &holdings, report).await?;

        // A restored or cloned card (§11.4.2): once the office has taken what it can, what it set aside as
        // displaced is numbered again after its head, the dossiers sealed while the chain was unsure join
        // the chain, and both go up in the same run.
        if let Some(holdings) = self.settle_chain(&office, &client, report).await? {
            self.offer(&office, &client, &holdings, report).await?;
            self.still_displaced().await?;
        }

        // News (§11.7): a failure here does not undo the upload.
        self.phase(Phase::News);
        match self.pull_news(&office, &client).await {
            Ok(n) => report.news_new = n,
            Err(SyncError::Cancelled) => return Err(SyncError::Cancelled),
            Err(e) => report.news_error = Some(e.to_string()),
        }

        // Procedure packages (§13): likewise independent of the upload.
        self.phase(Phase::Packages);
        match self.pull_packages(&office, &client, report).await {
            Ok(()) => {}
            Err(SyncError::Cancelled) => return Err(SyncError::Cancelled),
            Err(e) => report.packages_error = Some(e.to_string()),
        }
        Ok(())
    }

    /// Holdings (§11.4), verified with the pinned office key, for this device.
    async fn fetch_holdings(
        &self,
        office: &PinnedOffice,
        client: &OfficeClient,
    ) -> Result<protocol::Holdings, SyncError> {
        let b = client
            .request(
                Method::GET,
                "/api/v1/sync/holdings",
                &Body::None,
                MAX_ATTEMPTS,
            )
            .await?;
        let holdings = SignedHoldings::from_bytes(&b).map_err(|e| bad("holdings", e))?;
        holdings
            .verify(&office.key)
            .map_err(|e| bad("holdings", e))?;
        let holdings = holdings.holdings;
        if holdings.device_id != self.keys.device_id {
            return Err(bad("holdings", "they describe another device"));
        }
        Ok(holdings)
    }

    /// Offers every unacknowledged envelope the office has not set aside, in batches. Those it already
    /// holds go in the manifest too (nothing is sent for them) so that the ack covers them: a run killed
    /// after the upload but before the ack is finished by the next one. An envelope is "set aside" by its
    /// hash, not its seq: another envelope with the same seq (sealed on a copy of this hub's card) being in
    /// quarantine must not keep this one from the office.
    async fn offer(
        &self,
        office: &PinnedOffice,
        client: &OfficeClient,
        holdings: &protocol::Holdings,
        report: &mut RunReport,
    ) -> Result<(), SyncError> {
        let local = self.db.call(|c| store::local_envelopes(c)).await?;
        let to_offer: Vec<u64> = local
            .iter()
            .filter(|e| !e.acked && !e.pruned)
            .filter(|e| {
                !holdings
                    .quarantined
                    .iter()
                    .any(|q| q.seq == e.seq && q.hash == e.hash)
            })
            .map(|e| e.seq)
            .collect();
        report.offered += to_offer.len();
        for batch in to_offer.chunks(MAX_BATCH_ENVELOPES) {
            self.upload_batch(office, client, batch, report).await?;
        }
        Ok(())
    }

    /// The data directory of this hub (where the chain guard's markers live).
    fn data_dir(&self) -> std::path::PathBuf {
        self.db
            .path()
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default()
    }

    /// After the first upload: when the chain needs settling (§11.4.2: unsure, displaced, or dossiers
    /// waiting unchained), fetches the holdings again and settles onto them (`super::rechain::settle`).
    /// The fresh holdings when it did (the caller offers again), `None` when there was nothing to settle.
    async fn settle_chain(
        &self,
        office: &PinnedOffice,
        client: &OfficeClient,
        report: &mut RunReport,
    ) -> Result<Option<protocol::Holdings>, SyncError> {
        let dir = self.data_dir();
        let d = dir.clone();
        if !self
            .db
            .call(move |c| super::rechain::needs_settling(c, &d))
            .await?
        {
            return Ok(None);
        }
        let holdings = self.fetch_holdings(office, client).await?;
        let key = self.keys.device.clone();
        let h = holdings.clone();
        let done = self
            .db
            .call(move |c| Ok(super::rechain::settle(c, &dir, &key, &h)))
            .await?
            .map_err(settle_error)?
            .unwrap_or_default();
        report.rechained += done.rechained;
        report.placed += done.placed;
        Ok(Some(holdings))
    }

    /// After the second upload: see `super::rechain::still_displaced`.
    async fn still_displaced(&self) -> Result<(), SyncError> {
        let dir = self.data_dir();
        self.db
            .call(move |c| Ok(super::rechain::still_displaced(c, &dir)))
            .await?
            .map_err(settle_error)?;
        Ok(())
    }

    /// Tells the office which packages this hub holds, then downloads, verifies against the pinned office
    /// key and installs each one it lacks. A package refused (bad signature, a version already held with
    /// another content) is reported and skipped; the others still install.
    async fn pull_packages(
        &self,
        office: &PinnedOffice,
        client: &OfficeClient,
        report: &mut RunReport,
    ) -> Result<(), SyncError> {
        use crate::shared::procedures::registry;
        let have: Vec<String> = registry::entries().into_iter().map(|e| e.hash).collect();
        let body = serde_json::to_vec(&serde_json::json!({ "have": have }))
            .map_err(|e| bad("packages", e))?;
        let b = client
            .request(
                Method::POST,
                "/api/v1/sync/packages",
                &Body::Json(body),
                MAX_ATTEMPTS,
            )
            .await?;
        let index = protocol::PackageIndex::from_bytes(&b).map_err(|e| bad("packages", e))?;
        for s in index.packages {
            if registry::by_hash(&s.hash).is_some() {
                continue;
            }
            if let Err(c) = registry::admits(&s.id, s.version, &s.hash) {
                report.packages_refused.push(c.to_string());
                continue;
            }
            let bytes = client
                .request(
                    Method::GET,
                    &format!("/api/v1/sync/packages/{}", s.hash),
                    &Body::None,
                    MAX_ATTEMPTS,
                )
                .await?;
            let key = office.key;
            let outcome = self
                .db
                .call(move |c| Ok(crate::shared::procedures::store::install(c, &bytes, &key)))
                .await?;
            match outcome {
                Ok((_, hash, r)) if hash == s.hash => {
                    tracing::info!(procedure = %r.id, version = r.version, "procedure package installed");
                    report.packages_new.push(format!("{} v{}", r.id, r.version));
                    report.packages_installed.push(r);
                }
                Ok((_, _, r)) => report.packages_refused.push(format!(
                    "{} v{}: the office sent another package than the one its index lists",
                    r.id, r.version
                )),
                Err(e) => {
                    tracing::warn!(procedure = %s.id, version = s.version, error = %e, "procedure package refused");
                    report
                        .packages_refused
                        .push(format!("{} v{}: {e}", s.id, s.version));
                }
            }
        }
        Ok(())
    }

    async fn upload_batch(
        &self,
        office: &PinnedOffice,
        client: &OfficeClient,
        seqs: &[u64],
        report: &mut RunReport,
    ) -> Result<(), SyncError> {
        self.phase(Phase::Uploading);
        let s = seqs.to_vec();
        let (entries, sessions, recipients) = self
            .db
            .call(move |c| {
                let entries = store::manifest_entries(c, &s)?;
                Ok((
                    entries,
                    crate::field::outreach::summary::for_manifest(c, &s)?,
                    crate::shared::trust::office_recipients(c)?,
                ))
            })
            .await?;
        let last = entries.last().expect("a batch is never empty");
        let mut manifest = BatchManifest {
            kind: "outreach-kit/batch-manifest".into(),
            v: 1,
            batch_id: uuid::Uuid::now_v7().to_string(),
            device_id: self.keys.device_id.clone(),
            device_name: self.device_name.to_string(),
            created_at: crate::shared::clock::now_rfc3339(),
            chain_head: ChainHead {
                seq: last.seq,
                hash: last.hash.clone(),
            },
            sessions: Vec::new(),
            sealed_sessions: None,
            envelopes: entries.clone(),
        };
        // Session summaries travel sealed to the office (§3.5): a fake office or a LAN listener sees none.
        super::batch_file::seal_sessions(&mut manifest, &recipients, sessions).map_err(|e| {
            SyncError::local(
                "seal",
                format!("Không niêm phong được bản tóm tắt buổi lưu động: {e}"),
                e.to_string(),
            )
        })?;
        let signed = SignedManifest::sign(manifest.clone(), &self.keys.device)
            .map_err(|e| SyncError::local("sign", e.to_string(), e.to_string()))?;
        let manifest_bytes = protocol::canonical_bytes(&signed).map_err(|e| bad("manifest", e))?;
        let locs: HashMap<String, (u64, CipherLoc)> = store::cipher_locations(&entries)
            .into_iter()
            .map(|(b, l)| (b.sha256, (b.len, l)))
            .collect();
        let total_bytes: u64 = locs.values().map(|(len, _)| *len).sum();
        self.progress.send_modify(|p| {
            p.dossiers_total = entries.len() as u64;
            p.dossiers_done = 0;
            p.bytes_total = total_bytes;
            p.bytes_done = 0;
            p.rate_bps = 0.0;
            p.eta_secs = None;
        });
        let mut first = true;
        for _round in 0..MAX_MISSING_ROUNDS {
            self.phase(Phase::Uploading);
            let answer = client
                .json(
                    Method::POST,
                    "/api/v1/sync/manifest",
                    &Body::Json(manifest_bytes.clone()),
                )
                .await?;
            // What the office holds of each ciphertext: progress starts there.
            let mut pending: VecDeque<(String, u64, u64, CipherLoc)> = VecDeque::new();
            let mut held_total = 0u64;
            for b in answer["blobs"].as_array().into_iter().flatten() {
                let (Some(sha), Some(held)) = (b["sha256"].as_str(), b["held"].as_u64()) else {
                    return Err(bad("manifest answer", "a blob without sha256 or held"));
                };
                let Some((len, loc)) = locs.get(sha) else {
                    return Err(bad(
                        "manifest answer",
                        "a blob the manifest did not announce",
                    ));
                };
                held_total += held.min(*len);
                if held < *len {
                    pending.push_back((sha.to_string(), *len, held, *loc));
                }
            }
            if first {
                report.bytes_needed = total_bytes.saturating_sub(held_total);
                first = false;
            }
            self.progress.send_modify(|p| p.bytes_done = held_total);
            for e in answer["envelopes"].as_array().into_iter().flatten() {
                if e["state"].as_str() != Some("needed") {
                    continue;
                }
                let seq = e["seq"]
                    .as_u64()
                    .ok_or_else(|| bad("manifest answer", "an envelope without seq"))?;
                if !seqs.contains(&seq) {
                    return Err(bad(
                        "manifest answer",
                        "an envelope the manifest did not announce",
                    ));
                }
                let bytes = self
                    .db
                    .call(move |c| store::signed_envelope_bytes(c, seq))
                    .await?;
                client
                    .json(
                        Method::PUT,
                        &format!("/api/v1/sync/envelopes/{seq}"),
                        &Body::Json(bytes),
                    )
                    .await?;
            }
            self.send_blobs(client, pending, report).await?;

            // Ack (§11.6): verified, then exactly what it covers is marked.
            self.phase(Phase::Acknowledging);
            let body = protocol::canonical_bytes(&json!({ "batch_id": manifest.batch_id }))
                .map_err(|e| bad("ack request", e))?;
            let b = client
                .request(
                    Method::POST,
                    "/api/v1/sync/ack",
                    &Body::Json(body),
                    MAX_ATTEMPTS,
                )
                .await?;
            let ack = SignedAck::from_bytes(&b).map_err(|e| bad("ack", e))?;
            ack.verify_for(&office.key, &manifest)
                .map_err(|e| bad("ack", e))?;
            let ack = ack.ack;
            let a2 = ack.clone();
            let marked = self.db.call(move |c| store::apply_ack(c, &a2)).await?;
            report.newly_acked += marked.newly_acked;
            report.alarms += marked.alarms;
            let covered = seqs
                .iter()
                .zip(&entries)
                .filter(|(s, e)| ack.covers(**s, &e.hash))
                .count() as u64;
            self.progress.send_modify(|p| {
                p.dossiers_done = covered;
                p.last_acked += marked.newly_acked as u64;
            });
            report.still_missing = ack.missing.clone();
            if ack.missing.is_empty() {
                break;
            }
            tracing::info!(
                missing = ack.missing.len(),
                "the office still lacks envelopes of this batch; sending again"
            );
        }
        Ok(())
    }

    /// Sends every pending ciphertext in chunks, `sync_concurrency` at a time, under the bandwidth cap.
    async fn send_blobs(
        &self,
        client: &OfficeClient,
        pending: VecDeque<(String, u64, u64, CipherLoc)>,
        report: &mut RunReport,
    ) -> Result<(), SyncError> {
        if pending.is_empty() {
            return Ok(());
        }
        let queue = Mutex::new(pending);
        let tracker = Mutex::new(self.tracker());
        let bucket = (self.settings.sync_bandwidth_kbps > 0)
            .then(|| Mutex::new(TokenBucket::kbps(self.settings.sync_bandwidth_kbps)));
        let sent = Mutex::new(0u64);
        let failed: Mutex<Option<SyncError>> = Mutex::new(None);
        let worker = || async {
            loop {
                if failed.lock().expect("lock").is_some() {
                    return;
                }
                let Some(job) = queue.lock().expect("lock").pop_front() else {
                    return;
                };
                if let Err(e) = self
                    .send_blob(client, job, &tracker, bucket.as_ref(), &sent)
                    .await
                {
                    failed.lock().expect("lock").get_or_insert(e);
                    return;
                }
            }
        };
        let n = self.settings.sync_concurrency.max(1) as usize;
        futures_util::future::join_all((0..n).map(|_| worker())).await;
        report.bytes_sent += *sent.lock().expect("lock");
        match failed.into_inner().expect("lock") {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// One ciphertext, chunk by chunk from the office's `held`; after a cut it asks the office how much it
    /// holds and resumes there.
    async fn send_blob(
        &self,
        client: &OfficeClient,
        (sha, len, mut held, loc): (String, u64, u64, CipherLoc),
        tracker: &Mutex<Tracker>,
        bucket: Option<&Mutex<TokenBucket>>,
        sent: &Mutex<u64>,
    ) -> Result<(), SyncError> {
        let bytes = self.db.call(move |c| store::ciphertext(c, loc)).await?;
        if bytes.len() as u64 != len || protocol::sha256_hex(&bytes) != sha {
            return Err(SyncError::local(
                "local_ciphertext",
                format!(
                    "Dữ liệu niêm phong của hồ sơ số {} trên trạm bị hỏng.",
                    loc.seq
                ),
                format!(
                    "The sealed data of envelope {} on this hub is damaged.",
                    loc.seq
                ),
            ));
        }
        let mut resyncs = 0;
        while let Some((off, n)) = protocol::next_chunk(len, held, MAX_CHUNK_BYTES) {
            if let Some(b) = bucket {
                let wait = b.lock().expect("lock").take(n);
                if !wait.is_zero() {
                    client.sleep(wait).await?;
                }
            }
            let chunk = bytes[off as usize..(off + n) as usize].to_vec();
            let path = format!("/api/v1/sync/blobs/{sha}?offset={off}");
            let r = client
                .request(Method::PUT, &path, &Body::Octets(chunk), MAX_ATTEMPTS)
                .await;
            let new_held = match r {
                Ok(b) => {
                    *sent.lock().expect("lock") += n;
                    let v: Value = serde_json::from_slice(&b).map_err(|e| bad("chunk", e))?;
                    v["held"].as_u64().ok_or_else(|| bad("chunk", "no held"))?
                }
                Err(SyncError::Refused { code, body, .. }) if code == "chunk_offset" => {
                    match held_of(&body) {
                        Some(h) => h,
                        None => self.held_at_office(client, &sha).await?,
                    }
                }
                Err(SyncError::Unreachable(why)) => {
                    resyncs += 1;
                    if resyncs > MAX_RESYNCS {
                        return Err(SyncError::Unreachable(why));
                    }
                    self.held_at_office(client, &sha).await?
                }
                Err(e) => return Err(e),
            };
            let grown = new_held.saturating_sub(held);
            tracker
                .lock()
                .expect("lock")
                .sent(if grown > 0 { n } else { 0 }, grown);
            held = new_held.min(len);
        }
        Ok(())
    }

    async fn held_at_office(&self, client: &OfficeClient, sha: &str) -> Result<u64, SyncError> {
        let v = client
            .json(
                Method::GET,
                &format!("/api/v1/sync/blobs/{sha}"),
                &Body::None,
            )
            .await?;
        v["held"]
            .as_u64()
            .ok_or_else(|| bad("blob state", "no held"))
    }

    /// Compares this hub's chain with the office's holdings (§11.4.1), before the upload.
    async fn check_chain(
        &self,
        holdings: &protocol::Holdings,
        fresh_equivocations: &[u64],
    ) -> Result<(), SyncError> {
        let dir = self.data_dir();
        let h = holdings.clone();
        let fresh = fresh_equivocations.to_vec();
        self.db
            .call(move |c| Ok(super::rechain::detect(c, &dir, &h, &fresh)))
            .await?
            .map_err(settle_error)?;
        Ok(())
    }

    /// Pulls news after the highest seq held until the office says there is no more.
    async fn pull_news(
        &self,
        office: &PinnedOffice,
        client: &OfficeClient,
    ) -> Result<usize, SyncError> {
        let id = office.device_id.clone();
        let mut after = self
            .db
            .call(move |c| crate::field::news::store::last_seq_in(c, &id))
            .await?;
        let mut new = 0;
        for _ in 0..1000 {
            let b = client
                .request(
                    Method::GET,
                    &format!("/api/v1/sync/news?after={after}"),
                    &Body::None,
                    MAX_ATTEMPTS,
                )
                .await?;
            let batch = NewsBatch::from_bytes(&b).map_err(|e| bad("news", e))?;
            batch
                .verify(&office.key, &self.keys.device_id)
                .map_err(|e| bad("news", e))?;
            if batch.after != after {
                return Err(bad("news", "the batch answers another question"));
            }
            let (key, dev) = (office.key, self.keys.device_id.clone());
            let items = batch.items.clone();
            new += self
                .db
                .call(move |c| crate::field::news::store::save_incoming(c, &key, &dev, &items))
                .await?
                .map_err(|e| bad("news", e))?;
            match batch.items.last() {
                Some(last) if batch.more => after = last.news.seq,
                _ => break,
            }
        }
        Ok(new)
    }

    /// Runs once and records it (`sync_runs`, progress: last error or last success), then applies retention.
    pub async fn run(&self) -> Result<RunReport, SyncError> {
        let run_id = self
            .db
            .call(|c| store::run_started(c, "network", None))
            .await?;
        self.progress.send_modify(|p| {
            p.running = true;
            p.bytes_sent = 0;
            p.last_acked = 0;
            p.dossiers_done = 0;
            p.dossiers_total = 0;
            p.bytes_done = 0;
            p.bytes_total = 0;
            p.rate_bps = 0.0;
            p.eta_secs = None;
            p.last_packages.clear();
            p.last_packages_refused.clear();
        });
        let mut report = RunReport::default();
        let r = self.run_inner(&mut report).await;
        let pruned = self.retention().await;
        report.pruned = pruned.unwrap_or(0);
        let (outcome, err) = match &r {
            Ok(()) if report.still_missing.is_empty() => ("ok", None),
            Ok(()) => ("partial", None),
            Err(e) => ("failed", Some(e.to_string())),
        };
        let url = (!report.office_url.is_empty()).then(|| report.office_url.clone());
        let (n, bytes) = (report.newly_acked, report.bytes_sent);
        let e2 = err.clone();
        self.db
            .call(move |c| {
                store::run_finished(c, run_id, url.as_deref(), n, bytes, outcome, e2.as_deref())
            })
            .await?;
        let now = crate::shared::clock::now_rfc3339();
        let installed: Vec<super::progress::NewPackage> = report
            .packages_installed
            .iter()
            .filter_map(|r| crate::shared::procedures::find(r))
            .map(|d| super::progress::NewPackage {
                id: d.id.clone(),
                version: d.version,
                title: d.title.clone(),
            })
            .collect();
        self.progress.send_modify(|p| {
            p.running = false;
            p.phase = Phase::Idle;
            p.rate_bps = 0.0;
            p.last_packages = installed.clone();
            p.last_packages_refused = report.packages_refused.clone();
            match &r {
                Ok(()) => {
                    p.last_error = None;
                    p.last_success_at = Some(now.clone());
                    p.eta_secs = Some(0);
                }
                Err(e) => p.last_error = Some(e.plain()),
            }
        });
        r.map(|()| report)
    }

    /// Deletes the ciphertexts of envelopes acknowledged longer ago than the retention period.
    pub async fn retention(&self) -> Result<usize, SyncError> {
        let cutoff = crate::shared::clock::now_utc()
            - time::Duration::seconds(self.settings.retention_secs() as i64);
        let cutoff = cutoff
            .replace_nanosecond(0)
            .unwrap_or(cutoff)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let n = self.db.call(move |c| store::prune(c, &cutoff)).await?;
        if n > 0 {
            tracing::info!(
                count = n,
                "retention: deleted the sealed data of acknowledged dossiers"
            );
        }
        Ok(n)
    }
}
