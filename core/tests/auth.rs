//! Sender authentication: messages signed here and checked here, with the DNS records given to
//! the verifier (no name server needed); lookups that are not given go to a name server that is
//! not there, so they end as `temperror` — which one test checks on purpose.

use std::time::Duration;

use mailwright::auth::{AuthReport, Client, DkimKey, DkimSigner, Outcome, Verifier, VerifyConfig};
use mailwright::build::MessageBuilder;

const SELECTOR: &str = "s1";
const DOMAIN: &str = "example.org";

/// A verifier whose DNS is a port nothing answers on, with a short wait.
fn bare_verifier() -> Verifier {
    let config = VerifyConfig {
        resolvers: vec!["127.0.0.1:9".parse().expect("addr")],
        dns_timeout: Duration::from_millis(200),
        ..VerifyConfig::default()
    };
    Verifier::new(&config).expect("verifier")
}

/// The same, knowing that the top-level domain has no DMARC record (DMARC's tree walk asks
/// `_dmarc.org` after `_dmarc.example.org`).
fn verifier() -> Verifier {
    bare_verifier().with_no_record("_dmarc.org")
}

fn key() -> (DkimKey, String) {
    let pem = mailwright::auth::generate_ed25519().expect("key");
    let key = DkimKey::from_pem(pem.as_bytes()).expect("pem");
    let record = key.dns_record();
    (key, record)
}

fn message(from: &str, subject: &str) -> Vec<u8> {
    MessageBuilder::new()
        .from(from)
        .to("bot@example.net")
        .subject(subject)
        .text("Please print the attached file.\r\n")
        .attach_bytes("a.pdf", b"%PDF-1.4 sample".to_vec())
        .build()
        .expect("build")
}

/// A signed message and a verifier that knows the key and that `example.org` has `dmarc`
/// (a DMARC record) or no DMARC record.
fn signed(dmarc: Option<&str>) -> (Vec<u8>, Verifier) {
    let (key, record) = key();
    let signer = DkimSigner::new(key, SELECTOR, DOMAIN).expect("signer");
    let raw = signer.sign(&message("Boss <boss@example.org>", "invoice")).expect("sign");
    let v = verifier().with_record(&format!("{SELECTOR}._domainkey.{DOMAIN}"), &record).expect("record");
    let v = match dmarc {
        Some(r) => v.with_record(&format!("_dmarc.{DOMAIN}"), r).expect("dmarc"),
        None => v.with_no_record(&format!("_dmarc.{DOMAIN}")),
    };
    (raw, v)
}

fn results(r: &AuthReport) -> Vec<Outcome> {
    r.dkim.iter().map(|s| s.result).collect()
}

#[test]
fn a_signed_message_authenticates_its_from_domain() {
    for dmarc in [None, Some("v=DMARC1; p=reject")] {
        let (raw, v) = signed(dmarc);
        let r = v.verify(&raw, None).expect("verify");
        assert_eq!(results(&r), [Outcome::Pass], "{r:#?}");
        let sig = &r.dkim[0];
        assert_eq!((sig.domain.as_str(), sig.selector.as_str(), sig.algorithm), (DOMAIN, SELECTOR, "ed25519-sha256"));
        assert!(!sig.weak);
        assert_eq!(r.authenticated_domain(), Some(DOMAIN), "{r:#?}");
        match dmarc {
            Some(_) => {
                assert_eq!(
                    (r.dmarc.result, r.dmarc.policy, r.dmarc.aligned),
                    (Outcome::Pass, Some("reject"), Some("dkim"))
                )
            }
            None => assert_eq!((r.dmarc.result, r.dmarc.policy), (Outcome::None, None), "{r:#?}"),
        }
        assert_eq!(r.arc.result, Outcome::None);
    }
}

#[test]
fn the_signature_covers_from_subject_and_date_once_more_than_they_occur() {
    let (raw, _) = signed(None);
    let text = String::from_utf8_lossy(&raw);
    let sig = text.split("\r\n\r\n").next().unwrap_or_default().replace("\r\n", "").replace([' ', '\t'], "");
    let h = sig.split("h=").nth(1).and_then(|t| t.split(';').next()).unwrap_or_default().to_ascii_lowercase();
    let names: Vec<&str> = h.split(':').collect();
    for oversigned in ["from", "subject", "date"] {
        assert_eq!(names.iter().filter(|n| **n == oversigned).count(), 2, "{h}");
    }
    assert!(sig.contains("c=relaxed/relaxed"), "{sig}");
}

#[test]
fn tampering_breaks_it() {
    let (raw, v) = signed(Some("v=DMARC1; p=quarantine"));
    let text = String::from_utf8(raw).expect("utf-8");
    // The body changed.
    let body = text.replace("Please print", "Please wire money for");
    // A second From added above the signed one (a reader may show either).
    let added = format!("From: Mallory <boss@example.org>\r\n{text}");
    // The Subject replaced.
    let subject = text.replacen("Subject: invoice", "Subject: urgent", 1);
    for (what, raw) in [("body", body), ("added From", added), ("subject", subject)] {
        let r = v.verify(raw.as_bytes(), None).expect("verify");
        assert_ne!(results(&r), [Outcome::Pass], "{what}: {r:#?}");
        assert_eq!(r.authenticated_domain(), None, "{what}: {r:#?}");
    }
}

#[test]
fn more_than_one_from_address_authenticates_nothing() {
    let (key, record) = key();
    let signer = DkimSigner::new(key, SELECTOR, DOMAIN).expect("signer");
    let raw = signer
        .sign(b"From: boss@example.org, other@example.net\r\nSubject: x\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n\r\nhi\r\n")
        .expect("sign");
    let v = verifier().with_record(&format!("{SELECTOR}._domainkey.{DOMAIN}"), &record).expect("record");
    let r = v.verify(&raw, None).expect("verify");
    assert_eq!(r.from_domain, None);
    assert_eq!(r.dmarc.result, Outcome::PermError, "{r:#?}");
    assert_eq!(r.authenticated_domain(), None);
}

#[test]
fn a_wrong_or_missing_key_and_an_unreachable_resolver() {
    let (raw, _) = signed(None);
    let (_, other) = key();
    let name = format!("{SELECTOR}._domainkey.{DOMAIN}");
    let dmarc = format!("_dmarc.{DOMAIN}");
    let wrong = verifier().with_record(&name, &other).expect("record").with_no_record(&dmarc);
    let r = wrong.verify(&raw, None).expect("verify");
    assert_eq!(results(&r), [Outcome::Fail], "{r:#?}");
    assert_eq!(r.authenticated_domain(), None);

    let missing = verifier().with_no_record(&name).with_no_record(&dmarc);
    let r = missing.verify(&raw, None).expect("verify");
    assert_eq!(results(&r), [Outcome::PermError], "{r:#?}");

    // Nothing given: the name server does not answer, which is "try later", never "fail".
    let r = bare_verifier().verify(&raw, None).expect("verify");
    assert_eq!(results(&r), [Outcome::TempError], "{r:#?}");
    assert!(r.is_temporary());
    assert_eq!(r.authenticated_domain(), None);
}

#[test]
fn a_forged_from_without_a_signature_is_not_authenticated() {
    let v = verifier().with_record(&format!("_dmarc.{DOMAIN}"), "v=DMARC1; p=reject").expect("dmarc");
    let r = v.verify(&message("Boss <boss@example.org>", "invoice"), None).expect("verify");
    assert!(r.dkim.is_empty());
    assert_eq!((r.dmarc.result, r.dmarc.policy), (Outcome::Fail, Some("reject")), "{r:#?}");
    assert_eq!(r.authenticated_domain(), None);
}

#[test]
fn spf_for_the_client_and_its_alignment() {
    let raw = message("Boss <boss@example.org>", "invoice");
    let v = verifier()
        .with_record(DOMAIN, "v=spf1 ip4:127.0.0.0/8 -all")
        .map(|v| v.with_no_record(&format!("_dmarc.{DOMAIN}")))
        .expect("records");
    let client = |ip: &str, from: &str| Client {
        ip: ip.parse().expect("ip"),
        helo: "mail.example.org".into(),
        mail_from: from.into(),
    };
    let r = v.verify(&raw, Some(&client("127.0.0.5", "bounces@example.org"))).expect("verify");
    let spf = r.spf.as_ref().expect("spf");
    assert_eq!((spf.result, spf.domain.as_str()), (Outcome::Pass, DOMAIN), "{r:#?}");
    assert_eq!(r.authenticated_domain(), Some(DOMAIN));
    let r = v.verify(&raw, Some(&client("192.0.2.1", "bounces@example.org"))).expect("verify");
    assert_eq!(r.spf.as_ref().map(|s| s.result), Some(Outcome::Fail));
    assert_eq!(r.authenticated_domain(), None);
}

#[test]
fn spf_for_the_client_the_trusted_mta_recorded() {
    let body = message("Boss <boss@example.org>", "invoice");
    let v = verifier()
        .with_record(DOMAIN, "v=spf1 ip4:127.0.0.0/8 -all")
        .map(|v| v.with_no_record(&format!("_dmarc.{DOMAIN}")))
        .expect("records");
    // What the MTA wrote on top, and a forged field the sender wrote below it.
    let delivered = |client: &str| {
        let mut raw = format!(
            "Return-Path: <bounces@example.org>\r\n\
             Received: from mail.example.org (mail.example.org [{client}])\r\n\
             \tby mx.example.net (Postfix) with ESMTP id 1; Wed, 2 Dec 2026 10:00:00 +0000\r\n\
             Received: from x (x [127.0.0.1]) by mx.example.net (Postfix); Wed, 2 Dec 2026 09:00:00 +0000\r\n"
        )
        .into_bytes();
        raw.extend_from_slice(&body);
        raw
    };
    let good = delivered("127.0.0.7");
    let c = mailwright::auth::client_from_received(&good, "mx.example.net").expect("client");
    let r = v.verify(&good, Some(&c)).expect("verify");
    assert_eq!(r.spf.as_ref().map(|s| s.result), Some(Outcome::Pass), "{r:#?}");
    assert_eq!(r.authenticated_domain(), Some(DOMAIN));
    // The forged 127.0.0.1 below does not help a client outside the record.
    let bad = delivered("192.0.2.1");
    let c = mailwright::auth::client_from_received(&bad, "mx.example.net").expect("client");
    assert_eq!(c.ip.to_string(), "192.0.2.1");
    let r = v.verify(&bad, Some(&c)).expect("verify");
    assert_eq!(r.spf.as_ref().map(|s| s.result), Some(Outcome::Fail));
    assert_eq!(r.authenticated_domain(), None);
}

#[test]
fn bad_input_and_bad_keys_are_errors_not_verdicts() {
    assert!(bare_verifier().verify(b"", None).is_err());
    assert!(DkimKey::from_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").is_err());
    assert!(DkimKey::from_pem(b"not a key").is_err());
    let (key, _) = key();
    for (sel, dom) in [("", DOMAIN), ("s1", "localhost"), ("s 1", DOMAIN), ("s1", "a..b"), ("s1", "x.org; h=")] {
        assert!(
            DkimSigner::new(
                DkimKey::from_pem(mailwright::auth::generate_ed25519().expect("k").as_bytes()).expect("k"),
                sel,
                dom
            )
            .is_err(),
            "{sel:?} {dom:?}"
        );
    }
    drop(key);
    assert!(bare_verifier().with_record("x._domainkey.example.org", "v=DKIM1; p=!!!").is_err());
}

/// `l=` signs only the first bytes of the body: text added after them would pass the signature.
/// Such a signature is neutral (mail-auth refuses `l=` whatever the length covers) and
/// authenticates nothing, with or without a DMARC record.
#[test]
fn a_body_length_limit_is_reported_and_does_not_authenticate() {
    use mail_auth::common::crypto::Ed25519Key;
    use mail_auth::common::headers::HeaderWriter;
    use mail_auth::dkim::DkimSigner as Signer;
    let der = Ed25519Key::generate_pkcs8().expect("key");
    let key = Ed25519Key::from_pkcs8_der(&der).expect("key");
    let record = {
        use base64::Engine as _;
        format!("v=DKIM1; k=ed25519; p={}", base64::engine::general_purpose::STANDARD.encode(key.public_key()))
    };
    let raw = message("Boss <boss@example.org>", "invoice");
    let sig = Signer::from_key(key)
        .domain(DOMAIN)
        .selector(SELECTOR)
        .headers(["From", "Subject", "Date"])
        .body_length(true)
        .sign(&raw)
        .expect("sign");
    let mut forged = sig.to_header().into_bytes();
    forged.extend_from_slice(&raw);
    forged.extend_from_slice(b"\r\nP.S. Also pay invoice 666 today.\r\n");
    for dmarc in [None, Some("v=DMARC1; p=reject")] {
        let v = verifier().with_record(&format!("{SELECTOR}._domainkey.{DOMAIN}"), &record).expect("record");
        let v = match dmarc {
            Some(r) => v.with_record(&format!("_dmarc.{DOMAIN}"), r).expect("dmarc"),
            None => v.with_no_record(&format!("_dmarc.{DOMAIN}")),
        };
        let r = v.verify(&forged, None).expect("verify");
        assert_eq!(results(&r), [Outcome::Neutral], "{r:#?}");
        assert!(r.dkim[0].reason.as_deref().is_some_and(|why| why.contains("l=")), "{r:#?}");
        let d = &r.dkim[0];
        assert!(d.weak && d.body_length.is_some() && d.domain == DOMAIN && d.selector == SELECTOR, "{r:#?}");
        assert_eq!(r.authenticated_domain(), None, "{r:#?}");
        let exact = [sig.to_header().as_bytes(), &raw[..]].concat();
        let r = v.verify(&exact, None).expect("verify");
        assert_eq!(results(&r), [Outcome::Neutral], "{r:#?}");
        assert_eq!(r.authenticated_domain(), None, "{r:#?}");
    }
}

#[test]
fn the_builder_signs_what_it_builds() {
    let (key, record) = key();
    let signer = std::sync::Arc::new(DkimSigner::new(key, SELECTOR, DOMAIN).expect("signer"));
    let raw = MessageBuilder::new()
        .from("Boss <boss@example.org>")
        .to("bot@example.net")
        .subject("Résumé attached")
        .text("Bitte drucken.\r\n")
        .attach_bytes("Résumé.pdf", b"%PDF-1.4 sample".to_vec())
        .dkim(signer)
        .build()
        .expect("build");
    assert!(raw.starts_with(b"DKIM-Signature:"));
    let v = verifier()
        .with_record(&format!("{SELECTOR}._domainkey.{DOMAIN}"), &record)
        .and_then(|v| v.with_record(&format!("_dmarc.{DOMAIN}"), "v=DMARC1; p=reject"))
        .expect("records");
    let r = v.verify(&raw, None).expect("verify");
    assert_eq!((results(&r), r.authenticated_domain()), (vec![Outcome::Pass], Some(DOMAIN)), "{r:#?}");
    // The signed message still reads as the message built.
    let msg = mailwright::Message::parse(&raw).expect("parse");
    assert_eq!(msg.subject(), Some("Résumé attached"));
    assert_eq!(msg.attachments().count(), 1);
}

/// The record printed for an RSA key is the one openssl makes (SubjectPublicKeyInfo), which the
/// test DNS serves: the key of `scripts/mail-servers`.
#[test]
fn the_rsa_record_is_the_subject_public_key_info_openssl_writes() {
    let dir = std::path::PathBuf::from(
        std::env::var("MAILWRIGHT_TEST_DKIM").unwrap_or_else(|_| "/etc/mailwright-test/dkim".into()),
    );
    let (Ok(pem), Ok(txt)) = (std::fs::read(dir.join("rsa.pem")), std::fs::read_to_string(dir.join("rsa.txt"))) else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "no DKIM keys in {}; CI must not skip", dir.display());
        eprintln!("SKIPPED: no DKIM keys in {} (run `scripts/mail-servers start` as root)", dir.display());
        return;
    };
    let published: String = txt.split('"').skip(1).step_by(2).collect();
    let key = DkimKey::from_pem(&pem).expect("pem");
    assert_eq!(key.dns_record(), published);
    assert!(key.dns_record().contains("p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A"), "{}", key.dns_record());
}
