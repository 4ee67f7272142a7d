//! What `hub serve` prints for the person starting it: the URLs, a QR code of the main one drawn with
//! Unicode blocks, and the one-time setup link.
//!
//! The terminal QR ([`qr`]) names both colours of every module: a character cell is the upper half
//! block `▀` with its foreground the upper module's colour and its background the lower module's (a full
//! block `█` in a cell of that colour when the two modules are alike), black (SGR 30/40) for a dark module and bright white (SGR 97/107) for a light one, the 4-module quiet zone
//! drawn the same way. Nothing is left to the terminal's own colours, so the code is dark on light on a
//! black console (a Pi's screen, most terminal themes) as on a white one; a drawing that painted only
//! the dark modules (or only the light ones) with the terminal's foreground comes out inverted on one
//! of them, and zbar and ZXing read nothing.

use std::net::{IpAddr, SocketAddr};

use qrcode::{Color, EcLevel};

/// The URLs a phone can use to reach a hub bound to `addr`: every non-loopback IPv4 address first (what a
/// phone on the same Wi-Fi needs), then loopback.
pub fn urls(addr: SocketAddr) -> Vec<String> {
    let port = addr.port();
    if !addr.ip().is_unspecified() {
        return vec![format!("http://{}/", fmt_host(addr.ip(), port))];
    }
    let mut ips: Vec<IpAddr> = if_addrs::get_if_addrs()
        .map(|list| {
            list.into_iter()
                .map(|i| i.ip())
                .filter(|ip| ip.is_ipv4() && !ip.is_loopback())
                .collect()
        })
        .unwrap_or_default();
    ips.sort();
    ips.dedup();
    let mut out: Vec<String> = ips
        .into_iter()
        .map(|ip| format!("http://{}/", fmt_host(ip, port)))
        .collect();
    out.push(format!("http://127.0.0.1:{port}/"));
    out
}

fn fmt_host(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
        IpAddr::V4(v4) => format!("{v4}:{port}"),
    }
}

/// The SGR code of a module colour: `(foreground, background)`.
fn sgr(c: Color) -> (u8, u8) {
    match c {
        Color::Dark => (30, 40),
        Color::Light => (97, 107),
    }
}

/// The quiet zone around the terminal QR, in modules.
pub const QUIET_ZONE: usize = 4;

/// A QR code of `text` as terminal text: two modules a character (`▀`, upper module in the foreground
/// colour, lower in the background colour; `█` when both are alike), both colours of every cell set
/// explicitly, the quiet zone included; each line ends by resetting the colours. Empty when the text does not fit a QR code.
pub fn qr(text: &str) -> String {
    let Ok(code) = crate::shared::qr::code(text, EcLevel::M) else {
        return String::new();
    };
    let w = code.width();
    let side = w + 2 * QUIET_ZONE;
    let colors = code.to_colors();
    let at = |x: usize, y: usize| -> Color {
        if x < QUIET_ZONE || y < QUIET_ZONE || x >= QUIET_ZONE + w || y >= QUIET_ZONE + w {
            Color::Light
        } else {
            colors[(y - QUIET_ZONE) * w + (x - QUIET_ZONE)]
        }
    };
    let mut out = String::new();
    // An odd number of rows: the last cell row's lower half is one more row of quiet zone.
    for y in (0..side).step_by(2) {
        let mut last = None;
        for x in 0..side {
            let cell = (at(x, y), at(x, y + 1));
            if last != Some(cell) {
                out.push_str(&format!("\x1b[{};{}m", sgr(cell.0).0, sgr(cell.1).1));
                last = Some(cell);
            }
            // Two modules alike: a full block, in a cell whose background is that colour too.
            out.push(if cell.0 == cell.1 { '█' } else { '▀' });
        }
        out.push_str("\x1b[0m\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specific_address_gives_one_url() {
        let u = urls("127.0.0.1:9000".parse().unwrap());
        assert_eq!(u, vec!["http://127.0.0.1:9000/"]);
    }

    #[test]
    fn unspecified_address_lists_loopback_last() {
        let u = urls("0.0.0.0:8080".parse().unwrap());
        assert_eq!(u.last().unwrap(), "http://127.0.0.1:8080/");
    }

    /// Paints terminal text as a terminal would: every character cell 1 module wide and 2 high, `▀`/`▄`/
    /// `█`/space with the SGR colours in force, where "default" is the terminal theme's foreground and
    /// background (`dark_theme`: light text on black). One pixel per module; 255 = white.
    pub(crate) fn paint(text: &str, dark_theme: bool) -> image::GrayImage {
        let (def_fg, def_bg) = if dark_theme { (230u8, 0u8) } else { (0, 255) };
        let colour = |code: u8| -> Option<u8> {
            match code {
                30 | 40 => Some(0),
                37 | 47 => Some(192),
                97 | 107 => Some(255),
                _ => None,
            }
        };
        let mut rows: Vec<Vec<u8>> = Vec::new();
        for line in text.lines() {
            let (mut fg, mut bg) = (def_fg, def_bg);
            let (mut top, mut bottom) = (Vec::new(), Vec::new());
            let mut chars = line.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '\x1b' {
                    assert_eq!(chars.next(), Some('['), "CSI");
                    let mut params = String::new();
                    for p in chars.by_ref() {
                        if p == 'm' {
                            break;
                        }
                        params.push(p);
                    }
                    for p in params.split(';') {
                        let n: u8 = p.parse().unwrap_or(0);
                        match n {
                            0 => (fg, bg) = (def_fg, def_bg),
                            39 => fg = def_fg,
                            49 => bg = def_bg,
                            30..=37 | 90..=97 => fg = colour(n).expect("a known colour"),
                            40..=47 | 100..=107 => bg = colour(n).expect("a known colour"),
                            _ => panic!("unexpected SGR {n}"),
                        }
                    }
                    continue;
                }
                let (t, b) = match c {
                    '▀' => (fg, bg),
                    '▄' => (bg, fg),
                    '█' => (fg, fg),
                    ' ' => (bg, bg),
                    other => panic!("unexpected character {other:?}"),
                };
                top.push(t);
                bottom.push(b);
            }
            rows.push(top);
            rows.push(bottom);
        }
        let w = rows.iter().map(Vec::len).max().unwrap_or(0);
        // Beyond the drawn text: the terminal's own background.
        image::GrayImage::from_fn(w as u32, rows.len() as u32, |x, y| {
            image::Luma([*rows[y as usize].get(x as usize).unwrap_or(&def_bg)])
        })
    }

    /// The text of the single QR code in a one-pixel-a-module image (scaled up, with a border of the
    /// terminal's background around it as a screen would show), read with rqrr.
    fn read(img: &image::GrayImage, border: u8) -> Option<String> {
        let scale = 6;
        let pad = 8 * scale;
        let big = image::GrayImage::from_fn(
            img.width() * scale + 2 * pad,
            img.height() * scale + 2 * pad,
            |x, y| {
                let (x, y) = (x as i64 - pad as i64, y as i64 - pad as i64);
                if x < 0 || y < 0 {
                    return image::Luma([border]);
                }
                let (x, y) = (x as u32 / scale, y as u32 / scale);
                if x >= img.width() || y >= img.height() {
                    return image::Luma([border]);
                }
                *img.get_pixel(x, y)
            },
        );
        let mut p = rqrr::PreparedImage::prepare_from_greyscale(
            big.width() as usize,
            big.height() as usize,
            |x, y| big.get_pixel(x as u32, y as u32).0[0],
        );
        let grids = p.detect_grids();
        let g = grids.first()?;
        g.decode().ok().map(|(_, t)| t)
    }

    #[test]
    fn qr_scans_on_dark_and_light_terminals() {
        for text in [
            "http://192.168.4.1:8080/",
            "WIFI:T:WPA;S:Trạm Phước Minh;P:x;;",
        ] {
            let q = qr(text);
            assert!(q.lines().count() > 10);
            for (dark, border) in [(true, 0), (false, 255)] {
                let img = paint(&q, dark);
                assert_eq!(
                    read(&img, border).as_deref(),
                    Some(text),
                    "dark theme: {dark}"
                );
                // The quiet zone is drawn: 4 white modules on every side, whatever the theme.
                let (w, h) = img.dimensions();
                for i in 0..w.min(h) {
                    for d in 0..QUIET_ZONE as u32 {
                        assert_eq!(img.get_pixel(i, d).0[0], 255);
                        assert_eq!(img.get_pixel(d, i).0[0], 255);
                        assert_eq!(img.get_pixel(w - 1 - d, i).0[0], 255);
                    }
                }
            }
            // Every cell names both colours: no space, no cell left to the terminal's colours.
            assert!(!q.contains(' '));
            assert!(q
                .lines()
                .all(|l| l.starts_with("\x1b[") && l.ends_with("\x1b[0m")));
        }
    }

    #[test]
    fn the_old_drawing_was_inverted_on_a_dark_terminal() {
        // What `hub serve` printed before (the crate's Dense1x2: dark modules in the terminal's
        // foreground, light ones left to its background): unreadable on a dark console.
        let text = "http://192.168.4.1:8080/";
        let old = qrcode::QrCode::new(text)
            .unwrap()
            .render::<qrcode::render::unicode::Dense1x2>()
            .quiet_zone(true)
            .build();
        assert_eq!(read(&paint(&old, false), 255).as_deref(), Some(text));
        assert_eq!(read(&paint(&old, true), 0), None);
    }
}
