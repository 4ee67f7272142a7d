//! `hub printer list|test`: the printers this machine has, and a test page printed on one, from the
//! terminal (before a session, or when setting a kit up; docs/field-guide.md "Receipts on a thermal
//! printer").

use std::path::PathBuf;

use clap::Subcommand;

use super::device::{PrintError, Printer, Setting};
use super::{escpos, page, profiles, test_page};

#[derive(Debug, Subcommand)]
pub enum PrinterCommand {
    /// The USB printers found (/dev/usb/lp*) and the printer profiles.
    List,
    /// Prints the test page (every Vietnamese tone, the minority languages' letters, a ruler across the
    /// paper, a QR) on the printer, or writes its bytes to a file with --out. Exits 1 when it cannot print.
    Test {
        /// The printer: `auto` (the first /dev/usb/lp*) or a device path.
        #[arg(long = "printer", env = "HUB_PRINTER", default_value = "auto", value_parser = Setting::parse)]
        printer: Setting,
        /// The printer profile.
        #[arg(long = "printer-profile", env = "HUB_PRINTER_PROFILE", default_value = profiles::DEFAULT, value_parser = super::profile_id)]
        profile: String,
        /// Write the ESC/POS bytes to this file instead of printing (a name ending in .png: the page as an
        /// image, one pixel a dot).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs a `hub printer` command; the exit code.
pub fn run(command: PrinterCommand) -> anyhow::Result<i32> {
    match command {
        PrinterCommand::List => {
            match super::device::first_lp(std::path::Path::new("/dev/usb")) {
                Some(p) => println!(
                    "USB printer: {} (the one `--printer auto` uses)",
                    p.display()
                ),
                None => {
                    println!("No USB printer found (/dev/usb/lp*): plug it in and switch it on.")
                }
            }
            println!("\nProfiles (--printer-profile):");
            for p in profiles::all() {
                println!(
                    "  {:<22} {} mm, {} dots, QR {}, {}\n  {:<22} {}",
                    p.id,
                    p.paper_mm,
                    p.dots,
                    if p.native_qr {
                        "by the printer"
                    } else {
                        "as raster"
                    },
                    if p.cutter { "cutter" } else { "no cutter" },
                    "",
                    p.models.join("; ")
                );
            }
            Ok(0)
        }
        PrinterCommand::Test {
            printer,
            profile,
            out,
        } => {
            let p = profiles::find(&profile).expect("checked by clap");
            let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
            let pg = page::layout(
                &test_page::blocks(p, host.trim()),
                p.dots as usize,
                p.native_qr,
                p.qr_module,
            )?;
            let bytes = escpos::encode(&pg, p);
            let mm = pg.length_mm(p.feed_lines);
            if let Some(out) = out {
                if out
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("png"))
                {
                    pg.preview().to_image().save(&out)?;
                } else {
                    std::fs::write(&out, &bytes)?;
                }
                println!(
                    "Test page for {} written to {} ({} bytes, {mm:.1} mm of paper).",
                    p.id,
                    out.display(),
                    bytes.len()
                );
                return Ok(0);
            }
            let printer = Printer::new(printer);
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let done = rt.block_on(async {
                let held = printer.hold().await;
                printer.print(&held, bytes.clone(), p.status_query).await
            });
            match done {
                Ok(dev) => {
                    println!(
                        "Test page printed on {} ({}, {} bytes, {mm:.1} mm of paper). Check: the ruler reaches both edges, every accent is sharp, the QR scans as “{}”.",
                        dev.display(),
                        p.id,
                        bytes.len(),
                        test_page::QR_TEXT
                    );
                    Ok(0)
                }
                Err(e) => {
                    eprintln!("Not printed: {e}. {}", advice(&e));
                    Ok(1)
                }
            }
        }
    }
}

fn advice(e: &PrintError) -> &'static str {
    match e {
        PrintError::Off => "Give --printer auto or a device path.",
        PrintError::Absent => "Plug the printer into a USB port, switch it on, wait 3 seconds and try again (`hub printer list` shows what is found).",
        PrintError::NoPaper => "Load a roll, thermal side towards the print head, and close the lid.",
        PrintError::Failed(_) => "Switch the printer off and on; if it says permission denied, the user must be in group lp (deploy/udev).",
    }
}
