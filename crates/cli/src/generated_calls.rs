//! (being written by cargo xtask codegen)
