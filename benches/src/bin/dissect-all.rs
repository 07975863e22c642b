//! Dissects every file of a folder in one process: `dissect-all IN OUT`. Prints files, bytes
//! read and seconds, for the comparison with ripmime and munpack.

fn main() -> std::io::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let (Some(input), Some(out)) = (args.next(), args.next()) else {
        eprintln!("usage: dissect-all IN OUT");
        std::process::exit(1);
    };
    let mut files: Vec<_> = std::fs::read_dir(&input)?.flatten().map(|e| e.path()).collect();
    files.sort();
    let start = std::time::Instant::now();
    let mut bytes = 0u64;
    for (i, f) in files.iter().enumerate() {
        let raw = std::fs::read(f)?;
        bytes += raw.len() as u64;
        let msg = mailwright::Message::parse(&raw).map_err(std::io::Error::other)?;
        let dir = std::path::Path::new(&out).join(i.to_string());
        mailwright::dissect(&msg, &mailwright::DissectOptions::new(dir)).map_err(std::io::Error::other)?;
    }
    println!("{} {} {:.3}", files.len(), bytes, start.elapsed().as_secs_f64());
    Ok(())
}
