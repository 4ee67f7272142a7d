//! Photo intake. A photo is refused unless it is a JPEG, PNG or WebP of at most [`MAX_PHOTO_BYTES`] and
//! [`MAX_PIXELS`] (checked from the header before any pixel is decoded, so a decompression bomb is refused
//! cheaply) that decodes whole under an allocation limit. What is kept is never the bytes as sent but a
//! processed copy ([`process_photo`]): turned upright from its EXIF orientation, downsized to at most
//! [`TARGET_LONG_SIDE`] pixels on its long side (never enlarged) and re-encoded as a baseline JPEG of at most
//! [`MAX_STORED_BYTES`]. The encoder writes no EXIF, XMP, ICC or comment segment, so the location, the camera
//! model and the capture time in the phone's metadata never reach the disk, the seal or the office.

use std::io::Cursor;
use std::time::Instant;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

/// Largest photo accepted, in bytes.
pub const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;
/// Largest photo accepted, in pixels (a 48-megapixel phone camera is refused; 12 MP passes).
pub const MAX_PIXELS: u64 = 40_000_000;
/// Long side of the stored copy when the photo is larger, in pixels: enough for a clerk (and OCR) to read
/// every line of an A4 paper photographed whole.
pub const TARGET_LONG_SIDE: u32 = 1600;
/// Most bytes a stored copy may weigh.
pub const MAX_STORED_BYTES: usize = 100 * 1024;
/// The media type of every stored copy.
pub const STORED_MEDIA_TYPE: &str = "image/jpeg";

/// JPEG qualities, lowest first: at each size the highest of them whose encoding fits the budget is kept.
/// 45 is the floor: on the sample papers, text at 45 still reads as well as the original (see
/// docs/operations.md, "Photo processing figures"); below it, a smaller picture at a higher quality is
/// the better trade.
const QUALITIES: [u8; 9] = [45, 50, 55, 60, 65, 70, 75, 80, 85];
/// Long sides tried in turn when even the lowest quality does not fit at the larger one (each capped by
/// the photo's own size). Below the last one a paper is no longer legible: the photo is refused instead.
const LONG_SIDES: [u32; 6] = [TARGET_LONG_SIDE, 1500, 1400, 1200, 1000, 800];

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
    #[error("the photo cannot be stored within {MAX_STORED_BYTES} bytes")]
    CannotCompress,
}

/// What the header check learned about a photo as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedPhoto {
    pub media_type: &'static str,
    pub width: u32,
    pub height: u32,
}

/// The copy that is stored, sealed and sent: always a JPEG ([`STORED_MEDIA_TYPE`]) without metadata.
#[derive(Debug, Clone)]
pub struct ProcessedPhoto {
    pub bytes: Vec<u8>,
    /// Upright size of the stored copy.
    pub width: u32,
    pub height: u32,
    /// The JPEG quality that fitted the budget.
    pub quality: u8,
    /// The photo as sent (size as stored in the file, before turning upright).
    pub original: CheckedPhoto,
    /// The EXIF orientation that was applied (1 = none; 1..=8).
    pub exif_orientation: u8,
    /// Time spent decoding, in milliseconds, and in all of it.
    pub decode_ms: u64,
    pub total_ms: u64,
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

/// Checks a photo's format, byte size and pixel count from its header, without decoding pixels.
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
    Ok(CheckedPhoto {
        media_type,
        width,
        height,
    })
}

/// Checks, decodes and processes a photo into the copy that is stored; see the module doc. CPU-bound
/// (a 12 MP photo takes a fraction of a second on a laptop, a few on a small board): call it through `crate::cpu::run`.
pub fn process_photo(bytes: &[u8]) -> Result<ProcessedPhoto, MediaError> {
    let started = Instant::now();
    let original = check_photo(bytes)?;
    let format = image::guess_format(bytes).map_err(|_| MediaError::UnsupportedFormat)?;
    let undecodable = |e: image::ImageError| MediaError::Undecodable(e.to_string());
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(original.width);
    limits.max_image_height = Some(original.height);
    limits.max_alloc = Some(MAX_PIXELS * 4 + 16 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(undecodable)?;
    // A broken EXIF block is no reason to refuse a readable photo: it is then taken as upright.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let decoded = DynamicImage::from_decoder(decoder).map_err(undecodable)?;
    let decode_ms = started.elapsed().as_millis() as u64;
    // Colour is kept: the red seal and the signatures on a paper are part of what a clerk checks, and on
    // the sample papers a grey copy was only 2 to 4 % smaller and read no better.
    let full = DynamicImage::ImageRgb8(decoded.into_rgb8());
    let (w, h) = (full.width(), full.height());
    let mut tried = Vec::new();
    for long in LONG_SIDES {
        let long = long.min(w.max(h));
        if tried.contains(&long) {
            continue;
        }
        tried.push(long);
        // Area averaging: fast, and it smooths the sensor noise that JPEG would spend bytes on. Downsized
        // before turning upright: rotating the small copy is cheaper than the large one.
        let mut image = if long < w.max(h) {
            let (nw, nh) = scaled(w, h, long);
            full.thumbnail_exact(nw, nh)
        } else {
            full.clone()
        };
        image.apply_orientation(orientation);
        let Some((quality, bytes)) = best_fitting_quality(&image)? else {
            continue;
        };
        return Ok(ProcessedPhoto {
            bytes,
            width: image.width(),
            height: image.height(),
            quality,
            original,
            exif_orientation: orientation.to_exif(),
            decode_ms,
            total_ms: started.elapsed().as_millis() as u64,
        });
    }
    Err(MediaError::CannotCompress)
}

/// The highest of [`QUALITIES`] whose encoding of `image` fits [`MAX_STORED_BYTES`], with that encoding;
/// `None` when even the lowest does not fit. Binary search: the size grows with the quality.
fn best_fitting_quality(image: &DynamicImage) -> Result<Option<(u8, Vec<u8>)>, MediaError> {
    let lowest = encode_jpeg(image, QUALITIES[0])?;
    if lowest.len() > MAX_STORED_BYTES {
        return Ok(None);
    }
    let mut best = (QUALITIES[0], lowest);
    // Invariant: QUALITIES[..lo] fit (best is the highest of them), QUALITIES[hi..] do not.
    let (mut lo, mut hi) = (1, QUALITIES.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        let jpeg = encode_jpeg(image, QUALITIES[mid])?;
        if jpeg.len() <= MAX_STORED_BYTES {
            best = (QUALITIES[mid], jpeg);
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(Some(best))
}

/// The file name of a stored copy: the name as sent with its extension made `.jpg` (the copy is a JPEG
/// whatever was sent), so that a clerk who saves it gets a file that opens.
pub fn stored_name(sent: &str) -> String {
    let stem = match sent.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.len() <= 5 => stem,
        _ => sent,
    };
    format!("{stem}.jpg")
}

/// The size of `w`×`h` scaled so that its long side is `long` (each side at least 1 pixel).
fn scaled(w: u32, h: u32, long: u32) -> (u32, u32) {
    let big = u64::from(w.max(h));
    let side = |s: u32| ((u64::from(s) * u64::from(long) + big / 2) / big).max(1) as u32;
    (side(w), side(h))
}

/// A baseline JPEG with only the JFIF header: no metadata segment of any kind.
fn encode_jpeg(image: &DynamicImage, quality: u8) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::with_capacity(MAX_STORED_BYTES);
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(image)
        .map_err(|e| MediaError::Undecodable(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests;
