//! QR codes as PNG images (the receipt slip's signed QR; the join page's codes later), drawn with `qrcode`
//! and encoded with `image`. Medium error correction, a 4-module quiet zone, at least 8 pixels a module so
//! a cheap phone camera reads it from paper printed at 58 mm.

use std::io::Cursor;

use image::{ImageFormat, Luma};
use qrcode::{EcLevel, QrCode};

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

/// A PNG of a QR code of `text`.
pub fn png(text: &str) -> Result<Vec<u8>, QrError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| QrError::TooLong(e.to_string()))?;
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
    }
}
