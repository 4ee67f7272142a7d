//! The sample document photos as client-web's `shrink()` (field.js) prepares them before upload: what
//! the load driver's phones send and what the photo bench times the hub's processing on.

use std::path::Path;

use anyhow::Context;

/// A prepared document photo, as client-web sends it.
pub struct Photo {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// The stored-photo budget the web app aims at (client-web field.js `MAX_BYTES`, the hub's
/// `MAX_STORED_BYTES`).
const MAX_BYTES: usize = 100 * 1024;
/// The qualities `shrink()` picks from, highest first (field.js `QUALITIES`, ×100).
const QUALITIES: [u8; 9] = [85, 80, 75, 70, 65, 60, 55, 50, 45];

/// The client-web `shrink()` of field.js: upright by EXIF, long side at most 1600 px, then the highest of
/// [`QUALITIES`] whose JPEG fits [`MAX_BYTES`] (the same binary search: 85, then 45, then between), or
/// quality 85 when even 45 does not fit; the original is kept when it is within [`MAX_BYTES`] or the
/// result would not be smaller.
pub fn prepare_photo(path: &Path) -> anyhow::Result<Photo> {
    let original =
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let name = path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    if original.len() <= MAX_BYTES {
        return Ok(Photo {
            name,
            bytes: original,
        });
    }
    let small = upright_small(&original)?;
    let enc = |q: u8| -> anyhow::Result<Vec<u8>> {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q).encode_image(&small)?;
        Ok(out)
    };
    let mut out = enc(QUALITIES[0])?;
    if out.len() > MAX_BYTES {
        let floor = enc(QUALITIES[QUALITIES.len() - 1])?;
        if floor.len() <= MAX_BYTES {
            // QUALITIES[hi] fits (best is its encoding), QUALITIES[lo] does not.
            let (mut lo, mut hi, mut best) = (0, QUALITIES.len() - 1, floor);
            while hi - lo > 1 {
                let mid = (lo + hi) / 2;
                let b = enc(QUALITIES[mid])?;
                if b.len() <= MAX_BYTES {
                    (hi, best) = (mid, b);
                } else {
                    lo = mid;
                }
            }
            out = best;
        }
    }
    Ok(Photo {
        name,
        bytes: if out.len() < original.len() {
            out
        } else {
            original
        },
    })
}

/// The camera photo turned upright by its EXIF orientation and resized (triangle filter) to a long side of
/// at most 1600 px, as `shrink()` draws it on its canvas.
fn upright_small(original: &[u8]) -> anyhow::Result<image::RgbImage> {
    use image::ImageDecoder;
    let mut dec = image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(original))?;
    let orientation = dec.orientation()?;
    let mut img = image::DynamicImage::from_decoder(dec)?;
    img.apply_orientation(orientation);
    let (w, h) = (img.width(), img.height());
    let k = (1600.0 / f64::from(w.max(h))).min(1.0);
    let (nw, nh) = (
        (f64::from(w) * k).round() as u32,
        (f64::from(h) * k).round() as u32,
    );
    Ok(img
        .resize_exact(nw, nh, image::imageops::FilterType::Triangle)
        .to_rgb8())
}

/// The photo as the web app sent it before it aimed at the byte budget (upright, 1600 px, quality 85
/// whatever the size): what the hub must still re-encode, for photo-bench.
pub fn upright_1600_q85(path: &Path) -> anyhow::Result<Vec<u8>> {
    let small = upright_small(&std::fs::read(path)?)?;
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).encode_image(&small)?;
    Ok(out)
}
