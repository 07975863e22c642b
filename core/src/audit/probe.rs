//! Talking to the servers, the way a sender or a mail client would, and recording what they
//! say. Nothing is ever delivered: an SMTP session ends with QUIT before DATA.
//!
//! Every step (connect, each reply, the TLS handshake) is bounded by the step timeout, and a
//! whole session by the audit's deadline. TLS certificates are recorded rather than refused,
//! so one session sees both the certificate and what the server does after STARTTLS; the
//! verdicts (valid now, still valid in 14 days) are kept beside the chain.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::AuditError;

/// How far ahead a certificate must stay valid.
pub(crate) const EXPIRY_MARGIN_DAYS: u64 = 14;
/// The longest line a server may send, and the most lines in one reply.
const MAX_LINE: usize = 4096;
const MAX_LINES: usize = 100;

/// The trust every probe uses: the system's roots plus `--ca-file`.
pub(crate) struct Tls {
    provider: Arc<CryptoProvider>,
    verifier: Arc<WebPkiServerVerifier>,
}

impl Tls {
    pub(crate) fn new(ca_file: Option<&Path>) -> Result<Self, AuditError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = crate::tls::roots(ca_file).map_err(|e| AuditError::Config(e.to_string()))?;
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| AuditError::Config(format!("TLS setup failed: {e}")))?;
        Ok(Tls { provider, verifier })
    }

    /// A configuration whose verifier records what it is shown.
    fn config(&self) -> Result<(Arc<ClientConfig>, Arc<Recorder>), String> {
        let recorder = Arc::new(Recorder {
            inner: self.verifier.clone(),
            provider: self.provider.clone(),
            seen: Mutex::new(None),
        });
        let config = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup failed: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(recorder.clone())
            .with_no_client_auth();
        Ok((Arc::new(config), recorder))
    }
}

/// A certificate chain a server presented, and how it verified.
#[derive(Debug, Clone)]
pub(crate) struct CertSeen {
    /// End entity first.
    pub chain: Vec<CertificateDer<'static>>,
    /// Valid now for the name asked (chain, name, dates).
    pub now: Result<(), String>,
    /// Still valid in [`EXPIRY_MARGIN_DAYS`] days.
    pub later: Result<(), String>,
    /// The end entity's notAfter, seconds since 1970, and its subject and names, when readable.
    pub not_after: Option<i64>,
    pub names: String,
}

impl CertSeen {
    fn new(chain: Vec<CertificateDer<'static>>, now: Result<(), String>, later: Result<(), String>) -> Self {
        let (not_after, names) = match chain.first().map(|c| x509_parser::parse_x509_certificate(c.as_ref())) {
            Some(Ok((_, cert))) => {
                let mut names: Vec<String> = Vec::new();
                if let Ok(Some(san)) = cert.subject_alternative_name() {
                    for n in &san.value.general_names {
                        match n {
                            x509_parser::extensions::GeneralName::DNSName(d) => names.push((*d).to_string()),
                            x509_parser::extensions::GeneralName::IPAddress(ip) => names.push(match ip.len() {
                                4 => std::net::Ipv4Addr::from([ip[0], ip[1], ip[2], ip[3]]).to_string(),
                                _ => "an IPv6 address".into(),
                            }),
                            _ => {}
                        }
                    }
                }
                if names.len() > 6 {
                    let more = names.len() - 6;
                    names.truncate(6);
                    names.push(format!("{more} more"));
                }
                let names = format!("subject {}; names {}", cert.subject(), names.join(", "));
                (Some(cert.validity().not_after.timestamp()), names)
            }
            _ => (None, "an unreadable certificate".into()),
        };
        CertSeen { chain, now, later, not_after, names }
    }

    /// `Ok` when valid now and in 14 days; else why not, for people.
    pub(crate) fn verdict(&self) -> Result<(), String> {
        self.now.clone()?;
        self.later.clone().map_err(|_| match self.days_left() {
            Some(d) => format!("expires in {d} days (less than {EXPIRY_MARGIN_DAYS})"),
            None => format!("will not be valid in {EXPIRY_MARGIN_DAYS} days"),
        })
    }

    /// Whole days until it expires.
    pub(crate) fn days_left(&self) -> Option<i64> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64;
        self.not_after.map(|t| (t - now).div_euclid(86_400))
    }

    /// One line: who it names and when it expires.
    pub(crate) fn describe(&self) -> String {
        match (self.not_after, self.days_left()) {
            (Some(t), Some(d)) => format!("{}; expires {} (in {d} days)", self.names, day(t)),
            _ => self.names.clone(),
        }
    }
}

/// A date as `YYYY-MM-DD` from seconds since 1970 (civil-from-days).
fn day(secs: i64) -> String {
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Verifies as webpki does, twice (now and in 14 days), records the result, and lets the
/// handshake go on; handshake signatures are still checked.
#[derive(Debug)]
struct Recorder {
    inner: Arc<WebPkiServerVerifier>,
    provider: Arc<CryptoProvider>,
    seen: Mutex<Option<CertSeen>>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let check = |at: UnixTime| {
            self.inner
                .verify_server_cert(end_entity, intermediates, name, ocsp, at)
                .map(|_| ())
                .map_err(|e| why_invalid(&e, name))
        };
        let later = UnixTime::since_unix_epoch(Duration::from_secs(now.as_secs() + EXPIRY_MARGIN_DAYS * 86_400));
        let chain = std::iter::once(end_entity).chain(intermediates).map(|c| c.clone().into_owned()).collect();
        let seen = CertSeen::new(chain, check(now), check(later));
        if let Ok(mut slot) = self.seen.lock() {
            *slot = Some(seen);
        }
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// A certificate error as people read it.
fn why_invalid(e: &rustls::Error, name: &ServerName<'_>) -> String {
    use rustls::CertificateError as C;
    let rustls::Error::InvalidCertificate(c) = e else { return e.to_string() };
    match c {
        C::Expired | C::ExpiredContext { .. } => "the certificate has expired".into(),
        C::NotValidYet | C::NotValidYetContext { .. } => "the certificate is not valid yet".into(),
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            format!("the certificate is not valid for {}", name.to_str())
        }
        C::UnknownIssuer => "the certificate's issuer is not trusted (not in the system's roots or --ca-file)".into(),
        C::BadSignature => "the certificate's signature is bad".into(),
        C::Revoked => "the certificate is revoked".into(),
        other => format!("invalid certificate: {other:?}"),
    }
}

/// Any byte stream: TCP, or TLS over it.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A reply: the code, and its lines without the code.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.lines.first().map_or("", String::as_str))
    }
}

/// A line-oriented connection with a bound on every read.
pub(crate) struct Conn {
    io: BufReader<Box<dyn Stream>>,
    step: Duration,
}

impl Conn {
    /// Connects within the step timeout.
    pub(crate) async fn connect(addr: SocketAddr, step: Duration) -> Result<(Conn, SocketAddr), String> {
        let tcp = match tokio::time::timeout(step, TcpStream::connect(addr)).await {
            Err(_) => return Err(format!("no answer to connect within {}", secs(step))),
            Ok(Err(e)) => return Err(format!("connect: {e}")),
            Ok(Ok(t)) => t,
        };
        let local = tcp.local_addr().map_err(|e| e.to_string())?;
        Ok((Conn { io: BufReader::new(Box::new(tcp)), step }, local))
    }

    /// One line, without its end; bounded in length and time.
    pub(crate) async fn line(&mut self) -> Result<String, String> {
        let mut buf = Vec::new();
        let mut limited = (&mut self.io).take(MAX_LINE as u64);
        match tokio::time::timeout(self.step, limited.read_until(b'\n', &mut buf)).await {
            Err(_) => Err(format!("no answer within {}", secs(self.step))),
            Ok(Err(e)) => Err(e.to_string()),
            Ok(Ok(0)) => Err("the server closed the connection".into()),
            Ok(Ok(_)) if !buf.ends_with(b"\n") => Err(format!("a line longer than {MAX_LINE} bytes")),
            Ok(Ok(_)) => Ok(String::from_utf8_lossy(&buf).trim_end_matches(['\r', '\n']).to_string()),
        }
    }

    /// An SMTP reply (`250-…` lines up to `250 …`).
    pub(crate) async fn reply(&mut self) -> Result<Reply, String> {
        let mut lines = Vec::new();
        loop {
            let l = self.line().await?;
            let code = l.get(..3).and_then(|c| c.parse::<u16>().ok()).filter(|c| (200..600).contains(c));
            let Some(code) = code else { return Err(format!("not an SMTP reply: {:?}", clip(&l))) };
            lines.push(l.get(4..).unwrap_or("").to_string());
            if l.as_bytes().get(3) != Some(&b'-') {
                return Ok(Reply { code, lines });
            }
            if lines.len() >= MAX_LINES {
                return Err(format!("a reply of more than {MAX_LINES} lines"));
            }
        }
    }

    /// Sends one command line.
    pub(crate) async fn send(&mut self, line: &str) -> Result<(), String> {
        let data = format!("{line}\r\n");
        match tokio::time::timeout(self.step, self.io.get_mut().write_all(data.as_bytes())).await {
            Err(_) => Err(format!("could not send within {}", secs(self.step))),
            Ok(r) => r.map_err(|e| e.to_string()),
        }
    }

    /// A command and its SMTP reply.
    pub(crate) async fn command(&mut self, line: &str) -> Result<Reply, String> {
        self.send(line).await?;
        self.reply().await
    }

    /// The TLS handshake for `host`, and the certificate the server showed.
    pub(crate) async fn tls(self, tls: &Tls, host: &str) -> Result<(Conn, CertSeen), String> {
        if !self.io.buffer().is_empty() {
            return Err("the server sent data before the TLS handshake".into());
        }
        let name = ServerName::try_from(host.to_string()).map_err(|_| format!("{host:?} is not a server name"))?;
        let (config, recorder) = tls.config()?;
        let step = self.step;
        let connect = tokio_rustls::TlsConnector::from(config).connect(name, self.io.into_inner());
        let stream = match tokio::time::timeout(step, connect).await {
            Err(_) => return Err(format!("TLS handshake: no answer within {}", secs(step))),
            Ok(Err(e)) => return Err(format!("TLS handshake: {e}")),
            Ok(Ok(s)) => s,
        };
        let seen = recorder.seen.lock().ok().and_then(|mut s| s.take());
        let seen = seen.ok_or("TLS handshake: no certificate")?;
        Ok((Conn { io: BufReader::new(Box::new(stream)), step }, seen))
    }

    /// Reads what is left, up to `limit` bytes (an HTTP body).
    pub(crate) async fn rest(&mut self, limit: usize) -> Result<Vec<u8>, String> {
        let mut body = Vec::new();
        let mut limited = (&mut self.io).take(limit as u64 + 1);
        match tokio::time::timeout(self.step, limited.read_to_end(&mut body)).await {
            Err(_) => Err(format!("no end of the answer within {}", secs(self.step))),
            // A server closing TLS without close_notify still delivered what it sent.
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(body),
            Ok(Err(e)) => Err(e.to_string()),
            Ok(Ok(_)) if body.len() > limit => Err(format!("more than {limit} bytes")),
            Ok(Ok(_)) => Ok(body),
        }
    }
}

/// At most 120 characters of what a server said.
pub(crate) fn clip(s: &str) -> String {
    s.chars().take(120).collect()
}

pub(crate) fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// What every probe shares: the bound on each step, the deadline of the whole audit, the trust.
#[derive(Clone, Copy)]
pub(crate) struct Bounds<'a> {
    pub step: Duration,
    pub deadline: Instant,
    pub tls: &'a Tls,
}

/// What one SMTP session with one MX address showed.
#[derive(Debug)]
pub(crate) struct SmtpSeen {
    pub host: String,
    pub addr: SocketAddr,
    /// The greeting and how long it took.
    pub greeting: Option<(Reply, Duration)>,
    /// The EHLO keywords.
    pub ehlo: Option<Vec<String>>,
    /// STARTTLS offered.
    pub starttls: Option<bool>,
    /// The handshake after STARTTLS.
    pub tls: Option<Result<CertSeen, String>>,
    /// MAIL FROM:<>, then RCPT to postmaster, to an unknown user, to an outside domain.
    pub mail: Option<Reply>,
    pub known: Option<Reply>,
    pub unknown: Option<Reply>,
    pub relay: Option<Reply>,
    /// Where and why the session stopped early.
    pub failed: Option<String>,
}

impl SmtpSeen {
    /// "mx1.example.org [192.0.2.1]:25".
    pub(crate) fn who(&self) -> String {
        format!("{} [{}]:{}", self.host, self.addr.ip(), self.addr.port())
    }
}

/// The recipients a probe asks about.
pub(crate) struct Recipients {
    pub known: String,
    pub unknown: String,
    pub outside: String,
}

impl Recipients {
    pub(crate) fn for_domain(domain: &str) -> Self {
        let mut r = [0u8; 6];
        let _ = getrandom::fill(&mut r);
        let tag: String = r.iter().map(|b| format!("{b:02x}")).collect();
        let outside = if domain == "example.net" { "example.org" } else { "example.net" };
        Recipients {
            known: format!("postmaster@{domain}"),
            unknown: format!("mailwright-audit-{tag}@{domain}"),
            outside: format!("mailwright-audit-{tag}@{outside}"),
        }
    }
}

/// An SMTP session with one MX address, up to RCPT, ended before `deadline`.
pub(crate) async fn smtp(host: &str, addr: SocketAddr, rcpts: &Recipients, b: Bounds<'_>) -> SmtpSeen {
    let mut seen = SmtpSeen {
        host: host.to_string(),
        addr,
        greeting: None,
        ehlo: None,
        starttls: None,
        tls: None,
        mail: None,
        known: None,
        unknown: None,
        relay: None,
        failed: None,
    };
    let started = Instant::now();
    match tokio::time::timeout_at(b.deadline, smtp_session(&mut seen, rcpts, b.step, b.tls)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => seen.failed = Some(e),
        Err(_) => seen.failed = Some(format!("the session did not end within {}", secs(started.elapsed()))),
    }
    seen
}

async fn smtp_session(seen: &mut SmtpSeen, rcpts: &Recipients, step: Duration, tls: &Tls) -> Result<(), String> {
    let started = Instant::now();
    let (mut c, local) = Conn::connect(seen.addr, step).await?;
    let greeting = c.reply().await.map_err(|e| format!("greeting: {e}"))?;
    seen.greeting = Some((greeting.clone(), started.elapsed()));
    if greeting.code != 220 {
        return Err(format!("greeting is not 220: {}", clip(&greeting.to_string())));
    }
    // An address literal is a valid EHLO argument for any client.
    let ehlo = format!("EHLO [{}]", local.ip());
    let reply = c.command(&ehlo).await.map_err(|e| format!("EHLO: {e}"))?;
    if reply.code != 250 {
        return Err(format!("EHLO refused: {}", clip(&reply.to_string())));
    }
    let keywords: Vec<String> = reply.lines.iter().skip(1).map(|l| l.to_ascii_uppercase()).collect();
    let offered = keywords.iter().any(|k| k.split(' ').next() == Some("STARTTLS"));
    seen.ehlo = Some(keywords);
    seen.starttls = Some(offered);
    if offered {
        let r = c.command("STARTTLS").await.map_err(|e| format!("STARTTLS: {e}"))?;
        if r.code != 220 {
            seen.tls = Some(Err(format!("STARTTLS offered, then refused: {}", clip(&r.to_string()))));
        } else {
            match c.tls(tls, &seen.host).await {
                Ok((t, cert)) => {
                    seen.tls = Some(Ok(cert));
                    c = t;
                    let r = c.command(&ehlo).await.map_err(|e| format!("EHLO after STARTTLS: {e}"))?;
                    if r.code != 250 {
                        return Err(format!("EHLO after STARTTLS refused: {}", clip(&r.to_string())));
                    }
                }
                Err(e) => {
                    seen.tls = Some(Err(e));
                    return Ok(());
                }
            }
        }
    }
    let mail = c.command("MAIL FROM:<>").await.map_err(|e| format!("MAIL FROM: {e}"))?;
    let accepted = mail.code / 100 == 2;
    seen.mail = Some(mail);
    if accepted {
        seen.known = Some(c.command(&format!("RCPT TO:<{}>", rcpts.known)).await?);
        seen.unknown = Some(c.command(&format!("RCPT TO:<{}>", rcpts.unknown)).await?);
        seen.relay = Some(c.command(&format!("RCPT TO:<{}>", rcpts.outside)).await?);
    }
    // Never DATA. The reply to QUIT does not matter.
    let _ = c.command("QUIT").await;
    Ok(())
}

/// How an access server offers TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// IMAP (993 with TLS from the start, 143 with STARTTLS).
    Imap,
    /// Submission (465 with TLS from the start, 587 with STARTTLS).
    Submission,
}

/// What one access server showed.
#[derive(Debug)]
pub(crate) struct TlsSeen {
    pub host: String,
    pub addr: SocketAddr,
    /// "TLS" (from the first byte) or "STARTTLS".
    pub how: &'static str,
    pub result: Result<CertSeen, String>,
}

/// TLS with one access server: `port` 0 means the usual ports (TLS first, then STARTTLS when
/// the TLS port refuses connections); `implicit` says which a given port speaks.
pub(crate) async fn access_tls(
    service: Access,
    host: &str,
    ip: std::net::IpAddr,
    port: u16,
    implicit: bool,
    b: Bounds<'_>,
) -> TlsSeen {
    let (tls_port, starttls_port) = match service {
        Access::Imap => (993, 143),
        Access::Submission => (465, 587),
    };
    let tries: Vec<(u16, bool)> = match port {
        0 => vec![(tls_port, true), (starttls_port, false)],
        p => vec![(p, implicit || p == tls_port)],
    };
    let mut last = None;
    for (port, implicit) in tries {
        let addr = SocketAddr::new(ip, port);
        let how = if implicit { "TLS" } else { "STARTTLS" };
        let session = access_session(service, host, addr, implicit, b.step, b.tls);
        let result = match tokio::time::timeout_at(b.deadline, session).await {
            Err(_) => Err("the session did not end in time".to_string()),
            Ok(r) => r,
        };
        let refused = matches!(&result, Err(e) if e.starts_with("connect:"));
        last = Some(TlsSeen { host: host.to_string(), addr, how, result });
        if !refused {
            break;
        }
    }
    last.unwrap_or(TlsSeen {
        host: host.into(),
        addr: SocketAddr::new(ip, port),
        how: "TLS",
        result: Err("no port to try".into()),
    })
}

async fn access_session(
    service: Access,
    host: &str,
    addr: SocketAddr,
    implicit: bool,
    step: Duration,
    tls: &Tls,
) -> Result<CertSeen, String> {
    let (mut c, local) = Conn::connect(addr, step).await?;
    if implicit {
        let (mut c, cert) = c.tls(tls, host).await?;
        // A greeting proves it is the service, not just a TLS port.
        match service {
            Access::Imap => {
                let g = c.line().await?;
                if !g.starts_with("* OK") && !g.starts_with("* PREAUTH") {
                    return Err(format!("not an IMAP greeting: {:?}", clip(&g)));
                }
                let _ = c.send("a1 LOGOUT").await;
            }
            Access::Submission => {
                let g = c.reply().await?;
                if g.code != 220 {
                    return Err(format!("greeting is not 220: {}", clip(&g.to_string())));
                }
                let _ = c.command("QUIT").await;
            }
        }
        return Ok(cert);
    }
    match service {
        Access::Imap => {
            let g = c.line().await?;
            if !g.starts_with("* OK") {
                return Err(format!("not an IMAP greeting: {:?}", clip(&g)));
            }
            c.send("a1 CAPABILITY").await?;
            let mut caps = String::new();
            for _ in 0..MAX_LINES {
                let l = c.line().await?;
                if l.starts_with("* CAPABILITY") {
                    caps = l.to_ascii_uppercase();
                }
                if l.starts_with("a1 ") {
                    break;
                }
            }
            if !caps.split(' ').any(|w| w == "STARTTLS") {
                return Err("no TLS: STARTTLS is not offered, so passwords cross in clear".into());
            }
            c.send("a2 STARTTLS").await?;
            let r = c.line().await?;
            if !r.starts_with("a2 OK") {
                return Err(format!("STARTTLS refused: {:?}", clip(&r)));
            }
            let (mut c, cert) = c.tls(tls, host).await?;
            let _ = c.send("a3 LOGOUT").await;
            Ok(cert)
        }
        Access::Submission => {
            let g = c.reply().await?;
            if g.code != 220 {
                return Err(format!("greeting is not 220: {}", clip(&g.to_string())));
            }
            let e = c.command(&format!("EHLO [{}]", local.ip())).await?;
            if !e.lines.iter().skip(1).any(|l| l.eq_ignore_ascii_case("STARTTLS")) {
                return Err("no TLS: STARTTLS is not offered, so passwords cross in clear".into());
            }
            let r = c.command("STARTTLS").await?;
            if r.code != 220 {
                return Err(format!("STARTTLS refused: {}", clip(&r.to_string())));
            }
            let (mut c, cert) = c.tls(tls, host).await?;
            let _ = c.command("QUIT").await;
            Ok(cert)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_civil_dates() {
        assert_eq!(day(0), "1970-01-01");
        assert_eq!(day(951_782_400), "2000-02-29");
        assert_eq!(day(1_796_083_200), "2026-12-01");
    }
}
