//! Real servers for the MX and outbox tests: dnsmasq on 127.0.0.1:5353 (started by
//! `scripts/mail-servers start`) and SMTP servers from `scripts/smtp-test-server` that a test
//! starts on the addresses the DNS records name. Missing pieces skip loudly; under `CI=true`
//! they fail.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, mpsc};
use std::time::Duration;

use mailwright::inject::{MxConfig, MxTransport};

/// The test name server.
pub(crate) const DNS: &str = "127.0.0.1:5353";
/// The SMTP port the tests' MX hosts listen on.
pub(crate) const PORT: u16 = 2525;

fn skip<T>(msg: &str) -> Option<T> {
    assert!(std::env::var("CI").map_or(true, |v| v != "true"), "{msg}; CI must not skip");
    eprintln!("\n*** SKIPPED: {msg} ***\n");
    None
}

static SERIAL: Mutex<()> = Mutex::new(());

/// When dnsmasq answers and the fault servers can run: a guard that keeps the tests that use
/// them one at a time (they bind the same addresses).
pub(crate) fn ready() -> Option<MutexGuard<'static, ()>> {
    let guard = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let ok = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return skip("python3 with aiosmtpd is missing (pip install aiosmtpd)");
    }
    match mx(Duration::from_secs(2)).route("example.test") {
        Ok(hosts) if !hosts.is_empty() => Some(guard),
        other => skip(&format!(
            "no test DNS on {DNS} ({other:?}); run `scripts/mail-servers start` as root (it starts dnsmasq)"
        )),
    }
}

/// An MX transport using the test DNS and port, with short timeouts.
pub(crate) fn mx(timeout: Duration) -> MxTransport {
    MxTransport::new(mx_config(timeout)).expect("mx transport")
}

/// The configuration [`mx`] uses.
pub(crate) fn mx_config(timeout: Duration) -> MxConfig {
    MxConfig {
        resolvers: vec![DNS.parse().expect("addr")],
        port: PORT,
        helo_name: "client.test".into(),
        connect_timeout: timeout,
        reply_timeout: timeout,
        dns_timeout: Duration::from_secs(1),
        ..MxConfig::default()
    }
}

/// The fault server script.
pub(crate) fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/smtp-test-server")
}

/// A running `smtp-test-server`; killed when dropped.
pub(crate) struct Server {
    child: Child,
    /// Where it listens.
    pub(crate) addr: SocketAddr,
}

impl Server {
    /// Starts `mode` on `ip:PORT` (extra arguments after), waiting (bounded) until it listens.
    pub(crate) fn start(ip: &str, mode: &str, spool: Option<&Path>, extra: &[&str]) -> Server {
        let addr: SocketAddr = format!("{ip}:{PORT}").parse().expect("addr");
        let mut cmd = Command::new("python3");
        cmd.arg(script()).args(["--listen", &addr.to_string(), "--mode", mode]).args(extra);
        if let Some(s) = spool {
            cmd.arg("--spool").arg(s);
        }
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("start smtp-test-server");
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(out).read_line(&mut line);
            let _ = tx.send(line);
        });
        match rx.recv_timeout(Duration::from_secs(15)) {
            Ok(l) if l.trim() == "ready" => Server { child, addr },
            other => {
                let _ = child.kill();
                panic!("smtp-test-server {mode} on {addr} did not start: {other:?}")
            }
        }
    }

    /// Stops it now.
    pub(crate) fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The messages a sink saved: (host it was sent to, recipients, bytes).
pub(crate) fn delivered(spool: &Path) -> Vec<(String, Vec<String>, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(spool) else { return out };
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_none_or(|x| x != "eml") {
            continue;
        }
        let raw = std::fs::read(&p).expect("read spool");
        let text = String::from_utf8_lossy(&raw);
        let mut lines = text.split("\r\n");
        let host = lines.next().and_then(|l| l.strip_prefix("X-Test-Host: ")).unwrap_or_default().to_string();
        let rcpts = lines
            .next()
            .and_then(|l| l.strip_prefix("X-Test-Rcpt: "))
            .map(|l| l.split(", ").map(str::to_string).collect())
            .unwrap_or_default();
        let body_at = raw.windows(2).enumerate().filter(|(_, w)| *w == b"\r\n").nth(1).map_or(0, |(i, _)| i + 2);
        out.push((host, rcpts, raw[body_at..].to_vec()));
    }
    out
}

/// A small message with a unique Message-ID.
pub(crate) fn message(from: &str, to: &[&str], tag: &str) -> (mailwright::inject::Envelope, Vec<u8>) {
    let mut b = mailwright::build::MessageBuilder::new().from(from).subject(format!("test {tag}")).text("hello\r\n");
    for t in to {
        b = b.to(*t);
    }
    let env = b.envelope().expect("envelope");
    (env, b.build().expect("build"))
}
