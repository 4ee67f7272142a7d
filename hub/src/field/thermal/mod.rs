//! Receipts on 58/80 mm ESC/POS thermal printers (issue 21): the slip laid out as a 1-bit raster with
//! the bundled fonts (most cheap printers have no Vietnamese code page), the QR as the printer's own
//! command where it has one, printed on the hub's USB printer or sent as bytes to a team phone that
//! prints over Web Bluetooth. One renderer for both: the phone sends the bytes the hub would write.
//!
//! | module | job |
//! |---|---|
//! | `font` | the bundled DejaVu Sans subset: glyphs, advances, coverage of a text |
//! | `raster` | the 1-bit canvas, line wrapping and drawing, the QR as dots |
//! | `page` | blocks laid out down the paper, native QR or raster, paper length |
//! | `slip_doc` | what the slip says, in the villager's language then Vietnamese |
//! | `escpos` | the ESC/POS byte stream of a page for a printer profile |
//! | `profiles` | printer profiles (`profiles.json`): dots, QR, cutter, band height |
//! | `device` | the USB printer: found, watched, written to, paper status |
//! | `store` | the record of prints and idempotent replays |
//! | `test_page` | the printer test page |
//! | `routes` | the HTTP routes |
//! | `cli` | `hub printer list`, `hub printer test` |

pub mod cli;
pub mod device;
pub mod escpos;
pub mod font;
pub mod page;
pub mod profiles;
pub mod raster;
pub mod routes;
pub mod slip_doc;
pub mod store;
pub mod test_page;

/// The hub's receipt printer. Flattened into `hub serve` (field hub).
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// The USB receipt printer: `auto` (the first /dev/usb/lp*, looked for every 2 seconds), `off`, or
    /// a device path such as /dev/usb/lp0.
    #[arg(long = "printer", env = "HUB_PRINTER", default_value = "auto", value_parser = device::Setting::parse)]
    pub printer: device::Setting,
    /// The printer profile (paper width, QR, cutter): generic-58, generic-58-raster-qr or generic-80.
    #[arg(long = "printer-profile", env = "HUB_PRINTER_PROFILE", default_value = profiles::DEFAULT, value_parser = profile_id)]
    pub printer_profile: String,
}

fn profile_id(s: &str) -> Result<String, String> {
    profiles::find(s).map(|p| p.id.clone()).ok_or_else(|| {
        let ids: Vec<&str> = profiles::all().iter().map(|p| p.id.as_str()).collect();
        format!("no printer profile `{s}`; profiles: {}", ids.join(", "))
    })
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            printer: device::Setting::Auto,
            printer_profile: profiles::DEFAULT.into(),
        }
    }
}
