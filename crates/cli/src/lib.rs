//! The `regkit` command line and the `docker-credential-regkit` helper, as a
//! library so both binaries share one implementation.
#![forbid(unsafe_code)]

pub mod app;
pub mod call;
mod call_command;
mod cli;
mod commands;
mod context;
pub mod credential_helper;
mod fail;
mod generated_calls;
mod output;
