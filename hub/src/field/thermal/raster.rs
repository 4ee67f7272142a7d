//! The paper as a 1-bit image: a canvas one printer dot per pixel, text laid out in lines (word wrap, a
//! long word such as a URL broken anywhere), the QR as squares of dots. Pure: no I/O.

use ab_glyph::{point, Font, Glyph, PxScale};

use super::font::{self, Shaped, Weight};

/// A 1-bit image, one byte per dot (1 = black), `width` dots wide, rows added as content is drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    pub width: usize,
    pub height: usize,
    dots: Vec<u8>,
}

impl Bitmap {
    pub fn new(width: usize) -> Bitmap {
        Bitmap {
            width,
            height: 0,
            dots: Vec::new(),
        }
    }

    /// Adds `rows` white rows at the bottom.
    pub fn grow(&mut self, rows: usize) {
        self.height += rows;
        self.dots.resize(self.width * self.height, 0);
    }

    /// Blackens the dot at (x, y); outside the image: nothing.
    pub fn set(&mut self, x: i64, y: i64) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            self.dots[y as usize * self.width + x as usize] = 1;
        }
    }

    pub fn get(&self, x: usize, y: usize) -> bool {
        self.dots[y * self.width + x] == 1
    }

    /// Row `y` packed 8 dots to a byte, the leftmost dot in the most significant bit (ESC/POS order).
    pub fn packed_row(&self, y: usize) -> Vec<u8> {
        let row = &self.dots[y * self.width..(y + 1) * self.width];
        row.chunks(8)
            .map(|c| {
                c.iter()
                    .enumerate()
                    .fold(0u8, |b, (i, &d)| b | (d << (7 - i)))
            })
            .collect()
    }

    /// `other` (same width) added below.
    pub fn append(&mut self, other: &Bitmap) {
        debug_assert_eq!(self.width, other.width);
        self.dots.extend_from_slice(&other.dots);
        self.height += other.height;
    }

    /// As a grey image (black dots on white), for the on-screen preview.
    pub fn to_image(&self) -> image::GrayImage {
        image::GrayImage::from_fn(self.width as u32, self.height as u32, |x, y| {
            image::Luma([if self.get(x as usize, y as usize) {
                0
            } else {
                255
            }])
        })
    }
}

/// How a text is written: size in pixels (dots) and weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Style {
    pub px: f32,
    pub weight: Weight,
}

/// Where a line sits across the paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Centre,
}

/// One line of text as laid out: what it says and its glyphs.
#[derive(Debug, Clone)]
pub struct Line {
    pub text: String,
    glyphs: Vec<Shaped>,
}

/// `text` broken into lines no wider than `width` dots: at spaces, and inside a word only when the word
/// alone is wider than a line. `indent` dots start every line after the first (a bullet's hanging
/// indent). `None` when the fonts lack a character of `text`.
pub fn wrap(text: &str, style: Style, width: f32, indent: f32) -> Option<Vec<Line>> {
    let glyphs = font::shape(text, style.weight)?;
    let w = |g: &[Shaped]| font::width(style.weight, style.px, g);
    let mut lines: Vec<Vec<Shaped>> = Vec::new();
    let mut cur: Vec<Shaped> = Vec::new();
    let max = |n: usize| if n == 0 { width } else { width - indent };
    // Words with the space after each (a space at the end of a line is dropped).
    let mut words: Vec<Vec<Shaped>> = Vec::new();
    for g in glyphs {
        let last_space = words
            .last()
            .and_then(|wd| wd.last())
            .is_some_and(|l| l.ch == ' ');
        if words.is_empty() || (last_space && g.ch != ' ') {
            words.push(Vec::new());
        }
        words.last_mut().expect("a word").push(g);
    }
    for word in words {
        let trimmed: Vec<Shaped> = trim_end(&word);
        if w(&cur) + w(&trimmed) <= max(lines.len()) {
            cur.extend(word);
            continue;
        }
        if !cur.is_empty() {
            lines.push(trim_end(&cur));
            cur = Vec::new();
        }
        if w(&trimmed) <= max(lines.len()) {
            cur.extend(word);
            continue;
        }
        // A word wider than a line (a URL): broken before the glyph that would not fit, marks kept
        // with their letter.
        for g in word {
            if !g.mark
                && !cur.is_empty()
                && w(&cur) + font::advance(style.weight, style.px, &g) > max(lines.len())
            {
                lines.push(std::mem::take(&mut cur));
            }
            cur.push(g);
        }
    }
    if !cur.is_empty() {
        lines.push(trim_end(&cur));
    }
    Some(
        lines
            .into_iter()
            .map(|g| Line {
                text: g.iter().map(|s| s.ch).collect::<String>(),
                glyphs: g,
            })
            .collect(),
    )
}

fn trim_end(g: &[Shaped]) -> Vec<Shaped> {
    let n = g.iter().rposition(|s| s.ch != ' ').map_or(0, |i| i + 1);
    g[..n].to_vec()
}

/// The height of one line of `style`: ascent and descent, plus room above for the stacked marks of
/// Vietnamese capitals (Ể, Ỗ) and a little air.
pub fn line_height(style: Style) -> usize {
    let (a, d) = font::metrics(style.weight, style.px);
    ((a - d) * 1.12).ceil() as usize
}

/// Draws `line` on `bmp` with its top at row `top`, `x` dots from the left edge. Coverage of at least
/// one half blackens a dot (a thermal head prints dots, not greys).
pub fn draw_line(bmp: &mut Bitmap, line: &Line, style: Style, x: f32, top: usize) {
    let f = font::font(style.weight);
    let (ascent, _) = font::metrics(style.weight, style.px);
    let extra = line_height(style) as f32 - (ascent - font::metrics(style.weight, style.px).1);
    let baseline = top as f32 + extra * 0.75 + ascent;
    let scale = PxScale::from(style.px);
    let mut pen = x;
    for g in &line.glyphs {
        let glyph = Glyph {
            id: g.id,
            scale,
            position: point(pen, baseline),
        };
        if let Some(o) = f.outline_glyph(glyph) {
            let b = o.px_bounds();
            o.draw(|gx, gy, c| {
                if c >= 0.5 {
                    bmp.set(b.min.x as i64 + gx as i64, b.min.y as i64 + gy as i64);
                }
            });
        }
        pen += font::advance(style.weight, style.px, g);
    }
}

/// The width of `line` in dots.
pub fn line_width(line: &Line, style: Style) -> f32 {
    font::width(style.weight, style.px, &line.glyphs)
}

/// A QR code of `data` (error correction M) as a square of `module`-dot modules with a quiet zone of
/// `quiet` modules on each side.
pub fn qr_bitmap(
    data: &str,
    module: usize,
    quiet: usize,
) -> Result<Bitmap, crate::shared::qr::QrError> {
    // The hub's one QR encoder (UTF-8 marked with ECI where the text is not ASCII).
    let code = crate::shared::qr::code(data, qrcode::EcLevel::M)?;
    let n = code.width();
    let colors = code.to_colors();
    let side = (n + 2 * quiet) * module;
    let mut b = Bitmap::new(side);
    b.grow(side);
    for (i, c) in colors.iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (mx, my) = (i % n + quiet, i / n + quiet);
            for dy in 0..module {
                for dx in 0..module {
                    b.set((mx * module + dx) as i64, (my * module + dy) as i64);
                }
            }
        }
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: Style = Style {
        px: 24.0,
        weight: Weight::Regular,
    };

    #[test]
    fn lines_fit_the_paper_and_keep_every_word() {
        let text = "Giữ giấy này. Đọc mã biên nhận khi hỏi kết quả hoặc khi đến nhận giấy tờ.";
        let lines = wrap(text, BODY, 376.0, 0.0).unwrap();
        assert!(lines.len() >= 2);
        for l in &lines {
            assert!(line_width(l, BODY) <= 376.0, "{}", l.text);
        }
        let joined = lines
            .iter()
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(joined, text);
    }

    #[test]
    fn a_url_longer_than_a_line_breaks_inside() {
        let url = "https://192.168.44.1:8443/#/r/05764731397880?k=12345678901234";
        let lines = wrap(url, BODY, 376.0, 0.0).unwrap();
        assert!(lines.len() >= 2);
        assert_eq!(
            lines.iter().map(|l| l.text.as_str()).collect::<String>(),
            url
        );
    }

    #[test]
    fn drawn_text_blackens_dots_inside_the_line() {
        let mut b = Bitmap::new(384);
        let h = line_height(BODY);
        b.grow(h);
        let l = &wrap("Hẹn trả kết quả", BODY, 384.0, 0.0).unwrap()[0];
        draw_line(&mut b, l, BODY, 4.0, 0);
        let black = (0..b.height)
            .flat_map(|y| (0..b.width).map(move |x| (x, y)))
            .filter(|&(x, y)| b.get(x, y))
            .count();
        assert!(black > 200, "{black}");
        // The stacked marks stay inside the line: the first row is white.
        assert!((0..b.width).all(|x| !b.get(x, 0)));
    }

    #[test]
    fn packed_rows_put_the_leftmost_dot_in_the_high_bit() {
        let mut b = Bitmap::new(16);
        b.grow(1);
        b.set(0, 0);
        b.set(9, 0);
        assert_eq!(b.packed_row(0), vec![0x80, 0x40]);
    }

    #[test]
    fn any_mix_of_words_wraps_within_the_paper_and_keeps_them_all() {
        // Many generated paragraphs (a fixed-seed generator): Vietnamese and minority-language words,
        // long codes and URLs, at each size the slip uses.
        let words = [
            "Giấy",
            "xác",
            "nhận",
            "tình",
            "trạng",
            "hôn",
            "nhân",
            "Ủy",
            "ban",
            "nhân",
            "dân",
            "xã",
            "Nar",
            "văt",
            "sla",
            "Êa",
            "drei",
            "ƀuôn",
            "Ntxawg",
            "0576-4731-3978-80",
            "—",
            "•",
            "https://192.168.44.1:8443/#/r/05764731397880?k=12345678901234",
            "ỄỆỖỘ",
            "(3",
            "ngày)",
        ];
        let mut seed: u64 = 0x2026_1207;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        for px in [20.0, 22.0, 24.0, 34.0] {
            for weight in [Weight::Regular, Weight::Bold] {
                let style = Style { px, weight };
                for _ in 0..40 {
                    let n = 1 + next(25);
                    let text: Vec<&str> = (0..n).map(|_| words[next(words.len())]).collect();
                    let text = text.join(" ");
                    let indent = if next(2) == 0 { 0.0 } else { 16.0 };
                    let lines = wrap(&text, style, 376.0, indent).unwrap();
                    for (i, l) in lines.iter().enumerate() {
                        let room = if i == 0 { 376.0 } else { 376.0 - indent };
                        assert!(
                            line_width(l, style) <= room + 0.01,
                            "{px} {:?}: {}",
                            weight,
                            l.text
                        );
                        assert!(!l.text.is_empty() && !l.text.ends_with(' '));
                    }
                    // Nothing lost: the lines rejoined give the words back (a word broken inside
                    // rejoins without a space).
                    let squeeze = |s: &str| s.split_whitespace().collect::<String>();
                    let joined: String = lines.iter().map(|l| l.text.as_str()).collect();
                    assert_eq!(squeeze(&joined), squeeze(&text));
                }
            }
        }
    }

    #[test]
    fn the_raster_qr_decodes_to_its_data() {
        let data = "https://10.42.0.1/#/r/05764731397880?k=12345678901234";
        let b = qr_bitmap(data, 5, 4).unwrap();
        let img = b.to_image();
        let mut prep = rqrr::PreparedImage::prepare(img);
        let grids = prep.detect_grids();
        assert_eq!(grids.len(), 1);
        assert_eq!(grids[0].decode().unwrap().1, data);
    }
}
