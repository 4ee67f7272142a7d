//! `hub sync`: one sync run in this process, with an indicatif progress bar (dossiers, bytes, rate, time
//! left) on a terminal, or plain progress lines otherwise, then a plain summary. Exit code 1 on failure,
//! with the reason.

use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::engine::Engine;
use super::progress::{Phase, Progress};
use crate::field::uploader::settings::SyncSettings;
use crate::shared::datadir::DataDir;
use crate::shared::discovery::MdnsMode;

fn human_bytes(n: u64) -> String {
    indicatif::HumanBytes(n).to_string()
}

/// Runs `hub sync`; returns the exit code.
pub fn sync(data: &Path, mdns: MdnsMode, settings: SyncSettings) -> anyhow::Result<i32> {
    let dir = DataDir::open_existing(data)?;
    if dir.mode != protocol::HubMode::Field {
        bail!(
            "only a field hub syncs with an office; {} is an office hub",
            data.display()
        );
    }
    if let Some(q) = settings.quiet_hours {
        if q.contains_unix(crate::shared::clock::now_unix()) {
            eprintln!("Warning: these are quiet hours ({q}, Vietnam time); the commune link is often congested.");
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let (tx, rx) = watch::channel(Progress::default());
        let cancel = CancellationToken::new();
        let c2 = cancel.clone();
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            c2.cancel();
        });
        let printer = tokio::spawn(show_progress(rx));
        let engine = Engine {
            db: &dir.db,
            keys: &dir.keys,
            device_name: &dir.name,
            settings: &settings,
            mdns,
            cancel,
            progress: &tx,
        };
        let r = engine.run().await;
        drop(tx);
        let _ = printer.await;
        match r {
            Ok(rep) => {
                println!(
                    "Synced with the office at {} (found by {}): {} dossier(s) newly acknowledged, {} sent, {} news item(s).",
                    rep.office_url,
                    rep.found_by,
                    rep.newly_acked,
                    human_bytes(rep.bytes_sent),
                    rep.news_new
                );
                // Alarms standing after this run (new or earlier, not resolved by an officer): envelopes
                // the office set aside are not acknowledged, whatever else the run did.
                let standing = dir.db.call(|c| super::store::standing_alarms(c)).await.unwrap_or(0);
                println!(
                    "bytes_sent={} acked={} offered={} alarms_standing={standing}",
                    rep.bytes_sent, rep.newly_acked, rep.offered
                );
                if rep.rechained > 0 {
                    println!(
                        "rechained={}: the office holds other envelopes at this hub's seqs (a card restored from an older backup, or a copy of the card); {} dossier(s) were numbered again after the office's chain and sent. Tell the commune office.",
                        rep.rechained, rep.rechained
                    );
                    println!(
                        "Văn phòng xã giữ hồ sơ khác ở cùng số thứ tự của trạm (thẻ nhớ khôi phục từ bản cũ, hoặc bị sao chép): {} hồ sơ đã được đánh số lại sau chuỗi của văn phòng và gửi đi. Hãy báo văn phòng xã.",
                        rep.rechained
                    );
                }
                if rep.placed > 0 {
                    println!(
                        "placed={}: dossier(s) sealed while this hub's chain was unsure joined the chain and were sent.",
                        rep.placed
                    );
                }
                if rep.offered == 0 && standing == 0 {
                    println!("Nothing to send: the office already acknowledged every dossier.");
                }
                if !rep.packages_new.is_empty() {
                    println!("New procedure package(s) installed: {}.", rep.packages_new.join(", "));
                }
                for why in &rep.packages_refused {
                    println!("Procedure package refused: {why}");
                }
                if let Some(e) = &rep.packages_error {
                    println!("Procedure packages could not be pulled: {e}");
                }
                if !rep.still_missing.is_empty() {
                    println!(
                        "The office still lacks {} envelope(s); run `hub sync` again.",
                        rep.still_missing.len()
                    );
                }
                if standing > 0 {
                    println!(
                        "{standing} alarm(s) stand ({} new): the office set envelope(s) of this hub aside and has not acknowledged them; see the sync page and call the commune office.",
                        rep.alarms
                    );
                    println!(
                        "Có {standing} cảnh báo chưa xử lý ({} mới): văn phòng đã để riêng hồ sơ của trạm này và chưa xác nhận; xem trang Đồng bộ và gọi văn phòng xã.",
                        rep.alarms
                    );
                }
                if let Some(e) = rep.news_error {
                    println!("News could not be pulled: {e}");
                }
                if rep.pruned > 0 {
                    println!("Retention: deleted the sealed data of {} acknowledged dossier(s).", rep.pruned);
                }
                // The chain guard (shared::chain_guard): a divergence found now or before stops sealing.
                let diverged = match crate::shared::chain_guard::standing(&dir.path) {
                    crate::shared::chain_guard::Standing::Diverged(d) => {
                        println!("This hub's chain is not settled: {}. Dossiers sealed now wait for the next sync; run `hub sync` again and tell the commune office.", d.detail);
                        println!(
                            "Chuỗi hồ sơ của trạm chưa khớp với văn phòng xã: hồ sơ niêm phong bây giờ chờ lần đồng bộ tới. Hãy đồng bộ lại và báo văn phòng xã."
                        );
                        true
                    }
                    _ => false,
                };
                let paused = match crate::shared::chain_guard::paused(&dir.path) {
                    Some(p) => {
                        println!("The office paused this hub since {}: {}. It seals no more until the office approves it again; keep one machine with this card.", p.since, p.reason);
                        println!("Văn phòng xã đã tạm dừng trạm này: hai máy dùng cùng một thẻ nhớ. Trạm không niêm phong cho đến khi văn phòng cho phép lại; chỉ giữ một máy.");
                        true
                    }
                    None => false,
                };
                // 0: the office holds every dossier; 1: some still missing (run again); 2: alarms stand, the
                // chain is not settled or the office paused this hub (an officer must look).
                Ok(if standing > 0 || diverged || paused {
                    2
                } else if rep.still_missing.is_empty() {
                    0
                } else {
                    1
                })
            }
            Err(e) => {
                let p = e.plain();
                eprintln!("Sync failed ({}): {}", p.code, p.message_en);
                eprintln!("Đồng bộ không thành công: {}", p.message_vi);
                Ok(1)
            }
        }
    })
}

/// Draws the progress until the sender is dropped.
async fn show_progress(mut rx: watch::Receiver<Progress>) {
    let tty = std::io::stderr().is_terminal();
    let bar = if tty {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b.enable_steady_tick(Duration::from_millis(200));
        Some(b)
    } else {
        None
    };
    let mut last_line = Instant::now() - Duration::from_secs(10);
    let mut last_phase = None;
    loop {
        let p = rx.borrow_and_update().clone();
        let msg = format!(
            "{:?} {}/{} dossiers",
            p.phase, p.dossiers_done, p.dossiers_total
        );
        match &bar {
            Some(b) => {
                b.set_length(p.bytes_total);
                b.set_position(p.bytes_done);
                b.set_message(msg);
            }
            None => {
                if last_phase != Some(p.phase) || last_line.elapsed() >= Duration::from_secs(2) {
                    if p.phase != Phase::Idle {
                        eprintln!(
                            "progress: {}; {} of {}; {}/s; {}",
                            msg,
                            human_bytes(p.bytes_done),
                            human_bytes(p.bytes_total),
                            human_bytes(p.rate_bps as u64),
                            p.eta_secs
                                .map(|s| format!("{s} s left"))
                                .unwrap_or_else(|| "time left unknown".into())
                        );
                    }
                    last_line = Instant::now();
                    last_phase = Some(p.phase);
                }
            }
        }
        if rx.changed().await.is_err() {
            break;
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
}
