//! What every series of a recorder shares, and all that the update path asks of the recorder:
//! the options of each thread's file, the process's shared and descriptions files, and the
//! help texts that every field is declared with.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use metrics::Unit;
use mmstats::{FieldDecl, Handle, Options, Stats};

use crate::spec::Spec;

/// A recorder's files and descriptions (the series hold it weakly: updates through a dropped
/// recorder are discarded).
#[derive(Debug)]
pub(crate) struct Files {
    /// Index of the recorder in each thread's table.
    pub(crate) id: usize,
    /// Options of a thread's file.
    thread: Options,
    /// Help texts and units by name.
    described: Mutex<HashMap<String, (Option<Unit>, String)>>,
    /// The process's shared file, created on first need.
    shared: Mutex<Option<Stats>>,
    /// The process's descriptions file, created on first need: zero-valued fields that carry
    /// the help text of series whose shared field was registered before their description.
    notes: Mutex<Option<Stats>>,
}

/// The guarded value, also after a panic in another thread that held the lock (every update
/// under these locks leaves the value whole).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Files {
    /// The files of recorder number `id`, each thread's created with `thread`.
    pub(crate) fn new(id: usize, thread: Options) -> Files {
        Files {
            id,
            thread,
            described: Mutex::new(HashMap::new()),
            shared: Mutex::new(None),
            notes: Mutex::new(None),
        }
    }

    /// Records the description of `name`, for the fields registered from now on.
    pub(crate) fn describe(&self, name: &str, unit: Option<Unit>, help: String) {
        lock(&self.described).insert(name.to_string(), (unit, help));
    }

    /// The unit `name` was described with, if any.
    pub(crate) fn described_unit(&self, name: &str) -> Option<Unit> {
        lock(&self.described).get(name).and_then(|(u, _)| *u)
    }

    /// The help text known now for `name`.
    fn help(&self, name: &str) -> String {
        lock(&self.described)
            .get(name)
            .map(|(_, h)| h.clone())
            .unwrap_or_default()
    }

    /// The declaration of a series, with the help text known now.
    pub(crate) fn decl(&self, spec: &Spec, capacity: Option<u32>) -> FieldDecl {
        FieldDecl {
            help: mmstats_format::truncate_utf8(
                &self.help(&spec.name),
                mmstats_format::layout::limits::HELP_MAX,
            )
            .to_string(),
            unit: spec.unit.clone(),
            capacity,
            labels: spec.labels.clone(),
            ..FieldDecl::new(&spec.name)
        }
    }

    /// Options of a thread's file.
    pub(crate) fn thread_options(&self) -> Options {
        self.thread.clone()
    }

    /// Registers a field in the shared file, creating the file on first need.
    pub(crate) fn register_shared<H: Handle>(&self, decl: FieldDecl) -> Option<H> {
        let mut shared = lock(&self.shared);
        if shared.is_none() {
            let mut o = self.thread_options().fold_totals(false).process_wide(true);
            o = o.label_sets(usize::MAX);
            *shared = Stats::create(o).ok();
        }
        shared.as_ref()?.register(decl).ok()
    }

    /// Registers a zero-valued field carrying `decl`'s help in the descriptions file (a
    /// process-wide file of its own, `{CMD}-{PID}-help.mmstats` by default): readers take a
    /// family's help from any file that has it, and a zero adds nothing to any combination.
    pub(crate) fn register_note<H: Handle>(&self, decl: FieldDecl) -> Option<H> {
        let mut notes = lock(&self.notes);
        if notes.is_none() {
            let mut o = self
                .thread_options()
                .fold_totals(false)
                .process_wide_part("help");
            o = o.label_sets(usize::MAX);
            *notes = Stats::create(o).ok();
        }
        notes.as_ref()?.register(decl).ok()
    }
}
