//! Photo intake. A photo is refused unless it is a JPEG, PNG or WebP of at most [`MAX_PHOTO_BYTES`] and
//! [`MAX_PIXELS`] (checked from the header before any pixel is decoded, so a decompression bomb is refused
//! cheaply) that decodes whole under an allocation limit. What is kept is never the bytes as sent but a
//! processed copy ([`process_photo`]): turned upright from its EXIF orientation, downsized to at most
//! [`TARGET_LONG_SIDE`] pixels on its long side (never enlarged) and re-encoded as a baseline JPEG of at most
//! [`MAX_STORED_BYTES`]. The encoder writes no EXIF, XMP, ICC or comment segment, so the location, the camera
//! model and the capture time in the phone's metadata never reach the disk, the seal or the office.
//!
//! What the web app sends is usually such a copy already (client-web `shrink()` makes an upright baseline
//! JPEG of at most 1600 px within the byte budget): a baseline JPEG that is upright, within
//! [`TARGET_LONG_SIDE`] and [`MAX_STORED_BYTES`] and decodes whole is kept as sent, its image data byte for
//! byte, with every metadata segment dropped ([`strip_metadata`]): no second lossy encoding and no encoder
//! time (a decode instead of a decode and two to five encodings). When it must be re-encoded, one trial
//! encoding of a quarter of the picture predicts the size at each quality ([`best_fitting_quality`]), so one
//! full encoding usually fits.

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
    /// The JPEG quality that fitted the budget; `None` when the JPEG as sent was kept (no re-encoding).
    pub quality: Option<u8>,
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
) -> Result<axum::response::Response, crate::shared::error::ApiError> {
    use axum::http::header;
    use axum::response::IntoResponse;
    let (mt, bytes) =
        found.ok_or_else(|| crate::shared::error::ApiError::not_found("ảnh", "Photo"))?;
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
/// (a 12 MP photo takes a fraction of a second on a laptop, a few on a small board): call it through `crate::shared::cpu::run`.
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
    let (w, h) = (decoded.width(), decoded.height());
    if format == ImageFormat::Jpeg
        && orientation == image::metadata::Orientation::NoTransforms
        && w.max(h) <= TARGET_LONG_SIDE
    {
        if let Some(kept) = strip_metadata(bytes).filter(|b| b.len() <= MAX_STORED_BYTES) {
            return Ok(ProcessedPhoto {
                bytes: kept,
                width: w,
                height: h,
                quality: None,
                original,
                exif_orientation: 1,
                decode_ms,
                total_ms: started.elapsed().as_millis() as u64,
            });
        }
    }
    // Colour is kept: the red seal and the signatures on a paper are part of what a clerk checks, and on
    // the sample papers a grey copy was only 2 to 4 % smaller and read no better.
    let full = DynamicImage::ImageRgb8(decoded.into_rgb8());
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
            quality: Some(quality),
            original,
            exif_orientation: orientation.to_exif(),
            decode_ms,
            total_ms: started.elapsed().as_millis() as u64,
        });
    }
    Err(MediaError::CannotCompress)
}

/// Rows in one band of the size sample: one row of 4:2:0 MCUs, so a band encodes as it does in the whole.
const BAND: u32 = 16;
/// One band in this many goes into the size sample.
const BAND_STRIDE: u32 = 4;
/// A prediction must leave this share of the budget free to be tried first (the sample's error on the
/// sample papers was within 3 %).
const PREDICTION_MARGIN: f64 = 0.96;
/// A size predicted over this many budgets at the lowest quality is taken as not fitting.
const CLEARLY_OVER: f64 = 1.06;

/// The highest of [`QUALITIES`] whose encoding of `image` fits [`MAX_STORED_BYTES`], with that encoding;
/// `None` when even the lowest does not fit. Each encoding of a large picture costs tens of milliseconds,
/// so the size at each quality is first predicted from a sample (every [`BAND_STRIDE`]th band of
/// [`BAND`] rows, scaled up: JPEG size grows with the number of blocks of like content), searched at a
/// quarter of the cost; the predicted quality is then encoded whole and, when it does not fit, the
/// next lower one, and so on. A prediction can make the kept quality one step lower than the highest that
/// would have fitted, never a copy over budget: every kept encoding is measured; a size predicted over
/// [`CLEARLY_OVER`] budgets even at the lowest quality is given up without a full encoding.
fn best_fitting_quality(image: &DynamicImage) -> Result<Option<(u8, Vec<u8>)>, MediaError> {
    let owned;
    let rgb = match image.as_rgb8() {
        Some(rgb) => rgb,
        None => {
            owned = image.to_rgb8();
            &owned
        }
    };
    let (w, h) = rgb.dimensions();
    let bands = h.div_ceil(BAND);
    if bands < 2 * BAND_STRIDE {
        return search_quality(image);
    }
    let sample_bands = bands.div_ceil(BAND_STRIDE);
    let row = w as usize * 3;
    let mut pixels = Vec::with_capacity(row * (sample_bands * BAND) as usize);
    for band in 0..sample_bands {
        let first = band * BAND_STRIDE * BAND;
        for y in first..first + BAND {
            // The last band of a picture whose height is not a multiple of BAND repeats its last row.
            let y = y.min(h - 1) as usize;
            pixels.extend_from_slice(&rgb.as_raw()[y * row..(y + 1) * row]);
        }
    }
    let sample = image::RgbImage::from_raw(w, sample_bands * BAND, pixels)
        .ok_or_else(|| MediaError::Undecodable("sample size".into()))?;
    let sample = DynamicImage::ImageRgb8(sample);
    let scale = f64::from(h) / f64::from(sample_bands * BAND);
    let predict = |q: u8| -> Result<f64, MediaError> {
        let jpeg = encode_jpeg(&sample, q)?;
        let header = header_len(&jpeg) as f64;
        Ok((jpeg.len() as f64 - header) * scale + header)
    };
    let budget = MAX_STORED_BYTES as f64 * PREDICTION_MARGIN;
    // Clearly over even at the lowest quality: the next smaller size, without a full encoding. (Near
    // the budget the full encoding decides.)
    if predict(QUALITIES[0])? > MAX_STORED_BYTES as f64 * CLEARLY_OVER {
        return Ok(None);
    }
    // Highest index predicted to fit (binary search on the sample; 0 when none is predicted to).
    let (mut lo, mut hi) = (0, QUALITIES.len());
    while lo + 1 < hi {
        let mid = (lo + hi) / 2;
        if predict(QUALITIES[mid])? <= budget {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    for i in (0..=lo).rev() {
        let jpeg = encode_jpeg(image, QUALITIES[i])?;
        if jpeg.len() <= MAX_STORED_BYTES {
            return Ok(Some((QUALITIES[i], jpeg)));
        }
    }
    Ok(None)
}

/// [`best_fitting_quality`] without a prediction: a binary search over [`QUALITIES`], encoding the whole
/// picture each time (for pictures too small to sample).
fn search_quality(image: &DynamicImage) -> Result<Option<(u8, Vec<u8>)>, MediaError> {
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

/// Bytes of a JPEG up to the end of its start-of-scan segment (the tables and headers), or the whole
/// length when there is no such segment.
fn header_len(jpeg: &[u8]) -> usize {
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        if jpeg[i + 1] == 0xDA {
            return (i + 2 + len).min(jpeg.len());
        }
        i += 2 + len;
    }
    jpeg.len()
}

/// A plain JFIF header (version 1.01, 1:1 pixel aspect, no thumbnail), as the encoder writes it.
const JFIF_APP0: [u8; 18] = [
    0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01,
    0x00, 0x00,
];

/// The JPEG `jpeg` with every application segment (APP0–APP15: JFIF thumbnails, EXIF, XMP, ICC, IPTC,
/// vendor data) and comment dropped, a plain [`JFIF_APP0`] in their place, and nothing kept after the
/// end of image; the tables, frame header and image data byte for byte. `None` unless `jpeg` is a
/// well-formed baseline JPEG (SOF0; progressive and other processes are re-encoded instead).
pub fn strip_metadata(jpeg: &[u8]) -> Option<Vec<u8>> {
    if jpeg.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut out = Vec::with_capacity(jpeg.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    out.extend_from_slice(&JFIF_APP0);
    let (mut i, mut baseline, mut scans) = (2, false, 0);
    loop {
        // A marker, possibly after fill bytes.
        if *jpeg.get(i)? != 0xFF {
            return None;
        }
        while *jpeg.get(i + 1)? == 0xFF {
            i += 1;
        }
        let marker = jpeg[i + 1];
        match marker {
            0xD9 => {
                out.extend_from_slice(&[0xFF, 0xD9]);
                return (baseline && scans > 0).then_some(out);
            }
            // Only baseline frames; a second frame header, or markers that carry no length here, are
            // malformed.
            0xC1..=0xCF if marker != 0xC4 && marker != 0xCC => return None,
            0x01 | 0xD0..=0xD8 => return None,
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([*jpeg.get(i + 2)?, *jpeg.get(i + 3)?]));
        let end = i + 2 + len;
        if len < 2 || end > jpeg.len() {
            return None;
        }
        if marker == 0xC0 {
            if baseline {
                return None;
            }
            baseline = true;
        }
        if !((0xE0..=0xEF).contains(&marker) || marker == 0xFE) {
            out.extend_from_slice(&jpeg[i..end]);
        }
        i = end;
        if marker == 0xDA {
            if !baseline {
                return None;
            }
            scans += 1;
            // Entropy-coded data: up to the next marker that is neither a stuffed 0xFF00 nor a restart.
            let start = i;
            loop {
                let b = *jpeg.get(i)?;
                if b == 0xFF {
                    let next = *jpeg.get(i + 1)?;
                    if next == 0x00 || (0xD0..=0xD7).contains(&next) {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            out.extend_from_slice(&jpeg[start..i]);
        }
    }
}

/// The file name of a stored copy: `<role>-<n>.jpg`, the paper's role in the procedure and its rank
/// among the dossier's photos of that role (from 1). Never the name the phone sent: a camera names a
/// file by its capture time (`IMG_20261120_091500.jpg`), a gallery or a computer by whatever a person
/// typed (a name, an ID number), and the stored name travels in the sealed dossier. A JPEG whatever was
/// sent, hence `.jpg`, so that a clerk who saves it gets a file that opens. A character of the role
/// other than an ASCII letter, digit, `-` or `_` becomes `_`.
pub fn stored_name(role: &str, n: usize) -> String {
    let role: String = role
        .chars()
        .take(60)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let role = if role.is_empty() {
        "photo".into()
    } else {
        role
    };
    format!("{role}-{n}.jpg")
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
