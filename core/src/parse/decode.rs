//! Transfer decodings (RFC 2045 §6.7, §6.8; uuencode), lenient and reporting what they skipped.
//!
//! Each decoder returns what it could read and, at most, the first problem it met: the offset
//! (relative to its input) and a sentence for the warning.

use crate::warning::WarningKind;

/// The first problem a decoder met: kind, offset within the decoded input, detail.
pub(crate) type Problem = (WarningKind, usize, String);

const INVALID: u8 = 0xff;
const PAD: u8 = 0xfe;
const SPACE: u8 = 0xfd;

static B64: [u8; 256] = {
    let mut t = [INVALID; 256];
    let mut i = 0u8;
    while i < 64 {
        let c = match i {
            0..=25 => b'A' + i,
            26..=51 => b'a' + (i - 26),
            52..=61 => b'0' + (i - 52),
            62 => b'+',
            _ => b'/',
        };
        t[c as usize] = i;
        i += 1;
    }
    t[b'=' as usize] = PAD;
    t[b' ' as usize] = SPACE;
    t[b'\t' as usize] = SPACE;
    t[b'\r' as usize] = SPACE;
    t[b'\n' as usize] = SPACE;
    t
};

/// Set in a [`B64_LE`] entry for a character outside the alphabet.
const NOT_B64: u32 = 0xff00_0000;

/// For the character at each position of a group of four, its 6 bits placed where they go in the
/// group's 3 bytes, as a little-endian word; [`NOT_B64`] for anything else.
static B64_LE: [[u32; 256]; 4] = {
    let mut t = [[NOT_B64; 256]; 4];
    let mut c = 0;
    while c < 256 {
        let v = B64[c];
        if v < 64 {
            let v = v as u32;
            t[0][c] = v << 2;
            t[1][c] = v >> 4 | (v & 0xf) << 12;
            t[2][c] = (v >> 2) << 8 | (v & 3) << 22;
            t[3][c] = v << 16;
        }
        c += 1;
    }
    t
};

/// A group of four characters as its 3 bytes in a little-endian word; [`NOT_B64`] bits set when
/// one is outside the alphabet.
#[inline(always)]
fn b64_group(s: &[u8]) -> u32 {
    B64_LE[0][s[0] as usize] | B64_LE[1][s[1] as usize] | B64_LE[2][s[2] as usize] | B64_LE[3][s[3] as usize]
}

/// Decodes base64, skipping white space and (with a problem reported) characters outside the
/// alphabet. A final group without padding is decoded as far as it goes; padding in the middle
/// starts a new group (concatenated encodings). Returns the bytes and the first problem.
pub(crate) fn base64(input: &[u8], size_hint: Option<usize>) -> (Vec<u8>, Option<Problem>) {
    // Every 4 input characters give at most 3 bytes, so writes by index stay inside `out`; the
    // fast path writes up to 2 bytes past what it decodes.
    let mut out = vec![0u8; (input.len() / 4 * 3 + 8).max(size_hint.unwrap_or(0))];
    let mut pos = 0;
    let mut problem: Option<Problem> = None;
    let mut invalid = 0usize;
    let mut acc: u32 = 0;
    let mut n = 0u8;
    let mut i = 0;
    while i < input.len() {
        // Fast path at a group boundary: eight, then four, alphabet characters at a time.
        if n == 0 {
            #[cfg(target_arch = "x86_64")]
            {
                let (read, written) = b64_blocks(&input[i..], &mut out[pos..]);
                i += read;
                pos += written;
            }
            // Each character's table entry is its 6 bits already in place in a little-endian word
            // of 3 output bytes; a character outside the alphabet sets the top byte.
            while i + 8 <= input.len() && pos + 8 <= out.len() {
                let s: &[u8; 8] = input[i..i + 8].try_into().expect("eight bytes");
                let (w0, w1) = (b64_group(&s[..4]), b64_group(&s[4..]));
                if (w0 | w1) & NOT_B64 != 0 {
                    break;
                }
                // 6 bytes, written as 8 (the slack is overwritten or truncated).
                out[pos..pos + 8].copy_from_slice(&(u64::from(w0) | u64::from(w1) << 24).to_le_bytes());
                pos += 6;
                i += 8;
            }
            while i + 4 <= input.len() && pos + 4 <= out.len() {
                let s: &[u8; 4] = input[i..i + 4].try_into().expect("four bytes");
                let w = b64_group(s);
                if w & NOT_B64 != 0 {
                    break;
                }
                out[pos..pos + 4].copy_from_slice(&w.to_le_bytes());
                pos += 3;
                i += 4;
            }
            if i >= input.len() {
                break;
            }
        }
        let v = B64[input[i] as usize];
        match v {
            0..=63 => {
                acc = acc << 6 | v as u32;
                n += 1;
                if n == 4 {
                    out[pos..pos + 3].copy_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
                    pos += 3;
                    n = 0;
                    acc = 0;
                }
            }
            PAD => {
                pos += flush_b64(&mut out[pos..], acc, n);
                n = 0;
                acc = 0;
            }
            SPACE => {
                // The rest of a line break too: the fast paths are tried once after it.
                while matches!(input.get(i + 1), Some(b' ' | b'\t' | b'\r' | b'\n')) {
                    i += 1;
                }
            }
            _ => {
                invalid += 1;
                if problem.is_none() {
                    problem = Some((WarningKind::InvalidBase64, i, String::new()));
                }
            }
        }
        i += 1;
    }
    pos += flush_b64(&mut out[pos..], acc, n);
    out.truncate(pos);
    if let Some(p) = &mut problem {
        p.2 = format!("base64 had {invalid} invalid characters; they were skipped");
    } else if n == 1 {
        problem = Some((
            WarningKind::TruncatedBase64,
            input.len(),
            "base64 ended with a lone character; 6 bits were dropped".into(),
        ));
    }
    (out, problem)
}

/// Decodes whole blocks of 16 alphabet characters from the start of `input` into `out` (12 bytes
/// each, written as 16), up to the first block holding anything else (line breaks, padding) or
/// too near the end of either; returns the characters read and the bytes written.
#[cfg(target_arch = "x86_64")]
fn b64_blocks(input: &[u8], out: &mut [u8]) -> (usize, usize) {
    if input.len() < 16 || !std::arch::is_x86_feature_detected!("ssse3") {
        return (0, 0);
    }
    // SAFETY: the CPU has SSSE3 (checked just above).
    #[allow(unsafe_code)]
    unsafe {
        b64_blocks_ssse3(input, out)
    }
}

/// `b64_blocks` with SSSE3 byte shuffles as lookup tables (the nibble-table method of Muła and
/// Lemire, "Faster Base64 Encoding and Decoding using AVX2 Instructions", 2018).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "ssse3")]
#[allow(unsafe_code)]
fn b64_blocks_ssse3(input: &[u8], out: &mut [u8]) -> (usize, usize) {
    use std::arch::x86_64::*;
    // A character is in the alphabet when the entries for its low and high nibble share no bit.
    let lut_lo =
        _mm_setr_epi8(0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1a, 0x1b, 0x1b, 0x1b, 0x1a);
    let lut_hi =
        _mm_setr_epi8(0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10);
    // What to add to a character, by its high nibble (`/` apart), for its 6-bit value.
    let lut_roll = _mm_setr_epi8(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
    let pack = _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
    let (mut i, mut o) = (0, 0);
    while let (Some(src), Some(dst)) = (input.get(i..i + 16), out.get_mut(o..o + 16)) {
        // SAFETY: `src` and `dst` are valid for 16 bytes (unaligned access).
        let v = unsafe { _mm_loadu_si128(src.as_ptr().cast::<__m128i>()) };
        let hi = _mm_and_si128(_mm_srli_epi32::<4>(v), _mm_set1_epi8(0x0f));
        let lo = _mm_and_si128(v, _mm_set1_epi8(0x0f));
        let bad = _mm_and_si128(_mm_shuffle_epi8(lut_lo, lo), _mm_shuffle_epi8(lut_hi, hi));
        if _mm_movemask_epi8(_mm_cmpeq_epi8(bad, _mm_setzero_si128())) != 0xffff {
            break;
        }
        let slash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'/' as i8));
        let sextets = _mm_add_epi8(v, _mm_shuffle_epi8(lut_roll, _mm_add_epi8(slash, hi)));
        // Pairs of sextets into 12 bits, pairs of those into 24, then the 3 bytes of each in order.
        let pairs = _mm_maddubs_epi16(sextets, _mm_set1_epi32(0x0140_0140));
        let words = _mm_madd_epi16(pairs, _mm_set1_epi32(0x0001_1000));
        // SAFETY: as above.
        unsafe { _mm_storeu_si128(dst.as_mut_ptr().cast::<__m128i>(), _mm_shuffle_epi8(words, pack)) };
        i += 16;
        o += 12;
    }
    (i, o)
}

/// Writes the bytes of an unfinished group of `n` characters; returns how many.
fn flush_b64(out: &mut [u8], acc: u32, n: u8) -> usize {
    match n {
        2 => {
            out[0] = (acc >> 4) as u8;
            1
        }
        3 => {
            out[..2].copy_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]);
            2
        }
        _ => 0,
    }
}

/// Whether a base64 body that a group-at-a-time decoder turned into `decoded_len` bytes was
/// decoded whole, i.e. it did not end in an unfinished group. Padding at the end, or a body laid
/// out in regular lines that add up to exactly `decoded_len`, answers at once; anything else is
/// counted with [`base64_tail`].
pub(crate) fn base64_complete(raw: &[u8], decoded_len: usize) -> bool {
    let body = raw.trim_ascii_end();
    if body.last() == Some(&b'=') {
        return true;
    }
    if decoded_len.is_multiple_of(3) {
        let significant = decoded_len / 3 * 4;
        let expected = match memchr::memchr(b'\n', body) {
            None => Some(significant),
            Some(nl) => {
                let lb = if nl > 0 && body[nl - 1] == b'\r' { 2 } else { 1 };
                let line = nl + 1 - lb;
                (line > 0).then(|| significant + (significant.div_ceil(line).max(1) - 1) * lb)
            }
        };
        if expected == Some(body.len()) {
            return true;
        }
    }
    base64_tail(raw) == 0
}

/// How many base64 characters (alphabet and padding) `input` holds, modulo 4 (0: every group is
/// complete, so a decoder that drops unfinished groups lost nothing).
/// Assumes no characters outside the alphabet (mail-parser flags those); counts white space, which
/// vectorises, instead of looking every byte up.
pub(crate) fn base64_tail(input: &[u8]) -> usize {
    // Only the count modulo 4 matters, and 256 is a multiple of 4: a wrapping u8 sum is enough and
    // keeps every SIMD lane a byte wide.
    let space = input.iter().fold(0u8, |acc, &b| acc.wrapping_add(u8::from(matches!(b, b'\n' | b'\r' | b' ' | b'\t'))));
    (input.len() % 4 + 4 - usize::from(space % 4)) % 4
}

/// Each byte's value as a hex digit (either case); 0xff for anything else.
static HEX: [u8; 256] = {
    let mut t = [0xff; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

fn hexval(b: u8) -> Option<u8> {
    let v = HEX[usize::from(b)];
    (v < 16).then_some(v)
}

/// Decodes quoted-printable. Soft line breaks go, trailing white space before a line break goes,
/// malformed `=` escapes stay as they are (reported). Line breaks are kept as written.
pub(crate) fn quoted_printable(input: &[u8]) -> (Vec<u8>, Option<Problem>) {
    // The output is never longer than the input: it is written at `o` into a buffer of that size.
    let n = input.len();
    let mut out = vec![0u8; n];
    let mut o = 0;
    let mut problem: Option<Problem> = None;
    let mut bad = 0usize;
    let mut i = 0;
    // Output before this length is decoded escapes or kept text: never trimmed as trailing space.
    let mut keep = 0;
    while i < n {
        // Plain bytes, sixteen at a time: a block is copied whole and `o` moves past its bytes
        // before the first `=`, CR or LF (`o` never passes `i`, so the room is there).
        #[cfg(target_arch = "x86_64")]
        while let (Some(src), Some(dst)) = (input.get(i..i + 16), out.get_mut(o..o + 16)) {
            let special = qp_specials16(src.try_into().expect("sixteen bytes"), dst.try_into().expect("sixteen bytes"));
            if special != 0 {
                let k = special.trailing_zeros() as usize;
                o += k;
                i += k;
                break;
            }
            o += 16;
            i += 16;
        }
        // Then (the tail, or other targets) eight at a time.
        loop {
            if matches!(input.get(i), Some(b'=' | b'\r' | b'\n')) {
                break;
            }
            let Some(word) = input.get(i..i + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()) else {
                while i < n && !matches!(input[i], b'=' | b'\r' | b'\n') {
                    out[o] = input[i];
                    o += 1;
                    i += 1;
                }
                break;
            };
            out[o..o + 8].copy_from_slice(&word);
            let special = qp_specials(u64::from_le_bytes(word));
            if special != 0 {
                let k = (special.trailing_zeros() / 8) as usize;
                o += k;
                i += k;
                break;
            }
            o += 8;
            i += 8;
        }
        // Escapes and line breaks come in runs (`=C3=A9`, `\r\n`): take them all before searching.
        loop {
            match input.get(i) {
                Some(b'=') => {
                    let rest = &input[i + 1..];
                    if let [h, l, ..] = *rest
                        && (HEX[usize::from(h)] | HEX[usize::from(l)]) < 16
                    {
                        out[o] = HEX[usize::from(h)] << 4 | HEX[usize::from(l)];
                        o += 1;
                        keep = o;
                        i += 3;
                        continue;
                    }
                    // soft line break: '=' [spaces] CRLF|LF|end
                    let mut j = 0;
                    while j < rest.len() && (rest[j] == b' ' || rest[j] == b'\t') {
                        j += 1;
                    }
                    match rest.get(j) {
                        None => i = n,
                        Some(b'\n') => i += 1 + j + 1,
                        Some(b'\r') if rest.get(j + 1) == Some(&b'\n') => i += 1 + j + 2,
                        Some(b'\r') => i += 1 + j + 1,
                        _ => {
                            bad += 1;
                            if problem.is_none() {
                                problem = Some((WarningKind::InvalidQuotedPrintable, i, String::new()));
                            }
                            out[o] = b'=';
                            o += 1;
                            i += 1;
                        }
                    }
                    keep = o;
                }
                Some(&b @ (b'\r' | b'\n')) => {
                    // line break: drop trailing white space written before it (not decoded escapes)
                    while o > keep && matches!(out[o - 1], b' ' | b'\t') {
                        o -= 1;
                    }
                    if b == b'\r' && input.get(i + 1) == Some(&b'\n') {
                        out[o..o + 2].copy_from_slice(b"\r\n");
                        o += 2;
                        i += 2;
                    } else {
                        out[o] = b;
                        o += 1;
                        i += 1;
                    }
                    keep = o;
                }
                _ => break,
            }
        }
    }
    out.truncate(o);
    if let Some(p) = &mut problem {
        p.2 = format!("quoted-printable had {bad} malformed '=' escapes; they were kept as written");
    }
    (out, problem)
}

/// Copies `src` to `dst` and gives the bytes of `src` that are `=`, CR or LF as a bit mask
/// (bit `k` for byte `k`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(unsafe_code)]
fn qp_specials16(src: &[u8; 16], dst: &mut [u8; 16]) -> u32 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8, _mm_storeu_si128,
    };
    // SAFETY: SSE2 is part of x86-64; both pointers are valid for 16 bytes (unaligned access).
    unsafe {
        let v = _mm_loadu_si128(src.as_ptr().cast::<__m128i>());
        _mm_storeu_si128(dst.as_mut_ptr().cast::<__m128i>(), v);
        let eq = |c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(eq(b'='), eq(b'\r')), eq(b'\n'))) as u32
    }
}

/// The bytes of `word` (little-endian) that are `=`, CR or LF, as the high bit of each such byte;
/// exact up to the first one (a borrow can mark bytes after it), which is all a search needs.
fn qp_specials(word: u64) -> u64 {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    zero(word ^ (ONES * u64::from(b'=')))
        | zero(word ^ (ONES * u64::from(b'\r')))
        | zero(word ^ (ONES * u64::from(b'\n')))
}

/// Whether every `=` in quoted-printable `input` starts a hex escape or a soft line break.
pub(crate) fn quoted_printable_valid(input: &[u8]) -> bool {
    memchr::memchr_iter(b'=', input).all(|i| {
        let rest = &input[i + 1..];
        match rest.first() {
            None | Some(b'\r' | b'\n') => true,
            Some(&h) if hexval(h).is_some() => rest.get(1).is_some_and(|&l| hexval(l).is_some()),
            Some(b' ' | b'\t') => {
                let t = rest.iter().position(|&b| b != b' ' && b != b'\t').unwrap_or(rest.len());
                matches!(rest.get(t), None | Some(b'\r' | b'\n'))
            }
            _ => false,
        }
    })
}

/// A file found in uuencoded form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UuFile {
    /// The name on the `begin` line.
    pub name: String,
    /// Byte offset of the `begin` line in the text that held it.
    pub offset: usize,
    /// Byte offset just past the block (after its `end` line, or the end of the text).
    pub end: usize,
    /// The decoded bytes.
    pub data: Vec<u8>,
}

/// Whether `line` is a `begin MODE NAME` line; gives the name.
fn begin_line(line: &[u8]) -> Option<&[u8]> {
    let rest = line.strip_prefix(b"begin ")?;
    let rest = rest.strip_prefix(b"-base64 ").map_or(rest, |_| rest);
    let sp = rest.iter().position(|&b| b == b' ')?;
    let mode = &rest[..sp];
    if mode.is_empty() || mode.len() > 4 || !mode.iter().all(|b| (b'0'..=b'7').contains(b)) {
        return None;
    }
    let name = rest[sp + 1..].trim_ascii();
    (!name.is_empty()).then_some(name)
}

/// Decodes one uuencoded line's data (after its length character).
fn uu_line(line: &[u8], out: &mut Vec<u8>) -> bool {
    let Some((&len_ch, data)) = line.split_first() else { return true };
    let len = (len_ch.wrapping_sub(b' ') & 0x3f) as usize;
    if len == 0 {
        return true;
    }
    // Trailing spaces (zero values) are often stripped in transit: missing characters count as zero.
    let need = len.div_ceil(3) * 4;
    if data.iter().take(need).any(|&b| !(b' '..=b'`').contains(&b)) {
        return false;
    }
    let v = |k: usize| data.get(k).map_or(0u32, |&b| (b.wrapping_sub(b' ') & 0x3f) as u32);
    let mut written = 0;
    let mut k = 0;
    while written < len {
        let w = v(k) << 18 | v(k + 1) << 12 | v(k + 2) << 6 | v(k + 3);
        for byte in [(w >> 16) as u8, (w >> 8) as u8, w as u8] {
            if written < len {
                out.push(byte);
                written += 1;
            }
        }
        k += 4;
    }
    true
}

/// Finds and decodes every uuencoded block (`begin 644 name` … `end`) in `text`. Returns the files
/// and the first problem (a malformed line or a block without `end`).
pub(crate) fn uuencoded_files(text: &[u8], max_files: usize) -> (Vec<UuFile>, Option<Problem>) {
    let mut files = Vec::new();
    let mut problem = None;
    let mut pos = 0;
    while files.len() < max_files {
        let Some(found) = memchr::memmem::find(&text[pos..], b"begin ") else { break };
        let start = pos + found;
        pos = start + 6;
        if start > 0 && text[start - 1] != b'\n' {
            continue;
        }
        let line_end = memchr::memchr(b'\n', &text[start..]).map_or(text.len(), |e| start + e);
        let Some(name) = begin_line(text[start..line_end].trim_ascii_end()) else { continue };
        let mut data = Vec::new();
        let mut cur = line_end + 1;
        let mut ended = false;
        while cur < text.len() {
            let e = memchr::memchr(b'\n', &text[cur..]).map_or(text.len(), |e| cur + e);
            let line = text[cur..e].strip_suffix(b"\r").unwrap_or(&text[cur..e]);
            cur = e + 1;
            if line.trim_ascii_end() == b"end" {
                ended = true;
                break;
            }
            if line.is_empty() {
                continue;
            }
            if !uu_line(line, &mut data) && problem.is_none() {
                problem = Some((
                    WarningKind::InvalidUuencode,
                    cur.saturating_sub(1),
                    "uuencoded line was malformed; it was skipped".to_string(),
                ));
            }
        }
        if !ended && problem.is_none() {
            problem = Some((
                WarningKind::InvalidUuencode,
                start,
                "uuencoded block has no 'end' line; kept what was read".to_string(),
            ));
        }
        files.push(UuFile {
            name: String::from_utf8_lossy(name).into_owned(),
            offset: start,
            end: cur.min(text.len()),
            data,
        });
        pos = cur.min(text.len());
    }
    (files, problem)
}

/// Decodes a part whose body is entirely uuencoded (Content-Transfer-Encoding: x-uuencode).
pub(crate) fn uudecode_body(body: &[u8]) -> (Vec<u8>, Option<Problem>) {
    let (mut files, problem) = uuencoded_files(body, 1);
    match files.pop() {
        Some(f) => (f.data, problem),
        None => (
            body.to_vec(),
            Some((WarningKind::InvalidUuencode, 0, "x-uuencode part has no 'begin' line; kept as is".into())),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The base64 rules one character at a time, to check the decoder's fast paths against.
    fn base64_slowly(input: &[u8]) -> Vec<u8> {
        let (mut out, mut acc, mut n) = (Vec::new(), 0u32, 0u8);
        for &c in input {
            match B64[c as usize] {
                v @ 0..=63 => {
                    acc = acc << 6 | v as u32;
                    n += 1;
                    if n == 4 {
                        out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
                        (acc, n) = (0, 0);
                    }
                }
                PAD => {
                    let mut tail = [0u8; 2];
                    let k = flush_b64(&mut tail, acc, n);
                    out.extend_from_slice(&tail[..k]);
                    (acc, n) = (0, 0);
                }
                _ => {}
            }
        }
        let mut tail = [0u8; 2];
        let k = flush_b64(&mut tail, acc, n);
        out.extend_from_slice(&tail[..k]);
        out
    }

    #[test]
    fn base64_fast_paths_agree_with_the_rules() {
        let mut rng = crate::sample::Rng::new(5);
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for round in 0..3000 {
            let len = rng.range(0, 300);
            let noise = round % 3; // 0: clean lines, 1: some white space and padding, 2: junk too
            let input: Vec<u8> = (0..len)
                .map(|k| match (noise, rng.range(0, 40)) {
                    (0, _) if k % 77 == 76 => b'\n',
                    (1 | 2, 0) => b'\n',
                    (1 | 2, 1) => b'=',
                    (1 | 2, 2) => b' ',
                    (2, 3) => rng.pick(b"*-_.\x00\xff"),
                    _ => rng.pick(alphabet),
                })
                .collect();
            let hint = rng.range(0, 2) == 1;
            let (got, _) = base64(&input, hint.then_some(len / 2));
            assert_eq!(got, base64_slowly(&input), "{:?}", String::from_utf8_lossy(&input));
        }
    }

    #[test]
    fn base64_lenient() {
        assert_eq!(base64(b"aGVsbG8=", None).0, b"hello");
        assert_eq!(base64(b"aGVs\r\nbG8", None), (b"hello".to_vec(), None));
        assert_eq!(base64(b"aGVsbA", None).0, b"hell");
        let (out, p) = base64(b"aGV!!sbG8=", None);
        assert_eq!(out, b"hello");
        let p = p.expect("problem");
        assert_eq!((p.0, p.1), (WarningKind::InvalidBase64, 3));
        assert_eq!(base64(b"aA==aGk=", None).0, b"hhi");
        assert_eq!(base64(b"aGVsbG8=a", None).1.map(|p| p.0), Some(WarningKind::TruncatedBase64));
        assert_eq!(base64_tail(b"aGVsbA\r\n"), 2);
        assert_eq!(base64_tail(b"aGVsbA==\r\n"), 0);
        assert_eq!(base64_tail(b"aGVs\r\nbG8h"), 0);
        assert!(base64_complete(b"aGVs\r\nbG8h\r\n", 6));
        assert!(base64_complete(b"aGVsbA==\r\n", 4));
        assert!(!base64_complete(b"aGVs\r\nbA\r\n", 3));
        assert!(!base64_complete(b"aGVsbA", 3));
        assert!(base64_complete(b"aGVsbG8h", 6));
    }

    #[test]
    fn quoted_printable_matches_a_byte_at_a_time_reading() {
        // The rules one byte at a time: escapes, soft breaks, trailing space dropped before line breaks.
        fn reference(input: &[u8]) -> (Vec<u8>, Option<usize>) {
            let (mut out, mut keep, mut i, mut first_bad) = (Vec::new(), 0, 0, None);
            while i < input.len() {
                match input[i] {
                    b'=' => {
                        let rest = &input[i + 1..];
                        if let (Some(h), Some(l)) =
                            (rest.first().and_then(|&b| hexval(b)), rest.get(1).and_then(|&b| hexval(b)))
                        {
                            out.push(h << 4 | l);
                            i += 3;
                        } else {
                            let j = rest.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
                            match (rest.get(j), rest.get(j + 1)) {
                                (None, _) => i = input.len(),
                                (Some(b'\r'), Some(b'\n')) => i += j + 3,
                                (Some(b'\r' | b'\n'), _) => i += j + 2,
                                _ => {
                                    first_bad.get_or_insert(i);
                                    out.push(b'=');
                                    i += 1;
                                }
                            }
                        }
                        keep = out.len();
                    }
                    b @ (b'\r' | b'\n') => {
                        while out.len() > keep && matches!(out.last(), Some(b' ' | b'\t')) {
                            out.pop();
                        }
                        out.push(b);
                        keep = out.len();
                        i += 1;
                    }
                    b => {
                        out.push(b);
                        i += 1;
                    }
                }
            }
            (out, first_bad)
        }
        // Dense in what the decoder looks for, and sparse (long plain runs for the block copies).
        let alphabets: [&[u8]; 2] = [b"a \t=\r\n3DfZ\xc3", b"abcdefghijklmnopqrstuvwxyz \t=\r\n3D"];
        let mut rng = crate::sample::Rng::new(5);
        for k in 0..40_000 {
            let len = rng.range(0, 100);
            let alphabet = alphabets[k % 2];
            let input: Vec<u8> = (0..len).map(|_| rng.pick(alphabet)).collect();
            let (out, p) = quoted_printable(&input);
            assert_eq!((out, p.map(|p| p.1)), reference(&input), "{:?}", String::from_utf8_lossy(&input));
        }
    }

    #[test]
    fn base64_matches_a_character_at_a_time_reading() {
        // Groups of four, padding ends a group, anything else skipped (the first one reported).
        fn reference(input: &[u8]) -> (Vec<u8>, Option<usize>) {
            let (mut out, mut acc, mut n, mut first_bad) = (Vec::new(), 0u32, 0, None);
            let flush = |out: &mut Vec<u8>, acc: u32, n: u8| match n {
                2 => out.push((acc >> 4) as u8),
                3 => out.extend([(acc >> 10) as u8, (acc >> 2) as u8]),
                _ => {}
            };
            for (i, &c) in input.iter().enumerate() {
                match B64[c as usize] {
                    v @ 0..=63 => {
                        acc = acc << 6 | u32::from(v);
                        n += 1;
                        if n == 4 {
                            out.extend([(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
                            (acc, n) = (0, 0);
                        }
                    }
                    PAD => {
                        flush(&mut out, acc, n);
                        (acc, n) = (0, 0);
                    }
                    SPACE => {}
                    _ => {
                        first_bad.get_or_insert(i);
                    }
                }
            }
            flush(&mut out, acc, n);
            (out, first_bad)
        }
        let mut rng = crate::sample::Rng::new(11);
        for k in 0..3_000 {
            let len = rng.range(0, 400);
            let data = rng.bytes(len);
            let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &data);
            // Lines of 76 (or of a random length), and now and then a character to skip or
            // padding in the middle.
            let line = if k % 2 == 0 { 76 } else { rng.range(4, 120) };
            let mut input = Vec::new();
            for (j, chunk) in encoded.as_bytes().chunks(line).enumerate() {
                if j > 0 {
                    input.extend_from_slice(if k % 3 == 0 { b"\n" } else { b"\r\n" });
                }
                input.extend_from_slice(chunk);
                if k % 7 == 0 && j == 1 {
                    input.push(rng.pick(b"!*=-.~\xff"));
                }
            }
            let (out, p) = base64(&input, None);
            let want = reference(&input);
            assert_eq!(
                (&out, p.as_ref().filter(|p| p.0 == WarningKind::InvalidBase64).map(|p| p.1)),
                (&want.0, want.1)
            );
            if k % 7 != 0 {
                assert_eq!(out, data);
            }
        }
    }

    #[test]
    fn hex_digits_are_read_in_either_case() {
        for b in 0..=255u8 {
            assert_eq!(hexval(b), char::from(b).to_digit(16).map(|d| d as u8), "{b:#x}");
        }
    }

    #[test]
    fn quoted_printable_lenient() {
        assert_eq!(quoted_printable(b"caf=C3=A9 =\r\nok  \r\nx").0, b"caf\xc3\xa9 ok\r\nx");
        let (out, p) = quoted_printable(b"a=ZZb=");
        assert_eq!(out, b"a=ZZb");
        assert_eq!(p.map(|p| (p.0, p.1)), Some((WarningKind::InvalidQuotedPrintable, 1)));
        assert_eq!(quoted_printable(b"x=\ny").0, b"xy");
        assert_eq!(quoted_printable(b"end.=20\r\nnext =\r\nx").0, b"end. \r\nnext x");
    }

    #[test]
    fn uuencode_blocks() {
        let text = b"see file\nbegin 644 hi.txt\n&:&5L;&\\*\n`\nend\nbye\n";
        let (files, p) = uuencoded_files(text, 10);
        assert!(p.is_none());
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].name, "hi.txt");
        assert_eq!(files[0].data, b"hello\n");
        assert_eq!(files[0].offset, 9);
        let (files, p) = uuencoded_files(b"begin 644 x\n&:&5L;&\\*\n", 10);
        assert_eq!(files[0].data, b"hello\n");
        assert_eq!(p.map(|p| p.0), Some(WarningKind::InvalidUuencode));
        assert!(uuencoded_files(b"we begin 644 here\n", 10).0.is_empty());
    }
}
