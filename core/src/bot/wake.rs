//! Waking the bot when mail arrives in its Maildir: a change notification (inotify on Linux,
//! through `notify`) for a file created in or moved into `new/` or `cur/`. The bot's own moves
//! out of those folders do not wake it. Where notifications cannot be had, [`Waker::new`] says
//! so and the bot polls.

use std::path::Path;
use std::sync::mpsc::{Receiver, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use notify::event::{EventKind, ModifyKind, RenameMode};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};

/// How often a wait asks whether to stop.
const STOP_POLL: Duration = Duration::from_millis(100);

/// Notifications for one Maildir.
pub(super) struct Waker {
    _watcher: RecommendedWatcher,
    arrived: Receiver<()>,
}

impl Waker {
    /// Watches `root/new` and `root/cur`; `None` when the system cannot (then poll).
    pub(super) fn new(root: &Path) -> Option<Waker> {
        // One pending wake-up is enough: a burst of deliveries is one cycle.
        let (tx, arrived) = sync_channel(1);
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if event.is_ok_and(|e| is_arrival(&e.kind)) {
                match tx.try_send(()) {
                    Ok(()) | Err(TrySendError::Full(())) | Err(TrySendError::Disconnected(())) => {}
                }
            }
        })
        .ok()?;
        for sub in ["new", "cur"] {
            watcher.watch(&root.join(sub), RecursiveMode::NonRecursive).ok()?;
        }
        Some(Waker { _watcher: watcher, arrived })
    }

    /// Waits until a message arrives (true) or `wait` passes, asking `stop` every 100 ms.
    pub(super) fn wait(&self, wait: Duration, stop: &dyn Fn() -> bool) -> bool {
        let until = Instant::now() + wait;
        while !stop() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            if self.arrived.recv_timeout(left.min(STOP_POLL)).is_ok() {
                return true;
            }
        }
        false
    }
}

/// A file created in, or moved into, a watched folder.
fn is_arrival(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Create(_) | EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Both | RenameMode::Any))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailbox::Maildir;

    #[test]
    fn a_delivery_wakes_the_waiter_and_silence_does_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let md = Maildir::create(dir.path()).expect("maildir");
        let Some(w) = Waker::new(md.path()) else {
            eprintln!("no change notifications here; the bot polls");
            return;
        };
        assert!(!w.wait(Duration::from_millis(300), &|| false), "nothing arrived");
        md.deliver(b"Subject: x\r\n\r\n").expect("deliver");
        let start = Instant::now();
        assert!(w.wait(Duration::from_secs(10), &|| false), "the delivery wakes it");
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(!w.wait(Duration::from_secs(10), &|| true), "a stop ends the wait");
    }
}
