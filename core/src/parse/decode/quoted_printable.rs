//! Quoted-printable (RFC 2045 §6.7), lenient: malformed `=` escapes kept as written and reported.

use super::Problem;
use crate::warning::WarningKind;

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
    let (mut i, mut o) = (0, 0);
    let (mut first_bad, mut bad) = (None, 0usize);
    // Output before this length is decoded escapes or kept text: never trimmed as trailing space.
    let mut keep = 0;
    while i < n {
        copy_plain(input, &mut out, &mut i, &mut o);
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
                        i += 3;
                    } else if let Some(len) = soft_break(rest) {
                        i += 1 + len;
                    } else {
                        bad += 1;
                        first_bad.get_or_insert(i);
                        out[o] = b'=';
                        o += 1;
                        i += 1;
                    }
                    keep = o;
                }
                Some(&b @ (b'\r' | b'\n')) => {
                    // A line break: trailing white space written before it goes (not decoded escapes).
                    while o > keep && matches!(out[o - 1], b' ' | b'\t') {
                        o -= 1;
                    }
                    let len = if b == b'\r' && input.get(i + 1) == Some(&b'\n') { 2 } else { 1 };
                    out[o..o + len].copy_from_slice(&input[i..i + len]);
                    (i, o) = (i + len, o + len);
                    keep = o;
                }
                _ => break,
            }
        }
    }
    out.truncate(o);
    let problem = first_bad.map(|at| {
        let detail = format!("quoted-printable had {bad} malformed '=' escapes; they were kept as written");
        (WarningKind::InvalidQuotedPrintable, at, detail)
    });
    (out, problem)
}

/// Copies the plain bytes at `input[*i..]` to `out[*o..]`, up to the next `=`, CR or LF; moves
/// both positions past them. Sixteen bytes at a time where SSE2 is there, then eight: a block is
/// copied whole and the positions move past its bytes before the first special one (`o` never
/// passes `i`, so the room is there).
#[inline(always)]
fn copy_plain(input: &[u8], out: &mut [u8], i: &mut usize, o: &mut usize) {
    #[cfg(target_arch = "x86_64")]
    while let (Some(src), Some(dst)) = (input.get(*i..*i + 16), out.get_mut(*o..*o + 16)) {
        let special = qp_specials16(src.try_into().expect("sixteen bytes"), dst.try_into().expect("sixteen bytes"));
        if special != 0 {
            let k = special.trailing_zeros() as usize;
            *o += k;
            *i += k;
            return;
        }
        *o += 16;
        *i += 16;
    }
    loop {
        if matches!(input.get(*i), Some(b'=' | b'\r' | b'\n')) {
            return;
        }
        let Some(word) = input.get(*i..*i + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()) else {
            while *i < input.len() && !matches!(input[*i], b'=' | b'\r' | b'\n') {
                out[*o] = input[*i];
                *o += 1;
                *i += 1;
            }
            return;
        };
        out[*o..*o + 8].copy_from_slice(&word);
        let special = qp_specials(u64::from_le_bytes(word));
        if special != 0 {
            let k = (special.trailing_zeros() / 8) as usize;
            *o += k;
            *i += k;
            return;
        }
        *o += 8;
        *i += 8;
    }
}

/// After an `=` that starts no hex escape: the length of the soft line break it starts
/// (`=` [spaces] CRLF, LF, a lone CR, or the end of the input), counted after the `=`; `None`
/// when it is a malformed escape.
fn soft_break(rest: &[u8]) -> Option<usize> {
    let j = rest.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
    match rest.get(j) {
        None => Some(rest.len()),
        Some(b'\n') => Some(j + 1),
        Some(b'\r') if rest.get(j + 1) == Some(&b'\n') => Some(j + 2),
        Some(b'\r') => Some(j + 1),
        _ => None,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
