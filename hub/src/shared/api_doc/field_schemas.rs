//! Documentation-only schemas of protocol-crate values that the field hub's and the shared routes answer
//! inside their own bodies (the protocol crate is pure and does not depend on utoipa). Each mirrors the
//! protocol type's serde shape; the test below keeps them in step.

use std::collections::BTreeMap;

use utoipa::ToSchema;

/// A label in Vietnamese and English, plus any further languages (`protocol::Text`).
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only: `protocol::Text` travels
pub struct Text {
    /// Vietnamese (NFC, full diacritics).
    pub vi: String,
    /// English.
    pub en: String,
    /// Further languages by BCP 47 tag, e.g. `{"cmo": "…"}`; left out when none.
    pub more: Option<BTreeMap<String, String>>,
    /// Recorded audio prompts by language tag (an asset id the hub serves); left out when none.
    pub audio: Option<BTreeMap<String, String>>,
}

/// Which side a hub plays (`protocol::HubMode`).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // documentation only: `protocol::HubMode` travels
pub enum HubMode {
    /// Captures and seals dossiers.
    Field,
    /// Verifies batches and reconciles.
    Office,
}

/// The empty object `{}` a call answers when there is nothing more to say than its status.
#[derive(serde::Serialize, Default)]
pub struct Empty {}

impl utoipa::PartialSchema for Empty {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("Always `{}`."))
            .max_properties(Some(0))
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .into()
    }
}

impl ToSchema for Empty {
    fn name() -> std::borrow::Cow<'static, str> {
        "Empty".into()
    }
}

/// One per-field finding (`shared::error::FieldDetail`): the field, a stable code and the message in
/// Vietnamese and English.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only: `error::FieldDetail` travels
pub struct FieldDetail {
    /// The field's key (or `role`, `procedure`, …).
    pub field: String,
    /// Stable machine-readable code, e.g. `required`, `unknown_procedure`.
    pub code: String,
    pub message_vi: String,
    pub message_en: String,
}

/// What a sealed dossier is (`protocol::Disposition`): a `new` request, a `refused` one (its receipt
/// records the refusal), a correction that `supersedes` an earlier dossier, or a cancellation that `voids` one.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // documentation only
pub enum Disposition {
    New,
    Refused,
    Supersedes,
    Voids,
}

/// When a paper is needed (`protocol::Visit`).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // documentation only: `protocol::Visit` travels
pub enum Visit {
    /// At the session where the dossier is captured.
    Capture,
    /// When the result is picked up (e.g. to sign the civil-status book).
    Pickup,
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    /// The property names of a documented object schema.
    fn properties<T: PartialSchema>() -> Vec<String> {
        let v = serde_json::to_value(T::schema()).unwrap();
        let mut keys: Vec<String> = v["properties"]
            .as_object()
            .expect("an object schema")
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    }

    fn keys_of(v: &serde_json::Value) -> Vec<String> {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    }

    #[test]
    fn empty_is_the_empty_object_and_closed() {
        assert_eq!(serde_json::to_string(&super::Empty {}).unwrap(), "{}");
        let v = serde_json::to_value(<super::Empty as PartialSchema>::schema()).unwrap();
        assert_eq!(v["additionalProperties"], false);
        assert_eq!(v["maxProperties"], 0);
        let mode = serde_json::to_value(protocol::HubMode::Field).unwrap();
        let schema = serde_json::to_value(<super::HubMode as PartialSchema>::schema()).unwrap();
        assert!(schema["enum"].as_array().unwrap().contains(&mode));
    }

    #[test]
    fn field_detail_schema_matches_what_errors_serialize() {
        let d = crate::shared::error::FieldDetail {
            field: "birth_date".into(),
            code: "required".into(),
            message_vi: "Thiếu ngày sinh.".into(),
            message_en: "The birth date is missing.".into(),
        };
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(keys_of(&v), properties::<super::FieldDetail>());
    }

    #[test]
    fn text_schema_matches_protocol_text() {
        let t: protocol::Text = serde_json::from_value(serde_json::json!({
            "vi": "Khai sinh", "en": "Birth", "more": {"cmo": "x"}, "audio": {"stg": "a1"}
        }))
        .unwrap();
        let v = serde_json::to_value(&t).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 4, "{keys:?}");
        for k in ["vi", "en", "more", "audio"] {
            assert!(keys.contains(&k), "{k}");
        }
    }
}
