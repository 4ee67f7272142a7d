//! The clock guard: is the hub's clock plausible, and an officer's one-tap confirmation from a phone.
//!
//! The clock is implausible when now is before this binary's build date, behind the latest sealed
//! dossier in the store, or behind the last confirmed time. Sealing is then refused (409
//! `clock_unconfirmed`) until an officer confirms the time from a phone. The confirmation is an
//! [`Anchor`] on the boot clock, saved in the store's `meta` with the kernel's boot id: a restart in the
//! same boot keeps it, a reboot forgets it (the last confirmed time itself is kept, as a floor).
//!
//! The rules are pure functions of their inputs ([`plausibility`], [`check_confirmation`]) so they are
//! tested without a clock.

pub mod routes;

pub use routes::router;

use std::sync::atomic::{AtomicI64, Ordering};

use axum::http::StatusCode;
use protocol::HubMode;
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::shared::clock::{self, Anchor};
use crate::shared::error::ApiError;
use crate::shared::store::{meta_get, meta_set, StoreResult};

/// `meta` key of the saved confirmation.
const META_KEY: &str = "clock.confirmation";

/// A phone time more than this after the build date is refused as absurd (seconds; 30 years).
pub const MAX_AFTER_BUILD_S: i64 = 30 * 365 * 86_400;

/// Why the clock is implausible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Now is before this binary was built.
    BeforeBuild,
    /// Now is behind the latest sealed (field) or received (office) dossier.
    BehindLastSeal,
    /// Now is behind the time an officer last confirmed.
    BehindLastConfirmed,
}

impl Reason {
    pub fn code(self) -> &'static str {
        match self {
            Reason::BeforeBuild => "before_build",
            Reason::BehindLastSeal => "behind_last_seal",
            Reason::BehindLastConfirmed => "behind_last_confirmed",
        }
    }
}

/// What the plausibility of a clock reading depends on (unix seconds).
#[derive(Debug, Clone, Copy)]
pub struct Facts {
    pub now: i64,
    pub build: i64,
    pub last_seal: Option<i64>,
    pub last_confirmed: Option<i64>,
    /// An officer confirmed the time in this boot (the corrected clock is in effect).
    pub confirmed_this_boot: bool,
}

/// `None` when the clock is plausible, else the first reason it is not. A confirmation in this boot
/// makes it plausible: the confirmation itself was checked ([`check_confirmation`]).
pub fn plausibility(f: &Facts) -> Option<Reason> {
    if f.confirmed_this_boot {
        return None;
    }
    if f.now < f.build {
        return Some(Reason::BeforeBuild);
    }
    if f.last_seal.is_some_and(|s| f.now < s) {
        return Some(Reason::BehindLastSeal);
    }
    if f.last_confirmed.is_some_and(|c| f.now < c) {
        return Some(Reason::BehindLastConfirmed);
    }
    None
}

/// Why a phone's time is not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmRefusal {
    /// The phone's time is before this binary was built: the phone's clock is wrong too.
    BeforeBuild,
    /// Decades after the build date: not a real time.
    Absurd,
    /// Behind the latest sealed dossier by this many seconds: taken only with an explicit second tap.
    BehindLastSeal { seconds: i64 },
}

/// Checks a phone's time (unix seconds) before the hub takes it. Never rewinds behind existing seals
/// without `really` (the officer's explicit second tap).
pub fn check_confirmation(
    phone: i64,
    build: i64,
    last_seal: Option<i64>,
    really: bool,
) -> Result<(), ConfirmRefusal> {
    if phone < build {
        return Err(ConfirmRefusal::BeforeBuild);
    }
    if phone > build + MAX_AFTER_BUILD_S {
        return Err(ConfirmRefusal::Absurd);
    }
    match last_seal {
        Some(s) if phone < s && !really => {
            Err(ConfirmRefusal::BehindLastSeal { seconds: s - phone })
        }
        _ => Ok(()),
    }
}

impl ConfirmRefusal {
    pub fn to_api(self) -> ApiError {
        match self {
            ConfirmRefusal::BeforeBuild => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "clock_phone_wrong",
                "Giờ của điện thoại này cũng sai (trước ngày phần mềm được tạo). Hãy dùng một điện thoại khác có giờ đúng.",
                "This phone's time is wrong too (before the software was built). Use another phone with the right time.",
            )
            .with_field("phone_time"),
            ConfirmRefusal::Absurd => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "clock_phone_wrong",
                "Giờ của điện thoại này không hợp lý. Hãy kiểm tra ngày giờ trên điện thoại.",
                "This phone's time is not plausible. Check the phone's date and time.",
            )
            .with_field("phone_time"),
            ConfirmRefusal::BehindLastSeal { seconds } => ApiError::new(
                StatusCode::CONFLICT,
                "clock_behind_last_seal",
                format!(
                    "Giờ của điện thoại này sớm hơn hồ sơ niêm phong gần nhất {}. Kiểm tra lại giờ điện thoại; chỉ xác nhận lần nữa nếu chắc chắn giờ này đúng.",
                    span_vi(seconds)
                ),
                format!(
                    "This phone's time is {} before the latest sealed dossier. Check the phone's time; confirm again only if you are sure it is right.",
                    span_en(seconds)
                ),
            )
            .with_field("phone_time"),
        }
    }
}

fn span_vi(s: i64) -> String {
    match s {
        s if s >= 2 * 86_400 => format!("{} ngày", s / 86_400),
        s if s >= 2 * 3600 => format!("{} giờ", s / 3600),
        s if s >= 120 => format!("{} phút", s / 60),
        s => format!("{s} giây"),
    }
}

fn span_en(s: i64) -> String {
    match s {
        s if s >= 2 * 86_400 => format!("{} days", s / 86_400),
        s if s >= 2 * 3600 => format!("{} hours", s / 3600),
        s if s >= 120 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
}

/// The refusal to seal while the clock is implausible.
pub fn unconfirmed_error(reason: Reason) -> ApiError {
    let (vi, en) = match reason {
        Reason::BeforeBuild => (
            "Đồng hồ của trạm đang sai (trước ngày phần mềm được tạo; máy không có pin giữ giờ).",
            "The hub's clock is wrong (before the software was built; the device keeps no time while off).",
        ),
        Reason::BehindLastSeal => (
            "Đồng hồ của trạm đang chậm hơn hồ sơ niêm phong gần nhất (có thể do mất điện).",
            "The hub's clock is behind the latest sealed dossier (perhaps after a power cut).",
        ),
        Reason::BehindLastConfirmed => (
            "Đồng hồ của trạm đang chậm hơn lần xác nhận giờ gần nhất.",
            "The hub's clock is behind the last confirmed time.",
        ),
    };
    ApiError::new(
        StatusCode::CONFLICT,
        "clock_unconfirmed",
        format!("{vi} Chưa niêm phong được. Cán bộ hãy mở ứng dụng trên điện thoại có giờ đúng và bấm \"Dùng giờ của điện thoại này\"."),
        format!("{en} Sealing is paused. An officer opens the app on a phone with the right time and taps \"Use this phone's time\"."),
    )
}

/// A confirmation as saved in `meta`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Confirmation {
    /// The kernel boot id the anchor belongs to (`None`: valid for the process only, never restored).
    pub boot_id: Option<String>,
    /// See [`Anchor::boot_epoch_ms`].
    pub boot_epoch_ms: i64,
    /// The confirmed time, RFC 3339 UTC, and as unix seconds (the floor after a reboot).
    pub confirmed_at: String,
    pub confirmed_unix: i64,
    /// Role of who confirmed (admin, officer, clerk); who exactly is in the audit log.
    pub by_role: String,
    /// Phone time minus the system clock at confirmation, seconds.
    pub correction_s: i64,
}

impl Confirmation {
    /// The anchor to use now, if this confirmation belongs to boot `current_boot`.
    pub fn anchor_for(&self, current_boot: Option<&str>) -> Option<Anchor> {
        match (&self.boot_id, current_boot) {
            (Some(saved), Some(now)) if saved == now => Some(Anchor {
                boot_epoch_ms: self.boot_epoch_ms,
            }),
            _ => None,
        }
    }
}

/// Reads the saved confirmation.
pub fn load(c: &Connection) -> StoreResult<Option<Confirmation>> {
    Ok(meta_get(c, META_KEY)?.and_then(|s| serde_json::from_str(&s).ok()))
}

/// Saves a confirmation.
pub fn save(c: &Connection, conf: &Confirmation) -> StoreResult<()> {
    let s = serde_json::to_string(conf).unwrap_or_default();
    meta_set(c, META_KEY, &s)
}

/// The latest dossier time in the store, unix seconds: the latest sealing (field) or receipt at the
/// office (office).
pub fn last_seal(c: &Connection, mode: HubMode) -> StoreResult<Option<i64>> {
    let sql = match mode {
        HubMode::Field => "SELECT MAX(sealed_at) FROM receipts",
        HubMode::Office => "SELECT MAX(received_at) FROM received_dossiers",
    };
    let s: Option<String> = c.query_row(sql, [], |r| r.get(0)).optional()?.flatten();
    let t = s.as_deref().and_then(clock::unix_of);
    if let Some(t) = t {
        LAST_SEAL.fetch_max(t, Ordering::Relaxed);
    }
    Ok(t)
}

/// Latest dossier time seen (cache for `/healthz`, which must stay cheap), unix seconds; `i64::MIN`: none.
static LAST_SEAL: AtomicI64 = AtomicI64::new(i64::MIN);
/// The last confirmed time (unix seconds), cached likewise.
static LAST_CONFIRMED: AtomicI64 = AtomicI64::new(i64::MIN);

/// Notes a dossier sealed at `unix` (keeps `/healthz` current without a query).
pub fn note_sealed(unix: i64) {
    LAST_SEAL.fetch_max(unix, Ordering::Relaxed);
}

fn opt(v: i64) -> Option<i64> {
    (v != i64::MIN).then_some(v)
}

/// Restores this boot's confirmation (if any) and the caches, at start.
pub fn restore(c: &Connection, mode: HubMode) -> StoreResult<Option<Confirmation>> {
    last_seal(c, mode)?;
    let conf = load(c)?;
    let boot = clock::boot_id();
    clock::set_anchor(conf.as_ref().and_then(|k| k.anchor_for(boot.as_deref())));
    if let Some(k) = &conf {
        LAST_CONFIRMED.fetch_max(k.confirmed_unix, Ordering::Relaxed);
    }
    Ok(conf)
}

/// The facts now, from the caches (no query): for `/healthz`.
pub fn cached_facts() -> Facts {
    Facts {
        now: clock::now_unix(),
        build: clock::BUILD_UNIX,
        last_seal: opt(LAST_SEAL.load(Ordering::Relaxed)),
        last_confirmed: opt(LAST_CONFIRMED.load(Ordering::Relaxed)),
        confirmed_this_boot: clock::anchor().is_some(),
    }
}

/// The facts now, reading the latest dossier time from the store.
pub fn facts(c: &Connection, mode: HubMode) -> StoreResult<Facts> {
    let last_seal = last_seal(c, mode)?;
    let last_confirmed = load(c)?.map(|k| k.confirmed_unix);
    Ok(Facts {
        now: clock::now_unix(),
        build: clock::BUILD_UNIX,
        last_seal,
        last_confirmed,
        confirmed_this_boot: clock::anchor().is_some(),
    })
}

/// Refuses (409 `clock_unconfirmed`) unless the clock is plausible. Called before sealing.
pub fn require_plausible(c: &Connection, mode: HubMode) -> StoreResult<Result<(), Reason>> {
    Ok(match plausibility(&facts(c, mode)?) {
        None => Ok(()),
        Some(r) => Err(r),
    })
}

/// Takes a checked phone time (unix ms): sets the corrected clock, saves it, and moves the expiry of the
/// sessions opened under the wrong clock by the same jump (so the officer stays signed in). Returns the
/// saved confirmation. Runs in the caller's transaction.
pub fn apply(c: &Connection, phone_ms: i64, by_role: &str) -> StoreResult<Confirmation> {
    let old_now = clock::now_unix();
    let system_ms = clock::system_unix_ms();
    let (boot, real) = clock::boot_ms();
    let anchor = Anchor::at(phone_ms, boot);
    let conf = Confirmation {
        boot_id: if real { clock::boot_id() } else { None },
        boot_epoch_ms: anchor.boot_epoch_ms,
        confirmed_at: clock::rfc3339_of_ms(phone_ms),
        confirmed_unix: phone_ms.div_euclid(1000),
        by_role: by_role.to_owned(),
        correction_s: (phone_ms - system_ms).div_euclid(1000),
    };
    save(c, &conf)?;
    let jump = phone_ms.div_euclid(1000) - old_now;
    if jump != 0 {
        // Sessions whose expiry was set under the wrong clock: expiring within one idle period of it. Their
        // start moves too (the absolute lifetime counts from it).
        c.execute(
            "UPDATE sessions SET expires_at = expires_at + ?1,
                 created_at = coalesce(strftime('%Y-%m-%dT%H:%M:%fZ', created_at, ?4), created_at)
             WHERE expires_at BETWEEN ?2 AND ?3",
            rusqlite::params![
                jump,
                old_now,
                old_now + crate::shared::auth::SESSION_IDLE_SECS,
                format!("{jump:+} seconds"),
            ],
        )?;
    }
    Ok(conf)
}

/// After the transaction of [`apply`] committed: the corrected clock takes effect.
pub fn activate(conf: &Confirmation) {
    clock::set_anchor(Some(Anchor {
        boot_epoch_ms: conf.boot_epoch_ms,
    }));
    LAST_CONFIRMED.fetch_max(conf.confirmed_unix, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUILD: i64 = 1_795_000_000; // 2026-11-17
    const DAY: i64 = 86_400;

    fn facts(now: i64) -> Facts {
        Facts {
            now,
            build: BUILD,
            last_seal: None,
            last_confirmed: None,
            confirmed_this_boot: false,
        }
    }

    #[test]
    fn a_pi_booted_in_1970_or_before_the_build_is_implausible() {
        assert_eq!(plausibility(&facts(0)), Some(Reason::BeforeBuild));
        assert_eq!(plausibility(&facts(BUILD - 1)), Some(Reason::BeforeBuild));
        assert_eq!(plausibility(&facts(BUILD)), None);
        assert_eq!(plausibility(&facts(BUILD + 400 * DAY)), None);
    }

    #[test]
    fn behind_the_last_seal_or_confirmation_is_implausible() {
        let seal = BUILD + 10 * DAY;
        let f = Facts {
            last_seal: Some(seal),
            ..facts(seal - 3600) // fake-hwclock restored an hour-old time after a power cut
        };
        assert_eq!(plausibility(&f), Some(Reason::BehindLastSeal));
        assert_eq!(plausibility(&Facts { now: seal, ..f }), None);
        let f = Facts {
            last_confirmed: Some(seal + 60),
            ..facts(seal + 30)
        };
        assert_eq!(plausibility(&f), Some(Reason::BehindLastConfirmed));
        // Before the build date is reported first.
        let f = Facts {
            last_seal: Some(seal),
            ..facts(5)
        };
        assert_eq!(plausibility(&f), Some(Reason::BeforeBuild));
    }

    #[test]
    fn a_confirmation_in_this_boot_makes_it_plausible() {
        let f = Facts {
            confirmed_this_boot: true,
            last_seal: Some(BUILD + DAY),
            ..facts(BUILD + 10)
        };
        assert_eq!(plausibility(&f), None);
    }

    #[test]
    fn absurd_phone_times_are_refused_and_rewinds_need_a_second_tap() {
        assert_eq!(
            check_confirmation(BUILD - 1, BUILD, None, true),
            Err(ConfirmRefusal::BeforeBuild)
        );
        assert_eq!(
            check_confirmation(BUILD + MAX_AFTER_BUILD_S + 1, BUILD, None, true),
            Err(ConfirmRefusal::Absurd)
        );
        assert_eq!(check_confirmation(BUILD + DAY, BUILD, None, false), Ok(()));
        let seal = BUILD + 5 * DAY;
        assert_eq!(
            check_confirmation(seal + 1, BUILD, Some(seal), false),
            Ok(())
        );
        assert_eq!(
            check_confirmation(seal - 2 * DAY, BUILD, Some(seal), false),
            Err(ConfirmRefusal::BehindLastSeal { seconds: 2 * DAY })
        );
        assert_eq!(
            check_confirmation(seal - 2 * DAY, BUILD, Some(seal), true),
            Ok(())
        );
        let e = ConfirmRefusal::BehindLastSeal { seconds: 2 * DAY }.to_api();
        assert_eq!(e.code, "clock_behind_last_seal");
        assert!(e.message_vi.contains("2 ngày") && e.message_en.contains("2 days"));
    }

    #[test]
    fn a_confirmation_is_restored_in_the_same_boot_only() {
        let conf = Confirmation {
            boot_id: Some("boot-a".into()),
            boot_epoch_ms: 1_000,
            confirmed_at: "2026-11-24T01:00:00Z".into(),
            confirmed_unix: 1_795_999_600,
            by_role: "officer".into(),
            correction_s: 0,
        };
        assert_eq!(
            conf.anchor_for(Some("boot-a")),
            Some(Anchor {
                boot_epoch_ms: 1_000
            })
        );
        assert_eq!(conf.anchor_for(Some("boot-b")), None);
        assert_eq!(conf.anchor_for(None), None);
        let process_only = Confirmation {
            boot_id: None,
            ..conf
        };
        assert_eq!(process_only.anchor_for(None), None);
    }

    #[test]
    fn apply_moves_the_start_of_sessions_opened_under_the_wrong_clock() {
        let c = crate::shared::store::open_memory().unwrap();
        c.execute(
            "INSERT INTO users(id, name, role, password_hash, created_at) VALUES ('u','n','officer','x','t')",
            [],
        )
        .unwrap();
        let wrong_now = crate::shared::clock::now_unix();
        c.execute(
            "INSERT INTO sessions(token_hash, user_id, csrf_token, created_at, expires_at) VALUES ('s','u','c',?1,?2)",
            rusqlite::params![crate::shared::clock::rfc3339_of_ms(wrong_now * 1000), wrong_now + 3600],
        )
        .unwrap();
        apply(&c, (wrong_now + 1000 * DAY) * 1000, "officer").unwrap();
        let start: i64 = c
            .query_row(
                "SELECT CAST(strftime('%s', created_at) AS INTEGER) FROM sessions",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(
            (wrong_now + 1000 * DAY - 2..=wrong_now + 1000 * DAY).contains(&start),
            "{start}"
        );
    }

    #[test]
    fn apply_anchors_saves_and_keeps_sessions_opened_under_the_wrong_clock() {
        let c = crate::shared::store::open_memory().unwrap();
        c.execute(
            "INSERT INTO users(id, name, role, password_hash, created_at) VALUES ('u','n','officer','x','t')",
            [],
        )
        .unwrap();
        let wrong_now = crate::shared::clock::now_unix();
        for (tok, exp) in [
            ("fresh", wrong_now + 3600),
            (
                "earlier-boot",
                wrong_now + 10 * crate::shared::auth::SESSION_IDLE_SECS,
            ),
        ] {
            c.execute(
                "INSERT INTO sessions(token_hash, user_id, csrf_token, created_at, expires_at) VALUES (?1,'u','c','t',?2)",
                rusqlite::params![tok, exp],
            )
            .unwrap();
        }
        let phone_ms = (wrong_now + 1000 * DAY) * 1000;
        let conf = apply(&c, phone_ms, "officer").unwrap();
        assert_eq!(load(&c).unwrap().as_ref(), Some(&conf));
        assert_eq!(conf.confirmed_unix, wrong_now + 1000 * DAY);
        let exp = |tok: &str| -> i64 {
            c.query_row(
                "SELECT expires_at FROM sessions WHERE token_hash = ?1",
                [tok],
                |r| r.get(0),
            )
            .unwrap()
        };
        let shifted = exp("fresh") - (wrong_now + 3600);
        assert!(
            (1000 * DAY - 2..=1000 * DAY).contains(&shifted),
            "{shifted}"
        );
        assert_eq!(
            exp("earlier-boot"),
            wrong_now + 10 * crate::shared::auth::SESSION_IDLE_SECS
        );
    }
}
