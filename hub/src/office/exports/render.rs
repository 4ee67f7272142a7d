//! Writing an export's file, once, when the export is made (the bytes are then kept; see `store::save`):
//!
//! - CSV, for machines: UTF-8 with a byte-order mark, CRLF line ends, **every field quoted** (RFC 4180), so
//!   a comma, semicolon, tab or line break inside a value never splits a column in any importer (LibreOffice
//!   splits on comma, semicolon and tab by default); dates in ISO 8601 (`YYYY-MM-DD`), the one form no
//!   locale reads the other way round; a value starting with `=`, `+`, `-`, `@`, a tab or a carriage return
//!   gets a leading apostrophe (the OWASP guard against formula injection). CSV cannot tell a spreadsheet
//!   that `001195001234` is text: opened by double-click, Excel and LibreOffice drop the leading zeros;
//!   the card and docs/office-guide.md send people to XLSX.
//! - XLSX, for people: every value a text cell (IDs keep their zeros, formula text stays inert, no
//!   apostrophe needed), dates as the forms print them (`dd/mm/yyyy`, text), bold header, column widths
//!   from the content (capped), a second sheet of notes, and a fixed document time (the export's time) so
//!   the same export always gives the same bytes.
//!
//! Rows are read in chunks, so a large export never holds all its dossiers' records in memory at once.

use rusqlite::Connection;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};

use super::store::{self, ExportOut};
use super::systems::{RowMaker, System, UnitLabels};
use crate::shared::store::{StoreError, StoreResult};

/// Dossiers read from the store at a time.
pub const CHUNK: i64 = 500;

/// The UTF-8 byte-order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Whether a spreadsheet could run `v` as a formula (OWASP: a leading `=`, `+`, `-`, `@`, tab or carriage
/// return; `+1+1` and `-1+cmd|…` are formulas to Excel too).
pub fn formula_like(v: &str) -> bool {
    matches!(
        v.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

/// One CSV field: always quoted, quotes doubled, a formula-like value guarded by a leading apostrophe.
pub fn csv_field(out: &mut String, v: &str) {
    out.push('"');
    if formula_like(v) {
        out.push('\'');
    }
    out.push_str(&v.replace('"', "\"\""));
    out.push('"');
}

/// One CSV record with its CRLF.
pub fn csv_record<S: AsRef<str>>(out: &mut String, cells: &[S]) {
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(out, c.as_ref());
    }
    out.push_str("\r\n");
}

/// Calls `each` with every row of export `ex`, in dossier order, chunk by chunk.
fn rows(
    c: &Connection,
    sys: &System,
    ex: &ExportOut,
    iso_dates: bool,
    mut each: impl FnMut(Vec<String>) -> StoreResult<()>,
) -> StoreResult<()> {
    let mut units = UnitLabels::new(c);
    let mut after = String::new();
    loop {
        let recs = store::chunk(c, &ex.id, &after, CHUNK)?;
        let Some(last) = recs.last() else { break };
        after = last.dossier_id.clone();
        for rec in &recs {
            each(
                RowMaker::new(rec, &mut units)
                    .iso_dates(iso_dates)
                    .row(sys)?,
            )?;
        }
    }
    Ok(())
}

/// The CSV of export `ex`: the BOM, the header, one record per dossier.
pub fn csv(c: &Connection, sys: &System, ex: &ExportOut) -> StoreResult<Vec<u8>> {
    let mut out = String::from("\u{FEFF}");
    csv_record(&mut out, &sys.header());
    rows(c, sys, ex, true, |row| {
        csv_record(&mut out, &row);
        Ok(())
    })?;
    Ok(out.into_bytes())
}

/// Widest column, in characters.
pub const MAX_WIDTH: usize = 50;

/// A column's width in characters from its header and values: the longest value (a header wraps, so it
/// counts for half its length), at least 10, at most [`MAX_WIDTH`].
fn width(header: &str, longest_value: usize) -> f64 {
    let head = header.chars().count().div_ceil(2);
    (head.max(longest_value) + 2).clamp(10, MAX_WIDTH) as f64
}

fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> StoreError {
    StoreError::Io(std::io::Error::other(e.to_string()))
}

/// The XLSX of export `ex`, its worksheet in constant-memory mode (temporary files in `tmp_dir`, the data
/// directory: the rows are personal data), its document time the export's.
pub fn xlsx(
    c: &Connection,
    sys: &System,
    ex: &ExportOut,
    tmp_dir: &std::path::Path,
) -> StoreResult<Vec<u8>> {
    // First pass: the column widths from the content (constant-memory rows cannot be revisited).
    let header = sys.header();
    let mut longest = vec![0usize; header.len()];
    rows(c, sys, ex, false, |row| {
        for (l, v) in longest.iter_mut().zip(&row) {
            *l = (*l).max(v.chars().count());
        }
        Ok(())
    })?;
    let mut wb = Workbook::new();
    wb.set_tempdir(tmp_dir).map_err(xlsx_err)?;
    wb.set_properties(&DocProperties::new().set_creation_datetime(&created(ex)?));
    let bold = Format::new().set_bold().set_text_wrap();
    let text = Format::new().set_num_format("@");
    {
        let ws = wb.add_worksheet_with_constant_memory().map_err(xlsx_err)?;
        ws.set_name(sheet_name(&sys.id)).map_err(xlsx_err)?;
        for (col, (h, l)) in header.iter().zip(&longest).enumerate() {
            ws.set_column_width(col as u16, width(h, *l))
                .map_err(xlsx_err)?;
        }
        ws.set_freeze_panes(1, 0).map_err(xlsx_err)?;
        for (col, h) in header.iter().enumerate() {
            ws.write_string_with_format(0, col as u16, *h, &bold)
                .map_err(xlsx_err)?;
        }
        let mut r: u32 = 1;
        rows(c, sys, ex, false, |row| {
            for (col, v) in row.iter().enumerate() {
                if !v.is_empty() {
                    // Every value is a text cell: IDs and phone numbers keep their leading zeros and
                    // `+`, and text starting with `=` is never a formula (no apostrophe needed).
                    ws.write_string_with_format(r, col as u16, v, &text)
                        .map_err(xlsx_err)?;
                }
            }
            r += 1;
            Ok(())
        })?;
    }
    let notes = wb.add_worksheet();
    notes.set_name(NOTES_SHEET).map_err(xlsx_err)?;
    notes.set_column_width(0, 34).map_err(xlsx_err)?;
    notes.set_column_width(1, 60).map_err(xlsx_err)?;
    let when = store::local_time(&ex.created_at)
        .map(|t| {
            format!(
                "{:02}/{:02}/{:04} {:02}:{:02} (UTC+7)",
                t.day(),
                t.month() as u8,
                t.year(),
                t.hour(),
                t.minute()
            )
        })
        .unwrap_or_else(|| ex.created_at.clone());
    let lines = [
        (
            "Hệ thống / System",
            format!("{} — {}", sys.newest.target.vi, sys.newest.target.en),
        ),
        (
            "Biểu mẫu / Form",
            format!("{} — {}", sys.newest.form.vi, sys.newest.form.en),
        ),
        ("Thời điểm xuất / Exported at", when),
        (
            "Người xuất / Exported by",
            ex.created_by_name
                .clone()
                .unwrap_or_else(|| ex.created_by.clone()),
        ),
        ("Số hồ sơ / Dossiers", ex.rows.to_string()),
        ("Mã lần xuất / Export id", ex.id.clone()),
    ];
    for (i, (k, v)) in lines.iter().enumerate() {
        notes
            .write_string_with_format(i as u32, 0, *k, &bold)
            .map_err(xlsx_err)?;
        notes.write_string(i as u32, 1, v).map_err(xlsx_err)?;
    }
    wb.save_to_buffer().map_err(xlsx_err)
}

/// The export's time as the workbook's document time (UTC).
fn created(ex: &ExportOut) -> StoreResult<ExcelDateTime> {
    let t = time::OffsetDateTime::parse(
        &ex.created_at,
        &time::format_description::well_known::Rfc3339,
    )
    .map_err(|e| StoreError::Corrupt(format!("export time: {e}")))?
    .to_offset(time::UtcOffset::UTC);
    ExcelDateTime::from_ymd(t.year() as u16, t.month() as u8, t.day())
        .and_then(|d| d.and_hms(u16::from(t.hour()), t.minute(), t.second()))
        .map_err(xlsx_err)
}

/// The notes sheet's name (a sheet name cannot hold "/").
pub const NOTES_SHEET: &str = "Ghi chú - Notes";

/// The data sheet's name: the system id (sheet names are at most 31 characters).
fn sheet_name(system: &str) -> &str {
    system
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_every_field_and_guards_every_formula_start() {
        let mut s = String::new();
        csv_record(
            &mut s,
            &[
                "plain",
                "a, b",
                "Thôn 3; ấp Bù Khơn",
                "a\tb",
                "say \"hi\"",
                "two\nlines",
                "=SUM(A1)",
                "+84912345678",
                "-1+1",
                "+1+cmd|' /C calc'!A0",
                "@SUM(1+1)",
                "\tx",
                "\rx",
                "070198001234",
                "",
            ],
        );
        assert_eq!(
            s,
            "\"plain\",\"a, b\",\"Thôn 3; ấp Bù Khơn\",\"a\tb\",\"say \"\"hi\"\"\",\"two\nlines\",\
             \"'=SUM(A1)\",\"'+84912345678\",\"'-1+1\",\"'+1+cmd|' /C calc'!A0\",\"'@SUM(1+1)\",\
             \"'\tx\",\"'\rx\",\"070198001234\",\"\"\r\n"
        );
    }

    #[test]
    fn widths_follow_the_content_within_bounds() {
        assert_eq!(width("Mã hồ sơ", 36), 38.0);
        assert_eq!(width("Mã", 0), 10.0);
        assert_eq!(width("Nơi cư trú", 400), MAX_WIDTH as f64);
        assert_eq!(width(&"x".repeat(60), 4), 32.0);
    }
}
