//! Text decoding by declared charset: encoding_rs for the WHATWG labels (ISO-8859-*, Windows-125x,
//! Shift_JIS, EUC-JP, ISO-2022-JP, GBK/GB18030, Big5, KOI8-R/U, …), mail-parser's decoders for the
//! rest (UTF-7 and friends).

use std::borrow::Cow;

use crate::warning::WarningKind;

/// The outcome of decoding: the text, and the damage found, if any.
pub(crate) struct Decoded<'a> {
    pub(crate) text: Cow<'a, str>,
    pub(crate) problem: Option<(WarningKind, String)>,
}

/// Whether `label` names UTF-8 or its subset US-ASCII.
pub(crate) fn is_utf8_label(label: &str) -> bool {
    let l = label.trim().trim_matches('"');
    l.eq_ignore_ascii_case("utf-8")
        || l.eq_ignore_ascii_case("utf8")
        || l.eq_ignore_ascii_case("us-ascii")
        || l.eq_ignore_ascii_case("ascii")
        || l.eq_ignore_ascii_case("unicode-1-1-utf-8")
}

/// Bytes outside any declared charset: UTF-8 when valid, else Windows-1252 (what legacy mailers wrote).
pub(crate) fn decode_undeclared(bytes: &[u8]) -> Cow<'_, str> {
    match utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0,
    }
}

/// `bytes` as UTF-8, checked with SIMD; std's checker only on failure, for the error's position.
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(_) => std::str::from_utf8(bytes),
    }
}

/// `bytes` as a `String` when they are UTF-8 (checked with SIMD), without copying them.
#[allow(unsafe_code)]
pub(crate) fn into_utf8(bytes: Vec<u8>) -> Result<String, Vec<u8>> {
    if simdutf8::basic::from_utf8(&bytes).is_err() {
        return Err(bytes);
    }
    // SAFETY: checked to be UTF-8 just above.
    Ok(unsafe { String::from_utf8_unchecked(bytes) })
}

/// Decodes `bytes` declared as `charset` (None: undeclared).
pub(crate) fn decode<'a>(bytes: &'a [u8], charset: Option<&str>) -> Decoded<'a> {
    let Some(label) = charset.map(|c| c.trim().trim_matches('"')).filter(|c| !c.is_empty()) else {
        return Decoded { text: decode_undeclared(bytes), problem: None };
    };
    if is_utf8_label(label) {
        return match utf8(bytes) {
            Ok(s) => Decoded { text: Cow::Borrowed(s), problem: None },
            Err(e) => Decoded {
                text: String::from_utf8_lossy(bytes),
                problem: Some((
                    WarningKind::CharsetMismatch,
                    format!(
                        "text declared {label} has invalid bytes (first at text byte {}); replaced with U+FFFD",
                        e.valid_up_to()
                    ),
                )),
            },
        };
    }
    if let Some(enc) = encoding_rs::Encoding::for_label(label.as_bytes()) {
        if enc == encoding_rs::REPLACEMENT {
            return unknown(bytes, label);
        }
        let (text, had_errors) = enc.decode_without_bom_handling(bytes);
        let problem = had_errors.then(|| {
            (
                WarningKind::CharsetMismatch,
                format!("text declared {label} has bytes invalid in that charset; replaced with U+FFFD"),
            )
        });
        return Decoded { text, problem };
    }
    if let Some(decoder) = mail_parser::decoders::charsets::map::charset_decoder(label.as_bytes()) {
        return Decoded { text: Cow::Owned(decoder(bytes)), problem: None };
    }
    unknown(bytes, label)
}

fn unknown<'a>(bytes: &'a [u8], label: &str) -> Decoded<'a> {
    let label: String = label.chars().take(64).collect();
    Decoded {
        text: decode_undeclared(bytes),
        problem: Some((
            WarningKind::UnknownCharset,
            format!("unknown charset {label:?}; read as UTF-8 (Windows-1252 where not valid UTF-8)"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simd_utf8_check_agrees_with_std() {
        let long = "Привет, 日本, café. ".repeat(40);
        let mut cases: Vec<Vec<u8>> = vec![b"".to_vec(), b"plain".to_vec(), long.clone().into_bytes()];
        for cut in [1, 2, 5, 100, long.len() - 1] {
            cases.push(long.as_bytes()[..cut].to_vec()); // may end inside a character
            let mut bad = long.clone().into_bytes();
            bad[cut] = 0xff;
            cases.push(bad);
        }
        cases.push(b"\xed\xa0\x80 surrogate".to_vec());
        cases.push(b"\xc0\xaf overlong".to_vec());
        for c in &cases {
            let (ours, std) = (utf8(c), std::str::from_utf8(c));
            assert_eq!(ours.map_err(|e| e.valid_up_to()), std.map_err(|e| e.valid_up_to()), "{c:?}");
        }
    }

    #[test]
    fn legacy_charsets_decode() {
        let cases: &[(&[u8], &str, &str)] = &[
            (b"caf\xe9", "iso-8859-1", "café"),
            (b"\xa4", "iso-8859-15", "€"),
            (b"\x80", "windows-1252", "€"),
            (b"\xcf\xf0\xe8\xe2\xe5\xf2", "windows-1251", "Привет"),
            (b"\xf0\xd2\xc9\xd7\xc5\xd4", "koi8-r", "Привет"),
            (b"\x93\xfa\x96\x7b", "shift_jis", "日本"),
            (b"\xc6\xfc\xcb\xdc", "euc-jp", "日本"),
            (b"\x1b$BF|K\\\x1b(B", "iso-2022-jp", "日本"),
            (b"\xd6\xd0\xce\xc4", "gb2312", "中文"),
            (b"\xd6\xd0\xce\xc4", "gbk", "中文"),
            (b"\xa4\xa4\xa4\xe5", "big5", "中文"),
            (b"\xa6\xa7", "koi8-u", "ії"),
        ];
        for (bytes, label, want) in cases {
            let d = decode(bytes, Some(label));
            assert_eq!(d.text, *want, "{label}");
            assert!(d.problem.is_none(), "{label}");
        }
    }

    #[test]
    fn utf7_through_mail_parser() {
        let d = decode(b"Hi Mom -+Jjo--!", Some("utf-7"));
        assert_eq!(d.text, "Hi Mom -\u{263a}-!");
    }

    #[test]
    fn unknown_and_mismatch_are_reported() {
        let d = decode(b"abc", Some("x-no-such-charset"));
        assert_eq!(d.text, "abc");
        assert_eq!(d.problem.map(|p| p.0), Some(WarningKind::UnknownCharset));
        let d = decode(b"caf\xe9", Some("utf-8"));
        assert_eq!(d.text, "caf\u{fffd}");
        assert_eq!(d.problem.map(|p| p.0), Some(WarningKind::CharsetMismatch));
    }
}
