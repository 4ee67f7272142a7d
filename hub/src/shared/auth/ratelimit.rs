//! Login rate limiting, counting failed logins in a fixed window (5 minutes by default) three ways:
//! - per account *and* client IP: 5 failures lock that name from that phone only, so a phone guessing an
//!   officer's password does not lock the officer out on their own phone;
//! - per account from all clients: 20 failures lock the name everywhere (bounds guessing spread over
//!   several phones);
//! - per client IP over all names: 20 failures lock that phone out of every account (bounds password
//!   spraying over many names).
//!
//! A successful login clears the (name, IP) count only. The counts live in memory: a restart clears them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins for one name from one client IP before that pair is locked.
pub const MAX_PER_NAME_AND_CLIENT: u32 = 5;
/// Failed logins for one name from all clients before the name is locked everywhere.
pub const MAX_PER_NAME: u32 = 20;
/// Failed logins from one client IP over all names before that client is locked out.
pub const MAX_PER_CLIENT: u32 = 20;
/// Default window of the counts (`hub serve --login-lockout-seconds`, hidden, for tests).
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Pair(String, IpAddr),
    Name(String),
    Client(IpAddr),
}

impl Key {
    fn max(&self) -> u32 {
        match self {
            Key::Pair(..) => MAX_PER_NAME_AND_CLIENT,
            Key::Name(_) => MAX_PER_NAME,
            Key::Client(_) => MAX_PER_CLIENT,
        }
    }
}

pub struct LoginLimiter {
    window: Duration,
    failures: Mutex<HashMap<Key, (u32, Instant)>>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new(DEFAULT_WINDOW)
    }
}

fn keys(name: &str, ip: IpAddr) -> [Key; 3] {
    let n = name.trim().to_lowercase();
    [Key::Pair(n.clone(), ip), Key::Name(n), Key::Client(ip)]
}

impl LoginLimiter {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The window of the counts.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// `Ok` if a login attempt for `name` from `ip` may proceed now, else the time until it may
    /// (whole seconds, at least 1).
    pub fn check(&self, name: &str, ip: IpAddr) -> Result<(), u64> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = 0u64;
        for k in keys(name, ip) {
            match map.get(&k) {
                Some((n, since)) if since.elapsed() < self.window => {
                    let left = self.window.saturating_sub(since.elapsed());
                    if *n >= k.max() {
                        wait = wait.max(left.as_secs() + u64::from(left.subsec_nanos() > 0));
                    }
                }
                Some(_) => {
                    map.remove(&k);
                }
                None => {}
            }
        }
        if wait == 0 {
            Ok(())
        } else {
            Err(wait.max(1))
        }
    }

    /// Whether a login attempt for `name` from `ip` may proceed now.
    pub fn allowed(&self, name: &str, ip: IpAddr) -> bool {
        self.check(name, ip).is_ok()
    }

    pub fn failed(&self, name: &str, ip: IpAddr) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 30_000 {
            let w = self.window;
            map.retain(|_, (_, since)| since.elapsed() < w);
        }
        for k in keys(name, ip) {
            let e = map.entry(k).or_insert((0, Instant::now()));
            if e.1.elapsed() >= self.window {
                *e = (0, Instant::now());
            }
            e.0 += 1;
        }
    }

    pub fn succeeded(&self, name: &str, ip: IpAddr) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let [pair, _, _] = keys(name, ip);
        map.remove(&pair);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 168, 4, 20));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 168, 4, 21));

    #[test]
    fn blocks_after_five_failures_per_name_and_client() {
        let l = LoginLimiter::default();
        for _ in 0..5 {
            assert!(l.allowed("An", A));
            l.failed("an", A);
        }
        assert!(!l.allowed("AN", A));
        let wait = l.check("an", A).unwrap_err();
        assert!((299..=300).contains(&wait), "{wait}");
        assert!(l.allowed("binh", A), "another name from the same phone");
        assert!(l.allowed("an", B), "the same name from another phone");
        l.succeeded("an", A);
        assert!(l.allowed("an", A));
    }

    #[test]
    fn a_name_attacked_from_many_clients_is_locked_everywhere() {
        let l = LoginLimiter::default();
        for i in 0..MAX_PER_NAME {
            let ip = IpAddr::from([10, 0, (i / 250) as u8, (i % 250) as u8]);
            assert!(l.allowed("an", ip));
            l.failed("an", ip);
        }
        assert!(!l.allowed("an", B));
        assert!(l.allowed("binh", B));
    }

    #[test]
    fn a_client_spraying_names_is_locked_out() {
        let l = LoginLimiter::default();
        for i in 0..MAX_PER_CLIENT {
            let name = format!("user{i}");
            assert!(l.allowed(&name, A));
            l.failed(&name, A);
        }
        assert!(!l.allowed("someone-else", A));
        assert!(l.allowed("someone-else", B));
    }

    #[test]
    fn the_window_passes() {
        let l = LoginLimiter::new(Duration::from_millis(30));
        for _ in 0..5 {
            l.failed("an", A);
        }
        assert!(!l.allowed("an", A));
        std::thread::sleep(Duration::from_millis(40));
        assert!(l.allowed("an", A));
    }
}
