//! Secret files (the device key, the hub's age identity, the CA keys): written 0600 and atomically
//! (temp file, fsync, rename, directory fsync); on a protected data directory sealed under the data key.
//! A sealed file is `OUTREACH-SEALED-1\n` followed by the nonce and ciphertext of [`super::wrap::seal`],
//! bound to the file's name. Reading one needs the directory unlocked in this process
//! ([`super::unlocked`]); a plaintext file (an office hub, a field hub before its first officer) is read
//! as it is.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::{io_err, unlocked, wrap, DataKey, VaultError, VaultResult};

/// The first bytes of a sealed secret file.
pub const MAGIC: &[u8] = b"OUTREACH-SEALED-1\n";

fn label(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Whether the file at `path` is sealed.
pub fn is_sealed(path: &Path) -> bool {
    fs::read(path).is_ok_and(|b| b.starts_with(MAGIC))
}

/// Reads the secret file `path` of the data directory `data_dir`, tightening its permissions to 0600 if
/// someone loosened them, and opening it when sealed.
pub fn read_secret(data_dir: &Path, path: &Path) -> VaultResult<Vec<u8>> {
    let meta = fs::metadata(path).map_err(io_err(path))?;
    if meta.permissions().mode() & 0o077 != 0 {
        tracing::warn!(file = %path.display(), "secret file was readable by others; resetting it to 0600");
        fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(io_err(path))?;
    }
    let bytes = fs::read(path).map_err(io_err(path))?;
    let Some(sealed) = bytes.strip_prefix(MAGIC) else {
        return Ok(bytes);
    };
    let key = unlocked(data_dir).ok_or(VaultError::Locked)?;
    wrap::open(&key, &label(path), sealed).ok_or_else(|| VaultError::Damaged {
        path: path.to_path_buf(),
        why: "sealed with another key, or altered".into(),
    })
}

/// Writes the secret file `path` of `data_dir`: sealed when the directory is unlocked in this process
/// (it is protected), plaintext otherwise.
pub fn write_secret(data_dir: &Path, path: &Path, content: &[u8]) -> VaultResult<()> {
    match unlocked(data_dir) {
        Some(key) => write_sealed(&key, path, content),
        None => write_atomic(path, content),
    }
}

/// Writes `content` sealed under `key` to `path` (atomically, 0600).
pub fn write_sealed(key: &DataKey, path: &Path, content: &[u8]) -> VaultResult<()> {
    let mut out = MAGIC.to_vec();
    out.extend(wrap::seal(key, &label(path), content)?);
    write_atomic(path, &out)
}

/// Writes `content` to `path` atomically with mode 0600: a temp file beside it, fsync, rename, and an
/// fsync of the directory.
pub fn write_atomic(path: &Path, content: &[u8]) -> VaultResult<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io_err(&tmp))?;
    f.write_all(content).map_err(io_err(&tmp))?;
    f.sync_all().map_err(io_err(&tmp))?;
    fs::rename(&tmp, path).map_err(io_err(path))?;
    if let Some(parent) = path.parent() {
        fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(io_err(parent))?;
    }
    Ok(())
}

/// Overwrites the file at `path` with zeros (fsynced) and removes it: a plaintext file replaced by its
/// sealed form leaves its old bytes in no block the file system still maps to it. (Flash translation layers
/// may keep old pages; see `docs/security.md`.)
pub fn shred(path: &Path) -> VaultResult<()> {
    let len = match fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(path)(e)),
    };
    {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(io_err(path))?;
        let zeros = vec![0u8; 64 * 1024];
        let mut left = len;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            f.write_all(&zeros[..n]).map_err(io_err(path))?;
            left -= n as u64;
        }
        f.sync_all().map_err(io_err(path))?;
    }
    fs::remove_file(path).map_err(io_err(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_sealed_on_a_protected_directory_and_plain_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("device.ed25519");
        write_secret(dir.path(), &p, b"plain seed").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"plain seed");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let key = DataKey::generate().unwrap();
        super::super::register(dir.path(), key.clone());
        write_secret(dir.path(), &p, b"sealed seed").unwrap();
        let raw = fs::read(&p).unwrap();
        assert!(raw.starts_with(MAGIC));
        assert!(!raw.windows(11).any(|w| w == b"sealed seed"));
        assert_eq!(read_secret(dir.path(), &p).unwrap(), b"sealed seed");
        super::super::forget(dir.path());
        assert!(matches!(
            read_secret(dir.path(), &p),
            Err(VaultError::Locked)
        ));
        shred(&p).unwrap();
        assert!(!p.exists());
    }
}
