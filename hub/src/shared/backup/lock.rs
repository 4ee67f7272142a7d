//! The data-directory lock: `hub serve` holds an exclusive lock on `DATA/hub.lock` for as long as it
//! runs, so a second hub cannot serve the same directory and `hub restore` refuses to replace a directory
//! that is being served. The lock is the operating system's (`flock` through std's `File::try_lock`): it
//! goes away with the process, even after a crash or power loss, so a stale lock file never blocks a start.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The lock file's name inside the data directory (never backed up).
pub const LOCK_FILE: &str = "hub.lock";

/// An exclusive lock on a data directory, held until dropped.
#[derive(Debug)]
pub struct DirLock {
    file: File,
    path: PathBuf,
}

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another hub{} is already serving {dir}. Stop it first (on an installed kit: \
         `sudo systemctl stop outreach-hub`), or use another --data directory.",
        .pid.map(|p| format!(" (process {p})")).unwrap_or_default()
    )]
    Held { dir: String, pid: Option<u32> },
    #[error("cannot lock {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl DirLock {
    /// Takes the lock of `data` (creating the directory, 0700, if needed) and writes this process's id
    /// into the lock file, or fails at once if another process holds it.
    pub fn acquire(data: &Path) -> Result<Self, LockError> {
        let io = |source| LockError::Io {
            path: data.join(LOCK_FILE).display().to_string(),
            source,
        };
        if !data.exists() {
            fs::create_dir_all(data).map_err(io)?;
            fs::set_permissions(data, fs::Permissions::from_mode(0o700)).map_err(io)?;
        }
        let path = data.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(LockError::Held {
                    dir: data.display().to_string(),
                    pid: text.trim().parse().ok(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        // Only the holder writes: the pid is for the message a second hub prints.
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(Self { file, path })
    }

    /// Takes the lock of an existing directory only if it has a lock file; `Ok(None)` when the directory
    /// or its lock file does not exist (no hub ever served it, so none serves it now).
    pub fn acquire_if_present(data: &Path) -> Result<Option<Self>, LockError> {
        if !data.join(LOCK_FILE).exists() {
            return Ok(None);
        }
        Self::acquire(data).map(Some)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_on_the_same_directory_is_refused_until_the_first_is_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let a = DirLock::acquire(&data).unwrap();
        assert_eq!(
            fs::metadata(&data).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let pid = fs::read_to_string(a.path()).unwrap();
        assert_eq!(pid.trim(), std::process::id().to_string());
        // A second open file description in the same process is refused like another process would be.
        match DirLock::acquire(&data) {
            Err(LockError::Held { pid, dir }) => {
                assert_eq!(pid, Some(std::process::id()));
                assert!(dir.ends_with("data"));
            }
            other => panic!("expected Held, got {other:?}"),
        }
        assert!(matches!(
            DirLock::acquire_if_present(&data),
            Err(LockError::Held { .. })
        ));
        drop(a);
        let b = DirLock::acquire(&data).unwrap();
        drop(b);
        assert!(DirLock::acquire_if_present(&tmp.path().join("none"))
            .unwrap()
            .is_none());
    }
}
