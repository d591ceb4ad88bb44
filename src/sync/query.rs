//! `scanstation central conflicts | find | report`: the one view over every desk, read from the
//! central PostgreSQL the stations sync to. Read-only: these commands never migrate the central
//! schema (a station's push does), and they query the content tables the ledger trigger keeps
//! (`central_scans`, `central_units`, `central_identifiers`, see `central`).

use postgres::Client;
use serde::Serialize;

/// One unit in a cross-desk conflict: where it was recorded and what else it holds.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct ConflictUnit {
    pub station: String,
    pub unit: i64,
    pub status: Option<String>,
    pub decision: Option<String>,
    pub closed_ms: Option<i64>,
    /// The unit's identifiers of the other kind (its serials for an IMEI conflict, its IMEI
    /// keys for a serial conflict): the values the desks disagree on.
    pub others: Vec<String>,
}

/// An IMEI (by its 14-digit key) or a serial recorded on units at two or more desks that
/// cannot be the same device: at least two of them, at different desks, share no identifier of
/// the other kind (the same IMEI with different serials, or the same serial with other IMEIs).
/// The same device seen at two desks (a returns desk checking an intake) is not a conflict.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct Conflict {
    pub kind: String,
    pub key: String,
    pub units: Vec<ConflictUnit>,
}

/// Every unit (not cancelled) holding an IMEI or serial that a unit at another desk holds,
/// with its identifiers of the other kind; the conflicting keys are those where two such units
/// at different desks have disjoint, non-empty sets of the other kind.
const CONFLICTS: &str = "
WITH live AS (
    SELECT i.station, i.unit_id, i.kind, i.key
    FROM central_identifiers i
    JOIN central_units u ON u.station = i.station AND u.id = i.unit_id
    WHERE u.status <> 'cancelled' AND i.kind IN ('imei', 'serial')
),
shared AS (
    SELECT kind, key FROM live GROUP BY kind, key HAVING count(DISTINCT station) > 1
),
members AS (
    SELECT DISTINCT s.kind, s.key, l.station, l.unit_id,
        ARRAY(SELECT DISTINCT o.key FROM live o
              WHERE o.station = l.station AND o.unit_id = l.unit_id AND o.kind <> s.kind
              ORDER BY o.key) AS others
    FROM shared s JOIN live l ON l.kind = s.kind AND l.key = s.key
),
conflicting AS (
    SELECT DISTINCT a.kind, a.key
    FROM members a JOIN members b
        ON a.kind = b.kind AND a.key = b.key AND a.station <> b.station
    WHERE cardinality(a.others) > 0 AND cardinality(b.others) > 0
        AND NOT (a.others && b.others)
)
SELECT m.kind, m.key, m.station, m.unit_id, u.status, u.decision, u.closed_ms, m.others
FROM members m
JOIN conflicting c ON c.kind = m.kind AND c.key = m.key
JOIN central_units u ON u.station = m.station AND u.id = m.unit_id
ORDER BY m.kind, m.key, m.station, m.unit_id";

pub(crate) fn conflicts(client: &mut Client) -> Result<Vec<Conflict>, postgres::Error> {
    let mut out: Vec<Conflict> = Vec::new();
    for row in client.query(CONFLICTS, &[])? {
        let (kind, key): (String, String) = (row.get(0), row.get(1));
        let unit = ConflictUnit {
            station: row.get(2),
            unit: row.get(3),
            status: row.get(4),
            decision: row.get(5),
            closed_ms: row.get(6),
            others: row.get(7),
        };
        match out.last_mut() {
            Some(c) if c.kind == kind && c.key == key => c.units.push(unit),
            _ => out.push(Conflict {
                kind,
                key,
                units: vec![unit],
            }),
        }
    }
    Ok(out)
}

/// One unit event in a unit's central history (its chained states, in order).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct UnitEvent {
    pub seq: i64,
    pub event: String,
    pub status: Option<String>,
    pub decision: Option<String>,
    pub decision_reason: Option<String>,
    pub received: String,
}

/// A unit found centrally: where, what it holds now, its history and its scans.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct CentralUnit {
    pub station: String,
    pub unit: i64,
    pub status: Option<String>,
    pub decision: Option<String>,
    pub decision_reason: Option<String>,
    pub opened_ms: Option<i64>,
    pub closed_ms: Option<i64>,
    pub mode: Option<String>,
    pub identifiers: Vec<(String, String)>,
    pub history: Vec<UnitEvent>,
    pub scans: Vec<CentralScan>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct CentralScan {
    pub station: String,
    pub id: i64,
    pub at_ms: Option<i64>,
    pub source: Option<String>,
    pub kind: Option<String>,
    pub value: Option<String>,
    pub outcome: Option<String>,
    pub unit: Option<i64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct CentralFound {
    pub query: String,
    pub keys: Vec<String>,
    pub units: Vec<CentralUnit>,
    /// Scans that carried the value at any desk without joining a unit.
    pub loose_scans: Vec<CentralScan>,
}

const SCAN_COLUMNS: &str = "station, id, at_ms, source, kind, value, outcome, unit_id";

fn scan_row(row: &postgres::Row) -> CentralScan {
    CentralScan {
        station: row.get(0),
        id: row.get(1),
        at_ms: row.get(2),
        source: row.get(3),
        kind: row.get(4),
        value: row.get(5),
        outcome: row.get(6),
        unit: row.get(7),
    }
}

/// Every unit at any desk holding one of `keys` (the forms of the value `ident::classify`
/// gives, as `find` uses locally), with its history and scans; and the loose scans of `value`.
pub(crate) fn find(
    client: &mut Client,
    query: &str,
    value: &str,
    keys: &[String],
) -> Result<CentralFound, postgres::Error> {
    let units = client.query(
        "SELECT DISTINCT u.station, u.id, u.status, u.decision, u.decision_reason, u.opened_ms,
                u.closed_ms, u.mode
         FROM central_identifiers i JOIN central_units u ON u.station = i.station AND u.id = i.unit_id
         WHERE i.key = ANY($1)
         ORDER BY u.station, u.id",
        &[&keys],
    )?;
    let mut found = Vec::with_capacity(units.len());
    for row in units {
        let (station, unit): (String, i64) = (row.get(0), row.get(1));
        let identifiers = client
            .query(
                "SELECT kind, value FROM central_identifiers WHERE station = $1 AND unit_id = $2
                 ORDER BY kind, slot",
                &[&station, &unit],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let history = client
            .query(
                "SELECT seq, event, body::jsonb #>> '{unit,status}', body::jsonb #>> '{unit,decision}',
                        body::jsonb #>> '{unit,decision_reason}', received::text
                 FROM ledger WHERE station = $1 AND kind = 'unit' AND ref_id = $2 ORDER BY seq",
                &[&station, &unit],
            )?
            .iter()
            .map(|r| UnitEvent {
                seq: r.get(0),
                event: r.get(1),
                status: r.get(2),
                decision: r.get(3),
                decision_reason: r.get(4),
                received: r.get(5),
            })
            .collect();
        let scans = client
            .query(
                &format!(
                    "SELECT {SCAN_COLUMNS} FROM central_scans WHERE station = $1 AND unit_id = $2 ORDER BY id"
                ),
                &[&station, &unit],
            )?
            .iter()
            .map(scan_row)
            .collect();
        found.push(CentralUnit {
            station,
            unit,
            status: row.get(2),
            decision: row.get(3),
            decision_reason: row.get(4),
            opened_ms: row.get(5),
            closed_ms: row.get(6),
            mode: row.get(7),
            identifiers,
            history,
            scans,
        });
    }
    let loose_scans = client
        .query(
            &format!(
                "SELECT {SCAN_COLUMNS} FROM central_scans WHERE value = ANY($1) AND unit_id IS NULL
                 ORDER BY station, id"
            ),
            &[&vec![value.to_owned(), query.to_owned()]],
        )?
        .iter()
        .map(scan_row)
        .collect();
    Ok(CentralFound {
        query: query.to_owned(),
        keys: keys.to_vec(),
        units: found,
        loose_scans,
    })
}

/// One station's counts.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct StationReport {
    pub station: String,
    pub ledger_rows: i64,
    pub last_push: Option<String>,
    pub scans: i64,
    pub rejected_scans: i64,
    pub units: i64,
    pub open_units: i64,
    /// Closed units by decision (or by status for units without one), sorted by name.
    pub decisions: Vec<(String, i64)>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct Report {
    pub stations: Vec<StationReport>,
    pub totals: StationReport,
    /// Per live central recall list: entries found at any desk, of all.
    pub recall: Vec<super::lists::RecallProgress>,
    pub cross_desk_conflicts: i64,
}

pub(crate) fn report(client: &mut Client) -> Result<Report, postgres::Error> {
    let mut stations: Vec<StationReport> = client
        .query(
            "SELECT s.name, s.head_seq, s.last_push::text,
                (SELECT count(*) FROM central_scans c WHERE c.station = s.name),
                (SELECT count(*) FROM central_scans c WHERE c.station = s.name AND c.outcome = 'rejected'),
                (SELECT count(*) FROM central_units u WHERE u.station = s.name AND u.status <> 'open'),
                (SELECT count(*) FROM central_units u WHERE u.station = s.name AND u.status = 'open')
             FROM stations s ORDER BY s.name",
            &[],
        )?
        .iter()
        .map(|r| StationReport {
            station: r.get(0),
            ledger_rows: r.get(1),
            last_push: r.get(2),
            scans: r.get(3),
            rejected_scans: r.get(4),
            units: r.get(5),
            open_units: r.get(6),
            decisions: Vec::new(),
        })
        .collect();
    let mut totals = StationReport {
        station: "all".to_owned(),
        ledger_rows: 0,
        last_push: None,
        scans: 0,
        rejected_scans: 0,
        units: 0,
        open_units: 0,
        decisions: Vec::new(),
    };
    for row in client.query(
        "SELECT station, coalesce(decision, status), count(*) FROM central_units
         WHERE status <> 'open' GROUP BY 1, 2 ORDER BY 1, 2",
        &[],
    )? {
        let (station, decision, n): (String, String, i64) = (row.get(0), row.get(1), row.get(2));
        if let Some(s) = stations.iter_mut().find(|s| s.station == station) {
            s.decisions.push((decision.clone(), n));
        }
        match totals.decisions.iter_mut().find(|(d, _)| *d == decision) {
            Some((_, total)) => *total += n,
            None => totals.decisions.push((decision, n)),
        }
    }
    totals.decisions.sort();
    for s in &stations {
        totals.ledger_rows += s.ledger_rows;
        totals.scans += s.scans;
        totals.rejected_scans += s.rejected_scans;
        totals.units += s.units;
        totals.open_units += s.open_units;
        if s.last_push > totals.last_push {
            totals.last_push.clone_from(&s.last_push);
        }
    }
    let cross_desk_conflicts = conflicts(client)?.len() as i64;
    let recall = super::lists::recall_progress(client)?;
    Ok(Report {
        stations,
        totals,
        recall,
        cross_desk_conflicts,
    })
}
