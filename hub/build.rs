//! Exports the build date to the hub as `HUB_BUILD_UNIX` (unix seconds) and `HUB_BUILD_DATE`
//! (YYYY-MM-DD, UTC): `SOURCE_DATE_EPOCH` when set (reproducible builds), else the time of the build.
//! The clock guard refuses to seal while the system clock reads a time before this date (a Raspberry Pi
//! without a real-time clock that booted in 1970).

use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    println!("cargo:rerun-if-changed=build.rs");
    let unix = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(s) if !s.trim().is_empty() => s
            .trim()
            .parse::<i64>()
            .expect("SOURCE_DATE_EPOCH must be unix seconds"),
        _ => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0),
    };
    let (y, m, d) = civil_from_days(unix.div_euclid(86_400));
    println!("cargo:rustc-env=HUB_BUILD_UNIX={unix}");
    println!("cargo:rustc-env=HUB_BUILD_DATE={y:04}-{m:02}-{d:02}");
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar (H. Hinnant's
/// algorithm), so the build script needs no dependency.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
