//! The field side of pairing: read the office's QR (or a typed code and address), send a signed
//! `PairRequest` to `<office>/api/v1/sync/pair`, check the office's signed answer, pin the office card, then
//! protect the dossiers sealed while no office key was trusted (as `hub trust` does). Used by the field
//! admin's page and by `hub pair`.

use axum::http::StatusCode;
use protocol::{
    DeviceStatus, HubMode, PairRequest, PairingCode, PairingQr, SignedPairAnswer, SignedPairRequest,
};
use serde::Serialize;

use super::store::{self, PinOffice};
use crate::field::uploader::client::{http_client, read_body, BodyFail, SyncError};
use crate::field::uploader::policy::limits::{self, Reply};
use crate::shared::error::ApiError;
use crate::shared::keys::HubKeys;
use crate::shared::store::Db;

/// A broken read limit as the API's error (502, the limit's code, plain words).
fn limit_error(e: SyncError) -> ApiError {
    let p = e.plain();
    let code = match e.code() {
        "office_answer_too_large" => "office_answer_too_large",
        _ => "office_answer_too_slow",
    };
    ApiError::new(StatusCode::BAD_GATEWAY, code, p.message_vi, p.message_en)
}

/// What a successful pairing tells the field admin.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = PairedOffice)]
pub struct Paired {
    pub office: store::OfficeRow,
    /// This device's status at the office (normally `pending_approval` until a clerk approves it).
    #[schema(value_type = crate::shared::api_doc::protocol::DeviceStatus)]
    pub device_status: DeviceStatus,
    /// The same office was pinned already.
    pub already_paired: bool,
    /// Dossiers sealed before an office key was known that are now encrypted to the office.
    pub protected_now: usize,
}

/// The office address and code, from a QR text or typed separately.
pub fn target(
    qr_text: Option<&str>,
    url: Option<&str>,
    code: Option<&str>,
) -> Result<PairingQr, ApiError> {
    if let Some(t) = qr_text {
        return PairingQr::parse(t.trim()).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "pairing_qr_invalid",
                format!("Mã QR này không phải mã ghép nối của văn phòng xã ({e})."),
                format!("This QR is not an office pairing code ({e})."),
            )
            .with_field("qr_text")
        });
    }
    let (Some(url), Some(code)) = (url, code) else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "pairing_target_missing",
            "Hãy quét mã QR của văn phòng, hoặc nhập địa chỉ văn phòng và mã ghép nối.",
            "Scan the office's QR code, or type the office address and the pairing code.",
        )
        .with_field(if url.is_none() { "url" } else { "code" }));
    };
    let code = PairingCode::parse(code).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "pairing_code_malformed",
            format!("Mã ghép nối chưa đúng: {e}. Mã có 17 ký tự, dạng XXXX-XXXX-XXXX-XXXX-X."),
            format!("The pairing code is not right: {e}. It has 17 symbols, like XXXX-XXXX-XXXX-XXXX-X."),
        )
        .with_field("code")
    })?;
    let mut url = url.trim().trim_end_matches('/').to_string();
    if !url.contains("://") {
        url = format!("http://{url}");
    }
    PairingQr::new(url, code).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "office_url_invalid",
            format!("Địa chỉ văn phòng chưa đúng ({e}). Ví dụ: http://192.168.1.20:8080"),
            format!("The office address is not right ({e}). Example: http://192.168.1.20:8080"),
        )
        .with_field("url")
    })
}

fn unreachable(url: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "office_unreachable",
        format!("Không kết nối được văn phòng xã tại {url}. Kiểm tra máy văn phòng đang chạy và hai máy cùng mạng, rồi thử lại. ({why})"),
        format!("Cannot reach the commune office at {url}. Check that the office hub is running and both are on the same network, then try again. ({why})"),
    )
}

fn not_an_office(url: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "not_an_office",
        format!("Địa chỉ {url} trả lời nhưng không phải trạm văn phòng xã. Kiểm tra lại địa chỉ."),
        format!("{url} answers, but it is not a commune office hub. Check the address."),
    )
}

/// Pairs this field hub with the office of `target`; pins the office and protects pending dossiers.
pub async fn pair_with_office(
    db: &Db,
    keys: &HubKeys,
    name: &str,
    target: &PairingQr,
) -> Result<Paired, ApiError> {
    let created_at = db
        .call(|c| crate::shared::store::meta_get(c, "created_at"))
        .await?
        .unwrap_or_default();
    let card = keys
        .key_card(HubMode::Field, name, &created_at)
        .map_err(ApiError::internal)?;
    let request = PairRequest::new(card, &target.code, crate::shared::clock::now_rfc3339())
        .map_err(ApiError::internal)?;
    let signed =
        SignedPairRequest::sign(request.clone(), &keys.device).map_err(ApiError::internal)?;
    let body = signed.to_bytes().map_err(ApiError::internal)?;
    let url = &target.base_url;
    let http = http_client(None).map_err(ApiError::internal)?;
    let deadline = tokio::time::Instant::now() + Reply::Pair.deadline();
    let mut resp = tokio::time::timeout_at(
        deadline,
        http.post(format!("{url}/api/v1/sync/pair"))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send(),
    )
    .await
    .map_err(|_| unreachable(url, "timeout"))?
    .map_err(|e| unreachable(url, without_url(&e)))?;
    let status = resp.status();
    let max = if status.is_success() {
        Reply::Pair.max_bytes()
    } else {
        limits::ERROR_BYTES
    };
    let bytes = match read_body(&mut resp, max, deadline).await {
        Ok(b) => b,
        Err(BodyFail::TooLarge) => return Err(limit_error(SyncError::too_large(Reply::Pair))),
        Err(BodyFail::Deadline) => return Err(limit_error(SyncError::too_slow(Reply::Pair))),
        Err(BodyFail::Idle) => return Err(unreachable(url, "timeout")),
        Err(BodyFail::Net(e)) => return Err(unreachable(url, e)),
    };
    if !status.is_success() {
        let code = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned));
        return Err(match code.as_deref() {
            Some("pairing_code_invalid") => ApiError::new(
                StatusCode::FORBIDDEN,
                "pairing_code_invalid",
                "Văn phòng không nhận mã này: mã sai, đã dùng hoặc đã hết hạn (mã dùng được 10 phút). Hãy nhờ văn phòng tạo mã mới.",
                "The office refused this code: it is wrong, already used or expired (codes last 10 minutes). Ask the office for a new code.",
            )
            .with_field("code"),
            Some("too_many_attempts") => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                "Đã thử sai quá nhiều lần. Hãy đợi 5 phút rồi thử lại với mã mới.",
                "Too many wrong attempts. Wait 5 minutes, then try again with a new code.",
            ),
            Some("device_key_changed") => ApiError::new(
                StatusCode::CONFLICT,
                "device_key_changed",
                "Văn phòng đã ghép nối một thiết bị cùng mã số nhưng khóa khác. Hãy nhờ văn phòng kiểm tra danh sách thiết bị.",
                "The office has a device with this id but different keys. Ask the office to check its device list.",
            ),
            _ => not_an_office(url),
        });
    }
    let answer = SignedPairAnswer::from_bytes(&bytes).map_err(|_| not_an_office(url))?;
    answer.verify_for(&request, &target.code).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "office_answer_invalid",
            format!("Câu trả lời của văn phòng không xác minh được, không ghép nối ({e})."),
            format!("The office's answer does not verify; nothing was paired ({e})."),
        )
    })?;
    let office_card = answer.answer.card.clone();
    let me = keys.device_id.clone();
    let base = url.clone();
    let pinned = db
        .call(move |c| store::pin_office(c, &me, &office_card, &base))
        .await?;
    let already_paired = match pinned {
        PinOffice::Pinned { already } => {
            // The office can now recover this hub's data key (encryption at rest, `shared::unlock`).
            let db2 = db.clone();
            match tokio::task::spawn_blocking(move || crate::shared::unlock::refresh_escrow(&db2))
                .await
            {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "could not give the office a copy of the data key"),
                Err(e) => tracing::error!(error = %e, "escrow task failed"),
            }
            already
        }
        PinOffice::OtherOffice(other) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "office_already_paired",
                format!("Trạm này đã ghép nối với văn phòng khác ({other}). Không thay văn phòng tự động."),
                format!("This hub is already paired with another office ({other}). The office is never replaced automatically."),
            ))
        }
        PinOffice::KeyChanged => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "office_key_changed",
                "Văn phòng này đã được ghép nối với khóa khác. Không thay khóa tự động; hãy kiểm tra với văn phòng.",
                "This office is already pinned with different keys. Keys are never replaced automatically; check with the office.",
            ))
        }
    };
    // The office's HTTPS CA, signed with the key just pinned: from now on the sync session goes over HTTPS
    // trusting exactly it. Not fatal: the next sync fetches it again (and refuses plain HTTP meanwhile).
    let office_key = answer.answer.card.sign_pub;
    match crate::field::uploader::office_tls::fetch(
        url,
        &office_key,
        tokio_util::sync::CancellationToken::new(),
    )
    .await
    {
        Ok((signed, pin)) => {
            db.call(move |c| crate::field::uploader::office_tls::save(c, &signed))
                .await?;
            tracing::info!(ca = %pin.ca_sha256, "pinned the office's HTTPS certificate authority");
        }
        Err(e) => {
            tracing::warn!(error = %e, "the office's HTTPS certificate was not pinned at pairing")
        }
    }
    let device = keys.device.clone();
    let place =
        crate::shared::chain_guard::place(db.path().parent().unwrap_or(std::path::Path::new(".")));
    let protected_now = db
        .call(move |c| crate::field::seal::engine::protect_pending(c, &device, place))
        .await?;
    let office = db
        .call(|c| store::pinned_office(c))
        .await?
        .ok_or_else(|| ApiError::internal("pinned office vanished"))?;
    tracing::info!(office = %office.device_id, protected_now, "paired with the office");
    Ok(Paired {
        office,
        device_status: answer.answer.status,
        already_paired,
        protected_now,
    })
}

/// A reqwest error's kind without its URL (the URL is already in the message).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection refused or no route"
    } else {
        "network error"
    };
    kind.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_from_qr_or_typed() {
        let t = target(
            Some("OKP1:http://192.168.1.20:8080#008J-4CT4-ANK7-F24S-X"),
            None,
            None,
        )
        .unwrap();
        assert_eq!(t.base_url, "http://192.168.1.20:8080");
        let t2 = target(
            None,
            Some("192.168.1.20:8080/"),
            Some("008j 4ct4 ank7 f24s x"),
        )
        .unwrap();
        assert_eq!(t2, t);
        assert_eq!(
            target(None, Some("x"), Some("008J-4CT4-ANK7-F24S-Y"))
                .unwrap_err()
                .code,
            "pairing_code_malformed"
        );
        assert_eq!(
            target(None, None, Some("x")).unwrap_err().code,
            "pairing_target_missing"
        );
        assert_eq!(
            target(Some("OKR1:x"), None, None).unwrap_err().code,
            "pairing_qr_invalid"
        );
    }
}
