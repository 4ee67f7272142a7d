//! Recorded audio prompts: the formats accepted (sniffed from the bytes, never from a header or a file
//! name) and the size limit.

/// Largest accepted recording. A spoken label or guide step of ~30 s in Opus is well under this.
pub const MAX_AUDIO_BYTES: usize = 1024 * 1024;

/// Shortest plausible recording (a container header alone is not a prompt).
pub const MIN_AUDIO_BYTES: usize = 64;

/// The container type of an audio recording, from its first bytes: WebM (what Chromium and Firefox's
/// MediaRecorder make), Ogg (Firefox, some Android recorders) or MP4/M4A (Safari, iOS voice memos).
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.len() < MIN_AUDIO_BYTES {
        return None;
    }
    // EBML header, then a DocType element (0x42 0x82) whose value is "webm", within the header.
    if bytes.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        let head = &bytes[..bytes.len().min(64)];
        if head
            .windows(6)
            .any(|w| w == [0x42, 0x82, 0x84, b'w', b'e', b'b'])
            || head.windows(4).any(|w| w == b"webm")
        {
            return Some("audio/webm");
        }
        return None;
    }
    // Ogg page: "OggS", stream structure version 0.
    if bytes.starts_with(b"OggS") && bytes[4] == 0 {
        return Some("audio/ogg");
    }
    // ISO BMFF: a first box of type "ftyp" with a known brand.
    if &bytes[4..8] == b"ftyp" {
        let size = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        let brand = &bytes[8..12];
        const BRANDS: &[&[u8; 4]] = &[
            b"M4A ", b"M4B ", b"mp41", b"mp42", b"isom", b"iso2", b"iso5", b"iso6", b"dash",
            b"3gp4", b"3gp5", b"3gp6",
        ];
        if (8..=bytes.len()).contains(&size) && BRANDS.iter().any(|b| b.as_slice() == brand) {
            return Some("audio/mp4");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pad(mut v: Vec<u8>) -> Vec<u8> {
        v.resize(200, 0);
        v
    }

    #[test]
    fn recognises_the_three_containers() {
        let webm = pad(vec![
            0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84, b'w', b'e',
            b'b', b'm',
        ]);
        assert_eq!(sniff(&webm), Some("audio/webm"));
        assert_eq!(sniff(&pad(b"OggS\0\x02".to_vec())), Some("audio/ogg"));
        assert_eq!(
            sniff(&pad(b"\0\0\0\x20ftypM4A \0\0\0\0".to_vec())),
            Some("audio/mp4")
        );
    }

    #[test]
    fn refuses_other_bytes() {
        assert_eq!(sniff(&pad(b"hello, this is text".to_vec())), None);
        assert_eq!(sniff(b"OggS\0"), None, "too short");
        // Matroska video is EBML too, but not WebM.
        let mkv = pad(vec![
            0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x82, 0x88, b'm', b'a', b't', b'r', b'o', b's',
            b'k', b'a',
        ]);
        assert_eq!(sniff(&mkv), None);
        assert_eq!(
            sniff(&pad(b"\xff\xd8\xff\xe0JFIF".to_vec())),
            None,
            "a JPEG"
        );
    }
}
