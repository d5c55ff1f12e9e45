//! Configuration: settings and option keys, option stores, the environment's overrides and
//! warnings, host keys.

#[path = "../own_process/mod.rs"]
mod own_process;

mod config;
// Each test in a process of its own: a warning given once per process.
mod config_env_warning;
mod config_options;
mod config_store;
mod host;
