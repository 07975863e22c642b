//! Dissect (parse, write every attachment, hash it): mailwright against a dissector written on
//! bare mail-parser, same bytes, same run. `cargo bench -p mailwright-benches --bench dissect`.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mailwright_benches::{bare_dissect, large, mailwright_dissect, total, typical};

fn bench(c: &mut Criterion) {
    for (name, corpus, samples) in [("typical 2000 x 2-50 KB", typical(), 10), ("large 200 x 1-5 MB", large(), 10)] {
        let mut g = c.benchmark_group(format!("dissect {name}"));
        g.throughput(Throughput::Bytes(total(&corpus)));
        g.sample_size(samples);
        let tmp = |_: ()| tempfile::tempdir().expect("tempdir");
        g.bench_function("mail-parser", |b| {
            b.iter_batched(
                || tmp(()),
                |dir| {
                    for (i, m) in corpus.iter().enumerate() {
                        let d = dir.path().join(i.to_string());
                        let _ = std::fs::create_dir(&d);
                        bare_dissect(m, &d);
                    }
                    dir
                },
                BatchSize::PerIteration,
            )
        });
        g.bench_function("mailwright", |b| {
            b.iter_batched(
                || tmp(()),
                |dir| {
                    for (i, m) in corpus.iter().enumerate() {
                        mailwright_dissect(m, &dir.path().join(i.to_string()));
                    }
                    dir
                },
                BatchSize::PerIteration,
            )
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
