//! How a unit's label is written in a sentence (pure): "Xã Bù Gia Mập, Thành phố Đồng Nai" as a form's
//! "Kính gửi" or an export's addressee writes it. Shared by the printed forms and the exports.

/// The unit kinds a label starts with ("Xã Bù Gia Mập, Thành phố Đồng Nai").
pub const KINDS: &[&str] = &["Xã", "Phường", "Đặc khu", "Thị trấn", "Tỉnh", "Thành phố"];

/// A unit label written inside a sentence: each part's kind in lower case ("xã Bù Gia Mập, tỉnh Đồng
/// Nai").
pub fn in_sentence(label: &str) -> String {
    label
        .split(", ")
        .map(|part| {
            KINDS
                .iter()
                .find(|k| part.starts_with(&format!("{k} ")))
                .map(|k| format!("{}{}", k.to_lowercase(), &part[k.len()..]))
                .unwrap_or_else(|| part.to_owned())
        })
        .collect::<Vec<_>>()
        .join(", ")
}
