//! One SMTP connection: greeting, EHLO, STARTTLS, AUTH, and transactions.

use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::reply::{self, Reply};
use super::{Security, SmtpConfig, SmtpError, TlsInfo, data};
use crate::inject::{Envelope, Receipt, RecipientResult, RecipientStatus};

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// What EHLO told us.
#[derive(Debug, Default)]
struct Extensions {
    pipelining: bool,
    starttls: bool,
    eightbitmime: bool,
    smtputf8: bool,
    size: Option<u64>,
    auth: Vec<String>,
}

impl Extensions {
    fn from_ehlo(r: &Reply) -> Self {
        let mut e = Extensions::default();
        for line in r.lines.iter().skip(1) {
            let mut words = line.split_whitespace();
            let Some(kw) = words.next() else { continue };
            match kw.to_ascii_uppercase().as_str() {
                "PIPELINING" => e.pipelining = true,
                "STARTTLS" => e.starttls = true,
                "8BITMIME" => e.eightbitmime = true,
                "SMTPUTF8" => e.smtputf8 = true,
                "SIZE" => e.size = words.next().and_then(|n| n.parse().ok()).filter(|&n| n > 0),
                "AUTH" => e.auth = words.map(|w| w.to_ascii_uppercase()).collect(),
                _ => {}
            }
        }
        e
    }
}

/// An open, greeted, possibly encrypted and authenticated connection.
pub(crate) struct Session {
    io: Box<dyn Io>,
    buf: Vec<u8>,
    ext: Extensions,
    tls: Option<TlsInfo>,
    peer: String,
    destination: String,
    reply_timeout: Duration,
}

impl Session {
    pub(super) async fn connect(c: &SmtpConfig) -> Result<Session, SmtpError> {
        Self::connect_to(c, None).await
    }

    /// Connects to `at` when given (an address already resolved, e.g. an MX host's), else to
    /// `c.host`; `c.host` is the name TLS verifies either way.
    pub(crate) async fn connect_to(c: &SmtpConfig, at: Option<std::net::SocketAddr>) -> Result<Session, SmtpError> {
        let addr = match at {
            Some(a) => a.to_string(),
            None => format!("{}:{}", c.host, c.port),
        };
        let connecting = async {
            match at {
                Some(a) => TcpStream::connect(a).await,
                None => TcpStream::connect((c.host.as_str(), c.port)).await,
            }
        };
        let tcp = tokio::time::timeout(c.connect_timeout, connecting)
            .await
            .map_err(|_| SmtpError::Timeout { stage: "connect" })?
            .map_err(|source| SmtpError::Connect { addr: addr.clone(), source })?;
        let _ = tcp.set_nodelay(true);
        let peer = match at {
            Some(a) => format!("{}[{}]:{}", c.host, a.ip(), a.port()),
            None => tcp.peer_addr().map(|a| a.to_string()).unwrap_or_else(|_| addr.clone()),
        };
        let mut s = Session {
            io: Box::new(tcp),
            buf: Vec::with_capacity(4096),
            ext: Extensions::default(),
            tls: None,
            peer,
            destination: addr,
            reply_timeout: c.reply_timeout,
        };
        if c.security == Security::Implicit {
            s.start_tls(c).await?;
        }
        let greeting = s.read_reply("greeting").await?;
        if greeting.code != 220 {
            return Err(SmtpError::Rejected { stage: "greeting", reply: greeting });
        }
        s.ehlo(c).await?;
        if s.tls.is_none() {
            if s.ext.starttls {
                let r = s.command(b"STARTTLS\r\n", "STARTTLS").await?;
                if r.code != 220 {
                    return Err(SmtpError::Rejected { stage: "STARTTLS", reply: r });
                }
                s.start_tls(c).await?;
                s.ehlo(c).await?;
            } else if !(c.allow_plaintext && matches!(c.security, Security::StartTls | Security::Opportunistic)) {
                return Err(SmtpError::NoStartTls { host: c.host.clone() });
            }
        }
        if c.credentials.is_some() || c.oauth2.is_some() {
            if s.tls.is_none() && !c.allow_plaintext {
                return Err(SmtpError::PlaintextCredentials);
            }
            match (&c.oauth2, &c.credentials) {
                (Some(o), _) => s.auth_oauth2(o, c).await?,
                (None, Some((user, pass))) => s.auth(user, pass).await?,
                (None, None) => {}
            }
        }
        Ok(s)
    }

    /// Whether the connection is encrypted (implicit TLS or STARTTLS).
    pub(crate) fn is_encrypted(&self) -> bool {
        self.tls.is_some()
    }

    async fn ehlo(&mut self, c: &SmtpConfig) -> Result<(), SmtpError> {
        let r = self.command(format!("EHLO {}\r\n", c.helo_name).as_bytes(), "EHLO").await?;
        if r.code != 250 {
            return Err(SmtpError::Rejected { stage: "EHLO", reply: r });
        }
        self.ext = Extensions::from_ehlo(&r);
        Ok(())
    }

    async fn start_tls(&mut self, c: &SmtpConfig) -> Result<(), SmtpError> {
        let tls_err = |detail: String| SmtpError::Tls { host: c.host.clone(), detail };
        let config = tls_config(c).map_err(|e| tls_err(e.to_string()))?;
        let name = ServerName::try_from(c.host.clone()).map_err(|e| tls_err(e.to_string()))?;
        let io = std::mem::replace(&mut self.io, Box::new(tokio::io::duplex(1).0));
        let stream =
            tokio::time::timeout(self.reply_timeout, tokio_rustls::TlsConnector::from(config).connect(name, io))
                .await
                .map_err(|_| SmtpError::Timeout { stage: "TLS handshake" })?
                .map_err(|e| tls_err(e.to_string()))?;
        let version = match stream.get_ref().1.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
            _ => "TLS",
        };
        self.tls = Some(TlsInfo { version: version.into(), verified: !c.insecure });
        self.io = Box::new(stream);
        self.buf.clear();
        Ok(())
    }

    async fn auth(&mut self, user: &str, pass: &str) -> Result<(), SmtpError> {
        use base64::Engine as _;
        let base64_encode = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        if self.ext.auth.iter().any(|m| m == "PLAIN") {
            let token = base64_encode(format!("\0{user}\0{pass}").as_bytes());
            let r = self.command(format!("AUTH PLAIN {token}\r\n").as_bytes(), "AUTH").await?;
            return if r.code == 235 { Ok(()) } else { Err(SmtpError::Auth { reply: r }) };
        }
        if self.ext.auth.iter().any(|m| m == "LOGIN") {
            let r = self.command(b"AUTH LOGIN\r\n", "AUTH").await?;
            if r.code != 334 {
                return Err(SmtpError::Auth { reply: r });
            }
            let r = self.command(format!("{}\r\n", base64_encode(user.as_bytes())).as_bytes(), "AUTH").await?;
            if r.code != 334 {
                return Err(SmtpError::Auth { reply: r });
            }
            let r = self.command(format!("{}\r\n", base64_encode(pass.as_bytes())).as_bytes(), "AUTH").await?;
            return if r.code == 235 { Ok(()) } else { Err(SmtpError::Auth { reply: r }) };
        }
        Err(SmtpError::NoAuthMechanism { offered: self.ext.auth.clone() })
    }

    /// AUTH with a bearer token: OAUTHBEARER when offered, else XOAUTH2 (or the one asked for).
    /// A refused token (an expired one looks like that) is got again and tried once more.
    async fn auth_oauth2(&mut self, o: &crate::oauth2::OAuth2, c: &SmtpConfig) -> Result<(), SmtpError> {
        use crate::oauth2::Mechanism;
        let offered = |m: Mechanism| self.ext.auth.iter().any(|a| a == m.name());
        let mechanism = match o.mechanism {
            Some(m) if offered(m) => m,
            None if offered(Mechanism::OAuthBearer) => Mechanism::OAuthBearer,
            None if offered(Mechanism::XOAuth2) => Mechanism::XOAuth2,
            _ => return Err(SmtpError::NoAuthMechanism { offered: self.ext.auth.clone() }),
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = o.token()?;
            let response = o.initial_response_base64(mechanism, &token, &c.host, c.port);
            let mut r = self.command(format!("AUTH {} {response}\r\n", mechanism.name()).as_bytes(), "AUTH").await?;
            if r.code == 334 {
                // The error challenge (JSON); the answer ends the exchange with the refusal.
                use base64::Engine as _;
                let abort = base64::engine::general_purpose::STANDARD.encode(mechanism.abort());
                r = self.command(format!("{abort}\r\n").as_bytes(), "AUTH").await?;
            }
            if r.code == 235 {
                return Ok(());
            }
            if attempt == 2 || r.is_transient() {
                return Err(SmtpError::Auth { reply: r });
            }
        }
    }

    /// One transaction; after a refusal the transaction is reset so the connection stays usable.
    pub(crate) async fn send(&mut self, env: &Envelope, raw: &[u8]) -> Result<Receipt, SmtpError> {
        let result = self.transaction(env, raw).await;
        if let Err(SmtpError::Rejected { .. } | SmtpError::AllRecipientsRefused { .. }) = &result {
            let _ = self.command(b"RSET\r\n", "RSET").await;
        }
        result
    }

    /// Checks what the message needs from the server; gives the MAIL FROM line.
    fn mail_command(&self, env: &Envelope, raw: &[u8]) -> Result<String, SmtpError> {
        if let Some(max) = self.ext.size
            && raw.len() as u64 > max
        {
            return Err(SmtpError::TooBig { size: raw.len(), max });
        }
        let utf8 = !env.from().is_ascii() || env.to().iter().any(|a| !a.is_ascii());
        if utf8 && !self.ext.smtputf8 {
            return Err(SmtpError::MissingExtension { extension: "SMTPUTF8", why: "an address is not ASCII" });
        }
        let eight_bit = !raw.is_ascii();
        if eight_bit && !self.ext.eightbitmime {
            return Err(SmtpError::MissingExtension { extension: "8BITMIME", why: "the message has 8-bit bytes" });
        }
        let mut mail = format!("MAIL FROM:<{}>", env.from());
        if self.ext.size.is_some() {
            mail.push_str(&format!(" SIZE={}", raw.len()));
        }
        if eight_bit {
            mail.push_str(" BODY=8BITMIME");
        }
        if utf8 {
            mail.push_str(" SMTPUTF8");
        }
        mail.push_str("\r\n");
        Ok(mail)
    }

    /// MAIL, every RCPT and DATA as one pipelined group.
    fn group(mail: String, env: &Envelope) -> Vec<u8> {
        let mut batch = mail.into_bytes();
        for a in env.to() {
            batch.extend_from_slice(format!("RCPT TO:<{a}>\r\n").as_bytes());
        }
        batch.extend_from_slice(b"DATA\r\n");
        batch
    }

    /// Reads the replies to a pipelined group: MAIL's, each RCPT's, DATA's.
    async fn group_replies(&mut self, env: &Envelope) -> Result<(Reply, Vec<RecipientResult>, Reply), SmtpError> {
        let m = self.read_reply("MAIL").await?;
        let mut results = Vec::with_capacity(env.to().len());
        for a in env.to() {
            let r = self.read_reply("RCPT").await?;
            results.push(result_for(a, &r));
        }
        let d = self.read_reply("DATA").await?;
        Ok((m, results, d))
    }

    /// After the group's replies: `Ok` when the message may follow (354 and someone accepted),
    /// else the error, with the transaction already ended (an empty message sent if DATA was
    /// accepted anyway).
    async fn after_group(&mut self, m: Reply, results: &[RecipientResult], d: &Reply) -> Result<(), SmtpError> {
        let any_accepted = results.iter().any(|r| r.status == RecipientStatus::Accepted);
        if d.code == 354 && (m.code != 250 || !any_accepted) {
            self.write(b".\r\n", "DATA").await?;
            let _ = self.read_reply("DATA").await?;
        }
        if m.code != 250 {
            return Err(SmtpError::Rejected { stage: "MAIL FROM", reply: m });
        }
        if !any_accepted {
            return Err(SmtpError::AllRecipientsRefused { recipients: results.to_vec() });
        }
        if d.code != 354 {
            return Err(SmtpError::Rejected { stage: "DATA", reply: d.clone() });
        }
        Ok(())
    }

    /// Reads the reply to the end of data and makes the receipt.
    async fn finish(&mut self, results: Vec<RecipientResult>) -> Result<Receipt, SmtpError> {
        let saved = self.reply_timeout;
        self.reply_timeout = saved * 10;
        let done = self.read_reply("end of data").await;
        self.reply_timeout = saved;
        // The whole message is out: from here a broken connection leaves the outcome unknown.
        let done = done.map_err(|e| match e {
            SmtpError::Io { .. } | SmtpError::Timeout { .. } | SmtpError::Protocol(_) => {
                SmtpError::OutcomeUnknown { detail: e.to_string() }
            }
            other => other,
        })?;
        if done.code != 250 {
            return Err(SmtpError::Rejected { stage: "end of data", reply: done });
        }
        Ok(Receipt {
            transport: "smtp",
            destination: self.destination.clone(),
            queue_id: queue_id(&done),
            recipients: results,
            peer: Some(self.peer.clone()),
            tls: self.tls.clone(),
        })
    }

    /// MAIL, RCPT for each recipient, DATA, the message.
    async fn transaction(&mut self, env: &Envelope, raw: &[u8]) -> Result<Receipt, SmtpError> {
        let mut result = self.transaction_inner(env, raw).await;
        let peer = &self.peer;
        let stamp = |rs: &mut Vec<RecipientResult>| rs.iter_mut().for_each(|r| r.host = Some(peer.clone()));
        match &mut result {
            Ok(receipt) => stamp(&mut receipt.recipients),
            Err(SmtpError::AllRecipientsRefused { recipients }) => stamp(recipients),
            Err(_) => {}
        }
        result
    }

    async fn transaction_inner(&mut self, env: &Envelope, raw: &[u8]) -> Result<Receipt, SmtpError> {
        let mail = self.mail_command(env, raw)?;
        let results = if self.ext.pipelining {
            self.write(&Self::group(mail, env), "MAIL").await?;
            let (m, results, d) = self.group_replies(env).await?;
            self.after_group(m, &results, &d).await?;
            results
        } else {
            let m = self.command(mail.as_bytes(), "MAIL").await?;
            if m.code != 250 {
                return Err(SmtpError::Rejected { stage: "MAIL FROM", reply: m });
            }
            let mut results = Vec::with_capacity(env.to().len());
            for a in env.to() {
                let r = self.command(format!("RCPT TO:<{a}>\r\n").as_bytes(), "RCPT").await?;
                results.push(result_for(a, &r));
            }
            if !results.iter().any(|r| r.status == RecipientStatus::Accepted) {
                return Err(SmtpError::AllRecipientsRefused { recipients: results });
            }
            let d = self.command(b"DATA\r\n", "DATA").await?;
            if d.code != 354 {
                return Err(SmtpError::Rejected { stage: "DATA", reply: d });
            }
            results
        };
        self.write(&data::payload(raw), "DATA").await?;
        self.finish(results).await
    }

    /// Several messages on this connection. With PIPELINING, each message's data goes out in one
    /// write together with the next message's MAIL, RCPT and DATA (RFC 2920 §3.1 allows message
    /// content first in a group), so a message costs one round trip. A broken connection ends
    /// the batch: that message and the rest get the error.
    pub(crate) async fn send_batch(&mut self, items: &[(Envelope, &[u8])]) -> Vec<Result<Receipt, SmtpError>> {
        let mut out: Vec<Result<Receipt, SmtpError>> = Vec::with_capacity(items.len());
        if !self.ext.pipelining {
            for (env, raw) in items {
                out.push(self.send(env, raw).await);
            }
            return out;
        }
        let mut sent_group = false;
        for (i, (env, raw)) in items.iter().enumerate() {
            let step: Result<Receipt, SmtpError> = async {
                if !sent_group {
                    let mail = self.mail_command(env, raw)?;
                    self.write(&Self::group(mail, env), "MAIL").await?;
                }
                sent_group = false;
                let (m, results, d) = self.group_replies(env).await?;
                if let Err(e) = self.after_group(m, &results, &d).await {
                    let _ = self.command(b"RSET\r\n", "RSET").await?;
                    return Err(e);
                }
                let mut chunk = data::payload(raw);
                if let Some((next_env, next_raw)) = items.get(i + 1)
                    && let Ok(mail) = self.mail_command(next_env, next_raw)
                {
                    chunk.extend_from_slice(&Self::group(mail, next_env));
                    sent_group = true;
                }
                self.write(&chunk, "DATA").await?;
                self.finish(results).await
            }
            .await;
            let broken = matches!(
                step,
                Err(SmtpError::Io { .. }
                    | SmtpError::Timeout { .. }
                    | SmtpError::Protocol(_)
                    | SmtpError::OutcomeUnknown { .. })
            );
            out.push(step);
            if broken {
                while out.len() < items.len() {
                    out.push(Err(SmtpError::Io {
                        stage: "batch",
                        source: std::io::Error::other("the connection broke earlier in the batch"),
                    }));
                }
                break;
            }
        }
        out
    }

    pub(crate) async fn quit(&mut self) -> Result<(), SmtpError> {
        let _ = self.command(b"QUIT\r\n", "QUIT").await?;
        let _ = self.io.shutdown().await;
        Ok(())
    }

    async fn command(&mut self, line: &[u8], stage: &'static str) -> Result<Reply, SmtpError> {
        self.write(line, stage).await?;
        self.read_reply(stage).await
    }

    async fn write(&mut self, bytes: &[u8], stage: &'static str) -> Result<(), SmtpError> {
        let io = &mut self.io;
        tokio::time::timeout(self.reply_timeout, async {
            io.write_all(bytes).await?;
            io.flush().await
        })
        .await
        .map_err(|_| SmtpError::Timeout { stage })?
        .map_err(|source| SmtpError::Io { stage, source })
    }

    async fn read_reply(&mut self, stage: &'static str) -> Result<Reply, SmtpError> {
        let deadline = tokio::time::Instant::now() + self.reply_timeout;
        loop {
            if let Some((r, used)) = reply::parse(&self.buf).map_err(|e| SmtpError::Protocol(e.to_string()))? {
                self.buf.drain(..used);
                return Ok(r);
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout_at(deadline, self.io.read(&mut chunk))
                .await
                .map_err(|_| SmtpError::Timeout { stage })?
                .map_err(|source| SmtpError::Io { stage, source })?;
            if n == 0 {
                return Err(SmtpError::Io {
                    stage,
                    source: std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "server closed the connection"),
                });
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn result_for(address: &str, r: &Reply) -> RecipientResult {
    let status = match r.code {
        250 | 251 => RecipientStatus::Accepted,
        400..=499 => RecipientStatus::Transient,
        _ => RecipientStatus::Permanent,
    };
    RecipientResult {
        code: Some(r.code),
        enhanced_code: r.enhanced.clone(),
        ..RecipientResult::new(address, status, r.text())
    }
}

/// The queue id in a final reply: Postfix says "queued as ID"; others put it last.
fn queue_id(r: &Reply) -> Option<String> {
    let t = r.text();
    if let Some(rest) = t.split("queued as ").nth(1) {
        return rest.split_whitespace().next().map(|s| s.trim_end_matches(['.', ')']).to_string());
    }
    t.split_whitespace().last().map(str::to_string)
}

fn tls_config(c: &SmtpConfig) -> Result<Arc<ClientConfig>, crate::tls::TlsError> {
    crate::tls::client_config(c.ca_file.as_deref(), c.insecure)
}
