//! QR codes as PNG images (the receipt's signed QR, the slip's tracking QR, the join page's codes, the
//! pairing code), drawn with `qrcode` and encoded with `image`. Medium error correction, a 4-module quiet
//! zone, at least 8 pixels a module so a cheap phone camera reads it from paper printed at 58 mm.
//!
//! Every QR the hub draws is made by [`code`]: a text that is not ASCII (a Wi-Fi name such as
//! "Trạm Phước Minh") is written as UTF-8 bytes after an ECI 26 designator ("the bytes are UTF-8"), so a
//! scanner that would otherwise take byte-mode data as ISO-8859-1 or Shift JIS (zbar does) reads the
//! letters right; an ASCII text carries no designator (every scanner reads it alike).

use std::io::Cursor;

use image::{ImageFormat, Luma};
use qrcode::bits::Bits;
use qrcode::types::QrError as CodeError;
use qrcode::{EcLevel, QrCode, Version};

/// The ECI designator of UTF-8.
pub const ECI_UTF8: u32 = 26;

/// Why a QR could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum QrError {
    /// The text does not fit a QR code.
    #[error("the text does not fit a QR code: {0}")]
    TooLong(String),
    /// PNG encoding failed.
    #[error("cannot encode the QR as PNG: {0}")]
    Png(String),
}

/// The QR code of `text` at error correction `ec`, the smallest version that holds it: ASCII as the
/// `qrcode` crate segments it, any other text as one byte segment of its UTF-8 after an ECI 26
/// designator.
pub fn code(text: &str, ec: EcLevel) -> Result<QrCode, QrError> {
    if text.is_ascii() {
        return QrCode::with_error_correction_level(text.as_bytes(), ec)
            .map_err(|e| QrError::TooLong(e.to_string()));
    }
    for v in 1..=40 {
        let mut bits = Bits::new(Version::Normal(v));
        let fits = bits
            .push_eci_designator(ECI_UTF8)
            .and_then(|()| bits.push_byte_data(text.as_bytes()))
            .and_then(|()| bits.push_terminator(ec));
        match fits {
            Ok(()) => {
                return QrCode::with_bits(bits, ec).map_err(|e| QrError::TooLong(e.to_string()))
            }
            Err(CodeError::DataTooLong) => continue,
            Err(e) => return Err(QrError::TooLong(e.to_string())),
        }
    }
    Err(QrError::TooLong(CodeError::DataTooLong.to_string()))
}

/// A PNG of a QR code of `text`.
pub fn png(text: &str) -> Result<Vec<u8>, QrError> {
    let code = code(text, EcLevel::M)?;
    let image = code
        .render::<Luma<u8>>()
        .quiet_zone(true)
        .module_dimensions(8, 8)
        .build();
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, ImageFormat::Png)
        .map_err(|e| QrError::Png(e.to_string()))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_sized_text_becomes_a_square_png_with_a_quiet_zone() {
        let text = format!("OKR1:{}", "x".repeat(300));
        let bytes = png(&text).unwrap();
        let img = image::load_from_memory_with_format(&bytes, ImageFormat::Png)
            .unwrap()
            .to_luma8();
        assert_eq!(img.width(), img.height());
        // 8 px modules, 4-module white border: the corners are white, the finder pattern black.
        assert_eq!(img.get_pixel(0, 0).0[0], 255);
        assert_eq!(img.get_pixel(32, 32).0[0], 0);
        assert!(img.width() >= 400, "{} px", img.width());
    }

    #[test]
    fn too_long_a_text_is_a_clear_error() {
        assert!(matches!(png(&"x".repeat(5000)), Err(QrError::TooLong(_))));
        assert!(matches!(png(&"ạ".repeat(1000)), Err(QrError::TooLong(_))));
    }

    /// The text of the single QR code in a PNG, with the raw bytes of its data segments.
    fn decode(png: &[u8]) -> (String, Vec<u8>) {
        let img = image::load_from_memory(png).unwrap().to_luma8();
        let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
            img.width() as usize,
            img.height() as usize,
            |x, y| img.get_pixel(x as u32, y as u32).0[0],
        );
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let mut raw = Vec::new();
        grids[0].decode_to(&mut raw).unwrap();
        (grids[0].decode().unwrap().1, raw)
    }

    #[test]
    fn non_ascii_text_is_marked_utf8_and_ascii_is_not() {
        let wifi = r#"WIFI:T:WPA;S:Trạm \"Phước\"\; Minh;P:mật-khẩu;;"#;
        let (text, raw) = decode(&png(wifi).unwrap());
        assert_eq!(text, wifi);
        assert_eq!(raw, wifi.as_bytes());
        // The symbol is the ECI 26 designator then the UTF-8 bytes (what zbar needs; rqrr skips it).
        let c = code(wifi, EcLevel::M).unwrap();
        let mut bits = Bits::new(c.version());
        bits.push_eci_designator(ECI_UTF8).unwrap();
        bits.push_byte_data(wifi.as_bytes()).unwrap();
        bits.push_terminator(EcLevel::M).unwrap();
        assert_eq!(
            c.to_colors(),
            QrCode::with_bits(bits, EcLevel::M).unwrap().to_colors()
        );
        let plain = QrCode::with_error_correction_level(wifi.as_bytes(), EcLevel::M).unwrap();
        assert_ne!(c.to_colors(), plain.to_colors());
        // ASCII: the crate's own segmentation, no designator.
        let url = "http://192.168.4.1:8080/#/r/05764731397880?k=ABCDEFGHJK";
        assert_eq!(decode(&png(url).unwrap()).0, url);
        assert_eq!(
            code(url, EcLevel::M).unwrap().to_colors(),
            QrCode::with_error_correction_level(url, EcLevel::M)
                .unwrap()
                .to_colors()
        );
    }
}
