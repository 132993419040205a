//! The options of every command (`--output`, `--yes`), as the commands see
//! them.

use crate::output::{self, Format};

/// Options of every command.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// `--output`.
    pub format: Format,
    /// `--yes`.
    pub yes: bool,
}

impl Options {
    /// Whether to draw progress bars: tables on a terminal only.
    pub fn progress(&self) -> bool {
        self.format == Format::Table && output::interactive()
    }
}
