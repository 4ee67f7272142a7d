//! Valid, varied field values for the two procedures: Vietnamese names with diacritics (NFC), PINs that
//! agree with sex and birth year, dates the checks accept, and communes from the admin-unit sample the hub
//! ships. A small deterministic generator (splitmix64) makes runs repeatable without a `rand` dependency.

use std::collections::BTreeMap;

use time::{Date, Duration};

/// splitmix64: small, fast, good enough to vary test data; seeded per device so runs repeat.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
    /// True with probability `pct` percent.
    pub fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

const FAMILY: &[&str] = &[
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
    "Hồ", "Ngô", "Dương", "Lý", "Điểu", "Thị", "Lâm", "Y",
];
const MIDDLE_F: &[&str] = &["Thị", "Ngọc", "Thu", "Thanh", "Mỹ", "Kim", "Hồng"];
const MIDDLE_M: &[&str] = &["Văn", "Minh", "Đức", "Quốc", "Hữu", "Công", "Thành"];
const GIVEN_F: &[&str] = &[
    "Mai",
    "Hoa",
    "Lan",
    "Hương",
    "Thảo",
    "Nhung",
    "Hằng",
    "Trang",
    "Liên",
    "Ngân",
    "Yến",
    "Phượng",
    "Điệp",
    "Loan",
    "Hạnh",
    "Vy",
];
const GIVEN_M: &[&str] = &[
    "Minh", "Hùng", "Dũng", "Tuấn", "Khoa", "Phúc", "Đạt", "Lộc", "Sơn", "Bình", "Thắng", "Quân",
    "Hiếu", "Trung", "Việt", "Long",
];
const HAMLETS: &[&str] = &[
    "Bù Lư",
    "Bù Khơn",
    "Đăk Á",
    "Bù Dốt",
    "Bình Tiến",
    "Thác Dài",
    "Đắk Côn",
    "Khắc Khoan",
    "Cây Điệp",
    "Sơn Lang",
    "Tân Lập",
    "Đồng Tháp",
];
pub const ETHNICITIES: &[&str] = &[
    "Kinh", "Xtiêng", "Mnông", "Tày", "Nùng", "Khơ-me", "Chơ-ro", "Mạ", "Cơ-ho", "Ra-glai", "Hoa",
    "Dao",
];
const PURPOSES: &[&str] = &[
    "Bổ sung hồ sơ vay vốn ngân hàng chính sách xã hội",
    "Đăng ký kết hôn",
    "Bổ sung hồ sơ xin việc làm",
    "Làm thủ tục mua bán đất",
];
/// PIN province codes of the two sample provinces: 075 Đồng Nai, 070 former Bình Phước, 056 Khánh Hoà,
/// 058 former Ninh Thuận.
const PIN_PROVINCES: &[&str] = &["075", "070", "056", "058"];

/// A commune of the hub's built-in admin-unit sample: code and full name, with its province's full name.
#[derive(Clone)]
pub struct Commune {
    pub code: String,
    pub full_name: String,
    pub province: String,
}

impl Commune {
    /// "Xã Bù Gia Mập" as written inside a sentence: "xã Bù Gia Mập".
    pub fn in_text(&self) -> String {
        match self.full_name.strip_prefix("Xã ") {
            Some(rest) => format!("xã {rest}"),
            None => self.full_name.clone(),
        }
    }
}

/// Every commune of the admin-unit sample the hub ships (what a field hub checks commune codes against).
pub fn communes() -> Vec<Commune> {
    let mut out = Vec::new();
    for p in &hub::shared::units::sample::dataset().provinces {
        for u in &p.units {
            if u.full_name.starts_with("Xã") {
                out.push(Commune {
                    code: u.code.clone(),
                    full_name: u.full_name.clone(),
                    province: p.full_name.clone(),
                });
            }
        }
    }
    out
}

pub fn name(r: &mut Rng, female: bool) -> String {
    let (m, g) = if female {
        (MIDDLE_F, GIVEN_F)
    } else {
        (MIDDLE_M, GIVEN_M)
    };
    format!("{} {} {}", r.pick(FAMILY), r.pick(m), r.pick(g))
}

pub fn hamlet(r: &mut Rng) -> String {
    format!("Thôn {}", r.pick(HAMLETS))
}

/// A PIN whose digits 4–6 agree with `female` and `year` (protocol::Pin::consistent_with).
pub fn pin(r: &mut Rng, female: bool, year: i32) -> String {
    let century = match year {
        1900..=1999 => 0,
        _ => 1,
    };
    let digit = century * 2 + u8::from(female);
    format!(
        "{}{}{:02}{:06}",
        r.pick(PIN_PROVINCES),
        digit,
        year % 100,
        r.below(1_000_000)
    )
}

fn date_between(r: &mut Rng, from: Date, days: i64) -> Date {
    from + Duration::days(r.below(days as u64) as i64)
}

fn sex(female: bool) -> &'static str {
    if female {
        "female"
    } else {
        "male"
    }
}

/// A complete certificate-of-marital-status request (the typed values; the hub derives nothing here).
pub fn marital(r: &mut Rng, communes: &[Commune], today: Date) -> BTreeMap<String, String> {
    let female = r.chance(50);
    let dob = date_between(
        r,
        Date::from_calendar_date(1965, time::Month::January, 1).unwrap(),
        365 * 40,
    );
    let person = name(r, female);
    let pin = pin(r, female, dob.year());
    let commune = r.pick(communes).clone();
    let residence = format!("{}, {}, {}", hamlet(r), commune.full_name, commune.province);
    let issue = date_between(r, today - Duration::days(365 * 5), 365 * 4);
    let status = *r.pick(&["never_married", "never_married", "never_married", "married"]);
    let mut f = BTreeMap::new();
    for (k, v) in [
        (
            "addressee.commune",
            format!("Ủy ban nhân dân {}", commune.in_text()),
        ),
        ("requester.full_name", person.clone()),
        ("requester.residence", residence.clone()),
        ("requester.id_type", "can_cuoc".into()),
        ("requester.pin", pin.clone()),
        (
            "requester.id_issuer",
            "Cục Cảnh sát quản lý hành chính về trật tự xã hội".into(),
        ),
        ("requester.id_issue_date", issue.to_string()),
        ("requester.relationship", "self".into()),
        ("subject.full_name", person),
        ("subject.date_of_birth", dob.to_string()),
        ("subject.sex", sex(female).into()),
        ("subject.ethnicity", (*r.pick(ETHNICITIES)).into()),
        ("subject.nationality", "Việt Nam".into()),
        ("subject.residence", residence),
        ("subject.id_type", "can_cuoc".into()),
        ("subject.pin", pin),
        ("subject.marital_status", status.into()),
        ("request.purpose", (*r.pick(PURPOSES)).into()),
        ("declaration.confirmed", "yes".into()),
    ] {
        f.insert(k.to_string(), v);
    }
    f
}

/// A complete "3-in-1" (birth declaration, residence, health insurance) for a child born in the last
/// 50 days: the values an officer types; the rest is derived by the hub at sealing.
pub fn three_in_one(r: &mut Rng, communes: &[Commune], today: Date) -> BTreeMap<String, String> {
    let girl = r.chance(49);
    let born = today - Duration::days(1 + r.below(50) as i64);
    let family = *r.pick(FAMILY);
    let child = format!(
        "{family} {} {}",
        r.pick(if girl { MIDDLE_F } else { MIDDLE_M }),
        r.pick(if girl { GIVEN_F } else { GIVEN_M })
    );
    let mother_year = born.year() - 18 - r.below(22) as i32;
    let father_year = mother_year - r.below(8) as i32;
    let mother_dob = Date::from_calendar_date(mother_year, time::Month::March, 1).unwrap()
        + Duration::days(r.below(300) as i64);
    let ethnicity = *r.pick(ETHNICITIES);
    let commune = r.pick(communes).clone();
    let mut f = BTreeMap::new();
    for (k, v) in [
        ("child.full_name", child),
        ("child.date_of_birth", born.to_string()),
        ("child.sex", sex(girl).into()),
        ("child.nationality", "Việt Nam".into()),
        (
            "child.place_of_birth",
            format!("Trạm Y tế {}", commune.in_text()),
        ),
        ("birth.proof", "facility".into()),
        ("mother.full_name", name(r, true)),
        ("mother.date_of_birth", mother_dob.to_string()),
        ("mother.ethnicity", ethnicity.into()),
        ("mother.nationality", "Việt Nam".into()),
        ("mother.pin", pin(r, true, mother_year)),
        ("mother.residence_commune", commune.code.clone()),
        ("mother.residence_detail", hamlet(r)),
        ("mother.phone", format!("09{:08}", r.below(100_000_000))),
        ("father.declared", "yes".into()),
        (
            "father.full_name",
            format!("{family} {} {}", r.pick(MIDDLE_M), r.pick(GIVEN_M)),
        ),
        ("father.date_of_birth", father_year.to_string()),
        ("father.ethnicity", ethnicity.into()),
        ("father.nationality", "Việt Nam".into()),
        ("father.pin", pin(r, false, father_year)),
        ("requester.relationship", "mother".into()),
        ("requester.id_type", "can_cuoc".into()),
        ("birth.copies", "1".into()),
        ("residence.head_is", "mother".into()),
        ("residence.relationship_to_head", "child".into()),
        ("declaration.confirmed", "yes".into()),
    ] {
        f.insert(k.to_string(), v);
    }
    f
}

/// One small JPEG (a few KB) standing for a photographed paper: grey text-like stripes on white, made once
/// and attached to every dossier.
pub fn small_jpeg() -> Vec<u8> {
    let (w, h) = (240u32, 180u32);
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let line = (y / 12) % 2 == 0 && x > 16 && x < 224 && (x / 7 + y / 3) % 5 != 0;
        let v = if line {
            60
        } else {
            235 + ((x * 7 + y * 13) % 20) as u8
        };
        image::Rgb([v, v, v.saturating_sub(5)])
    });
    let mut out = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 50);
    enc.encode_image(&img).expect("encode JPEG");
    out
}
