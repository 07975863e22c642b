//! Direct-to-MX delivery against real servers on loopback: dnsmasq serving the MX records of
//! the test domains (see `scripts/mail-servers`), aiosmtpd sinks and fault servers started by
//! each test on the addresses those records name, and Postfix for TLS.

mod support;

use std::net::{TcpStream, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailwright::inject::mx::{MxError, MxTls};
use mailwright::inject::{InjectError, MxTransport, RecipientStatus, Transport};
use support::{Server, delivered, message, mx, mx_config};

fn spool(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(tag).tempdir().expect("tempdir")
}

#[test]
fn primary_refuses_connections_secondary_gets_it() {
    let Some(_serial) = support::ready() else { return };
    let dir = spool("refused");
    let _mx2 = Server::start("127.0.1.2", "sink", Some(dir.path()), &[]);
    let (env, raw) = message("a@client.test", &["bob@refused.test"], "refused");
    let start = Instant::now();
    let receipt = mx(Duration::from_secs(5)).send_mx(&env, &raw).expect("delivered");
    let took = start.elapsed();
    let r = &receipt.recipients[0];
    assert_eq!(r.status, RecipientStatus::Accepted, "{r:?}");
    assert_eq!(r.host.as_deref(), Some("mx2.refused.test[127.0.1.2]:2525"));
    assert_eq!(receipt.transport, "mx");
    let got = delivered(dir.path());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, vec!["bob@refused.test".to_string()]);
    assert_eq!(got[0].2, raw, "delivered byte-exact");
    eprintln!("refused primary: delivered through the secondary in {took:?}");
}

#[test]
fn primary_accepts_then_stalls_times_out_secondary_gets_it() {
    let Some(_serial) = support::ready() else { return };
    let dir = spool("stall");
    let _mx1 = Server::start("127.0.1.3", "stall", None, &[]);
    let _mx2 = Server::start("127.0.1.4", "sink", Some(dir.path()), &[]);
    let (env, raw) = message("a@client.test", &["bob@stall.test"], "stall");
    let start = Instant::now();
    let receipt = mx(Duration::from_secs(1)).send_mx(&env, &raw).expect("delivered");
    let took = start.elapsed();
    assert_eq!(receipt.recipients[0].host.as_deref(), Some("mx2.stall.test[127.0.1.4]:2525"));
    assert!(took >= Duration::from_secs(1) && took < Duration::from_secs(10), "{took:?}");
    assert_eq!(delivered(dir.path()).len(), 1);
}

#[test]
fn primary_answers_451_secondary_gets_it() {
    let Some(_serial) = support::ready() else { return };
    let dir = spool("tempfail");
    let _mx1 = Server::start("127.0.1.5", "tempfail", None, &[]);
    let _mx2 = Server::start("127.0.1.6", "sink", Some(dir.path()), &[]);
    let (env, raw) = message("a@client.test", &["bob@tempfail.test", "carol@tempfail.test"], "451");
    let receipt = mx(Duration::from_secs(5)).send_mx(&env, &raw).expect("delivered");
    for r in &receipt.recipients {
        assert_eq!(r.status, RecipientStatus::Accepted, "{r:?}");
        assert_eq!(r.host.as_deref(), Some("mx2.tempfail.test[127.0.1.6]:2525"));
    }
    let got = delivered(dir.path());
    assert_eq!(got.len(), 1, "one transaction for the domain's recipients");
    assert_eq!(got[0].1.len(), 2);
}

#[test]
fn only_host_answers_451_is_a_transient_failure_naming_it() {
    let Some(_serial) = support::ready() else { return };
    // tempfail.test's secondary is not started here.
    let _mx1 = Server::start("127.0.1.5", "tempfail", None, &[]);
    let (env, raw) = message("a@client.test", &["bob@tempfail.test"], "451 only");
    let err = mx(Duration::from_secs(5)).send_mx(&env, &raw).expect_err("nobody accepts");
    assert!(err.is_transient(), "{err}");
    let MxError::Undelivered { recipients } = &err else { panic!("{err:?}") };
    // The last answer wins: the secondary refused the connection after the primary's 451.
    assert_eq!(recipients[0].status, RecipientStatus::Transient);
    assert!(recipients[0].host.as_deref().is_some_and(|h| h.contains("tempfail.test")), "{err}");
}

#[test]
fn reset_in_the_middle_of_data_is_transient_then_delivered_on_retry() {
    let Some(_serial) = support::ready() else { return };
    let dir = spool("reset");
    let _mx = Server::start("127.0.1.7", "reset", Some(dir.path()), &["--resets", "1"]);
    let pdf = mailwright::sample::pdf("reset", 300_000, 9);
    let b = mailwright::build::MessageBuilder::new()
        .from("a@client.test")
        .to("bob@reset.test")
        .subject("reset")
        .text("see attachment\r\n")
        .attach_bytes("r.pdf", pdf);
    let env = b.envelope().expect("envelope");
    let raw = b.build().expect("build");
    let mut t = mx(Duration::from_secs(5));
    let err = t.send_mx(&env, &raw).expect_err("reset");
    assert!(err.is_transient(), "{err}");
    assert!(delivered(dir.path()).is_empty());
    let receipt = t.send_mx(&env, &raw).expect("retry delivers");
    assert_eq!(receipt.recipients[0].status, RecipientStatus::Accepted);
    let got = delivered(dir.path());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].2, raw);
}

#[test]
fn all_hosts_down_is_transient_until_one_comes_back() {
    let Some(_serial) = support::ready() else { return };
    let dir = spool("down");
    let (env, raw) = message("a@client.test", &["bob@down.test"], "down");
    let mut t = mx(Duration::from_secs(2));
    let err = t.send_mx(&env, &raw).expect_err("all down");
    assert!(err.is_transient(), "{err}");
    assert!(err.to_string().contains("mx2.down.test[127.0.1.9]:2525"), "{err}");
    let _mx2 = Server::start("127.0.1.9", "sink", Some(dir.path()), &[]);
    let receipt = t.send_mx(&env, &raw).expect("back up");
    assert_eq!(receipt.recipients[0].host.as_deref(), Some("mx2.down.test[127.0.1.9]:2525"));
    assert_eq!(delivered(dir.path()).len(), 1);
}

#[test]
fn a_550_fails_that_recipient_and_delivers_the_others() {
    let Some(_serial) = support::ready() else { return };
    let dir = spool("partial");
    let _mx = Server::start("127.0.1.10", "sink", Some(dir.path()), &["--reject-prefix", "reject"]);
    let to = ["ok1@partial.test", "reject1@partial.test", "ok2@partial.test"];
    let (env, raw) = message("a@client.test", &to, "partial");
    let receipt = mx(Duration::from_secs(5)).send_mx(&env, &raw).expect("some accepted");
    let statuses: Vec<_> = receipt.recipients.iter().map(|r| (r.address.as_str(), r.status)).collect();
    assert_eq!(
        statuses,
        vec![
            ("ok1@partial.test", RecipientStatus::Accepted),
            ("reject1@partial.test", RecipientStatus::Permanent),
            ("ok2@partial.test", RecipientStatus::Accepted)
        ]
    );
    let rejected = &receipt.recipients[1];
    assert_eq!((rejected.code, rejected.enhanced_code.as_deref()), (Some(550), Some("5.1.1")));
    assert_eq!(rejected.host.as_deref(), Some("mx.partial.test[127.0.1.10]:2525"));
    let got = delivered(dir.path());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, vec!["ok1@partial.test".to_string(), "ok2@partial.test".to_string()]);
}

#[test]
fn null_mx_and_nxdomain_are_permanent() {
    let Some(_serial) = support::ready() else { return };
    let t = mx(Duration::from_secs(2));
    assert!(matches!(t.route("nullmx.test"), Err(MxError::NullMx { .. })));
    assert!(matches!(t.route("nxdomain.test"), Err(MxError::NoSuchDomain { .. })));
    let mut t = t;
    for (domain, words) in [("nullmx.test", "null MX"), ("nxdomain.test", "does not exist")] {
        let to = format!("bob@{domain}");
        let (env, raw) = message("a@client.test", &[to.as_str()], domain);
        let err = t.send_raw(&env, &raw).expect_err("permanent");
        assert!(err.is_permanent(), "{err}");
        assert!(matches!(err, InjectError::Mx(MxError::Undelivered { .. })), "{err:?}");
        assert!(err.to_string().contains(words), "{err}");
    }
}

#[test]
fn implicit_mx_and_each_address_of_a_host_in_turn() {
    let Some(_serial) = support::ready() else { return };
    let dir = spool("implicit");
    let _a = Server::start("127.0.1.13", "sink", Some(dir.path()), &[]);
    let _b = Server::start("127.0.1.15", "sink", Some(dir.path()), &[]);
    let t = mx(Duration::from_secs(2));
    assert_eq!(t.route("nomx.test").expect("route")[0].name, "nomx.test");
    // One envelope, three domains: one transaction per domain.
    let to = ["x@nomx.test", "y@multi.test", "z@multi.test"];
    let (env, raw) = message("a@client.test", &to, "implicit");
    let mut t = t;
    let receipt = t.send_mx(&env, &raw).expect("delivered");
    let hosts: Vec<_> = receipt.recipients.iter().map(|r| r.host.clone().unwrap_or_default()).collect();
    assert_eq!(
        hosts,
        vec!["nomx.test[127.0.1.13]:2525", "mx.multi.test[127.0.1.15]:2525", "mx.multi.test[127.0.1.15]:2525"]
    );
    assert_eq!(delivered(dir.path()).len(), 2);
}

#[test]
fn equal_preference_hosts_share_the_load() {
    let Some(_serial) = support::ready() else { return };
    let t = mx(Duration::from_secs(2));
    let mut firsts = std::collections::BTreeSet::new();
    for _ in 0..64 {
        let route = t.route("equal.test").expect("route");
        assert_eq!(route.len(), 2);
        firsts.insert(route[0].name.clone());
    }
    assert_eq!(firsts.len(), 2, "both orders seen in 64 lookups");
    let dir = spool("equal");
    let _a = Server::start("127.0.1.11", "sink", Some(dir.path()), &[]);
    let _b = Server::start("127.0.1.12", "sink", Some(dir.path()), &[]);
    let mut t = t;
    for i in 0..40 {
        let (env, raw) = message("a@client.test", &["bob@equal.test"], &format!("equal {i}"));
        t.send_mx(&env, &raw).expect("delivered");
    }
    let got = delivered(dir.path());
    let on_a = got.iter().filter(|m| m.0 == "127.0.1.11").count();
    eprintln!("equal preference: {on_a} of 40 on mx1, {} on mx2", got.len() - on_a);
    assert_eq!(got.len(), 40);
    assert!((5..=35).contains(&on_a), "{on_a} of 40 on one host");
}

#[test]
fn a_dead_first_resolver_is_skipped() {
    let Some(_serial) = support::ready() else { return };
    // A port nobody listens on (ICMP refused) and a socket that never answers (blackhole).
    let blackhole = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let dead = ["127.0.0.1:5399".parse().expect("addr"), blackhole.local_addr().expect("addr")];
    for first in dead {
        let mut c = mx_config(Duration::from_secs(2));
        c.resolvers.insert(0, first);
        let t = MxTransport::new(c).expect("transport");
        let start = Instant::now();
        for _ in 0..3 {
            let hosts = t.route("refused.test").expect("second resolver answers");
            assert_eq!(hosts.len(), 2);
        }
        let took = start.elapsed();
        eprintln!("dead first resolver {first}: 3 lookups in {took:?}");
        assert!(took < Duration::from_secs(4), "{took:?}");
    }
    // Every resolver dead: a transient error within a bounded time.
    let mut c = mx_config(Duration::from_secs(2));
    c.resolvers = vec![blackhole.local_addr().expect("addr")];
    c.dns_timeout = Duration::from_millis(500);
    let start = Instant::now();
    let err = MxTransport::new(c).expect("transport").route("refused.test").expect_err("no answer");
    assert!(err.is_transient() && matches!(err, MxError::Dns { .. }), "{err}");
    assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
}

#[test]
fn blackholed_primary_costs_the_connect_timeout() {
    let Some(_serial) = support::ready() else { return };
    let dir = spool("blackhole");
    let _mx1 = Server::start("127.0.1.16", "blackhole", None, &[]);
    let _mx2 = Server::start("127.0.1.17", "sink", Some(dir.path()), &[]);
    let mut c = mx_config(Duration::from_secs(5));
    c.connect_timeout = Duration::from_millis(700);
    let mut t = MxTransport::new(c).expect("transport");
    let (env, raw) = message("a@client.test", &["bob@blackhole.test"], "blackhole");
    let start = Instant::now();
    let receipt = t.send_mx(&env, &raw).expect("delivered");
    let took = start.elapsed();
    eprintln!("blackholed primary: delivered through the secondary in {took:?}");
    assert_eq!(receipt.recipients[0].host.as_deref(), Some("mx2.blackhole.test[127.0.1.17]:2525"));
    assert!(took >= Duration::from_millis(700), "{took:?}");
}

fn postfix_up() -> bool {
    let up = TcpStream::connect_timeout(&"127.0.0.1:25".parse().expect("addr"), Duration::from_secs(1)).is_ok();
    if !up {
        let msg = "SKIPPED MX TLS test: no Postfix on 127.0.0.1:25 (run `scripts/mail-servers start` as root)";
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "{msg}; CI must not skip");
        eprintln!("\n*** {msg} ***\n");
    }
    up
}

#[test]
fn starttls_to_postfix_opportunistic_and_required() {
    let Some(_serial) = support::ready() else { return };
    if !postfix_up() {
        return;
    }
    let (env, raw) = message("a@client.test", &["bob@example.test"], "mx tls");
    let mut c = mx_config(Duration::from_secs(10));
    c.port = 25;
    let receipt = MxTransport::new(c.clone()).expect("transport").send_mx(&env, &raw).expect("opportunistic");
    let tls = receipt.tls.expect("STARTTLS used");
    assert!(!tls.verified, "opportunistic TLS does not check the certificate");
    assert_eq!(receipt.recipients[0].host.as_deref(), Some("mail.example.test[127.0.0.1]:25"));

    c.tls = MxTls::Required;
    c.ca_file = Some("/etc/mailwright-test/tls/ca.pem".into());
    let receipt = MxTransport::new(c.clone()).expect("transport").send_mx(&env, &raw).expect("required");
    assert!(receipt.tls.expect("TLS").verified);

    // Required TLS against a host without STARTTLS: skipped like a dead host, transient.
    let dir = spool("notls");
    let _sink = Server::start("127.0.1.13", "sink", Some(dir.path()), &[]);
    let mut c = mx_config(Duration::from_secs(5));
    c.tls = MxTls::Required;
    let (env, raw) = message("a@client.test", &["x@nomx.test"], "required tls");
    let err = MxTransport::new(c).expect("transport").send_mx(&env, &raw).expect_err("no STARTTLS");
    assert!(err.is_transient() && err.to_string().contains("STARTTLS"), "{err}");
    assert!(delivered(dir.path()).is_empty());
}

#[test]
fn addresses_without_a_usable_domain_fail_alone() {
    let Some(_serial) = support::ready() else { return };
    let dir = spool("baddomain");
    let _mx2 = Server::start("127.0.1.2", "sink", Some(dir.path()), &["--reject-prefix", "nobody-"]);
    let env =
        mailwright::inject::Envelope::new("a@client.test", ["bob@refused.test", "bob@bad..domain"]).expect("envelope");
    let receipt = mx(Duration::from_secs(5)).send_mx(&env, b"Subject: x\r\n\r\nx\r\n").expect("one accepted");
    assert_eq!(receipt.recipients[0].status, RecipientStatus::Accepted);
    assert_eq!(receipt.recipients[1].status, RecipientStatus::Permanent);
}

#[test]
fn an_answer_lost_after_the_data_is_not_followed_by_the_next_mx() {
    let Some(_serial) = support::ready() else { return };
    let first = spool("lost1");
    let second = spool("lost2");
    let _mx1 = Server::start("127.0.1.18", "lose-reply", Some(first.path()), &["--resets", "1"]);
    let _mx2 = Server::start("127.0.1.19", "sink", Some(second.path()), &[]);
    let (env, raw) = message("a@client.test", &["bob@lost.test"], "lost answer");
    let result = mx(Duration::from_secs(5)).send_mx(&env, &raw);
    let recipients = match &result {
        Ok(receipt) => receipt.recipients.clone(),
        Err(MxError::Undelivered { recipients }) => recipients.clone(),
        Err(e) => panic!("{e}"),
    };
    assert_eq!(recipients[0].status, RecipientStatus::Transient, "{recipients:?}");
    assert!(recipients[0].text.contains("may have been delivered"), "{recipients:?}");
    assert_eq!(delivered(first.path()).len(), 1, "the first host has it");
    assert!(delivered(second.path()).is_empty(), "and the second was not given it too");
}

/// A small SMTP server on `ip:port` that hangs up after every `per_connection` messages, as a
/// server closing an idle connection does: the connections it saw and the subjects it took. It
/// offers PIPELINING on `pipelining`, and defers (450) every recipient named `later@…`. It
/// runs until the test program ends (its address is this test's alone).
fn counting_server(
    (ip, port): (&str, u16),
    per_connection: usize,
    pipelining: bool,
) -> (Arc<AtomicUsize>, Arc<Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind((ip, port)).expect("bind");
    let (connections, subjects) = (Arc::new(AtomicUsize::new(0)), Arc::new(Mutex::new(Vec::new())));
    let (c, s) = (Arc::clone(&connections), Arc::clone(&subjects));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            c.fetch_add(1, Ordering::SeqCst);
            let s = Arc::clone(&s);
            std::thread::spawn(move || {
                let mut out = stream.try_clone().expect("clone");
                let mut lines = BufReader::new(stream);
                let _ = out.write_all(b"220 counting\r\n");
                let (mut taken, mut line, mut accepted) = (0, String::new(), 0);
                while {
                    line.clear();
                    lines.read_line(&mut line).unwrap_or(0) > 0
                } {
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" if pipelining => b"250-counting\r\n250 PIPELINING\r\n",
                        "EHLO" | "HELO" => b"250 counting\r\n",
                        "RCPT" if line.contains("<later@") => b"450 4.2.1 try later\r\n",
                        "MAIL" => {
                            accepted = 0;
                            b"250 ok\r\n"
                        }
                        "RCPT" => {
                            accepted += 1;
                            b"250 ok\r\n"
                        }
                        // As Postfix: no DATA without a recipient.
                        "DATA" if accepted == 0 => b"554 5.5.1 no valid recipients\r\n",
                        "DATA" => {
                            let _ = out.write_all(b"354 go on\r\n");
                            let mut subject = String::new();
                            loop {
                                line.clear();
                                if lines.read_line(&mut line).unwrap_or(0) == 0 || line == ".\r\n" {
                                    break;
                                }
                                if let Some(v) = line.strip_prefix("Subject: ") {
                                    subject = v.trim().to_string();
                                }
                            }
                            s.lock().expect("lock").push(subject);
                            taken += 1;
                            let _ = out.write_all(b"250 taken\r\n");
                            if taken == per_connection {
                                return;
                            }
                            continue;
                        }
                        "QUIT" => {
                            let _ = out.write_all(b"221 bye\r\n");
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    let _ = out.write_all(reply);
                }
            });
        }
    });
    (connections, subjects)
}

#[test]
fn one_connection_carries_many_messages_and_a_closed_one_is_replaced_without_a_duplicate() {
    let Some(_serial) = support::ready() else { return };
    let (connections, subjects) = counting_server(("127.0.1.24", 2525), 3, false);
    let mut t = mx(Duration::from_secs(5));
    for i in 0..7 {
        let (env, raw) = message("a@client.test", &["x@kept.test"], &format!("kept {i}"));
        let r = t.send_mx(&env, &raw).expect("delivered");
        assert_eq!(r.recipients[0].status, RecipientStatus::Accepted, "{r:?}");
    }
    t.close();
    let mut got = subjects.lock().expect("lock").clone();
    got.sort();
    let want: Vec<String> = (0..7).map(|i| format!("test kept {i}")).collect();
    assert_eq!(got, want, "each message once");
    // 3 + 3 + 1: a new connection only when the server had hung up.
    assert_eq!(connections.load(Ordering::SeqCst), 3);
}

#[test]
fn a_batch_is_pipelined_on_one_connection_and_what_it_does_not_settle_goes_the_usual_way() {
    let Some(_serial) = support::ready() else { return };
    let (connections, subjects) = counting_server(("127.0.1.24", 2526), 5, true);
    let mut t = MxTransport::new(mailwright::inject::MxConfig { port: 2526, ..mx_config(Duration::from_secs(5)) })
        .expect("transport");
    let items: Vec<_> = (0..12)
        .map(|i| {
            let to: &[&str] = if i == 3 { &["x@kept.test", "later@kept.test"] } else { &["x@kept.test"] };
            message("a@client.test", to, &format!("batch {i}"))
        })
        .collect();
    let refs: Vec<(mailwright::inject::Envelope, &[u8])> =
        items.iter().map(|(e, r)| (e.clone(), r.as_slice())).collect();
    let results = t.send_many(&refs);
    t.close();
    assert_eq!(results.len(), 12);
    for (i, r) in results.iter().enumerate() {
        let r = r.as_ref().unwrap_or_else(|e| panic!("message {i}: {e}"));
        assert_eq!(r.recipients[0].status, RecipientStatus::Accepted, "message {i}: {r:?}");
        if i == 3 {
            assert_eq!(r.recipients[1].status, RecipientStatus::Transient, "{r:?}");
        }
    }
    let mut got = subjects.lock().expect("lock").clone();
    got.sort();
    let mut want: Vec<String> = (0..12).map(|i| format!("test batch {i}")).collect();
    want.sort();
    assert_eq!(got, want, "each message once, across the server's hang-up after five");
    assert!(connections.load(Ordering::SeqCst) >= 3, "a new connection after each hang-up");
}
