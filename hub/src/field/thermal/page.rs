//! A receipt as printed: blocks (text, the QR, gaps, rules) laid out down a strip of paper as wide as the
//! printer's dots. Text becomes raster; the QR stays a command where the printer draws QR codes itself
//! (`native`), else it is raster too. Pure: no I/O.

use super::raster::{self, Align, Bitmap, Style};

/// Dots per millimetre of the printers served (203 dpi).
pub const DOTS_PER_MM: f32 = 8.0;
/// Dots one `ESC d` line feeds (the usual default line spacing of 3.75 mm).
pub const FEED_LINE_DOTS: u32 = 30;
/// Dots left white at each side.
pub const MARGIN: f32 = 4.0;

/// What goes on the paper, top to bottom.
#[derive(Debug, Clone)]
pub enum Block {
    /// A paragraph, wrapped to the paper; `indent` dots of hanging indent after its first line.
    Text {
        text: String,
        style: Style,
        align: Align,
        indent: f32,
    },
    /// The one QR code.
    Qr(String),
    /// White dots.
    Gap(usize),
    /// A dashed line across.
    Rule,
    /// A bar across the whole printable width with a tick every millimetre and a long one every
    /// centimetre (the test page: shows whether the profile's width matches the printer's).
    Ruler,
}

/// One part of the printed stream.
#[derive(Debug, Clone)]
pub enum Segment {
    Raster(Bitmap),
    /// A QR the printer draws: its data, module size and side in dots (the symbol without quiet zone).
    NativeQr {
        data: String,
        module: u32,
        side: u32,
    },
}

/// A laid-out receipt.
#[derive(Debug, Clone)]
pub struct Page {
    pub width: usize,
    pub segments: Vec<Segment>,
    /// The text lines exactly as drawn, top to bottom.
    pub lines: Vec<String>,
    /// The QR's data, if there is one.
    pub qr: Option<String>,
}

/// Why a page cannot be laid out.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("the printer fonts cannot write this text: {0}")]
    Unprintable(String),
    #[error("the QR data does not fit a QR code: {0}")]
    Qr(String),
}

/// Lays `blocks` out `width` dots wide; the QR native (a `GS ( k` command) or as raster.
pub fn layout(
    blocks: &[Block],
    width: usize,
    native_qr: bool,
    qr_module: u32,
) -> Result<Page, LayoutError> {
    let mut page = Page {
        width,
        segments: Vec::new(),
        lines: Vec::new(),
        qr: None,
    };
    let mut cur = Bitmap::new(width);
    let usable = width as f32 - 2.0 * MARGIN;
    for b in blocks {
        match b {
            Block::Text {
                text,
                style,
                align,
                indent,
            } => {
                let lines = raster::wrap(text, *style, usable, *indent)
                    .ok_or_else(|| LayoutError::Unprintable(text.clone()))?;
                let h = raster::line_height(*style);
                for (i, l) in lines.iter().enumerate() {
                    let top = cur.height;
                    cur.grow(h);
                    let x = match align {
                        Align::Left => MARGIN + if i > 0 { *indent } else { 0.0 },
                        Align::Centre => {
                            MARGIN + ((usable - raster::line_width(l, *style)) / 2.0).max(0.0)
                        }
                    };
                    raster::draw_line(&mut cur, l, *style, x, top);
                    page.lines.push(l.text.clone());
                }
            }
            Block::Gap(n) => cur.grow(*n),
            Block::Rule => {
                let y = cur.height as i64 + 3;
                cur.grow(8);
                for x in (MARGIN as i64..(width as f32 - MARGIN) as i64).filter(|x| x % 8 < 5) {
                    cur.set(x, y);
                    cur.set(x, y + 1);
                }
            }
            Block::Ruler => {
                let top = cur.height as i64;
                cur.grow(24);
                for x in 0..width as i64 {
                    for y in 0..4 {
                        cur.set(x, top + y);
                    }
                    let tick = if x % 80 == 0 {
                        20
                    } else if x % 8 == 0 {
                        10
                    } else {
                        0
                    };
                    for y in 4..4 + tick {
                        cur.set(x, top + y);
                    }
                }
                // Both edges, so a cut-off edge shows.
                for y in 0..24 {
                    cur.set(0, top + y);
                    cur.set(width as i64 - 1, top + y);
                }
            }
            Block::Qr(data) => {
                page.qr = Some(data.clone());
                if native_qr {
                    let sym = raster::qr_bitmap(data, qr_module as usize, 0)
                        .map_err(|e| LayoutError::Qr(e.to_string()))?;
                    // The quiet zone above and below: white raster rows (the printer adds none).
                    let quiet = 4 * qr_module as usize;
                    cur.grow(quiet);
                    page.segments.push(Segment::Raster(std::mem::replace(
                        &mut cur,
                        Bitmap::new(width),
                    )));
                    page.segments.push(Segment::NativeQr {
                        data: data.clone(),
                        module: qr_module,
                        side: sym.width as u32,
                    });
                    cur.grow(quiet);
                } else {
                    let q = raster::qr_bitmap(data, qr_module as usize, 4)
                        .map_err(|e| LayoutError::Qr(e.to_string()))?;
                    let left = width.saturating_sub(q.width) / 2;
                    let top = cur.height;
                    cur.grow(q.height);
                    for y in 0..q.height {
                        for x in 0..q.width {
                            if q.get(x, y) {
                                cur.set((left + x) as i64, (top + y) as i64);
                            }
                        }
                    }
                }
            }
        }
    }
    if cur.height > 0 {
        page.segments.push(Segment::Raster(cur));
    }
    Ok(page)
}

impl Page {
    /// Dots of paper the content takes (raster rows and QR symbols), before the final feed.
    pub fn rows(&self) -> u32 {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Raster(b) => b.height as u32,
                Segment::NativeQr { side, .. } => *side,
            })
            .sum()
    }

    /// The paper the slip takes in millimetres, the final feed of `feed_lines` included.
    pub fn length_mm(&self, feed_lines: u8) -> f32 {
        (self.rows() + u32::from(feed_lines) * FEED_LINE_DOTS) as f32 / DOTS_PER_MM
    }

    /// The whole slip as one image (a native QR drawn as the printer would: centred, no quiet zone).
    pub fn preview(&self) -> Bitmap {
        let mut out = Bitmap::new(self.width);
        for s in &self.segments {
            match s {
                Segment::Raster(b) => out.append(b),
                Segment::NativeQr { data, module, .. } => {
                    if let Ok(q) = raster::qr_bitmap(data, *module as usize, 0) {
                        let top = out.height;
                        out.grow(q.height);
                        let left = self.width.saturating_sub(q.width) / 2;
                        for y in 0..q.height {
                            for x in 0..q.width {
                                if q.get(x, y) {
                                    out.set((left + x) as i64, (top + y) as i64);
                                }
                            }
                        }
                    }
                }
            }
        }
        out
    }
}
