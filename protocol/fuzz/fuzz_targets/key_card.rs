//! Key card text (`KeyCard::parse`, any JSON layout).
//!
//! Properties: no panic; a parsed card verifies, its text form (`to_text`) parses back to the same card and
//! is a fixed point (text → card → text gives the same text), and its signed body is canonical JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::KeyCard;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(card) = KeyCard::parse(text) else {
        return;
    };
    card.verify().expect("a parsed card verifies");
    let printed = card.to_text();
    assert!(printed.ends_with("}\n"), "to_text must end with a newline");
    let back = KeyCard::parse(&printed).expect("to_text output parses");
    assert_eq!(back, card, "key card round trip changed the card");
    assert_eq!(back.to_text(), printed, "to_text is not a fixed point");
    let body = card.signed_body_bytes().expect("signed body");
    let value: serde_json::Value =
        protocol::parse_canonical(&body).expect("signed body is canonical");
    assert!(value.get("self_sig").is_none());
});
