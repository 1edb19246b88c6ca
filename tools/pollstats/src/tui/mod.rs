//! The full-screen view (`pollstats --tui`), laid out as `app` (state), `event` (what happens,
//! from a sampler and an input thread) and `draw` (rendering). The terminal is restored on
//! exit, on Ctrl-C, on SIGTERM, SIGHUP and SIGQUIT, and on panic.

pub mod app;
pub mod draw;
pub mod event;
pub mod panel;
pub mod resources;

use std::io::{self, Stdout};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;
use crossterm::{cursor, execute, terminal};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::cli::Cli;
use app::App;
use event::Event;

/// Puts the terminal back as it was: raw mode off, main screen, cursor shown.
fn restore() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(io::stdout(), terminal::LeaveAlternateScreen, cursor::Show);
}

/// Owns the full-screen terminal; dropping it restores the terminal.
#[derive(Debug)]
struct TerminalGuard;

impl TerminalGuard {
    fn enter() -> io::Result<TerminalGuard> {
        terminal::enable_raw_mode()?;
        let guard = TerminalGuard;
        execute!(io::stdout(), terminal::EnterAlternateScreen, cursor::Hide)?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Restores the terminal before a panic message is printed, so it is readable.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}

/// Runs the full-screen view until `q`.
pub fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    install_panic_hook();
    let _guard = TerminalGuard::enter().context("setting up the terminal")?;
    let mut term: Terminal<CrosstermBackend<Stdout>> =
        Terminal::new(CrosstermBackend::new(io::stdout())).context("setting up the terminal")?;
    term.clear()?;

    let (tx, rx) = mpsc::channel();
    event::spawn_sampler(cli.patterns(), cli.delay, tx.clone());
    event::spawn_signals(tx.clone()).context("handling signals")?;
    event::spawn_input(tx);

    let mut app = App::new();
    loop {
        term.draw(|f| draw::draw(f, &app)).context("drawing")?;
        let ev = match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(ev) => ev,
            Err(mpsc::RecvTimeoutError::Timeout) => Event::Tick,
            Err(mpsc::RecvTimeoutError::Disconnected) => anyhow::bail!("the sampler stopped"),
        };
        match ev {
            Event::Key(k) => app.on_key(k),
            Event::Sample(scan) => app.on_sample(&scan),
            Event::Resize(..) => term.autoresize().context("resizing")?,
            Event::Tick => {}
            // The guard restores the terminal on the way out; exit as the signal asked.
            Event::Signal(sig) => return Ok(ExitCode::from(128u8.saturating_add(sig as u8))),
        }
        if app.quit {
            return Ok(ExitCode::SUCCESS);
        }
    }
}
