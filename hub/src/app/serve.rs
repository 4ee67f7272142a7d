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
    // under a serving hub.
    let (_data_lock, dir) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let lock = crate::shared::backup::lock::DirLock::acquire(&c2.data)?;
        Ok((
            lock,
            DataDir::open_or_create(&c2.data, c2.mode, c2.name.as_deref())?,
        ))
    })
    .await??;
    let wifi = cfg.wifi().map_err(|e| anyhow::anyhow!(e))?;
    let deadline_rules = cfg.deadline_rules().map_err(|e| anyhow::anyhow!(e))?;
    let label = cfg.host_label(&dir.name);
    let host = format!("{label}.local");
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
            let names = tls::server_names(&host, &ips);
            let (data, hub_name) = (cfg.data.clone(), dir.name.clone());
            Some(
                tokio::task::spawn_blocking(move || tls::load_or_create(&data, &hub_name, &names))
                    .await?
                    .context("cannot prepare the HTTPS certificates")?,
            )
        }
    };
    let https_addr = match &https_listener {
        Some(l) => Some(l.local_addr()?),
        None => None,
    };
    let state = AppState(Arc::new(Shared {
        db: dir.db.clone(),
        keys: dir.keys,
        mode: dir.mode,
        name: dir.name.clone(),
        procedures: crate::shared::procedures::with_limits(&cfg.time_limits),
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
            .with(cfg.retention.drafts())
            .with(crate::shared::procedures::HubContext {
                commune: cfg.commune.clone(),
            })
            .with(crate::office::intake::session::SyncSessions::default())
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
            .call(move |c| seal::engine::protect_pending(c, &st.keys.device))
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
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is another hub running there?)",
                cfg.listen
            )
        })?;
    let addr = listener.local_addr()?;
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
    print_banner(
        &state,
        &urls,
        &join_info,
        &https_urls,
        setup_link.as_deref(),
    );

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
    if let Some(tx) = ready {
        let _ = tx.send(Ready {
            addr,
            urls,
            https_addr,
            https_urls,
            ca_fingerprint: join_info.ca.as_ref().map(|c| c.fingerprint.clone()),
            setup_link,
        });
    }
    // systemd (the kit's Type=notify unit): ready now, watchdog pings while the database answers.
    crate::shared::service::ready();
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
            app.clone(),
            gate.clone(),
            cancel.clone(),
        )
        .await;
        Ok(())
    };
    let http = async {
        let https_port = https_addr.map(|a| a.port());
        conn::run(
            listener,
            None,
            https_port,
            app.clone(),
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
