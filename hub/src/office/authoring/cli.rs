//! `hub procedure check|build|sheets`: the commands on package sources (docs/procedures.md, docs/cli.md).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use protocol::package::ProcedurePackage;

use super::{load, package_json, write_sheets, SourceError};

#[derive(Debug, Subcommand)]
pub enum ProcedureCommand {
    /// Check a package source (a folder of CSV sheets, or an .xlsx/.ods workbook): every error, with its
    /// sheet, row and column. Exits 1 when there is any, 2 when the source cannot be read.
    Check {
        /// The folder of CSV sheets, or the workbook.
        source: PathBuf,
    },
    /// Check a package source and, when it has no error, write the canonical package (pretty JSON).
    Build {
        /// The folder of CSV sheets, or the workbook.
        source: PathBuf,
        /// Where to write the package (`-` or nothing: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Write the sheets of a package (a package JSON, or a signed package as published) as CSV files in a
    /// folder, or as one workbook when DIR ends in .xlsx: the way to start the next version from the last.
    Sheets {
        /// The package JSON (e.g. protocol/packages/marital-status-certificate.v2.json).
        package: PathBuf,
        /// The folder to write the CSV files into (created if needed), or an .xlsx file.
        dir: PathBuf,
    },
}

/// Runs a `hub procedure` command; the exit code.
pub fn run(command: ProcedureCommand) -> anyhow::Result<i32> {
    match command {
        ProcedureCommand::Check { source } => Ok(match checked(&source) {
            Ok(p) => {
                let d = &p.procedure;
                println!(
                    "{}: no errors. {} v{} (in force from {}): {} groups, {} fields, {} documents, {} checks, {} results, {} exports, {} layouts.",
                    source.display(),
                    d.id,
                    d.version,
                    d.effective_from,
                    d.groups.len(),
                    d.fields().count(),
                    d.documents.len(),
                    d.checks.len(),
                    p.results.len(),
                    p.exports.len(),
                    p.layouts.len()
                );
                0
            }
            Err(code) => code,
        }),
        ProcedureCommand::Build { source, output } => {
            let p = match checked(&source) {
                Ok(p) => p,
                Err(code) => return Ok(code),
            };
            let json = package_json(&p)?;
            match output.as_deref() {
                None => print!("{json}"),
                Some(o) if o == Path::new("-") => print!("{json}"),
                Some(o) => {
                    std::fs::write(o, json).with_context(|| format!("writing {}", o.display()))?;
                    eprintln!(
                        "Wrote {} ({} v{}, hash {}).",
                        o.display(),
                        p.procedure.id,
                        p.procedure.version,
                        p.hash()?
                    );
                }
            }
            Ok(0)
        }
        ProcedureCommand::Sheets { package, dir } => {
            let text = std::fs::read_to_string(&package)
                .with_context(|| format!("reading {}", package.display()))?;
            let p = parse_package(&text).with_context(|| {
                format!("{} is not a valid procedure package", package.display())
            })?;
            let xlsx = dir
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
            let files = if xlsx {
                super::write_workbook(&p, &dir)?
            } else {
                write_sheets(&p, &dir)?
            };
            println!(
                "Wrote {} v{} to {}: {}.",
                p.procedure.id,
                p.procedure.version,
                dir.display(),
                files.join(", ")
            );
            Ok(0)
        }
    }
}

/// A package JSON, or the package inside a signed package (`{"package": …, "signature": …}`).
fn parse_package(text: &str) -> anyhow::Result<ProcedurePackage> {
    let v: serde_json::Value = serde_json::from_str(text)?;
    let inner = match v.get("package") {
        Some(p) if v.get("signature").is_some() => p.to_string(),
        _ => text.to_string(),
    };
    Ok(ProcedurePackage::parse(&inner)?)
}

/// Loads a source, printing every error; the exit code when there is any.
fn checked(source: &Path) -> Result<ProcedurePackage, i32> {
    match load(source) {
        Ok(p) => Ok(p),
        Err(SourceError::Unreadable(p)) => {
            eprintln!("{p}");
            Err(2)
        }
        Err(SourceError::Invalid(list)) => {
            for p in &list {
                println!("{p}");
            }
            println!(
                "{}: {} error{}.",
                source.display(),
                list.len(),
                if list.len() == 1 { "" } else { "s" }
            );
            Err(1)
        }
    }
}
