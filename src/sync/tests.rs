//! Unit tests of the sync: URLs and names without a server, and the central migrations on a
//! throwaway PostgreSQL (`tests/pg.rs`).

use super::*;

#[test]
fn urls_are_shown_and_kept_without_the_password() {
    let t = Target::parse("postgres://scan:s3cret@db.example:5433/central").expect("url");
    assert_eq!(t.server, "db.example:5433/central");
    assert_eq!(t.key, "postgres://scan@db.example:5433/central");
    assert!(!format!("{t:?}").contains("s3cret"));
    let t = Target::parse("postgresql://scan@127.0.0.1/central?sslmode=require").expect("url");
    assert_eq!(t.server, "127.0.0.1:5432/central");
    let err = Target::parse("mysql://a:b@c/d").expect_err("scheme");
    assert!(err.to_string().contains("postgres://"), "{err}");
    let err = Target::parse("postgres://a:s3cret@h/d?bogus=1").expect_err("option");
    assert!(!err.to_string().contains("s3cret"), "{err}");
}

#[test]
fn sslrootcert_is_taken_out_of_the_url() {
    let (url, ca) =
        split_root_cert("postgres://a:b@h/d?sslmode=require&sslrootcert=%2Fetc%2Fca.pem");
    assert_eq!(url, "postgres://a:b@h/d?sslmode=require");
    assert_eq!(ca, Some(PathBuf::from("/etc/ca.pem")));
    let (url, ca) = split_root_cert("postgres://a:b@h/d?sslrootcert=/x/ca.crt");
    assert_eq!(
        (url.as_str(), ca),
        ("postgres://a:b@h/d", Some(PathBuf::from("/x/ca.crt")))
    );
    let (url, ca) = split_root_cert("postgres://a:b@h/d?sslrootcert=system&sslmode=verify-full");
    assert_eq!(
        (url.as_str(), ca),
        ("postgres://a:b@h/d?sslmode=verify-full", None)
    );
    assert_eq!(split_root_cert("postgres://h/d").0, "postgres://h/d");
    assert_eq!(percent_decode("a%zz%2f%4"), "a%zz/%4");
    let t = Target::parse("postgres://a:b@h/d?sslrootcert=/x/ca.crt").expect("url");
    assert_eq!(t.root_cert, Some(PathBuf::from("/x/ca.crt")));
}

#[test]
fn an_unreachable_server_is_named_with_the_reason() {
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let target =
        Target::parse(&format!("postgres://scan:pw@127.0.0.1:{port}/central")).expect("url");
    let Err(err) = target.connect() else {
        panic!("nothing listens on {port}, yet the connection succeeded");
    };
    assert_eq!(
        err.to_string(),
        format!("cannot reach PostgreSQL at 127.0.0.1:{port}/central (connection refused)")
    );
}

#[test]
fn station_names_are_checked() {
    assert!(check_name("desk1").is_ok());
    assert!(check_name("").is_err());
    assert!(check_name("a b").is_err());
    assert!(check_name(&"x".repeat(64)).is_err());
}

#[test]
fn the_background_push_gives_way_to_a_busy_desk_but_never_stops_for_long() {
    let never = || false;
    // A desk that never committed: full batches at once.
    let pace = Pace::new();
    assert!(!pace.give_way(Instant::now(), &never).expect("idle"));
    // A commit just now, and the last batch long ago: no wait, but a small batch.
    pace.committed();
    let long_ago = Instant::now().checked_sub(MAX_DEFER).expect("instant");
    assert!(pace.give_way(long_ago, &never).expect("busy"));
    // A commit just now and a batch just sent: it waits, and a stop ends the wait.
    assert!(matches!(
        pace.give_way(Instant::now(), &|| true),
        Err(SyncError::Stopped)
    ));
    // Once the desk is quiet for `QUIET` the wait ends; still warm, so the batch is small.
    let started = Instant::now();
    assert!(pace.give_way(Instant::now(), &never).expect("quiet"));
    let waited = started.elapsed();
    assert!(waited < MAX_DEFER, "waited {waited:?}");
    let target = Target::parse("postgres://scan:pw@127.0.0.1:1/central").expect("url");
    let mut pusher = Pusher::new(target, "desk1", "uid", 2000).with_pace(Arc::new(Pace::new()));
    assert_eq!(pusher.next_batch_rows(&never).expect("rows"), 2000);
    if let Some(pace) = &pusher.pace {
        pace.committed();
    }
    pusher.last_batch = long_ago;
    assert_eq!(
        pusher.next_batch_rows(&never).expect("rows"),
        BUSY_BATCH_ROWS
    );
}

use super::pg;

/// A store of `n` closed units of a serial and an IMEI each, written through the store's API.
fn store_with_units(path: &Path, from: i64, n: i64) -> Store {
    use crate::ident::{IdKind, Kind as ScanKind};
    use crate::record::{
        CloseReason, ScanOutcome, ScanRecord, UnitIdRecord, UnitRecord, UnitStatus,
    };
    let mut store = Store::open(path).expect("open");
    for unit in from..from + n {
        let tx = store.begin().expect("begin");
        tx.open_unit(unit, 1_000 * unit).expect("open unit");
        let mut ids = Vec::new();
        for (slot, (kind, id_kind, value)) in [
            (ScanKind::Serial, IdKind::Serial, format!("SERIAL{unit}")),
            (ScanKind::Imei, IdKind::Imei, format!("35417803{unit:07}")),
        ]
        .into_iter()
        .enumerate()
        {
            let id = 2 * unit - 1 + slot as i64;
            tx.insert_scan(&ScanRecord {
                id,
                at_ms: 1_000 * unit,
                source: "stdin".into(),
                raw: value.as_bytes().to_vec(),
                symbology: None,
                kind,
                value: value.clone(),
                valid: true,
                reason_code: None,
                reason: None,
                outcome: ScanOutcome::Added,
                unit: Some(unit),
                mode: None,
                decision: None,
                decision_reason: None,
            })
            .expect("scan");
            ids.push(UnitIdRecord {
                kind: id_kind,
                key: value.clone(),
                value,
                slot: 1,
                scan_id: id,
            });
        }
        tx.close_unit(&UnitRecord {
            id: unit,
            opened_ms: 1_000 * unit,
            closed_ms: Some(1_000 * unit + 500),
            status: UnitStatus::Ok,
            close_reason: Some(CloseReason::Complete),
            complete: true,
            flags: Vec::new(),
            identifiers: ids,
            mode: None,
            decision: None,
            decision_reason: None,
            decision_list: None,
            decision_list_version: None,
            invalid: Vec::new(),
            amends: 0,
        })
        .expect("close");
        tx.commit().expect("commit");
    }
    store
}

/// A server left at central schema 1 (ledger only) by an older station is migrated by a newer
/// one, and the content views are filled from the rows it already held.
#[test]
fn an_older_central_schema_is_migrated_with_the_rows_it_holds() {
    let Some(cluster) = pg::Cluster::start() else {
        return;
    };
    cluster.create_db("central");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("desk.db");
    let mut store = store_with_units(&path, 1, 3);
    let uid = store.station_uid().expect("uid");
    let target = Target::parse(&cluster.url("central")).expect("url");
    let mut old = Pusher::new(target.clone(), "desk1", &uid, 4);
    old.schema = 1;
    let report = old.push(&mut store, &|| false).expect("push at schema 1");
    assert_eq!(report.rows, store.ledger_head().expect("head").0);
    assert_eq!(
        cluster.psql("central", "SELECT version FROM central_schema"),
        "1"
    );
    assert_eq!(
        cluster.psql("central", "SELECT to_regclass('central_units') IS NULL"),
        "t"
    );
    drop(store);
    let mut store = store_with_units(&path, 4, 2);
    let mut new = Pusher::new(target, "desk1", &uid, 4);
    let report = new
        .push(&mut store, &|| false)
        .expect("push at the current schema");
    assert_eq!(report.to_seq, store.ledger_head().expect("head").0);
    assert_eq!(
        cluster.psql("central", "SELECT version FROM central_schema"),
        central::MIGRATIONS.len().to_string()
    );
    assert_eq!(
        cluster.psql(
            "central",
            "SELECT (SELECT count(*) FROM central_units) || ' ' || (SELECT count(*) FROM central_scans) || ' ' || (SELECT count(*) FROM central_identifiers)"
        ),
        format!(
            "{} {} {}",
            store.count("units").expect("units"),
            store.count("scans").expect("scans"),
            store.count("unit_identifiers").expect("identifiers")
        )
    );
}
