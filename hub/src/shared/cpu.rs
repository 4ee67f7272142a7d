//! Heavy work off the async threads, a bounded number of jobs at a time. Processing a document photo
//! (decode, downsize, a few JPEG encodings) and checking a password (argon2id, 19 MiB each) are CPU- and
//! memory-hungry; run unbounded on tokio's blocking pool, 50 phones uploading at once start dozens of them
//! together: every job then takes dozens of times longer, the hub's memory peaks at hundreds of MiB (each
//! job's buffers, and glibc's per-thread malloc arenas keep what they freed), and the short requests queue
//! behind them for the CPU. [`run`] lets at most one such job per core run at a time; the others wait
//! their turn without holding a thread or memory.

use std::sync::LazyLock;

use tokio::sync::Semaphore;

/// One permit per core (at least one, at most four).
static SLOTS: LazyLock<Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Semaphore::new(cores.clamp(1, 4))
});

/// Runs `f` on the blocking pool once a slot is free.
pub async fn run<T, F>(f: F) -> Result<T, tokio::task::JoinError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // The semaphore is never closed, so acquiring cannot fail; if it ever did, run unbounded.
    let _permit = SLOTS.acquire().await.ok();
    tokio::task::spawn_blocking(f).await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_more_jobs_than_slots_at_once() {
        let slots = super::SLOTS.available_permits();
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..4 * slots + 3)
            .map(|_| {
                let (running, most) = (running.clone(), most.clone());
                tokio::spawn(super::run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                }))
            })
            .collect();
        for j in jobs {
            j.await.unwrap().unwrap();
        }
        assert!(most.load(Ordering::SeqCst) <= slots, "{most:?} > {slots}");
        assert!(most.load(Ordering::SeqCst) >= 1);
    }
}
