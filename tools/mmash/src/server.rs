//! Serving until SIGINT or SIGTERM: the sampler thread, the router and the connection limits.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;

use crate::cli::Cli;
use crate::paths::Roots;
pub use crate::state::{BLOCKING_JOBS, Sample, State, sampler};

/// Most connections served at once; more are closed as soon as they are accepted.
pub const MAX_CONNECTIONS: usize = 1024;
/// Longest a client may take to send a request's headers (the first one or the next on a
/// kept-alive connection) before its connection is closed.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Runs mmash until SIGINT or SIGTERM.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    cli.dirs.apply();
    if !cli.dirs.trust_dir {
        for dir in &cli.paths {
            mmstats_reader::check_dir(dir)?;
        }
    }
    let roots = if cli.paths.is_empty() {
        // the default directory appears when the first writer starts
        let dir = mmstats_reader::default_dir();
        if !dir.is_dir() {
            eprintln!(
                "mmash: {} does not exist yet; watching for it",
                dir.display()
            );
        }
        Roots::new_lenient(vec![dir], &cli.glob)
    } else {
        Roots::new(cli.paths.clone(), &cli.glob)
    }
    .context("stats directories")?;
    let roots = if cli.jvm { roots.with_jvms() } else { roots };
    let mut state = State::new(
        roots,
        cli.token().map_err(anyhow::Error::msg)?,
        cli.aggregate,
        cli.log_requests(),
    )
    .with_resources(!cli.no_resources, cli.rollup_slice);
    state.hosts = cli.allow_host.clone();
    state.per_thread = cli.per_thread;
    let state = Arc::new(state);
    let stop = Arc::new(AtomicBool::new(false));
    let sampler_thread = {
        let (state, stop) = (state.clone(), stop.clone());
        std::thread::Builder::new()
            .name("sampler".into())
            .spawn(move || sampler(state, stop))?
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(cli.listen)
            .await
            .with_context(|| format!("listen on {}", cli.listen))?;
        eprintln!("mmash: listening on http://{}", listener.local_addr()?);
        serve(listener, crate::routes::router(state)).await;
        Ok(())
    });
    stop.store(true, Ordering::Relaxed);
    let _ = sampler_thread.join();
    result
}

/// Serves `router` on `listener` until SIGINT or SIGTERM: at most [`MAX_CONNECTIONS`] at
/// once (more are closed on accept, so a flood of idle connections cannot keep anyone else
/// out for longer than [`HEADER_TIMEOUT`]), each closed if its request headers do not arrive
/// within [`HEADER_TIMEOUT`]. A request's body and handling are bounded by the routes' own
/// timeout.
async fn serve(listener: tokio::net::TcpListener, router: axum::Router) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let limit = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of descriptors or similar: let connections finish, then accept again.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&limit).try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let router = router.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |req| {
                let mut router = router.clone();
                async move { tower_service::Service::call(&mut router, req).await }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}
