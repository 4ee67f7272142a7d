//! `hub serve`: opens the data directory, binds HTTP and HTTPS (certificate from the hub's local CA),
//! prints how to reach the hub, advertises it, and serves until cancelled, under connection limits
//! (header and body read timeouts, per-address and global caps: `serve/conn.rs`). Tests boot this same
//! function: it reports the bound address through `ready` and stops gracefully when `cancel` fires.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use protocol::HubMode;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::app::config::ServeConfig;
use crate::app::make_app;
use crate::field::seal;
use crate::shared::datadir::DataDir;
use crate::shared::join::{self, JoinInfo};
use crate::shared::state::{AppState, Parts, Shared};
use crate::shared::{auth, discovery, terminal, tls};

mod conn;
mod locked;

/// What a started hub reports once it accepts connections.
#[derive(Debug, Clone)]
pub struct Ready {
    pub addr: SocketAddr,
    pub urls: Vec<String>,
    /// The HTTPS listener's address, unless HTTPS is off (or its default port was busy).
    pub https_addr: Option<SocketAddr>,
    pub https_urls: Vec<String>,
    /// SHA-256 of the local CA certificate (colon-separated hex), when HTTPS is on.
    pub ca_fingerprint: Option<String>,
    /// The one-time link to create the first admin, while no admin exists.
    pub setup_link: Option<String>,
}

pub async fn serve(
    cfg: ServeConfig,
    ready: Option<oneshot::Sender<Ready>>,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    crate::shared::clock::set_skew(cfg.clock_skew_seconds);
    let c2 = cfg.clone();
    // The data-directory lock lives as long as this function: one hub per directory, and no restore
    // under a serving hub. A protected field hub whose data key this process does not hold starts locked.
    let (_data_lock, opened) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let lock = crate::shared::backup::lock::DirLock::acquire(&c2.data)?;
        // A protection of the data cut short by a power cut is completed or undone under the lock.
        crate::shared::unlock::boot(&c2.data)?;
        match DataDir::open_or_create(&c2.data, c2.mode, c2.name.as_deref()) {
            Ok(dir) => Ok((lock, Some(dir))),
            Err(e) if DataDir::is_locked_error(&e) => Ok((lock, None)),
            Err(e) => Err(e),
        }
    })
    .await??;
    let mut ready = ready;
    let (dir, mut early) = match opened {
        Some(dir) => (dir, None),
        None => {
            if cfg.mode == Some(HubMode::Office) {
                anyhow::bail!(
                    "data directory {} belongs to a field hub (its data is encrypted); it cannot be \
                     served as office. Use another --data directory for the office hub.",
                    cfg.data.display()
                );
            }
            let Some(early) = start_locked(&cfg, ready.take(), cancel.clone()).await? else {
                return Ok(());
            };
            let c2 = cfg.clone();
            let dir = tokio::task::spawn_blocking(move || {
                DataDir::open_or_create(&c2.data, c2.mode, c2.name.as_deref())
            })
            .await?
            .context("the hub was unlocked but its data directory cannot be opened")?;
            (dir, Some(early))
        }
    };
    let wifi = cfg.wifi().map_err(|e| anyhow::anyhow!(e))?;
    let deadline_rules = cfg.deadline_rules().map_err(|e| anyhow::anyhow!(e))?;
    let label = cfg.host_label(&dir.name);
    let host = format!("{label}.local");
    let (https_listener, tls_material, https_addr) = match &mut early {
        Some(e) => (None, e.tls_material.take(), e.https_addr),
        None => {
            let (l, m) = bind_https(&cfg, &host, &dir.name).await?;
            let a = match &l {
                Some(l) => Some(l.local_addr()?),
                None => None,
            };
            (l, m, a)
        }
    };
    let state = AppState(Arc::new(Shared {
        db: dir.db.clone(),
        keys: dir.keys,
        mode: dir.mode,
        name: dir.name.clone(),
        procedures: crate::shared::state::Catalogue::new(&cfg.time_limits),
        // Every concern's live part, on both modes (a route of the other mode answers 404 before it
        // would look its part up).
        parts: Parts::new()
            .with(deadline_rules.clone())
            .with(auth::LoginLimiter::new(std::time::Duration::from_secs(
                cfg.login_lockout_seconds,
            )))
            .with(crate::field::outreach::Live::new(
                cancel.clone(),
                &cfg.board,
            ))
            .with(cfg.predeclarations.clone())
            .with(cfg.retention.clone())
            .with(cfg.printer.clone())
            .with(std::sync::Arc::new(
                crate::field::thermal::device::Printer::new(cfg.printer.printer.clone()),
            ))
            .with(cfg.retention.drafts())
            .with(crate::shared::procedures::HubContext {
                commune: cfg.commune.clone(),
            })
            .with(crate::office::intake::session::SyncSessions::default())
            .with(join::Published::default())
            .with(crate::field::uploader::Uploader::new(
                cfg.upload.clone(),
                cfg.mdns,
                cancel.clone(),
            )),
    }));
    if state.mode == HubMode::Field {
        let st = state.clone();
        let n = state
            .db
            .call(move |c| {
                let dir = st.db.path().parent().unwrap_or(std::path::Path::new("."));
                let place = crate::shared::chain_guard::place(dir);
                seal::engine::protect_pending(c, &st.keys.device, place)
            })
            .await?;
        if n > 0 {
            tracing::info!(
                count = n,
                "protected dossiers sealed before the office key was trusted"
            );
        }
    }
    if let Some(code) = cfg.commune.clone() {
        let known = state
            .db
            .call(move |c| {
                crate::shared::units::store::ensure_loaded(c)?;
                crate::shared::units::store::unit_exists(c, &code)
            })
            .await?;
        if !known {
            anyhow::bail!(
                "--commune {}: no such commune, ward or special zone in the administrative-units list \
                 (find the code with `hub units list --search NAME`)",
                cfg.commune.as_deref().unwrap_or_default()
            );
        }
    }
    if state.mode == HubMode::Office {
        // The office counts with this serve's limits and calendar from now on, and open deadlines follow.
        let rules = deadline_rules.clone();
        let moved = state
            .db
            .call(move |c| crate::office::casework::store::apply_rules(c, &rules))
            .await?;
        if moved > 0 {
            tracing::info!(
                count = moved,
                "deadline rules changed (--time-limit, --holidays): open deadlines recomputed"
            );
        }
    }
    let mode = state.mode;
    let conf = state
        .db
        .call(move |c| crate::shared::clock_guard::restore(c, mode))
        .await?;
    let facts = crate::shared::clock_guard::cached_facts();
    match crate::shared::clock_guard::plausibility(&facts) {
        None if crate::shared::clock::anchor().is_some() => tracing::info!(
            correction_seconds = conf.map(|k| k.correction_s).unwrap_or(0),
            "hub time: the time confirmed from a phone in this boot"
        ),
        None => {}
        Some(reason) => tracing::warn!(
            reason = reason.code(),
            "the clock looks wrong: sealing waits until an officer confirms the time from a phone"
        ),
    }
    if state.mode == HubMode::Field {
        // Encryption at rest: the escrow copy follows the office keys and the recovery key (a recovery key
        // made, or a pairing, while the hub was stopped).
        let db = state.db.clone();
        if let Err(e) =
            tokio::task::spawn_blocking(move || crate::shared::unlock::refresh_escrow(&db)).await?
        {
            tracing::error!(error = %e, "could not bring the escrow copy of the data key up to date");
        }
        // `hub backup` without a password (a USB stick plugged in): the unlocked hub writes the archive for
        // the command over DATA/backup.sock (0600).
        if let Err(e) = crate::shared::backup::socket::serve(&cfg.data) {
            tracing::warn!(error = %format!("{e:#}"), "no backup socket: `hub backup` will need HUB_UNLOCK_USER/PASSWORD");
        }
        // Retention at start (issue 19), once the clock is known: what the field no longer needs is gone
        // before anyone connects.
        crate::field::retention::run(&state.db, &cfg.retention).await?;
    }
    let needs_setup = !state.db.call(|c| auth::store::admin_exists(c)).await?;
    // Everything slow happens before binding HTTP, so the banner follows the bind at once.
    let setup_token = if needs_setup {
        Some(state.db.call(|c| auth::store::new_setup_token(c)).await?)
    } else {
        None
    };
    let listener = match &early {
        Some(_) => None,
        None => Some(bind_http(&cfg).await?),
    };
    let addr = match (&listener, &early) {
        (Some(l), _) => l.local_addr()?,
        (None, Some(e)) => e.addr,
        (None, None) => unreachable!("a listener or a locked start"),
    };
    let join_info = Arc::new(JoinInfo {
        host: host.clone(),
        host_advertised: cfg.mdns != discovery::MdnsMode::Off,
        http: join::Endpoint {
            port: addr.port(),
            ips: join::endpoint_ips(addr.ip()),
        },
        https: https_addr.map(|a| join::Endpoint {
            port: a.port(),
            // Only the addresses the server certificate names (the CA may not cover a new network).
            ips: join::endpoint_ips(a.ip())
                .into_iter()
                .filter(|ip| {
                    tls_material
                        .as_ref()
                        .is_none_or(|m| m.names.contains(&ip.to_string()))
                })
                .collect(),
        }),
        wifi,
        ca: tls_material.as_ref().map(|m| m.ca.clone()),
    });
    // The slip's tracking QR draws the hub's address by the join page's rule.
    if let Some(p) = state.parts.get::<join::Published>() {
        p.set(join_info.clone());
    }
    let urls = terminal::urls(addr);
    let https_urls: Vec<String> = match &join_info.https {
        Some(ep) => join_info.urls("https", ep, None),
        None => Vec::new(),
    };
    // The admin's password is typed there: over HTTPS when the hub has it, unless the hub listens on
    // loopback only (plain HTTP works from this machine itself).
    let setup_link = setup_token.map(|token| {
        let base = match https_urls.first() {
            Some(u) if !addr.ip().is_loopback() => u,
            _ => &urls[0],
        };
        format!("{}/#/setup?token={token}", base.trim_end_matches('/'))
    });
    match &early {
        None => print_banner(
            &state,
            &urls,
            &join_info,
            &https_urls,
            setup_link.as_deref(),
        ),
        Some(_) => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "Hub \"{}\" unlocked by an officer: capture, sealing and sync resume.",
                state.name
            );
            let _ = out.flush();
        }
    }

    let fingerprint = &protocol::sha256_hex(
        format!(
            "{}{}",
            state.keys.device.public().to_hex(),
            state.keys.age_recipient
        )
        .as_bytes(),
    )[..16];
    let _mdns = discovery::start(
        cfg.mdns,
        &discovery::Advert {
            name: &state.name,
            host_label: &label,
            port: addr.port(),
            device_id: state.keys.device_id.as_str(),
            mode: &state.mode.to_string(),
            key_fingerprint: fingerprint,
        },
    );
    tracing::info!(%addr, ?https_addr, mode = %state.mode, "hub listening");
    if let Some(tx) = ready.take() {
        let _ = tx.send(Ready {
            addr,
            urls,
            https_addr,
            https_urls,
            ca_fingerprint: join_info.ca.as_ref().map(|c| c.fingerprint.clone()),
            setup_link,
        });
    }
    // systemd (the kit's Type=notify unit): ready now (a locked start said so already), watchdog pings
    // while the database answers.
    if early.is_none() {
        crate::shared::service::ready();
    }
    if let Some(every) = crate::shared::service::watchdog_interval() {
        tokio::spawn(crate::shared::service::watchdog(
            state.db.clone(),
            every,
            cancel.clone(),
        ));
    }
    tokio::spawn({
        let cancel = cancel.clone();
        async move {
            cancel.cancelled().await;
            crate::shared::service::stopping();
        }
    });
    // Deleted personal data leaves the disk: the WAL is checkpointed and truncated soon after.
    tokio::spawn(crate::shared::store::scrubber(
        state.db.clone(),
        crate::shared::store::SCRUB_DELAY,
        cancel.clone(),
    ));
    if state.mode == HubMode::Field {
        tokio::spawn(crate::field::retention::background(
            state.clone(),
            cancel.clone(),
        ));
        // The USB receipt printer, looked for every two seconds (plugged in during a session).
        if let Some(p) = state
            .parts
            .get::<std::sync::Arc<crate::field::thermal::device::Printer>>()
        {
            tokio::spawn(crate::field::thermal::device::watch(
                p.clone(),
                cancel.clone(),
            ));
        }
        // Background sync with the office; stops when `cancel` fires.
        tokio::spawn(crate::field::uploader::background(
            state.clone(),
            cancel.clone(),
        ));
    }
    let ca_fingerprint = join_info
        .ca
        .as_ref()
        .map(|c| auth::channel::CaFingerprint(c.fingerprint.as_str().into()));
    let mut app = make_app(state).layer(axum::Extension(join_info));
    if let Some(fp) = ca_fingerprint {
        app = app.layer(axum::Extension(fp));
    }
    let app = match cfg.captive_portal() {
        Some(portal) => {
            tracing::info!(portal = %portal.page(), "captive portal on");
            crate::field::captive::layer(
                app,
                Arc::new(crate::field::captive::Captive::new(portal, &host)),
            )
        }
        None => app,
    };
    if let Some(early) = early {
        // The listeners run already: the full app takes over from the locked router.
        early.switch.set(app);
        let _ = early.swapped.send(true);
        for t in early.tasks {
            let _ = t.await;
        }
        early.gate.drained().await;
        tracing::info!("hub stopped");
        return Ok(());
    }
    let switch = conn::Switch::new(app);
    // Both listeners share one connection gate: the global cap counts HTTP and HTTPS together (file
    // descriptors are the process's), the per-address cap a client's connections on both.
    let gate = conn::Gate::new(conn::Limits::resolve(&cfg.connections));
    let https = async {
        let (Some(l), Some(m)) = (https_listener, tls_material) else {
            return anyhow::Ok(());
        };
        let acceptor = tls::acceptor(tls::server_config(&m)?);
        let port = l.local_addr().ok().map(|a| a.port());
        conn::run(
            l,
            Some(acceptor),
            port,
            switch.clone(),
            gate.clone(),
            cancel.clone(),
        )
        .await;
        Ok(())
    };
    let http = async {
        let https_port = https_addr.map(|a| a.port());
        let Some(listener) = listener else {
            return anyhow::Ok(());
        };
        conn::run(
            listener,
            None,
            https_port,
            switch.clone(),
            gate.clone(),
            cancel.clone(),
        )
        .await;
        anyhow::Ok(())
    };
    tokio::try_join!(http, https)?;
    // Stopped accepting: let the open connections finish their requests.
    gate.drained().await;
    tracing::info!("hub stopped");
    Ok(())
}

/// Binds the HTTP listener of `cfg`.
async fn bind_http(cfg: &ServeConfig) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is another hub running there?)",
                cfg.listen
            )
        })
}

/// Binds the HTTPS listener of `cfg` (unless HTTPS is off, or its default port is busy) and loads or makes
/// its certificates for `host` and the machine's addresses.
async fn bind_https(
    cfg: &ServeConfig,
    host: &str,
    hub_name: &str,
) -> anyhow::Result<(Option<tokio::net::TcpListener>, Option<tls::TlsMaterial>)> {
    let https_listener = match cfg.https_addr() {
        None => None,
        Some((a, explicit)) => match tokio::net::TcpListener::bind(a).await {
            Ok(l) => Some(l),
            Err(e) if !explicit => {
                tracing::warn!(addr = %a, error = %e, "HTTPS is off: its default port is busy (choose one with --https-listen)");
                None
            }
            Err(e) => {
                return Err(e).with_context(|| format!("cannot listen for HTTPS on {a}"));
            }
        },
    };
    let tls_material = match &https_listener {
        None => None,
        Some(l) => {
            let mut ips = tls::machine_ips();
            ips.push(l.local_addr()?.ip());
            let names = tls::server_names(host, &ips);
            let (data, hub_name) = (cfg.data.clone(), hub_name.to_string());
            Some(
                tokio::task::spawn_blocking(move || tls::load_or_create(&data, &hub_name, &names))
                    .await?
                    .context("cannot prepare the HTTPS certificates")?,
            )
        }
    };
    Ok((https_listener, tls_material))
}

/// A hub that started locked: its listeners serve the locked router until an officer unlocks it.
struct Early {
    addr: SocketAddr,
    https_addr: Option<SocketAddr>,
    tls_material: Option<tls::TlsMaterial>,
    switch: conn::Switch,
    swapped: tokio::sync::watch::Sender<bool>,
    gate: Arc<conn::Gate>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Starts a locked hub (`serve/locked.rs`): binds HTTP and HTTPS, serves the locked router, reports
/// `ready`, and waits until an officer's password unlocks the data (`Some`) or `cancel` fires (`None`).
async fn start_locked(
    cfg: &ServeConfig,
    ready: Option<oneshot::Sender<Ready>>,
    cancel: CancellationToken,
) -> anyhow::Result<Option<Early>> {
    let kr = crate::shared::vault::keyring::load(&cfg.data)?;
    let recoverable = kr.as_ref().is_some_and(|k| k.escrow.is_some());
    let name = kr
        .map(|k| k.hub_name)
        .filter(|n| !n.is_empty())
        .or_else(|| cfg.name.clone())
        .unwrap_or_else(|| "hub".to_string());
    let label = cfg.host_label(&name);
    let host = format!("{label}.local");
    let (https_listener, tls_material) = bind_https(cfg, &host, &name).await?;
    let https_addr = match &https_listener {
        Some(l) => Some(l.local_addr()?),
        None => None,
    };
    let listener = bind_http(cfg).await?;
    let addr = listener.local_addr()?;
    let join_info = Arc::new(JoinInfo {
        host: host.clone(),
        host_advertised: false,
        http: join::Endpoint {
            port: addr.port(),
            ips: join::endpoint_ips(addr.ip()),
        },
        https: https_addr.map(|a| join::Endpoint {
            port: a.port(),
            ips: join::endpoint_ips(a.ip()),
        }),
        wifi: cfg.wifi().map_err(|e| anyhow::anyhow!(e))?,
        ca: tls_material.as_ref().map(|m| m.ca.clone()),
    });
    let (swapped_tx, swapped_rx) = tokio::sync::watch::channel(false);
    let unlocked = Arc::new(tokio::sync::Notify::new());
    let switch = conn::Switch::new(axum::Router::new());
    let state = locked::Locked {
        data: cfg.data.clone(),
        name: name.clone(),
        procedures: crate::shared::state::Catalogue::new(&cfg.time_limits),
        limiter: Arc::new(auth::LoginLimiter::new(std::time::Duration::from_secs(
            cfg.login_lockout_seconds,
        ))),
        unlocked: unlocked.clone(),
        swapped: swapped_rx.clone(),
        switch: switch.clone(),
    };
    let mut app = locked::router(state).layer(axum::Extension(join_info.clone()));
    if let Some(ca) = &join_info.ca {
        app = app.layer(axum::Extension(auth::channel::CaFingerprint(
            ca.fingerprint.as_str().into(),
        )));
    }
    if let Some(portal) = cfg.captive_portal() {
        app = crate::field::captive::layer(
            app,
            Arc::new(crate::field::captive::Captive::new(portal, &host)),
        );
    }
    switch.set(app);
    let gate = conn::Gate::new(conn::Limits::resolve(&cfg.connections));
    let mut tasks = vec![tokio::spawn(conn::run(
        listener,
        None,
        https_addr.map(|a| a.port()),
        switch.clone(),
        gate.clone(),
        cancel.clone(),
    ))];
    if let (Some(l), Some(m)) = (https_listener, &tls_material) {
        let acceptor = tls::acceptor(tls::server_config(m)?);
        tasks.push(tokio::spawn(conn::run(
            l,
            Some(acceptor),
            https_addr.map(|a| a.port()),
            switch.clone(),
            gate.clone(),
            cancel.clone(),
        )));
    }
    let urls = terminal::urls(addr);
    let https_urls: Vec<String> = match &join_info.https {
        Some(ep) => join_info.urls("https", ep, None),
        None => Vec::new(),
    };
    print_locked_banner(&name, &urls, &https_urls, recoverable);
    tracing::warn!(%addr, "hub started LOCKED: its data is encrypted until an officer or admin logs in");
    if let Some(tx) = ready {
        let _ = tx.send(Ready {
            addr,
            urls,
            https_addr,
            https_urls,
            ca_fingerprint: join_info.ca.as_ref().map(|c| c.fingerprint.clone()),
            setup_link: None,
        });
    }
    crate::shared::service::ready();
    if let Some(every) = crate::shared::service::watchdog_interval() {
        tokio::spawn(locked::watchdog(every, swapped_rx));
    }
    tokio::select! {
        _ = unlocked.notified() => {}
        _ = cancel.cancelled() => {
            for t in tasks {
                let _ = t.await;
            }
            gate.drained().await;
            tracing::info!("hub stopped (still locked)");
            return Ok(None);
        }
    }
    Ok(Some(Early {
        addr,
        https_addr,
        tls_material,
        switch,
        swapped: swapped_tx,
        gate,
        tasks,
    }))
}

fn print_locked_banner(name: &str, urls: &[String], https_urls: &[String], recoverable: bool) {
    use std::io::Write;
    let mut out = format!(
        "\nOutreach hub \"{name}\" (field mode) started LOCKED: its data is encrypted at rest.\n\
         An officer or admin logs in to unlock it (over HTTPS, or http://127.0.0.1 on this machine):\n"
    );
    for u in https_urls.iter().chain(urls) {
        out.push_str(&format!("  {u}\n"));
    }
    out.push_str(&terminal::qr(&urls[0]));
    out.push('\n');
    if !recoverable {
        out.push_str(
            "NOTE: no office key or recovery key holds a copy of the data key yet (pair the hub, or run \
             `hub backup recovery-key new`, then log in once): if every officer forgets their password, \
             the data cannot be recovered.\n",
        );
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}

fn print_banner(
    state: &AppState,
    urls: &[String],
    join: &JoinInfo,
    https_urls: &[String],
    setup_link: Option<&str>,
) {
    use std::io::Write;
    let mut out = String::new();
    out.push_str(&format!(
        "\nOutreach hub \"{}\" ({} mode, device {}) is running.\nOpen on a phone or laptop on the same network:\n",
        state.name, state.mode, state.keys.device_id
    ));
    for u in urls {
        out.push_str(&format!("  {u}\n"));
    }
    out.push_str(&terminal::qr(&urls[0]));
    out.push('\n');
    if join.host_advertised {
        out.push_str(&format!("Host name (mDNS): {}\n", join.host));
    }
    if let Some(ca) = &join.ca {
        out.push_str(
            "HTTPS for team phones that installed the hub's certificate (join page, #/join):\n",
        );
        for u in https_urls {
            out.push_str(&format!("  {u}\n"));
        }
        out.push_str(&format!(
            "  certificate authority SHA-256: {}\n",
            ca.fingerprint
        ));
        if let Some(notice) = &ca.notice {
            out.push_str(&format!("  NOTE: {notice}\n"));
        }
    }
    if let Some(link) = setup_link {
        out.push_str(&format!(
            "First-time setup: open this one-time link to create the admin account (valid 24 h; over HTTPS, or\n\
             over http://127.0.0.1 on this machine):\n  {link}\n"
        ));
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}
