//! A strict local stand-in for the Databricks telemetry service.

#![forbid(unsafe_code)]
