//! Recorded audio prompts: the formats accepted (recognised from the bytes, never from a header or a file
//! name) and the size limit. Recordings are stored as they come, with their real media type: converting
//! would need ffmpeg, which a Raspberry Pi kit may not have, and every phone browser plays these.

/// Largest accepted recording: about a minute of a phone's M4A, MP3, WebM or Ogg, about ten seconds of
/// 48 kHz mono WAV. A spoken label or guide step is a few seconds.
pub const MAX_AUDIO_BYTES: usize = 1024 * 1024;

/// Shortest plausible recording (a container header alone is not a prompt).
pub const MIN_AUDIO_BYTES: usize = 64;

/// An accepted recording format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// AAC (or ALAC) in an MP4/ISO-BMFF container: iPhone voice memos, Android recorders, Safari.
    M4a,
    /// MPEG-1/2 audio layer III, with or without an ID3v2 tag.
    Mp3,
    /// RIFF/WAVE, PCM or float.
    Wav,
    /// WebM (Matroska with DocType "webm"): Chromium's and Firefox's MediaRecorder.
    Webm,
    /// Ogg whose first stream is Opus: Firefox, WhatsApp-style recorders.
    OggOpus,
}

/// The accepted formats, as said in the 415 error and the file picker's `accept`.
pub const ACCEPTED: &str = "M4A, MP3, WAV, WebM (Opus), Ogg (Opus)";

impl Format {
    /// The media type served with the recording (what a phone browser plays).
    pub fn media_type(self) -> &'static str {
        match self {
            Format::M4a => "audio/mp4",
            Format::Mp3 => "audio/mpeg",
            Format::Wav => "audio/wav",
            Format::Webm => "audio/webm",
            Format::OggOpus => "audio/ogg",
        }
    }
}

/// The format of an audio recording, from its bytes; `None` when it is none of the accepted ones, or
/// is cut short (a header announcing more than there is).
pub fn detect(bytes: &[u8]) -> Option<Format> {
    if bytes.len() < MIN_AUDIO_BYTES {
        return None;
    }
    if bytes.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return webm(bytes).then_some(Format::Webm);
    }
    if bytes.starts_with(b"OggS") {
        return ogg_opus(bytes).then_some(Format::OggOpus);
    }
    if bytes.starts_with(b"RIFF") {
        return wav(bytes).then_some(Format::Wav);
    }
    if &bytes[4..8] == b"ftyp" {
        return m4a(bytes).then_some(Format::M4a);
    }
    mp3(bytes).then_some(Format::Mp3)
}

/// The media type of an accepted recording (see [`detect`]).
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    detect(bytes).map(Format::media_type)
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// An EBML variable-length integer at `at`: (value with the length marker removed, its length).
fn vint(b: &[u8], at: usize) -> Option<(u64, usize)> {
    let first = *b.get(at)?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 {
        return None;
    }
    let mut v = u64::from(first) & (0xFF >> len);
    for i in 1..len {
        v = (v << 8) | u64::from(*b.get(at + i)?);
    }
    Some((v, len))
}

/// WebM: an EBML header, whole, whose DocType is "webm", followed by a Segment element.
fn webm(b: &[u8]) -> bool {
    let Some((size, n)) = vint(b, 4) else {
        return false;
    };
    let body = 4 + n;
    let Some(end) = usize::try_from(size).ok().and_then(|s| s.checked_add(body)) else {
        return false;
    };
    if end + 4 > b.len() {
        return false;
    }
    // The header's elements: DocType (0x4282) must say "webm".
    let mut at = body;
    let mut doc_type = None;
    while at + 2 < end {
        let id_len = match b[at] {
            x if x & 0x80 != 0 => 1,
            x if x & 0x40 != 0 => 2,
            x if x & 0x20 != 0 => 3,
            x if x & 0x10 != 0 => 4,
            _ => return false,
        };
        let Some((len, n)) = vint(b, at + id_len) else {
            return false;
        };
        let start = at + id_len + n;
        let Some(stop) = usize::try_from(len).ok().and_then(|l| l.checked_add(start)) else {
            return false;
        };
        if stop > end {
            return false;
        }
        if b[at..at + id_len] == [0x42, 0x82] {
            doc_type = Some(&b[start..stop]);
        }
        at = stop;
    }
    doc_type == Some(b"webm".as_slice()) && b[end..end + 4] == [0x18, 0x53, 0x80, 0x67]
}

/// Ogg/Opus: a first page (version 0, beginning of stream) whole, carrying an "OpusHead" packet.
fn ogg_opus(b: &[u8]) -> bool {
    if b[4] != 0 || b[5] & 0x02 == 0 || b.len() < 27 {
        return false;
    }
    let segments = b[26] as usize;
    let Some(table) = b.get(27..27 + segments) else {
        return false;
    };
    let payload = 27 + segments;
    let len: usize = table.iter().map(|&x| x as usize).sum();
    payload + len <= b.len() && len >= 19 && b[payload..].starts_with(b"OpusHead")
}

/// WAV: RIFF/WAVE with a "fmt " chunk of PCM, float or extensible samples, then a "data" chunk whose
/// declared size is there (a recorder still writing may leave 0 or 0xFFFFFFFF: accepted).
fn wav(b: &[u8]) -> bool {
    if &b[8..12] != b"WAVE" {
        return false;
    }
    let mut at = 12;
    let mut fmt_ok = false;
    while let (Some(id), Some(size)) = (b.get(at..at + 4), le32(b, at + 4)) {
        let start = at + 8;
        let streaming = size == 0 || size == u32::MAX;
        if id == b"data" {
            return fmt_ok && (streaming || start + size as usize <= b.len()) && start < b.len();
        }
        let Some(stop) = start.checked_add(size as usize) else {
            return false;
        };
        if stop > b.len() {
            return false;
        }
        if id == b"fmt " {
            if size < 16 {
                return false;
            }
            let tag = u16::from_le_bytes([b[start], b[start + 1]]);
            let channels = u16::from_le_bytes([b[start + 2], b[start + 3]]);
            let rate = le32(b, start + 4).unwrap_or(0);
            fmt_ok = matches!(tag, 1 | 3 | 0xFFFE) && channels > 0 && rate > 0;
        }
        at = stop + (size as usize & 1); // chunks are padded to an even size
    }
    false
}

/// M4A: an "ftyp" box with an MP4 brand, every top-level box whole, and a "moov" box whose handler is
/// sound and none video (an MP4 film is not a recording).
fn m4a(b: &[u8]) -> bool {
    const BRANDS: &[&[u8; 4]] = &[
        b"M4A ", b"M4B ", b"mp41", b"mp42", b"isom", b"iso2", b"iso5", b"iso6", b"dash", b"3gp4",
        b"3gp5", b"3gp6", b"MSNV",
    ];
    if !BRANDS.iter().any(|x| x.as_slice() == &b[8..12]) {
        return false;
    }
    let mut at = 0;
    let mut moov = None;
    while at < b.len() {
        let Some(size) = be32(b, at) else {
            return false;
        };
        let (start, size) = match size {
            0 => (at + 8, (b.len() - at) as u64),
            1 => match b.get(at + 8..at + 16) {
                Some(x) => (at + 16, u64::from_be_bytes(x.try_into().unwrap_or([0; 8]))),
                None => return false,
            },
            s => (at + 8, u64::from(s)),
        };
        let Some(stop) = usize::try_from(size).ok().and_then(|s| s.checked_add(at)) else {
            return false;
        };
        if stop > b.len() || stop < start {
            return false;
        }
        if &b[at + 4..at + 8] == b"moov" {
            moov = Some(&b[start..stop]);
        }
        at = stop;
    }
    let Some(moov) = moov else {
        return false;
    };
    // A "hdlr" full box: size, "hdlr", version+flags (4), pre_defined (4), handler type.
    let handlers: Vec<&[u8]> = moov
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"hdlr")
        .filter_map(|(i, _)| moov.get(i + 12..i + 16))
        .collect();
    handlers.contains(&b"soun".as_slice()) && !handlers.contains(&b"vide".as_slice())
}

/// The length of an MPEG audio layer III frame whose header is at `b[at..at + 4]`, if it is one.
fn mp3_frame(b: &[u8], at: usize) -> Option<usize> {
    let h = b.get(at..at + 4)?;
    if h[0] != 0xFF || h[1] & 0xE0 != 0xE0 {
        return None;
    }
    let version = (h[1] >> 3) & 0b11; // 0: MPEG 2.5, 2: MPEG 2, 3: MPEG 1
    let layer = (h[1] >> 1) & 0b11; // 1: layer III
    let bitrate_i = (h[2] >> 4) as usize;
    let rate_i = ((h[2] >> 2) & 0b11) as usize;
    let padding = ((h[2] >> 1) & 1) as usize;
    if version == 1 || layer != 1 || bitrate_i == 0 || bitrate_i == 15 || rate_i == 3 {
        return None;
    }
    const V1: [usize; 15] = [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ];
    const V2: [usize; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
    let (kbps, rate, per) = match version {
        3 => (V1[bitrate_i], [44100, 48000, 32000][rate_i], 144),
        2 => (V2[bitrate_i], [22050, 24000, 16000][rate_i], 72),
        _ => (V2[bitrate_i], [11025, 12000, 8000][rate_i], 72),
    };
    Some(per * kbps * 1000 / rate + padding)
}

/// MP3: an optional ID3v2 tag, whole, then layer III frames, each whole, to the end of the file (or to
/// a closing ID3v1 or APE tag).
fn mp3(b: &[u8]) -> bool {
    let mut at = 0;
    if b.starts_with(b"ID3") {
        let s = &b[6..10];
        if s.iter().any(|x| x & 0x80 != 0) {
            return false;
        }
        let size = s.iter().fold(0usize, |a, &x| (a << 7) | x as usize);
        let footer = if b[5] & 0x10 != 0 { 10 } else { 0 };
        at = 10 + size + footer;
    }
    let mut frames = 0;
    while at < b.len() {
        let rest = &b[at..];
        if frames > 0
            && ((rest.starts_with(b"TAG") && rest.len() == 128) || rest.starts_with(b"APETAGEX"))
        {
            return true;
        }
        match mp3_frame(b, at) {
            Some(len) if at + len <= b.len() => {
                at += len;
                frames += 1;
            }
            _ => return false,
        }
    }
    frames > 0
}

/// Minimal but real recordings of each accepted format, for tests (here and in the integration tests):
/// silence, a fraction of a second.
pub mod samples {
    /// A 16 kHz mono 16-bit PCM WAV of `samples` samples (a 440 Hz tone, audible when played).
    pub fn wav(samples: usize) -> Vec<u8> {
        let data = samples * 2;
        let mut v = Vec::with_capacity(44 + data);
        v.extend_from_slice(b"RIFF");
        v.extend_from_slice(&((36 + data) as u32).to_le_bytes());
        v.extend_from_slice(b"WAVEfmt ");
        v.extend_from_slice(&16u32.to_le_bytes());
        v.extend_from_slice(&1u16.to_le_bytes()); // PCM
        v.extend_from_slice(&1u16.to_le_bytes()); // mono
        v.extend_from_slice(&16000u32.to_le_bytes());
        v.extend_from_slice(&32000u32.to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&16u16.to_le_bytes());
        v.extend_from_slice(b"data");
        v.extend_from_slice(&(data as u32).to_le_bytes());
        for i in 0..samples {
            let x = (i as f64 * 440.0 * std::f64::consts::TAU / 16000.0).sin() * 8000.0;
            v.extend_from_slice(&(x as i16).to_le_bytes());
        }
        v
    }

    /// An MP3 of `frames` silent MPEG-1 layer III frames, 32 kbit/s, 32 kHz, mono (144 bytes each), after
    /// an ID3v2.4 tag: all-zero side information and main data decode as silence.
    pub fn mp3(frames: usize) -> Vec<u8> {
        let mut v = b"ID3\x04\x00\x00\x00\x00\x00\x0a".to_vec();
        v.extend_from_slice(&[0; 10]); // padding inside the tag
        for _ in 0..frames {
            let mut f = vec![0xFF, 0xFB, 0x18, 0xC4];
            f.resize(144, 0);
            v.extend_from_slice(&f);
        }
        v
    }

    /// The header of a WebM file as MediaRecorder writes it (EBML header, DocType "webm", a Segment of
    /// unknown size with an Opus track), then `filler` bytes of cluster data.
    pub fn webm(filler: usize) -> Vec<u8> {
        let mut v = vec![
            0x1A, 0x45, 0xDF, 0xA3, 0x9F, // EBML, 31 bytes
            0x42, 0x86, 0x81, 0x01, // EBMLVersion 1
            0x42, 0xF7, 0x81, 0x01, // EBMLReadVersion 1
            0x42, 0xF2, 0x81, 0x04, // EBMLMaxIDLength 4
            0x42, 0xF3, 0x81, 0x08, // EBMLMaxSizeLength 8
            0x42, 0x82, 0x84, b'w', b'e', b'b', b'm', // DocType
            0x42, 0x87, 0x81, 0x04, // DocTypeVersion 4
            0x42, 0x85, 0x81, 0x02, // DocTypeReadVersion 2
            0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, // Segment
            0x16, 0x54, 0xAE, 0x6B, 0x8F, // Tracks
            0xAE, 0x8D, // TrackEntry
            0x86, 0x86, b'A', b'_', b'O', b'P', b'U', b'S', // CodecID
            0x83, 0x81, 0x02, // TrackType audio
            0xD7, 0x81, 0x01, // TrackNumber 1
        ];
        v.resize(v.len() + filler, 0);
        v
    }

    /// An Ogg/Opus file's first two pages (OpusHead, OpusTags), then `filler` bytes.
    pub fn ogg_opus(filler: usize) -> Vec<u8> {
        let page = |flags: u8, seq: u32, packet: &[u8]| {
            let mut p = b"OggS\0".to_vec();
            p.push(flags);
            p.extend_from_slice(&0u64.to_le_bytes()); // granule position
            p.extend_from_slice(&1u32.to_le_bytes()); // serial
            p.extend_from_slice(&seq.to_le_bytes());
            p.extend_from_slice(&0u32.to_le_bytes()); // CRC (not checked by browsers' sniffers either)
            p.push(1);
            p.push(packet.len() as u8);
            p.extend_from_slice(packet);
            p
        };
        let mut head = b"OpusHead\x01\x01".to_vec();
        head.extend_from_slice(&312u16.to_le_bytes()); // pre-skip
        head.extend_from_slice(&48000u32.to_le_bytes());
        head.extend_from_slice(&[0, 0, 0]); // gain, mapping family
        let mut v = page(0x02, 0, &head);
        v.extend(page(0, 1, b"OpusTags\x04\0\0\0okit\0\0\0\0"));
        v.resize(v.len() + filler, 0);
        v
    }

    /// An M4A: "ftyp" (M4A brand), a "moov" holding a sound handler, an "mdat" of `filler` bytes.
    pub fn m4a(filler: usize) -> Vec<u8> {
        let boxed = |kind: &[u8], body: &[u8]| {
            let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
            b.extend_from_slice(kind);
            b.extend_from_slice(body);
            b
        };
        let mut v = boxed(b"ftyp", b"M4A \0\0\0\0M4A mp42isom");
        let mut hdlr = vec![0; 8];
        hdlr.extend_from_slice(b"soun");
        hdlr.extend_from_slice(&[0; 12]);
        hdlr.extend_from_slice(b"SoundHandler\0");
        let mdia = boxed(b"mdia", &boxed(b"hdlr", &hdlr));
        let trak = boxed(b"trak", &mdia);
        v.extend(boxed(b"moov", &trak));
        v.extend(boxed(b"mdat", &vec![0; filler]));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_each_format_from_a_real_minimal_header() {
        assert_eq!(detect(&samples::m4a(100)), Some(Format::M4a));
        assert_eq!(detect(&samples::mp3(3)), Some(Format::Mp3));
        assert_eq!(detect(&samples::wav(100)), Some(Format::Wav));
        assert_eq!(detect(&samples::webm(100)), Some(Format::Webm));
        assert_eq!(detect(&samples::ogg_opus(100)), Some(Format::OggOpus));
        // An MP3 without a tag: the first frame at byte 0.
        assert_eq!(detect(&samples::mp3(2)[20..]), Some(Format::Mp3));
        assert_eq!(sniff(&samples::mp3(2)), Some("audio/mpeg"));
        assert_eq!(sniff(&samples::wav(100)), Some("audio/wav"));
        assert_eq!(sniff(&samples::m4a(100)), Some("audio/mp4"));
        assert_eq!(sniff(&samples::webm(100)), Some("audio/webm"));
        assert_eq!(sniff(&samples::ogg_opus(100)), Some("audio/ogg"));
    }

    /// A JPEG renamed "voice.mp3" (or .m4a, .wav): its bytes say JPEG.
    #[test]
    fn refuses_a_renamed_jpeg_and_other_bytes() {
        let mut jpeg =
            b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00".to_vec();
        jpeg.resize(2000, 0x11);
        assert_eq!(detect(&jpeg), None);
        assert_eq!(detect(&b"hello, this is text. ".repeat(10)), None);
        // Matroska video is EBML too, but not WebM.
        let mut mkv = samples::webm(100);
        mkv[24..28].copy_from_slice(b"matr");
        assert_eq!(detect(&mkv), None);
        // Ogg Vorbis or Theora: Ogg, not Opus.
        let mut vorbis = samples::ogg_opus(100);
        vorbis[28..36].copy_from_slice(b"\x01vorbis\0");
        assert_eq!(detect(&vorbis), None);
        // An MP4 film (a video handler) is not a recording.
        let mut film = samples::m4a(100);
        let at = film.windows(4).position(|w| w == b"soun").unwrap();
        film[at..at + 4].copy_from_slice(b"vide");
        assert_eq!(detect(&film), None);
        // RIFF but AVI.
        let mut avi = samples::wav(100);
        avi[8..12].copy_from_slice(b"AVI ");
        assert_eq!(detect(&avi), None);
        // MPEG layer II is not MP3.
        let mut mp2 = samples::mp3(3);
        mp2[21] = 0xFD;
        assert_eq!(detect(&mp2), None);
    }

    #[test]
    fn refuses_a_truncated_file() {
        assert_eq!(detect(&samples::webm(0)[..30]), None, "EBML header cut");
        assert_eq!(detect(&samples::wav(100)[..40]), None, "no data chunk");
        let wav = samples::wav(1000);
        assert_eq!(detect(&wav[..wav.len() - 10]), None, "data cut");
        let m4a = samples::m4a(500);
        assert_eq!(detect(&m4a[..m4a.len() - 1]), None, "mdat cut");
        assert_eq!(detect(&m4a[..100]), None, "moov cut");
        let mp3 = samples::mp3(3);
        assert_eq!(detect(&mp3[..mp3.len() - 10]), None, "last frame cut");
        assert_eq!(detect(&mp3[..100]), None, "first frame cut");
        let ogg = samples::ogg_opus(0);
        assert_eq!(detect(&ogg[..40]), None, "OpusHead page cut");
        assert_eq!(detect(b"OggS\0\x02"), None, "too short");
        // An ID3 tag announcing more than there is.
        let mut tag = samples::mp3(1);
        tag[9] = 0x7F;
        assert_eq!(detect(&tag), None);
    }
}
