//! Villagers' own pre-declarations and the public receipt status: the only routes a phone with no login
//! may call besides the guides and the queue board. They reveal nothing about anyone but the receipt or
//! pre-declaration in hand, are rate-limited per client IP, and work in field mode only.

pub mod routes;
pub mod store;

pub use routes::router;

/// Default for `--predeclarations-per-session`: a busy day at the cultural house is 100–150 villagers.
pub const DEFAULT_PREDECLARATIONS_PER_SESSION: u32 = 300;

/// How many pre-declarations phones may send (issue 18, finding 8): besides the per-address limit, a
/// ceiling per outreach session, so many addresses together cannot flood the team's list and the queue.
/// Flattened into `hub serve`'s options.
#[derive(Debug, Clone, clap::Args)]
pub struct PredeclareLimits {
    /// Most pre-declarations from phones per outreach session (while no session is open: most waiting,
    /// not yet taken, pre-declarations without a session). Further ones get 503 `predeclarations_full`,
    /// and the villager is sent to the desk.
    #[arg(
        long,
        env = "HUB_PREDECLARATIONS_PER_SESSION",
        default_value_t = DEFAULT_PREDECLARATIONS_PER_SESSION,
        value_parser = clap::value_parser!(u32).range(1..=100_000)
    )]
    pub predeclarations_per_session: u32,
}

impl Default for PredeclareLimits {
    fn default() -> Self {
        Self {
            predeclarations_per_session: DEFAULT_PREDECLARATIONS_PER_SESSION,
        }
    }
}
