//! The `hub` binary. See `cli` for the commands and `serve` for the server.

use clap::Parser;
use tokio_util::sync::CancellationToken;

use hub::cli::{self, Cli, Command};

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HUB_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Cli::parse();
    let code = match args.command {
        Command::Serve(cfg) => run_server(cfg),
        other => match cli::run(other) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                1
            }
        },
    };
    std::process::exit(code);
}

fn run_server(cfg: hub::config::ServeConfig) -> i32 {
    tame_malloc();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return 1;
        }
    };
    rt.block_on(async move {
        let cancel = CancellationToken::new();
        let c2 = cancel.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            c2.cancel();
        });
        match hub::serve::serve(cfg, None, cancel).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("error: {e:#}");
                1
            }
        }
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Glibc's malloc settings for a long-running server, set by re-executing this same process image (same
/// pid, same arguments) with them in the environment, before any thread starts: the safe way to set them
/// without `mallopt`. By default glibc raises its mmap threshold each time a large buffer is freed, so
/// later photo buffers (several MiB each) come from the per-thread arenas and stay there after use; under
/// 50 phones the hub's memory then peaked at 501 MiB (328 MiB with 2 arenas). With a fixed threshold large
/// buffers go back to the system when freed: 77 MiB peak, 36 MiB after (docs/operations.md, "Load and
/// footprint"). An operator's own MALLOC_* or GLIBC_TUNABLES settings are left alone.
fn tame_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        const SET: [(&str, &str); 2] = [
            ("MALLOC_ARENA_MAX", "2"),
            ("MALLOC_MMAP_THRESHOLD_", "131072"),
        ];
        let operator_set = std::env::vars_os().any(|(k, _)| {
            let k = k.to_string_lossy();
            k.starts_with("MALLOC_") || k == "GLIBC_TUNABLES"
        });
        if operator_set {
            return;
        }
        let mut cmd = std::process::Command::new("/proc/self/exe");
        cmd.args(std::env::args_os().skip(1)).envs(SET);
        if let Some(arg0) = std::env::args_os().next() {
            cmd.arg0(arg0);
        }
        // Only returns on failure; the hub then runs with glibc's defaults.
        let e = cmd.exec();
        tracing::warn!(
            "could not re-execute with the malloc settings ({e}); running with glibc's defaults"
        );
    }
}
