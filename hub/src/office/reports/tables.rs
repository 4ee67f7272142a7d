//! The report's figures as named tables with Vietnamese labels: each becomes a CSV download (UTF-8 with
//! a BOM, for Excel) and, except the sessions list, a chart. One place names them so the page, the CSV
//! and the chart always show the same numbers.

use super::charts::Bars;
use super::store::{Count, Figures, SessionRow};

/// The figures with a chart, in page order.
pub const CHARTS: &[&str] = &[
    "services",
    "dossiers-by-procedure",
    "dossiers-by-hamlet",
    "dossiers-by-sex",
    "dossiers-by-age-band",
    "registration-days",
    "consented-by-sex",
    "consented-by-age-band",
    "consented-by-ethnicity",
];

/// Every table offered as CSV: the charted ones and the sessions list.
pub fn is_table(name: &str) -> bool {
    name == "sessions" || CHARTS.contains(&name)
}

/// Vietnamese name of a dossier status.
pub fn status_vi(s: &str) -> String {
    match s {
        "received" => "Đã tiếp nhận",
        "in_progress" => "Đang giải quyết",
        "needs_papers" => "Cần bổ sung giấy tờ",
        "registered" => "Đã đăng ký",
        "ready_for_pickup" => "Chờ trả kết quả",
        "handed_over" => "Đã trả kết quả",
        "rejected" => "Từ chối",
        other => other,
    }
    .to_owned()
}

const STATUSES: &[&str] = &[
    "received",
    "in_progress",
    "needs_papers",
    "registered",
    "ready_for_pickup",
    "handed_over",
    "rejected",
];

/// Vietnamese name of a procedure (its catalogue title), or its id.
pub fn procedure_vi(id: &str) -> String {
    crate::shared::procedures::all()
        .into_iter()
        .filter(|p| p.id == id)
        .max_by_key(|p| p.version)
        .map(|p| p.title.vi.clone())
        .unwrap_or_else(|| id.to_owned())
}

fn service_vi(k: &str) -> String {
    match k {
        "vneid_level2_activated" => "Kích hoạt định danh điện tử mức 2",
        "sim_registered" => "Chuẩn hoá thông tin thuê bao",
        "account_created" => "Tạo tài khoản dịch vụ công",
        "guidance_given" => "Hướng dẫn thủ tục",
        "dossier_captured" => "Tiếp nhận hồ sơ",
        "other" => "Khác",
        other => other,
    }
    .to_owned()
}

fn sex_vi(k: &str) -> String {
    match k {
        "male" => "Nam",
        "female" => "Nữ",
        "other" => "Khác",
        "" => "Không rõ",
        other => other,
    }
    .to_owned()
}

fn band_vi(k: &str) -> String {
    match k {
        "" => "Không rõ".to_owned(),
        "60+" => "60 tuổi trở lên".to_owned(),
        b => format!("{b} tuổi"),
    }
}

fn hamlet_vi(k: &str) -> String {
    match k {
        "" => "Tiếp nhận tại trụ sở (không thuộc buổi lưu động)".to_owned(),
        "?" => "Buổi lưu động chưa có báo cáo".to_owned(),
        h => h.to_owned(),
    }
}

/// One table: a title, column headers and rows of cells.
#[derive(Debug, Clone)]
pub struct Table {
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

fn counts(title: &str, what: &str, list: &[Count], label: impl Fn(&str) -> String) -> Table {
    Table {
        title: title.to_owned(),
        header: vec!["Mã".into(), what.into(), "Số lượng".into()],
        rows: list
            .iter()
            .map(|c| vec![c.key.clone(), label(&c.key), c.count.to_string()])
            .collect(),
    }
}

/// The table `name` of `f` (and `sessions` for the sessions list); `None` for an unknown name.
pub fn table(name: &str, f: &Figures, sessions: &[SessionRow]) -> Option<Table> {
    Some(match name {
        "services" => counts(
            "Dịch vụ đã thực hiện theo loại",
            "Loại dịch vụ",
            &f.served.services,
            service_vi,
        ),
        "consented-by-sex" => counts(
            "Người được phục vụ theo giới tính (có đồng ý)",
            "Giới tính",
            &f.served.by_sex,
            sex_vi,
        ),
        "consented-by-age-band" => counts(
            "Người được phục vụ theo nhóm tuổi (có đồng ý)",
            "Nhóm tuổi",
            &f.served.by_age_band,
            band_vi,
        ),
        "consented-by-ethnicity" => Table {
            title: "Người được phục vụ theo dân tộc (có đồng ý)".into(),
            header: vec![
                "Hệ mã".into(),
                "Mã".into(),
                "Dân tộc".into(),
                "Số lượng".into(),
            ],
            rows: f
                .served
                .by_ethnicity
                .iter()
                .map(|e| {
                    vec![
                        e.system.clone(),
                        e.code.clone(),
                        e.name.clone(),
                        e.count.to_string(),
                    ]
                })
                .collect(),
        },
        "dossiers-by-procedure" => Table {
            title: "Hồ sơ theo thủ tục và trạng thái".into(),
            header: vec![
                "Mã thủ tục".into(),
                "Thủ tục".into(),
                "Mã trạng thái".into(),
                "Trạng thái".into(),
                "Số hồ sơ".into(),
            ],
            rows: f
                .dossiers
                .by_procedure_status
                .iter()
                .map(|p| {
                    vec![
                        p.procedure.clone(),
                        procedure_vi(&p.procedure),
                        p.status.clone(),
                        status_vi(&p.status),
                        p.count.to_string(),
                    ]
                })
                .collect(),
        },
        "dossiers-by-hamlet" => counts(
            "Hồ sơ theo thôn, ấp",
            "Thôn, ấp",
            &f.dossiers.by_hamlet,
            hamlet_vi,
        ),
        "dossiers-by-sex" => counts(
            "Hồ sơ theo giới tính của người được đăng ký",
            "Giới tính",
            &f.dossiers.by_sex,
            sex_vi,
        ),
        "dossiers-by-age-band" => counts(
            "Hồ sơ theo nhóm tuổi khi tiếp nhận",
            "Nhóm tuổi",
            &f.dossiers.by_age_band,
            band_vi,
        ),
        "registration-days" => Table {
            title: "Thời gian từ tiếp nhận đến đăng ký (ngày)".into(),
            header: vec!["Số ngày".into(), "Số hồ sơ".into()],
            rows: f
                .registration
                .days
                .iter()
                .map(|d| vec![d.days.to_string(), d.count.to_string()])
                .collect(),
        },
        "sessions" => Table {
            title: "Các buổi lưu động".into(),
            header: [
                "Ngày",
                "Thôn, ấp",
                "Địa điểm",
                "Mã thiết bị",
                "Tên thiết bị",
                "Mã buổi",
                "Số phiếu",
                "Người được phục vụ",
                "Dịch vụ",
                "Hồ sơ dự kiến",
                "Hồ sơ đã nhận",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            rows: sessions
                .iter()
                .map(|s| {
                    vec![
                        s.date.clone(),
                        s.hamlet.clone(),
                        s.venue_name.clone(),
                        s.device_id.clone(),
                        s.device_name.clone().unwrap_or_default(),
                        s.session_id.clone(),
                        s.tickets_issued.to_string(),
                        s.villagers_served.to_string(),
                        s.services.to_string(),
                        s.dossiers_expected.to_string(),
                        s.dossiers_received.to_string(),
                    ]
                })
                .collect(),
        },
        _ => return None,
    })
}

fn simple(t: Table, unit: &str) -> Bars {
    let n = t.header.len();
    Bars {
        title: t.title,
        unit: unit.to_owned(),
        labels: t.rows.iter().map(|r| r[n - 2].clone()).collect(),
        series: vec![(
            unit.to_owned(),
            t.rows
                .iter()
                .map(|r| r[n - 1].parse().unwrap_or(0))
                .collect(),
        )],
    }
}

/// The chart of figure `name`; `None` for an unknown name.
pub fn chart(name: &str, f: &Figures) -> Option<Bars> {
    if !CHARTS.contains(&name) {
        return None;
    }
    Some(match name {
        "dossiers-by-procedure" => {
            // One bar per procedure, stacked by status in the order a dossier moves.
            let procs: Vec<String> = f
                .dossiers
                .by_procedure
                .iter()
                .map(|c| c.key.clone())
                .collect();
            let series = STATUSES
                .iter()
                .filter(|s| {
                    f.dossiers
                        .by_procedure_status
                        .iter()
                        .any(|p| p.status == **s)
                })
                .map(|s| {
                    let v: Vec<u64> = procs
                        .iter()
                        .map(|p| {
                            f.dossiers
                                .by_procedure_status
                                .iter()
                                .filter(|x| &x.procedure == p && x.status == *s)
                                .map(|x| x.count)
                                .sum()
                        })
                        .collect();
                    (status_vi(s), v)
                })
                .collect();
            Bars {
                title: "Hồ sơ theo thủ tục và trạng thái".into(),
                unit: "Số hồ sơ".into(),
                labels: procs.iter().map(|p| procedure_vi(p)).collect(),
                series,
            }
        }
        "registration-days" => {
            let t = table(name, f, &[])?;
            Bars {
                title: t.title,
                unit: "Số hồ sơ".into(),
                labels: f
                    .registration
                    .days
                    .iter()
                    .map(|d| format!("{} ngày", d.days))
                    .collect(),
                series: vec![(
                    "Số hồ sơ".into(),
                    f.registration.days.iter().map(|d| d.count).collect(),
                )],
            }
        }
        n if n.starts_with("dossiers-") => simple(table(n, f, &[])?, "Số hồ sơ"),
        n if n.starts_with("consented-") => simple(table(n, f, &[])?, "Số lượt"),
        n => simple(table(n, f, &[])?, "Số lượt"),
    })
}

/// A CSV cell: quoted when needed; a leading `=`, `+`, `-` or `@` is defused with an apostrophe so a
/// spreadsheet never runs it as a formula (hamlet and venue names come from the field).
fn cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) && s.parse::<f64>().is_err() {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The table as CSV: UTF-8 with a byte order mark, CRLF line ends, a header row.
pub fn csv(t: &Table) -> String {
    let mut o = String::from("\u{feff}");
    for row in std::iter::once(&t.header).chain(&t.rows) {
        let line: Vec<String> = row.iter().map(|c| cell(c)).collect();
        o.push_str(&line.join(","));
        o.push_str("\r\n");
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_bom_quotes_and_no_formulas() {
        let t = Table {
            title: "x".into(),
            header: vec!["Thôn".into(), "Số".into()],
            rows: vec![
                vec!["Bù Lư, Bù Khơn".into(), "3".into()],
                vec!["=HYPERLINK(\"x\")".into(), "-1".into()],
            ],
        };
        let s = csv(&t);
        assert!(s.starts_with('\u{feff}'));
        assert_eq!(
            s,
            "\u{feff}Thôn,Số\r\n\"Bù Lư, Bù Khơn\",3\r\n\"'=HYPERLINK(\"\"x\"\")\",-1\r\n"
        );
    }
}
