//! Languages and audio prompts on a real hub: an admin adds a language and others cannot; a translation
//! round trip (NFC); audio uploads are sniffed and size-limited, played publicly with an ETag; guides are
//! public and list the documents to bring from the catalogue; both hub modes serve them.

use crate::common::*;
use hub::shared::lang::audio::samples;
use serde_json::{json, Value};

/// A WebM as MediaRecorder starts it (EBML header, DocType "webm", Segment, Opus track), padded to `len`.
fn webm_bytes(len: usize) -> Vec<u8> {
    let mut v = samples::webm(0);
    v.resize(len, 0x55);
    v
}

fn ogg_bytes() -> Vec<u8> {
    samples::ogg_opus(200)
}

async fn put_bytes(c: &Client, path: &str, bytes: Vec<u8>, ctype: &str) -> (u16, Value) {
    let r = c
        .http
        .put(format!("{}{}", c.base, path))
        .header("x-csrf-token", &c.csrf)
        .header("content-type", ctype)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn codes(b: &Value) -> Vec<String> {
    b["languages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn languages_translations_audio_and_guides() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("field");
    // Created beforehand so that `serve` prints its setup link at once (the shared start-up wait reads the
    // link only until the hub answers).
    cli_ok(
        &["init", "--mode", "field", "--data", dir.to_str().unwrap()],
        &[],
    );
    let hub = Hub::start("field", &dir);
    block_on(async {
        let admin = Client::setup(&hub, "quantri", "mat-khau-quan-tri").await;
        let (s, b) = admin
            .post(
                "/api/v1/users",
                json!({"name": "tinhnguyen", "role": "volunteer", "password": "mat-khau-tnv"}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        let vol = Client::login(&hub.base, "tinhnguyen", "mat-khau-tnv").await;
        let anon = Client::new(&hub.base);

        // Public list: the two built-in languages.
        let (s, b) = anon.get("/api/v1/languages").await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(codes(&b), ["vi", "en"]);
        let total = b["total"].as_u64().unwrap();
        assert!(total > 200, "UI, catalogue and guide texts: {total}");

        // Only an admin adds a language; with the CSRF token.
        let stg = json!({"code": "stg", "native_name": "Xtiêng", "vi_name": "Xtiêng", "en_name": "Stieng", "has_script": true});
        let (s, b) = anon.post("/api/v1/languages", stg.clone()).await;
        assert_eq!(s, 401, "{b}");
        let (s, b) = vol.post("/api/v1/languages", stg.clone()).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (403, Some("forbidden")),
            "{b}"
        );
        let no_csrf = Client {
            http: admin.http.clone(),
            base: admin.base.clone(),
            csrf: String::new(),
        };
        let (s, b) = no_csrf.post("/api/v1/languages", stg.clone()).await;
        assert_eq!((s, b["error"]["code"].as_str()), (403, Some("csrf")), "{b}");
        let (s, b) = admin.post("/api/v1/languages", stg.clone()).await;
        assert_eq!(s, 201, "{b}");
        assert_eq!(b["code"], "stg");
        assert_eq!(b["translated"], 0);
        assert_eq!(b["total"].as_u64(), Some(total));
        let (s, b) = admin.post("/api/v1/languages", stg.clone()).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (409, Some("conflict")),
            "{b}"
        );
        for (code, field) in [("vi", "code"), ("x y", "code"), ("abcd", "code")] {
            let mut body = stg.clone();
            body["code"] = json!(code);
            let (s, b) = admin.post("/api/v1/languages", body).await;
            assert!(s == 400 || s == 409, "{code}: {s} {b}");
            assert_eq!(b["error"]["field"], field);
        }
        let (s, b) = admin
            .post(
                "/api/v1/languages",
                json!({"code": "rog", "native_name": "", "vi_name": "Raglai", "has_script": false}),
            )
            .await;
        assert_eq!(
            (s, b["error"]["field"].as_str()),
            (400, Some("native_name")),
            "{b}"
        );
        let (s, b) = admin
            .post(
                "/api/v1/languages",
                json!({"code": "rog", "native_name": "Raglai", "vi_name": "Ra Glai", "has_script": false}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        let (_, b) = anon.get("/api/v1/languages").await;
        assert_eq!(codes(&b), ["vi", "en", "stg", "rog"]);
        // Editing is for admins too.
        let (s, _) = vol
            .put(
                "/api/v1/languages/rog",
                json!({"native_name": "Raglai", "vi_name": "Raglai", "has_script": false}),
            )
            .await;
        assert_eq!(s, 403);
        let (s, b) = admin
            .put(
                "/api/v1/languages/rog",
                json!({"native_name": "Raglai", "vi_name": "Raglai", "has_script": false}),
            )
            .await;
        assert_eq!((s, b["vi_name"].as_str()), (200, Some("Raglai")), "{b}");

        // Translation round trip by a team member, stored NFC (typed decomposed here).
        let decomposed = "Nga\u{302}\u{301}i kho\u{302}n"; // "Ngấi khôn" in decomposed form
        let (s, b) = vol
            .put(
                "/api/v1/languages/stg/strings/nav.languages",
                json!({"text": format!("  {decomposed}\r\n")}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["text"], "Ngấi khôn");
        let (s, b) = anon.get("/api/v1/languages/stg/strings").await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["strings"]["nav.languages"], "Ngấi khôn");
        assert_eq!(b["strings"].as_object().unwrap().len(), 1);
        assert_eq!(b["language"]["translated"], 1);
        // Catalogue labels are keyed by their Vietnamese wording.
        let title_key = b["catalogue_keys"]["Cấp Giấy xác nhận tình trạng hôn nhân"]
            .as_str()
            .expect("catalogue key of a procedure title")
            .to_string();
        let (s, b) = vol
            .put(
                &format!("/api/v1/languages/stg/strings/{title_key}"),
                json!({"text": "Giấy hôn nhân (Xtiêng)"}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        // The team's list of keys shows source, translation and context.
        let (s, _) = anon.get("/api/v1/languages/stg/keys").await;
        assert_eq!(s, 401);
        let (s, b) = vol.get("/api/v1/languages/stg/keys").await;
        assert_eq!(s, 200, "{b}");
        let keys = b["keys"].as_array().unwrap();
        assert_eq!(keys.len() as u64, total);
        let row = keys.iter().find(|k| k["key"] == title_key).unwrap();
        assert_eq!(row["group"], "catalogue");
        assert_eq!(row["text"], "Giấy hôn nhân (Xtiêng)");
        assert!(keys
            .iter()
            .any(|k| k["key"] == "guide.birth-residence-insurance.step.1"));
        // Unknown keys, unknown languages, built-in languages and unwritten languages are refused.
        let (s, _) = vol
            .put(
                "/api/v1/languages/stg/strings/no.such.key",
                json!({"text": "x"}),
            )
            .await;
        assert_eq!(s, 404);
        let (s, _) = vol
            .put(
                "/api/v1/languages/xyz/strings/nav.languages",
                json!({"text": "x"}),
            )
            .await;
        assert_eq!(s, 404);
        let (s, b) = vol
            .put(
                "/api/v1/languages/vi/strings/nav.languages",
                json!({"text": "x"}),
            )
            .await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (409, Some("built_in")),
            "{b}"
        );
        let (s, b) = vol
            .put(
                "/api/v1/languages/rog/strings/nav.languages",
                json!({"text": "x"}),
            )
            .await;
        assert_eq!(
            (s, b["error"]["code"].as_str(), b["error"]["field"].as_str()),
            (409, Some("no_script"), Some("text")),
            "{b}"
        );
        // An empty text clears the translation.
        let (s, b) = vol
            .put(
                &format!("/api/v1/languages/stg/strings/{title_key}"),
                json!({"text": "  "}),
            )
            .await;
        assert_eq!((s, b["text"].clone()), (200, Value::Null), "{b}");

        // Audio: sniffed, size-limited, public to play, cacheable by ETag.
        let audio = "/api/v1/languages/stg/audio/nav.languages";
        let (s, _) = put_bytes(&anon, audio, webm_bytes(4000), "audio/webm").await;
        assert_eq!(s, 401);
        let text_as_webm =
            b"This is a text file renamed voice.webm, not a recording at all. ".repeat(20);
        let (s, b) = put_bytes(&vol, audio, text_as_webm, "audio/webm").await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (415, Some("unsupported_media")),
            "{b}"
        );
        let (s, b) = put_bytes(&vol, audio, webm_bytes(1024 * 1024 + 1), "audio/webm").await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (413, Some("too_large")),
            "{b}"
        );
        let (s, _) = put_bytes(
            &vol,
            "/api/v1/languages/stg/audio/no.such.key",
            webm_bytes(4000),
            "audio/webm",
        )
        .await;
        assert_eq!(s, 404);
        let bytes = webm_bytes(1024 * 1024);
        let sha = protocol::sha256_hex(&bytes);
        // The declared type is ignored: the bytes decide.
        let (s, b) = put_bytes(&vol, audio, bytes.clone(), "text/plain").await;
        assert_eq!(s, 201, "{b}");
        assert_eq!(b["media_type"], "audio/webm");
        assert_eq!(b["sha256"], sha.as_str());
        assert_eq!(b["size"], 1024 * 1024);
        // Vietnamese prompts too (villagers who do not read).
        let (s, b) = put_bytes(
            &vol,
            "/api/v1/languages/vi/audio/nav.languages",
            ogg_bytes(),
            "audio/ogg",
        )
        .await;
        assert_eq!(
            (s, b["media_type"].as_str()),
            (201, Some("audio/ogg")),
            "{b}"
        );

        let r = anon.http.get(hub.url(audio)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "audio/webm");
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        assert_eq!(etag, format!("\"{sha}\""));
        assert_eq!(r.headers()["cache-control"], "public, no-cache");
        assert_eq!(r.bytes().await.unwrap().to_vec(), bytes);
        let r = anon
            .http
            .get(hub.url(audio))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304);
        let r = anon
            .http
            .get(hub.url(&format!("{audio}?v={sha}")))
            .send()
            .await
            .unwrap();
        assert!(r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable"));
        let (_, b) = anon.get("/api/v1/languages/stg/strings").await;
        assert_eq!(b["audio"]["nav.languages"], sha.as_str());
        assert_eq!(b["language"]["recorded"], 1);
        let (_, b) = anon.get("/api/v1/languages/vi/strings").await;
        assert_eq!(b["audio"].as_object().unwrap().len(), 1);
        // Delete: team only, then gone.
        let no_csrf = Client {
            http: vol.http.clone(),
            base: vol.base.clone(),
            csrf: "wrong".into(),
        };
        let (s, _) = no_csrf
            .send(reqwest::Method::DELETE, audio, json!({}))
            .await;
        assert_eq!(s, 403);
        let (s, _) = vol.send(reqwest::Method::DELETE, audio, json!({})).await;
        assert_eq!(s, 200);
        let (s, _) = anon.get(audio).await;
        assert_eq!(s, 404);

        // Guides: public, with the catalogue's documents.
        let (s, b) = anon.get("/api/v1/guides").await;
        assert_eq!(s, 200, "{b}");
        let ids: Vec<&str> = b["guides"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["procedure"]["id"].as_str().unwrap())
            .collect();
        // One guide per built-in procedure, each from its package.
        let mut builtin: Vec<&str> = protocol::builtin_packages()
            .iter()
            .map(|p| p.procedure.id.as_str())
            .collect();
        builtin.dedup();
        assert_eq!(ids, builtin);
        assert!(
            ids.contains(&"death-registration-group"),
            "the death group's guide, from its package"
        );
        let (s, g) = anon.get("/api/v1/guides/marital-status-certificate").await;
        assert_eq!(s, 200, "{g}");
        // The guide follows the version in force today (catalogue v2).
        let def = protocol::in_force("marital-status-certificate", hub::shared::clock::today_vn())
            .unwrap();
        assert_eq!(g["procedure"]["version"], def.version);
        let bring = g["bring"].as_array().unwrap();
        assert_eq!(bring.len(), def.documents.len());
        for d in &def.documents {
            let b = bring.iter().find(|b| b["role"] == d.role.as_str()).unwrap();
            assert_eq!(b["label"]["vi"], d.label.vi.as_str());
            assert_eq!(b["original"], d.original);
            assert!(b["label"]["key"].as_str().unwrap().starts_with("cat."));
        }
        let previous = bring
            .iter()
            .find(|b| b["role"] == "previous_certificate")
            .unwrap();
        assert_eq!(
            previous["when"]["field"]["vi"],
            "Giấy xác nhận tình trạng hôn nhân đã cấp trước đây"
        );
        assert_eq!(previous["when"]["value"]["vi"], "Đã được cấp");
        assert_eq!(g["time_limit"]["working_days"], 3);
        assert_eq!(
            g["time_limit"]["extended_working_days"],
            serde_json::Value::Null,
            "no 23-day limit: no legal source"
        );
        assert_eq!(g["title"]["key"], title_key.as_str());
        assert!(g["steps"].as_array().unwrap().len() >= 4);
        assert_eq!(
            g["steps"][0]["key"],
            "guide.marital-status-certificate.step.1"
        );
        let (s, g) = anon.get("/api/v1/guides/birth-residence-insurance").await;
        assert_eq!(s, 200);
        let pickup = g["bring"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["role"] == "requester_id")
            .unwrap();
        assert_eq!(pickup["visit"], "pickup");
        assert_eq!(g["time_limit"]["extended_working_days"], 5);
        assert!(g["fees"]["vi"].as_str().unwrap().contains("60 ngày"));
        let (s, _) = anon.get("/api/v1/guides/no-such-procedure").await;
        assert_eq!(s, 404);

        // Removing a language takes its texts and recordings along (admin only).
        let (s, _) = vol
            .send(reqwest::Method::DELETE, "/api/v1/languages/rog", json!({}))
            .await;
        assert_eq!(s, 403);
        let (s, _) = admin
            .send(reqwest::Method::DELETE, "/api/v1/languages/rog", json!({}))
            .await;
        assert_eq!(s, 200);
        let (_, b) = anon.get("/api/v1/languages").await;
        assert_eq!(codes(&b), ["vi", "en", "stg"]);
    });

    // An office hub serves the same public routes.
    let office = Hub::start("office", &tmp.path().join("office"));
    block_on(async {
        let anon = Client::new(&office.base);
        let (s, b) = anon.get("/api/v1/guides/birth-residence-insurance").await;
        assert_eq!(s, 200, "{b}");
        let (s, b) = anon.get("/api/v1/languages").await;
        assert_eq!(
            (s, codes(&b)),
            (200, vec!["vi".to_string(), "en".to_string()])
        );
    });
}

/// Issue 25: recordings from a phone's file picker. Each accepted format (M4A, MP3, WAV, WebM/Opus,
/// Ogg/Opus, made by `audio::samples`) is stored as it is and served with its real media type, whatever
/// type the upload declared; a renamed JPEG and a cut-short file are refused with the accepted formats.
/// And the recording plan: the texts villagers meet come first, by page, counted.
#[test]
fn phone_recordings_of_every_format_and_the_recording_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("field");
    cli_ok(
        &["init", "--mode", "field", "--data", dir.to_str().unwrap()],
        &[],
    );
    let hub = Hub::start("field", &dir);
    block_on(async {
        let admin = Client::setup(&hub, "quantri", "mat-khau-quan-tri").await;
        let anon = Client::new(&hub.base);
        let (s, b) = admin
            .post(
                "/api/v1/languages",
                json!({"code": "stg", "native_name": "Xtiêng", "vi_name": "Xtiêng", "has_script": true}),
            )
            .await;
        assert_eq!(s, 201, "{b}");

        // What a phone's file picker gives: the declared type is often wrong or generic.
        let files: [(&str, Vec<u8>, &str, &str); 5] = [
            ("voice.m4a", samples::m4a(4000), "audio/x-m4a", "audio/mp4"),
            (
                "voice.mp3",
                samples::mp3(30),
                "application/octet-stream",
                "audio/mpeg",
            ),
            ("voice.wav", samples::wav(8000), "audio/x-wav", "audio/wav"),
            (
                "voice.webm",
                samples::webm(3000),
                "video/webm",
                "audio/webm",
            ),
            (
                "voice.ogg",
                samples::ogg_opus(3000),
                "audio/opus",
                "audio/ogg",
            ),
        ];
        for (i, (name, bytes, declared, real)) in files.iter().enumerate() {
            let key = [
                "self.send",
                "self.done_show",
                "self.ticket",
                "guides.bring",
                "slip.heading",
            ][i];
            let path = format!("/api/v1/languages/stg/audio/{key}");
            let (s, b) = put_bytes(&admin, &path, bytes.clone(), declared).await;
            assert_eq!(s, 201, "{name}: {b}");
            assert_eq!(b["media_type"], *real, "{name}");
            assert_eq!(b["size"], bytes.len(), "{name}");
            let r = anon.http.get(hub.url(&path)).send().await.unwrap();
            assert_eq!(r.status(), 200, "{name}");
            assert_eq!(
                r.headers()["content-type"],
                *real,
                "{name}: served as what it is"
            );
            assert_eq!(
                r.bytes().await.unwrap().to_vec(),
                *bytes,
                "{name}: stored as it came"
            );
        }
        let (_, b) = anon.get("/api/v1/languages/stg").await;
        assert_eq!(b["recorded"], 5, "{b}");

        // A JPEG renamed voice.mp3, declared as audio: refused by its bytes, the formats listed.
        let mut jpeg =
            b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00".to_vec();
        jpeg.resize(5000, 0x42);
        let path = "/api/v1/languages/stg/audio/self.intro";
        let (s, b) = put_bytes(&admin, path, jpeg, "audio/mpeg").await;
        assert_eq!(
            (s, b["error"]["code"].as_str(), b["error"]["field"].as_str()),
            (415, Some("unsupported_media"), Some("file")),
            "{b}"
        );
        let en = b["error"]["message_en"].as_str().unwrap_or_default();
        let vi = b["error"]["message_vi"].as_str().unwrap_or_default();
        for f in ["M4A", "MP3", "WAV", "WebM", "Ogg"] {
            assert!(en.contains(f) && vi.contains(f), "{f} named in {b}");
        }
        assert!(vi.contains("Định dạng nhận"), "{b}");
        // Cut short (an upload broken off, a copy not finished): refused too.
        let m4a = samples::m4a(4000);
        let (s, b) = put_bytes(&admin, path, m4a[..m4a.len() - 100].to_vec(), "audio/mp4").await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (415, Some("unsupported_media")),
            "{b}"
        );
        let wav = samples::wav(8000);
        let (s, _) = put_bytes(&admin, path, wav[..wav.len() / 2].to_vec(), "audio/wav").await;
        assert_eq!(s, 415);
        // Over 1 MiB: 413 with a clear message, whatever the format.
        let (s, b) = put_bytes(&admin, path, samples::wav(600_000), "audio/wav").await;
        assert_eq!(
            (s, b["error"]["code"].as_str(), b["error"]["field"].as_str()),
            (413, Some("too_large"), Some("file")),
            "{b}"
        );
        assert!(
            b["error"]["message_vi"].as_str().unwrap().contains("1 MB"),
            "{b}"
        );
        let (s, _) = anon.get(path).await;
        assert_eq!(s, 404, "nothing refused was stored");

        // The recording plan: every text says where villagers meet it; theirs come first, page by page.
        let (s, b) = admin.get("/api/v1/languages/stg/keys").await;
        assert_eq!(s, 200, "{b}");
        let keys = b["keys"].as_array().unwrap();
        let order = ["front", "guides", "predeclare", "status", "slip", "team"];
        let rank = |k: &Value| {
            order
                .iter()
                .position(|p| k["page"] == *p)
                .unwrap_or_else(|| panic!("page of {k}"))
        };
        assert!(
            keys.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])),
            "villagers' pages first, in order"
        );
        for k in keys {
            let villager = k["page"] != "team";
            assert_eq!(
                k["audience"],
                if villager { "villager" } else { "team" },
                "{k}"
            );
        }
        let page_of = |key: &str| keys.iter().find(|k| k["key"] == key).unwrap()["page"].clone();
        assert_eq!(page_of("self.send"), "predeclare");
        assert_eq!(page_of("self.look_up"), "status");
        assert_eq!(page_of("slip.heading"), "slip");
        assert_eq!(page_of("guide.marital-status-certificate.step.1"), "guides");
        assert_eq!(page_of("ledger.title"), "team");
        let (_, strings) = anon.get("/api/v1/languages/stg/strings").await;
        let title_key = strings["catalogue_keys"]["Cấp Giấy xác nhận tình trạng hôn nhân"]
            .as_str()
            .unwrap();
        assert_eq!(page_of(title_key), "guides");
        // The villager's own form fields are on the pre-declaration (as the public form serves them).
        let (_, form) = anon
            .get("/api/v1/public/predeclare/marital-status-certificate")
            .await;
        for g in form["procedure"]["groups"].as_array().unwrap() {
            for f in g["fields"].as_array().unwrap() {
                let key = strings["catalogue_keys"][f["label"]["vi"].as_str().unwrap()]
                    .as_str()
                    .unwrap();
                let p = page_of(key);
                assert!(p == "guides" || p == "predeclare", "{}: {p}", f["key"]);
            }
        }
        let villager: Vec<&Value> = keys
            .iter()
            .filter(|k| k["audience"] == "villager")
            .collect();
        let mut per_page = String::new();
        for p in &order[..5] {
            let n = villager.iter().filter(|k| k["page"] == *p).count();
            per_page += &format!(" {p} {n};");
        }
        let recorded = villager.iter().filter(|k| !k["audio"].is_null()).count();
        assert_eq!(recorded, 5, "the five recordings above are villager-facing");
        let n = villager.len();
        println!(
            "villager-facing texts: {n} of {} (by page:{per_page} recorded {recorded}), at 5 s each ≈ {} min",
            keys.len(),
            (n * 5).div_ceil(60)
        );
        assert!(n >= 100 && n < keys.len() / 2, "{n} of {}", keys.len());
        // One procedure's session: the shared UI texts and that procedure's guide and form texts.
        let one = "marital-status-certificate";
        for k in &villager {
            let procs = k["procedures"].as_array().unwrap();
            assert_eq!(procs.is_empty(), k["group"] == "ui", "{k}");
        }
        let for_one = villager
            .iter()
            .filter(|k| {
                let procs = k["procedures"].as_array().unwrap();
                procs.is_empty() || procs.iter().any(|p| p == one)
            })
            .count();
        assert_eq!(page_of(title_key), "guides");
        assert!(
            keys.iter().find(|k| k["key"] == title_key).unwrap()["procedures"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p == one)
        );
        println!(
            "villager-facing texts for one procedure ({one}): {for_one}, at 5 s each ≈ {} min",
            (for_one * 5).div_ceil(60)
        );
        assert!(for_one < n, "{for_one} of {n}");
    });
}
