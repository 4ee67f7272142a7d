//! Personal identification numbers (PIN, the 12-digit căn cước number) and their sex/birth-year consistency.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ProtocolError;

/// Province codes that may open a PIN (digits 1–3: "0" + the two-digit province code of birth registration).
///
/// Data, not logic: the 63 pre-2025 province codes (Circular 07/2016/TT-BCA), which stay valid for life on
/// numbers already issued. The 34 provinces since 1 July 2025 each kept one of these codes (01 Hà Nội, 04 Cao
/// Bằng, 08 Tuyên Quang, 11, 12, 14, 15 Lào Cai, 19, 20, 22, 24 Bắc Ninh, 25, 31, 33, 37, 38, 40, 42, 44 Quảng
/// Trị, 46 Huế, 48, 51, 52 Gia Lai, 56 Khánh Hoà, 66, 68, 75 Đồng Nai, 79, 80 Tây Ninh, 82 Đồng Tháp, 86, 91,
/// 92, 96), so the list below covers both. E.g. 070 (former Bình Phước) and 058 (former Ninh Thuận).
pub const PROVINCE_CODES: [&str; 63] = [
    "001", "002", "004", "006", "008", "010", "011", "012", "014", "015", "017", "019", "020",
    "022", "024", "025", "026", "027", "030", "031", "033", "034", "035", "036", "037", "038",
    "040", "042", "044", "045", "046", "048", "049", "051", "052", "054", "056", "058", "060",
    "062", "064", "066", "067", "068", "070", "072", "074", "075", "077", "079", "080", "082",
    "083", "084", "086", "087", "089", "091", "092", "093", "094", "095", "096",
];

/// Sex as recorded on civil-status papers; on the wire `"male"` / `"female"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    /// Nam.
    Male,
    /// Nữ.
    Female,
}

impl Sex {
    /// `"male"` or `"female"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }
}

impl std::str::FromStr for Sex {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "male" => Ok(Sex::Male),
            "female" => Ok(Sex::Female),
            _ => Err(ProtocolError::Json(format!(
                "{s:?} is not \"male\" or \"female\""
            ))),
        }
    }
}

impl fmt::Display for Sex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A syntactically valid PIN: 12 ASCII digits opening with a known province code. No check digit exists.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pin(String);

impl Pin {
    /// Parses exactly 12 ASCII digits whose first three are a known province code.
    pub fn parse(s: &str) -> Result<Self, ProtocolError> {
        if s.len() != 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ProtocolError::BadPin("a PIN is exactly 12 digits".into()));
        }
        if !PROVINCE_CODES.contains(&&s[0..3]) {
            return Err(ProtocolError::BadPin(format!(
                "{} is not a province code",
                &s[0..3]
            )));
        }
        Ok(Pin(s.to_owned()))
    }

    /// The 12 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Digit 4 (century and sex): 0/1 for 1900s male/female, 2/3 for 2000s, 4/5 for 2100s.
    pub fn century_sex_digit(&self) -> u8 {
        self.0.as_bytes()[3] - b'0'
    }

    /// Digits 5–6: the birth year modulo 100.
    pub fn birth_year_two_digits(&self) -> u8 {
        let b = self.0.as_bytes();
        (b[4] - b'0') * 10 + (b[5] - b'0')
    }

    /// The full year of birth digits 4–6 give (1900–2199), `None` for a century digit above 5.
    pub fn birth_year(&self) -> Option<i32> {
        let century = match self.century_sex_digit() {
            0 | 1 => 1900,
            2 | 3 => 2000,
            4 | 5 => 2100,
            _ => return None,
        };
        Some(century + i32::from(self.birth_year_two_digits()))
    }

    /// The sex digit 4 gives (even: male, odd: female), `None` for a century digit above 5.
    pub fn sex(&self) -> Option<Sex> {
        match self.century_sex_digit() {
            0 | 2 | 4 => Some(Sex::Male),
            1 | 3 | 5 => Some(Sex::Female),
            _ => None,
        }
    }

    /// Whether digits 4–6 agree with `sex` and `birth_year` (only years 1900–2199 can agree).
    pub fn consistent_with(&self, sex: Sex, birth_year: i32) -> bool {
        let century = match birth_year {
            1900..=1999 => 0,
            2000..=2099 => 1,
            2100..=2199 => 2,
            _ => return false,
        };
        let expected = century * 2 + u8::from(sex == Sex::Female);
        self.century_sex_digit() == expected
            && i32::from(self.birth_year_two_digits()) == birth_year % 100
    }
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Pin {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Pin {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Pin::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_and_rejects() {
        assert!(Pin::parse("070190001234").is_ok());
        assert!(Pin::parse("058301001234").is_ok());
        assert!(Pin::parse("075090001234").is_ok());
        assert!(Pin::parse("07019000123").is_err()); // 11 digits
        assert!(Pin::parse("0701900012345").is_err()); // 13 digits
        assert!(Pin::parse("07019000123a").is_err());
        assert!(Pin::parse("003190001234").is_err()); // 003 is no province
        assert!(Pin::parse("099190001234").is_err());
        assert!(Pin::parse("０70190001234").is_err()); // full-width digit
    }

    #[test]
    fn province_list_has_63_unique_sorted_codes() {
        let mut v = PROVINCE_CODES.to_vec();
        v.sort();
        v.dedup();
        assert_eq!(v.len(), 63);
        assert_eq!(v, PROVINCE_CODES.to_vec());
    }

    #[test]
    fn digits() {
        let p = Pin::parse("070385001234").unwrap();
        assert_eq!(p.century_sex_digit(), 3);
        assert_eq!(p.birth_year_two_digits(), 85);
    }

    #[test]
    fn consistency_table() {
        // (pin, sex, year, expected)
        let cases = [
            ("070090001234", Sex::Male, 1990, true),
            ("070190001234", Sex::Female, 1990, true),
            ("070190001234", Sex::Male, 1990, false),
            ("070090001234", Sex::Male, 1991, false),
            ("070090001234", Sex::Male, 2090, false),
            ("058205001234", Sex::Male, 2005, true),
            ("058305001234", Sex::Female, 2005, true),
            ("058205001234", Sex::Female, 2005, false),
            ("001400001234", Sex::Male, 2100, true),
            ("001500001234", Sex::Female, 2100, true),
            ("001400001234", Sex::Male, 2000, false),
            ("075000001234", Sex::Male, 1900, true),
            ("075000001234", Sex::Male, 1800, false),
            ("075999001234", Sex::Male, 1999, false),
        ];
        for (pin, sex, year, expected) in cases {
            assert_eq!(
                Pin::parse(pin).unwrap().consistent_with(sex, year),
                expected,
                "{pin} {sex} {year}"
            );
        }
    }

    #[test]
    fn sex_round_trips() {
        assert_eq!("male".parse::<Sex>().unwrap(), Sex::Male);
        assert_eq!(serde_json::to_string(&Sex::Female).unwrap(), "\"female\"");
        assert!("Male".parse::<Sex>().is_err());
    }
}
