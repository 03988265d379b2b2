//! opsdeck: a terminal dashboard for the engineer on call. Pipelines, GitOps
//! and model drift from several backends, with safe actions.
#![deny(clippy::unwrap_used)]

pub mod app;
pub mod cli;
pub mod config;
pub mod model;
pub mod sources;
pub mod term;
pub mod theme;
pub mod timeline;
pub mod tui;
pub mod ui;
