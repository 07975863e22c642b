//! Reading the message a command works on: a file, or `-` for standard input.

use std::io::Read;
use std::path::Path;

use bytes::Bytes;

use super::CliError;
use crate::Limits;

/// Reads `FILE` or `-` (stdin) within the input limit.
pub(crate) fn read(source: &Path, limits: &Limits) -> Result<Bytes, CliError> {
    let max = limits.max_input_bytes.min(crate::limits::MAX_INPUT_BYTES) as u64;
    let too_large =
        |size: u64| CliError::usage(format!("input is {size} bytes or more, over the limit of {max} bytes"));
    if source.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .lock()
            .take(max + 1)
            .read_to_end(&mut buf)
            .map_err(|e| CliError::usage(format!("cannot read standard input: {e}")))?;
        if buf.len() as u64 > max {
            return Err(too_large(buf.len() as u64));
        }
        return Ok(Bytes::from(buf));
    }
    let meta =
        std::fs::metadata(source).map_err(|e| CliError::usage(format!("cannot read {}: {e}", source.display())))?;
    if meta.is_dir() {
        return Err(CliError::usage(format!("cannot read {}: it is a folder, not a message file", source.display())));
    }
    if meta.len() > max {
        return Err(too_large(meta.len()));
    }
    let file =
        std::fs::File::open(source).map_err(|e| CliError::usage(format!("cannot read {}: {e}", source.display())))?;
    let mut buf = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1)
        .read_to_end(&mut buf)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", source.display())))?;
    if buf.len() as u64 > max {
        return Err(too_large(buf.len() as u64));
    }
    Ok(Bytes::from(buf))
}
