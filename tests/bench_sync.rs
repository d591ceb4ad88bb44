//! `scanstation bench sync` on a tiny store, so the benchmark cannot rot: the real binary
//! builds the store, pushes it to a throwaway PostgreSQL, and measures acknowledgements with and
//! without a background push. Skips without PostgreSQL, like the sync tests.

use serde_json::Value;

use crate::util::{bin, stderr};

#[test]
fn bench_sync_pushes_a_tiny_store_and_times_acknowledgements() {
    if crate::pg::pg_bin().is_none() {
        // Cluster::start prints the note (or fails under SCANSTATION_REQUIRE_POSTGRES=1).
        assert!(crate::pg::Cluster::start().is_none());
        return;
    }
    let output = bin()
        .args([
            "bench",
            "sync",
            "--scans",
            "300",
            "--ack-scans",
            "30",
            "--json",
        ])
        .output()
        .expect("run bench sync");
    assert!(
        output.status.success(),
        "bench sync failed: {}",
        stderr(&output)
    );
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not one JSON document ({e}); stderr: {}", stderr(&output)));
    assert_eq!(report["scans"], 300);
    // 100 units: a genesis row, 300 scans and one row per unit.
    assert_eq!(report["ledger_rows"], 401, "{report}");
    assert_eq!(report["push"]["rows"], 401, "{report}");
    assert!(
        report["push"]["rows_per_s"].as_f64() > Some(0.0),
        "{report}"
    );
    let ack = &report["ack"];
    assert_eq!(ack["blocks_per_phase"], 10, "{ack}");
    assert_eq!(ack["no_sync"]["count"], 30, "{ack}");
    assert_eq!(ack["sync_running"]["count"], 30, "{ack}");
    // The sync blocks' station pushed the store's backlog to the second database.
    assert!(
        ack["rows_pushed_during_sync_blocks"].as_i64() >= Some(401),
        "{ack}"
    );
}
