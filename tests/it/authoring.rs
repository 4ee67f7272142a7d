//! `hub procedure check|build|sheets` (issue 20, docs/procedures.md): the commands as an IT officer runs
//! them — every error with sheet, row and column and exit code 1, the canonical package written by
//! `build`, the sheets of a package written by `sheets` and built back to the same package.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::*;

fn hub(args: &[&str]) -> Output {
    Command::new(hub_bin()).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn sheets_then_build_gives_the_same_package_and_check_reports_every_error() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocol/packages");
    let tmp = tempfile::tempdir().unwrap();
    let json = root.join("marital-status-certificate.v2.json");
    let dir = tmp.path().join("marital.v3");
    let o = hub(&[
        "procedure",
        "sheets",
        json.to_str().unwrap(),
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(dir.join("fields.csv").exists() && dir.join("layout_lines.csv").exists());

    let o = hub(&["procedure", "check", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("no errors"));

    let out = tmp.path().join("out.json");
    let o = hub(&[
        "procedure",
        "build",
        dir.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let built = protocol::ProcedurePackage::parse(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let want = protocol::ProcedurePackage::parse(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(built, want);
    // Deterministic: building again gives the same bytes.
    let again = tmp.path().join("again.json");
    hub(&[
        "procedure",
        "build",
        dir.to_str().unwrap(),
        "-o",
        again.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap());

    // Two errors in two sheets: both reported, each at its sheet, row and column; exit code 1, no output.
    let settings = std::fs::read_to_string(dir.join("settings.csv")).unwrap();
    std::fs::write(
        dir.join("settings.csv"),
        settings.replace("effective_from,2025-07-01", "effective_from,2025-02-29"),
    )
    .unwrap();
    let derivations = std::fs::read_to_string(dir.join("derivations.csv")).unwrap();
    let first = derivations.lines().nth(1).unwrap();
    let from = first.split(',').nth(1).unwrap();
    std::fs::write(
        dir.join("derivations.csv"),
        derivations.replacen(first, &first.replacen(from, "subject.pinn", 1), 1),
    )
    .unwrap();
    let bad_out = tmp.path().join("bad.json");
    let o = hub(&[
        "procedure",
        "build",
        dir.to_str().unwrap(),
        "-o",
        bad_out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        !bad_out.exists(),
        "nothing is written when there are errors"
    );
    let o = hub(&["procedure", "check", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(
        t.contains("settings.csv row 4, column value: effective_from: \"2025-02-29\""),
        "{t}"
    );
    assert!(
        t.contains("derivations.csv row 2, column from: unknown field subject.pinn"),
        "{t}"
    );
    assert!(t.contains("2 errors."), "{t}");

    // A source that is neither a folder nor a workbook: exit code 2.
    let o = hub(&["procedure", "check", json.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}
