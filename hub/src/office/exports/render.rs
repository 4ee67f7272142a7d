//! Writing an export's file: CSV (UTF-8 with a byte-order mark so Excel reads the diacritics, CRLF line
//! ends, RFC 4180 quoting) in chunks, or XLSX (constant-memory worksheet, bold header, column widths, text
//! cells so IDs keep their leading zeros, and a second sheet of notes).
//!
//! Rows are read in chunks from their own connection to the database, so a large export never holds all
//! its rows in memory.

use std::path::Path;

use rusqlite::Connection;
use rust_xlsxwriter::{Format, Workbook};

use super::store::{self, ExportOut};
use super::systems::{RowMaker, System, UnitLabels};
use crate::shared::store::{StoreError, StoreResult};

/// Dossiers read from the store at a time.
pub const CHUNK: i64 = 500;

/// The UTF-8 byte-order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One CSV field, RFC 4180: quoted when it holds a comma, a quote or a line break, quotes doubled. A
/// free-text value that a spreadsheet would run as a formula (starting with `=`, `@`, or `+`/`-` not
/// followed by a digit) gets a leading apostrophe, the usual guard against formula injection.
pub fn csv_field(out: &mut String, v: &str) {
    let risky = match v.as_bytes() {
        [b'=' | b'@' | b'\t' | b'\r', ..] => true,
        [b'+' | b'-', next, ..] => !next.is_ascii_digit(),
        _ => false,
    };
    let v = if risky {
        std::borrow::Cow::Owned(format!("'{v}"))
    } else {
        std::borrow::Cow::Borrowed(v)
    };
    if v.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&v.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(&v);
    }
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

/// Writes the CSV of export `ex` piece by piece to `send` (the BOM and header first, then one piece per
/// chunk of rows). Stops early when `send` returns false (the client went away).
pub fn csv(
    c: &Connection,
    sys: &System,
    ex: &ExportOut,
    mut send: impl FnMut(Vec<u8>) -> bool,
) -> StoreResult<bool> {
    let mut head = String::from("\u{FEFF}");
    csv_record(&mut head, &sys.header());
    if !send(head.into_bytes()) {
        return Ok(false);
    }
    let mut units = UnitLabels::new(c);
    let mut after = String::new();
    loop {
        let recs = store::chunk(c, &ex.id, &after, CHUNK)?;
        let Some(last) = recs.last() else { break };
        after = last.dossier_id.clone();
        let mut piece = String::new();
        for rec in &recs {
            let row = RowMaker::new(rec, &mut units).row(sys)?;
            csv_record(&mut piece, &row);
        }
        if !send(piece.into_bytes()) {
            return Ok(false);
        }
    }
    Ok(true)
}

fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> StoreError {
    StoreError::Io(std::io::Error::other(e.to_string()))
}

/// Builds the XLSX of export `ex` at `path`, its worksheet in constant-memory mode with temporary files in
/// `tmp_dir` (the data directory, not the system's /tmp: the rows are personal data).
pub fn xlsx(
    c: &Connection,
    sys: &System,
    ex: &ExportOut,
    tmp_dir: &Path,
    path: &Path,
) -> StoreResult<()> {
    let mut wb = Workbook::new();
    wb.set_tempdir(tmp_dir).map_err(xlsx_err)?;
    let bold = Format::new().set_bold().set_text_wrap();
    let text = Format::new().set_num_format("@");
    {
        let ws = wb.add_worksheet_with_constant_memory().map_err(xlsx_err)?;
        ws.set_name(sheet_name(&sys.id)).map_err(xlsx_err)?;
        for (col, it) in sys.columns().iter().enumerate() {
            let width = (it.name.vi.chars().count() as f64 * 0.9).clamp(12.0, 40.0);
            ws.set_column_width(col as u16, width).map_err(xlsx_err)?;
        }
        ws.set_freeze_panes(1, 0).map_err(xlsx_err)?;
        for (col, h) in sys.header().iter().enumerate() {
            ws.write_string_with_format(0, col as u16, *h, &bold)
                .map_err(xlsx_err)?;
        }
        let mut units = UnitLabels::new(c);
        let mut after = String::new();
        let mut r: u32 = 1;
        loop {
            let recs = store::chunk(c, &ex.id, &after, CHUNK)?;
            let Some(last) = recs.last() else { break };
            after = last.dossier_id.clone();
            for rec in &recs {
                let row = RowMaker::new(rec, &mut units).row(sys)?;
                for (col, v) in row.iter().enumerate() {
                    if !v.is_empty() {
                        // Every value is text: IDs and phone numbers keep their leading zeros.
                        ws.write_string_with_format(r, col as u16, v, &text)
                            .map_err(xlsx_err)?;
                    }
                }
                r += 1;
            }
        }
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
    wb.save(path).map_err(xlsx_err)?;
    Ok(())
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
    fn csv_quotes_per_rfc_4180_and_guards_formulas() {
        let mut s = String::new();
        csv_record(
            &mut s,
            &[
                "plain",
                "a, b",
                "say \"hi\"",
                "two\nlines",
                "=SUM(A1)",
                "+84912345678",
                "-x",
                "070198001234",
                "",
            ],
        );
        assert_eq!(
            s,
            "plain,\"a, b\",\"say \"\"hi\"\"\",\"two\nlines\",'=SUM(A1),+84912345678,'-x,070198001234,\r\n"
        );
    }
}
