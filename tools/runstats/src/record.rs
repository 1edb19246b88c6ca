//! Recording: wait for the target, start the command (or find the process), sample every
//! source each interval into the store until the command exits, then describe the run.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use mmstats_render::text::utc_time;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::cli::RecordArgs;
use crate::run::{Exit, Host, RUN_JSON, RunInfo, SAMPLES_DB};
use crate::source::mmstats::MmstatsSource;
use crate::source::perf::PerfSource;
use crate::source::resource::{HostResources, ProcessResources};
use crate::source::{Sample, Source, Unavailable};
use crate::store::Store;
use crate::tree::{self, Tree};

/// How often, between samples, runstats looks whether the command exited or a signal came.
const POLL: Duration = Duration::from_millis(20);
/// How long a command stopped by `--duration` has to exit after SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(5);
/// At most this many problems are kept in `run.json`.
const MAX_PROBLEMS: usize = 100;

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// What is being recorded.
enum Target {
    /// A command runstats started: its pid, and its status once reaped.
    Child { pid: u32, exit: Option<Exit> },
    /// An existing process, and its start time (to notice its pid being reused).
    Existing { pid: u32, start_time: u64 },
}

/// Records as `args` asks; returns the command's exit status.
pub fn record(args: &RecordArgs) -> Result<ExitCode> {
    if args.pid.is_none() && args.argv.is_empty() {
        bail!("nothing to record: give a command after `--`, or `--pid PID` (see --help)");
    }
    let say = |msg: &str| {
        if !args.quiet {
            eprintln!("runstats: {msg}");
        }
    };
    if let Some(what) = &args.wait_for {
        wait_for(what, args.wait_timeout, &say)?;
    }
    let existing = match args.pid {
        Some(pid) => match tree::read_one(pid) {
            Some(p) => Some((pid, p.start_time)),
            None => bail!("no process {pid} to record"),
        },
        None => None,
    };
    if let Some(program) = args.argv.first() {
        resolve(program)?;
    }
    let dir = run_dir(args.output.as_deref())?;
    let id = dir
        .file_name()
        .map_or_else(|| "run".to_string(), |n| n.to_string_lossy().into_owned());

    let signals = Signals::new([SIGINT, SIGTERM]).context("handling SIGINT and SIGTERM")?;
    let me = std::process::id();
    let mut sources: Vec<Box<dyn Source>> = Vec::new();
    let (mut target, adopter) = match existing {
        Some((pid, start_time)) => {
            if !args.no_perf {
                let tids: Vec<u32> = Tree::read(pid, None)
                    .procs
                    .keys()
                    .flat_map(|p| tree::threads(*p))
                    .collect();
                sources.push(Box::new(PerfSource::attach(&tids, false)));
            }
            (Target::Existing { pid, start_time }, None)
        }
        None => {
            // Adopt the orphans of the tree, so that daemonised children stay in it.
            let _ = nix::sys::prctl::set_child_subreaper(true);
            let pid = start_stopped(&args.argv)?;
            if !args.no_perf {
                sources.push(Box::new(PerfSource::attach(&[pid], true)));
            }
            kill(Pid::from_raw(pid as i32), Signal::SIGCONT).context("resuming the command")?;
            // The first sample is of the command, not of runstats' own `__exec` before it.
            wait_for_exec(pid, Duration::from_secs(5));
            (Target::Child { pid, exit: None }, Some(me))
        }
    };
    if !args.no_mmstats {
        sources.insert(
            0,
            Box::new(MmstatsSource::with_jvms(args.stats.clone(), !args.no_jvm)),
        );
    }
    if !args.no_host {
        sources.push(Box::new(HostResources::new()));
    }
    if !args.no_process {
        sources.push(Box::new(ProcessResources::new()));
    }

    let started_ms = now_ms();
    let mut info = RunInfo {
        id: id.clone(),
        command: args.argv.clone(),
        pid: Some(root(&target)),
        description: args.description.clone().unwrap_or_default(),
        started_ms,
        started: utc_time(started_ms as f64 / 1000.0),
        interval_ms: args.interval.as_millis() as u64,
        host: Host::this(),
        sources: sources.iter().map(|s| s.name().to_string()).collect(),
        unavailable: sources.iter().flat_map(|s| s.unavailable()).collect(),
        ..RunInfo::default()
    };
    for (reason, whats) in Unavailable::by_reason(&info.unavailable) {
        say(&format!("unavailable: {}: {reason}", whats.join(", ")));
    }
    let mut store = Store::create(
        &dir.join(SAMPLES_DB),
        &id,
        &info.command_line(),
        &info.description,
        started_ms,
    )?;
    info.save(&dir)?;
    say(&format!(
        "recording {} every {:?} into {}",
        info.command_line(),
        args.interval,
        dir.display()
    ));

    let start = Instant::now();
    let mut ticks: u32 = 0;
    let mut samples: Vec<Sample> = Vec::new();
    let mut store_error: Option<String> = None;
    let mut term_sent: Option<Instant> = None;
    let mut signals = signals;
    let mut trees = tree::TreeReader::new();
    loop {
        // One tick.
        let t = now_ms();
        let tree = trees.read(root(&target), adopter);
        samples.clear();
        for s in &mut sources {
            s.sample(&tree, t, &mut samples);
            for p in s.problems() {
                say(&p);
                if info.problems.len() < MAX_PROBLEMS && !info.problems.contains(&p) {
                    info.problems.push(p);
                }
            }
        }
        if let Err(e) = store.insert(t, &samples) {
            let msg = format!(
                "storing samples in {}: {e:#}",
                dir.join(SAMPLES_DB).display()
            );
            if store_error.as_ref() != Some(&msg) {
                say(&format!(
                    "{msg} (recording goes on; what was committed stays readable)"
                ));
                store_error = Some(msg);
            }
        }
        ticks += 1;
        if ended(&mut target) {
            break;
        }
        // Wait for the next tick, watching for the end and for signals meanwhile.
        let next = start + args.interval * ticks;
        let mut stop = false;
        while Instant::now() < next {
            for sig in signals.pending() {
                match &target {
                    Target::Child { pid, .. } => {
                        info.stopped_by.get_or_insert_with(|| "interrupt".into());
                        // A Ctrl-C typed in runstats' terminal reached the command, which
                        // shares runstats' process group, already: passing it on again would
                        // look like a second Ctrl-C. Any other SIGINT, and SIGTERM, is passed on.
                        let from_terminal = sig == SIGINT && tree::in_terminal_foreground(me);
                        if !from_terminal {
                            let s = if sig == SIGTERM {
                                Signal::SIGTERM
                            } else {
                                Signal::SIGINT
                            };
                            let _ = kill(Pid::from_raw(*pid as i32), s);
                        }
                    }
                    Target::Existing { .. } => {
                        info.stopped_by = Some("interrupt".into());
                        stop = true;
                    }
                }
            }
            if let Some(d) = args.duration
                && start.elapsed() >= d
            {
                info.stopped_by.get_or_insert_with(|| "duration".into());
                match &target {
                    Target::Existing { .. } => stop = true,
                    Target::Child { pid, .. } => {
                        let pid = Pid::from_raw(*pid as i32);
                        match term_sent {
                            None => {
                                let _ = kill(pid, Signal::SIGTERM);
                                term_sent = Some(Instant::now());
                            }
                            Some(at) if at.elapsed() > GRACE => {
                                let _ = kill(pid, Signal::SIGKILL);
                            }
                            Some(_) => {}
                        }
                    }
                }
            }
            if stop || ended(&mut target) {
                break;
            }
            std::thread::sleep(POLL.min(next.saturating_duration_since(Instant::now())));
        }
        if stop {
            break;
        }
    }
    // (the tick that saw the end took the last sample, right after it)
    let ended_ms = now_ms();
    if let Err(e) = store.close() {
        say(&format!(
            "closing {}: {e:#} (what was committed stays readable)",
            dir.join(SAMPLES_DB).display()
        ));
    }
    info.ended_ms = Some(ended_ms);
    info.ended = Some(utc_time(ended_ms as f64 / 1000.0));
    let status = match &target {
        Target::Child { exit, .. } => {
            info.exit = exit.clone();
            exit.as_ref().map_or(0, |e| e.status)
        }
        Target::Existing { .. } => 0,
    };
    info.save(&dir)?;
    if let Some(e) = &info.exit {
        say(&format!(
            "{} ended: {}",
            info.command_line(),
            match (&e.code, &e.signal) {
                (_, Some(sig)) => format!("killed by {sig}"),
                (Some(c), None) => format!("exit status {c}"),
                (None, None) => "?".into(),
            }
        ));
    }
    if !args.no_report {
        match crate::report::write(std::slice::from_ref(&dir), &args.charts, &dir) {
            Ok(html) => say(&format!("report: {}", html.display())),
            Err(e) => eprintln!("runstats: report of {}: {e:#}", dir.display()),
        }
    }
    say(&format!("run: {}", dir.display()));
    Ok(ExitCode::from(
        u8::try_from(status.clamp(0, 255)).unwrap_or(1),
    ))
}

fn root(t: &Target) -> u32 {
    match t {
        Target::Child { pid, .. } | Target::Existing { pid, .. } => *pid,
    }
}

/// Whether the recorded process ended; reaps the command (and adopted orphans).
fn ended(t: &mut Target) -> bool {
    match t {
        Target::Child { pid, exit } => {
            if exit.is_some() {
                return true;
            }
            loop {
                match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                    Ok(WaitStatus::Exited(p, code)) if p.as_raw() as u32 == *pid => {
                        *exit = Some(Exit {
                            code: Some(code),
                            signal: None,
                            status: code,
                        });
                    }
                    Ok(WaitStatus::Signaled(p, sig, _)) if p.as_raw() as u32 == *pid => {
                        *exit = Some(Exit {
                            code: None,
                            signal: Some(sig.as_str().to_string()),
                            status: 128 + sig as i32,
                        });
                    }
                    Ok(WaitStatus::StillAlive) | Err(_) => break,
                    Ok(_) => {} // an adopted orphan, or a stop/continue: reaped, go on
                }
            }
            exit.is_some()
        }
        // Gone, a zombie, or its pid taken by another process since.
        Target::Existing { pid, start_time } => tree::read_one(*pid)
            .is_none_or(|p| p.state == 'Z' || p.state == 'X' || p.start_time != *start_time),
    }
}

/// Starts `argv` through runstats' own `__exec`, which stops itself before executing it, so
/// that the perf counters are attached before the command's first instruction; returns the
/// pid once it is stopped.
fn start_stopped(argv: &[String]) -> Result<u32> {
    let exe = std::env::current_exe().context("finding runstats' own executable")?;
    let child = Command::new(exe)
        .arg("__exec")
        .arg("--")
        .args(argv)
        .spawn()
        .with_context(|| format!("starting {}", argv.join(" ")))?;
    let pid = child.id();
    match waitpid(Pid::from_raw(pid as i32), Some(WaitPidFlag::WUNTRACED)) {
        Ok(WaitStatus::Stopped(..)) => Ok(pid),
        Ok(other) => Err(anyhow!("{} did not start: {other:?}", argv.join(" "))),
        Err(e) => Err(anyhow!("waiting for {} to start: {e}", argv.join(" "))),
    }
}

/// Waits (at most `limit`) until the process `pid` started by [`start_stopped`] and resumed is
/// no longer runstats' `__exec`: its command line changed when it executed the command, or it
/// has exited.
fn wait_for_exec(pid: u32, limit: Duration) {
    let end = Instant::now() + limit;
    let cmdline = format!("/proc/{pid}/cmdline");
    while Instant::now() < end {
        match std::fs::read(&cmdline) {
            Ok(line) if line.split(|&b| b == 0).nth(1) == Some(b"__exec".as_slice()) => {
                std::thread::sleep(Duration::from_micros(200));
            }
            // executed, exited (a zombie has no command line) or gone
            _ => return,
        }
    }
}

/// The `__exec` side: stop until runstats has attached, then become the command.
pub fn exec(argv: &[String]) -> Result<ExitCode> {
    nix::sys::signal::raise(Signal::SIGSTOP).context("stopping before exec")?;
    let c = |s: &str| std::ffi::CString::new(s).map_err(|_| anyhow!("{s:?} holds a NUL byte"));
    let args: Vec<std::ffi::CString> = argv.iter().map(|a| c(a)).collect::<Result<_>>()?;
    let Some(program) = args.first() else {
        bail!("no command");
    };
    let e = nix::unistd::execvp(program, &args).unwrap_err();
    eprintln!("runstats: cannot run {}: {e}", argv[0]);
    Ok(ExitCode::from(if e == nix::errno::Errno::ENOENT {
        127
    } else {
        126
    }))
}

/// Checks that `program` can be executed: a path that is an executable file, or a name found
/// in `$PATH`.
fn resolve(program: &str) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = PathBuf::from(program);
        if executable(&p) {
            return Ok(p);
        }
        if p.exists() {
            bail!("cannot run {program}: not an executable file");
        }
        bail!("cannot run {program}: no such file");
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| executable(p))
        .ok_or_else(|| anyhow!("cannot run {program}: not found in PATH"))
}

/// The run directory: `out` (created; refused if it already holds a run), or a new
/// `runstats-YYYYMMDD-HHMMSS` in the current directory.
fn run_dir(out: Option<&Path>) -> Result<PathBuf> {
    let dir = match out {
        Some(d) => d.to_path_buf(),
        None => {
            let t = utc_time(now_ms() as f64 / 1000.0);
            let stamp: String = t.chars().filter(char::is_ascii_digit).take(14).collect();
            PathBuf::from(format!("runstats-{}-{}", &stamp[..8], &stamp[8..]))
        }
    };
    if dir.join(SAMPLES_DB).exists() || dir.join(RUN_JSON).exists() {
        bail!(
            "{} already holds a run; choose another --output",
            dir.display()
        );
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Waits until `what` is up: `HOST:PORT` accepts a connection, a path exists, or a pid runs.
fn wait_for(what: &str, timeout: Duration, say: &dyn Fn(&str)) -> Result<()> {
    let check: Box<dyn Fn() -> bool> = if let Ok(pid) = what.parse::<u32>() {
        Box::new(move || Path::new(&format!("/proc/{pid}")).exists())
    } else if what.contains('/') || Path::new(what).exists() {
        let p = PathBuf::from(what);
        Box::new(move || p.exists())
    } else if what.contains(':') {
        let what = what.to_string();
        Box::new(move || {
            what.to_socket_addrs().is_ok_and(|mut addrs| {
                addrs.any(|a| TcpStream::connect_timeout(&a, Duration::from_millis(500)).is_ok())
            })
        })
    } else {
        bail!("--wait-for {what}: give HOST:PORT, a path or a pid");
    };
    let start = Instant::now();
    if check() {
        say(&format!("{what} is up"));
        return Ok(());
    }
    say(&format!("waiting for {what} (up to {:?})", timeout));
    while start.elapsed() < timeout {
        std::thread::sleep(Duration::from_millis(100));
        if check() {
            say(&format!(
                "{what} is up after {:.1}s",
                start.elapsed().as_secs_f64()
            ));
            return Ok(());
        }
    }
    bail!(
        "{what} was not up after {:?}; nothing was recorded",
        timeout
    )
}
