//! Report charts as SVG, drawn with `plotters` (SVG backend). Without plotters' `ttf` feature its
//! SVG backend still writes every label as an SVG `<text>` element (the browser lays out the UTF-8
//! text, so Vietnamese diacritics render); plotters only estimates text widths, which is why the label
//! column has a fixed width and long labels are shortened. Each chart is a horizontal bar chart, bars
//! stacked when there are several series, with the count written at the end of each bar, and gets a
//! `<title>` and an `aria-label` for screen readers.

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

/// One chart: a title, a label per bar, and one or more series of counts (stacked in order).
#[derive(Debug, Clone)]
pub struct Bars {
    pub title: String,
    /// What the counts are, e.g. "Số hồ sơ".
    pub unit: String,
    pub labels: Vec<String>,
    pub series: Vec<(String, Vec<u64>)>,
}

const WIDTH: u32 = 800;
const ROW: u32 = 34;
const LABEL_AREA: u32 = 280;
const MAX_LABEL_CHARS: usize = 42;
const PALETTE: &[RGBColor] = &[
    RGBColor(0x1f, 0x5f, 0xa8),
    RGBColor(0xd9, 0x82, 0x2b),
    RGBColor(0x2e, 0x8b, 0x57),
    RGBColor(0x8e, 0x44, 0xad),
    RGBColor(0xc0, 0x39, 0x2b),
    RGBColor(0x55, 0x5f, 0x66),
    RGBColor(0x9a, 0x7b, 0x0a),
];

/// Escapes text for XML content and attribute values.
pub fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

fn shorten(s: &str) -> String {
    if s.chars().count() <= MAX_LABEL_CHARS {
        s.to_owned()
    } else {
        let mut o: String = s.chars().take(MAX_LABEL_CHARS - 1).collect();
        o.push('…');
        o
    }
}

/// The chart as a standalone SVG document.
pub fn svg(b: &Bars) -> String {
    let n = b.labels.len();
    let legend = if b.series.len() > 1 { 30 } else { 0 };
    let height = 70 + legend + ROW * n.max(1) as u32;
    let mut out = String::new();
    let drawn = draw(&mut out, b, height, legend);
    if let Err(e) = drawn {
        tracing::warn!("report chart not drawn: {e}");
        out.clear();
    }
    if out.is_empty() {
        out = format!(
            "<svg width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" xmlns=\"http://www.w3.org/2000/svg\"></svg>"
        );
    }
    let totals: Vec<u64> = (0..n)
        .map(|i| {
            b.series
                .iter()
                .map(|(_, v)| v.get(i).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let described: Vec<String> = b
        .labels
        .iter()
        .zip(&totals)
        .map(|(l, t)| format!("{l}: {t}"))
        .collect();
    let aria = if described.is_empty() {
        format!("{} — chưa có số liệu", b.title)
    } else {
        format!("{} — {}", b.title, described.join("; "))
    };
    let head = format!("<svg role=\"img\" aria-label=\"{}\" ", xml_escape(&aria));
    let out = out.replacen("<svg ", &head, 1);
    match out.find('>') {
        Some(i) => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}<title>{}</title>{}",
            &out[..=i],
            xml_escape(&b.title),
            &out[i + 1..]
        ),
        None => out,
    }
}

fn draw(
    out: &mut String,
    b: &Bars,
    height: u32,
    legend: u32,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(out, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let title_style = ("sans-serif", 18).into_font().color(&BLACK);
    let n = b.labels.len();
    if n == 0 {
        root.draw(&Text::new(b.title.clone(), (12, 12), title_style))?;
        root.draw(&Text::new(
            "Chưa có số liệu (no data)".to_owned(),
            (12, 48),
            ("sans-serif", 15).into_font().color(&BLACK),
        ))?;
        root.present()?;
        return Ok(());
    }
    let totals: Vec<u64> = (0..n)
        .map(|i| {
            b.series
                .iter()
                .map(|(_, v)| v.get(i).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1) as f64;
    let (top, bottom) = root.split_vertically(height - legend);
    let mut chart = ChartBuilder::on(&top)
        .caption(b.title.clone(), title_style)
        .margin(10)
        .margin_right(40)
        .x_label_area_size(30)
        .y_label_area_size(LABEL_AREA)
        .build_cartesian_2d(0f64..max * 1.12, (0..n).into_segmented())?;
    let labels: Vec<String> = b.labels.iter().map(|l| shorten(l)).collect();
    // Segment 0 is at the bottom: the first label goes on top.
    let row_of = |i: usize| n - 1 - i;
    let label_of = |v: &SegmentValue<usize>| match v {
        SegmentValue::CenterOf(r) if *r < n => labels[n - 1 - *r].clone(),
        _ => String::new(),
    };
    let int_label = |x: &f64| {
        if x.fract().abs() < 1e-9 {
            format!("{}", *x as u64)
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(b.unit.clone())
        .x_labels(6)
        .x_label_formatter(&int_label)
        .y_labels(n)
        .y_label_formatter(&label_of)
        .label_style(("sans-serif", 13).into_font().color(&BLACK))
        .axis_desc_style(("sans-serif", 13).into_font().color(&BLACK))
        .light_line_style(RGBColor(0xe4, 0xe4, 0xe4))
        .draw()?;
    let mut base = vec![0u64; n];
    let mut legend_items = Vec::new();
    for (k, (name, values)) in b.series.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let rects: Vec<Rectangle<(f64, SegmentValue<usize>)>> = (0..n)
            .filter(|&i| values.get(i).copied().unwrap_or(0) > 0)
            .map(|i| {
                let v = values[i];
                let x0 = base[i] as f64;
                let x1 = (base[i] + v) as f64;
                base[i] += v;
                let mut r = Rectangle::new(
                    [
                        (x0, SegmentValue::Exact(row_of(i))),
                        (x1, SegmentValue::Exact(row_of(i) + 1)),
                    ],
                    color.filled(),
                );
                r.set_margin(6, 6, 0, 0);
                r
            })
            .collect();
        chart.draw_series(rects)?;
        legend_items.push((name.clone(), color));
    }
    chart.draw_series((0..n).map(|i| {
        Text::new(
            format!("{}", totals[i]),
            (
                totals[i] as f64 + max * 0.01,
                SegmentValue::CenterOf(row_of(i)),
            ),
            ("sans-serif", 13).into_font().color(&BLACK).pos(
                plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Left,
                    plotters::style::text_anchor::VPos::Center,
                ),
            ),
        )
    }))?;
    if legend > 0 {
        // The legend: a swatch and the series name for each series, in one line under the chart.
        let mut x = LABEL_AREA as i32;
        for (name, color) in legend_items {
            bottom.draw(&Rectangle::new([(x, 6), (x + 14, 20)], color.filled()))?;
            bottom.draw(&Text::new(
                name.clone(),
                (x + 20, 8),
                ("sans-serif", 13).into_font().color(&BLACK),
            ))?;
            x += 30 + 8 * name.chars().count() as i32;
        }
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_has_title_aria_label_and_vietnamese_text() {
        let b = Bars {
            title: "Hồ sơ theo thủ tục & trạng thái".into(),
            unit: "Số hồ sơ".into(),
            labels: vec![
                "Xác nhận tình trạng hôn nhân".into(),
                "Liên thông <3-in-1>".into(),
            ],
            series: vec![
                ("Đã tiếp nhận".into(), vec![3, 1]),
                ("Đã đăng ký".into(), vec![2, 0]),
            ],
        };
        let s = svg(&b);
        assert!(s.starts_with("<?xml"));
        assert!(
            s.contains("<title>Hồ sơ theo thủ tục &amp; trạng thái</title>"),
            "{s}"
        );
        assert!(s.contains("aria-label=\"Hồ sơ theo thủ tục &amp; trạng thái — Xác nhận tình trạng hôn nhân: 5; Liên thông &lt;3-in-1&gt;: 1\""), "{s}");
        assert!(s.contains("\nXác nhận tình trạng hôn nhân\n</text>"), "{s}");
        assert!(s.contains("\nĐã đăng ký\n</text>"), "{s}");
        assert!(s.contains("Liên thông &lt;3-in-1&gt;"), "{s}");
        assert_eq!(s.matches("<svg").count(), 1);
    }

    #[test]
    fn an_empty_chart_says_so() {
        let b = Bars {
            title: "Dịch vụ".into(),
            unit: "Lượt".into(),
            labels: vec![],
            series: vec![("Lượt".into(), vec![])],
        };
        let s = svg(&b);
        assert!(s.contains("Chưa có số liệu"), "{s}");
        assert!(s.contains("<title>Dịch vụ</title>"));
    }
}
