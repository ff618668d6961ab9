//! Leaf helper: how a run ends, as a type instead of bare numbers.
//!
//! Every command but `check` ends 0 (success), 2 (an error, soft errors included: one of several
//! files unreadable) or, on Ctrl-C, by SIGINT re-raised so the shell sees the interrupt (130
//! where re-raising is not possible). `gwmon check` is a monitoring plugin and speaks that
//! convention instead: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (an error is UNKNOWN).

use std::process::ExitCode;

/// The state a monitoring plugin reports (`gwmon check`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PluginState {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl PluginState {
    pub fn label(self) -> &'static str {
        match self {
            PluginState::Ok => "OK",
            PluginState::Warning => "WARNING",
            PluginState::Critical => "CRITICAL",
            PluginState::Unknown => "UNKNOWN",
        }
    }
}

/// How a command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0.
    Success,
    /// 2: an error was reported (a message was printed).
    Error,
    /// Ctrl-C: SIGINT is re-raised, else 130.
    Interrupted,
    /// `gwmon check`: the plugin state is the exit code.
    Plugin(PluginState),
}

impl Exit {
    /// Success, or Error when `errored`.
    pub fn from_errors(errored: bool) -> Exit {
        if errored { Exit::Error } else { Exit::Success }
    }

    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Error => 2,
            Exit::Interrupted => 130,
            Exit::Plugin(s) => s as u8,
        }
    }

    /// End the process the way this status says: an interrupt is re-raised (with the default
    /// handler back in place) so a calling shell sees the signal, as fd and ripgrep do.
    pub fn into_exit_code(self) -> ExitCode {
        if self == Exit::Interrupted {
            // SAFETY: restoring the default disposition and raising a signal at ourselves touch
            // no memory; if the raise returns (the signal is blocked), exit 130 below.
            unsafe {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                libc::raise(libc::SIGINT);
            }
        }
        ExitCode::from(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(Exit::Success.code(), 0);
        assert_eq!(Exit::Error.code(), 2);
        assert_eq!(Exit::Plugin(PluginState::Unknown).code(), 3);
        assert_eq!(Exit::from_errors(true), Exit::Error);
        assert!(PluginState::Critical > PluginState::Warning);
    }
}
