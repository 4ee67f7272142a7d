//! The hub's USB receipt printer: which device (`--printer auto|off|PATH`), found at start, every two
//! seconds (plugged in during a session) and at every print; writing one receipt's bytes to it, one print
//! at a time, with the paper status asked first where the printer answers. Nothing is queued: a print
//! that fails is reported to the officer, who retries it.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use tokio_util::sync::CancellationToken;

use super::escpos::{PAPER_END, PAPER_STATUS_REQUEST};

/// Where the hub's printer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    /// The first `/dev/usb/lp*`.
    Auto,
    /// No hub printer (phones print over Bluetooth).
    Off,
    /// Exactly this path: a printer device, or (tests) a regular file or a pty standing in for one.
    Path(PathBuf),
}

impl Setting {
    /// `auto`, `off`, or an absolute path.
    pub fn parse(s: &str) -> Result<Setting, String> {
        match s.trim() {
            "" | "auto" => Ok(Setting::Auto),
            "off" | "none" => Ok(Setting::Off),
            p if p.starts_with('/') => Ok(Setting::Path(PathBuf::from(p))),
            p => Err(format!(
                "`{p}` is not a printer setting: auto, off, or an absolute path such as /dev/usb/lp0"
            )),
        }
    }

    pub fn label(&self) -> String {
        match self {
            Setting::Auto => "auto".into(),
            Setting::Off => "off".into(),
            Setting::Path(p) => p.display().to_string(),
        }
    }
}

/// Where USB printers appear (the kernel's usblp driver).
const USB_DIR: &str = "/dev/usb";

/// The first `lp<N>` of `dir`, by number.
pub fn first_lp(dir: &Path) -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let n: u32 = name.strip_prefix("lp")?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    found.sort();
    found.into_iter().next().map(|(_, p)| p)
}

/// Why a print did not happen.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PrintError {
    #[error("the hub printer is off")]
    Off,
    #[error("no printer found")]
    Absent,
    #[error("the printer is out of paper")]
    NoPaper,
    #[error("the printer could not be written: {0}")]
    Failed(String),
}

/// The hub's printer.
pub struct Printer {
    pub setting: Setting,
    lock: tokio::sync::Mutex<()>,
    seen: std::sync::Mutex<Option<PathBuf>>,
}

/// How long a print may take to be written (a 15 cm slip is about 25 KB; a slow printer takes 2-3 s).
const WRITE_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a printer has to answer the paper status request.
const STATUS_TIMEOUT: Duration = Duration::from_millis(400);

impl Printer {
    pub fn new(setting: Setting) -> Printer {
        Printer {
            setting,
            lock: tokio::sync::Mutex::new(()),
            seen: std::sync::Mutex::new(None),
        }
    }

    /// The printer device now, if one is there.
    pub fn find(&self) -> Option<PathBuf> {
        match &self.setting {
            Setting::Off => None,
            Setting::Auto => first_lp(Path::new(USB_DIR)),
            Setting::Path(p) => p.exists().then(|| p.clone()),
        }
    }

    /// Looks for the printer again and logs when it came or went (no personal data).
    pub fn rescan(&self) -> Option<PathBuf> {
        let now = self.find();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if *seen != now {
            match &now {
                Some(p) => tracing::info!(device = %p.display(), "receipt printer found"),
                None => tracing::info!("receipt printer gone"),
            }
            seen.clone_from(&now);
        }
        now
    }

    /// The printer to oneself: one print (and its record) at a time.
    pub async fn hold(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.lock.lock().await
    }

    /// Writes `bytes` to the printer (held: [`Printer::hold`]), asking its paper status first when
    /// `status_query`. The device is looked for again first. Answers the device printed on.
    pub async fn print(
        &self,
        _held: &tokio::sync::MutexGuard<'_, ()>,
        bytes: Vec<u8>,
        status_query: bool,
    ) -> Result<PathBuf, PrintError> {
        if self.setting == Setting::Off {
            return Err(PrintError::Off);
        }
        let dev = self.rescan().ok_or(PrintError::Absent)?;
        let d = dev.clone();
        tokio::task::spawn_blocking(move || write_to(&d, &bytes, status_query))
            .await
            .map_err(|e| PrintError::Failed(e.to_string()))??;
        Ok(dev)
    }
}

/// Looks for the printer every two seconds until `cancel` fires.
pub async fn watch(printer: std::sync::Arc<Printer>, cancel: CancellationToken) {
    if printer.setting == Setting::Off {
        return;
    }
    loop {
        printer.rescan();
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
}

fn failed(e: std::io::Error) -> PrintError {
    match e.kind() {
        ErrorKind::NotFound => PrintError::Absent,
        // The kernel's usblp answers ENODEV once the printer is unplugged.
        _ if e.raw_os_error() == Some(19) => PrintError::Absent,
        ErrorKind::PermissionDenied => PrintError::Failed(
            "permission denied: the hub's user must be in the printer's group (deploy/udev)".into(),
        ),
        _ => PrintError::Failed(e.to_string()),
    }
}

fn ms(d: Duration) -> Timespec {
    Timespec {
        tv_sec: d.as_secs() as _,
        tv_nsec: d.subsec_nanos() as _,
    }
}

/// Blocking: writes `bytes` to the device at `path`.
fn write_to(path: &Path, bytes: &[u8], status_query: bool) -> Result<(), PrintError> {
    let meta = std::fs::metadata(path).map_err(failed)?;
    if meta.is_file() {
        // A stand-in for a printer (tests, a demo): the bytes are appended and made durable.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(failed)?;
        f.write_all(bytes).map_err(failed)?;
        return f.sync_data().map_err(failed);
    }
    if !(meta.file_type().is_char_device() || meta.file_type().is_fifo()) {
        return Err(PrintError::Failed(format!(
            "{} is not a printer device",
            path.display()
        )));
    }
    let nonblock =
        rustix::fs::OFlags::NONBLOCK.bits() as i32 | rustix::fs::OFlags::NOCTTY.bits() as i32;
    // Read and write to ask the paper status; write only when the device is write-only to us.
    let (mut f, readable) = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(nonblock)
        .open(path)
    {
        Ok(f) => (f, true),
        Err(_) => (
            std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(nonblock)
                .open(path)
                .map_err(failed)?,
            false,
        ),
    };
    if rustix::termios::isatty(&f) {
        // A serial or virtual printer: bytes pass as they are (no newline translation, no echo).
        if let Ok(mut t) = rustix::termios::tcgetattr(&f) {
            t.make_raw();
            let _ = rustix::termios::tcsetattr(&f, rustix::termios::OptionalActions::Now, &t);
        }
    }
    if status_query && readable {
        // Whatever the printer said before (an earlier answer nobody read): a bounded drain, since a
        // broken device may never stop talking.
        let mut junk = [0u8; 64];
        for _ in 0..16 {
            if !matches!(f.read(&mut junk), Ok(n) if n > 0) {
                break;
            }
        }
        write_all(
            &mut f,
            &PAPER_STATUS_REQUEST,
            Instant::now() + STATUS_TIMEOUT,
        )?;
        let mut fds = [PollFd::new(&f, PollFlags::IN)];
        if matches!(poll(&mut fds, Some(&ms(STATUS_TIMEOUT))), Ok(n) if n > 0) {
            let mut b = [0u8; 1];
            if let Ok(1) = f.read(&mut b) {
                if b[0] & PAPER_END == PAPER_END {
                    return Err(PrintError::NoPaper);
                }
            }
        }
    }
    write_all(&mut f, bytes, Instant::now() + WRITE_TIMEOUT)
}

/// Writes all of `bytes` to a non-blocking `f` before `deadline`.
fn write_all(f: &mut std::fs::File, mut bytes: &[u8], deadline: Instant) -> Result<(), PrintError> {
    while !bytes.is_empty() {
        match f.write(bytes) {
            Ok(0) => return Err(PrintError::Failed("the printer took no bytes".into())),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(PrintError::Failed(
                        "the printer stopped taking bytes (timed out)".into(),
                    ));
                }
                let mut fds = [PollFd::new(&*f, PollFlags::OUT)];
                let _ = poll(&mut fds, Some(&ms(left.min(Duration::from_millis(500)))));
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(failed(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse() {
        assert_eq!(Setting::parse("auto"), Ok(Setting::Auto));
        assert_eq!(Setting::parse("off"), Ok(Setting::Off));
        assert_eq!(
            Setting::parse("/dev/usb/lp1"),
            Ok(Setting::Path("/dev/usb/lp1".into()))
        );
        assert!(Setting::parse("lp0").is_err());
    }

    #[test]
    fn auto_takes_the_lowest_numbered_lp() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(first_lp(d.path()), None);
        for n in ["lp10", "lp2", "hiddev0"] {
            std::fs::write(d.path().join(n), b"").unwrap();
        }
        assert_eq!(first_lp(d.path()), Some(d.path().join("lp2")));
    }

    #[test]
    fn odd_devices_end_in_an_answer_not_a_hang() {
        // Reads never end (/dev/zero): the drain and the status read are bounded; the print goes on.
        write_to(Path::new("/dev/zero"), b"\x1b@", true).unwrap();
        // Refuses every write (/dev/full): a clear failure.
        assert!(matches!(
            write_to(Path::new("/dev/full"), b"\x1b@", true),
            Err(PrintError::Failed(_))
        ));
    }

    #[test]
    fn a_file_stands_in_for_a_printer_and_a_missing_one_is_absent() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("lp0");
        assert_eq!(write_to(&p, b"x", true), Err(PrintError::Absent));
        std::fs::write(&p, b"").unwrap();
        write_to(&p, b"\x1b@", true).unwrap();
        write_to(&p, b"\x1b@", true).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"\x1b@\x1b@");
        assert!(matches!(
            write_to(d.path(), b"x", false),
            Err(PrintError::Failed(_))
        ));
    }
}
