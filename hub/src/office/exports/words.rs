//! Dates in Vietnamese words, as the birth declaration asks for the date of birth "bằng chữ"
//! (e.g. 2024-03-05 → "Ngày năm, tháng ba, năm hai nghìn không trăm hai mươi tư").
//!
//! Conventions of official writing: 1 after "mươi" is "mốt", 4 after "mươi" is "tư", 5 after "mười" or
//! "mươi" is "lăm", a zero tens digit before units is "linh", a zero hundreds digit after thousands is
//! "không trăm"; the fourth month is "tháng tư".

use time::Date;

const DIGITS: [&str; 10] = [
    "không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín",
];

/// 10–99 in words.
fn tens(n: u32) -> String {
    let (t, u) = (n / 10, n % 10);
    let head = if t == 1 {
        "mười".to_owned()
    } else {
        format!("{} mươi", DIGITS[t as usize])
    };
    let tail = match (t, u) {
        (_, 0) => return head,
        (_, 5) => "lăm",
        (1, _) => DIGITS[u as usize],
        (_, 1) => "mốt",
        (_, 4) => "tư",
        _ => DIGITS[u as usize],
    };
    format!("{head} {tail}")
}

/// 0–999 in words; `full` says a higher group came before (so a zero hundreds digit is spoken).
fn hundreds(n: u32, full: bool) -> String {
    let (h, r) = (n / 100, n % 100);
    let mut parts = Vec::new();
    if h > 0 || full {
        parts.push(format!("{} trăm", DIGITS[h as usize]));
    }
    match r {
        0 if parts.is_empty() => parts.push(DIGITS[0].to_owned()),
        0 => {}
        1..=9 if !parts.is_empty() => parts.push(format!("linh {}", DIGITS[r as usize])),
        1..=9 => parts.push(DIGITS[r as usize].to_owned()),
        _ => parts.push(tens(r)),
    }
    parts.join(" ")
}

/// A whole number from 0 to 999,999 in Vietnamese words.
pub fn number(n: u32) -> String {
    let (k, r) = (n / 1000, n % 1000);
    if k == 0 {
        return hundreds(r, false);
    }
    let head = format!("{} nghìn", hundreds(k, false));
    if r == 0 {
        head
    } else {
        format!("{head} {}", hundreds(r, true))
    }
}

/// The month's name in words ("tư" for April, as written).
fn month(m: u8) -> String {
    if m == 4 {
        "tư".to_owned()
    } else {
        number(u32::from(m))
    }
}

/// A date in words: "Ngày hai mươi mốt, tháng tư, năm hai nghìn không trăm hai mươi lăm".
pub fn date_in_words(d: Date) -> String {
    format!(
        "Ngày {}, tháng {}, năm {}",
        number(u32::from(d.day())),
        month(d.month() as u8),
        number(d.year().max(0) as u32)
    )
}

/// A date in figures as Vietnamese forms print it: `dd/mm/yyyy`.
pub fn date_in_figures(d: Date) -> String {
    format!("{:02}/{:02}/{:04}", d.day(), d.month() as u8, d.year())
}

/// A date in ISO 8601, `YYYY-MM-DD`: the one form no locale reads with day and month swapped.
pub fn date_iso(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn numbers_follow_the_written_conventions() {
        let cases = [
            (0, "không"),
            (1, "một"),
            (5, "năm"),
            (10, "mười"),
            (11, "mười một"),
            (14, "mười bốn"),
            (15, "mười lăm"),
            (20, "hai mươi"),
            (21, "hai mươi mốt"),
            (24, "hai mươi tư"),
            (25, "hai mươi lăm"),
            (31, "ba mươi mốt"),
            (99, "chín mươi chín"),
            (100, "một trăm"),
            (105, "một trăm linh năm"),
            (110, "một trăm mười"),
            (1998, "một nghìn chín trăm chín mươi tám"),
            (2000, "hai nghìn"),
            (2005, "hai nghìn không trăm linh năm"),
            (2010, "hai nghìn không trăm mười"),
            (2015, "hai nghìn không trăm mười lăm"),
            (2021, "hai nghìn không trăm hai mươi mốt"),
            (2024, "hai nghìn không trăm hai mươi tư"),
            (2100, "hai nghìn một trăm"),
            (12_345, "mười hai nghìn ba trăm bốn mươi lăm"),
        ];
        for (n, words) in cases {
            assert_eq!(number(n), words, "{n}");
        }
    }

    #[test]
    fn dates_in_words_and_figures() {
        assert_eq!(
            date_in_words(date!(2024 - 03 - 05)),
            "Ngày năm, tháng ba, năm hai nghìn không trăm hai mươi tư"
        );
        assert_eq!(
            date_in_words(date!(2025 - 04 - 21)),
            "Ngày hai mươi mốt, tháng tư, năm hai nghìn không trăm hai mươi lăm"
        );
        assert_eq!(
            date_in_words(date!(2026 - 11 - 15)),
            "Ngày mười lăm, tháng mười một, năm hai nghìn không trăm hai mươi sáu"
        );
        assert_eq!(
            date_in_words(date!(1999 - 12 - 31)),
            "Ngày ba mươi mốt, tháng mười hai, năm một nghìn chín trăm chín mươi chín"
        );
        assert_eq!(date_in_figures(date!(2025 - 04 - 01)), "01/04/2025");
        assert_eq!(date_iso(date!(2025 - 04 - 01)), "2025-04-01");
    }
}
