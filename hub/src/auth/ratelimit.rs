//! Login rate limiting: after 5 failed logins for one name within 5 minutes, further attempts for that
//! name are refused until the window passes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const MAX_FAILURES: u32 = 5;
const WINDOW: Duration = Duration::from_secs(300);

#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginLimiter {
    /// Whether a login attempt for `name` may proceed now.
    pub fn allowed(&self, name: &str) -> bool {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(&key(name)) {
            Some((n, since)) if since.elapsed() < WINDOW => *n < MAX_FAILURES,
            Some(_) => {
                map.remove(&key(name));
                true
            }
            None => true,
        }
    }

    pub fn failed(&self, name: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, (_, since)| since.elapsed() < WINDOW);
        }
        let e = map.entry(key(name)).or_insert((0, Instant::now()));
        if e.1.elapsed() >= WINDOW {
            *e = (0, Instant::now());
        }
        e.0 += 1;
    }

    pub fn succeeded(&self, name: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&key(name));
    }
}

fn key(name: &str) -> String {
    name.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_five_failures_per_name() {
        let l = LoginLimiter::default();
        for _ in 0..5 {
            assert!(l.allowed("An"));
            l.failed("an");
        }
        assert!(!l.allowed("AN"));
        assert!(l.allowed("binh"));
        l.succeeded("an");
        assert!(l.allowed("an"));
    }
}
