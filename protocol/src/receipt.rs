//! Receipt codes: 40 random bits as 8 Crockford base-32 symbols plus a mod-37 check symbol, e.g. `04HM-ASW9-X`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// Crockford base-32 data alphabet (no I, L, O, U).
const DATA_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Crockford check alphabet: the 32 data symbols, then `*~$=U` for the values 32..=36.
const CHECK_ALPHABET: &[u8; 37] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U";
const DATA_SYMBOLS: usize = 8;
const BITS_MASK: u64 = (1 << 40) - 1;

/// Why a receipt code string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReceiptCodeError {
    /// After removing hyphens and spaces the code is not 9 symbols long.
    #[error("a receipt code has 9 symbols (8 + check), found {found}")]
    Length {
        /// Number of symbols found.
        found: usize,
    },
    /// A character that is not a Crockford symbol at that position.
    #[error("{symbol:?} is not a valid symbol at position {position}")]
    Symbol {
        /// The offending character.
        symbol: char,
        /// 1-based position among the 9 symbols.
        position: usize,
    },
    /// The check symbol does not match the data symbols (a typo).
    #[error("check symbol does not match (expected {expected:?})")]
    Check {
        /// The check symbol the data symbols call for.
        expected: char,
    },
}

/// A valid receipt code. It holds the 40-bit value; an invalid code cannot be represented.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReceiptCode(u64);

impl ReceiptCode {
    /// The code for 5 caller-supplied random bytes (big-endian 40-bit value).
    pub fn from_entropy(bytes: [u8; 5]) -> Self {
        let value = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        ReceiptCode(value)
    }

    /// The 40-bit value.
    pub fn value(&self) -> u64 {
        self.0
    }

    /// The 8 data symbols, most significant first.
    fn data_symbols(&self) -> [u8; DATA_SYMBOLS] {
        let mut out = [0u8; DATA_SYMBOLS];
        for (i, slot) in out.iter_mut().enumerate() {
            let shift = 5 * (DATA_SYMBOLS - 1 - i);
            *slot = DATA_ALPHABET[((self.0 >> shift) & 31) as usize];
        }
        out
    }

    /// The check symbol: `CHECK_ALPHABET[value mod 37]`.
    fn check_symbol(&self) -> char {
        char::from(CHECK_ALPHABET[(self.0 % 37) as usize])
    }

    /// The 9 symbols without separators, e.g. `01234567G`.
    pub fn compact(&self) -> String {
        let mut s: String = self.data_symbols().iter().map(|b| char::from(*b)).collect();
        s.push(self.check_symbol());
        s
    }

    /// Parses leniently: case-insensitive, hyphens and spaces ignored, `I`/`L` read as `1` and `O` as `0`.
    pub fn parse(s: &str) -> Result<Self, ReceiptCodeError> {
        let symbols: Vec<char> = s
            .chars()
            .filter(|c| *c != '-' && !c.is_whitespace())
            .map(|c| match c.to_ascii_uppercase() {
                'I' | 'L' => '1',
                'O' => '0',
                other => other,
            })
            .collect();
        if symbols.len() != DATA_SYMBOLS + 1 {
            return Err(ReceiptCodeError::Length {
                found: symbols.len(),
            });
        }
        let mut value = 0u64;
        for (i, c) in symbols[..DATA_SYMBOLS].iter().enumerate() {
            let digit = symbol_value(DATA_ALPHABET, *c).ok_or(ReceiptCodeError::Symbol {
                symbol: *c,
                position: i + 1,
            })?;
            value = (value << 5) | digit;
        }
        let check_char = symbols[DATA_SYMBOLS];
        let check = symbol_value(CHECK_ALPHABET, check_char).ok_or(ReceiptCodeError::Symbol {
            symbol: check_char,
            position: DATA_SYMBOLS + 1,
        })?;
        let code = ReceiptCode(value & BITS_MASK);
        if check != code.0 % 37 {
            return Err(ReceiptCodeError::Check {
                expected: code.check_symbol(),
            });
        }
        Ok(code)
    }
}

fn symbol_value(alphabet: &[u8], c: char) -> Option<u64> {
    if !c.is_ascii() {
        return None;
    }
    alphabet
        .iter()
        .position(|b| char::from(*b) == c)
        .map(|p| p as u64)
}

impl fmt::Display for ReceiptCode {
    /// `ABCD-EFGH-J`: 4 data symbols, hyphen, 4 data symbols, hyphen, check symbol.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.compact();
        write!(f, "{}-{}-{}", &c[0..4], &c[4..8], &c[8..9])
    }
}

impl std::str::FromStr for ReceiptCode {
    type Err = ReceiptCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReceiptCode::parse(s)
    }
}

impl Serialize for ReceiptCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ReceiptCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ReceiptCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_example() {
        // 0x0123456789 = 4886718345; base 32 → 0,4,17,20,10,25,28,9 → "04HMASW9"; 4886718345 mod 37 = 29 → 'X'.
        let c = ReceiptCode::from_entropy([0x01, 0x23, 0x45, 0x67, 0x89]);
        assert_eq!(c.value(), 4_886_718_345);
        assert_eq!(c.value() % 37, 29);
        assert_eq!(c.to_string(), "04HM-ASW9-X");
    }

    #[test]
    fn extremes() {
        assert_eq!(ReceiptCode::from_entropy([0; 5]).to_string(), "0000-0000-0");
        let max = ReceiptCode::from_entropy([0xff; 5]);
        assert_eq!(&max.to_string()[..9], "ZZZZ-ZZZZ");
        assert_eq!(max.value() % 37, ((1u64 << 40) - 1) % 37);
    }

    #[test]
    fn lenient_parse() {
        let c = ReceiptCode::from_entropy([0x01, 0x23, 0x45, 0x67, 0x89]);
        for s in [
            "04HM-ASW9-X",
            "04hmasw9x",
            " 04hm asw9 x ",
            "O4HM-ASW9-X",
            "04HM-ASW9-x",
        ] {
            assert_eq!(ReceiptCode::parse(s), Ok(c.clone()), "{s}");
        }
        let one = ReceiptCode::from_entropy([0, 0, 0, 0, 1]);
        assert_eq!(one.to_string(), "0000-0001-1");
        assert_eq!(ReceiptCode::parse("oooo-oooi-l"), Ok(one));
    }

    #[test]
    fn rejects_length_symbol_and_check() {
        assert_eq!(
            ReceiptCode::parse("04HM-ASW9"),
            Err(ReceiptCodeError::Length { found: 8 })
        );
        assert_eq!(
            ReceiptCode::parse("04HM-ASW9-XX"),
            Err(ReceiptCodeError::Length { found: 10 })
        );
        assert_eq!(
            ReceiptCode::parse("04HU-ASW9-X"),
            Err(ReceiptCodeError::Symbol {
                symbol: 'U',
                position: 4
            })
        );
        assert_eq!(
            ReceiptCode::parse("04H*-ASW9-X"),
            Err(ReceiptCodeError::Symbol {
                symbol: '*',
                position: 4
            })
        );
        assert_eq!(
            ReceiptCode::parse("04HM-ASW9-Y"),
            Err(ReceiptCodeError::Check { expected: 'X' })
        );
        assert!(ReceiptCode::parse("04HM-ASW9-ắ").is_err());
    }

    #[test]
    fn high_check_symbols_parse() {
        // Find codes whose check value is 32..=36 and make sure they round-trip.
        let mut seen = [false; 5];
        for v in 0u64..200 {
            let c = ReceiptCode::from_entropy([0, 0, 0, 0, v as u8]);
            let r = (c.value() % 37) as usize;
            if r >= 32 {
                seen[r - 32] = true;
                assert_eq!(
                    ReceiptCode::parse(&c.to_string().to_lowercase()),
                    Ok(c.clone())
                );
            }
        }
        assert!(seen.iter().all(|s| *s));
    }

    fn sample() -> Vec<ReceiptCode> {
        // A deterministic spread of values (linear congruential walk over 40 bits).
        let mut x: u64 = 0x0012_3456_789a;
        (0..300)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let b = (x >> 20).to_be_bytes();
                ReceiptCode::from_entropy([b[3], b[4], b[5], b[6], b[7]])
            })
            .collect()
    }

    #[test]
    fn check_catches_every_single_substitution() {
        for code in sample() {
            let s: Vec<char> = code.compact().chars().collect();
            for pos in 0..9 {
                let alphabet: &[u8] = if pos < 8 {
                    DATA_ALPHABET
                } else {
                    CHECK_ALPHABET
                };
                for &b in alphabet {
                    let c = char::from(b);
                    if c == s[pos] {
                        continue;
                    }
                    let mut t = s.clone();
                    t[pos] = c;
                    let t: String = t.into_iter().collect();
                    assert!(ReceiptCode::parse(&t).is_err(), "{code} vs {t}");
                }
            }
        }
    }

    #[test]
    fn check_catches_every_adjacent_transposition_of_data_symbols() {
        for code in sample() {
            let s: Vec<char> = code.compact().chars().collect();
            for pos in 0..7 {
                if s[pos] == s[pos + 1] {
                    continue;
                }
                let mut t = s.clone();
                t.swap(pos, pos + 1);
                let t: String = t.into_iter().collect();
                assert!(ReceiptCode::parse(&t).is_err(), "{code} vs {t}");
            }
        }
    }

    #[test]
    fn serde_uses_display_form() {
        let c = ReceiptCode::from_entropy([0x01, 0x23, 0x45, 0x67, 0x89]);
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"04HM-ASW9-X\"");
        assert_eq!(
            serde_json::from_str::<ReceiptCode>("\"04hmasw9x\"").unwrap(),
            c
        );
        assert!(serde_json::from_str::<ReceiptCode>("\"04HM-ASW9-Y\"").is_err());
    }
}
