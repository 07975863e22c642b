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

const EN_WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "a",
    "in",
    "for",
    "is",
    "on",
    "that",
    "with",
    "as",
    "please",
    "we",
    "you",
    "your",
    "this",
    "will",
    "be",
    "at",
    "meeting",
    "report",
    "attached",
    "review",
    "thanks",
    "team",
    "project",
    "update",
    "schedule",
    "next",
    "week",
    "budget",
    "draft",
    "invoice",
    "order",
    "account",
    "changes",
    "release",
    "customer",
    "support",
    "question",
    "today",
    "tomorrow",
    "Monday",
    "agenda",
    "notes",
    "following",
    "details",
    "confirm",
    "available",
    "call",
    "data",
    "results",
    "server",
    "mailbox",
    "migration",
    "window",
    "backup",
    "restore",
    "café",
    "naïve",
];

fn words(rng: &mut Rng, list: &[&str], n: usize) -> String {
    let mut s = String::with_capacity(n * 7);
    for i in 0..n {
        if i > 0 {
            s.push(if i % 12 == 0 { '\n' } else { ' ' });
        }
        s.push_str(rng.pick(list));
    }
    s
}

fn hex(rng: &mut Rng, n: usize) -> String {
    (0..n).map(|_| char::from(b"0123456789abcdef"[rng.range(0, 16)])).collect()
}

fn b64ish(rng: &mut Rng, n: usize) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    (0..n).map(|_| char::from(A[rng.range(0, 64)])).collect()
}

/// The header fields mail picks up on its way: Received hops, DKIM and ARC signatures,
/// authentication results, list headers. About 2–5 KB, as in mail from today's providers.
fn transport_headers(rng: &mut Rng, i: usize, list: bool) -> Vec<(&'static str, String)> {
    let mut h = vec![
        ("Return-Path", format!("<bounce-{}@mail.example.org>", hex(rng, 12))),
        ("Delivered-To", "bot@example.org".to_string()),
    ];
    let date = "Tue, 14 Nov 2023 22:13:20 +0000";
    for hop in 0..rng.range(2, 6) {
        h.push((
            "Received",
            (format!(
                "from mx{hop}.example.net (mx{hop}.example.net [192.0.2.{}]) by mail{}.example.org (Postfix) with ESMTPS id {} for <bot@example.org>; {date}",
                rng.range(1, 255),
                rng.range(1, 9),
                hex(rng, 10).to_uppercase()
            )),
        ));
    }
    h.push((
        "Authentication-Results",
        (format!(
            "mail.example.org; dkim=pass (2048-bit key; unprotected) header.d=example.org header.i=@example.org header.b={}; spf=pass (mail.example.org: domain of sender{i}@example.org designates 192.0.2.{} as permitted sender) smtp.mailfrom=sender{i}@example.org; dmarc=pass (p=quarantine dis=none) header.from=example.org",
            b64ish(rng, 8),
            rng.range(1, 255)
        )),
    ));
    if rng.range(0, 5) < 2 {
        h.push((
            "ARC-Seal",
            (format!("i=1; a=rsa-sha256; t=1700000000; cv=none; d=example.net; s=arc-2023; b={}", b64ish(rng, 344))),
        ));
        h.push((
            "ARC-Message-Signature",
            (format!(
                "i=1; a=rsa-sha256; c=relaxed/relaxed; d=example.net; s=arc-2023; h=to:subject:message-id:date:from:mime-version:dkim-signature; bh={}; b={}",
                b64ish(rng, 44),
                b64ish(rng, 344)
            )),
        ));
        h.push((
            "ARC-Authentication-Results",
            "i=1; mx.example.net; dkim=pass header.i=@example.org; spf=pass smtp.mailfrom=example.org; dmarc=pass header.from=example.org".to_string(),
        ));
    }
    h.push((
        "DKIM-Signature",
        (format!(
            "v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=s2023; t=1700000000; h=from:to:subject:date:message-id:mime-version:content-type; bh={}; b={}",
            b64ish(rng, 44),
            b64ish(rng, 344)
        )),
    ));
    h.push(("X-Mailer", format!("Mailer {}.{}", rng.range(1, 20), rng.range(0, 10))));
    if list {
        h.push(("List-Id", format!("Project news <news.{}.example.org>", rng.range(1, 50))));
        h.push((
            "List-Unsubscribe",
            format!("<mailto:unsubscribe-{}@example.org>, <https://example.org/u/{}>", hex(rng, 16), hex(rng, 24)),
        ));
        h.push(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click".to_string()));
        h.push(("Precedence", "bulk".to_string()));
    }
    h
}

fn html_of(text: &str) -> String {
    let mut out = String::from(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>p{margin:0 0 12px}</style></head>\n<body style=\"font-family:Arial,sans-serif;font-size:14px;color:#222\">\n<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\"><tr><td style=\"padding:16px\">\n",
    );
    for para in text.split('\n') {
        out.push_str("<p style=\"line-height:1.4\">");
        out.push_str(para);
        out.push_str("</p>\n");
    }
    out.push_str("</td></tr></table></body></html>\n");
    out
}

/// `n` typical messages of 2–50 KB, shaped like today's mail: a few KB of transport headers
/// (Received hops, DKIM, ARC, authentication results, list headers), text and HTML alternatives
/// in mostly-ASCII text (quoted-printable or 7bit) or, for a quarter, in other scripts (base64),
/// Unicode subjects and names, replies with their References, and about half with an attachment
/// (PDF, PNG, CSV) or an inline image.
pub fn typical_corpus(n: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let target = rng.range(2_000, 44_000);
            let list = rng.range(0, 3) == 0;
            let reply = !list && rng.range(0, 2) == 0;
            let transport = transport_headers(&mut rng, i, list);
            let head: usize = transport.iter().map(|(k, v)| k.len() + v.len() + 4).sum::<usize>() + 600;
            let body = target.saturating_sub(head).max(400);
            let vocab = if rng.range(0, 4) == 0 { WORDS } else { EN_WORDS };
            let attachment = rng.range(0, 2) == 1;
            let text_bytes = if attachment { body / 5 } else { body / 4 };
            let mut text = words(&mut rng, vocab, (text_bytes / 7).max(20));
            if reply {
                let quoted = words(&mut rng, vocab, (text_bytes / 21).max(10));
                text.push_str("\n\nOn Tue, 14 Nov 2023, someone wrote:\n");
                for line in quoted.split('\n') {
                    text.push_str("> ");
                    text.push_str(line);
                    text.push('\n');
                }
            }
            let html = html_of(&text);
            let mut b = MessageBuilder::new();
            for (name, value) in transport {
                b = b.header(name, mail_builder::headers::raw::Raw::new(value));
            }
            b = b
                .from((words(&mut rng, vocab, 2).replace('\n', " "), format!("sender{i}@example.org")))
                .to(vec![
                    ("Mail Bot".to_string(), "bot@example.org".to_string()),
                    (words(&mut rng, vocab, 2).replace('\n', " "), format!("r{i}@example.net")),
                ])
                .subject(words(&mut rng, vocab, 6).replace('\n', " "))
                .message_id(format!("m{i}.{seed}@example.org"))
                .date(1_700_000_000i64 + i as i64);
            if rng.range(0, 3) == 0 {
                b = b.cc(vec![(words(&mut rng, vocab, 2).replace('\n', " "), format!("cc{i}@example.com"))]);
            }
            if reply {
                let refs: Vec<String> =
                    (0..rng.range(1, 8)).map(|k| format!("m{}.{k}@example.net", hex(&mut rng, 8))).collect();
                b = b.in_reply_to(refs[refs.len() - 1].clone()).references(refs);
            }
            b = b.text_body(text).html_body(html);
            if attachment {
                let size = body / 4;
                match rng.range(0, 4) {
                    0 => {
                        b = b.attachment(
                            "application/pdf",
                            format!("{}.pdf", words(&mut rng, vocab, 2).replace('\n', " ")),
                            pdf("sample", size, i as u64),
                        )
                    }
                    1 => b = b.attachment("image/png", format!("image {i}.png"), rng.bytes(size)),
                    2 => b = b.inline("image/png", format!("logo{i}@example.org"), rng.bytes(size)),
                    _ => {
                        b = b.attachment("text/csv", "data.csv", words(&mut rng, EN_WORDS, size / 7).replace(' ', ","))
                    }
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
