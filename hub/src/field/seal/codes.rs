//! Receipt codes and tracking keys as people type them: parsed leniently (both forms, see
//! `protocol::ReceiptCode::parse`), refused with one clear bilingual error naming the field.
//!
//! Which receipt a code names: the one whose code, **in the form it was issued**, is the code typed. A hub
//! keys its receipts by the issued code's display form (`receipts.code`), so a receipt sealed before digit
//! codes is found by its Crockford code (`GRW7-M2JC-F`), one sealed now by its digits
//! (`0576-4731-3978-80`), and the other form of either names nothing.

use axum::http::StatusCode;
use protocol::{ReceiptCode, ReceiptCodeError};

use crate::shared::error::ApiError;

/// A digit code in messages and placeholders (receipt 42 of the field hub of `protocol/vectors`).
pub const EXAMPLE: &str = "0576-4731-3978-80";
/// The same receipt's code as hubs issued it before digit codes.
pub const EXAMPLE_BEFORE_DIGITS: &str = "GRW7-M2JC-F";

/// What was typed: a receipt code, or a receipt's tracking key (written the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typed {
    Code,
    Key,
}

/// Parses `s` typed into `field`. `422 bad_check_symbol` for a typo the check digit caught, `422 bad_code`
/// for anything else that is not a code (wrong length, a letter among digits, …).
pub fn parse_typed(s: &str, what: Typed, field: &str) -> Result<ReceiptCode, ApiError> {
    let (name_vi, name_en) = match what {
        Typed::Code => ("Mã biên nhận", "The receipt code"),
        Typed::Key => ("Mã tra cứu", "The lookup key"),
    };
    ReceiptCode::parse(s).map_err(|e| {
        let err = match e {
            ReceiptCodeError::Check { .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad_check_symbol",
                format!(
                    "{name_vi} có một chữ số bị gõ sai, hoặc hai chữ số cạnh nhau bị đổi chỗ. \
                     Hãy đọc lại từng chữ số trên giấy biên nhận."
                ),
                format!(
                    "{name_en} has a typo: a mistyped digit, or two neighbouring digits \
                     swapped. Read each digit on the receipt slip again."
                ),
            ),
            _ => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad_code",
                format!(
                    "{name_vi} gồm 14 chữ số, ví dụ {EXAMPLE} (mã cũ có 9 ký tự, ví dụ \
                     {EXAMPLE_BEFORE_DIGITS})."
                ),
                format!(
                    "{name_en} has 14 digits, e.g. {EXAMPLE} (older codes have 9 symbols, e.g. \
                     {EXAMPLE_BEFORE_DIGITS})."
                ),
            ),
        };
        err.with_field(field)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_examples_are_one_receipt_in_both_forms() {
        let d = ReceiptCode::parse(EXAMPLE).unwrap();
        let c = ReceiptCode::parse(EXAMPLE_BEFORE_DIGITS).unwrap();
        assert_eq!(d.form(), protocol::ReceiptCodeForm::Digits);
        assert_eq!(c.form(), protocol::ReceiptCodeForm::Crockford);
        assert_eq!(d.value(), c.value());
        assert_ne!(d, c);
    }

    #[test]
    fn typos_and_non_codes_get_distinct_errors_naming_the_field() {
        let e = parse_typed("0576-4731-3978-81", Typed::Code, "code").unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (422, "bad_check_symbol"));
        assert_eq!(e.field.as_deref(), Some("code"));
        assert!(e.message_vi.starts_with("Mã biên nhận"), "{}", e.message_vi);
        let e = parse_typed("0576-4731-3978-8", Typed::Key, "k").unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (422, "bad_code"));
        assert_eq!(e.field.as_deref(), Some("k"));
        assert!(e.message_vi.contains("14 chữ số"), "{}", e.message_vi);
        assert!(e.message_en.contains(EXAMPLE), "{}", e.message_en);
        assert!(parse_typed(" 0576 4731 3978 80 ", Typed::Code, "code").is_ok());
        assert!(parse_typed("grw7 m2jc f", Typed::Code, "code").is_ok());
    }
}
