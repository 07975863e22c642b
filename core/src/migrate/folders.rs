//! Which source folder goes to which destination folder.
//!
//! * Names: IMAP folder names are modified UTF-7 on the wire (RFC 3501 §5.1.3) unless the server
//!   accepts UTF-8 (RFC 6855); [`decode_mutf7`] and [`encode_mutf7`] convert.
//! * Special folders (RFC 6154): the source's \Sent folder goes to the destination's \Sent
//!   folder, whatever either is called ("Sent Items" → "Sent"); likewise \Drafts, \Trash,
//!   \Junk, \Archive. A server without SPECIAL-USE is understood by the common names of those
//!   folders.
//! * `--map OLD=NEW` rules come first; they move a folder and everything below it.
//! * Everything else keeps its path, with the source's hierarchy separator replaced by the
//!   destination's. A separator character that is part of a name on the source becomes `_`.

use base64::Engine;

use super::MigrateError;

/// An RFC 6154 special use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SpecialUse {
    /// `\Sent`
    Sent,
    /// `\Drafts`
    Drafts,
    /// `\Trash`
    Trash,
    /// `\Junk`
    Junk,
    /// `\Archive`
    Archive,
}

impl SpecialUse {
    /// From a LIST attribute (`\Sent`, …; case does not matter).
    pub fn from_attribute(a: &str) -> Option<Self> {
        match a.to_ascii_lowercase().as_str() {
            "\\sent" => Some(Self::Sent),
            "\\drafts" => Some(Self::Drafts),
            "\\trash" => Some(Self::Trash),
            "\\junk" => Some(Self::Junk),
            "\\archive" => Some(Self::Archive),
            _ => None,
        }
    }

    /// From a folder's common name, for servers that do not say (the last level of the path).
    pub fn from_name(name: &str) -> Option<Self> {
        const NAMES: [(&str, SpecialUse); 14] = [
            ("sent", SpecialUse::Sent),
            ("sent items", SpecialUse::Sent),
            ("sent messages", SpecialUse::Sent),
            ("sent mail", SpecialUse::Sent),
            ("drafts", SpecialUse::Drafts),
            ("draft", SpecialUse::Drafts),
            ("trash", SpecialUse::Trash),
            ("deleted items", SpecialUse::Trash),
            ("deleted messages", SpecialUse::Trash),
            ("junk", SpecialUse::Junk),
            ("spam", SpecialUse::Junk),
            ("junk e-mail", SpecialUse::Junk),
            ("archive", SpecialUse::Archive),
            ("archives", SpecialUse::Archive),
        ];
        let lower = name.to_lowercase();
        NAMES.iter().find(|(n, _)| *n == lower).map(|(_, s)| *s)
    }
}

/// A folder as LIST shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    /// The name, decoded (UTF-8), with the server's separator.
    pub name: String,
    /// The hierarchy separator, if the server has hierarchy.
    pub separator: Option<char>,
    /// Its special use, from the attributes (or, where the server gives none, the name).
    pub special: Option<SpecialUse>,
    /// Whether it holds messages (not `\Noselect` / `\NonExistent`).
    pub selectable: bool,
}

/// Where one source folder goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// The source folder.
    pub from: String,
    /// The destination folder (decoded, with the destination's separator).
    pub to: String,
    /// Whether the destination must create it.
    pub create: bool,
    /// Why it goes there: `inbox`, `special-use`, `map` or `same name`.
    pub rule: &'static str,
}

/// Adds the folders of special use a destination lacks under their usual names (`Sent`,
/// `Drafts`, `Trash`, `Junk`, `Archive`), for a destination with no attributes to say which
/// is which (a Maildir): the source's "Sent Items" then lands in "Sent", where the server that
/// will serve it looks, and the copy creates it.
pub fn standard_specials(dest: &mut Vec<Folder>, separator: char) {
    const NAMES: [(&str, SpecialUse); 5] = [
        ("Sent", SpecialUse::Sent),
        ("Drafts", SpecialUse::Drafts),
        ("Trash", SpecialUse::Trash),
        ("Junk", SpecialUse::Junk),
        ("Archive", SpecialUse::Archive),
    ];
    for (name, special) in NAMES {
        if !dest.iter().any(|f| f.special == Some(special) || f.name == name) {
            dest.push(Folder {
                name: name.to_string(),
                separator: Some(separator),
                special: Some(special),
                selectable: true,
            });
        }
    }
}

/// A `--map OLD=NEW` rule.
pub fn parse_map(rule: &str) -> Result<(String, String), MigrateError> {
    match rule.split_once('=') {
        Some((old, new)) if !old.is_empty() && !new.is_empty() => Ok((old.to_string(), new.to_string())),
        _ => Err(MigrateError::Config(format!("--map {rule:?}: want OLD=NEW"))),
    }
}

/// Maps every selectable source folder to a destination folder. `maps` are the `--map` rules
/// (folder paths with `/` as the separator on both sides); `dest_separator` is what the
/// destination uses.
pub fn plan(source: &[Folder], dest: &[Folder], maps: &[(String, String)], dest_separator: char) -> Vec<Mapping> {
    let dest_special = |use_: SpecialUse| {
        // Attributes first, names after, so a server that says wins over a guess.
        dest.iter()
            .filter(|f| f.selectable && f.special == Some(use_))
            .min_by_key(|f| f.name.len())
            .map(|f| f.name.clone())
    };
    let exists = |name: &str| dest.iter().any(|f| f.name == name);
    let mut out = Vec::new();
    for f in source.iter().filter(|f| f.selectable) {
        let levels: Vec<&str> = match f.separator {
            Some(sep) => f.name.split(sep).collect(),
            None => vec![f.name.as_str()],
        };
        let slash = levels.join("/");
        let (to, rule) = if let Some(to) = mapped(&slash, maps) {
            (join(&to.split('/').collect::<Vec<_>>(), dest_separator), "map")
        } else if f.name.eq_ignore_ascii_case("INBOX") {
            ("INBOX".to_string(), "inbox")
        } else if let Some(to) = f.special.and_then(dest_special) {
            (to, "special-use")
        } else {
            (join(&levels, dest_separator), "same name")
        };
        out.push(Mapping { from: f.name.clone(), create: !exists(&to), to, rule });
    }
    out
}

/// The first `--map` rule that covers `path` (the folder itself or one below it).
fn mapped(path: &str, maps: &[(String, String)]) -> Option<String> {
    maps.iter().find_map(|(old, new)| {
        if path == old {
            Some(new.clone())
        } else {
            path.strip_prefix(old.as_str()).and_then(|rest| rest.strip_prefix('/')).map(|rest| format!("{new}/{rest}"))
        }
    })
}

/// Levels joined with `separator`; a separator inside a level becomes `_`.
fn join(levels: &[&str], separator: char) -> String {
    let cleaned: Vec<String> = levels.iter().map(|l| l.replace(separator, "_")).collect();
    cleaned.join(&separator.to_string())
}

/// Decodes a modified UTF-7 folder name (RFC 3501 §5.1.3).
pub fn decode_mutf7(name: &str) -> Result<String, MigrateError> {
    let bad = || MigrateError::Config(format!("{name:?} is not a modified UTF-7 folder name"));
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after.find('-').ok_or_else(bad)?;
        let encoded = &after[..end];
        if encoded.is_empty() {
            out.push('&');
        } else {
            let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(encoded.replace(',', "/"))
                .map_err(|_| bad())?;
            if bytes.len() % 2 != 0 {
                return Err(bad());
            }
            let units: Vec<u16> = bytes.chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            out.push_str(&String::from_utf16(&units).map_err(|_| bad())?);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Encodes a folder name as modified UTF-7.
pub fn encode_mutf7(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        let b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes).replace('/', ",");
        out.push('&');
        out.push_str(&b64);
        out.push('-');
        pending.clear();
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            pending.extend(c.encode_utf16(&mut [0; 2]).iter());
        }
    }
    flush(&mut pending, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str, special: Option<SpecialUse>) -> Folder {
        Folder { name: name.into(), separator: Some('/'), special, selectable: true }
    }

    #[test]
    fn modified_utf7_both_ways() {
        for (wire, text) in [
            ("INBOX", "INBOX"),
            ("&AMk-l&AOk-ments envoy&AOk-s", "Éléments envoyés"),
            ("&BBIERQQ+BDQETwRJBDgENQ-", "Входящие"),
            ("Tom &- Jerry", "Tom & Jerry"),
            ("&ZeVnLIqe-", "日本語"),
            ("&2D3eAQ-", "😁"),
        ] {
            assert_eq!(decode_mutf7(wire).expect(wire), text);
            assert_eq!(encode_mutf7(text), wire);
        }
        for bad in ["&AMk", "&A-", "&2D0-"] {
            assert!(decode_mutf7(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn special_folders_meet_whatever_their_names() {
        let source = [
            folder("INBOX", None),
            folder("Sent Items", Some(SpecialUse::Sent)),
            folder("Deleted Items", SpecialUse::from_name("Deleted Items")),
            folder("Projects/2024", None),
            folder("Old/Lists/rust", None),
            Folder { name: "Parent".into(), separator: Some('/'), special: None, selectable: false },
            folder("a.b", None),
        ];
        let dest = [
            Folder { name: "INBOX".into(), separator: Some('.'), special: None, selectable: true },
            Folder { name: "Sent".into(), separator: Some('.'), special: Some(SpecialUse::Sent), selectable: true },
            Folder { name: "Trash".into(), separator: Some('.'), special: Some(SpecialUse::Trash), selectable: true },
        ];
        let maps = [parse_map("Old=Archive/Old").expect("map")];
        let got: Vec<(String, String, bool, &str)> =
            plan(&source, &dest, &maps, '.').into_iter().map(|m| (m.from, m.to, m.create, m.rule)).collect();
        let want = [
            ("INBOX", "INBOX", false, "inbox"),
            ("Sent Items", "Sent", false, "special-use"),
            ("Deleted Items", "Trash", false, "special-use"),
            ("Projects/2024", "Projects.2024", true, "same name"),
            ("Old/Lists/rust", "Archive.Old.Lists.rust", true, "map"),
            ("a.b", "a_b", true, "same name"),
        ];
        let want: Vec<(String, String, bool, &str)> =
            want.iter().map(|(a, b, c, d)| (a.to_string(), b.to_string(), *c, *d)).collect();
        assert_eq!(got, want);
        assert!(parse_map("nothing").is_err() && parse_map("=x").is_err());
    }
}
