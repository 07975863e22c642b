//! Writes the benchmark corpora as files: `gen-corpus DIR` makes DIR/typical/*.eml (2,000),
//! DIR/large/*.eml (200) and DIR/big-50mb.eml (one 50 MB message).

fn main() -> std::io::Result<()> {
    let Some(dir) = std::env::args_os().nth(1).map(std::path::PathBuf::from) else {
        eprintln!("usage: gen-corpus DIR");
        std::process::exit(1);
    };
    for (sub, corpus) in [("typical", mailwright_benches::typical()), ("large", mailwright_benches::large())] {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d)?;
        for (i, m) in corpus.iter().enumerate() {
            std::fs::write(d.join(format!("{i:04}.eml")), m)?;
        }
    }
    let pdf = mailwright::sample::pdf("big", 37_500_000, 50);
    std::fs::write(dir.join("big-50mb.eml"), mailwright::sample::message_with_pdf("big.pdf", &pdf))?;
    Ok(())
}
