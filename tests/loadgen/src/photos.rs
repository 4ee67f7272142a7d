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

/// Long sides `shrink()` tries in turn (field.js `SIDES`).
const SIDES: [u32; 6] = [1600, 1500, 1400, 1200, 1000, 800];

/// The client-web `shrink()` of field.js: upright by EXIF, then the largest of [`SIDES`] at which quality
/// 45 fits [`MAX_BYTES`], at the highest of [`QUALITIES`] that fits there (the same binary search), or
/// 1600 px at quality 85 when nothing fits; the original is kept when it is within [`MAX_BYTES`] or the
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
    let upright = upright(&original)?;
    let long = upright.width().max(upright.height());
    let enc = |img: &image::RgbImage, q: u8| -> anyhow::Result<Vec<u8>> {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q).encode_image(img)?;
        Ok(out)
    };
    let mut chosen = None;
    for side in SIDES {
        if side > long && side != SIDES[0] {
            continue;
        }
        let small = at_side(&upright, side);
        let floor = enc(&small, QUALITIES[QUALITIES.len() - 1])?;
        if floor.len() > MAX_BYTES {
            continue;
        }
        // QUALITIES[hi] fits (best is its encoding), QUALITIES[lo] does not (or is not tried: -1).
        let (mut lo, mut hi, mut best) = (-1i32, QUALITIES.len() as i32 - 1, floor);
        while hi - lo > 1 {
            let mid = (lo + hi + 1) / 2;
            let b = enc(&small, QUALITIES[mid as usize])?;
            if b.len() <= MAX_BYTES {
                (hi, best) = (mid, b);
            } else {
                lo = mid;
            }
        }
        chosen = Some(best);
        break;
    }
    let out = match chosen {
        Some(b) => b,
        None => enc(&at_side(&upright, SIDES[0]), QUALITIES[0])?,
    };
    Ok(Photo {
        name,
        bytes: if out.len() < original.len() {
            out
        } else {
            original
        },
    })
}

/// The camera photo turned upright by its EXIF orientation.
fn upright(original: &[u8]) -> anyhow::Result<image::DynamicImage> {
    use image::ImageDecoder;
    let mut dec = image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(original))?;
    let orientation = dec.orientation()?;
    let mut img = image::DynamicImage::from_decoder(dec)?;
    img.apply_orientation(orientation);
    Ok(img)
}

/// `img` resized to a long side of at most `side`, as `shrink()` draws it on its canvas with
/// `imageSmoothingQuality = 'high'`: area averaging (`thumbnail_exact`, as the hub downsizes).
fn at_side(img: &image::DynamicImage, side: u32) -> image::RgbImage {
    let (w, h) = (img.width(), img.height());
    let k = (f64::from(side) / f64::from(w.max(h))).min(1.0);
    let (nw, nh) = (
        (f64::from(w) * k).round() as u32,
        (f64::from(h) * k).round() as u32,
    );
    img.thumbnail_exact(nw, nh).to_rgb8()
}

/// The photo as the web app sent it before it aimed at the byte budget (upright, 1600 px, quality 85
/// whatever the size): what the hub must still re-encode, for photo-bench.
pub fn upright_1600_q85(path: &Path) -> anyhow::Result<Vec<u8>> {
    let small = at_side(&upright(&std::fs::read(path)?)?, 1600);
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).encode_image(&small)?;
    Ok(out)
}
