//! Safe file names from untrusted headers (DESIGN §6).
//!
//! [`sanitize`] takes the last component after `/` or `\`, drops control, NUL and bidirectional
//! formatting characters, trims dots and spaces at both ends, replaces `<>:"|?*` with `_`, prefixes
//! reserved Windows device names with `_`, and cuts to 255 bytes keeping the extension. An empty
//! result means: use [`fallback`], `part-<path>.<ext from content type>`.

use crate::parse::PartPath;

/// The longest name written, in bytes (NAME_MAX on Linux and most file systems).
pub const MAX_NAME_BYTES: usize = 255;

const RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "LPT1", "LPT2",
    "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

fn dropped(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// A safe single path component from `name`; empty when nothing usable is left.
pub fn sanitize(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|&c| !dropped(c))
        .map(|c| if matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*') { '_' } else { c })
        .collect();
    let trimmed = cleaned.trim_matches(|c: char| c == '.' || c == ' ' || c.is_whitespace());
    if trimmed.is_empty() {
        return String::new();
    }
    let stem_end = trimmed.find('.').unwrap_or(trimmed.len());
    let stem = trimmed[..stem_end].trim_end();
    let mut out =
        if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(stem)) { format!("_{trimmed}") } else { trimmed.to_string() };
    if out.len() > MAX_NAME_BYTES {
        out = fit(&out, "", MAX_NAME_BYTES);
    }
    out
}

/// Cuts `name` to `max` bytes after appending `suffix` to its stem, keeping the extension (when
/// the extension is short enough to keep) and character boundaries.
pub(crate) fn fit(name: &str, suffix: &str, max: usize) -> String {
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 && name.len() - i <= 32 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    let room = max.saturating_sub(ext.len() + suffix.len());
    let mut cut = stem.len().min(room);
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    let stem = stem[..cut].trim_end_matches([' ', '.']);
    let stem = if stem.is_empty() { "part" } else { stem };
    format!("{stem}{suffix}{ext}")
}

/// The name used for a clash: `report.pdf` → `report-1.pdf`, still at most 255 bytes.
pub fn numbered(name: &str, n: usize) -> String {
    fit(name, &format!("-{n}"), MAX_NAME_BYTES)
}

/// The name for a part without a usable one: `part-2.1.pdf`.
pub fn fallback(path: &PartPath, content_type: &str) -> String {
    let p = path.to_string();
    let p = if p.is_empty() { "0".to_string() } else { p };
    format!("part-{p}.{}", extension_for(content_type))
}

/// A file extension for a MIME type (`bin` when unknown).
pub fn extension_for(content_type: &str) -> &'static str {
    match content_type {
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        "text/html" => "html",
        "text/csv" => "csv",
        "text/calendar" => "ics",
        "text/xml" | "application/xml" => "xml",
        "application/json" => "json",
        "image/jpeg" | "image/jpg" | "image/pjpeg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/svg+xml" => "svg",
        "image/tiff" => "tif",
        "image/bmp" => "bmp",
        "audio/mpeg" => "mp3",
        "audio/wav" | "audio/x-wav" => "wav",
        "video/mp4" => "mp4",
        "application/zip" | "application/x-zip-compressed" => "zip",
        "application/gzip" | "application/x-gzip" => "gz",
        "application/msword" => "doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.ms-excel" => "xls",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "application/vnd.ms-powerpoint" => "ppt",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation" => "pptx",
        "application/vnd.oasis.opendocument.text" => "odt",
        "application/pgp-signature" => "asc",
        "application/pkcs7-signature" | "application/x-pkcs7-signature" => "p7s",
        "application/ms-tnef" | "application/vnd.ms-tnef" => "dat",
        "message/rfc822" | "message/global" => "eml",
        "message/delivery-status" => "txt",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names() {
        assert_eq!(sanitize("../../x"), "x");
        assert_eq!(sanitize("/etc/passwd"), "passwd");
        assert_eq!(sanitize("..\\..\\x.bat"), "x.bat");
        assert_eq!(sanitize("a\0b\x07c.txt"), "abc.txt");
        assert_eq!(sanitize("CON.txt"), "_CON.txt");
        assert_eq!(sanitize("lpt1"), "_lpt1");
        assert_eq!(sanitize("console.txt"), "console.txt");
        assert_eq!(sanitize(" ..hidden. "), "hidden");
        assert_eq!(sanitize("a<b>c:d\"e|f?g*h"), "a_b_c_d_e_f_g_h");
        assert_eq!(sanitize(".."), "");
        assert_eq!(sanitize("dir/"), "");
        assert_eq!(sanitize("evil\u{202e}fdp.exe"), "evilfdp.exe");
        assert_eq!(sanitize("Résumé 2016.pdf"), "Résumé 2016.pdf");
        let long = format!("{}.pdf", "é".repeat(200));
        let s = sanitize(&long);
        assert!(s.len() <= 255 && s.ends_with(".pdf"), "{s}");
        assert!(numbered(&s, 12).len() <= 255 && numbered(&s, 12).ends_with("-12.pdf"));
        assert_eq!(numbered("report.pdf", 1), "report-1.pdf");
        assert_eq!(numbered("README", 2), "README-2");
        assert_eq!(fallback(&PartPath(vec![2, 1]), "application/pdf"), "part-2.1.pdf");
    }
}
