//! Progress of a long operation (an export, a wait): one line on stderr, rewritten in
//! place, and only when stderr is a terminal, so scripts and pipes see none of it.
use std::io::{IsTerminal, Write};

pub struct Progress {
    enabled: bool,
    shown: bool,
}

impl Progress {
    pub fn new() -> Self {
        Self {
            enabled: std::io::stderr().is_terminal(),
            shown: false,
        }
    }

    /// Replace the line with `message`.
    pub fn update(&mut self, message: &str) {
        if !self.enabled {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{message}");
        let _ = err.flush();
        self.shown = true;
    }

    /// Clear the line.
    pub fn finish(&mut self) {
        if self.enabled && self.shown {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.shown = false;
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
