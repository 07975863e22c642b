//! Sample data made by code: a real PDF, messages that carry it, and deterministic corpora of
//! typical and large messages, for `mailwright demo`, tests and benchmarks.

use mail_builder::MessageBuilder;

/// A small deterministic pseudo-random generator (xorshift64*), so samples are reproducible.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        if hi <= lo { lo } else { lo + (self.next_u64() % (hi - lo) as u64) as usize }
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        v.truncate(n);
        v
    }

    /// Picks one item.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.range(0, items.len())]
    }
}

fn pdf_escape(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control())
        .flat_map(|c| if matches!(c, '(' | ')' | '\\') { vec!['\\', c] } else { vec![c] })
        .collect()
}

/// A valid one-page PDF showing `text`, padded with an embedded binary stream of `padding` random
/// bytes (from `seed`) so it can be made any size.
pub fn pdf(text: &str, padding: usize, seed: u64) -> Vec<u8> {
    let content = format!("BT /F1 24 Tf 72 720 Td ({}) Tj ET", pdf_escape(text));
    let pad = Rng::new(seed).bytes(padding);
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    let objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_vec(),
        [format!("<< /Length {} >>\nstream\n", content.len()).as_bytes(), content.as_bytes(), b"\nendstream"].concat(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
        [format!("<< /Length {} >>\nstream\n", pad.len()).as_bytes(), &pad[..], b"\nendstream"].concat(),
    ];
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    out
}

/// The classic case: a message from Jane to the bot with `pdf_bytes` attached as `name`.
pub fn message_with_pdf(name: &str, pdf_bytes: &[u8]) -> Vec<u8> {
    MessageBuilder::new()
        .from(("Jane Doe", "jane@example.org"))
        .to(("Mail Bot", "bot@example.org"))
        .subject("Quarterly report")
        .message_id("demo.1@example.org")
        .date(1_457_631_000i64)
        .text_body("Please print the attached report.\r\n")
        .attachment("application/pdf", name.to_string(), pdf_bytes.to_vec())
        .write_to_vec()
        .unwrap_or_default()
}

const WORDS: &[&str] = &[
    "report",
    "meeting",
    "budget",
    "Résumé",
    "schedule",
    "invoice",
    "naïve",
    "Grüße",
    "東京",
    "привет",
    "update",
    "draft",
    "the",
    "and",
    "for",
    "with",
    "please",
    "review",
    "attached",
    "thanks",
    "café",
    "señor",
    "plan",
    "data",
    "😀",
];

fn sentence(rng: &mut Rng, words: usize) -> String {
    let mut s = String::new();
    for i in 0..words {
        if i > 0 {
            s.push(if i % 12 == 0 { '\n' } else { ' ' });
        }
        let w = rng.pick(WORDS);
        s.push_str(w);
    }
    s
}

/// `n` typical messages of 2–50 KB: text and HTML alternatives, Unicode subjects and names, and
/// about half with one or two small attachments.
pub fn typical_corpus(n: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let target = rng.range(2_000, 50_000);
            let words = (target / 14).max(20);
            let with_attachment = rng.range(0, 2) == 1;
            let text_words = if with_attachment { words / 3 } else { words / 2 };
            let text = sentence(&mut rng, text_words);
            let html = format!(
                "<html><body><p>{}</p></body></html>",
                sentence(&mut rng, text_words).replace('\n', "</p>\n<p>")
            );
            let mut b = MessageBuilder::new()
                .from((sentence(&mut rng, 2), format!("sender{i}@example.org")))
                .to(vec![
                    ("Bot".to_string(), "bot@example.org".to_string()),
                    (sentence(&mut rng, 2), format!("r{i}@example.net")),
                ])
                .subject(sentence(&mut rng, 6).replace('\n', " "))
                .message_id(format!("m{i}.{seed}@example.org"))
                .date(1_700_000_000i64 + i as i64)
                .text_body(text)
                .html_body(html);
            if with_attachment {
                let size = target / 3;
                match rng.range(0, 3) {
                    0 => {
                        b = b.attachment(
                            "application/pdf",
                            format!("{}.pdf", sentence(&mut rng, 2)),
                            pdf("sample", size, i as u64),
                        )
                    }
                    1 => b = b.attachment("image/png", format!("image {i}.png"), rng.bytes(size)),
                    _ => b = b.attachment("text/csv", "data.csv", sentence(&mut rng, size / 7).replace(' ', ",")),
                }
            }
            b.write_to_vec().unwrap_or_default()
        })
        .collect()
}

/// `n` messages, each with one attachment of 1–5 MB (PDF or binary).
pub fn large_corpus(n: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let size = rng.range(1_000_000, 5_000_000);
            let (ctype, name, data) = if i % 2 == 0 {
                ("application/pdf", format!("scan {i}.pdf"), pdf("large", size, i as u64))
            } else {
                ("application/octet-stream", format!("archive-{i}.bin"), rng.bytes(size))
            };
            MessageBuilder::new()
                .from(("Scanner", "scanner@example.org"))
                .to("bot@example.org")
                .subject(format!("Scan {i}"))
                .message_id(format!("large{i}.{seed}@example.org"))
                .date(1_700_000_000i64 + i as i64)
                .text_body("Scanned document attached.\r\n")
                .attachment(ctype, name, data)
                .write_to_vec()
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_is_well_formed() {
        let p = pdf("hello (world)", 1000, 1);
        assert!(p.starts_with(b"%PDF-1.4"));
        assert!(p.ends_with(b"%%EOF\n"));
        let text = String::from_utf8_lossy(&p);
        let xref: usize = text
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .and_then(|n| n.parse().ok())
            .expect("startxref");
        assert!(p[xref..].starts_with(b"xref"));
        assert_eq!(pdf("x", 10, 7), pdf("x", 10, 7));
    }
}
