//! Login rate limiting, counting login attempts in a fixed window (5 minutes by default) three ways:
//! - per account *and* client address: 5 failures lock that name from that phone only, so a phone guessing
//!   an officer's password does not lock the officer out on their own phone;
//! - per client address over all names: 20 failures lock that phone out of every account (bounds password
//!   spraying over many names);
//! - per account from all clients: a slower, global budget of 100 failures bounds guessing spread over many
//!   phones (address rotation). Reaching it locks the name only for addresses that have not logged in as
//!   that name before (within 30 days): the officer's own phone keeps working while the name is attacked.
//!
//! An attempt is counted *before* the password is checked ([`LoginLimiter::reserve`]): the reservation
//! takes a slot in all three counts under one lock, and only a successful login gives it back. So a burst of
//! simultaneous attempts cannot all pass the check while the slow password hashes run: at most the limit
//! are evaluated, the rest are refused at once. A success also clears the (name, address) count and marks
//! the address as known for that name.
//!
//! IPv6 clients are counted per /64 (one device can pick any address of its prefix). The counts live in
//! memory: a restart clears them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins for one name from one client address before that pair is locked.
pub const MAX_PER_NAME_AND_CLIENT: u32 = 5;
/// Failed logins for one name from all clients before the name is locked for unknown addresses.
pub const MAX_PER_NAME: u32 = 100;
/// Failed logins from one client address over all names before that client is locked out.
pub const MAX_PER_CLIENT: u32 = 20;
/// Default window of the counts (`hub serve --login-lockout-seconds`, hidden, for tests).
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(300);
/// How long an address that logged in as a name stays exempt from that name's global lock.
pub const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);

/// Entries kept before expired ones are swept.
const SWEEP_AT: usize = 30_000;
/// Known (name, address) pairs kept at most.
const MAX_KNOWN: usize = 10_000;

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

#[derive(Default)]
struct State {
    /// Counted attempts (failed or still running) and the start of their window.
    counts: HashMap<Key, (u32, Instant)>,
    /// (name, address) pairs that logged in successfully, and when.
    known: HashMap<(String, IpAddr), Instant>,
}

pub struct LoginLimiter {
    window: Duration,
    state: Mutex<State>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new(DEFAULT_WINDOW)
    }
}

/// The address a client is counted under: IPv4 as is (also when mapped into IPv6), IPv6 by its /64.
fn client_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
            }
        },
    }
}

fn name_of(name: &str) -> String {
    name.trim().to_lowercase()
}

fn keys(name: &str, ip: IpAddr) -> [Key; 3] {
    let n = name_of(name);
    let ip = client_of(ip);
    [Key::Pair(n.clone(), ip), Key::Name(n), Key::Client(ip)]
}

/// A login attempt counted before its password is checked. Dropping it leaves it counted as a failure;
/// [`Reservation::succeeded`] gives the slot back.
#[must_use = "an attempt stays counted as a failure unless it succeeded"]
pub struct Reservation<'a> {
    limiter: &'a LoginLimiter,
    name: String,
    ip: IpAddr,
}

impl Reservation<'_> {
    /// The attempt succeeded: give its slot back, clear the (name, address) count and remember the
    /// address as known for the name.
    pub fn succeeded(self) {
        let mut st = self.limiter.lock();
        let [pair, name, client] = keys(&self.name, self.ip);
        st.counts.remove(&pair);
        for k in [name, client] {
            if let Some(e) = st.counts.get_mut(&k) {
                e.0 = e.0.saturating_sub(1);
            }
        }
        if st.known.len() >= MAX_KNOWN {
            st.known.retain(|_, at| at.elapsed() < KNOWN_FOR);
        }
        if st.known.len() < MAX_KNOWN {
            st.known
                .insert((name_of(&self.name), client_of(self.ip)), Instant::now());
        }
    }

    /// The attempt neither succeeded nor failed (it was not about the secret at all): give its slot
    /// back and change nothing else.
    pub fn release(self) {
        let mut st = self.limiter.lock();
        for k in keys(&self.name, self.ip) {
            if let Some(e) = st.counts.get_mut(&k) {
                e.0 = e.0.saturating_sub(1);
            }
        }
    }
}

impl LoginLimiter {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            state: Mutex::new(State::default()),
        }
    }

    /// The window of the counts.
    pub fn window(&self) -> Duration {
        self.window
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Under the lock: `0` if an attempt for `name` from `ip` may proceed now, else the whole seconds
    /// (at least 1) until it may. Forgets counts whose window has passed.
    fn wait_locked(&self, st: &mut State, name: &str, ip: IpAddr) -> u64 {
        let known = st
            .known
            .get(&(name_of(name), client_of(ip)))
            .is_some_and(|at| at.elapsed() < KNOWN_FOR);
        let mut wait = 0u64;
        for k in keys(name, ip) {
            let Some(&(n, since)) = st.counts.get(&k) else {
                continue;
            };
            if since.elapsed() >= self.window {
                st.counts.remove(&k);
                continue;
            }
            // The global count of a name does not lock an address known for it.
            if n >= k.max() && !(known && matches!(k, Key::Name(_))) {
                let left = self.window.saturating_sub(since.elapsed());
                wait = wait.max(left.as_secs() + u64::from(left.subsec_nanos() > 0));
            }
        }
        if wait == 0 {
            0
        } else {
            wait.max(1)
        }
    }

    /// Adds one attempt to the three counts of `name` from `ip`.
    fn count_locked(&self, st: &mut State, name: &str, ip: IpAddr) {
        if st.counts.len() > SWEEP_AT {
            let w = self.window;
            st.counts.retain(|_, (_, since)| since.elapsed() < w);
        }
        for k in keys(name, ip) {
            let e = st.counts.entry(k).or_insert((0, Instant::now()));
            if e.1.elapsed() >= self.window {
                *e = (0, Instant::now());
            }
            e.0 += 1;
        }
    }

    /// Counts a login attempt for `name` from `ip` before its secret is checked, if the limits allow
    /// one now; else the whole seconds (at least 1) until they may. Check and count happen under one lock,
    /// so simultaneous attempts cannot overtake the limit.
    pub fn reserve(&self, name: &str, ip: IpAddr) -> Result<Reservation<'_>, u64> {
        let mut st = self.lock();
        match self.wait_locked(&mut st, name, ip) {
            0 => {
                self.count_locked(&mut st, name, ip);
                Ok(Reservation {
                    limiter: self,
                    name: name.to_owned(),
                    ip,
                })
            }
            wait => Err(wait),
        }
    }

    /// `Ok` if a login attempt for `name` from `ip` may proceed now, else the time until it may
    /// (whole seconds, at least 1). Counts nothing: use [`LoginLimiter::reserve`] around a secret check.
    pub fn check(&self, name: &str, ip: IpAddr) -> Result<(), u64> {
        let mut st = self.lock();
        match self.wait_locked(&mut st, name, ip) {
            0 => Ok(()),
            wait => Err(wait),
        }
    }

    /// Whether a login attempt for `name` from `ip` may proceed now (counts nothing).
    pub fn allowed(&self, name: &str, ip: IpAddr) -> bool {
        self.check(name, ip).is_ok()
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
            drop(l.reserve("an", A).unwrap());
        }
        assert!(!l.allowed("AN", A));
        let wait = l.check("an", A).unwrap_err();
        assert!((299..=300).contains(&wait), "{wait}");
        assert!(l.allowed("binh", A), "another name from the same phone");
        assert!(l.allowed("an", B), "the same name from another phone");
        // A success clears the pair's failures: four more, a success, then five again.
        for _ in 0..4 {
            drop(l.reserve("an", B).unwrap());
        }
        l.reserve("an", B).unwrap().succeeded();
        for _ in 0..5 {
            drop(l.reserve("an", B).unwrap());
        }
        assert!(!l.allowed("an", B));
    }

    #[test]
    fn a_name_attacked_from_many_clients_is_locked_everywhere() {
        let l = LoginLimiter::default();
        for i in 0..MAX_PER_NAME {
            let ip = IpAddr::from([10, 0, (i / 250) as u8, (i % 250) as u8]);
            assert!(l.allowed("an", ip));
            drop(l.reserve("an", ip).unwrap());
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
            drop(l.reserve(&name, A).unwrap());
        }
        assert!(!l.allowed("someone-else", A));
        assert!(l.allowed("someone-else", B));
    }

    #[test]
    fn the_window_passes() {
        let l = LoginLimiter::new(Duration::from_millis(30));
        for _ in 0..5 {
            drop(l.reserve("an", A).unwrap());
        }
        assert!(!l.allowed("an", A));
        std::thread::sleep(Duration::from_millis(40));
        assert!(l.allowed("an", A));
    }

    #[test]
    fn simultaneous_attempts_are_counted_before_they_are_checked() {
        let l = LoginLimiter::default();
        // Five attempts in flight (their passwords still being checked) fill the pair's slots.
        let held: Vec<_> = (0..5).map(|_| l.reserve("an", A).unwrap()).collect();
        let wait = l.reserve("An", A).err().expect("the sixth is refused");
        assert!((299..=300).contains(&wait), "{wait}");
        assert!(l.reserve("an", B).is_ok(), "another phone");
        // A success gives its slot back; failures (dropped reservations) keep theirs.
        let mut held = held.into_iter();
        held.next().unwrap().succeeded();
        drop(held);
        let r = l
            .reserve("an", A)
            .expect("the success cleared the pair's count");
        r.release();
        assert!(l.reserve("an", A).is_ok());
    }

    #[test]
    fn successes_give_their_slots_back_to_every_count() {
        let l = LoginLimiter::default();
        for _ in 0..3 * MAX_PER_CLIENT {
            l.reserve("an", A).unwrap().succeeded();
        }
        assert!(l.allowed("binh", A));
    }

    #[test]
    fn the_global_count_of_a_name_spares_the_addresses_known_for_it() {
        let l = LoginLimiter::default();
        l.reserve("an", A).unwrap().succeeded();
        for i in 0..MAX_PER_NAME {
            let ip = IpAddr::from([10, 0, (i / 250) as u8, (i % 250) as u8]);
            let _failed = l.reserve("an", ip).unwrap();
        }
        assert!(l.reserve("AN", B).is_err(), "an unknown address is refused");
        assert!(l.reserve("an", A).is_ok(), "the user's own phone is not");
        assert!(l.reserve("binh", B).is_ok());
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        let l = LoginLimiter::default();
        for i in 0..5u16 {
            let ip = IpAddr::from([0xfd00, 0, 0, 1, 0, 0, 0, i + 1]);
            let _failed = l.reserve("an", ip).unwrap();
        }
        let other_host = IpAddr::from([0xfd00, 0, 0, 1, 0xabcd, 0, 0, 9]);
        assert!(l.reserve("an", other_host).is_err(), "same /64");
        let other_net = IpAddr::from([0xfd00, 0, 0, 2, 0, 0, 0, 1]);
        assert!(l.reserve("an", other_net).is_ok());
        let mapped = IpAddr::from([0, 0, 0, 0, 0, 0xffff, 0xc0a8, 0x0414]);
        for _ in 0..5 {
            let _failed = l.reserve("x", mapped).unwrap();
        }
        assert!(
            l.reserve("x", A).is_err(),
            "an IPv4-mapped address is its IPv4 address"
        );
    }
}
