//! The spool directory: created 0700, refused when another user owns it or could write to it;
//! its key (a random secret of the directory, 0600) that names each (host, identity)'s files
//! by a keyed digest; and its segment files, listed oldest first.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// The name of the directory's key file.
pub(crate) const KEY_FILE: &str = "spool.key";
/// How segment file names end.
pub(crate) const SEGMENT_SUFFIX: &str = ".seg";

/// Why a spool directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DirectoryError {
    /// Another user owns it, or others may write to it.
    #[error("spool directory {path} refused: {reason}")]
    Refused { path: PathBuf, reason: &'static str },
    /// It could not be created or read.
    #[error("spool directory {path} unusable: {source}")]
    Io { path: PathBuf, source: io::Error },
}

impl DirectoryError {
    fn io(path: &Path, source: io::Error) -> Self {
        DirectoryError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// Creates `dir` (0700, with missing parents) unless it exists, and checks it: a directory the
/// process's user owns, which neither the group nor others may write to.
pub(crate) fn prepare(dir: &Path) -> Result<(), DirectoryError> {
    match DirBuilder::new().recursive(true).mode(0o700).create(dir) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
        Err(error) => return Err(DirectoryError::io(dir, error)),
    }
    let meta = fs::symlink_metadata(dir).map_err(|error| DirectoryError::io(dir, error))?;
    let refused = |reason| DirectoryError::Refused {
        path: dir.to_owned(),
        reason,
    };
    if !meta.is_dir() {
        return Err(refused("not a directory (symbolic links are not followed)"));
    }
    if meta.uid() != rustix::process::geteuid().as_raw() {
        return Err(refused("owned by another user"));
    }
    if meta.permissions().mode() & 0o022 != 0 {
        return Err(refused("the group or others may write to it"));
    }
    Ok(())
}

/// The library's own check of a spool directory, for a tool that shares one with it
/// (`dbtel simulate --spool`): the same rules, the refusal as an [`io::Error`]
/// (`PermissionDenied`) that says why.
///
/// # Errors
///
/// The directory could not be created or read, or the library would refuse it.
pub fn prepare_directory(dir: &Path) -> io::Result<()> {
    prepare(dir).map_err(|error| match error {
        DirectoryError::Refused { .. } => {
            io::Error::new(io::ErrorKind::PermissionDenied, error.to_string())
        }
        DirectoryError::Io { source, .. } => source,
    })
}

/// The directory's key: read, or made (32 random bytes, 0600) by the first process to use it.
pub(crate) fn key(dir: &Path) -> Result<hmac::Key, DirectoryError> {
    let path = dir.join(KEY_FILE);
    let mut bytes = [0u8; 32];
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
    {
        Ok(mut file) => {
            SystemRandom::new()
                .fill(&mut bytes)
                .map_err(|_| DirectoryError::io(&path, io::Error::other("no random bytes")))?;
            file.write_all(&bytes)
                .and_then(|()| file.sync_all())
                .map_err(|error| DirectoryError::io(&path, error))?;
        }
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            let mut file = File::open(&path).map_err(|error| DirectoryError::io(&path, error))?;
            let meta = file
                .metadata()
                .map_err(|error| DirectoryError::io(&path, error))?;
            if meta.uid() != rustix::process::geteuid().as_raw()
                || meta.permissions().mode() & 0o077 != 0
            {
                return Err(DirectoryError::Refused {
                    path,
                    reason: "its key file is not the user's own with mode 0600",
                });
            }
            // Another process may be writing it this instant: a short key is read again once.
            let mut read = file.read(&mut bytes).unwrap_or(0);
            if read < bytes.len() {
                std::thread::sleep(std::time::Duration::from_millis(20));
                read = fs::read(&path)
                    .ok()
                    .filter(|all| all.len() == bytes.len())
                    .map(|all| {
                        bytes.copy_from_slice(&all);
                        all.len()
                    })
                    .unwrap_or(0);
            }
            if read != bytes.len() {
                return Err(DirectoryError::io(
                    &path,
                    io::Error::new(io::ErrorKind::InvalidData, "short key file"),
                ));
            }
        }
        Err(error) => return Err(DirectoryError::io(&path, error)),
    }
    Ok(hmac::Key::new(hmac::HMAC_SHA256, &bytes))
}

/// The file-name prefix of one (host, identity)'s segments: 32 hex digits of the keyed digest,
/// so neither the host nor the identity can be read or confirmed from the name without the
/// directory's key.
pub(crate) fn digest(key: &hmac::Key, host: &str, identity: &str) -> String {
    let mut context = hmac::Context::with_key(key);
    context.update(b"databricks-telemetry spool v1\0");
    context.update(host.as_bytes());
    context.update(b"\0");
    context.update(identity.as_bytes());
    let tag = context.sign();
    tag.as_ref()[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// One segment file in the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SegmentFile {
    pub(crate) path: PathBuf,
    /// The (host, identity) digest it belongs to.
    pub(crate) prefix: String,
    pub(crate) bytes: u64,
}

/// The segment files in `dir` (of the digest `prefix` only, when given), oldest first (their
/// names carry their creation time).
pub(crate) fn segments(dir: &Path, prefix: Option<&str>) -> io::Result<Vec<SegmentFile>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(SEGMENT_SUFFIX) else {
            continue;
        };
        let Some((digest, _)) = stem.split_once('-') else {
            continue;
        };
        if prefix.is_some_and(|prefix| prefix != digest) {
            continue;
        }
        let bytes = entry.metadata().map(|meta| meta.len()).unwrap_or(0);
        found.push(SegmentFile {
            path: entry.path(),
            prefix: digest.to_owned(),
            bytes,
        });
    }
    found.sort_by_key(|segment| segment_order(&segment.path));
    Ok(found)
}

/// A segment's creation time and sequence, from its name (`DIGEST-NANOS-PID-SEQ.seg`).
fn segment_order(path: &Path) -> (u128, u64, u64) {
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("");
    let mut parts = name
        .trim_end_matches(SEGMENT_SUFFIX)
        .split('-')
        .skip(1)
        .map(|part| part.parse::<u128>().unwrap_or(u128::MAX));
    let nanos = parts.next().unwrap_or(u128::MAX);
    let pid = parts.next().unwrap_or(0) as u64;
    let seq = parts.next().unwrap_or(0) as u64;
    (nanos, pid, seq)
}

/// The name of a new segment of `prefix`.
pub(crate) fn segment_name(prefix: &str, nanos: u128, seq: u64) -> String {
    format!(
        "{prefix}-{nanos:024}-{}-{seq}{SEGMENT_SUFFIX}",
        std::process::id()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "dbtel-spool-dir-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_new_directory_is_0700_and_one_others_may_write_is_refused() {
        let dir = temp_dir("modes");
        prepare(&dir).unwrap();
        let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let refused = prepare(&dir).unwrap_err();
        assert!(
            matches!(refused, DirectoryError::Refused { .. }),
            "{refused}"
        );
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        prepare(&dir).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_key_is_0600_kept_and_names_do_not_show_host_or_identity() {
        let dir = temp_dir("key");
        prepare(&dir).unwrap();
        let key = key(&dir).unwrap();
        let mode = fs::metadata(dir.join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        let again = super::key(&dir).unwrap();
        let name = digest(&key, "example.com", "named:user-1");
        assert_eq!(name, digest(&again, "example.com", "named:user-1"));
        assert_eq!(name.len(), 32);
        assert_ne!(name, digest(&key, "example.com", "named:user-2"));
        assert_ne!(name, digest(&key, "example.org", "named:user-1"));
        assert!(!name.contains("example") && !name.contains("user"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn segments_list_oldest_first_by_name() {
        let dir = temp_dir("order");
        prepare(&dir).unwrap();
        for (nanos, seq) in [(30u128, 0u64), (10, 1), (20, 2), (10, 0)] {
            fs::write(dir.join(segment_name("ab", nanos, seq)), b"x").unwrap();
        }
        fs::write(dir.join(segment_name("cd", 5, 0)), b"x").unwrap();
        let listed: Vec<(u128, u64)> = segments(&dir, Some("ab"))
            .unwrap()
            .iter()
            .map(|s| {
                let (nanos, _, seq) = segment_order(&s.path);
                (nanos, seq)
            })
            .collect();
        assert_eq!(listed, [(10, 0), (10, 1), (20, 2), (30, 0)]);
        assert_eq!(segments(&dir, None).unwrap().len(), 5);
        fs::remove_dir_all(&dir).unwrap();
    }
}
