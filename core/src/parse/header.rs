//! Header field text: unfolding (RFC 5322 §2.2.3), encoded words (RFC 2047) and MIME parameters
//! (RFC 2045 §5.1 with RFC 2231 continuations and charsets).
//!
//! mail-parser decodes these piece by piece, which loses characters split across two encoded words
//! or two RFC 2231 segments, drops parameters that start on a folded line and reads backslashes in
//! quoted Windows paths as escapes. Here the raw pieces are joined first and decoded once.

use std::borrow::Cow;
use std::collections::HashMap;

use base64::Engine as _;

use super::charset;

/// Removes folding: every CRLF or LF followed by a space or tab goes; a trailing line break too.
pub fn unfold(raw: &[u8]) -> Cow<'_, [u8]> {
    let mut end = raw.len();
    while end > 0 && matches!(raw[end - 1], b'\r' | b'\n') {
        end -= 1;
    }
    let raw = &raw[..end];
    if memchr::memchr2(b'\r', b'\n', raw).is_none() {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    for &b in raw {
        if b != b'\r' && b != b'\n' {
            out.push(b);
        }
    }
    Cow::Owned(out)
}

/// One encoded word found in a header: `=?charset?enc?payload?=`.
struct EncodedWord<'a> {
    charset: &'a str,
    bytes: Vec<u8>,
    len: usize,
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Parses an encoded word at the start of `s`, if there is one.
fn encoded_word(s: &[u8]) -> Option<EncodedWord<'_>> {
    let rest = s.strip_prefix(b"=?")?;
    let q1 = rest.iter().position(|&b| b == b'?')?;
    let charset = std::str::from_utf8(&rest[..q1]).ok()?;
    // RFC 2231 §5: charset*language
    let charset = charset.split('*').next().unwrap_or(charset);
    if charset.is_empty() || charset.len() > 40 || charset.bytes().any(|b| b <= b' ') {
        return None;
    }
    let enc = *rest.get(q1 + 1)?;
    if rest.get(q1 + 2) != Some(&b'?') {
        return None;
    }
    let payload_start = q1 + 3;
    let end = find_pair(&rest[payload_start..], *b"?=")?;
    let payload = &rest[payload_start..payload_start + end];
    if payload.iter().any(|&b| b == b' ' || b == b'\t') && !enc.eq_ignore_ascii_case(&b'q') {
        return None;
    }
    let bytes = match enc {
        b'B' | b'b' => super::decode::base64(payload, None).0,
        b'Q' | b'q' => {
            let mut out = Vec::with_capacity(payload.len());
            let mut i = 0;
            while i < payload.len() {
                match payload[i] {
                    b'_' => out.push(b' '),
                    b'=' => {
                        match (payload.get(i + 1).and_then(|&b| hex(b)), payload.get(i + 2).and_then(|&b| hex(b))) {
                            (Some(h), Some(l)) => {
                                out.push(h << 4 | l);
                                i += 2;
                            }
                            _ => out.push(b'='),
                        }
                    }
                    b => out.push(b),
                }
                i += 1;
            }
            out
        }
        _ => return None,
    };
    Some(EncodedWord { charset, bytes, len: 2 + payload_start + end + 2 })
}

/// A piece of a header value: text outside encoded words, or a run of adjacent encoded words
/// decoded together.
enum Segment<'a> {
    Plain(&'a [u8]),
    Words(String),
}

/// Splits `raw` into plain text and runs of encoded words. Adjacent words of one charset are
/// joined before charset decoding, so a character split across two words survives; white space
/// between encoded words is dropped (RFC 2047 §6.2).
fn segments(raw: &[u8]) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut plain_start = 0;
    let mut i = 0;
    let mut run: Option<(&str, Vec<Vec<u8>>)> = None;
    fn flush<'a>(run: &mut Option<(&str, Vec<Vec<u8>>)>, out: &mut Vec<Segment<'a>>) {
        if let Some((cs, words)) = run.take() {
            out.push(Segment::Words(decode_run(cs, &words)));
        }
    }
    while i < raw.len() {
        if raw[i] == b'='
            && raw.get(i + 1) == Some(&b'?')
            && let Some(word) = encoded_word(&raw[i..])
        {
            let between = &raw[plain_start..i];
            let only_space = between.iter().all(|b| b.is_ascii_whitespace());
            match &mut run {
                Some((cs, words)) if only_space && cs.eq_ignore_ascii_case(word.charset) => {
                    words.push(word.bytes);
                }
                _ => {
                    let had_run = run.is_some();
                    flush(&mut run, &mut out);
                    if !(between.is_empty() || had_run && only_space) {
                        out.push(Segment::Plain(between));
                    }
                    run = Some((word.charset, vec![word.bytes]));
                }
            }
            i += word.len;
            plain_start = i;
            continue;
        }
        i += 1;
    }
    flush(&mut run, &mut out);
    if plain_start < raw.len() {
        out.push(Segment::Plain(&raw[plain_start..]));
    }
    out
}

/// Decodes a run of adjacent encoded words of one charset: joined (so a character split across
/// words survives) unless decoding them one by one replaces fewer characters (stateful charsets
/// such as ISO-2022-JP end each word with an escape, and joining would put two escapes together).
fn decode_run(charset_name: &str, words: &[Vec<u8>]) -> String {
    let joined = charset::decode(&words.concat(), Some(charset_name)).text.into_owned();
    if words.len() == 1 || !joined.contains('\u{fffd}') {
        return joined;
    }
    let separate: String = words.iter().map(|w| charset::decode(w, Some(charset_name)).text).collect();
    let bad = |s: &str| s.matches('\u{fffd}').count();
    if bad(&separate) < bad(&joined) { separate } else { joined }
}

/// Whether `raw` may hold an RFC 2047 encoded word (has `=?`).
pub(crate) fn has_encoded_word(raw: &[u8]) -> bool {
    find_pair(raw, *b"=?").is_some()
}

/// Where `pair` first occurs in `hay`. For the short values of header fields, memchr on its first
/// byte is cheaper than building a substring searcher for each.
fn find_pair(hay: &[u8], pair: [u8; 2]) -> Option<usize> {
    memchr::memchr_iter(pair[0], hay).find(|&i| hay.get(i + 1) == Some(&pair[1]))
}

/// Decodes RFC 2047 encoded words anywhere in `raw` (also inside quotes, as real mailers write
/// them): adjacent words of one charset are joined before charset decoding. Text outside encoded words is UTF-8, or Windows-1252 where not valid
/// UTF-8.
pub fn decode_words(raw: &[u8]) -> String {
    if !has_encoded_word(raw) {
        return charset::decode_undeclared(raw).into_owned();
    }
    let mut out = String::with_capacity(raw.len());
    for seg in segments(raw) {
        match seg {
            Segment::Plain(p) => out.push_str(&charset::decode_undeclared(p)),
            Segment::Words(w) => out.push_str(&w),
        }
    }
    out
}

/// `decode_words` for bytes that are no longer needed: plain UTF-8 becomes the string as is.
fn decode_words_owned(raw: Vec<u8>) -> String {
    if has_encoded_word(&raw) {
        return decode_words(&raw);
    }
    String::from_utf8(raw).unwrap_or_else(|e| charset::decode_undeclared(e.as_bytes()).into_owned())
}

/// Rewrites `raw` so that each run of adjacent encoded words becomes one UTF-8 encoded word,
/// for parsers (mail-parser's address grammar) that decode word by word.
pub(crate) fn merge_words(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    for seg in segments(raw) {
        match seg {
            Segment::Plain(p) => out.extend_from_slice(p),
            Segment::Words(w) => {
                out.extend_from_slice(b"=?utf-8?b?");
                out.extend_from_slice(base64::engine::general_purpose::STANDARD.encode(w.as_bytes()).as_bytes());
                out.extend_from_slice(b"?=");
            }
        }
    }
    out
}

/// A MIME header value with parameters (Content-Type, Content-Disposition).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MimeValue {
    /// The value before the first `;`, lowercased and trimmed (`text/plain`, `attachment`).
    pub value: String,
    /// Parameters in order of first appearance: lowercased name, decoded value. RFC 2231
    /// continuations are joined under the bare name (`filename*0*` … become `filename`).
    pub params: Vec<(String, String)>,
}

impl MimeValue {
    /// The value of parameter `name` (case-insensitive), if present.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One raw parameter: its name (lowercased, without `*N*` suffix), segment number, whether it is
/// RFC 2231 extended (percent-encoded), and its raw value.
struct RawParam {
    name: String,
    section: Option<u32>,
    extended: bool,
    value: Vec<u8>,
}

/// Parses `value; name=value; name*0*=charset'lang'pct…` (raw header bytes, folded or not).
pub fn parse_mime_value(raw: &[u8]) -> MimeValue {
    let raw = unfold(raw);
    let raw: &[u8] = &raw;
    let mut i = 0;
    let semi = memchr::memchr(b';', raw).unwrap_or(raw.len());
    let value = String::from_utf8_lossy(strip_comments(&raw[..semi]).trim_ascii()).to_ascii_lowercase();
    i += semi;
    let mut raws: Vec<RawParam> = Vec::new();
    while i < raw.len() {
        // at ';' or garbage; skip separators
        while i < raw.len() && (raw[i] == b';' || raw[i].is_ascii_whitespace()) {
            i += 1;
        }
        if i >= raw.len() {
            break;
        }
        let name_start = i;
        while i < raw.len() && raw[i] != b'=' && raw[i] != b';' {
            i += 1;
        }
        let name = raw[name_start..i].trim_ascii();
        if i >= raw.len() || raw[i] == b';' {
            continue; // a name without a value
        }
        i += 1; // '='
        while i < raw.len() && (raw[i] == b' ' || raw[i] == b'\t') {
            i += 1;
        }
        let mut val = Vec::new();
        if raw.get(i) == Some(&b'"') {
            i += 1;
            while i < raw.len() && raw[i] != b'"' {
                // A backslash escapes only a quote or a backslash: real mailers put Windows paths
                // in quotes unescaped (`"C:\Users\x.pdf"`). An escaped quote with no quote after
                // it is taken as the closing quote of a path ending in a backslash.
                if raw[i] == b'\\' {
                    let next = raw.get(i + 1).copied();
                    let quote_follows = next == Some(b'"') && raw[i + 2..].contains(&b'"');
                    if quote_follows || next == Some(b'\\') {
                        val.push(next.unwrap_or(b'\\'));
                        i += 2;
                        continue;
                    }
                }
                val.push(raw[i]);
                i += 1;
            }
            i += 1; // closing quote (or end)
            while i < raw.len() && raw[i] != b';' {
                i += 1;
            }
        } else {
            let start = i;
            while i < raw.len() && raw[i] != b';' {
                i += 1;
            }
            val.extend_from_slice(raw[start..i].trim_ascii());
        }
        if name.is_empty() {
            continue;
        }
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        let (base, section, extended) = split_param_name(name);
        raws.push(RawParam { name: base, section, extended, value: val });
    }
    MimeValue { value, params: join_params(raws) }
}

/// `filename*1*` → ("filename", Some(1), true); `filename*` → ("filename", None, true).
fn split_param_name(mut name: String) -> (String, Option<u32>, bool) {
    let extended = name.ends_with('*');
    if extended {
        name.pop();
    }
    let mut section = None;
    if let Some(star) = name.rfind('*')
        && let Ok(n) = name[star + 1..].parse::<u32>()
    {
        section = Some(n);
        name.truncate(star);
    }
    let trimmed = name.trim();
    if trimmed.len() != name.len() {
        name = trimmed.to_string();
    }
    (name, section, extended)
}

fn percent_decode(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'%'
            && let (Some(h), Some(l)) = (v.get(i + 1).and_then(|&b| hex(b)), v.get(i + 2).and_then(|&b| hex(b)))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(v[i]);
        i += 1;
    }
    out
}

/// Each parameter's group: parameters of one name share a number, numbered in order of first
/// appearance. Linear in the number of parameters (a scan for a few, a map for many), so a
/// header with tens of thousands of them costs no more per parameter than one with three.
fn group_by_name(raws: &[RawParam]) -> Vec<usize> {
    const SCAN: usize = 8;
    let mut firsts: Vec<usize> = Vec::new();
    let mut map: HashMap<&str, usize> = HashMap::new();
    let mut groups = Vec::with_capacity(raws.len());
    for (k, p) in raws.iter().enumerate() {
        let found = if raws.len() <= SCAN {
            firsts.iter().position(|&f| raws[f].name == p.name)
        } else {
            map.get(p.name.as_str()).copied()
        };
        let g = found.unwrap_or_else(|| {
            firsts.push(k);
            if raws.len() > SCAN {
                map.insert(&p.name, firsts.len() - 1);
            }
            firsts.len() - 1
        });
        groups.push(g);
    }
    groups
}

/// Joins RFC 2231 segments (raw bytes first, then one charset decode) and decodes RFC 2047 words in
/// plain values. An RFC 2231 value wins over a plain one of the same name.
fn join_params(raws: Vec<RawParam>) -> Vec<(String, String)> {
    let groups = group_by_name(&raws);
    let count = groups.iter().max().map_or(0, |g| g + 1);
    let segmented = |p: &RawParam| p.section.is_some() || p.extended;
    if !raws.iter().any(segmented) {
        // The common case: plain parameters, first of each name wins (groups are numbered in
        // order of first appearance, so a group's first parameter is the one whose number is
        // the count so far).
        let mut out: Vec<(String, String)> = Vec::with_capacity(count);
        for (p, g) in raws.into_iter().zip(groups) {
            if g == out.len() {
                let value = decode_words_owned(p.value);
                out.push((p.name, value));
            }
        }
        return out;
    }
    let mut members: Vec<Vec<&RawParam>> = vec![Vec::new(); count];
    for (p, &g) in raws.iter().zip(&groups) {
        members[g].push(p);
    }
    let mut out = Vec::with_capacity(count);
    for group in members {
        let first = group[0];
        let mut segs: Vec<&RawParam> = group.iter().copied().filter(|p| segmented(p)).collect();
        if segs.is_empty() {
            out.push((first.name.clone(), decode_words(&first.value)));
            continue;
        }
        segs.sort_by_key(|p| p.section.unwrap_or(0));
        segs.dedup_by_key(|p| p.section.unwrap_or(0));
        let mut charset_name: Option<String> = None;
        let mut bytes = Vec::new();
        for (k, seg) in segs.iter().enumerate() {
            let mut v: &[u8] = &seg.value;
            if k == 0 && seg.extended {
                // charset'language'value
                let mut it = v.splitn(3, |&b| b == b'\'');
                if let (Some(cs), Some(_lang), Some(rest)) = (it.next(), it.next(), it.next()) {
                    if !cs.is_empty() {
                        charset_name = Some(String::from_utf8_lossy(cs).into_owned());
                    }
                    v = rest;
                }
            }
            if seg.extended {
                bytes.extend_from_slice(&percent_decode(v));
            } else {
                bytes.extend_from_slice(v);
            }
        }
        let text = match &charset_name {
            Some(cs) => charset::decode(&bytes, Some(cs)).text.into_owned(),
            None => decode_words(&bytes),
        };
        out.push((first.name.clone(), text));
    }
    out
}

/// Removes `(comments)` outside quotes from a simple header value.
fn strip_comments(v: &[u8]) -> Cow<'_, [u8]> {
    if !v.contains(&b'(') {
        return Cow::Borrowed(v);
    }
    let mut out = Vec::with_capacity(v.len());
    let mut depth = 0usize;
    for &b in v {
        match b {
            b'(' => depth += 1,
            b')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(b),
            _ => {}
        }
    }
    Cow::Owned(out)
}

/// The trimmed token of a simple header (Content-Transfer-Encoding), lowercased, comments removed.
pub fn simple_token(raw: &[u8]) -> String {
    let v = unfold(raw);
    String::from_utf8_lossy(strip_comments(&v).trim_ascii()).to_ascii_lowercase()
}

/// A Content-ID or Message-ID without angle brackets and surrounding space.
pub fn strip_id(raw: &[u8]) -> String {
    let v = unfold(raw);
    let s = charset::decode_undeclared(v.trim_ascii());
    let s = s.trim();
    let s = s.strip_prefix('<').unwrap_or(s);
    let s = match s.find('>') {
        Some(end) => &s[..end],
        None => s,
    };
    s.trim().to_string()
}

/// Every `<id>` in a References or In-Reply-To header, without brackets.
pub fn id_list(raw: &[u8]) -> Vec<String> {
    let v = unfold(raw);
    let s = charset::decode_undeclared(&v);
    let mut out = Vec::new();
    let mut rest: &str = &s;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        match after.find('>') {
            Some(end) => {
                let id = after[..end].trim();
                if !id.is_empty() {
                    out.push(id.to_string());
                }
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    if out.is_empty() {
        out.extend(s.split_whitespace().map(str::to_string));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_inside_a_character_are_joined() {
        // "é" (C3 A9) split across two base64 words, then across two Q words.
        assert_eq!(decode_words(b"=?UTF-8?B?w6k=?="), "é");
        assert_eq!(decode_words(b"=?UTF-8?B?UsM=?= =?UTF-8?B?qXN1bcOp?="), "Résumé");
        assert_eq!(decode_words(b"=?utf-8?q?R=C3?=\r\n =?utf-8?q?=A9sum=C3=A9?="), "Résumé");
        assert_eq!(decode_words(b"a =?iso-8859-1?q?caf=E9?= b"), "a café b");
        assert_eq!(decode_words(b"=?iso-8859-1?q?a?= =?utf-8?q?b?="), "ab");
        assert_eq!(decode_words(b"=?utf-8?q?hello_world?="), "hello world");
        assert_eq!(decode_words(b"=?bogus"), "=?bogus");
        assert_eq!(decode_words(b"=?utf-8*en?q?x?="), "x");
        let jis = b"=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=\r\n  =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=";
        assert_eq!(decode_words(jis), "テストテスト");
    }

    #[test]
    fn rfc2231_segments_join_before_decoding() {
        // "é" split across segments 0 and 1.
        let v = parse_mime_value(b"attachment; filename*0*=UTF-8''R%C3; filename*1*=%A9sum%C3%A9.pdf");
        assert_eq!(v.value, "attachment");
        assert_eq!(v.param("filename"), Some("Résumé.pdf"));
        let v = parse_mime_value(b"attachment;\r\n filename*1=\"sum\xe9.pdf\";\r\n filename*0*=iso-8859-1''R%E9");
        assert_eq!(v.param("filename"), Some("Résumé.pdf"));
        let v = parse_mime_value(b"attachment; filename*=iso-8859-1'fr'caf%E9.txt; filename=\"cafe.txt\"");
        assert_eq!(v.param("filename"), Some("café.txt"));
    }

    #[test]
    fn folded_values_quotes_and_paths() {
        let v = parse_mime_value(b"application/pdf;\r\n name=\r\n \"report.pdf\"");
        assert_eq!(v.value, "application/pdf");
        assert_eq!(v.param("name"), Some("report.pdf"));
        let v = parse_mime_value(b"attachment; filename=\"C:\\Users\\x\\report.pdf\"");
        assert_eq!(v.param("filename"), Some("C:\\Users\\x\\report.pdf"));
        let v = parse_mime_value(b"attachment; filename=\"say \\\"hi\\\".txt\"");
        assert_eq!(v.param("filename"), Some("say \"hi\".txt"));
        let v = parse_mime_value(b"attachment; filename=\"\\\";\"");
        assert_eq!(v.param("filename"), Some("\";"));
        let v = parse_mime_value(b"attachment; filename=\"=?utf-8?b?w6k=?=.pdf\"");
        assert_eq!(v.param("filename"), Some("é.pdf"));
        let v = parse_mime_value(b"Text/Plain (comment); CHARSET=us-ascii; name=plain name.txt");
        assert_eq!(v.value, "text/plain");
        assert_eq!(v.param("charset"), Some("us-ascii"));
        assert_eq!(v.param("name"), Some("plain name.txt"));
        let v = parse_mime_value(b"attachment; filename=\"unterminated.pdf");
        assert_eq!(v.param("filename"), Some("unterminated.pdf"));
    }

    #[test]
    fn ids() {
        assert_eq!(strip_id(b" <abc@example.org>\r\n"), "abc@example.org");
        assert_eq!(id_list(b"<a@x>\r\n <b@y> <c@z>"), vec!["a@x", "b@y", "c@z"]);
    }
}
