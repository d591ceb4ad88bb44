//! `scanstation bench http` on a tiny store, so the benchmark cannot rot: it runs the real
//! binary end to end (store build, `serve` under load, a station with the page open) and its
//! answers must all be right.

use serde_json::Value;

use crate::util::bin;

#[test]
fn bench_http_runs_on_a_tiny_store_and_gets_every_answer_right() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("bench.db");
    let run = || {
        let output = bin()
            .args([
                "bench",
                "http",
                "--units",
                "200",
                "--clients",
                "1",
                "--seconds",
                "1",
                "--scans",
                "20",
                "--json",
                "--db",
            ])
            .arg(&db)
            .output()
            .expect("run bench http");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "bench http failed: {stderr}");
        let report: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("not one JSON document ({e}); stderr: {stderr}"));
        report
    };
    let first = run();
    assert_eq!(first["build"]["units"], 200);
    assert_eq!(first["build"]["units_written"], 200);
    let find = &first["find"];
    assert!(find["requests"].as_u64() > Some(0), "{find}");
    assert!(find["verified_in_full"].as_u64() > Some(0), "{find}");
    assert_eq!(find["errors"], 0, "{find}");
    assert_eq!(find["wrong"], 0, "{find}");
    let ack = &first["ack"];
    // The no-page and page phases alternate in blocks of whole units (at least one each), so
    // 20 scans become 10 blocks of 3.
    assert_eq!(ack["blocks_per_phase"], 10, "{ack}");
    assert_eq!(ack["scans_per_phase"], 30, "{ack}");
    for phase in ["no_page", "page_open", "page_open_load"] {
        assert_eq!(ack[phase]["count"], 30, "{phase}: {ack}");
    }
    for phase in ["sse_page_open", "sse_page_open_load"] {
        assert_eq!(ack[phase]["missing"], 0, "{phase}: {ack}");
        assert_eq!(ack[phase]["delay"]["count"], 30, "{phase}: {ack}");
    }
    assert_eq!(ack["sse_reloads"], 0, "{ack}");
    assert!(ack["load"]["requests"].as_u64() > Some(0), "{ack}");
    assert_eq!(ack["load"]["wrong"], 0, "{ack}");

    // A second run keeps the store it built.
    let second = run();
    assert_eq!(second["build"]["reused"], true);
    assert_eq!(second["build"]["units_written"], 0);
}
