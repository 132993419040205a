//! The `regkit` command line and the `docker-credential-regkit` helper, as a
//! library so both binaries share one implementation.
#![forbid(unsafe_code)]

pub mod app;
pub mod call;
pub mod call_table;
mod cli;
mod cmd_call;
mod cmd_copy;
mod cmd_gc;
mod cmd_k8s_secret;
mod cmd_login;
mod cmd_ls;
mod cmd_prune;
mod cmd_tags;
mod commands;
mod context;
pub mod credential_helper;
mod fail;
mod generated_calls;
mod image_tree;
mod mint;
mod options;
mod output;
