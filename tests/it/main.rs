//! Integration tests: user stories driven through the real `git` binary.

mod bad_input;
mod commands;
mod dvc_source;
mod fuzz;
mod harness;
mod install;
mod man;
mod registry;
mod remotes;
mod servers;
mod trust;
mod versioning;
