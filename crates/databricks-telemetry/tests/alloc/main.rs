//! Heap and allocation bounds, measured by this binary's counting global allocator (`GLOBAL`): the
//! memory bound through an outage, 1,000 identities.

#[global_allocator]
static GLOBAL: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

#[path = "../own_process/mod.rs"]
mod own_process;

// Each test in a process of its own: allocation and thread counts, none started before.
mod identities;
// Each test in a process of its own: process-wide allocation counts.
mod memory_bound;
