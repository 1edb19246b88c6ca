//! Structs of handles registered together (what `#[derive(Stats)]` implements), bound to a
//! file of their own or to the calling thread.

use std::cell::RefCell;
use std::rc::Rc;

use mmstats_format::Reserve;

use crate::error::Error;
use crate::options::Options;
use crate::stats::Stats;

/// A struct of handles that registers all its fields at once: what `#[derive(Stats)]`
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
    // Declared before `stats` so the handles go first; they would keep working anyway.
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
        let stats = Stats::create(options)?;
        let model = M::register_all(&stats)?;
        Ok(Instance { model, stats })
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
/// exits, the thread-local's destructor drops the instance, which removes its file.
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
    /// Panics only if the file cannot be created, with the reason.
    pub fn get(&self) -> Local<M> {
        self.try_get().unwrap_or_else(|e| {
            panic!(
                "mmstats: cannot create the stats file of model {}: {e}",
                M::NAME
            )
        })
    }

    /// The thread's instance, created on first use with default options and `M::PREFIX`, or
    /// why it could not be created (a later call tries again).
    pub fn try_get(&self) -> Result<Local<M>, Error> {
        if let Some(inner) = self.cell.borrow().as_ref() {
            return Ok(Local {
                inner: Rc::clone(inner),
            });
        }
        let inner = Rc::new(Instance::<M>::create(Options::new())?);
        *self.cell.borrow_mut() = Some(Rc::clone(&inner));
        Ok(Local { inner })
    }
}
