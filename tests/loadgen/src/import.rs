//! `office-load import`: trusts the generated devices' key cards at the office (as `hub trust` does) and
//! imports every batch file through the hub library's own import (`batch::import::import`, the code behind
//! `hub batch import`), timing each file.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use hub::shared::datadir::DataDir;
use hub::shared::store::write_tx;
use protocol::HubMode;

pub struct Options {
    pub office_data: PathBuf,
    pub batches: PathBuf,
    /// Key cards of the field devices; default `<batches>/../cards`.
    pub cards: Option<PathBuf>,
}

fn sorted_files(dir: &std::path::Path, ext: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    Ok(v)
}

pub fn run(o: Options) -> anyhow::Result<()> {
    let dir = DataDir::open_existing(&o.office_data)?;
    if dir.mode != HubMode::Office {
        bail!("{} is not an office hub", o.office_data.display());
    }
    let cards = o
        .cards
        .clone()
        .unwrap_or_else(|| o.batches.join("..").join("cards"));
    let mut trusted = 0;
    for card_path in sorted_files(&cards, "pub")? {
        let text = std::fs::read_to_string(&card_path)?;
        let card = protocol::KeyCard::parse(&text)
            .with_context(|| format!("{} is not a key card", card_path.display()))?;
        let me = dir.keys.device_id.clone();
        dir.db.call_sync(|c| {
            let tx = write_tx(c)?;
            let r = hub::shared::trust::trust_card(&tx, dir.mode, &me, &card, &text);
            tx.commit()?;
            Ok(r)
        })??;
        trusted += 1;
    }
    println!(
        "trusted {trusted} field device card(s) from {}",
        cards.display()
    );
    let identity = dir.keys.age_identity().to_string();
    let office = &dir.keys.device;
    let files = sorted_files(&o.batches, "batch")?;
    let start = Instant::now();
    let (mut stored, mut quarantined, mut refused) = (0usize, 0usize, 0usize);
    for f in &files {
        let t = Instant::now();
        let report = dir
            .db
            .call_sync(|c| hub::office::intake::batch_import::import(c, &identity, office, f))?;
        let secs = t.elapsed().as_secs_f64();
        stored += report.stored;
        quarantined += report.quarantined.len();
        if !report.accepted {
            refused += 1;
        }
        println!(
            "{}: {} envelopes, {} stored, {} quarantined, gaps {:?} — {:.2} s ({:.0} envelopes/s)",
            f.file_name().unwrap_or_default().to_string_lossy(),
            report.envelopes_in_file,
            report.stored,
            report.quarantined.len(),
            report
                .gaps
                .iter()
                .map(|g| (g.from, g.to))
                .collect::<Vec<_>>(),
            secs,
            report.envelopes_in_file as f64 / secs.max(1e-6)
        );
        if !report.accepted {
            println!("  REFUSED: {:?}", report.problems);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let db = o.office_data.join("hub.sqlite");
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(o.office_data.join("hub.sqlite-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    println!(
        "imported {} files: {stored} envelopes stored, {quarantined} quarantined, {refused} files refused, in {secs:.1} s ({:.0} envelopes/s); office database {}",
        files.len(),
        stored as f64 / secs.max(1e-6),
        crate::generate::human(size)
    );
    if refused > 0 || quarantined > 0 {
        bail!("{refused} file(s) refused and {quarantined} envelope(s) quarantined: the generated data should all verify");
    }
    Ok(())
}
