//! What the view reacts to, and the threads that produce it: a sampler that scans the files on
//! a fixed schedule and a reader of terminal input.

use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossterm::event::{self as term, KeyEvent, KeyEventKind};
use mmstats_reader::{Scan, Scanner};

use crate::poll::Schedule;
use mmstats_reader::resource::Resources;

/// Something that happened.
#[derive(Debug)]
pub enum Event {
    /// A key was pressed.
    Key(KeyEvent),
    /// The terminal was resized.
    Resize(u16, u16),
    /// Time passed with nothing else to do (redraw).
    Tick,
    /// A new scan of the files.
    Sample(Box<Scan>),
    /// A termination signal (SIGTERM, SIGHUP, SIGINT, SIGQUIT) arrived.
    Signal(i32),
}

/// Turns termination signals into [`Event::Signal`], so the view restores the terminal before
/// it exits instead of dying with the terminal in raw mode on the alternate screen.
pub fn spawn_signals(tx: Sender<Event>) -> std::io::Result<JoinHandle<()>> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP, SIGINT, SIGQUIT])?;
    Ok(std::thread::spawn(move || {
        for sig in signals.forever() {
            if tx.send(Event::Signal(sig)).is_err() {
                break;
            }
        }
    }))
}

/// Scans the files every `delay` (on a drift-free schedule) until the receiver goes away.
pub fn spawn_sampler(patterns: Vec<String>, delay: Duration, tx: Sender<Event>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut scanner = Scanner::new(patterns);
        let mut resources = Resources::new(true, true);
        let mut schedule = Schedule::new(Instant::now(), delay);
        loop {
            let mut scan = scanner.scan();
            resources.add_to(&mut scan);
            if tx.send(Event::Sample(Box::new(scan))).is_err() {
                return;
            }
            let due = schedule.next(Instant::now());
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
    })
}

/// Reads terminal input and forwards key presses and resizes until the receiver goes away.
pub fn spawn_input(tx: Sender<Event>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        loop {
            let ev = match term::read() {
                Ok(term::Event::Key(k)) if k.kind != KeyEventKind::Release => Event::Key(k),
                Ok(term::Event::Resize(w, h)) => Event::Resize(w, h),
                Ok(_) => continue,
                Err(_) => return,
            };
            if tx.send(ev).is_err() {
                return;
            }
        }
    })
}
