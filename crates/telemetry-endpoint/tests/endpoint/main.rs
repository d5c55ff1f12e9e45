//! Tests of the endpoint over real HTTP on 127.0.0.1.

mod abuse;
mod auth;
mod client;
mod extension;
mod faults;
mod flags;
mod local_only;
mod shapes;
mod slow_clients;
mod stats_capture;
mod timeouts;
mod uploads;
