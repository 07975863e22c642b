//! Parse + decode every part of the generated corpora with mailwright, bare mail-parser and the
//! `mailparse` crate, rounds going round-robin over the three; prints the median MB/s of each
//! (and writes them as JSON with `--json FILE`): `rust-parse [ROUNDS] [--json FILE]`.

use std::time::Instant;

/// Every leaf decoded with `mailparse`: text as a String, the rest as bytes.
fn mailparse_parse(raw: &[u8]) -> usize {
    fn walk(p: &mailparse::ParsedMail<'_>) -> usize {
        if !p.subparts.is_empty() {
            return p.subparts.iter().map(walk).sum();
        }
        if p.ctype.mimetype.starts_with("text/") {
            p.get_body().map(|s| s.len()).unwrap_or(0)
        } else {
            p.get_body_raw().map(|b| b.len()).unwrap_or(0)
        }
    }
    mailparse::parse_mail(raw).map(|m| walk(&m)).unwrap_or(0)
}

type Parser = fn(&[u8]) -> usize;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().position(|a| a == "--json").map(|i| {
        let v = args.get(i + 1).cloned().unwrap_or_default();
        args.drain(i..(i + 2).min(args.len()));
        v
    });
    let rounds: usize = args.first().and_then(|r| r.parse().ok()).unwrap_or(5);
    let parsers: [(&str, Parser); 3] = [
        ("mailwright", mailwright_benches::mailwright_parse),
        ("mail-parser", mailwright_benches::bare_parse),
        ("mailparse", mailparse_parse),
    ];
    let mut out = serde_json::Map::new();
    for (set, corpus) in [("typical", mailwright_benches::typical()), ("large", mailwright_benches::large())] {
        let bytes = mailwright_benches::total(&corpus) as f64;
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); parsers.len()];
        for _ in 0..rounds {
            for (i, (_, f)) in parsers.iter().enumerate() {
                let t = Instant::now();
                std::hint::black_box(corpus.iter().map(|m| f(m)).sum::<usize>());
                times[i].push(t.elapsed().as_secs_f64());
            }
        }
        println!("parse + decode, {set} ({} messages, {:.0} MB), median of {rounds}:", corpus.len(), bytes / 1e6);
        let mut row = serde_json::Map::new();
        for (i, (name, _)) in parsers.iter().enumerate() {
            times[i].sort_by(f64::total_cmp);
            let rate = bytes / times[i][times[i].len() / 2] / 1e6;
            println!("  {name:14} {rate:8.1} MB/s");
            row.insert(name.to_string(), serde_json::json!((rate * 10.0).round() / 10.0));
        }
        out.insert(set.to_string(), serde_json::Value::Object(row));
    }
    if let Some(path) = json {
        std::fs::write(&path, serde_json::Value::Object(out).to_string()).expect("write the JSON file");
    }
}
