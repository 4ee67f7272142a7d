//! ESC/POS encoding of a laid-out receipt (docs/protocol.md §14): initialise, raster bands (`GS v 0`),
//! the QR as the printer's own command (`GS ( k`) where the profile says so, feed, and cut where there is
//! a cutter. No character is sent in text mode: most cheap printers have no Vietnamese code page.

use super::page::{Page, Segment};
use super::profiles::Profile;

const ESC: u8 = 0x1B;
const GS: u8 = 0x1D;

/// The real-time paper sensor status request (`DLE EOT 4`); the answer's bits 5 and 6 (0x60) mean paper
/// end, bits 2 and 3 (0x0C) paper near end.
pub const PAPER_STATUS_REQUEST: [u8; 3] = [0x10, 0x04, 0x04];
/// Paper end in the answer to [`PAPER_STATUS_REQUEST`].
pub const PAPER_END: u8 = 0x60;

/// The bytes that print `page` on a printer of `profile`.
pub fn encode(page: &Page, profile: &Profile) -> Vec<u8> {
    let mut out = vec![ESC, b'@', ESC, b'a', 0];
    for s in &page.segments {
        match s {
            Segment::Raster(b) => {
                let bytes_per_row = b.width.div_ceil(8);
                let band = profile.band_rows.max(1) as usize;
                let mut y = 0;
                while y < b.height {
                    let rows = band.min(b.height - y);
                    out.extend_from_slice(&[GS, b'v', b'0', 0]);
                    out.extend_from_slice(&(bytes_per_row as u16).to_le_bytes());
                    out.extend_from_slice(&(rows as u16).to_le_bytes());
                    for r in y..y + rows {
                        out.extend(b.packed_row(r));
                    }
                    y += rows;
                }
            }
            Segment::NativeQr { data, module, .. } => {
                out.extend_from_slice(&[ESC, b'a', 1]);
                // Model 2; module size; error correction M.
                out.extend_from_slice(&[GS, b'(', b'k', 4, 0, 0x31, 0x41, 0x32, 0x00]);
                out.extend_from_slice(&[GS, b'(', b'k', 3, 0, 0x31, 0x43, *module as u8]);
                out.extend_from_slice(&[GS, b'(', b'k', 3, 0, 0x31, 0x45, 0x31]);
                // Store the data, then print it.
                let len = (data.len() + 3) as u16;
                out.extend_from_slice(&[GS, b'(', b'k']);
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(&[0x31, 0x50, 0x30]);
                out.extend_from_slice(data.as_bytes());
                out.extend_from_slice(&[GS, b'(', b'k', 3, 0, 0x31, 0x51, 0x30]);
                out.extend_from_slice(&[ESC, b'a', 0]);
            }
        }
    }
    out.extend_from_slice(&[ESC, b'd', profile.feed_lines]);
    if profile.cutter {
        out.extend_from_slice(&[GS, b'V', 66, 0]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::font::Weight;
    use super::super::page::{layout, Block};
    use super::super::profiles::find;
    use super::super::raster::{Align, Style};
    use super::*;

    fn blocks() -> Vec<Block> {
        vec![
            Block::Text {
                text: "Mã biên nhận".into(),
                style: Style {
                    px: 24.0,
                    weight: Weight::Bold,
                },
                align: Align::Centre,
                indent: 0.0,
            },
            Block::Qr("http://10.42.0.1/#/r/05764731397880?k=12345678901234".into()),
            Block::Gap(10),
        ]
    }

    #[test]
    fn native_qr_profiles_send_the_qr_command_and_raster_ones_do_not() {
        let p = find("generic-58").unwrap();
        let page = layout(&blocks(), p.dots as usize, true, p.qr_module).unwrap();
        let b = encode(&page, p);
        assert_eq!(&b[..2], &[ESC, b'@']);
        let w = b.windows(3).position(|w| w == [0x31, 0x50, 0x30]).unwrap();
        assert!(b[w + 3..].starts_with(b"http://10.42.0.1/#/r/"));
        assert!(b.ends_with(&[ESC, b'd', p.feed_lines]));

        let r = find("generic-58-raster-qr").unwrap();
        let page = layout(&blocks(), r.dots as usize, false, r.qr_module).unwrap();
        let b = encode(&page, r);
        assert!(!b.windows(3).any(|w| w == [GS, b'(', b'k']));
        // Bands no taller than the profile allows, each 48 bytes wide.
        let mut i = 5;
        let mut rows = 0;
        while b[i] == GS && b[i + 1] == b'v' {
            assert_eq!(u16::from_le_bytes([b[i + 4], b[i + 5]]), 48);
            let y = u16::from_le_bytes([b[i + 6], b[i + 7]]) as usize;
            assert!(y <= r.band_rows as usize);
            rows += y;
            i += 8 + 48 * y;
        }
        assert_eq!(rows as u32, page.rows());
    }

    #[test]
    fn a_cutter_profile_ends_with_the_cut() {
        let p = find("generic-80").unwrap();
        let page = layout(&blocks(), p.dots as usize, true, p.qr_module).unwrap();
        assert!(encode(&page, p).ends_with(&[GS, b'V', 66, 0]));
    }
}
