//! Server integration tests: one binary, each test spawns the app on port 0 with a fresh data
//! folder and drives it over HTTP and through the real `tessera` CLI binary.

mod actions;
mod attack;
mod browser;
mod cli;
mod client_auth;
mod cluster;
mod config_source;
mod crash;
mod db;
mod discovery;
mod flows;
mod grants;
mod hardening;
mod login;
mod logs;
mod management;
mod management_logs;
mod management_scripts;
mod management_settings;
mod nodes;
mod oidc_client;
mod pages;
mod password_realm;
mod python_clients;
mod rbac;
mod recovery;
mod security;
mod support;
mod token;
