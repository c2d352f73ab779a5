//! Integration tests: user stories driven through the real `git` binary.

mod bad_input;
mod commands;
mod dvc_source;
mod errors;
mod faults;
mod fuzz;
mod harness;
mod install;
mod integrity;
mod large_files;
mod man;
mod many_objects;
mod migrate;
mod parts;
mod registry;
mod registry_trust;
mod remotes;
mod servers;
mod trust;
mod versioning;
mod workflows;
