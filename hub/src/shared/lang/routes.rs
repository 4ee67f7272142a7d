//! HTTP routes for languages, translations and audio prompts. Reading is public (nothing personal is
//! here: a villager's phone plays the guides); writing needs a logged-in team member and the CSRF token;
//! adding, editing and removing a language is for admins.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use super::audio::{self, MAX_AUDIO_BYTES};
use super::keys;
use super::store::{self, LanguageInput, BUILT_IN};
use crate::shared::api_doc::field_schemas::Empty;
use crate::shared::auth::{AdminOnly, AuthUser};
use crate::shared::error::{ApiError, JsonBody};
use crate::shared::state::AppState;

/// Longest translation, in characters (a guide step is a few sentences).
pub const MAX_TEXT_CHARS: usize = 2000;
/// Longest language name, in characters.
pub const MAX_NAME_CHARS: usize = 60;

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        list,
        add,
        read,
        edit,
        remove,
        strings,
        key_list,
        translate,
        play,
        upload,
        delete_audio
    ),
    components(schemas(LanguageBody, TranslationBody, store::Language, store::AudioInfo))
)]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/languages", get(list).post(add))
        .route(
            "/api/v1/languages/{code}",
            get(read).put(edit).delete(remove),
        )
        .route("/api/v1/languages/{code}/strings", get(strings))
        .route("/api/v1/languages/{code}/keys", get(key_list))
        .route("/api/v1/languages/{code}/strings/{key}", put(translate))
        .route(
            "/api/v1/languages/{code}/audio/{key}",
            get(play)
                .put(upload)
                .delete(delete_audio)
                .layer(DefaultBodyLimit::max(MAX_AUDIO_BYTES)),
        )
}

fn unknown_language() -> ApiError {
    ApiError::not_found("ngôn ngữ này", "Language").with_field("code")
}

fn unknown_key() -> ApiError {
    ApiError::not_found("nội dung cần dịch này", "Text to translate").with_field("key")
}

/// Whether `code` has the shape of a BCP 47 tag we accept: a 2–3 letter language subtag (ISO 639-1 or
/// 639-3), then up to two subtags of 2–8 letters or digits; lower case.
pub fn valid_code(code: &str) -> bool {
    let mut parts = code.split('-');
    let first = parts.next().unwrap_or("");
    let ok_first = (2..=3).contains(&first.len()) && first.bytes().all(|b| b.is_ascii_lowercase());
    let rest: Vec<&str> = parts.collect();
    ok_first
        && rest.len() <= 2
        && rest.iter().all(|p| {
            (2..=8).contains(&p.len())
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Loads an existing language (built in or added) or answers 404.
async fn existing(st: &AppState, code: &str) -> Result<store::Language, ApiError> {
    let c = code.to_string();
    st.db
        .call(move |db| store::get(db, &c))
        .await?
        .ok_or_else(unknown_language)
}

/// The languages and how many texts there are to translate.
#[derive(Serialize, utoipa::ToSchema)]
struct LanguageList {
    languages: Vec<store::Language>,
    /// Translatable texts in all.
    total: usize,
}

/// A language's texts for the app.
#[derive(Serialize, utoipa::ToSchema)]
struct LanguageStrings {
    language: store::Language,
    /// Translations by text key.
    strings: BTreeMap<String, String>,
    /// Text keys having a recording → the recording's SHA-256.
    audio: BTreeMap<String, String>,
    /// Catalogue texts by their Vietnamese wording → text key.
    catalogue_keys: BTreeMap<&'static str, &'static str>,
}

/// Every translatable text with this language's translation and recording.
#[derive(Serialize, utoipa::ToSchema)]
struct LanguageKeys {
    language: store::Language,
    keys: Vec<KeyOut>,
}

/// One translatable text for translators.
#[derive(Serialize, utoipa::ToSchema)]
struct KeyOut {
    key: String,
    group: keys::Group,
    /// `villager` when villagers meet it (hear it) on one of their pages, else `team`.
    #[schema(pattern = "^(villager|team)$")]
    audience: &'static str,
    /// The villager's page it is first met on (`front`, `guides`, `predeclare`, `status`, `slip`), or
    /// `team` for the office's and team's screens. The list is in this order: villagers' pages first.
    page: keys::Page,
    /// The procedures (ids) whose villager pages say this catalogue or guide text; empty for UI texts
    /// (said whatever the procedure) and the team's texts.
    procedures: Vec<String>,
    /// The Vietnamese source text (NFC).
    vi: String,
    en: String,
    /// Where it is used, for translators (empty when nothing to say).
    context: String,
    /// This language's translation, null when none.
    text: Option<String>,
    /// The SHA-256 of this language's recording, null when none.
    audio: Option<String>,
}

/// A translation set or cleared.
#[derive(Serialize, utoipa::ToSchema)]
struct Translated {
    key: String,
    /// Null when cleared.
    text: Option<String>,
}

/// The languages (built in and added) with their progress (public).
#[utoipa::path(
    get,
    path = "/api/v1/languages",
    operation_id = "lang_list",
    tag = "lang",
    security(()),
    responses(
        (status = 200, description = "The languages and the number of translatable texts", body = LanguageList),
    )
)]
async fn list(State(st): State<AppState>) -> Result<Json<LanguageList>, ApiError> {
    let languages = st.db.call(|c| store::list(c)).await?;
    Ok(Json(LanguageList {
        languages,
        total: keys::all().len(),
    }))
}

/// One language with its progress (public).
#[utoipa::path(
    get,
    path = "/api/v1/languages/{code}",
    operation_id = "lang_read",
    tag = "lang",
    security(()),
    params(("code" = String, Path, pattern = "^[a-z]{2,3}(-[a-z0-9]{2,8}){0,2}$", description = "BCP 47 / ISO 639-3 language code, e.g. `stg`")),
    responses(
        (status = 200, body = store::Language),
        (status = 404, body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn read(
    State(st): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<store::Language>, ApiError> {
    Ok(Json(existing(&st, &code).await?))
}

/// A language to add or edit: `code` (BCP 47 / ISO 639-3, on add; must match the path on edit), names,
/// whether it is written, and `direction` (`ltr`, default, or `rtl`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LanguageBody {
    #[serde(default)]
    #[schema(pattern = "^[a-z]{2,3}(-[a-z0-9]{2,8}){0,2}$")]
    pub code: Option<String>,
    /// 1–60 characters once trimmed, no control characters.
    #[schema(
        min_length = 1,
        max_length = 60,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub native_name: String,
    /// 1–60 characters once trimmed, no control characters.
    #[schema(
        min_length = 1,
        max_length = 60,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub vi_name: String,
    /// At most 60 characters, no control characters.
    #[serde(default)]
    #[schema(max_length = 60, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub en_name: String,
    pub has_script: bool,
    /// `ltr` (default) or `rtl`.
    #[serde(default)]
    #[schema(value_type = Option<TextDirection>)]
    pub direction: Option<String>,
}

/// The body of `POST /api/v1/languages` as documented: [`LanguageBody`] with `code` required (the handler
/// reads `LanguageBody` and refuses a missing code with `400`; the test `new_language_documents_the_body`
/// keeps the two alike).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // documentation only
struct NewLanguage {
    /// BCP 47 / ISO 639-3, e.g. `stg` (Xtiêng), `rog` (Raglai), `cjm` (Cham); `vi` and `en` are built in (`409`).
    #[schema(pattern = "^[a-z]{2,3}(-[a-z0-9]{2,8}){0,2}$")]
    code: String,
    /// 1–60 characters once trimmed, no control characters.
    #[schema(
        min_length = 1,
        max_length = 60,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    native_name: String,
    /// 1–60 characters once trimmed, no control characters.
    #[schema(
        min_length = 1,
        max_length = 60,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    vi_name: String,
    /// At most 60 characters, no control characters.
    #[serde(default)]
    #[schema(max_length = 60, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    en_name: String,
    has_script: bool,
    /// `ltr` (default) or `rtl`.
    #[serde(default)]
    #[schema(value_type = Option<TextDirection>)]
    direction: Option<String>,
}

/// Which way a language is written (documentation of `LanguageBody::direction`).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum TextDirection {
    Ltr,
    Rtl,
}

fn clean_line(s: &str) -> String {
    s.nfc().collect::<String>().trim().to_string()
}

fn check_name(field: &str, v: &str, required: bool) -> Result<(), ApiError> {
    let bad = |vi: &str, en: &str| Err(ApiError::bad_request(vi, en).with_field(field));
    if required && v.is_empty() {
        return bad("Cần nhập tên.", "A name is needed.");
    }
    if v.chars().count() > MAX_NAME_CHARS || v.chars().any(char::is_control) {
        return bad(
            "Tên quá dài hoặc có ký tự không hợp lệ (tối đa 60 ký tự).",
            "The name is too long or has invalid characters (at most 60).",
        );
    }
    Ok(())
}

fn language_input(b: &LanguageBody) -> Result<LanguageInput, ApiError> {
    let l = LanguageInput {
        native_name: clean_line(&b.native_name),
        vi_name: clean_line(&b.vi_name),
        en_name: clean_line(&b.en_name),
        has_script: b.has_script,
        direction: b.direction.clone().unwrap_or_else(|| "ltr".into()),
    };
    check_name("native_name", &l.native_name, true)?;
    check_name("vi_name", &l.vi_name, true)?;
    check_name("en_name", &l.en_name, false)?;
    if l.direction != "ltr" && l.direction != "rtl" {
        return Err(ApiError::bad_request(
            "Hướng chữ phải là ltr hoặc rtl.",
            "The direction must be ltr or rtl.",
        )
        .with_field("direction"));
    }
    Ok(l)
}

/// Adds a language (admins only).
#[utoipa::path(
    post,
    path = "/api/v1/languages",
    operation_id = "lang_add",
    tag = "lang",
    security(("session" = ["admin"], "csrf" = [])),
    request_body = NewLanguage,
    responses(
        (status = 201, body = store::Language),
        (status = 400, description = "Bad JSON, code, names or direction", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Not an admin, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "Built in, or the code exists already", body = crate::shared::api_doc::ErrorBody),
        (status = 413, body = crate::shared::api_doc::ErrorBody),
        (status = 415, body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn add(
    State(st): State<AppState>,
    AdminOnly(user): AdminOnly,
    JsonBody(body): JsonBody<LanguageBody>,
) -> Result<(StatusCode, Json<store::Language>), ApiError> {
    let code = body
        .code
        .as_deref()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !valid_code(&code) {
        return Err(ApiError::bad_request(
            "Mã ngôn ngữ phải theo chuẩn BCP 47 / ISO 639-3, ví dụ stg (Xtiêng), rog (Raglai), cjm (Chăm), km (Khmer).",
            "The language code must follow BCP 47 / ISO 639-3, e.g. stg (Xtiêng), rog (Raglai), cjm (Cham), km (Khmer).",
        )
        .with_field("code"));
    }
    if BUILT_IN.iter().any(|b| b.0 == code) {
        return Err(ApiError::conflict(
            "Tiếng Việt và tiếng Anh đã có sẵn.",
            "Vietnamese and English are built in.",
        )
        .with_field("code"));
    }
    let input = language_input(&body)?;
    let by = user.id.clone();
    let c2 = code.clone();
    match st.db.call(move |c| store::add(c, &c2, &input, &by)).await? {
        Some(l) => {
            tracing::info!(code = %code, "language added");
            Ok((StatusCode::CREATED, Json(l)))
        }
        None => Err(ApiError::conflict(
            format!("Đã có ngôn ngữ mã {code}."),
            format!("A language with code {code} exists already."),
        )
        .with_field("code")),
    }
}

/// Edits an added language's names, script and direction (admins only; built-in ones are fixed).
#[utoipa::path(
    put,
    path = "/api/v1/languages/{code}",
    operation_id = "lang_edit",
    tag = "lang",
    security(("session" = ["admin"], "csrf" = [])),
    params(("code" = String, Path, pattern = "^[a-z]{2,3}(-[a-z0-9]{2,8}){0,2}$", description = "BCP 47 / ISO 639-3 language code, e.g. `stg`")),
    request_body = LanguageBody,
    responses(
        (status = 200, body = store::Language),
        (status = 400, description = "Bad JSON, names or direction; a changed code", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Not an admin, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "`built_in`: Vietnamese and English are fixed", body = crate::shared::api_doc::ErrorBody),
        (status = 413, body = crate::shared::api_doc::ErrorBody),
        (status = 415, body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn edit(
    State(st): State<AppState>,
    _admin: AdminOnly,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<LanguageBody>,
) -> Result<Json<store::Language>, ApiError> {
    if BUILT_IN.iter().any(|b| b.0 == code) {
        return Err(built_in_fixed());
    }
    if body.code.as_deref().is_some_and(|c| c != code) {
        return Err(ApiError::bad_request(
            "Không đổi được mã của một ngôn ngữ.",
            "A language's code cannot be changed.",
        )
        .with_field("code"));
    }
    let input = language_input(&body)?;
    st.db
        .call(move |c| store::update(c, &code, &input))
        .await?
        .map(Json)
        .ok_or_else(unknown_language)
}

/// `409 built_in`: Vietnamese and English exist in every hub and cannot be edited, removed or translated
/// (a conflict with what the language is, not a malformed request).
fn built_in_fixed() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "built_in",
        "Tiếng Việt và tiếng Anh có sẵn; chữ giao diện của chúng nằm trong ứng dụng.",
        "Vietnamese and English are built in; their interface text ships with the app.",
    )
    .with_field("code")
}

/// Removes an added language with its translations and recordings (admins only).
#[utoipa::path(
    delete,
    path = "/api/v1/languages/{code}",
    operation_id = "lang_remove",
    tag = "lang",
    security(("session" = ["admin"], "csrf" = [])),
    params(("code" = String, Path, pattern = "^[a-z]{2,3}(-[a-z0-9]{2,8}){0,2}$", description = "BCP 47 / ISO 639-3 language code, e.g. `stg`")),
    responses(
        (status = 200, description = "Removed", body = Empty),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Not an admin, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "`built_in`: Vietnamese and English are fixed", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn remove(
    State(st): State<AppState>,
    _admin: AdminOnly,
    Path(code): Path<String>,
) -> Result<Json<Empty>, ApiError> {
    if BUILT_IN.iter().any(|b| b.0 == code) {
        return Err(built_in_fixed());
    }
    if st.db.call(move |c| store::remove(c, &code)).await? {
        Ok(Json(Empty {}))
    } else {
        Err(unknown_language())
    }
}

/// Catalogue texts by their Vietnamese wording → key, so a client holding a catalogue `Text` finds its
/// translation and recording.
fn catalogue_keys() -> BTreeMap<&'static str, &'static str> {
    keys::all()
        .iter()
        .filter(|s| s.group == keys::Group::Catalogue)
        .map(|s| (s.vi.as_str(), s.key.as_str()))
        .collect()
}

/// A language's translations and recordings by key, and catalogue wording → key (public).
#[utoipa::path(
    get,
    path = "/api/v1/languages/{code}/strings",
    operation_id = "lang_strings",
    tag = "lang",
    security(()),
    params(("code" = String, Path, pattern = "^[a-z]{2,3}(-[a-z0-9]{2,8}){0,2}$", description = "BCP 47 / ISO 639-3 language code, e.g. `stg`")),
    responses(
        (status = 200, description = "The language, its translations and recordings by key, and catalogue wording → key", body = LanguageStrings),
        (status = 404, body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn strings(
    State(st): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<LanguageStrings>, ApiError> {
    let language = existing(&st, &code).await?;
    let (strings, audio) = st
        .db
        .call(move |c| Ok((store::strings(c, &code)?, store::audio_index(c, &code)?)))
        .await?;
    Ok(Json(LanguageStrings {
        language,
        strings,
        audio,
        catalogue_keys: catalogue_keys(),
    }))
}

/// Every translatable text with its Vietnamese and English source and this language's text and
/// recording (any team member: every role translates), the texts villagers meet first, by page.
#[utoipa::path(
    get,
    path = "/api/v1/languages/{code}/keys",
    operation_id = "lang_key_list",
    tag = "lang",
    security(("session" = [])),
    params(("code" = String, Path, pattern = "^[a-z]{2,3}(-[a-z0-9]{2,8}){0,2}$", description = "BCP 47 / ISO 639-3 language code, e.g. `stg`")),
    responses(
        (status = 200, description = "The language and every translatable text", body = LanguageKeys),
        crate::shared::api_doc::Unauthenticated,
        (status = 404, body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn key_list(
    State(st): State<AppState>,
    _user: AuthUser,
    Path(code): Path<String>,
) -> Result<Json<LanguageKeys>, ApiError> {
    let language = existing(&st, &code).await?;
    let (strings, audio) = st
        .db
        .call(move |c| Ok((store::strings(c, &code)?, store::audio_index(c, &code)?)))
        .await?;
    let mut keys: Vec<KeyOut> = keys::all()
        .iter()
        .map(|s| KeyOut {
            key: s.key.clone(),
            group: s.group,
            audience: if s.page.villager() {
                "villager"
            } else {
                "team"
            },
            page: s.page,
            procedures: s.procedures.clone(),
            vi: s.vi.clone(),
            en: s.en.clone(),
            context: s.context.clone(),
            text: strings.get(&s.key).cloned(),
            audio: audio.get(&s.key).cloned(),
        })
        .collect();
    // Villagers' pages first, in the order a villager meets them; the inventory's order within a page.
    keys.sort_by_key(|k| k.page);
    Ok(Json(LanguageKeys { language, keys }))
}

/// A translation; empty clears it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TranslationBody {
    /// At most 2000 characters; line ends are the only control characters allowed. Empty or blank:
    /// the translation is cleared.
    #[schema(
        max_length = 2000,
        pattern = r"^(\s*|([^\u0000-\u0009\u000B-\u001F\u007F-\u009F]|\r\n)*[^\s\u0000-\u001F\u007F-\u009F]([^\u0000-\u0009\u000B-\u001F\u007F-\u009F]|\r\n)*)$"
    )]
    pub text: String,
}

/// NFC, trimmed, line ends as `\n`; no other control characters.
pub fn clean_text(s: &str) -> Result<String, ApiError> {
    let raw = s.replace("\r\n", "\n");
    if raw.trim().is_empty() {
        return Ok(String::new()); // blank: no translation
    }
    let t: String = raw.nfc().collect();
    let t = t.trim().to_string();
    // Length and control characters as sent (what the schema's `maxLength` and `pattern` say).
    if s.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::bad_request(
            format!("Bản dịch quá dài (tối đa {MAX_TEXT_CHARS} ký tự)."),
            format!("The translation is too long (at most {MAX_TEXT_CHARS} characters)."),
        )
        .with_field("text"));
    }
    if raw.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ApiError::bad_request(
            "Bản dịch có ký tự điều khiển không hợp lệ.",
            "The translation has invalid control characters.",
        )
        .with_field("text"));
    }
    Ok(t)
}

/// Sets or clears one text's translation in an added, written language (any team member).
#[utoipa::path(
    put,
    path = "/api/v1/languages/{code}/strings/{key}",
    operation_id = "lang_translate",
    tag = "lang",
    security(("session" = [], "csrf" = [])),
    params(("code" = String, Path, pattern = "^[a-z]{2,3}(-[a-z0-9]{2,8}){0,2}$", description = "BCP 47 / ISO 639-3 language code, e.g. `stg`"), ("key" = String, Path, description = "Text key from the translation inventory, e.g. `guide.<procedure>.purpose`")),
    request_body = TranslationBody,
    responses(
        (status = 200, description = "The text key and its translation (null when cleared)", body = Translated),
        (status = 400, description = "Bad JSON or text", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "No CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, description = "No such language or key", body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "`built_in` (Vietnamese, English) or `no_script` (a language only recorded)", body = crate::shared::api_doc::ErrorBody),
        (status = 413, body = crate::shared::api_doc::ErrorBody),
        (status = 415, body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn translate(
    State(st): State<AppState>,
    user: AuthUser,
    Path((code, key)): Path<(String, String)>,
    JsonBody(body): JsonBody<TranslationBody>,
) -> Result<Json<Translated>, ApiError> {
    if BUILT_IN.iter().any(|b| b.0 == code) {
        return Err(built_in_fixed());
    }
    let lang = existing(&st, &code).await?;
    if keys::find(&key).is_none() {
        return Err(unknown_key());
    }
    if !lang.has_script {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "no_script",
            "Ngôn ngữ này không dùng chữ viết: chỉ ghi âm được.",
            "This language has no written script: record audio instead.",
        )
        .with_field("text"));
    }
    let text = clean_text(&body.text)?;
    let (k, t, by) = (key.clone(), text.clone(), user.id.clone());
    st.db
        .call(move |c| {
            store::set_translation(c, &code, &k, (!t.is_empty()).then_some(t.as_str()), &by)
        })
        .await?;
    let text = (!text.is_empty()).then_some(text);
    Ok(Json(Translated { key, text }))
}

fn audio_error(status: StatusCode, code: &'static str) -> ApiError {
    let (vi, en) = if status == StatusCode::PAYLOAD_TOO_LARGE {
        (
            "Bản ghi âm quá lớn (tối đa 1 MB: khoảng một phút M4A, MP3, WebM hay Ogg, mười giây WAV). Hãy ghi ngắn hơn.".to_string(),
            "The recording is too large (at most 1 MB: about a minute of M4A, MP3, WebM or Ogg, ten seconds of WAV). Record a shorter one.".to_string(),
        )
    } else {
        (
            format!(
                "Tệp không phải bản ghi âm đọc được (hoặc bị cắt dở). Định dạng nhận: {}.",
                audio::ACCEPTED
            ),
            format!(
                "The file is not a readable recording (or is cut short). Accepted formats: {}.",
                audio::ACCEPTED
            ),
        )
    };
    ApiError::new(status, code, vi, en).with_field("file")
}

/// Stores one text's audio prompt in a language (any team member): M4A, MP3, WAV, WebM (Opus) or Ogg
/// (Opus), at most 1 MiB, stored as it is; the format is recognised from the bytes (never from the
/// declared type or a file name), and served with its real media type.
#[utoipa::path(
    put,
    path = "/api/v1/languages/{code}/audio/{key}",
    operation_id = "lang_upload",
    tag = "lang",
    security(("session" = [], "csrf" = [])),
    params(("code" = String, Path, pattern = "^[a-z]{2,3}(-[a-z0-9]{2,8}){0,2}$", description = "BCP 47 / ISO 639-3 language code, e.g. `stg`"), ("key" = String, Path, description = "Text key from the translation inventory, e.g. `guide.<procedure>.purpose`")),
    request_body(
        content = Vec<u8>,
        content_type = "audio/webm",
        description = "The recording's bytes: M4A (AAC in MP4), MP3, WAV, WebM (Opus) or Ogg (Opus); the format is recognised from the bytes, the declared type is ignored"
    ),
    responses(
        (status = 201, body = store::AudioInfo),
        (status = 400, description = "Broken upload", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "No CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, description = "No such language or key", body = crate::shared::api_doc::ErrorBody),
        (status = 413, description = "`too_large`: more than 1 MiB", body = crate::shared::api_doc::ErrorBody),
        (status = 415, description = "`unsupported_media`: not an M4A, MP3, WAV, WebM (Opus) or Ogg (Opus) recording, or cut short; the message lists the accepted formats", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn upload(
    State(st): State<AppState>,
    user: AuthUser,
    Path((code, key)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<store::AudioInfo>), ApiError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            audio_error(StatusCode::PAYLOAD_TOO_LARGE, "too_large")
        } else {
            ApiError::bad_request(
                "Bản ghi âm gửi lên bị lỗi.",
                "The uploaded recording is broken.",
            )
        }
    })?;
    existing(&st, &code).await?;
    if keys::find(&key).is_none() {
        return Err(unknown_key());
    }
    if body.len() > MAX_AUDIO_BYTES {
        return Err(audio_error(StatusCode::PAYLOAD_TOO_LARGE, "too_large"));
    }
    let media_type = audio::sniff(&body)
        .ok_or_else(|| audio_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media"))?;
    let by = user.id.clone();
    let info = st
        .db
        .call(move |c| store::put_audio(c, &code, &key, media_type, &body, &by))
        .await?;
    Ok((StatusCode::CREATED, Json(info)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlayParams {
    /// The SHA-256 the client expects; when it matches, the answer may be cached for good.
    pub v: Option<String>,
}

/// One text's audio prompt in a language (public), with an ETag; cached for good when `v` is its
/// SHA-256.
#[utoipa::path(
    get,
    path = "/api/v1/languages/{code}/audio/{key}",
    operation_id = "lang_play",
    tag = "lang",
    security(()),
    params(("code" = String, Path, pattern = "^[a-z]{2,3}(-[a-z0-9]{2,8}){0,2}$", description = "BCP 47 / ISO 639-3 language code, e.g. `stg`"), ("key" = String, Path, description = "Text key from the translation inventory, e.g. `guide.<procedure>.purpose`"), PlayParams),
    responses(
        (status = 200, description = "The recording with its real media type: `audio/mp4`, `audio/mpeg`, `audio/wav`, `audio/webm` or `audio/ogg`", content_type = "audio/webm", body = Vec<u8>),
        (status = 304, description = "Matches `If-None-Match`"),
        (status = 404, body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn play(
    State(st): State<AppState>,
    Path((code, key)): Path<(String, String)>,
    Query(q): Query<PlayParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let found = st
        .db
        .call(move |c| store::get_audio(c, &code, &key))
        .await?;
    let Some((media_type, sha, bytes)) = found else {
        return Err(ApiError::not_found("bản ghi âm", "Recording"));
    };
    let etag = format!("\"{sha}\"");
    let cache = if q.v.as_deref() == Some(sha.as_str()) {
        "public, max-age=31536000, immutable"
    } else {
        "public, no-cache"
    };
    let hv = |s: &str| HeaderValue::from_str(s).map_err(ApiError::internal);
    let mut h = HeaderMap::new();
    h.insert(header::ETAG, hv(&etag)?);
    h.insert(header::CACHE_CONTROL, hv(cache)?);
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, h).into_response());
    }
    h.insert(header::CONTENT_TYPE, hv(&media_type)?);
    Ok((h, bytes).into_response())
}

/// Deletes one text's audio prompt in a language (any team member).
#[utoipa::path(
    delete,
    path = "/api/v1/languages/{code}/audio/{key}",
    operation_id = "lang_delete_audio",
    tag = "lang",
    security(("session" = [], "csrf" = [])),
    params(("code" = String, Path, pattern = "^[a-z]{2,3}(-[a-z0-9]{2,8}){0,2}$", description = "BCP 47 / ISO 639-3 language code, e.g. `stg`"), ("key" = String, Path, description = "Text key from the translation inventory, e.g. `guide.<procedure>.purpose`")),
    responses(
        (status = 200, description = "Deleted", body = Empty),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "No CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn delete_audio(
    State(st): State<AppState>,
    _user: AuthUser,
    Path((code, key)): Path<(String, String)>,
) -> Result<Json<Empty>, ApiError> {
    if st
        .db
        .call(move |c| store::delete_audio(c, &code, &key))
        .await?
    {
        Ok(Json(Empty {}))
    } else {
        Err(ApiError::not_found("bản ghi âm", "Recording"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented body of an add is the real one with `code` required.
    #[test]
    fn new_language_documents_the_body() {
        use utoipa::PartialSchema;
        let doc = serde_json::to_value(NewLanguage::schema()).unwrap();
        let mut real = serde_json::to_value(LanguageBody::schema()).unwrap();
        real["required"]
            .as_array_mut()
            .unwrap()
            .insert(0, serde_json::json!("code"));
        real["properties"]["code"] = doc["properties"]["code"].clone();
        real["description"] = doc["description"].clone();
        assert_eq!(doc, real);
    }

    #[test]
    fn language_codes() {
        for ok in ["stg", "rog", "cjm", "km", "km-kh", "cjm-cham"] {
            assert!(valid_code(ok), "{ok}");
        }
        for bad in [
            "",
            "x",
            "abcd",
            "STG",
            "st g",
            "km-",
            "km-k",
            "a1",
            "km-kh-x1-y2",
            "../",
        ] {
            assert!(!valid_code(bad), "{bad}");
        }
    }

    #[test]
    fn translations_are_cleaned() {
        assert_eq!(clean_text("  Xin cha\u{300}o\r\n ").unwrap(), "Xin chào");
        assert!(clean_text("a\u{7}b").is_err());
        assert!(clean_text(&"a".repeat(MAX_TEXT_CHARS + 1)).is_err());
        assert_eq!(clean_text("hai\ndòng").unwrap(), "hai\ndòng");
    }
}
