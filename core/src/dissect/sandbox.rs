//! The only code that creates files. Everything is created inside one output folder, exclusively
//! (never over an existing file), never through a symbolic link: on Unix each file and subfolder is
//! opened relative to its parent folder's descriptor with `O_EXCL | O_NOFOLLOW`. Files are created
//! 0600 and folders 0700 whatever the umask: mail is private, as Postfix and Dovecot keep it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// Clashes tried before giving up on a name.
const MAX_TRIES: usize = 10_000;

/// A folder inside the output folder.
pub(crate) struct Folder {
    #[cfg(unix)]
    fd: std::os::fd::OwnedFd,
    path: PathBuf,
    /// Path relative to the output folder, ending in `/` unless empty.
    rel: String,
    /// Per name asked for, the number to try next: 5,000 attachments of one name cost 5,000
    /// tries, not 12.5 million.
    next: RefCell<HashMap<String, usize>>,
}

impl Folder {
    /// Opens (creating it if needed) the output folder.
    pub(crate) fn open_root(path: &Path) -> io::Result<Folder> {
        crate::files::create_private_dir_all(path)?;
        #[cfg(unix)]
        {
            use rustix::fs::{Mode, OFlags};
            let fd = rustix::fs::open(path, OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
            Ok(Folder { fd, path: path.to_path_buf(), rel: String::new(), next: RefCell::default() })
        }
        #[cfg(not(unix))]
        {
            if !path.is_dir() {
                return Err(io::Error::new(io::ErrorKind::NotADirectory, "not a folder"));
            }
            Ok(Folder { path: path.to_path_buf(), rel: String::new(), next: RefCell::default() })
        }
    }

    /// The path of `name` relative to the output folder.
    pub(crate) fn rel(&self, name: &str) -> String {
        format!("{}{name}", self.rel)
    }

    /// Where this folder is.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Creates a new file named `name`, or `name-1`, `name-2`, … when taken. `name` must be a
    /// single safe component (see `naming::sanitize`). Returns the file and the name used.
    pub(crate) fn create_file(&self, name: &str) -> io::Result<(File, String)> {
        self.unique(name, |n| self.try_file(n))
    }

    /// Creates a new subfolder named `name` (numbered when taken).
    pub(crate) fn create_folder(&self, name: &str) -> io::Result<(Folder, String)> {
        self.unique(name, |n| self.try_folder(n))
    }

    fn unique<T>(&self, name: &str, mut make: impl FnMut(&str) -> io::Result<T>) -> io::Result<(T, String)> {
        check_component(name)?;
        let start = self.next.borrow().get(name).copied().unwrap_or(0);
        for n in start..start + MAX_TRIES {
            let candidate = if n == 0 { name.to_string() } else { super::naming::numbered(name, n) };
            match make(&candidate) {
                Ok(t) => {
                    self.next.borrow_mut().insert(name.to_string(), n + 1);
                    return Ok((t, candidate));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{MAX_TRIES} names like {name:?} are taken")))
    }

    #[cfg(unix)]
    fn try_file(&self, name: &str) -> io::Result<File> {
        use rustix::fs::{Mode, OFlags};
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_bits_truncate(0o600),
        )?;
        Ok(File::from(fd))
    }

    #[cfg(not(unix))]
    fn try_file(&self, name: &str) -> io::Result<File> {
        crate::files::private_file().write(true).create_new(true).open(self.path.join(name))
    }

    #[cfg(unix)]
    fn try_folder(&self, name: &str) -> io::Result<Folder> {
        use rustix::fs::{Mode, OFlags};
        rustix::fs::mkdirat(&self.fd, name, Mode::from_bits_truncate(0o700))?;
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Folder { fd, path: self.path.join(name), rel: format!("{}{name}/", self.rel), next: RefCell::default() })
    }

    #[cfg(not(unix))]
    fn try_folder(&self, name: &str) -> io::Result<Folder> {
        crate::files::create_private_dir(&self.path.join(name))?;
        Ok(Folder { path: self.path.join(name), rel: format!("{}{name}/", self.rel), next: RefCell::default() })
    }
}

/// Refuses anything but one plain path component: the sanitiser's promise, checked again here.
fn check_component(name: &str) -> io::Result<()> {
    let bad = name.is_empty()
        || name == "."
        || name == ".."
        || name.len() > super::naming::MAX_NAME_BYTES
        || name.contains(['/', '\\', '\0']);
    if bad {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("unsafe file name {name:?}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_numbered_and_no_symlinks() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = Folder::open_root(tmp.path()).expect("root");
        let (_, a) = root.create_file("x.pdf").expect("create");
        let (_, b) = root.create_file("x.pdf").expect("create");
        assert_eq!((a.as_str(), b.as_str()), ("x.pdf", "x-1.pdf"));
        assert!(root.create_file("../x").is_err());
        assert!(root.create_file("..").is_err());
        #[cfg(unix)]
        {
            let outside = tempfile::tempdir().expect("tempdir");
            std::os::unix::fs::symlink(outside.path().join("target"), tmp.path().join("link.txt")).expect("symlink");
            let (_, name) = root.create_file("link.txt").expect("create");
            assert_eq!(name, "link-1.txt");
            assert!(!outside.path().join("target").exists());
            std::os::unix::fs::symlink(outside.path(), tmp.path().join("d.eml.d")).expect("symlink");
            let (sub, name) = root.create_folder("d.eml.d").expect("folder");
            assert_eq!(name, crate::dissect::naming::numbered("d.eml.d", 1));
            sub.create_file("y").expect("create");
            assert_eq!(std::fs::read_dir(outside.path()).expect("read").count(), 0);
        }
    }
}
