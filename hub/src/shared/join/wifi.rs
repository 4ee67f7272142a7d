//! The Wi-Fi network that team phones and villagers join, as the join page's QR code writes it.

/// Wi-Fi security as written in a `WIFI:` QR code (`T:` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WifiSecurity {
    #[value(name = "WPA")]
    Wpa,
    #[value(name = "WEP")]
    Wep,
    #[value(name = "nopass")]
    Nopass,
}

impl WifiSecurity {
    pub fn as_str(self) -> &'static str {
        match self {
            WifiSecurity::Wpa => "WPA",
            WifiSecurity::Wep => "WEP",
            WifiSecurity::Nopass => "nopass",
        }
    }
}

/// The Wi-Fi network that team phones and villagers join, for the join QR code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WifiConfig {
    pub ssid: String,
    pub security: WifiSecurity,
    /// `None` for an open network.
    pub password: Option<String>,
}

impl WifiConfig {
    /// The `WIFI:T:…;S:…;P:…;;` text that phone cameras read, with `\ ; , : "` escaped by a backslash.
    pub fn qr_text(&self) -> String {
        let mut s = format!(
            "WIFI:T:{};S:{};",
            self.security.as_str(),
            wifi_escape(&self.ssid)
        );
        if let Some(p) = &self.password {
            s.push_str(&format!("P:{};", wifi_escape(p)));
        }
        s.push(';');
        s
    }
}

/// Escapes the characters that are special in a `WIFI:` QR code.
pub fn wifi_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | ';' | ',' | ':' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
