//! Authoring procedure packages (issue 20): the sheets a provincial IT officer edits in LibreOffice or
//! Excel and reviews in git — a folder of CSV files or one .xlsx/.ods workbook, in the spirit of ODK's
//! XLSForm — and the three commands on them: `hub procedure check` (every error, with sheet, row and
//! column), `build` (the canonical package JSON) and `sheets` (a package back to CSV sheets, to start the
//! next version from the last one). The format is specified in docs/procedures.md.
//!
//! | module | concern |
//! |---|---|
//! | `cli` | the `hub procedure` subcommand |
//! | `sheet` | sheets as tables of text: CSV and workbooks in, CSV out; spreadsheet row numbers |
//! | `expr` | the cell expressions: conditions (`x = a`, `x is empty`, `x in (a, b)`), derivation sources and export values |
//! | `read` | sheets → package, remembering the sheet/row/column of every part |
//! | `lint` | what can be found wrong, each at its place; then the package's own check as a last net |
//! | `write` | package → sheets |

pub mod cli;
mod expr;
mod lint;
mod read;
mod sheet;
mod write;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::Path;

use protocol::package::ProcedurePackage;

/// One error in a package source, at its sheet, row and column when it has one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// The sheet as the author sees it: `fields.csv` (CSV folder) or `fields` (workbook).
    pub sheet: String,
    /// The spreadsheet row (the header is row 1).
    pub row: Option<u32>,
    /// The column's name.
    pub column: Option<String>,
    /// What is wrong, in plain words.
    pub message: String,
}

impl Problem {
    /// A problem about a whole sheet.
    pub fn sheet(sheet: &str, message: impl Into<String>) -> Problem {
        Problem {
            sheet: sheet.to_string(),
            row: None,
            column: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.sheet)?;
        match (self.row, &self.column) {
            (Some(r), Some(c)) => write!(f, " row {r}, column {c}")?,
            (Some(r), None) => write!(f, " row {r}")?,
            (None, Some(c)) => write!(f, ", column {c}")?,
            (None, None) => {}
        }
        write!(f, ": {}", self.message)
    }
}

/// Why a source gave no package.
#[derive(Debug)]
pub enum SourceError {
    /// The source could not be opened at all (not a folder or workbook, unreadable).
    Unreadable(Problem),
    /// The source was read, and these are every error found in it (at least one).
    Invalid(Vec<Problem>),
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceError::Unreadable(p) => write!(f, "{p}"),
            SourceError::Invalid(list) => {
                for p in list {
                    writeln!(f, "{p}")?;
                }
                write!(f, "{} error(s)", list.len())
            }
        }
    }
}

/// Reads and checks a package source (a folder of CSV sheets or an .xlsx/.ods workbook): the package when
/// nothing is wrong, else every problem found, in sheet order, then row order.
pub fn load(path: &Path) -> Result<ProcedurePackage, SourceError> {
    let (book, mut problems) = sheet::read_source(path).map_err(SourceError::Unreadable)?;
    if !problems.is_empty() {
        // A sheet that cannot be read at all (not UTF-8, a quote never closed): checking the rest
        // without it would only report its absence in many ways.
        sort(&mut problems);
        return Err(SourceError::Invalid(problems));
    }
    let (package, read) = read::read(&book);
    problems.extend(read.problems);
    problems.extend(lint::lint(&book, &package, &read.sites, &problems));
    if problems.is_empty() {
        Ok(package)
    } else {
        sort(&mut problems);
        problems.dedup();
        Err(SourceError::Invalid(problems))
    }
}

/// Sheet order (as `sheet::SHEETS`), then row, then column.
fn sort(problems: &mut [Problem]) {
    let rank = |s: &str| {
        let base = s.trim_end_matches(".csv");
        sheet::SHEETS
            .iter()
            .position(|x| *x == base)
            .unwrap_or(sheet::SHEETS.len())
    };
    problems.sort_by(|a, b| {
        (rank(&a.sheet), &a.sheet, a.row, &a.column, &a.message).cmp(&(
            rank(&b.sheet),
            &b.sheet,
            b.row,
            &b.column,
            &b.message,
        ))
    });
}

/// The canonical package as the repository keeps it: pretty-printed JSON with a final line end, members
/// in the order of the types (so the same package always gives the same bytes).
pub fn package_json(p: &ProcedurePackage) -> anyhow::Result<String> {
    let mut s = serde_json::to_string_pretty(p)?;
    s.push('\n');
    Ok(s)
}

/// Writes the sheets of `p` as CSV files into `dir` (created if needed); returns the files written.
/// Sheets `p` has nothing for are not written.
pub fn write_sheets(p: &ProcedurePackage, dir: &Path) -> anyhow::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (name, records) in write::sheets(p)? {
        let file = format!("{name}.csv");
        std::fs::write(dir.join(&file), sheet::write_csv(&records))?;
        written.push(file);
    }
    Ok(written)
}

/// Writes the sheets of `p` as one .xlsx workbook (one worksheet per sheet, every cell as text, the header
/// row bold and frozen); returns the sheet names. LibreOffice opens it as well as Excel.
pub fn write_workbook(p: &ProcedurePackage, path: &Path) -> anyhow::Result<Vec<String>> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let mut written = Vec::new();
    for (name, records) in write::sheets(p)? {
        let ws = wb.add_worksheet();
        ws.set_name(name)?;
        for (r, rec) in records.iter().enumerate() {
            for (c, v) in rec.iter().enumerate() {
                let (r, c) = (u32::try_from(r)?, u16::try_from(c)?);
                if r == 0 {
                    ws.write_string_with_format(r, c, v, &bold)?;
                } else if !v.is_empty() {
                    ws.write_string(r, c, v)?;
                }
            }
        }
        ws.set_freeze_panes(1, 0)?;
        written.push(name.to_string());
    }
    wb.save(path)?;
    Ok(written)
}
