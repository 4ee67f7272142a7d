//! Photo intake: only JPEG, PNG or WebP, at most [`MAX_PHOTO_BYTES`], at most [`MAX_PIXELS`] (checked from
//! the header before any pixel is decoded, so a decompression bomb is refused cheaply), and the whole image
//! must decode under an allocation limit. The bytes are kept exactly as sent.

use std::io::Cursor;

use image::{ImageFormat, ImageReader};

/// Largest photo accepted, in bytes.
pub const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;
/// Largest photo accepted, in pixels (a 48-megapixel phone camera is refused; 12 MP passes).
pub const MAX_PIXELS: u64 = 40_000_000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MediaError {
    #[error("the photo is larger than {MAX_PHOTO_BYTES} bytes")]
    TooLarge,
    #[error("the file is not a JPEG, PNG or WebP photo")]
    UnsupportedFormat,
    #[error("the photo has {0} pixels, more than {MAX_PIXELS}")]
    TooManyPixels(u64),
    #[error("the photo cannot be read: {0}")]
    Undecodable(String),
}

/// What the check learned about a photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedPhoto {
    pub media_type: &'static str,
    pub width: u32,
    pub height: u32,
}

/// An HTTP answer carrying a stored photo (`None`: 404). Photos are personal data: never cached.
pub fn photo_response(
    found: Option<(String, Vec<u8>)>,
) -> Result<axum::response::Response, crate::error::ApiError> {
    use axum::http::header;
    use axum::response::IntoResponse;
    let (mt, bytes) = found.ok_or_else(|| crate::error::ApiError::not_found("ảnh", "Photo"))?;
    Ok((
        [
            (header::CONTENT_TYPE, mt),
            (header::CACHE_CONTROL, "private, no-store".into()),
        ],
        bytes,
    )
        .into_response())
}

/// Checks a photo's bytes; see the module doc.
pub fn check_photo(bytes: &[u8]) -> Result<CheckedPhoto, MediaError> {
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(MediaError::TooLarge);
    }
    let format = image::guess_format(bytes).map_err(|_| MediaError::UnsupportedFormat)?;
    let media_type = match format {
        ImageFormat::Jpeg => "image/jpeg",
        ImageFormat::Png => "image/png",
        ImageFormat::WebP => "image/webp",
        _ => return Err(MediaError::UnsupportedFormat),
    };
    let reader = ImageReader::with_format(Cursor::new(bytes), format);
    let (width, height) = reader
        .into_dimensions()
        .map_err(|e| MediaError::Undecodable(e.to_string()))?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_PIXELS || pixels == 0 {
        return Err(MediaError::TooManyPixels(pixels));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(MAX_PIXELS * 4 + 16 * 1024 * 1024);
    reader.limits(limits);
    reader
        .decode()
        .map_err(|e| MediaError::Undecodable(e.to_string()))?;
    Ok(CheckedPhoto {
        media_type,
        width,
        height,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([200, 10, 10]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn accepts_a_small_png() {
        let p = check_photo(&png(20, 10)).unwrap();
        assert_eq!(
            p,
            CheckedPhoto {
                media_type: "image/png",
                width: 20,
                height: 10
            }
        );
    }

    #[test]
    fn accepts_the_sample_document_photo() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/photos/to-khai-xac-nhan-hon-nhan.jpg"
        );
        if let Ok(bytes) = std::fs::read(path) {
            let p = check_photo(&bytes).unwrap();
            assert_eq!(p.media_type, "image/jpeg");
        }
    }

    #[test]
    fn refuses_non_images_and_truncated_images() {
        assert_eq!(
            check_photo(b"%PDF-1.4 hello"),
            Err(MediaError::UnsupportedFormat)
        );
        let mut p = png(64, 64);
        p.truncate(p.len() / 2);
        assert!(matches!(check_photo(&p), Err(MediaError::Undecodable(_))));
    }

    #[test]
    fn refuses_a_decompression_bomb_from_its_header() {
        // A valid PNG header claiming 100000 x 100000 pixels, with almost no data behind it.
        let mut p = png(1, 1);
        // IHDR width/height live at bytes 16..24; patch them and fix the CRC.
        p[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        p[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let crc = crc32(&p[12..29]);
        p[29..33].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(
            check_photo(&p),
            Err(MediaError::TooManyPixels(10_000_000_000))
        );
    }

    #[test]
    fn refuses_oversized_files() {
        let big = vec![0u8; MAX_PHOTO_BYTES + 1];
        assert_eq!(check_photo(&big), Err(MediaError::TooLarge));
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}
