//! `hub serve`: opens the data directory, binds, prints how to reach the hub, advertises it, and serves
//! until cancelled. Tests boot this same function: it reports the bound address through `ready` and stops
//! gracefully when `cancel` fires.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use protocol::HubMode;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::app::{make_app, AppState, Shared};
use crate::config::ServeConfig;
use crate::datadir::DataDir;
use crate::{auth, discovery, seal, terminal};

/// What a started hub reports once it accepts connections.
#[derive(Debug, Clone)]
pub struct Ready {
    pub addr: SocketAddr,
    pub urls: Vec<String>,
    /// The one-time link to create the first admin, while no admin exists.
    pub setup_link: Option<String>,
}

pub async fn serve(
    cfg: ServeConfig,
    ready: Option<oneshot::Sender<Ready>>,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let c2 = cfg.clone();
    let dir = tokio::task::spawn_blocking(move || {
        DataDir::open_or_create(&c2.data, c2.mode, c2.name.as_deref())
    })
    .await??;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is another hub running there?)",
                cfg.listen
            )
        })?;
    let addr = listener.local_addr()?;
    let state = AppState(Arc::new(Shared {
        db: dir.db.clone(),
        keys: dir.keys,
        mode: dir.mode,
        name: dir.name.clone(),
        login_limiter: auth::LoginLimiter::default(),
        procedures: crate::app::procedures_with_limits(&cfg.time_limits),
        outreach: crate::outreach::Live::with_shutdown(cancel.clone()),
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
    let needs_setup = !state.db.call(|c| auth::store::admin_exists(c)).await?;
    let urls = terminal::urls(addr);
    let setup_link = if needs_setup {
        let token = state.db.call(|c| auth::store::new_setup_token(c)).await?;
        Some(format!("{}#/setup?token={token}", urls[0]))
    } else {
        None
    };
    print_banner(&state, &urls, setup_link.as_deref());

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
            port: addr.port(),
            device_id: state.keys.device_id.as_str(),
            mode: &state.mode.to_string(),
            key_fingerprint: fingerprint,
        },
    );
    tracing::info!(%addr, mode = %state.mode, "hub listening");
    if let Some(tx) = ready {
        let _ = tx.send(Ready {
            addr,
            urls,
            setup_link,
        });
    }
    let app = make_app(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(cancel.cancelled_owned())
    .await
    .context("server error")?;
    tracing::info!("hub stopped");
    Ok(())
}

fn print_banner(state: &AppState, urls: &[String], setup_link: Option<&str>) {
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
    if let Some(link) = setup_link {
        out.push_str(&format!(
            "First-time setup: open this one-time link to create the admin account (valid 24 h):\n  {link}\n"
        ));
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}
