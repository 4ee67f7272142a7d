use super::*;
use crate::catalogue::builtin_packages;

fn key(b: u8) -> DeviceKey {
    DeviceKey::from_seed([b; 32])
}

#[test]
fn every_builtin_package_signs_verifies_and_round_trips() {
    let k = key(7);
    for p in builtin_packages() {
        let s = SignedPackage::sign(p.clone(), &k).unwrap();
        let bytes = s.to_bytes().unwrap();
        assert!(
            bytes.len() < MAX_PACKAGE_BYTES / 4,
            "{} is large",
            p.procedure.id
        );
        let back = SignedPackage::from_bytes(&bytes).unwrap();
        assert_eq!(&back.package, p);
        back.verify(&k.public()).unwrap();
        assert_eq!(back.package.hash().unwrap(), p.hash().unwrap());
    }
}

#[test]
fn a_tampered_or_foreign_package_is_refused() {
    let k = key(7);
    let p = builtin_packages()[0].clone();
    let s = SignedPackage::sign(p, &k).unwrap();
    // Another office's key.
    assert!(matches!(
        s.verify(&key(8).public()),
        Err(ProtocolError::BadSignature)
    ));
    // One changed time limit.
    let mut t = s.clone();
    t.package.procedure.time_limit_working_days += 1;
    assert!(matches!(
        t.verify(&k.public()),
        Err(ProtocolError::BadSignature)
    ));
    // A changed label, re-encoded.
    let mut t = s.clone();
    t.package.procedure.title.vi.push('!');
    let bytes = t.to_bytes().unwrap();
    let back = SignedPackage::from_bytes(&bytes).unwrap();
    assert!(back.verify(&k.public()).is_err());
}

#[test]
fn malformed_packages_are_refused_before_signing() {
    let k = key(7);
    let mut p = builtin_packages()[0].clone();
    p.kind = "something-else".into();
    assert!(matches!(
        SignedPackage::sign(p, &k),
        Err(ProtocolError::Package(_))
    ));
    let mut p = builtin_packages()[0].clone();
    p.procedure.id = "Bad Id".into();
    assert!(SignedPackage::sign(p, &k).is_err());
    let mut p = builtin_packages()[0].clone();
    p.results = vec![
        ResultDef {
            kind: "pin".into(),
            label: p.procedure.title.clone(),
        },
        ResultDef {
            kind: "pin".into(),
            label: p.procedure.title.clone(),
        },
    ];
    assert!(SignedPackage::sign(p, &k).is_err());
    // Too big to be a package.
    assert!(SignedPackage::from_bytes(&vec![b' '; MAX_PACKAGE_BYTES + 1]).is_err());
    // Not canonical.
    let s = SignedPackage::sign(builtin_packages()[0].clone(), &k).unwrap();
    let pretty = serde_json::to_vec_pretty(&s).unwrap();
    assert!(SignedPackage::from_bytes(&pretty).is_err());
}

#[test]
fn index_rules() {
    let p = builtin_packages()[0].summary().unwrap();
    let ok = PackageIndex {
        kind: PACKAGE_INDEX_KIND.into(),
        v: crate::PROTOCOL_VERSION,
        packages: vec![p.clone()],
    };
    ok.check_form().unwrap();
    let mut twice = ok.clone();
    twice.packages.push(p.clone());
    assert!(twice.check_form().is_err());
    let mut bad = ok.clone();
    bad.packages[0].hash = "ZZ".into();
    assert!(bad.check_form().is_err());
}

#[test]
fn the_version_in_force_is_picked_among_any_set() {
    use time::macros::date;
    let all: Vec<&ProcedureDef> = builtin_packages().iter().map(|p| &p.procedure).collect();
    let pick = |d| {
        pick_in_force(all.iter().copied(), "marital-status-certificate", d)
            .unwrap()
            .version
    };
    assert_eq!(pick(date!(2020 - 01 - 01)), 1);
    assert_eq!(pick(date!(2030 - 01 - 01)), 2);
    assert!(pick_in_force(all.iter().copied(), "passport", date!(2026 - 01 - 01)).is_none());
}

#[test]
fn builtin_packages_come_in_menu_order() {
    let ids: Vec<&str> = builtin_packages()
        .iter()
        .map(|p| p.procedure.id.as_str())
        .collect();
    assert_eq!(ids[0], "marital-status-certificate");
    assert!(builtin_packages()
        .windows(2)
        .all(|w| w[0].menu_order <= w[1].menu_order));
}

#[test]
fn a_guide_is_checked_and_an_absent_one_keeps_the_bytes() {
    let t = |vi: &str, en: &str| crate::catalogue::Text {
        vi: vi.into(),
        en: en.into(),
        more: Default::default(),
        audio: Default::default(),
    };
    let mut p = builtin_packages()[0].clone();
    p.guide = None;
    let bare = p.canonical().unwrap();
    assert!(!String::from_utf8(bare.clone())
        .unwrap()
        .contains("\"guide\""));
    let good = PackageGuide {
        purpose: t("Làm giấy.", "Get a paper."),
        who: vec![t("Chính bạn.", "You.")],
        steps: vec![t("Một.", "One."), t("Hai.", "Two."), t("Ba.", "Three.")],
        fees: t("Miễn phí.", "Free."),
    };
    p.guide = Some(good.clone());
    p.check_form().unwrap();
    assert_ne!(p.canonical().unwrap(), bare);
    let back = ProcedurePackage::parse(&serde_json::to_string(&p).unwrap()).unwrap();
    assert_eq!(back.guide.as_ref(), Some(&good));
    // Two steps only; no one who may file; an empty English text; decomposed Vietnamese.
    let mut g = good.clone();
    g.steps.pop();
    let mut h = good.clone();
    h.who.clear();
    let mut i = good.clone();
    i.fees.en = " ".into();
    let mut j = good.clone();
    j.purpose.vi = "Làm giấy."
        .chars()
        .collect::<String>()
        .replace('à', "a\u{300}");
    for bad in [g, h, i, j] {
        p.guide = Some(bad);
        assert!(matches!(p.check_form(), Err(ProtocolError::Catalogue(_))));
    }
    // An unknown member of the guide is refused.
    let mut v = serde_json::to_value(builtin_packages()[0].clone()).unwrap();
    let mut gv = serde_json::to_value(&good).unwrap();
    gv["price"] = serde_json::json!(1);
    v["guide"] = gv;
    assert!(ProcedurePackage::parse(&v.to_string()).is_err());
}
