//! Recall, blocklist, expected and shipped lists: file import into a real SQLite store, versions,
//! deltas, and matching units by every match kind.
//!
//! Values used: IMEI 490154203237518 (Luhn-valid, IMEI14 49015420323751), IMEI14 35209900176148
//! given without its check digit, UPC-A 036000291452 (EAN-13 0036000291452), GTIN-13
//! 4006381333931.

use std::path::PathBuf;

use scanstation::ident::{Classification, NoTacs, classify};
use scanstation::lists::*;
use scanstation::store::{ListError, Store, import_file};

const T0: i64 = 1_700_000_000_000;

struct Fixture {
    dir: tempfile::TempDir,
    store: Store,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("station.db")).expect("open store");
    Fixture { dir, store }
}

impl Fixture {
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write list file");
        path
    }

    #[track_caller]
    fn import(&mut self, kind: ListKind, name: &str, text: &str, now_ms: i64) -> ImportReport {
        let path = self.file(&format!("{name}-{now_ms}.csv"), text);
        let (report, errors) =
            import_file(&mut self.store, kind, name, &path, false, now_ms).expect("import");
        assert!(errors.is_empty(), "{errors:?}");
        report
    }

    /// The hits for `keys` on every list kind, as (list, match kind, value) triples.
    #[track_caller]
    fn hits(&self, keys: &UnitKeys) -> Vec<(String, MatchKind, String)> {
        self.hits_of(keys, &ListKind::ALL)
    }

    #[track_caller]
    fn hits_of(&self, keys: &UnitKeys, kinds: &[ListKind]) -> Vec<(String, MatchKind, String)> {
        let mut hits: Vec<_> = self
            .store
            .match_unit(keys, kinds)
            .expect("match")
            .into_iter()
            .map(|h| (h.list, h.match_kind, h.value))
            .collect();
        hits.sort();
        hits
    }
}

fn classified(inputs: &[&str]) -> UnitKeys {
    let mut keys = UnitKeys::default();
    for input in inputs {
        let c: Classification = classify(input, None, &NoTacs);
        assert!(c.valid(), "{input}: {:?}", c.rejection);
        keys.add_classification(&c);
    }
    keys
}

fn serial(s: &str) -> UnitKeys {
    UnitKeys {
        serials: vec![s.to_owned()],
        ..UnitKeys::default()
    }
}

fn imei14(s: &str) -> UnitKeys {
    UnitKeys {
        imei14s: vec![s.to_owned()],
        ..UnitKeys::default()
    }
}

fn hit(list: &str, kind: MatchKind, value: &str) -> (String, MatchKind, String) {
    (list.to_owned(), kind, value.to_owned())
}

const EVERY_KIND: &str = "\
match,value,value_to,reason
serial,f17xk0aajc6f,,swollen battery
serial_prefix,C02,,bad board batch
serial_range,A100,A199,recalled run
imei,490154203237518,,stolen
imei,35209900176148,,stolen
imei_range,35000000000100,35000000000200,stolen shipment
tac,86000000,,counterfeit model
gtin,036000291452,,recalled product
gtin,4006381333931,,recalled product
part,mk2k3ll/a,,recalled part
lot,LOT42,,recalled lot
prod_date_range,240301,2024-03-31,made in March 2024
";

#[test]
fn every_match_kind_hits_and_misses() {
    let mut f = fixture();
    let report = f.import(ListKind::Recall, "r1", EVERY_KIND, T0);
    assert_eq!((report.version, report.added, report.removed), (1, 12, 0));
    let r = |kind, value| vec![hit("r1", kind, value)];
    let none: Vec<(String, MatchKind, String)> = Vec::new();

    // serial: exact, compared uppercase.
    assert_eq!(
        f.hits(&serial("F17XK0AAJC6F")),
        r(MatchKind::Serial, "F17XK0AAJC6F")
    );
    assert_eq!(f.hits(&serial("F17XK0AAJC6G")), none);
    assert_eq!(
        f.hits(&classified(&["f17xk0aajc6f"])),
        r(MatchKind::Serial, "F17XK0AAJC6F")
    );

    // serial_prefix: the serial starts with the value.
    assert_eq!(
        f.hits(&serial("C02XG1ABJGH5")),
        r(MatchKind::SerialPrefix, "C02")
    );
    assert_eq!(f.hits(&serial("C02")), r(MatchKind::SerialPrefix, "C02"));
    assert_eq!(f.hits(&serial("C0")), none);
    assert_eq!(f.hits(&serial("C03XG1ABJGH5")), none);

    // serial_range: inclusive and lexicographic.
    for s in ["A100", "A150", "A199", "A1000"] {
        assert_eq!(
            f.hits(&serial(s)),
            r(MatchKind::SerialRange, "A100..A199"),
            "{s}"
        );
    }
    for s in ["A099", "A1", "A200", "A2", "B150"] {
        assert_eq!(f.hits(&serial(s)), none, "{s}");
    }

    // imei: listed with its check digit, matched with or without it (an IMEISV too), and the
    // reverse.
    let imei = r(MatchKind::Imei, "49015420323751");
    assert_eq!(f.hits(&classified(&["490154203237518"])), imei);
    assert_eq!(f.hits(&imei14("49015420323751")), imei);
    assert_eq!(f.hits(&classified(&["4901542032375199"])), imei);
    assert_eq!(
        f.hits(&classified(&["352099001761481"])),
        r(MatchKind::Imei, "35209900176148")
    );
    assert_eq!(f.hits(&imei14("49015420323752")), none);

    // imei_range: both ends inclusive.
    let range = r(MatchKind::ImeiRange, "35000000000100..35000000000200");
    for k in ["35000000000100", "35000000000150", "35000000000200"] {
        assert_eq!(f.hits(&imei14(k)), range, "{k}");
    }
    for k in ["35000000000099", "35000000000201", "34999999999999"] {
        assert_eq!(f.hits(&imei14(k)), none, "{k}");
    }

    // tac: the first 8 digits of any IMEI of the unit.
    let two = UnitKeys {
        imei14s: vec!["11111111000000".into(), "86000000123456".into()],
        ..UnitKeys::default()
    };
    assert_eq!(f.hits(&two), r(MatchKind::Tac, "86000000"));
    assert_eq!(f.hits(&imei14("86000001123456")), none);

    // gtin: a UPC-A in the list matches the EAN-13 a reader reports, and the reverse.
    let upc = r(MatchKind::Gtin, "00036000291452");
    assert_eq!(f.hits(&classified(&["036000291452"])), upc);
    assert_eq!(f.hits(&classified(&["0036000291452"])), upc);
    assert_eq!(
        f.hits(&classified(&["(01)04006381333931"])),
        r(MatchKind::Gtin, "04006381333931")
    );
    assert_eq!(f.hits(&classified(&["4006381333948"])), none);

    // part: exact, uppercase.
    assert_eq!(
        f.hits(&UnitKeys {
            parts: vec!["MK2K3LL/A".into()],
            ..UnitKeys::default()
        }),
        r(MatchKind::Part, "MK2K3LL/A")
    );

    // lot and prod_date_range from one GS1 label: (10) lot and (11) production date.
    assert_eq!(
        f.hits(&classified(&["(01)09506000134352(11)240315(10)LOT42"])),
        vec![
            hit("r1", MatchKind::Lot, "LOT42"),
            hit("r1", MatchKind::ProdDateRange, "20240301..20240331"),
        ]
    );
    assert_eq!(
        f.hits(&classified(&["(01)09506000134352(11)240300(10)LOT43"])),
        r(MatchKind::ProdDateRange, "20240301..20240331"),
        "DD=00 is the last day of the month"
    );
    for date in ["240229", "240401"] {
        let label = format!("(01)09506000134352(11){date}(10)lot42");
        assert_eq!(f.hits(&classified(&[&label])), none, "{label}");
    }

    // A unit carrying several keys gets every hit, and an empty one gets none.
    let many = classified(&["F17XK0AAJC6F", "490154203237518", "0036000291452"]);
    assert_eq!(f.hits(&many).len(), 3);
    assert_eq!(f.hits(&UnitKeys::default()), none);
}

#[test]
fn the_store_agrees_with_the_pure_matcher() {
    let mut f = fixture();
    f.import(ListKind::Blocklist, "b", EVERY_KIND, T0);
    let (entries, _) = parse_list(EVERY_KIND.as_bytes());
    let units = [
        serial("A150"),
        serial("C02X"),
        serial("Z"),
        imei14("35000000000150"),
        imei14("86000000999999"),
        imei14("00000000000000"),
        classified(&["(01)09506000134352(11)240315(10)LOT42"]),
        classified(&["036000291452", "490154203237518"]),
    ];
    for keys in &units {
        let mut want: Vec<(String, MatchKind, String)> = entries
            .iter()
            .filter(|e| e.matches(keys))
            .map(|e| hit("b", e.kind, &e.display_value()))
            .collect();
        want.sort();
        assert_eq!(f.hits(keys), want, "{keys:?}");
    }
}

#[test]
fn bad_lines_are_reported_with_line_numbers_and_nothing_is_imported() {
    let mut f = fixture();
    let path = f.file(
        "bad.csv",
        "# recall 2024-07\n\
         match,value,value_to,reason\n\
         serial,GOOD1,,ok\n\
         imei,490154203237519,,bad check digit\n\
         tac,1234567,,seven digits\n\
         serial_range,B,A,backwards\n\
         colour,red,,unknown kind\n\
         serial,GOOD2,,ok\n",
    );
    let err = import_file(&mut f.store, ListKind::Recall, "r", &path, false, T0)
        .expect_err("bad lines fail the import");
    let ListError::BadLines { errors, .. } = &err else {
        panic!("expected BadLines, got {err}");
    };
    assert_eq!(
        errors.iter().map(|e| e.line).collect::<Vec<_>>(),
        vec![4, 5, 6, 7]
    );
    let message = err.to_string();
    assert!(
        message.contains(&format!("{}:4: imei value", path.display())),
        "{message}"
    );
    assert!(
        message.contains("4 bad lines, nothing imported"),
        "{message}"
    );
    assert!(f.store.lists().expect("lists").is_empty());
    assert!(f.hits(&serial("GOOD1")).is_empty());

    let (report, errors) =
        import_file(&mut f.store, ListKind::Recall, "r", &path, true, T0).expect("skip");
    assert_eq!(errors.len(), 4);
    assert_eq!((report.version, report.added), (1, 2));
    assert_eq!(
        f.hits(&serial("GOOD2")),
        vec![hit("r", MatchKind::Serial, "GOOD2")]
    );
}

#[test]
fn a_file_with_only_bad_lines_fails_even_when_skipping() {
    let mut f = fixture();
    f.import(ListKind::Blocklist, "b", "match,value\nserial,KEEP\n", T0);
    let path = f.file("junk.csv", "match,value\nimei,123\n");
    let err = import_file(&mut f.store, ListKind::Blocklist, "b", &path, true, T0 + 1)
        .expect_err("nothing good to import");
    assert!(matches!(err, ListError::BadLines { .. }), "{err}");
    let header = f.file("header.csv", "serial,value\n");
    let err = import_file(
        &mut f.store,
        ListKind::Blocklist,
        "b",
        &header,
        true,
        T0 + 1,
    )
    .expect_err("bad header");
    assert!(err.to_string().contains(":1: unknown column"), "{err}");
    assert_eq!(f.hits(&serial("KEEP")).len(), 1, "the list is untouched");

    let missing = f.dir.path().join("missing.csv");
    let err = import_file(&mut f.store, ListKind::Blocklist, "b", &missing, false, T0)
        .expect_err("missing file");
    assert!(matches!(err, ListError::Read { .. }));
    assert!(err.to_string().contains("missing.csv"), "{err}");
}

#[test]
fn versions_increase_and_a_full_import_replaces() {
    let mut f = fixture();
    let v1 = f.import(
        ListKind::Blocklist,
        "stolen",
        "match,value,reason\nserial,OLD1,x\nserial,KEEP,x\n",
        T0,
    );
    assert_eq!((v1.version, v1.added, v1.removed), (1, 2, 0));
    let v2 = f.import(
        ListKind::Blocklist,
        "stolen",
        "reason,value,match\nx,KEEP,serial\nx,NEW1,serial\ny,NEW2,serial\n",
        T0 + 10,
    );
    assert_eq!((v2.list.as_str(), v2.version), ("stolen", 2));
    assert_eq!((v2.added, v2.removed, v2.unmatched_removes), (3, 2, 0));
    assert!(
        f.hits(&serial("OLD1")).is_empty(),
        "replaced entries stop matching"
    );
    for s in ["KEEP", "NEW1", "NEW2"] {
        let hits = f
            .store
            .match_unit(&serial(s), &ListKind::ALL)
            .expect("match");
        assert_eq!(hits.len(), 1, "{s}");
        assert_eq!(hits[0].version, 2);
        assert_eq!(hits[0].kind, ListKind::Blocklist);
    }
    let v3 = f.import(ListKind::Blocklist, "stolen", "match,value\n", T0 + 20);
    assert_eq!((v3.version, v3.added, v3.removed), (3, 0, 3));
    assert!(f.hits(&serial("KEEP")).is_empty());

    let lists = f.store.lists().expect("lists");
    assert_eq!(lists.len(), 1);
    assert_eq!(
        (
            lists[0].version,
            lists[0].active,
            lists[0].created_ms,
            lists[0].updated_ms
        ),
        (3, 0, T0, T0 + 20)
    );
}

#[test]
fn delta_files_add_and_remove() {
    let mut f = fixture();
    f.import(
        ListKind::Recall,
        "r",
        "match,value,value_to,reason\nserial,A1,,first\nserial,A2,,first\nimei_range,35000000000000,35000000000099,range\n",
        T0,
    );
    let delta = f.import(
        ListKind::Recall,
        "r",
        "match,value,value_to,reason,op\n\
         serial,a1,,,remove\n\
         imei_range,35000000000000,35000000000099,,remove\n\
         serial,A3,,added in v2,add\n\
         serial,NOPE,,,remove\n\
         serial,A4,,default op is add,\n",
        T0 + 1,
    );
    assert_eq!(delta.version, 2);
    assert_eq!(
        (delta.added, delta.removed, delta.unmatched_removes),
        (2, 2, 1)
    );
    assert!(f.hits(&serial("A1")).is_empty());
    assert!(f.hits(&imei14("35000000000050")).is_empty());
    assert_eq!(f.hits(&serial("A2")).len(), 1, "untouched by the delta");
    let hits = f
        .store
        .match_unit(&serial("A3"), &ListKind::ALL)
        .expect("match");
    assert_eq!(hits.len(), 1);
    assert_eq!(
        (hits[0].version, hits[0].reason.as_str()),
        (2, "added in v2")
    );

    let (summary, entries) = f.store.list_entries("r").expect("entries").expect("list r");
    assert_eq!((summary.version, summary.active), (2, 3));
    let active: Vec<(&str, usize)> = entries.iter().map(|e| (e.lo.as_str(), e.line)).collect();
    assert_eq!(active, vec![("A2", 3), ("A3", 4), ("A4", 6)]);
    assert!(f.store.list_entries("nope").expect("entries").is_none());

    // A remove of a range must name both ends.
    let again = f.import(
        ListKind::Recall,
        "r",
        "match,value,value_to,op\nimei_range,35000000000000,35000000000098,remove\n",
        T0 + 2,
    );
    assert_eq!((again.version, again.unmatched_removes), (3, 1));
}

#[test]
fn lists_keep_their_kind_and_matching_filters_by_kind() {
    let mut f = fixture();
    f.import(ListKind::Recall, "r", "match,value\nserial,X1\n", T0);
    f.import(ListKind::Blocklist, "b", "match,value\nserial,X1\n", T0);
    f.import(ListKind::Expected, "e", "match,value\nserial,X1\n", T0);
    f.import(ListKind::Shipped, "s", "match,value\nserial,X1\n", T0);
    assert_eq!(
        f.hits_of(&serial("X1"), &[ListKind::Blocklist, ListKind::Shipped]),
        vec![
            hit("b", MatchKind::Serial, "X1"),
            hit("s", MatchKind::Serial, "X1")
        ]
    );
    assert!(f.hits_of(&serial("X1"), &[]).is_empty());
    assert_eq!(f.hits(&serial("X1")).len(), 4);

    let path = f.file("other.csv", "match,value\nserial,X2\n");
    let err = import_file(&mut f.store, ListKind::Blocklist, "r", &path, false, T0 + 1)
        .expect_err("kind mismatch");
    match &err {
        scanstation::store::ListError::Store(
            scanstation::store::StoreError::ListKindMismatch {
                name,
                stored,
                requested,
                ..
            },
        ) => assert_eq!(
            (name.as_str(), *stored, *requested),
            ("r", ListKind::Recall, ListKind::Blocklist)
        ),
        other => panic!("expected a list kind mismatch, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.starts_with("list \"r\" in ")
            && text.ends_with(
                "is a recall list and cannot take a blocklist import; remove it first to reuse the name"
            ),
        "{text}"
    );
    // The refused import changed nothing: the recall list keeps its one version and entry.
    assert_eq!(f.store.lists().expect("lists").len(), 4);
    let (summary, entries) = f.store.list_entries("r").expect("read").expect("list r");
    assert_eq!(
        (summary.kind, summary.version, entries.len()),
        (ListKind::Recall, 1, 1)
    );
}

#[test]
fn remove_list_deletes_it() {
    let mut f = fixture();
    f.import(ListKind::Recall, "r", "match,value\nserial,X1\n", T0);
    f.import(ListKind::Recall, "r", "match,value\nserial,X2\n", T0 + 1);
    f.import(ListKind::Recall, "keep", "match,value\nserial,X2\n", T0);
    assert!(f.store.remove_list("r").expect("remove"));
    assert!(!f.store.remove_list("r").expect("remove again"));
    assert_eq!(
        f.hits(&serial("X2")),
        vec![hit("keep", MatchKind::Serial, "X2")]
    );
    let names: Vec<String> = f
        .store
        .lists()
        .expect("lists")
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(names, vec!["keep"]);
    assert_eq!(f.store.count("list_entries").expect("count"), 1);
    // The name can be reused, and starts again at version 1.
    let report = f.import(ListKind::Blocklist, "r", "match,value\nserial,X1\n", T0 + 2);
    assert_eq!(report.version, 1);
}

#[test]
fn ranges_are_found_among_many() {
    let mut f = fixture();
    let mut text = String::from("match,value,value_to\n");
    // One wide IMEI range under 300 narrow ones: the span bound still finds it.
    text.push_str("imei_range,35000000000000,35000000999999\n");
    for i in 0..300u64 {
        let lo = 35_000_000_000_000 + i * 1_000;
        text.push_str(&format!("imei_range,{lo:014},{:014}\n", lo + 9));
    }
    // 300 disjoint serial ranges.
    for i in 0..300 {
        text.push_str(&format!("serial_range,R{i:04}A,R{i:04}Z\n"));
    }
    f.import(ListKind::Blocklist, "b", &text, T0);
    let hits = f.hits(&imei14("35000000299005"));
    assert_eq!(
        hits,
        vec![
            hit("b", MatchKind::ImeiRange, "35000000000000..35000000999999"),
            hit("b", MatchKind::ImeiRange, "35000000299000..35000000299009"),
        ]
    );
    assert_eq!(f.hits(&imei14("35000000299010")).len(), 1);
    for i in [0, 1, 150, 299] {
        assert_eq!(f.hits(&serial(&format!("R{i:04}M"))).len(), 1, "{i}");
    }
    assert!(f.hits(&serial("R0150")).is_empty());
}

/// Writes a unit and its identifiers with plain SQL, so the test does not depend on the record
/// structs of the daemon's write path. Foreign keys are turned off on this second
/// connection, so no scan rows are needed.
fn add_unit(db: &std::path::Path, unit: i64, status: &str, ids: &[(&str, &str, &str)]) {
    let conn = rusqlite::Connection::open(db).expect("open db");
    conn.pragma_update(None, "foreign_keys", false)
        .expect("foreign keys off");
    conn.execute(
        "INSERT INTO units (id, opened_ms, status) VALUES (?1, ?2, ?3)",
        rusqlite::params![unit, T0, status],
    )
    .expect("unit");
    for (slot, (kind, value, key)) in ids.iter().enumerate() {
        conn.execute(
            "INSERT INTO unit_identifiers (unit_id, kind, value, key, slot, scan_id)
             VALUES (?1, ?2, ?3, ?4, ?5, 0)",
            rusqlite::params![unit, kind, value, key, slot as i64 + 1],
        )
        .expect("identifier");
    }
}

#[test]
fn recall_progress_counts_seen_exact_entries() {
    let mut f = fixture();
    f.import(
        ListKind::Recall,
        "r",
        "match,value,value_to\n\
         serial,C02XG1ABJGH5,\n\
         serial,R58M315CL4T,\n\
         imei,490154203237518,\n\
         imei,352099001761481,\n\
         tac,35417803,\n\
         serial_range,A,B\n",
        T0,
    );
    f.import(
        ListKind::Blocklist,
        "b",
        "match,value\nserial,C02XG1ABJGH5\n",
        T0,
    );
    assert_eq!(
        f.store.recall_progress().expect("progress"),
        vec![("r".to_owned(), 0, 4)]
    );
    let db = f.store.path().to_owned();
    add_unit(
        &db,
        1,
        "ok",
        &[
            ("serial", "C02XG1ABJGH5", "C02XG1ABJGH5"),
            ("imei", "490154203237518", "49015420323751"),
        ],
    );
    add_unit(&db, 2, "open", &[("serial", "r58m315cl4t", "R58M315CL4T")]);
    add_unit(
        &db,
        3,
        "cancelled",
        &[("imei", "352099001761481", "35209900176148")],
    );
    // A key of another kind is not a sighting: a part number equal to a listed serial.
    add_unit(&db, 4, "ok", &[("part", "R58M315CL4T", "C02XG1ABJGH5")]);
    assert_eq!(
        f.store.recall_progress().expect("progress"),
        vec![("r".to_owned(), 3, 4)]
    );
}

#[test]
fn list_and_match_kinds_round_trip_their_names() {
    for kind in ListKind::ALL {
        assert_eq!(ListKind::parse(kind.as_str()), Some(kind));
    }
    for kind in MatchKind::ALL {
        assert_eq!(MatchKind::parse(kind.as_str()), Some(kind));
    }
    assert_eq!(ListKind::parse("Recall"), Some(ListKind::Recall));
    assert_eq!(MatchKind::parse("imei14"), None);
    assert_eq!(
        LineError {
            line: 7,
            message: "x".into()
        }
        .to_string(),
        "line 7: x"
    );
}

/// A desk writing units through the store's real write path (`Tx`), one scan per value.
struct Desk {
    next_scan: i64,
}

impl Desk {
    /// Opens `unit` and adds one scan per value, as the daemon does while a unit is open.
    fn open(&mut self, store: &mut Store, unit: i64, values: &[&str]) -> Vec<i64> {
        let tx = store.begin().expect("begin");
        tx.open_unit(unit, T0).expect("open unit");
        let mut scans = Vec::new();
        for value in values {
            scans.push(self.add_in(&tx, unit, value));
        }
        tx.commit().expect("commit");
        scans
    }

    fn add(&mut self, store: &mut Store, unit: i64, value: &str) -> i64 {
        let tx = store.begin().expect("begin");
        let scan = self.add_in(&tx, unit, value);
        tx.commit().expect("commit");
        scan
    }

    fn add_in(&mut self, tx: &scanstation::store::Tx<'_>, unit: i64, value: &str) -> i64 {
        let c = classify(value, None, &NoTacs);
        assert!(c.valid(), "{value}: {c:?}");
        self.next_scan += 1;
        let id = self.next_scan;
        tx.insert_scan(&scanstation::record::ScanRecord {
            id,
            at_ms: T0,
            source: "test".to_owned(),
            raw: value.as_bytes().to_vec(),
            symbology: None,
            kind: c.kind,
            value: c.value.clone(),
            valid: true,
            reason_code: None,
            reason: None,
            outcome: scanstation::record::ScanOutcome::Added,
            unit: Some(unit),
            mode: Some(scanstation::ident::control::Mode::Recall),
            decision: None,
            decision_reason: None,
        })
        .expect("scan");
        tx.add_identifiers(unit, id, &c.identifiers)
            .expect("identifiers");
        id
    }

    /// Closes `unit` with what the store holds for it, rewriting its identifiers as the daemon's
    /// close does.
    fn close(store: &mut Store, unit: i64, status: &str) {
        let mut record = store.unit(unit).expect("unit").expect("unit exists");
        record.status = scanstation::record::UnitStatus::parse(status).expect("a unit status");
        record.closed_ms = Some(T0 + 1);
        record.close_reason = Some(scanstation::record::CloseReason::Next);
        let tx = store.begin().expect("begin");
        tx.close_unit(&record).expect("close");
        tx.commit().expect("commit");
    }

    fn undo(store: &mut Store, unit: i64, scan: i64) {
        let tx = store.begin().expect("begin");
        tx.remove_identifiers(unit, scan).expect("undo");
        tx.commit().expect("commit");
    }

    fn cancel(store: &mut Store, unit: i64) {
        let tx = store.begin().expect("begin");
        tx.cancel_unit(unit, T0 + 2).expect("cancel");
        tx.commit().expect("commit");
    }
}

/// Defect 8 (issue 9): recall progress is kept as units and lists change instead of recounted
/// after every recall unit; the kept counts must always equal the full recount, through
/// cancels, UNDO, units seen twice, open units, several recall lists, deltas that remove
/// entries, replacements and list removal.
#[test]
fn defect8_kept_recall_progress_equals_the_full_recount() {
    let mut f = fixture();
    #[track_caller]
    fn same(store: &Store, want: &[(&str, i64, i64)]) {
        let kept = store.recall_progress().expect("progress");
        assert_eq!(kept, store.recall_progress_recount().expect("recount"));
        let want: Vec<(String, i64, i64)> =
            want.iter().map(|&(n, a, b)| (n.to_owned(), a, b)).collect();
        assert_eq!(kept, want);
    }
    f.import(
        ListKind::Recall,
        "r1",
        "match,value,value_to,reason\n\
         serial,C02XG1ABJGH5,,\n\
         serial,R58M315CL4T,,\n\
         imei,354178036859789,,\n\
         imei,490154203237518,,\n\
         tac,35417803,,\n\
         serial_prefix,C02,,\n",
        T0,
    );
    f.import(
        ListKind::Recall,
        "r2",
        "match,value\nserial,R58M315CL4T\nimei,352099001761481\n",
        T0,
    );
    f.import(
        ListKind::Blocklist,
        "b",
        "match,value\nserial,C02XG1ABJGH5\n",
        T0,
    );
    same(&f.store, &[("r1", 0, 4), ("r2", 0, 2)]);
    let mut desk = Desk { next_scan: 0 };
    let store = &mut f.store;

    // An open unit counts as soon as its scans are stored.
    desk.open(store, 1, &["C02XG1ABJGH5", "354178036859789"]);
    same(store, &[("r1", 2, 4), ("r2", 0, 2)]);
    Desk::close(store, 1, "ok");
    same(store, &[("r1", 2, 4), ("r2", 0, 2)]);
    // The same serial seen on a second unit counts once.
    desk.open(store, 2, &["C02XG1ABJGH5", "352099001761481"]);
    Desk::close(store, 2, "flagged");
    same(store, &[("r1", 2, 4), ("r2", 1, 2)]);
    // UNDO takes a value back; CANCEL drops a unit's values, but a value another unit holds
    // stays found.
    let scans = desk.open(store, 3, &["R58M315CL4T", "490154203237518"]);
    same(store, &[("r1", 4, 4), ("r2", 2, 2)]);
    Desk::undo(store, 3, scans[0]);
    same(store, &[("r1", 3, 4), ("r2", 1, 2)]);
    desk.add(store, 3, "C02XG1ABJGH5");
    Desk::cancel(store, 3);
    same(store, &[("r1", 2, 4), ("r2", 1, 2)]);
    // A value first seen on a cancelled unit, then on an open one.
    desk.open(store, 4, &["490154203237518"]);
    same(store, &[("r1", 3, 4), ("r2", 1, 2)]);
    desk.open(store, 5, &["R58M315CL4T"]);
    same(store, &[("r1", 4, 4), ("r2", 2, 2)]);

    // A delta removes a found entry, adds one a stored unit already holds and one nobody holds.
    f.import(
        ListKind::Recall,
        "r1",
        "match,value,value_to,reason,op\n\
         serial,C02XG1ABJGH5,,,remove\n\
         imei,352099001761481,,,add\n\
         serial,NOBODY1234,,,add\n",
        T0 + 10,
    );
    same(&f.store, &[("r1", 4, 5), ("r2", 2, 2)]);
    // A replacement keeps only what it lists.
    f.import(
        ListKind::Recall,
        "r2",
        "match,value\nserial,C02XG1ABJGH5\nserial,NOBODY1234\n",
        T0 + 20,
    );
    same(&f.store, &[("r1", 4, 5), ("r2", 1, 2)]);
    // A unit cancelled after the lists changed.
    Desk::cancel(&mut f.store, 5);
    same(&f.store, &[("r1", 3, 5), ("r2", 1, 2)]);
    assert!(f.store.remove_list("r2").expect("remove"));
    same(&f.store, &[("r1", 3, 5)]);
    // A list removed and imported again starts from what the units hold.
    f.import(
        ListKind::Recall,
        "r2",
        "match,value\nserial,C02XG1ABJGH5\nimei,490154203237518\n",
        T0 + 30,
    );
    same(&f.store, &[("r1", 3, 5), ("r2", 2, 2)]);
}
