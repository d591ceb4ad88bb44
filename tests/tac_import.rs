//! The TAC import of the Osmocom export in ../shared/data, into a real SQLite file.

use scanstation::ident::{Kind, classify, tac::read_osmocom};
use scanstation::store::Store;

use crate::util;

/// Rows in ../shared/data/tacdb.csv whose first field is exactly 8 digits, and the rest.
/// Counted independently with Python's csv module; 784 rows have a leading space or lost a
/// leading zero (for example `1130000` for an Apple iPhone 4).
const IMPORTED: usize = 24_391;
const SKIPPED: usize = 784;

#[test]
fn imports_the_shared_tacdb_and_names_devices() {
    let Some(path) = util::shared_file("data/tacdb.csv") else {
        return;
    };
    let file = std::fs::File::open(&path).expect("open tacdb.csv");
    let parsed = read_osmocom(std::io::BufReader::new(file));
    assert!(
        parsed
            .notice
            .as_deref()
            .is_some_and(|n| n.contains("CC-BY-SA"))
    );
    assert!(parsed.header_seen);
    assert_eq!(parsed.rows.len(), IMPORTED);
    assert_eq!(parsed.skipped.len(), SKIPPED);

    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("station.db");
    let mut store = Store::open(&db).expect("open store");
    let report = store
        .import_tacs(&parsed, "tacdb.csv", "2026-11-25T00:00:00.000Z")
        .expect("import");
    assert_eq!((report.imported, report.skipped), (IMPORTED, SKIPPED));
    assert_eq!(store.count("tac").expect("count"), IMPORTED as i64);

    // A local entry wins over the imported one.
    store
        .set_local_tac("35675904", "LocalBrand", "Desk model")
        .expect("local tac");
    let tacs = store.load_tacs().expect("load");
    let c = classify("35675904", None, &tacs);
    assert_ne!(c.kind, Kind::Imei, "8 digits alone are not an IMEI");
    let imei = format!(
        "01194800123456{}",
        scanstation::ident::device::imei_check_digit("01194800123456").expect("cd")
    );
    let c = classify(&imei, None, &tacs);
    assert_eq!(c.details.brand.as_deref(), Some("Apple"));
    assert_eq!(c.details.model.as_deref(), Some("iPhone 3GS"));
    let local = format!(
        "35675904000001{}",
        scanstation::ident::device::imei_check_digit("35675904000001").expect("cd")
    );
    assert_eq!(
        classify(&local, None, &tacs).details.brand.as_deref(),
        Some("LocalBrand")
    );
}
