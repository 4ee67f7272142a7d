//! What procedure packages (issue 20) cost, with the hub's own code, for each built-in package: its size
//! (canonical, signed, gzip-compressed as it travels), the office's signing, and a field hub's install
//! path without the database: parsing the signed bytes with the form checks of the package, its exports
//! and layouts (`SignedPackage::from_bytes`), the signature check against the office key, and the hash.
//! Then the whole install into an in-memory store with the same schema (`shared::procedures::store::install`,
//! which adds the package to the registry; each run installs a renamed copy). Each measured `PKG_RUNS` times
//! (default 50): median, 10th and 90th percentiles.
//!
//! `cargo run --release --example package_cost -p hub` (or `--profile dist`; aarch64 under qemu works too).

use std::io::Write as _;
use std::time::{Duration, Instant};

use protocol::{DeviceKey, SignedPackage};

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
    format!(
        "{:7.3} ms (p10 {:.3}, p90 {:.3})",
        at(0.5),
        at(0.1),
        at(0.9)
    )
}

/// The gzip size, with the system's `gzip -6` (what the hub's compression layer gives, within bytes).
fn gzip_len(b: &[u8]) -> usize {
    let mut child = std::process::Command::new("gzip")
        .arg("-6c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip");
    child.stdin.take().unwrap().write_all(b).unwrap();
    child.wait_with_output().unwrap().stdout.len()
}

fn main() {
    let runs: usize = std::env::var("PKG_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50)
        .max(3);
    let office = DeviceKey::from_seed([7; 32]);
    let c = hub::shared::store::open_memory().expect("an in-memory store");
    println!("runs per figure: {runs}");
    for p in protocol::builtin_packages() {
        let id = format!("{} v{}", p.procedure.id, p.procedure.version);
        let canonical = p.canonical().unwrap();
        let signed = SignedPackage::sign(p.clone(), &office).unwrap();
        let bytes = signed.to_bytes().unwrap();
        let mut sign = Vec::new();
        let mut parse = Vec::new();
        let mut verify = Vec::new();
        let mut install = Vec::new();
        for i in 0..runs {
            let t = Instant::now();
            let s = SignedPackage::sign(p.clone(), &office).unwrap();
            sign.push(t.elapsed());
            std::hint::black_box(s);

            let t = Instant::now();
            let s = SignedPackage::from_bytes(&bytes).unwrap();
            parse.push(t.elapsed());

            let t = Instant::now();
            s.verify(&office.public()).unwrap();
            let h = s.package.hash().unwrap();
            verify.push(t.elapsed());
            std::hint::black_box(h);

            let mut copy = p.clone();
            copy.procedure.id = format!("cost-{}-{i}", p.procedure.id);
            let b = SignedPackage::sign(copy, &office)
                .unwrap()
                .to_bytes()
                .unwrap();
            let t = Instant::now();
            hub::shared::procedures::store::install(&c, &b, &office.public()).unwrap();
            install.push(t.elapsed());
        }
        println!(
            "{id}: canonical {} B, signed {} B, gzip {} B",
            canonical.len(),
            bytes.len(),
            gzip_len(&bytes)
        );
        println!("  office signs (check + sign)        {}", stats(sign));
        println!("  field parses + checks the form     {}", stats(parse));
        println!("  field verifies signature + hash    {}", stats(verify));
        println!("  field installs (all of it + store) {}", stats(install));
    }
}
