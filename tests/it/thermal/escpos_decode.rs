//! An ESC/POS decoder written for the tests, independent of the hub's encoder (`hub::field::thermal` is
//! not used here): it walks a byte stream as a 203 dpi thermal printer would and draws the paper that
//! comes out, so what the hub sends is judged by what a villager would hold.
//!
//! Commands understood (the subset the hub may send, from the ESC/POS command reference):
//! - `ESC @` (1B 40) initialise: justification back to left.
//! - `ESC a n` (1B 61 n) justification: 0 left, 1 centre, 2 right (`'0'..'2'` too).
//! - `GS v 0 m xL xH yL yH d…` (1D 76 30) raster bit image, mode 0 (normal) only: x bytes a row, y rows,
//!   most significant bit the leftmost dot, 1 black.
//! - `GS ( k pL pH cn fn …` (1D 28 6B) QR code (cn 49): fn 65 model, fn 67 module size, fn 69 error
//!   correction, fn 80 store, fn 81 print (centred or as justified, at the current position).
//! - `LF` (0A): nothing is ever in the line buffer (no text is sent), so it feeds one line (30 dots).
//! - `ESC d n` (1B 64 n): feed n lines of 30 dots.
//! - `GS V m [n]` (1D 56): cut; m 0/1/48/49 cut here, m 65/66 feed n dots then cut.
//! - `DLE EOT n` (10 04 n): real-time status request; prints nothing (recorded).
//!
//! Anything else is refused with a panic naming the offset and the byte: the hub must send nothing a
//! printer would print as garbage (no text-mode characters, no code pages).

use image::{GrayImage, Luma};

/// Dots per millimetre at 203 dpi.
pub const DOTS_PER_MM: f64 = 8.0;
/// One line feed (`LF`, `ESC d`): the default line spacing of 58/80 mm printers, 30 dots (3.75 mm).
pub const LINE_DOTS: u32 = 30;

/// A QR the printer printed from its own symbol storage (`GS ( k`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeQr {
    /// The stored payload (`fn 80`), as bytes.
    pub data: Vec<u8>,
    /// Module size in dots (`fn 67`).
    pub module: u32,
    /// Error correction letter (`fn 69`): L, M, Q or H.
    pub ec: char,
    /// Where it was drawn on the paper: left, top, side (dots).
    pub x: u32,
    pub y: u32,
    pub side: u32,
}

/// The paper a stream printed.
#[derive(Debug)]
pub struct Paper {
    /// White 255, black 0; one pixel a dot.
    pub image: GrayImage,
    /// The paper width in dots (the raster bands' width).
    pub dots: u32,
    /// Raster bands (`GS v 0`) printed.
    pub bands: usize,
    /// Rows from the top to the end of the last thing printed (band or QR): the paper without the feed
    /// that follows.
    pub printed_rows: u32,
    /// Native QRs printed, top to bottom.
    pub qrs: Vec<NativeQr>,
    /// Rows at which the paper was cut.
    pub cuts: Vec<u32>,
    /// Status requests (`DLE EOT n`: the `n`s) found in the stream.
    pub status_queries: Vec<u8>,
    /// Offset and name of each command, in order (for assertions on the stream's shape).
    pub commands: Vec<(usize, &'static str)>,
}

impl Paper {
    /// The paper's length in millimetres (203 dpi: 8 dots a millimetre), feeds included.
    pub fn length_mm(&self) -> f64 {
        f64::from(self.image.height()) / DOTS_PER_MM
    }

    /// The last command's name.
    pub fn last_command(&self) -> Option<&'static str> {
        self.commands.last().map(|c| c.1)
    }
}

/// What goes on the paper, in order; drawn once the width is known.
enum Piece {
    /// Raster rows, each `width` dots.
    Raster {
        width: u32,
        rows: Vec<Vec<bool>>,
    },
    Blank(u32),
    Qr {
        modules: Vec<bool>,
        side_modules: u32,
        module: u32,
        justify: u8,
        data: Vec<u8>,
        ec: char,
    },
    Cut,
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    /// The next `n` bytes of the command that began at `start` (`what`), or a panic saying it is cut short.
    fn take(&mut self, n: usize, start: usize, what: &str) -> &[u8] {
        let left = self.bytes.len() - self.at;
        assert!(
            n <= left,
            "ESC/POS: {what} at offset {start} is cut short: it needs {n} more bytes at offset {}, \
             the stream has {left}",
            self.at
        );
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        s
    }

    fn byte(&mut self, start: usize, what: &str) -> u8 {
        self.take(1, start, what)[0]
    }
}

/// Decodes `bytes` into the paper they print. Panics on an unknown or malformed command, naming its offset
/// and byte.
pub fn decode(bytes: &[u8]) -> Paper {
    let mut r = Reader { bytes, at: 0 };
    let mut pieces = Vec::new();
    let mut commands = Vec::new();
    let mut status_queries = Vec::new();
    let mut justify = 0u8;
    // QR symbol storage and settings (model 2, module 3, EC L: the usual power-on defaults).
    let mut qr_model = 2u8;
    let mut qr_module = 3u32;
    let mut qr_ec = 'L';
    let mut qr_data: Option<Vec<u8>> = None;
    let mut bands = 0usize;

    while r.at < bytes.len() {
        let start = r.at;
        let b = r.byte(start, "command");
        let name: &'static str = match b {
            0x0A => {
                pieces.push(Piece::Blank(LINE_DOTS));
                "LF"
            }
            0x1B => match r.byte(start, "ESC command") {
                b'@' => {
                    justify = 0;
                    "ESC @"
                }
                b'a' => {
                    let n = r.byte(start, "ESC a");
                    justify = match n {
                        0 | b'0' => 0,
                        1 | b'1' => 1,
                        2 | b'2' => 2,
                        _ => panic!(
                            "ESC/POS: ESC a at offset {start}: justification {n:#04x} is not 0, 1 or 2"
                        ),
                    };
                    "ESC a"
                }
                b'd' => {
                    let n = r.byte(start, "ESC d");
                    pieces.push(Piece::Blank(u32::from(n) * LINE_DOTS));
                    "ESC d"
                }
                other => panic!(
                    "ESC/POS: unknown command at offset {start}: byte 0x1B (ESC) followed by \
                     {other:#04x} ({:?})",
                    other as char
                ),
            },
            0x1D => match r.byte(start, "GS command") {
                b'v' => {
                    let head = r.take(6, start, "GS v 0").to_vec();
                    assert_eq!(
                        head[0], b'0',
                        "ESC/POS: GS v at offset {start}: expected '0' (0x30), found {:#04x}",
                        head[0]
                    );
                    assert_eq!(
                        head[1], 0,
                        "ESC/POS: GS v 0 at offset {start}: raster mode {} (only 0, normal size, is \
                         expected)",
                        head[1]
                    );
                    let x = usize::from(head[2]) | usize::from(head[3]) << 8;
                    let y = usize::from(head[4]) | usize::from(head[5]) << 8;
                    assert!(
                        x > 0 && y > 0,
                        "ESC/POS: GS v 0 at offset {start}: empty band ({x} bytes × {y} rows)"
                    );
                    let data = r.take(x * y, start, "GS v 0 raster data");
                    let rows = data
                        .chunks(x)
                        .map(|row| {
                            row.iter()
                                .flat_map(|byte| (0..8).map(move |i| byte & (0x80 >> i) != 0))
                                .collect()
                        })
                        .collect();
                    bands += 1;
                    pieces.push(Piece::Raster {
                        width: (x * 8) as u32,
                        rows,
                    });
                    "GS v 0"
                }
                b'(' => {
                    let k = r.byte(start, "GS (");
                    assert_eq!(
                        k, b'k',
                        "ESC/POS: unknown command at offset {start}: GS ( followed by {k:#04x} (only \
                         GS ( k, 2D codes, is expected)"
                    );
                    let len = r.take(2, start, "GS ( k");
                    let len = usize::from(len[0]) | usize::from(len[1]) << 8;
                    let body = r.take(len, start, "GS ( k parameters").to_vec();
                    assert!(
                        len >= 2,
                        "ESC/POS: GS ( k at offset {start}: parameter length {len} < 2"
                    );
                    assert_eq!(
                        body[0], 49,
                        "ESC/POS: GS ( k at offset {start}: symbol cn = {} (only 49, QR Code, is \
                         expected)",
                        body[0]
                    );
                    let expect_len = |n: usize, what: &str| {
                        assert_eq!(
                            len, n,
                            "ESC/POS: GS ( k {what} at offset {start}: pL pH = {len}, expected {n}"
                        )
                    };
                    match body[1] {
                        65 => {
                            expect_len(4, "fn 65 (model)");
                            qr_model = match body[2] {
                                49 => 1,
                                50 => 2,
                                51 => panic!(
                                    "ESC/POS: GS ( k fn 65 at offset {start}: Micro QR is not expected"
                                ),
                                n => panic!("ESC/POS: GS ( k fn 65 at offset {start}: model {n}?"),
                            };
                            "GS ( k model"
                        }
                        67 => {
                            expect_len(3, "fn 67 (module size)");
                            assert!(
                                (1..=16).contains(&body[2]),
                                "ESC/POS: GS ( k fn 67 at offset {start}: module size {} is not 1..16",
                                body[2]
                            );
                            qr_module = u32::from(body[2]);
                            "GS ( k module size"
                        }
                        69 => {
                            expect_len(3, "fn 69 (error correction)");
                            qr_ec = match body[2] {
                                48 => 'L',
                                49 => 'M',
                                50 => 'Q',
                                51 => 'H',
                                n => panic!(
                                    "ESC/POS: GS ( k fn 69 at offset {start}: error correction {n}?"
                                ),
                            };
                            "GS ( k error correction"
                        }
                        80 => {
                            assert_eq!(
                                body.get(2),
                                Some(&48),
                                "ESC/POS: GS ( k fn 80 at offset {start}: m must be 48"
                            );
                            assert!(
                                len > 3,
                                "ESC/POS: GS ( k fn 80 at offset {start}: no data to store"
                            );
                            qr_data = Some(body[3..].to_vec());
                            "GS ( k store"
                        }
                        81 => {
                            expect_len(3, "fn 81 (print)");
                            assert_eq!(
                                body[2], 48,
                                "ESC/POS: GS ( k fn 81 at offset {start}: m must be 48"
                            );
                            let data = qr_data.clone().unwrap_or_else(|| {
                                panic!(
                                    "ESC/POS: GS ( k fn 81 at offset {start}: print with no data stored"
                                )
                            });
                            assert_eq!(
                                qr_model, 2,
                                "ESC/POS: GS ( k fn 81 at offset {start}: only model 2 is drawn here"
                            );
                            let level = match qr_ec {
                                'L' => qrcode::EcLevel::L,
                                'M' => qrcode::EcLevel::M,
                                'Q' => qrcode::EcLevel::Q,
                                _ => qrcode::EcLevel::H,
                            };
                            let code = qrcode::QrCode::with_error_correction_level(&data, level)
                                .unwrap_or_else(|e| {
                                    panic!(
                                        "ESC/POS: GS ( k fn 81 at offset {start}: the stored {} bytes \
                                         do not fit a QR code: {e}",
                                        data.len()
                                    )
                                });
                            pieces.push(Piece::Qr {
                                modules: code
                                    .to_colors()
                                    .into_iter()
                                    .map(|c| c == qrcode::Color::Dark)
                                    .collect(),
                                side_modules: code.width() as u32,
                                module: qr_module,
                                justify,
                                data,
                                ec: qr_ec,
                            });
                            "GS ( k print"
                        }
                        f => panic!(
                            "ESC/POS: GS ( k at offset {start}: QR function {f} ({f:#04x}) is not \
                             expected (65, 67, 69, 80, 81)"
                        ),
                    }
                }
                b'V' => {
                    let m = r.byte(start, "GS V");
                    match m {
                        0 | 1 | 48 | 49 => {}
                        65 | 66 => {
                            let n = r.byte(start, "GS V");
                            pieces.push(Piece::Blank(u32::from(n)));
                        }
                        _ => panic!("ESC/POS: GS V at offset {start}: cut mode {m} is not known"),
                    }
                    pieces.push(Piece::Cut);
                    "GS V"
                }
                other => panic!(
                    "ESC/POS: unknown command at offset {start}: byte 0x1D (GS) followed by \
                     {other:#04x} ({:?})",
                    other as char
                ),
            },
            0x10 => {
                let eot = r.byte(start, "DLE");
                assert_eq!(
                    eot, 0x04,
                    "ESC/POS: unknown command at offset {start}: byte 0x10 (DLE) followed by {eot:#04x}"
                );
                let n = r.byte(start, "DLE EOT");
                assert!(
                    (1..=4).contains(&n),
                    "ESC/POS: DLE EOT at offset {start}: status {n} is not 1..4"
                );
                status_queries.push(n);
                "DLE EOT"
            }
            other => panic!(
                "ESC/POS: unknown command at offset {start}: byte {other:#04x} ({:?}): no text or \
                 other command is expected",
                other as char
            ),
        };
        commands.push((start, name));
    }

    // The paper's width: the raster bands'. They must all be as wide (full width, the contract).
    let widths: Vec<u32> = pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Raster { width, .. } => Some(*width),
            _ => None,
        })
        .collect();
    let dots = widths.first().copied().unwrap_or_else(|| {
        pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Qr {
                    side_modules,
                    module,
                    ..
                } => Some(side_modules * module),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    });
    assert!(
        widths.iter().all(|w| *w == dots),
        "ESC/POS: raster bands of different widths: {widths:?}"
    );
    let height: u32 = pieces
        .iter()
        .map(|p| match p {
            Piece::Raster { rows, .. } => rows.len() as u32,
            Piece::Blank(n) => *n,
            Piece::Qr {
                side_modules,
                module,
                ..
            } => side_modules * module,
            Piece::Cut => 0,
        })
        .sum();
    let mut image = GrayImage::from_pixel(dots, height, Luma([255]));
    let mut y = 0u32;
    let mut qrs = Vec::new();
    let mut cuts = Vec::new();
    let mut printed_rows = 0;
    for p in pieces {
        match p {
            Piece::Raster { rows, .. } => {
                for row in rows {
                    for (x, black) in row.into_iter().enumerate() {
                        if black {
                            image.put_pixel(x as u32, y, Luma([0]));
                        }
                    }
                    y += 1;
                }
                printed_rows = y;
            }
            Piece::Blank(n) => y += n,
            Piece::Qr {
                modules,
                side_modules,
                module,
                justify,
                data,
                ec,
            } => {
                let side = side_modules * module;
                assert!(
                    side <= dots,
                    "ESC/POS: a QR of {side} dots does not fit paper {dots} dots wide"
                );
                let x0 = match justify {
                    0 => 0,
                    1 => (dots - side) / 2,
                    _ => dots - side,
                };
                for (i, dark) in modules.into_iter().enumerate() {
                    if !dark {
                        continue;
                    }
                    let (mx, my) = (i as u32 % side_modules, i as u32 / side_modules);
                    for dy in 0..module {
                        for dx in 0..module {
                            image.put_pixel(x0 + mx * module + dx, y + my * module + dy, Luma([0]));
                        }
                    }
                }
                qrs.push(NativeQr {
                    data,
                    module,
                    ec,
                    x: x0,
                    y,
                    side,
                });
                y += side;
                printed_rows = y;
            }
            Piece::Cut => cuts.push(y),
        }
    }
    Paper {
        image,
        dots,
        bands,
        printed_rows,
        qrs,
        cuts,
        status_queries,
        commands,
    }
}

/// A raster band command (`GS v 0`, mode 0) for `rows` of `width` dots (a multiple of 8).
#[cfg(test)]
fn band(width: u32, rows: &[Vec<bool>]) -> Vec<u8> {
    let x = (width / 8) as u16;
    let y = rows.len() as u16;
    let mut out = vec![
        0x1D,
        0x76,
        0x30,
        0,
        x as u8,
        (x >> 8) as u8,
        y as u8,
        (y >> 8) as u8,
    ];
    for row in rows {
        for chunk in row.chunks(8) {
            out.push(
                chunk
                    .iter()
                    .enumerate()
                    .fold(0u8, |b, (i, d)| if *d { b | 0x80 >> i } else { b }),
            );
        }
    }
    out
}

#[test]
fn decoder_draws_bands_a_native_qr_feeds_and_a_cut() {
    let width = 384;
    // Band 1: 3 rows, the first dot and the last dot of row 0 black, row 2 all black.
    let mut rows1 = vec![vec![false; width as usize]; 3];
    rows1[0][0] = true;
    rows1[0][383] = true;
    rows1[2] = vec![true; width as usize];
    // Band 2: 2 rows, dot 9 of row 1 black.
    let mut rows2 = vec![vec![false; width as usize]; 2];
    rows2[1][9] = true;
    let url = "http://127.0.0.1:8080/#/r/05764731397880?k=12345678901234";
    let mut s = vec![0x1B, 0x40];
    s.extend(band(width, &rows1));
    s.extend(band(width, &rows2));
    s.extend([0x1B, 0x61, 0x01]);
    s.extend([0x1D, 0x28, 0x6B, 4, 0, 49, 65, 50, 0]);
    s.extend([0x1D, 0x28, 0x6B, 3, 0, 49, 67, 4]);
    s.extend([0x1D, 0x28, 0x6B, 3, 0, 49, 69, 49]);
    let n = url.len() + 3;
    s.extend([0x1D, 0x28, 0x6B, n as u8, (n >> 8) as u8, 49, 80, 48]);
    s.extend(url.as_bytes());
    s.extend([0x1D, 0x28, 0x6B, 3, 0, 49, 81, 48]);
    s.push(0x0A);
    s.extend([0x1B, 0x61, 0x00]);
    s.extend([0x1B, 0x64, 0x03]);
    s.extend([0x1D, 0x56, 0x42, 0x10]);

    let p = decode(&s);
    assert_eq!(p.dots, 384);
    assert_eq!(p.bands, 2);
    assert_eq!(p.qrs.len(), 1);
    let q = &p.qrs[0];
    assert_eq!(q.data, url.as_bytes());
    assert_eq!((q.module, q.ec), (4, 'M'));
    // The URL (56 bytes) at EC M needs version 4: 33 modules of 4 dots, centred.
    assert_eq!(q.side, 33 * 4);
    assert_eq!(q.x, (384 - 132) / 2);
    assert_eq!(q.y, 5);
    // 5 raster rows, the QR, LF (30), ESC d 3 (90), the cut's feed (16).
    let h = 5 + 132 + 30 + 90 + 16;
    assert_eq!(p.image.height(), h);
    assert_eq!(p.printed_rows, 5 + 132);
    assert_eq!(p.cuts, vec![h]);
    assert!((p.length_mm() - f64::from(h) / 8.0).abs() < 1e-9);
    assert_eq!(p.last_command(), Some("GS V"));
    let px = |x, y| p.image.get_pixel(x, y).0[0];
    assert_eq!(
        (px(0, 0), px(383, 0), px(1, 0), px(200, 1)),
        (0, 0, 255, 255)
    );
    assert!((0..384).all(|x| px(x, 2) == 0));
    assert_eq!((px(9, 4), px(8, 4), px(10, 4)), (0, 255, 255));
    // The QR's finder pattern: its top-left module is dark, the dot left of it white paper.
    assert_eq!((px(q.x, q.y), px(q.x - 1, q.y)), (0, 255));
    // Below it all is white to the end.
    assert!((q.y + q.side..h).all(|y| (0..384).all(|x| px(x, y) == 255)));
}

#[test]
#[should_panic(expected = "unknown command at offset 14: byte 0x41")]
fn decoder_refuses_text_with_its_offset() {
    let mut s = vec![0x1B, 0x40]; // offsets 0, 1
    s.extend(band(8, &[vec![true; 8]])); // 8 + 1 bytes: offsets 2..=10
    s.extend([0x1B, 0x64, 0x01]); // offsets 11..=13
    s.extend(b"ABC"); // text: a printer would print it with its own font and code page
    decode(&s);
}

#[test]
#[should_panic(expected = "unknown command at offset 5: byte 0x1B (ESC) followed by 0x74")]
fn decoder_refuses_a_code_page_command() {
    // ESC @, ESC a 1, then ESC t 27 (select a code page: the hub sends no text, so never this).
    decode(&[0x1B, 0x40, 0x1B, 0x61, 0x01, 0x1B, 0x74, 27]);
}

#[test]
#[should_panic(expected = "cut short")]
fn decoder_refuses_a_truncated_band() {
    let mut s = band(16, &[vec![true; 16], vec![false; 16]]);
    s.pop();
    decode(&s);
}
