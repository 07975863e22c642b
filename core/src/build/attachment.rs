//! Attachments: bytes and a name, the content type found from magic bytes, then the extension,
//! then `application/octet-stream`.

use std::path::Path;

use super::BuildError;

/// A file to attach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The name shown to the recipient (any Unicode; written RFC 2231-encoded).
    pub filename: String,
    /// The MIME type.
    pub content_type: String,
    /// The bytes, attached exactly.
    pub data: Vec<u8>,
    /// For inline parts: the Content-ID an HTML body refers to as `cid:…`.
    pub content_id: Option<String>,
}

impl Attachment {
    /// An attachment of `data` named `filename`, its type guessed from both.
    pub fn from_bytes(filename: impl Into<String>, data: impl Into<Vec<u8>>) -> Self {
        let filename = filename.into();
        let data = data.into();
        let content_type = guess_content_type(&data, &filename).to_string();
        Attachment { filename, content_type, data, content_id: None }
    }

    /// The file at `path`, named by its last component.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, BuildError> {
        let path = path.as_ref();
        let data = std::fs::read(path).map_err(|source| BuildError::Read { path: path.to_path_buf(), source })?;
        let filename =
            path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "attachment".into());
        Ok(Self::from_bytes(filename, data))
    }

    /// The same attachment with an explicit content type.
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = content_type.into();
        self
    }
}

/// The MIME type of `data` named `filename`: magic bytes first (with the extension deciding among
/// formats that share a container, such as the Office formats inside ZIP), then the extension,
/// then `application/octet-stream`.
pub fn guess_content_type(data: &[u8], filename: &str) -> &'static str {
    let by_ext = by_extension(filename);
    let magic: Option<&'static str> = match data {
        [b'%', b'P', b'D', b'F', b'-', ..] => Some("application/pdf"),
        [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, ..] => Some("image/png"),
        [0xff, 0xd8, 0xff, ..] => Some("image/jpeg"),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some("image/gif"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some("image/webp"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'A', b'V', b'E', ..] => Some("audio/wav"),
        [b'I', b'I', b'*', 0, ..] | [b'M', b'M', 0, b'*', ..] => Some("image/tiff"),
        [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] => Some("application/zip"),
        [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, ..] => Some("application/x-ole-storage"),
        [0x1f, 0x8b, ..] => Some("application/gzip"),
        [b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c, ..] => Some("application/x-7z-compressed"),
        [b'R', b'a', b'r', b'!', 0x1a, 0x07, ..] => Some("application/vnd.rar"),
        [b'%', b'!', b'P', b'S', ..] => Some("application/postscript"),
        [b'{', b'\\', b'r', b't', b'f', ..] => Some("application/rtf"),
        [b'O', b'g', b'g', b'S', ..] => Some("audio/ogg"),
        [b'I', b'D', b'3', ..] => Some("audio/mpeg"),
        [_, _, _, _, b'f', b't', b'y', b'p', ..] => Some("video/mp4"),
        [b'B', b'E', b'G', b'I', b'N', b':', b'V', b'C', b'A', b'L', b'E', b'N', b'D', b'A', b'R', ..] => {
            Some("text/calendar")
        }
        _ => None,
    };
    match (magic, by_ext) {
        // Containers: the extension tells which format uses them.
        (Some("application/zip" | "application/x-ole-storage"), Some(ext)) => ext,
        (Some("application/x-ole-storage"), None) => "application/octet-stream",
        (Some(m), _) => m,
        (None, Some(ext)) => ext,
        (None, None) => "application/octet-stream",
    }
}

fn by_extension(filename: &str) -> Option<&'static str> {
    let ext = filename.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "pdf" => "application/pdf",
        "txt" | "text" | "log" => "text/plain",
        "htm" | "html" => "text/html",
        "csv" => "text/csv",
        "ics" => "text/calendar",
        "xml" => "application/xml",
        "json" => "application/json",
        "md" => "text/markdown",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "tif" | "tiff" => "image/tiff",
        "bmp" => "image/bmp",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "ogg" => "audio/ogg",
        "mp4" => "video/mp4",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "7z" => "application/x-7z-compressed",
        "rar" => "application/vnd.rar",
        "doc" => "application/msword",
        "xls" => "application/vnd.ms-excel",
        "ppt" => "application/vnd.ms-powerpoint",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "odt" => "application/vnd.oasis.opendocument.text",
        "ods" => "application/vnd.oasis.opendocument.spreadsheet",
        "epub" => "application/epub+zip",
        "eml" => "message/rfc822",
        "ps" => "application/postscript",
        "rtf" => "application/rtf",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_then_extension_then_octet_stream() {
        assert_eq!(guess_content_type(b"%PDF-1.7 ...", "report.bin"), "application/pdf");
        assert_eq!(guess_content_type(b"\x89PNG\r\n\x1a\n....", "x"), "image/png");
        assert_eq!(
            guess_content_type(b"PK\x03\x04....", "letter.docx"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        );
        assert_eq!(guess_content_type(b"PK\x03\x04....", "archive"), "application/zip");
        assert_eq!(guess_content_type(b"plain words", "notes.txt"), "text/plain");
        assert_eq!(guess_content_type(b"\x00\x01", "blob"), "application/octet-stream");
        assert_eq!(guess_content_type(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old.xls"), "application/vnd.ms-excel");
    }
}
