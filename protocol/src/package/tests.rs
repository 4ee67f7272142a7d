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
