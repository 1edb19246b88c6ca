//! Work done off the async workers (reading files, expanding globs, rendering), a few jobs
//! at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::StatusCode;
use axum::response::Response;

use crate::response::error;
use crate::state::State;

/// Set when the request that handed work off is dropped: its timeout passed or its client
/// went away.
struct Abandon(Arc<AtomicBool>);

impl Drop for Abandon {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Runs `work` off the async workers (it reads files, expands globs or renders), at most
/// [`crate::state::BLOCKING_JOBS`] jobs at once. `work` gets a flag that is set when the
/// request is abandoned; long work checks it and stops, and work whose request was abandoned
/// before its turn never starts, so abandoned requests cannot pile up and burn CPU.
pub(crate) async fn blocking<T: Send + 'static>(
    state: &Arc<State>,
    work: impl FnOnce(&AtomicBool) -> T + Send + 'static,
) -> Result<T, Response> {
    let flag = Arc::new(AtomicBool::new(false));
    let _abandon = Abandon(Arc::clone(&flag));
    let permit = Arc::clone(&state.jobs)
        .acquire_owned()
        .await
        .map_err(|_| error(StatusCode::SERVICE_UNAVAILABLE, "shutting down"))?;
    let done = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        (!flag.load(Ordering::Relaxed)).then(|| work(&flag))
    })
    .await;
    match done {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(error(StatusCode::SERVICE_UNAVAILABLE, "request abandoned")),
        Err(e) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn work_of_an_abandoned_request_stops_or_never_starts() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let roots = crate::paths::Roots::new_lenient(vec!["/nonexistent".into()], "*").unwrap();
        let state: Arc<State> = Arc::new(State::new(roots, None, false, false));
        let noticed = Arc::new(AtomicBool::new(false));
        let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        rt.block_on(async {
            // More jobs than permits, each waiting to be abandoned; the requests time out.
            let mut requests = Vec::new();
            for _ in 0..crate::state::BLOCKING_JOBS * 3 {
                let (noticed, started) = (Arc::clone(&noticed), Arc::clone(&started));
                let st = Arc::clone(&state);
                let work = move |abandoned: &AtomicBool| {
                    started.fetch_add(1, Ordering::SeqCst);
                    let t = Instant::now();
                    while !abandoned.load(Ordering::Relaxed) && t.elapsed() < Duration::from_secs(5)
                    {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    if abandoned.load(Ordering::Relaxed) {
                        noticed.store(true, Ordering::SeqCst);
                    }
                };
                let job = async move { blocking(&st, work).await.is_ok() };
                requests.push(tokio::time::timeout(Duration::from_millis(500), job));
            }
            for r in futures_join(requests).await {
                assert!(r.is_err(), "every request timed out");
            }
        });
        let t = Instant::now();
        while !noticed.load(Ordering::SeqCst) && t.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            noticed.load(Ordering::SeqCst),
            "running work saw its request go"
        );
        // The jobs that had a permit ran; of the queued ones, only those whose request's timer
        // had not fired yet when a permit came free can start (a loaded machine fires the
        // timers one by one), and they stop as soon as theirs does: never all of them.
        std::thread::sleep(Duration::from_millis(200));
        let started = started.load(Ordering::SeqCst);
        assert!(
            (1..crate::state::BLOCKING_JOBS * 3).contains(&started),
            "{started} jobs started"
        );
    }

    /// Awaits every future concurrently.
    async fn futures_join<F>(fs: Vec<F>) -> Vec<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handles: Vec<_> = fs.into_iter().map(tokio::spawn).collect();
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    }
}
