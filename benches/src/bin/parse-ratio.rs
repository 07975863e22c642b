//! Quick same-process comparison of parse + decode throughput, alternating mailwright and bare
//! mail-parser over the same corpus: `parse-ratio [typical|large] [ROUNDS]`. Prints the median
//! MB/s of each and their ratio.

use std::time::Instant;

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "typical".into());
    let rounds: usize = std::env::args().nth(2).and_then(|r| r.parse().ok()).unwrap_or(7);
    let corpus = if which == "large" { mailwright_benches::large() } else { mailwright_benches::typical() };
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
