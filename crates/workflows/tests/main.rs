//! regkit-workflows' integration tests, one binary with a module per
//! workflow: the registry `view`, credential `lease`s, Docker's
//! `config.json` (`docker_config`, and `docker_config_concurrency` across
//! threads and processes), the `gc` waiter and `retention`.
//!
//! Run one module with `cargo test -p regkit-workflows -- <module>::`.

mod docker_config;
mod docker_config_concurrency;
mod gc;
mod lease;
mod retention;
mod view;
