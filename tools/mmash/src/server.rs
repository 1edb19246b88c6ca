//! Serving until SIGINT or SIGTERM: the sampler thread, the router and the connection limits.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use anyhow::Context as _;

use crate::cli::Cli;
use crate::paths::Roots;
pub use crate::state::{BLOCKING_JOBS, Sample, State, sampler};

/// Most connections served at once; more are closed as soon as they are accepted.
pub const MAX_CONNECTIONS: usize = 1024;
/// Longest a client may take to send a request's headers (the first one or the next on a
/// kept-alive connection) before its connection is closed.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest a write to a client may wait for the client to take anything; a client that stops
/// reading an answer (a streamed one included) has its connection closed after it.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
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
/// within [`HEADER_TIMEOUT`], or when a write to it makes no progress for [`SEND_TIMEOUT`].
/// A request's body and handling (up to the answer's head and first chunk) are bounded by the
/// routes' own timeout, a streamed answer's length by [`crate::stream`].
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
                .serve_connection(TokioIo::new(SendTimeout::new(stream)), service)
                .await;
        });
    }
}

/// A connection whose writes fail (`TimedOut`) once one has waited [`SEND_TIMEOUT`] for the
/// client to take anything.
#[derive(Debug)]
struct SendTimeout {
    io: tokio::net::TcpStream,
    /// Running while a write waits.
    waiting: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl SendTimeout {
    fn new(io: tokio::net::TcpStream) -> SendTimeout {
        SendTimeout { io, waiting: None }
    }

    /// What a write that made progress (`Ready`) or waits (`Pending`) becomes: the wait is
    /// timed, and an error once it passed [`SEND_TIMEOUT`].
    fn timed<T>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match r {
            Poll::Ready(r) => {
                self.waiting = None;
                Poll::Ready(r)
            }
            Poll::Pending => {
                let waiting = self
                    .waiting
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(SEND_TIMEOUT)));
                match waiting.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client stopped reading",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl AsyncRead for SendTimeout {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for SendTimeout {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_write(cx, buf);
        this.timed(cx, r)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.timed(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_flush(cx);
        this.timed(cx, r)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_shutdown(cx);
        this.timed(cx, r)
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
