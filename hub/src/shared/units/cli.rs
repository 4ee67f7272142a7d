//! `hub units import|list`. Both work while a hub serves the same data directory (WAL, busy timeout); the
//! import replaces the list in one transaction, so the running hub sees the old list or the new one.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::bail;
use clap::Subcommand;

use super::store;
use crate::shared::datadir::DataDir;

/// Exit code of a refused dataset file (the same as a refused batch).
pub const EXIT_REFUSED: i32 = 2;

#[derive(Debug, Subcommand)]
pub enum UnitsCommand {
    /// Replace the list of provinces and communes/wards with a dataset file (all or nothing).
    Import {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
        /// Print the summary as JSON instead of text.
        #[arg(long)]
        json: bool,
        /// The day the list took effect (YYYY-MM-DD): what it retires or renames is kept as valid until
        /// then. Default: the date in the file name, else today.
        #[arg(long, value_parser = parse_day)]
        effective: Option<time::Date>,
        /// A JSON list of provinces with their `Wards`, e.g. units-2026-07-25.json.
        file: PathBuf,
    },
    /// Show the stored list: provinces, one province's units, or a search.
    List {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
        /// A province code (2 digits): list its units.
        #[arg(long)]
        province: Option<String>,
        /// Search communes/wards by name, with or without diacritics (at most 100 results).
        #[arg(long)]
        search: Option<String>,
    },
}

fn parse_day(s: &str) -> Result<time::Date, String> {
    protocol::parse_date(s).ok_or_else(|| format!("{s:?} is not a date YYYY-MM-DD"))
}

pub fn run(command: UnitsCommand) -> anyhow::Result<i32> {
    match command {
        UnitsCommand::Import {
            data,
            json,
            effective,
            file,
        } => {
            let dir = DataDir::open_existing(&data)?;
            let started = Instant::now();
            let result = dir
                .db
                .call_sync(|c| Ok(super::import_file(c, &file, effective)))?;
            let elapsed = started.elapsed();
            match result {
                Ok(summary) => {
                    if json {
                        println!("{}", serde_json::to_string_pretty(&summary)?);
                    } else {
                        print!("{}", summary.to_text());
                        println!("Done in {} ms.", elapsed.as_millis());
                    }
                    Ok(0)
                }
                Err(e) if e.is_refusal() => {
                    eprintln!("error: {e}");
                    Ok(EXIT_REFUSED)
                }
                Err(e) => Err(e.into()),
            }
        }
        UnitsCommand::List {
            data,
            province,
            search,
        } => {
            let dir = DataDir::open_existing(&data)?;
            if let Some(p) = &province {
                if p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    bail!("--province must be a 2-digit province code, e.g. 75");
                }
            }
            let out = dir.db.call_sync(|c| {
                store::ensure_loaded(c)?;
                let mut out = String::new();
                if let Some(d) = store::dataset(c)? {
                    out.push_str(&format!(
                        "Dataset: {} ({}{}), {} provinces, {} units, stored {}{}.\n",
                        d.name,
                        d.source,
                        d.date
                            .as_deref()
                            .map(|x| format!(", {x}"))
                            .unwrap_or_default(),
                        d.provinces,
                        d.units,
                        d.imported_at,
                        d.effective()
                            .map(|x| format!(", in effect from {x}"))
                            .unwrap_or_default()
                    ));
                }
                if let Some(p) = &province {
                    if !store::province_exists(c, p)? {
                        return Ok(Err(format!("no province with code {p}")));
                    }
                }
                match (&province, &search) {
                    (None, None) => {
                        for p in store::provinces(c)? {
                            out.push_str(&format!(
                                "{}  {:<28} {:>4} units\n",
                                p.code, p.full_name, p.units
                            ));
                        }
                    }
                    (p, q) => {
                        let found = match (p, q) {
                            (Some(p), None) => store::units_of(c, p)?,
                            (p, q) => store::search(
                                c,
                                q.as_deref().unwrap_or(""),
                                p.as_deref(),
                                store::MAX_LIMIT,
                            )?,
                        };
                        for u in &found {
                            out.push_str(&format!("{}  {}\n", u.code, u.label));
                        }
                        out.push_str(&format!("{} unit(s).\n", found.len()));
                    }
                }
                Ok(Ok(out))
            })?;
            match out {
                Ok(text) => {
                    print!("{text}");
                    Ok(0)
                }
                Err(msg) => bail!(msg),
            }
        }
    }
}
