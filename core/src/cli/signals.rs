//! SIGTERM and SIGINT in the watch modes (`fetch --idle`, `bot --watch`, `queue flush --watch`):
//! the first signal asks the loop to stop after the message in hand, so it commits and the
//! program exits 0; a second one ends the program at once (128 + the signal's number).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{CliError, exit};

/// Whether a stop was asked for.
#[derive(Debug, Clone)]
pub(crate) struct Stop(Arc<AtomicBool>);

impl Stop {
    /// Set by the first SIGTERM or SIGINT from now on.
    pub(crate) fn on_signals() -> Result<Stop, CliError> {
        let flag = Arc::new(AtomicBool::new(false));
        #[cfg(unix)]
        for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
            let failed =
                |e: std::io::Error| CliError { code: exit::SOFTWARE, message: format!("cannot handle signals: {e}") };
            // Registered first, so it sees the flag as the earlier signal left it.
            signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, Arc::clone(&flag)).map_err(failed)?;
            signal_hook::flag::register(sig, Arc::clone(&flag)).map_err(failed)?;
        }
        Ok(Stop(flag))
    }

    /// Whether a stop was asked for.
    pub(crate) fn asked(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Sleeps for `d`, or less when a stop is asked for.
    pub(crate) fn sleep(&self, d: Duration) {
        let until = Instant::now() + d;
        while !self.asked() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            std::thread::sleep(left.min(Duration::from_millis(100)));
        }
    }
}

/// Waits between reconnection attempts: 1 s, doubling up to a minute; reset after a success.
#[derive(Debug)]
pub(crate) struct Backoff(Duration);

impl Backoff {
    pub(crate) fn new() -> Self {
        Backoff(Duration::from_secs(1))
    }

    /// The next wait (and doubles the one after).
    pub(crate) fn next(&mut self) -> Duration {
        let d = self.0;
        self.0 = (self.0 * 2).min(Duration::from_secs(60));
        d
    }

    pub(crate) fn reset(&mut self) {
        self.0 = Duration::from_secs(1);
    }
}
