//! Backups of a protected field hub while it serves, with no password (issue 19). The serving hub holds
//! the data key in memory once an officer unlocked it; a separate `hub backup` process — the USB stick
//! service, which runs unattended as the service user — does not, and the key is never written down. So
//! the serving hub listens on `DATA/backup.sock`, a Unix socket inside the 0700 data directory (itself
//! 0600: only the service user and root reach it), and makes the backup for a `hub backup` that finds the
//! directory locked and no `HUB_UNLOCK_*` given. The caller gets exactly the archive it would have made
//! itself: encrypted to the same public keys, the database encrypted and the key files sealed inside — no
//! byte of it in clear, nothing it could not read by copying the data directory. The request chooses
//! nothing but `--unencrypted` (the outer age layer); it cannot name a file or change anything.
//!
//! Wire format: the client sends one JSON line `{"encrypt": true}`; the server answers with frames of a tag
//! byte and a 4-byte big-endian length: `D` archive bytes (any number), then one `S` (the summary, JSON)
//! or `E` (an error message). The client checks the SHA-256 of what it received against the summary's.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::archive::Manifest;
use super::{BackupSummary, Output};

/// The socket's name in the data directory.
pub const SOCKET: &str = "backup.sock";
/// The largest summary or error frame accepted (a manifest lists every file; 16 MiB is far above).
const MAX_SUMMARY: u32 = 16 << 20;

#[derive(Serialize, Deserialize)]
struct Request {
    encrypt: bool,
}

/// What the serving hub reports after writing the backup.
#[derive(Serialize, Deserialize)]
struct Done {
    manifest: Manifest,
    bytes: u64,
    sha256: String,
    note: Option<String>,
    seconds: f64,
}

/// Archive bytes as `D` frames.
struct Frames(UnixStream);

impl Write for Frames {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = buf.len().min(u32::MAX as usize);
        frame(&mut self.0, b'D', &buf[..n])?;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

fn frame(w: &mut impl Write, tag: u8, body: &[u8]) -> io::Result<()> {
    w.write_all(&[tag])?;
    w.write_all(&(body.len() as u32).to_be_bytes())?;
    w.write_all(body)
}

/// Starts answering backup requests for the data directory `data` on `DATA/backup.sock`, on a thread of
/// its own, for the life of the process. The serving hub calls it once the directory is open and unlocked
/// (a protected hub's data key is registered in this process); a stale socket left by a stopped hub is
/// replaced.
pub fn serve(data: &Path) -> anyhow::Result<()> {
    let path = data.join(SOCKET);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
    let listener = UnixListener::bind(&path)
        .with_context(|| format!("cannot listen on {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    let data = data.to_path_buf();
    std::thread::Builder::new()
        .name("backup-socket".into())
        .spawn(move || {
            // One backup at a time: a second `hub backup` waits for the first.
            for conn in listener.incoming() {
                match conn {
                    Ok(stream) => {
                        if let Err(e) = answer(&data, stream) {
                            tracing::warn!(error = %format!("{e:#}"), "a backup request failed");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the backup socket stopped");
                        break;
                    }
                }
            }
        })?;
    Ok(())
}

fn answer(data: &Path, stream: UnixStream) -> anyhow::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut line = String::new();
    BufReader::new(stream.try_clone()?)
        .take(4096)
        .read_line(&mut line)?;
    let req: Request = serde_json::from_str(line.trim()).context("a bad backup request")?;
    let mut reply = stream;
    if crate::shared::unlock::is_locked(data) {
        frame(
            &mut reply,
            b'E',
            b"the hub is serving but locked (restarted since an officer last logged in): an officer or \
              admin must log in first, or give HUB_UNLOCK_USER and HUB_UNLOCK_PASSWORD",
        )?;
        return Ok(());
    }
    let started = std::time::Instant::now();
    let out = Output::Writer(Box::new(Frames(reply.try_clone()?)));
    match super::backup(data, out, req.encrypt, false) {
        Ok(s) => {
            let done = Done {
                manifest: s.manifest,
                bytes: s.bytes,
                sha256: s.sha256,
                note: s.note,
                seconds: s.seconds,
            };
            frame(&mut reply, b'S', &serde_json::to_vec(&done)?)?;
            tracing::info!(
                bytes = done.bytes,
                ms = started.elapsed().as_millis() as u64,
                "wrote a backup for `hub backup` (backup socket)"
            );
        }
        Err(e) => frame(&mut reply, b'E', format!("{e:#}").as_bytes())?,
    }
    reply.flush()?;
    Ok(())
}

/// A connection to the hub serving `data`, when one listens on its backup socket.
pub fn connect(data: &Path) -> Option<UnixStream> {
    UnixStream::connect(data.join(SOCKET)).ok()
}

/// Asks the serving hub on `stream` for a backup and writes it to `out` (as `hub backup` itself would:
/// `FILE.partial`, synced, renamed). Fails, leaving no file, when the hub reports an error or the bytes
/// received are not the ones it wrote.
pub fn request(stream: UnixStream, out: Output, encrypt: bool) -> anyhow::Result<BackupSummary> {
    let started = std::time::Instant::now();
    let mut done: Option<Done> = None;
    let (bytes, sha256, path) = super::emit(out, |w| {
        let mut s = stream;
        s.write_all(&serde_json::to_vec(&Request { encrypt })?)?;
        s.write_all(b"\n")?;
        s.flush()?;
        let mut r = BufReader::with_capacity(256 * 1024, s);
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let mut head = [0u8; 5];
            r.read_exact(&mut head)
                .context("the serving hub stopped before the backup was complete")?;
            let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]);
            match head[0] {
                b'D' => {
                    let mut left = len as usize;
                    while left > 0 {
                        let k = left.min(buf.len());
                        r.read_exact(&mut buf[..k])?;
                        w.write_all(&buf[..k])?;
                        left -= k;
                    }
                }
                tag @ (b'S' | b'E') if len <= MAX_SUMMARY => {
                    let mut body = vec![0u8; len as usize];
                    r.read_exact(&mut body)?;
                    if tag == b'E' {
                        anyhow::bail!(
                            "the serving hub could not make the backup: {}",
                            String::from_utf8_lossy(&body)
                        );
                    }
                    done = Some(serde_json::from_slice(&body)?);
                    w.flush()?;
                    return Ok(());
                }
                other => anyhow::bail!("unexpected answer {other} from the backup socket"),
            }
        }
    })?;
    let done = done.context("no summary from the serving hub")?;
    if done.bytes != bytes || done.sha256 != sha256 {
        if let Some(p) = &path {
            let _ = std::fs::remove_file(p);
        }
        anyhow::bail!(
            "the backup received from the serving hub is not the one it wrote ({bytes} bytes, sha256 \
             {sha256}; it wrote {} bytes, sha256 {}); nothing kept",
            done.bytes,
            done.sha256
        );
    }
    Ok(BackupSummary {
        manifest: done.manifest,
        bytes,
        sha256,
        note: done.note,
        seconds: started.elapsed().as_secs_f64().max(done.seconds),
        path,
    })
}

/// Whether `HUB_UNLOCK_*` asks this command to unlock the directory itself.
pub fn unlock_env_given() -> bool {
    ["HUB_UNLOCK_USER", "HUB_UNLOCK_IDENTITY"]
        .iter()
        .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::backup::{keys, verify, DataKeyCheck, Unlock};
    use crate::shared::datadir::DataDir;
    use crate::shared::{unlock, vault};

    /// The serving (unlocked) process makes the backup for a caller that has no key: the same encrypted
    /// archive, the database encrypted inside, written by the caller as FILE.partial then FILE; an error on
    /// the serving side reaches the caller and leaves no file.
    #[test]
    fn the_serving_hub_makes_the_backup_for_a_caller_without_the_key() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("field");
        let secret = "Nguyễn Thị Ổ Cắm 079301003344";
        {
            let dir = DataDir::open_or_create(&data, Some(protocol::HubMode::Field), Some("Trạm"))
                .unwrap();
            let k = keys::new_recovery_key(&data, false).unwrap();
            use age::secrecy::ExposeSecret;
            std::fs::write(
                tmp.path().join("recovery.key"),
                format!("{}\n", k.secret.expose_secret()),
            )
            .unwrap();
            dir.db
                .call_sync(|c| crate::shared::store::meta_set(c, "test_secret", secret))
                .unwrap();
            let holder = vault::keyring::Holder {
                user_id: "u1",
                name_key: "quantri",
                role: "admin",
                password_hash: "hash-1",
            };
            unlock::protect(&dir.db, &data, "Trạm", &holder, "mat-khau-quan-tri").unwrap();
        }
        serve(&data).unwrap();
        let mode = std::fs::metadata(data.join(SOCKET))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        let out = tmp.path().join("field.hubbackup");
        let s = request(connect(&data).unwrap(), Output::File(out.clone()), true).unwrap();
        assert!(s.manifest.protected);
        assert_eq!(s.path.as_deref(), Some(out.as_path()));
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(bytes.len() as u64, s.bytes);
        assert!(bytes.starts_with(b"age-encryption.org/v1"));
        // The archive opens with the recovery key and the data key comes from its escrow copy.
        vault::forget(&data);
        let r = verify(
            &out,
            &Unlock {
                identity: Some(tmp.path().join("recovery.key")),
                passphrase_file: None,
            },
        )
        .unwrap();
        assert!(matches!(r.data_key, Some(DataKeyCheck::Opened { .. })));
        assert!(r.info.counts.contains_key("users"));
        // The serving process is locked again here: it says so instead of waiting on itself.
        let err = request(
            connect(&data).unwrap(),
            Output::File(tmp.path().join("locked.hubbackup")),
            true,
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("serving but locked"), "{err:#}");
        unlock::unlock_password(&data, "quantri", "mat-khau-quan-tri").unwrap();

        // No backup key (the recovery key removed): the serving hub's refusal reaches the caller.
        std::fs::remove_file(data.join(keys::RECOVERY_FILE)).unwrap();
        let refused = tmp.path().join("refused.hubbackup");
        let err =
            request(connect(&data).unwrap(), Output::File(refused.clone()), true).unwrap_err();
        assert!(
            format!("{err:#}").contains("could not make the backup"),
            "{err:#}"
        );
        assert!(!refused.exists());
        assert!(!tmp.path().join("refused.hubbackup.partial").exists());
        // A plain archive (`--unencrypted`) of a protected hub still holds the database encrypted.
        let plain = tmp.path().join("plain.tar");
        request(connect(&data).unwrap(), Output::File(plain.clone()), false).unwrap();
        let bytes = std::fs::read(&plain).unwrap();
        assert!(!bytes.windows(9).any(|w| w == b"079301003"), "PIN in clear");
        assert!(!bytes.windows(15).any(|w| w == b"SQLite format 3"));
        vault::forget(&data);
    }
}
