//! Base64 (RFC 2045 §6.8), lenient: white space skipped, characters outside the alphabet skipped
//! and reported, a final group without padding decoded as far as it goes.

use super::Problem;
use crate::warning::WarningKind;

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
}
