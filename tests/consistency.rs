//! The label consistency rules against the real Osmocom TAC export in ../shared/data: the
//! brand spellings the rules depend on must be the ones the data uses.

use scanstation::ident::FlagCode;
use scanstation::ident::consistency::{self, normalise_brand};
use scanstation::ident::tac::{MemoryTacs, read_osmocom};
use scanstation::ident::{GtinPrefixes, IdKind, TacLookup};

use crate::util;

#[test]
fn real_apple_and_samsung_tacs_normalise_to_the_brands_the_rules_expect() {
    let Some(path) = util::shared_file("data/tacdb.csv") else {
        return;
    };
    let file = std::fs::File::open(&path).expect("open tacdb.csv");
    let parsed = read_osmocom(std::io::BufReader::new(file));
    let mut tacs = MemoryTacs::default();
    for row in &parsed.rows {
        tacs.insert(
            &row.tac,
            scanstation::ident::TacInfo {
                brand: row.brand.clone(),
                model: row.model.clone(),
            },
        );
    }
    // Rows written `Apple`, ` Apple`, `Samsung`, ` Samsung` and ` SAMSUNG` in the file.
    for (tac, brand) in [
        ("01194800", "apple"),
        ("35201307", "apple"),
        ("10196000", "samsung"),
        ("33002145", "samsung"),
        ("35444704", "samsung"),
    ] {
        let info = tacs.lookup(tac).expect("TAC in the Osmocom export");
        assert_eq!(normalise_brand(&info.brand), brand, "{tac}: {info:?}");
    }
    // Every spelling of the two brands in the file normalises to one name.
    let mut spellings: Vec<(String, String)> = parsed
        .rows
        .iter()
        .filter(|r| {
            let lower = r.brand.to_lowercase();
            lower.starts_with("apple") || lower.starts_with("samsung")
        })
        .map(|r| (r.brand.clone(), normalise_brand(&r.brand)))
        .collect();
    spellings.sort();
    spellings.dedup();
    assert!(spellings.len() >= 3, "{spellings:?}");
    assert!(
        spellings
            .iter()
            .all(|(_, n)| n == "apple" || n == "samsung"),
        "{spellings:?}"
    );

    // The real rows drive the rules: an iPhone 6 IMEI with a Samsung GT-I9300 IMEI, a
    // Samsung serial and the Apple box GTIN of DOMAIN.md 1.13.
    let prefixes = GtinPrefixes::builtin();
    let apple = "35201307000001";
    let samsung = "33002145000001";
    let findings = consistency::check(
        &[
            (IdKind::Serial, "R58M315CL4T"),
            (IdKind::Imei, apple),
            (IdKind::Imei, samsung),
            (IdKind::Gtin, "00195949038440"),
        ],
        &tacs,
        &prefixes,
    );
    let codes: Vec<FlagCode> = findings.iter().map(|f| f.code).collect();
    assert_eq!(
        codes,
        [
            FlagCode::ImeiBrandMismatch,
            FlagCode::SerialBrandMismatch,
            FlagCode::GtinBrandMismatch
        ],
        "{findings:?}"
    );
    // Two regional variants of the iPhone 6 are one model; the 6 Plus is another.
    let a1549 = "35201307000001";
    let a1586 = "35202307000001";
    assert!(
        tacs.lookup("35202307")
            .is_some_and(|i| i.model.contains("A1586")),
        "TAC 35202307 is an iPhone 6 (A1586) in the export"
    );
    assert!(
        consistency::check(
            &[(IdKind::Imei, a1549), (IdKind::Imei, a1586)],
            &tacs,
            &prefixes
        )
        .is_empty()
    );
    let plus = consistency::check(
        &[(IdKind::Imei, a1549), (IdKind::Imei, "35200107000001")],
        &tacs,
        &prefixes,
    );
    assert_eq!(
        plus.iter().map(|f| f.code).collect::<Vec<_>>(),
        [FlagCode::ImeiModelMismatch],
        "{plus:?}"
    );
}
