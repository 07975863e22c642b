//! DKIM signing and verification rate: `dkim-rate DIR KEY.pem SELECTOR DOMAIN ROUNDS OUT`.
//! Reads every `DIR/*.eml` into memory, signs them all with the key as `SELECTOR._domainkey.DOMAIN`
//! (relaxed/relaxed, as sent), writes the signed messages into OUT (for the other verifiers),
//! then verifies every signed message with the key answered from memory (no DNS: the figure is
//! CPU). Every signature of a message is checked (some corpus messages carry one more). Each pass is timed ROUNDS times; prints one JSON object with the median seconds.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use mailwright::auth::{DkimKey, DkimSigner, Outcome, Verifier, VerifyConfig};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let [_, dir, key, selector, domain, rounds, out] = &a[..] else {
        eprintln!("usage: dkim-rate DIR KEY.pem SELECTOR DOMAIN ROUNDS OUT");
        std::process::exit(2);
    };
    let rounds: usize = rounds.parse().expect("rounds");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).expect("dir").flatten().map(|e| e.path()).collect();
    files.sort();
    let messages: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).expect("read")).collect();
    let bytes: usize = messages.iter().map(Vec::len).sum();
    let pem = std::fs::read(key).expect("key");
    let record = DkimKey::from_pem(&pem).expect("pem").dns_record();
    let signer = Arc::new(DkimSigner::new(DkimKey::from_pem(&pem).expect("pem"), selector, domain).expect("signer"));

    let mut signed = Vec::new();
    let mut sign_times = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        signed = messages.iter().map(|m| signer.sign(m).expect("sign")).collect();
        sign_times.push(t.elapsed().as_secs_f64());
    }
    std::fs::create_dir_all(out).expect("out");
    for (p, m) in files.iter().zip(&signed) {
        std::fs::write(PathBuf::from(out).join(p.file_name().expect("name")), m).expect("write");
    }

    let verifier = Verifier::new(&VerifyConfig {
        resolvers: vec!["127.0.0.1:9".parse().expect("addr")],
        ..VerifyConfig::default()
    })
    .expect("verifier")
    .with_record(&format!("{selector}._domainkey.{domain}"), &record)
    .expect("record");
    let mut verify_times = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        for m in &signed {
            let sigs = verifier.dkim(m).expect("verify");
            // Ours is the topmost; some corpus messages carry an older signature of their own.
            assert!(sigs.first().is_some_and(|s| s.domain == "bench.test" && s.result == Outcome::Pass), "{sigs:?}");
        }
        verify_times.push(t.elapsed().as_secs_f64());
    }
    let v = serde_json::json!({
        "tool": "mailwright", "messages": messages.len(), "bytes": bytes,
        "sign_s": median(sign_times), "verify_s": median(verify_times), "record": record,
    });
    println!("{v}");
}
