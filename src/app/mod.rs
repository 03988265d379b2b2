//! The application core: state, the update function, keys, and the action
//! registry and executor. No terminal, no drawing: testable as plain functions.

pub mod actions;
pub mod approve;
pub mod attention;
pub mod audit;
pub mod choices;
pub mod command;
pub mod custom;
pub mod executor;
pub mod images;
pub mod jump;
pub mod keymap;
pub mod links;
pub mod notify;
pub mod problems;
pub mod resolver;
pub mod retrain;
pub mod state;
// Derived data (links, rows), rebuilt once per batch of messages.
pub mod settle;
pub mod update;
pub mod views;

pub use command::Command;
pub use keymap::Keymap;
pub use state::{State, Tab};
pub use update::{Effect, Msg, apply, settle, update, update_batch};
