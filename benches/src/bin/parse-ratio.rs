//! Quick same-process comparison of parse + decode throughput, alternating mailwright and bare
//! mail-parser over the same corpus: `parse-ratio [typical|large|DIR] [ROUNDS]`, where DIR is a
//! folder whose files of 2–50 KB (searched recursively) are the corpus. Prints the median MB/s of
//! each and their ratio.

use std::time::Instant;

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "typical".into());
    let rounds: usize = std::env::args().nth(2).and_then(|r| r.parse().ok()).unwrap_or(7);
    let corpus = match which.as_str() {
        "large" => mailwright_benches::large(),
        "typical" => mailwright_benches::typical(),
        dir => {
            let mut files = Vec::new();
            collect(std::path::Path::new(dir), &mut files);
            files.sort();
            files
                .into_iter()
                .filter_map(|f| std::fs::read(f).ok())
                .filter(|b| (2_000..50_000).contains(&b.len()))
                .collect()
        }
    };
    assert!(!corpus.is_empty(), "no messages in {which}");
    let bytes = mailwright_benches::total(&corpus) as f64;
    let mut bare = Vec::new();
    let mut ours = Vec::new();
    // Alternate which goes first, so neither always runs on the other's warm caches.
    for round in 0..rounds {
        for k in 0..2 {
            let t = Instant::now();
            if (round + k) % 2 == 0 {
                std::hint::black_box(corpus.iter().map(|m| mailwright_benches::bare_parse(m)).sum::<usize>());
                bare.push(bytes / t.elapsed().as_secs_f64() / 1e6);
            } else {
                std::hint::black_box(corpus.iter().map(|m| mailwright_benches::mailwright_parse(m)).sum::<usize>());
                ours.push(bytes / t.elapsed().as_secs_f64() / 1e6);
            }
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (b, o) = (median(&mut bare), median(&mut ours));
    println!("{which}: {} bytes; mail-parser {b:.1} MB/s, mailwright {o:.1} MB/s, ratio {:.3}", bytes as u64, o / b);
}

fn collect(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_none_or(|x| x != "md") {
            out.push(p);
        }
    }
}
