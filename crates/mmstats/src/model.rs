//! Structs of handles registered together (what `#[derive(StatsModel)]` implements), bound to a
//! file of their own or to the calling thread.

use std::any::TypeId;
use std::cell::RefCell;
use std::rc::Rc;

use mmstats_format::Reserve;

use crate::error::Error;
use crate::options::Options;
use crate::stats::Stats;
use crate::totals::TotalsKey;

/// A struct of handles that registers all its fields at once: what `#[derive(StatsModel)]`
/// implements.
pub trait StatsModel: Sized + 'static {
    /// The model's name, for `{NAME}` in file names (the struct's name in snake case unless
    /// `#[stats(name = "...")]`).
    const NAME: &'static str;
    /// The label prefix from `#[stats(prefix = "...")]`, prepended before the options' prefix.
    const PREFIX: &'static str;
    /// Registers every field in `stats` and returns the handles.
    fn register_all(stats: &Stats) -> Result<Self, Error>;
    /// The room the model's fields need, so creation reserves enough (FORMAT.md §7).
    fn reserve() -> Reserve;
}

/// A model bound to its own stats file: derefs to the model's handles. Dropping it removes
/// the file (unless kept).
#[derive(Debug)]
pub struct Instance<M> {
    // Declared before `stats` so the handles go first; the file ends when both are gone.
    pub(crate) model: M,
    stats: Stats,
}

impl<M: StatsModel> Instance<M> {
    /// Creates a file for the model with `options` and registers its fields.
    ///
    /// Labels are `M::PREFIX`, then the options' prefix, then the field's label. The file has
    /// room for the model's fields ([`StatsModel::reserve`]) on top of the options' reserve for
    /// fields added later through [`Instance::stats`], plus the prefix's bytes for each of the
    /// model's fields. An empty options name becomes
    /// `M::NAME`.
    pub fn create(options: Options) -> Result<Instance<M>, Error> {
        let options = Self::options(options);
        let stats = Stats::create(options)?;
        let model = M::register_all(&stats)?;
        Ok(Instance { model, stats })
    }

    /// The model in memory only ([`Stats::in_memory`]): the same handles, publishing nothing.
    /// Fails only if a field is one its handle rejects, which no directory could fix.
    pub fn in_memory(options: Options) -> Result<Instance<M>, Error> {
        let stats = Stats::in_memory(Self::options(options))?;
        let model = M::register_all(&stats)?;
        Ok(Instance { model, stats })
    }

    /// `options` with the model's prefix, name and room added.
    fn options(options: Options) -> Options {
        let mut options = options;
        options.prefix.insert_str(0, M::PREFIX);
        if options.name.is_empty() {
            options.name = M::NAME.to_string();
        }
        let model = M::reserve();
        // The prefix is stored with every label, whether or not the model counted it.
        let prefixes =
            (model.fields as usize).saturating_mul(options.prefix.len().next_multiple_of(8));
        let r = &mut options.reserve;
        r.fields = r.fields.saturating_add(model.fields);
        r.strings = r
            .strings
            .saturating_add(model.strings)
            .saturating_add(prefixes);
        r.values = r.values.saturating_add(model.values);
        options
    }

    /// The underlying stats object, to add fields at run time.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Marks the file closed and removes it (unless kept), reporting errors that drop hides.
    pub fn close(self) -> Result<(), Error> {
        let Instance { model, stats } = self;
        drop(model);
        stats.close()
    }
}

impl<M> std::ops::Deref for Instance<M> {
    type Target = M;
    fn deref(&self) -> &M {
        &self.model
    }
}

/// The calling thread's instance of a model (from `Model::local()`): derefs to the handles.
/// Cheap to get again; not `Send`, because it belongs to its thread.
#[derive(Debug)]
pub struct Local<M> {
    pub(crate) inner: Rc<Instance<M>>,
}

impl<M> std::ops::Deref for Local<M> {
    type Target = M;
    fn deref(&self) -> &M {
        &self.inner.model
    }
}

impl<M: StatsModel> Local<M> {
    /// The underlying stats object of this thread's file.
    pub fn stats(&self) -> &Stats {
        self.inner.stats()
    }
}

/// Per-thread storage for one model type, declared by generated `local()` functions
/// inside `thread_local!`. Creates the thread's instance on first use; when the thread
/// exits, the thread-local's destructor drops the instance, which folds its counters,
/// histograms, timers, averages and windows into the process totals file of the model (thread
/// id 0, state `PROCESS`) and then removes the thread's file.
///
/// Rust does not promise to run the main thread's thread-local destructors when the process
/// exits; the main thread's file is then removed with the process's other files at its normal
/// exit ([`crate::remove_all`]), or, after a crash, by cleaners once the process is gone
/// (FORMAT.md §6.3).
#[derive(Debug)]
pub struct LocalCell<M: StatsModel> {
    cell: RefCell<Option<Rc<Instance<M>>>>,
}

impl<M: StatsModel> Default for LocalCell<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: StatsModel> LocalCell<M> {
    /// An empty cell (usable in `thread_local!`).
    pub const fn new() -> Self {
        LocalCell {
            cell: RefCell::new(None),
        }
    }

    /// The thread's instance, created on first use with default options and `M::PREFIX`.
    ///
    /// If the file cannot be created (the stats directory is unusable, say), the instance
    /// records into memory only ([`Instance::in_memory`]) for the rest of the thread's life,
    /// and the reason goes to the error hook ([`crate::set_error_hook`]; by default one line
    /// on standard error, once per process). Panics only if the model itself is invalid (a
    /// field its handle rejects), which no directory could fix.
    pub fn get(&self) -> Local<M> {
        if let Some(inner) = self.cell.borrow().as_ref() {
            return Local {
                inner: Rc::clone(inner),
            };
        }
        self.try_get().unwrap_or_else(|error| {
            let instance = Instance::<M>::in_memory(Options::new()).unwrap_or_else(|e| {
                panic!("mmstats: the fields of model {} are invalid: {e}", M::NAME)
            });
            crate::hook::report(M::NAME, &error);
            let inner = Rc::new(instance);
            *self.cell.borrow_mut() = Some(Rc::clone(&inner));
            Local { inner }
        })
    }

    /// The thread's instance in its file, created on first use with default options and
    /// `M::PREFIX`, or why the file could not be created (a later call tries again). If an
    /// earlier [`LocalCell::get`] fell back to memory, this tries to create the file again and
    /// on success replaces the thread's instance (handles already taken keep recording into
    /// memory).
    pub fn try_get(&self) -> Result<Local<M>, Error> {
        if let Some(inner) = self.cell.borrow().as_ref()
            && !inner.stats.is_in_memory()
        {
            return Ok(Local {
                inner: Rc::clone(inner),
            });
        }
        let mut instance = Instance::<M>::create(Options::new())?;
        instance.stats.fold_on_close(TotalsKey {
            model: TypeId::of::<M>(),
            name: M::NAME.into(),
            dir: None,
            template: None,
        });
        let inner = Rc::new(instance);
        *self.cell.borrow_mut() = Some(Rc::clone(&inner));
        Ok(Local { inner })
    }
}
