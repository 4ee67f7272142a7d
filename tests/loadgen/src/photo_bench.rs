//! `photo-bench`: the CPU the hub spends on one uploaded photo (`hub::shared::media::process_photo`, the work of
//! `POST /api/v1/drafts/{id}/attachments`), on the sample photos of ../shared/data/photos, both as the web
//! app sends them (client-web `shrink()`, see `photos.rs`), as it sent them before it aimed at the byte
//! budget (upright, 1600 px, quality 85: `q85`), and as the camera wrote them (a phone whose browser
//! cannot shrink). Prints for each the median thread CPU time and wall time over `--runs` runs, and
//! what is stored (size, quality, bytes). `--out DIR` also writes the stored copies (for the OCR check of
//! ../shared/tools/ocr_accuracy.py). Run the release build: `cargo run --release -p loadgen --bin
//! photo-bench`.

#[allow(dead_code)]
mod photos;

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;

#[derive(Parser)]
#[command(name = "photo-bench", about = "CPU per uploaded photo in the hub")]
struct Cli {
    /// The sample document photos (giay-chung-sinh.jpg, to-khai-xac-nhan-hon-nhan.jpg).
    #[arg(long, default_value = "../shared/data/photos")]
    photos: PathBuf,
    /// Runs per photo (the median is printed).
    #[arg(long, default_value_t = 7)]
    runs: usize,
    /// Write the stored copies here (`<name>.<as-sent|q85|camera>.jpg`).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// CPU time of the calling thread, in milliseconds (the scheduler's nanosecond count, first field of
/// /proc/thread-self/schedstat).
fn thread_cpu_ms() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .expect("/proc/thread-self/schedstat (Linux with schedstats)") as f64
        / 1e6
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runs = cli.runs.max(1);
    if let Some(dir) = &cli.out {
        std::fs::create_dir_all(dir)?;
    }
    println!(
        "{:<34} {:>9} {:>8} {:>8} {:>11} {:>8} {:>9}",
        "photo", "sent KB", "cpu ms", "wall ms", "stored", "quality", "stored KB"
    );
    let mut all_cpu = Vec::new();
    for file in ["giay-chung-sinh.jpg", "to-khai-xac-nhan-hon-nhan.jpg"] {
        let path = cli.photos.join(file);
        let camera = std::fs::read(&path)?;
        let sent = photos::prepare_photo(&path)?.bytes;
        let q85 = photos::upright_1600_q85(&path)?;
        for (kind, bytes) in [("as-sent", sent), ("q85", q85), ("camera", camera)] {
            let (mut cpu, mut wall, mut last) = (Vec::new(), Vec::new(), None);
            for _ in 0..runs {
                let (c0, w0) = (thread_cpu_ms(), Instant::now());
                let p = hub::shared::media::process_photo(&bytes)?;
                cpu.push(thread_cpu_ms() - c0);
                wall.push(w0.elapsed().as_secs_f64() * 1e3);
                last = Some(p);
            }
            let p = last.expect("at least one run");
            let cpu = median(cpu);
            if kind == "as-sent" {
                all_cpu.push(cpu);
            }
            println!(
                "{:<34} {:>9.0} {:>8.1} {:>8.1} {:>11} {:>8} {:>9.1}",
                format!("{file} ({kind})"),
                bytes.len() as f64 / 1024.0,
                cpu,
                median(wall),
                format!("{}×{}", p.width, p.height),
                p.quality.map_or("kept".to_owned(), |q| q.to_string()),
                p.bytes.len() as f64 / 1024.0
            );
            if let Some(dir) = &cli.out {
                let stem = file.trim_end_matches(".jpg");
                std::fs::write(dir.join(format!("{stem}.{kind}.jpg")), &p.bytes)?;
            }
        }
    }
    println!(
        "median CPU per photo as the web app sends it: {:.1} ms",
        median(all_cpu)
    );
    Ok(())
}
