//! The printer test page (`hub printer test`, `POST /api/v1/printer/test`): what an officer prints before
//! a session to see that the printer, its paper and its profile are right: every Vietnamese tone on every
//! vowel, the minority languages' letters, each text size the slip uses, a ruler across the printable
//! width, and a QR to scan.

use super::font::Weight;
use super::page::Block;
use super::profiles::Profile;
use super::raster::{Align, Style};

/// What the test page's QR holds: scanning it shows this text.
pub const QR_TEXT: &str = "OUTREACH-KIT PRINTER TEST OK";

fn text(t: impl Into<String>, px: f32, weight: Weight, align: Align) -> Block {
    Block::Text {
        text: t.into(),
        style: Style { px, weight },
        align,
        indent: 0.0,
    }
}

/// The test page's blocks for a printer of `profile` on hub `hub_name`.
pub fn blocks(profile: &Profile, hub_name: &str) -> Vec<Block> {
    let l = Align::Left;
    vec![
        text(
            "TRANG IN THỬ / TEST PAGE",
            24.0,
            Weight::Bold,
            Align::Centre,
        ),
        text(hub_name, 20.0, Weight::Regular, Align::Centre),
        Block::Gap(8),
        text(
            format!(
                "{} — {} ({} điểm/dots, {} mm)",
                profile.name_vi, profile.id, profile.dots, profile.paper_mm
            ),
            20.0,
            Weight::Regular,
            l,
        ),
        Block::Ruler,
        text(
            "Thước: vạch ngắn 1 mm, vạch dài 1 cm; hai mép phải in đủ.",
            20.0,
            Weight::Regular,
            l,
        ),
        Block::Gap(8),
        text(
            "ắ ằ ẳ ẵ ặ ấ ầ ẩ ẫ ậ ế ề ể ễ ệ ố ồ ổ ỗ ộ ớ ờ ở ỡ ợ ứ ừ ử ữ ự đ",
            22.0,
            Weight::Regular,
            l,
        ),
        text(
            "Ắ Ằ Ẳ Ẵ Ặ Ấ Ầ Ẩ Ẫ Ậ Ế Ề Ể Ễ Ệ Ố Ồ Ổ Ỗ Ộ Ớ Ờ Ở Ỡ Ợ Ứ Ừ Ử Ữ Ự Đ",
            22.0,
            Weight::Bold,
            l,
        ),
        text(
            "Ê Đê, Jrai, Ba Na: ă ĕ ĭ ŏ ŭ ơ\u{306} ư\u{306} ƀ Ƀ č ñ",
            22.0,
            Weight::Regular,
            l,
        ),
        text("Hmông: Nyob zoo! Tày: Pỉ noọng", 22.0, Weight::Regular, l),
        Block::Gap(8),
        text("Chữ nhỏ 20 — Giữ giấy này.", 20.0, Weight::Regular, l),
        text("Chữ thường 22 — Hẹn trả kết quả", 22.0, Weight::Regular, l),
        text("Chữ đậm 24 — Giấy biên nhận", 24.0, Weight::Bold, l),
        text("0576-4731-3978-80", 34.0, Weight::Bold, Align::Centre),
        Block::Rule,
        text(
            if profile.native_qr {
                "QR do máy in tự vẽ (GS ( k). Quét được mã dưới đây là máy in tốt."
            } else {
                "QR in dạng ảnh. Quét được mã dưới đây là máy in tốt."
            },
            20.0,
            Weight::Regular,
            l,
        ),
        Block::Qr(QR_TEXT.into()),
        text(
            "Nếu chữ mờ, bị cắt hoặc QR không quét được: xem Hướng dẫn thực địa, mục Máy in nhiệt.",
            20.0,
            Weight::Regular,
            l,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::page::layout;
    use super::super::profiles;
    use super::*;

    #[test]
    fn the_test_page_lays_out_on_every_profile() {
        for p in profiles::all() {
            let page = layout(
                &blocks(p, "Trạm thử"),
                p.dots as usize,
                p.native_qr,
                p.qr_module,
            )
            .unwrap();
            assert_eq!(page.qr.as_deref(), Some(QR_TEXT));
            assert!(page.length_mm(p.feed_lines) < 200.0, "{}", p.id);
            assert!(page.lines.iter().any(|l| l.contains("TRANG IN THỬ")));
        }
    }
}
