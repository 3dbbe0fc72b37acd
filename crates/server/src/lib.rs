//! tessera: the binary's library half. HTTP routes (axum), settings, start-up, the CLI and
//! telemetry. Routes are thin: extract, call `tessera-core`, map the result.

pub mod app;
pub mod boot;
pub mod cli;
pub mod http_error;
pub mod routes;
pub mod settings;
pub mod state;
pub mod telemetry;
pub mod tenant_logs;
pub mod web;
