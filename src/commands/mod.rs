//! One module per command. Each takes its parsed arguments, does its work
//! through the library modules, and returns `anyhow::Result` so failures
//! carry their context to the single error printer in [`crate::run`].

pub mod checkout;
pub mod diff;
pub mod fetch;
pub mod filter;
pub mod fsck;
pub mod gc;
pub mod get;
pub mod hook;
pub mod import;
pub mod install;
pub mod ls_files;
pub mod merge_driver;
pub mod migrate;
pub mod pointer;
pub mod push;
pub mod remote;
pub mod status;
pub mod track;

/// The context every command opens, from [`crate::context`]; re-exported
/// so a command written against the old path (`super::Ctx`) still builds.
pub use crate::context::{Ctx, Exit};
