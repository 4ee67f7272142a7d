//! Sheets as tables of text: read from a folder of CSV files or from one .xlsx/.ods workbook (calamine),
//! written back as CSV. Row numbers are the spreadsheet's: the header is row 1.

use std::collections::BTreeMap;
use std::path::Path;

use calamine::{Data, Reader};

use super::Problem;

/// The sheets a package source may have, in the order they are written and read.
pub const SHEETS: &[&str] = &[
    "settings",
    "groups",
    "fields",
    "choices",
    "derivations",
    "checks",
    "documents",
    "results",
    "exports",
    "export_items",
    "layouts",
    "layout_lines",
    "guide",
];

/// One data row: its spreadsheet row number and its cells by column index.
#[derive(Debug, Clone)]
pub struct Row {
    /// Row number as the spreadsheet shows it (header = 1).
    pub n: u32,
    cells: Vec<String>,
}

/// One sheet: its name as shown in messages (`fields.csv`, or `fields` in a workbook), header and rows.
#[derive(Debug, Clone)]
pub struct Table {
    /// `fields.csv` for a CSV folder, `fields` for a workbook sheet.
    pub shown: String,
    /// Column names (trimmed), by index.
    pub header: Vec<String>,
    /// The non-empty data rows.
    pub rows: Vec<Row>,
}

impl Table {
    /// The index of column `name`, if the sheet has it.
    pub fn col(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// The cell of `row` in column `name`, exactly as written ("" when absent).
    pub fn raw<'a>(&self, row: &'a Row, name: &str) -> &'a str {
        self.col(name)
            .and_then(|i| row.cells.get(i))
            .map(String::as_str)
            .unwrap_or("")
    }

    /// The cell of `row` at column index `i` ("" when absent).
    pub fn cell<'a>(&self, row: &'a Row, i: usize) -> &'a str {
        row.cells.get(i).map(String::as_str).unwrap_or("")
    }

    /// A sheet with no header and no rows (a sheet the source does not have).
    pub fn empty() -> Table {
        Table {
            shown: String::new(),
            header: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// The cell of `row` in column `name`, trimmed.
    pub fn get<'a>(&self, row: &'a Row, name: &str) -> &'a str {
        self.raw(row, name).trim()
    }

    /// A problem at `row`, column `col`.
    pub fn at(&self, row: &Row, col: &str, message: impl Into<String>) -> Problem {
        Problem {
            sheet: self.shown.clone(),
            row: Some(row.n),
            column: Some(col.to_string()),
            message: message.into(),
        }
    }

    /// A problem about the whole sheet.
    pub fn whole(&self, message: impl Into<String>) -> Problem {
        Problem {
            sheet: self.shown.clone(),
            row: None,
            column: None,
            message: message.into(),
        }
    }

    /// Every cell with its row and column name (for checks over all text, e.g. NFC).
    pub fn cells(&self) -> impl Iterator<Item = (&Row, &str, &str)> {
        self.rows.iter().flat_map(move |r| {
            r.cells
                .iter()
                .enumerate()
                .filter_map(move |(i, c)| Some((r, self.header.get(i)?.as_str(), c.as_str())))
        })
    }

    fn new(shown: String, mut records: Records) -> Table {
        if records.is_empty() {
            return Table {
                shown,
                header: Vec::new(),
                rows: Vec::new(),
            };
        }
        let (_, header) = records.remove(0);
        let header = header.iter().map(|h| h.trim().to_string()).collect();
        let rows = records
            .into_iter()
            .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()))
            .map(|(n, cells)| Row { n, cells })
            .collect();
        Table {
            shown,
            header,
            rows,
        }
    }
}

/// A whole package source: its sheets by name (`fields`, …).
pub type Book = BTreeMap<String, Table>;

/// Reads a package source: a folder of CSV files or one .xlsx/.ods workbook. Unreadable files and
/// malformed CSV are problems; a folder or workbook that cannot be opened at all is an `Err` of one.
pub fn read_source(path: &Path) -> Result<(Book, Vec<Problem>), Problem> {
    let whole = |m: String| Problem {
        sheet: path.display().to_string(),
        row: None,
        column: None,
        message: m,
    };
    if path.is_dir() {
        let mut book = Book::new();
        let mut problems = Vec::new();
        let entries = std::fs::read_dir(path).map_err(|e| whole(format!("cannot read: {e}")))?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.to_ascii_lowercase().ends_with(".csv"))
            .collect();
        names.sort();
        for name in names {
            let sheet = name[..name.len() - 4].to_lowercase();
            let shown = name.clone();
            match std::fs::read(path.join(&name)) {
                Err(e) => problems.push(Problem::sheet(&shown, format!("cannot read: {e}"))),
                Ok(bytes) => match String::from_utf8(bytes) {
                    Err(_) => problems.push(Problem::sheet(
                        &shown,
                        "is not UTF-8 text: save it as \"Text CSV\" with the character set UTF-8",
                    )),
                    Ok(text) => match parse_csv(text.strip_prefix('\u{feff}').unwrap_or(&text)) {
                        Ok(records) => {
                            book.insert(sheet, Table::new(shown, records));
                        }
                        Err((n, m)) => problems.push(Problem {
                            sheet: shown,
                            row: Some(n),
                            column: None,
                            message: m,
                        }),
                    },
                },
            }
        }
        Ok((book, problems))
    } else {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if !matches!(ext.as_str(), "xlsx" | "xlsm" | "ods") {
            return Err(whole(
                "is neither a folder of CSV sheets nor an .xlsx or .ods workbook".into(),
            ));
        }
        let mut wb = calamine::open_workbook_auto(path)
            .map_err(|e| whole(format!("cannot open the workbook: {e}")))?;
        let mut book = Book::new();
        let mut problems = Vec::new();
        for name in wb.sheet_names() {
            let sheet = name.trim().trim_end_matches(".csv").to_lowercase();
            match wb.worksheet_range(&name) {
                Err(e) => problems.push(Problem::sheet(&name, format!("cannot read: {e}"))),
                Ok(range) => {
                    let (r0, c0) = range.start().unwrap_or((0, 0));
                    let records = range
                        .rows()
                        .enumerate()
                        .map(|(i, cells)| {
                            let mut v: Vec<String> = vec![String::new(); c0 as usize];
                            v.extend(cells.iter().map(cell_text));
                            (r0 + i as u32 + 1, v)
                        })
                        .collect::<Vec<_>>();
                    // The header is the first row of the sheet, even when it starts lower down.
                    book.insert(sheet, Table::new(name.clone(), records));
                }
            }
        }
        Ok((book, problems))
    }
}

/// A workbook cell as the text it stands for.
fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
        Data::DateTime(dt) => {
            let (y, m, d, h, mi, s, ms) = dt.to_ymd_hms_milli();
            if (h, mi, s, ms) == (0, 0, 0, 0) {
                format!("{y:04}-{m:02}-{d:02}")
            } else {
                format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
            }
        }
        Data::DateTimeIso(s) => s.strip_suffix("T00:00:00").unwrap_or(s).to_string(),
        Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#ERROR {e}"),
    }
}

/// Numbered records: (spreadsheet row, cells).
pub type Records = Vec<(u32, Vec<String>)>;

/// Parses RFC 4180 CSV (quoted fields with `""`, CRLF or LF line ends) into records numbered from 1.
/// A quote left open is an error at the record where it opened.
pub fn parse_csv(text: &str) -> Result<Records, (u32, String)> {
    let mut records = Vec::new();
    let mut record: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut n = 1u32;
    let mut quoted = false;
    // Whether the current record has any content (a final line without a line end still counts).
    let mut started = false;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => {
                quoted = true;
                started = true;
            }
            ',' => {
                record.push(std::mem::take(&mut field));
                started = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                record.push(std::mem::take(&mut field));
                records.push((n, std::mem::take(&mut record)));
                n += 1;
                started = false;
            }
            _ => {
                field.push(c);
                started = true;
            }
        }
    }
    if quoted {
        return Err((n, "a quoted cell is never closed (a \" is missing)".into()));
    }
    if started {
        record.push(field);
        records.push((n, record));
    }
    Ok(records)
}

/// Writes records as CSV: a cell is quoted when it holds a comma, a quote, a line break or leading or
/// trailing spaces; lines end with LF.
pub fn write_csv(records: &[Vec<String>]) -> String {
    let mut out = String::new();
    for r in records {
        for (i, c) in r.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let quote = c.contains([',', '"', '\n', '\r']) || c.trim() != c;
            if quote {
                out.push('"');
                out.push_str(&c.replace('"', "\"\""));
                out.push('"');
            } else {
                out.push_str(c);
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trips_quotes_commas_and_line_breaks() {
        let records = vec![
            vec!["a".to_string(), "b, c".into(), "say \"hi\"".into()],
            vec!["line\nbreak".into(), " padded ".into(), String::new()],
        ];
        let text = write_csv(&records);
        let back = parse_csv(&text).unwrap();
        assert_eq!(
            back.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
            records
        );
        // Row numbers are records, not lines: the quoted line break does not count.
        assert_eq!(back[1].0, 2);
        assert_eq!(parse_csv("x,y\r\n1,2").unwrap()[1].1, ["1", "2"]);
        assert_eq!(parse_csv("x\n\"open\n").unwrap_err().0, 2);
    }
}
