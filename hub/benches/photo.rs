//! Photo processing time per sample phone photo (`../shared/data/photos/*.jpg`, 12 MP, EXIF Orientation 6):
//! decode, downsize, turn upright and fit the JPEG budget, as the hub does on upload. A plain timing loop,
//! no harness: `cargo bench -p hub --bench photo` (release profile) or, for the debug build the tests
//! use, `cargo bench -p hub --bench photo --profile dev`. Optional argument: rounds per photo (default 5).

use std::time::Instant;

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/photos");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jpg"))
        .collect();
    names.sort();
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    for path in names {
        let bytes = std::fs::read(&path).unwrap();
        let mut totals = Vec::with_capacity(rounds);
        let mut last = None;
        for _ in 0..rounds {
            let started = Instant::now();
            let p = hub::shared::media::process_photo(&bytes).expect("sample photo processes");
            totals.push(started.elapsed().as_secs_f64() * 1000.0);
            last = Some(p);
        }
        let p = last.expect("at least one round");
        totals.sort_by(f64::total_cmp);
        println!(
            "{profile} {}: {} B {}x{} -> {} B {}x{} {}; decode {} ms; total median {:.0} ms (min {:.0}, max {:.0}, {} rounds)",
            path.file_name().unwrap().to_string_lossy(),
            bytes.len(),
            p.original.width,
            p.original.height,
            p.bytes.len(),
            p.width,
            p.height,
            p.quality.map_or("kept as sent".to_owned(), |q| format!("q{q}")),
            p.decode_ms,
            totals[totals.len() / 2],
            totals[0],
            totals[totals.len() - 1],
            rounds
        );
    }
}
