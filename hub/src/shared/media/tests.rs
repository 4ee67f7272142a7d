//! Unit tests of photo processing: orientation, metadata stripping, size budget and refusals.

use super::*;
use image::{Rgb, RgbImage};

fn encode(img: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn png(w: u32, h: u32) -> Vec<u8> {
    encode(
        &RgbImage::from_pixel(w, h, Rgb([200, 10, 10])),
        ImageFormat::Png,
    )
}

/// A phone-like EXIF APP1 segment (little-endian TIFF): camera model, `orientation`, and a GPS IFD with a
/// latitude.
fn exif_app1(orientation: u16) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(b"II\x2a\x00");
    t.extend_from_slice(&8u32.to_le_bytes());
    let entry = |t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: u32| {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&kind.to_le_bytes());
        t.extend_from_slice(&count.to_le_bytes());
        t.extend_from_slice(&value.to_le_bytes());
    };
    // IFD0 at 8: 3 entries (ends at 50); model at 50..59, padded to 60; GPS IFD at 60 (ends at 90);
    // latitude rationals at 90.
    t.extend_from_slice(&3u16.to_le_bytes());
    entry(&mut t, 0x0110, 2, 9, 50); // Model, ASCII
    entry(&mut t, 0x0112, 3, 1, u32::from(orientation)); // Orientation, SHORT (left-justified)
    entry(&mut t, 0x8825, 4, 1, 60); // GPSInfo IFD pointer
    t.extend_from_slice(&0u32.to_le_bytes());
    t.extend_from_slice(b"SM-A135F\0\0");
    t.extend_from_slice(&2u16.to_le_bytes());
    entry(&mut t, 0x0001, 2, 2, u32::from(b'N')); // GPSLatitudeRef "N"
    entry(&mut t, 0x0002, 5, 3, 90); // GPSLatitude, 3 RATIONALs
    t.extend_from_slice(&0u32.to_le_bytes());
    for (n, d) in [(11u32, 1u32), (50, 1), (177, 25)] {
        t.extend_from_slice(&n.to_le_bytes());
        t.extend_from_slice(&d.to_le_bytes());
    }
    assert_eq!(t.len(), 114);
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&((t.len() + 8) as u16).to_be_bytes());
    app1.extend_from_slice(b"Exif\0\0");
    app1.extend_from_slice(&t);
    app1
}

/// A JPEG of `img` carrying [`exif_app1`] right after SOI, as a phone writes it.
fn phone_jpeg(img: &RgbImage, orientation: u16) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 95)
        .encode_image(img)
        .unwrap();
    let mut with_exif = out[..2].to_vec();
    with_exif.extend_from_slice(&exif_app1(orientation));
    with_exif.extend_from_slice(&out[2..]);
    with_exif
}

/// The markers of a JPEG's header segments, up to the start of scan.
fn header_markers(jpeg: &[u8]) -> Vec<u8> {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "not a JPEG");
    let mut markers = Vec::new();
    let mut i = 2;
    while i + 4 <= jpeg.len() {
        assert_eq!(jpeg[i], 0xFF, "segment at {i}");
        let marker = jpeg[i + 1];
        markers.push(marker);
        if marker == 0xDA {
            break;
        }
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        i += 2 + len;
    }
    markers
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// 6 blocks of 16×16 pixels (3 across, 2 down), each its own colour: any turn or mirror shows.
const BLOCK_COLOURS: [[u8; 3]; 6] = [
    [220, 30, 30],
    [30, 200, 30],
    [30, 30, 220],
    [230, 230, 40],
    [30, 220, 220],
    [20, 20, 20],
];

fn upright_pattern() -> RgbImage {
    RgbImage::from_fn(48, 32, |x, y| {
        Rgb(BLOCK_COLOURS[(y / 16 * 3 + x / 16) as usize])
    })
}

/// The pixels a camera stores for the upright picture `u` when it tags them with EXIF orientation `o`
/// (TIFF/EXIF 2.3, tag 0x0112), written from the specification, not from the code under test.
fn stored_for(u: &RgbImage, o: u16) -> RgbImage {
    let (w, h) = u.dimensions();
    let at = |x: u32, y: u32| *u.get_pixel(x, y);
    match o {
        1 => u.clone(),
        2 => RgbImage::from_fn(w, h, |x, y| at(w - 1 - x, y)),
        3 => RgbImage::from_fn(w, h, |x, y| at(w - 1 - x, h - 1 - y)),
        4 => RgbImage::from_fn(w, h, |x, y| at(x, h - 1 - y)),
        5 => RgbImage::from_fn(h, w, |x, y| at(y, x)),
        6 => RgbImage::from_fn(h, w, |x, y| at(w - 1 - y, x)),
        7 => RgbImage::from_fn(h, w, |x, y| at(w - 1 - y, h - 1 - x)),
        8 => RgbImage::from_fn(h, w, |x, y| at(y, h - 1 - x)),
        _ => unreachable!(),
    }
}

#[test]
fn every_exif_orientation_is_turned_upright() {
    let upright = upright_pattern();
    for o in 1..=8u16 {
        let stored = stored_for(&upright, o);
        let sent = phone_jpeg(&stored, o);
        let p = process_photo(&sent).unwrap();
        assert_eq!(p.exif_orientation as u16, o);
        assert_eq!(
            (p.original.width, p.original.height),
            stored.dimensions(),
            "orientation {o}: size as sent"
        );
        assert_eq!(
            (p.width, p.height),
            (48, 32),
            "orientation {o}: upright size"
        );
        let out = image::load_from_memory_with_format(&p.bytes, ImageFormat::Jpeg)
            .unwrap()
            .into_rgb8();
        assert_eq!(out.dimensions(), (48, 32));
        for (i, want) in BLOCK_COLOURS.iter().enumerate() {
            let (bx, by) = (i as u32 % 3, i as u32 / 3);
            let got = out.get_pixel(bx * 16 + 8, by * 16 + 8).0;
            let off = got
                .iter()
                .zip(want)
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap();
            assert!(
                off <= 24,
                "orientation {o}: block {i} should be {want:?}, is {got:?}"
            );
        }
    }
}

#[test]
fn the_stored_copy_carries_no_metadata() {
    let sent = phone_jpeg(&stored_for(&upright_pattern(), 6), 6);
    // The fixture does carry what must go.
    assert!(header_markers(&sent).contains(&0xE1));
    assert!(contains(&sent, b"SM-A135F"));
    let p = process_photo(&sent).unwrap();
    let markers = header_markers(&p.bytes);
    for m in &markers {
        // Only the JFIF header (APP0) may be there: no APP1 (EXIF, XMP), APP2 (ICC), APP13 (IPTC), COM.
        assert!(
            !(0xE1..=0xEF).contains(m) && *m != 0xFE,
            "metadata segment FF{m:02X} in {markers:02X?}"
        );
    }
    assert!(!contains(&p.bytes, b"Exif"));
    assert!(!contains(&p.bytes, b"SM-A135F"));
    assert_eq!(
        image::ImageReader::with_format(Cursor::new(&p.bytes), ImageFormat::Jpeg)
            .into_decoder()
            .unwrap()
            .exif_metadata()
            .unwrap(),
        None
    );
}

#[test]
fn a_small_png_becomes_a_jpeg_of_the_same_size() {
    let p = process_photo(&png(20, 10)).unwrap();
    assert_eq!(
        p.original,
        CheckedPhoto {
            media_type: "image/png",
            width: 20,
            height: 10
        }
    );
    assert_eq!((p.width, p.height), (20, 10), "never enlarged");
    assert_eq!(image::guess_format(&p.bytes).unwrap(), ImageFormat::Jpeg);
    assert_eq!(p.quality, QUALITIES.last().copied());
}

#[test]
fn a_photo_that_cannot_fit_legibly_is_refused() {
    // 2000×1500 of colour noise: no JPEG of it at a legible size fits the budget; better a clear refusal
    // (the officer takes the photo again) than a stored copy nobody can read.
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let noisy = RgbImage::from_fn(2000, 1500, |_, _| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let b = seed.to_le_bytes();
        Rgb([b[0], b[1], b[2]])
    });
    let sent = encode(&noisy, ImageFormat::Png);
    assert!(sent.len() <= MAX_PHOTO_BYTES);
    assert_eq!(
        process_photo(&sent).unwrap_err(),
        MediaError::CannotCompress
    );
}

#[test]
fn a_plain_large_photo_is_downsized_to_the_target_size_at_a_high_quality() {
    // A blank page under uneven light with a few printed lines.
    let img = RgbImage::from_fn(4000, 3000, |x, y| {
        if y % 150 < 6 && (400..3600).contains(&x) {
            Rgb([25, 25, 35])
        } else {
            let v = 200 + (x / 80) as u8 % 40;
            Rgb([v, v, v - 10])
        }
    });
    let p = process_photo(&encode(&img, ImageFormat::Png)).unwrap();
    assert_eq!((p.width, p.height), (TARGET_LONG_SIDE, 1200));
    assert!(p.quality >= Some(60), "quality {:?}", p.quality);
    assert!(p.bytes.len() <= MAX_STORED_BYTES);
}

#[test]
fn accepts_the_sample_document_photo_and_stores_it_upright_and_small() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/photos/to-khai-xac-nhan-hon-nhan.jpg"
    );
    if let Ok(bytes) = std::fs::read(path) {
        let p = process_photo(&bytes).unwrap();
        assert_eq!(p.original.media_type, "image/jpeg");
        assert_eq!((p.original.width, p.original.height), (4032, 3024));
        assert_eq!(p.exif_orientation, 6);
        assert!(
            p.height > p.width,
            "portrait page: {}×{}",
            p.width,
            p.height
        );
        assert!(p.bytes.len() <= MAX_STORED_BYTES, "{} bytes", p.bytes.len());
        assert!(
            p.quality < QUALITIES.last().copied() || p.height < TARGET_LONG_SIDE,
            "a 12 MP phone photo needs the quality or size stepped down"
        );
        assert!(!contains(&p.bytes, b"Exif"));
    }
}

#[test]
fn refuses_non_images_and_truncated_images() {
    assert_eq!(
        process_photo(b"%PDF-1.4 hello").unwrap_err(),
        MediaError::UnsupportedFormat
    );
    let mut p = png(64, 64);
    p.truncate(p.len() / 2);
    assert!(matches!(process_photo(&p), Err(MediaError::Undecodable(_))));
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
        process_photo(&p).unwrap_err(),
        MediaError::TooManyPixels(10_000_000_000)
    );
}

#[test]
fn refuses_oversized_files() {
    let big = vec![0u8; MAX_PHOTO_BYTES + 1];
    assert_eq!(process_photo(&big).unwrap_err(), MediaError::TooLarge);
}

#[test]
fn stored_names_are_neutral_and_end_in_jpg() {
    assert_eq!(stored_name("id_document", 1), "id_document-1.jpg");
    assert_eq!(stored_name("birth-cert", 3), "birth-cert-3.jpg");
    assert_eq!(stored_name("../giấy tờ", 1), "___gi_y_t_-1.jpg");
    assert_eq!(stored_name("", 2), "photo-2.jpg");
}

/// A document-like page: uneven light, printed lines of dark "glyphs" (noise-textured so that JPEG has
/// real work), a red stamp.
fn page(w: u32, h: u32) -> RgbImage {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    RgbImage::from_fn(w, h, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let noise = u8::from(seed.is_multiple_of(8));
        let on_line =
            y % 40 < 10 && (w / 10..w * 9 / 10).contains(&x) && (x / 40 + y / 40) % 5 != 0;
        if on_line && (x / 4) % 3 != 0 {
            Rgb([30 + noise, 30 + noise, 40 + noise])
        } else if (x as i64 - i64::from(w) * 3 / 4).pow(2)
            + (y as i64 - i64::from(h) * 4 / 5).pow(2)
            < i64::from(w / 12).pow(2)
        {
            Rgb([200, 40 + noise, 40])
        } else {
            let v = 190 + (x * 40 / w) as u8 + noise;
            Rgb([v, v, v - 12])
        }
    })
}

/// The image data (from the start of scan to the end) of a JPEG.
fn scan_data(jpeg: &[u8]) -> &[u8] {
    let sos = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xDA])
        .expect("SOS");
    &jpeg[sos..]
}

#[test]
fn an_upright_jpeg_within_the_limits_is_kept_as_sent_without_its_metadata() {
    // What client-web's shrink() sends: upright pixels, at most 1600 px, within the budget; as a phone
    // browser could write it, with an EXIF block (orientation 1, GPS, camera model) and a comment.
    let img = page(1200, 900);
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 60)
        .encode_image(&img)
        .unwrap();
    let mut sent = jpeg[..2].to_vec();
    sent.extend_from_slice(&exif_app1(1));
    sent.extend_from_slice(&[0xFF, 0xFE, 0x00, 0x0A]);
    sent.extend_from_slice(b"SM-A135F");
    sent.extend_from_slice(&jpeg[2..]);
    sent.extend_from_slice(b"trailer after the end SM-A135F");
    assert!(
        sent.len() <= MAX_STORED_BYTES,
        "fixture: {} bytes",
        sent.len()
    );
    let p = process_photo(&sent).unwrap();
    assert_eq!(p.quality, None, "kept, not re-encoded");
    assert_eq!((p.width, p.height), (1200, 900));
    assert_eq!(
        scan_data(&p.bytes),
        scan_data(&jpeg),
        "image data byte for byte"
    );
    assert!(!contains(&p.bytes, b"SM-A135F"));
    assert!(!contains(&p.bytes, b"Exif"));
    for m in header_markers(&p.bytes) {
        assert!(
            !(0xE1..=0xEF).contains(&m) && m != 0xFE,
            "metadata FF{m:02X}"
        );
    }
    let back = image::load_from_memory_with_format(&p.bytes, ImageFormat::Jpeg)
        .unwrap()
        .into_rgb8();
    let direct = image::load_from_memory_with_format(&jpeg, ImageFormat::Jpeg)
        .unwrap()
        .into_rgb8();
    assert!(back == direct, "the same pixels as sent");
}

#[test]
fn a_jpeg_over_the_budget_turned_or_too_large_is_re_encoded() {
    let img = page(1200, 900);
    let mut high = Vec::new();
    JpegEncoder::new_with_quality(&mut high, 98)
        .encode_image(&img)
        .unwrap();
    assert!(
        high.len() > MAX_STORED_BYTES,
        "fixture: {} bytes",
        high.len()
    );
    let p = process_photo(&high).unwrap();
    assert!(p.quality.is_some() && p.bytes.len() <= MAX_STORED_BYTES);
    assert_eq!((p.width, p.height), (1200, 900));

    let turned = phone_jpeg(&stored_for(&upright_pattern(), 6), 6);
    assert!(process_photo(&turned).unwrap().quality.is_some());

    let big = page(1800, 600);
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 30)
        .encode_image(&big)
        .unwrap();
    let p = process_photo(&jpeg).unwrap();
    assert!(p.quality.is_some());
    assert_eq!(p.width, TARGET_LONG_SIDE);
}

#[test]
fn strip_metadata_refuses_what_is_not_a_whole_baseline_jpeg() {
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 80)
        .encode_image(&upright_pattern())
        .unwrap();
    assert!(strip_metadata(&jpeg).is_some());
    // Progressive (SOF2) in place of baseline.
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    let mut progressive = jpeg.clone();
    progressive[sof + 1] = 0xC2;
    assert_eq!(strip_metadata(&progressive), None);
    // Cut before the end of image.
    assert_eq!(strip_metadata(&jpeg[..jpeg.len() - 10]), None);
    assert_eq!(strip_metadata(b"\xFF\xD8"), None);
    assert_eq!(strip_metadata(&png(4, 4)), None);
}

#[test]
fn the_predicted_quality_is_the_best_fitting_or_one_step_below_and_never_over_budget() {
    let mut compared = 0;
    for (w, h) in [(1600, 1200), (1200, 1600), (1000, 750), (800, 600)] {
        let image = DynamicImage::ImageRgb8(page(w, h));
        let predicted = best_fitting_quality(&image).unwrap();
        let searched = search_quality(&image).unwrap();
        match (predicted, searched) {
            (Some((qp, bp)), Some((qs, _))) => {
                assert!(bp.len() <= MAX_STORED_BYTES);
                let (ip, is) = (
                    QUALITIES.iter().position(|&q| q == qp).unwrap(),
                    QUALITIES.iter().position(|&q| q == qs).unwrap(),
                );
                assert!(
                    ip <= is && is - ip <= 1,
                    "{w}×{h}: predicted {qp}, best {qs}"
                );
                compared += 1;
            }
            (None, None) => {}
            other => panic!("{w}×{h}: {other:?}"),
        }
    }
    assert!(
        compared >= 2,
        "the fixture must fit at some sizes: {compared}"
    );
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
