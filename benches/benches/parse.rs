//! Parse + decode every part: mailwright against bare mail-parser, same bytes, same run.
//! `cargo bench -p mailwright-benches --bench parse` prints throughput for each.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mailwright_benches::{bare_parse, large, mailwright_parse, total, typical};

fn bench(c: &mut Criterion) {
    for (name, corpus, samples) in [("typical 2000 x 2-50 KB", typical(), 20), ("large 200 x 1-5 MB", large(), 10)] {
        let mut g = c.benchmark_group(format!("parse+decode {name}"));
        g.throughput(Throughput::Bytes(total(&corpus)));
        g.sample_size(samples);
        g.bench_function("mail-parser", |b| b.iter(|| corpus.iter().map(|m| bare_parse(m)).sum::<usize>()));
        g.bench_function("mailwright", |b| b.iter(|| corpus.iter().map(|m| mailwright_parse(m)).sum::<usize>()));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
