//! Which process an object belongs to, and whether the interpreter is exiting.
//!
//! After `os.fork()` the child has one thread: the parent's export threads are gone, and any
//! lock they held stays held for ever. The child must never join, lock or drop the parent's
//! pipeline. Every native object records the fork generation it was made in; the package's
//! `os.register_at_fork(after_in_child=...)` hook bumps the generation, and an object of an
//! older generation does nothing and is leaked (`std::mem::forget`) instead of dropped.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use pyo3::prelude::*;

/// Bumped in the child after each fork (an atomic: no lock to inherit).
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Set once the interpreter has begun to exit (after the package's `atexit` shutdown): from
/// then on no export thread may take the GIL.
static EXITING: AtomicBool = AtomicBool::new(false);

/// The current fork generation.
pub(crate) fn current() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

/// Whether an object made in generation `made_in` belongs to this process.
pub(crate) fn is_current(made_in: u64) -> bool {
    made_in == current()
}

/// Whether the interpreter is exiting (no more calls into Python from export threads).
pub(crate) fn exiting() -> bool {
    EXITING.load(Ordering::Acquire)
}

/// Called in the child right after `os.fork()`: every object made before becomes inert.
#[pyfunction]
pub(crate) fn after_fork_in_child() -> u64 {
    // The child may fork again, and an exit hook of the parent's does not run in the child.
    EXITING.store(false, Ordering::Release);
    GENERATION.fetch_add(1, Ordering::AcqRel) + 1
}

/// Called by the package's `atexit` hook after its shutdown: export threads still running may
/// no longer call Python (a credentials callable then fails, and is counted).
#[pyfunction]
pub(crate) fn interpreter_exiting() {
    EXITING.store(true, Ordering::Release);
}

/// The current fork generation (0 in the process that imported the package first).
#[pyfunction]
pub(crate) fn fork_generation() -> u64 {
    current()
}
