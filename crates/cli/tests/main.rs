//! regkit-cli's integration tests, one binary with a module per concern:
//! the `regkit` binary (`cli`, `unix`, `terminal`), its generated `call`
//! tables, `docker-credential-regkit` (`credential_helper`), credentials
//! under concurrent processes (`credentials`), and container clients
//! nobody here wrote (`real_clients`).
//!
//! Run one module with `cargo test -p regkit-cli -- <module>::`.

mod call;
mod cli;
mod credential_helper;
mod credentials;
mod real_clients;
mod terminal;
mod unix;
