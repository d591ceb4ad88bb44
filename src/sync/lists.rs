//! Lists published centrally: `scanstation central list import | ls | rm` write them to the
//! central PostgreSQL (schema migration 3), and every syncing station takes the versions it
//! does not hold after its pushes (`pull`), into its own store, where matching stays local and
//! works offline.
//!
//! **Versions.** Each publish is the list's next central version, kept with its entries in file
//! order. A station new to a list, or one that missed a full (replace) version, takes the list
//! as its latest version leaves it (`central_list_active`) as one full import; a station one or
//! more deltas behind replays them in order, so a one-line change to a million-entry recall list
//! costs a desk one line, not a million. The store records the central version in the same
//! transaction as the import (`Store::import_central_list`), so a station killed mid-pull never
//! takes a version twice. A central removal removes the station's copy.
//!
//! A station's own list of the same name and another kind is left alone: the pull records why
//! (shown by `sync status`, and centrally by `central list ls`) and tries again at the next pull.

use std::collections::HashMap;

use postgres::{Client, IsolationLevel};
use serde::Serialize;

use super::{SyncError, Target};
use crate::clock;
use crate::lists::{Entry, ImportMode, ListKind, MatchKind};
use crate::store::{CentralOrigin, Store};

/// Rows per insert statement when a list is published (each row is nine parameters' worth of
/// array elements, so this bounds one statement's size, not a parameter count).
const PUBLISH_CHUNK: usize = 20_000;

/// What one publish did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Published {
    pub name: String,
    pub kind: String,
    pub version: i64,
    pub mode: String,
    pub added: i64,
    pub removed: i64,
    pub unmatched_removes: i64,
    /// Active entries after this version.
    pub active: i64,
}

/// A parsed list file to publish.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListFile<'a> {
    pub kind: ListKind,
    pub name: &'a str,
    pub entries: &'a [Entry],
    pub mode: ImportMode,
    /// The file's name, kept with the version.
    pub source: &'a str,
    pub sha256: &'a [u8],
}

/// Publishes `entries` (a parsed list file) as the next central version of `name`, in one
/// transaction. A replace file (no `op` column) makes the list exactly its entries; a delta
/// applies its adds and removes in file order. The kind of an existing list cannot change.
pub(crate) fn publish(
    client: &mut Client,
    target: &Target,
    file: &ListFile<'_>,
) -> Result<Published, SyncError> {
    let ListFile {
        kind,
        name,
        entries,
        mode,
        source,
        sha256,
    } = *file;
    let err = |e| target.error("publishing the list", e);
    let mut tx = client.transaction().map_err(err)?;
    let version = next_version(&mut tx, target, name, Some(kind))?;
    let mode_text = mode.as_str();
    let count = entries.len() as i64;
    tx.execute(
        "INSERT INTO central_list_versions (name, version, mode, source, sha256, entries)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[&name, &version, &mode_text, &source, &sha256, &count],
    )
    .map_err(err)?;
    let mut removed: i64 = 0;
    let mut unmatched: i64 = 0;
    if mode == ImportMode::Replace {
        removed = tx
            .execute("DELETE FROM central_list_active WHERE name = $1", &[&name])
            .map_err(err)? as i64;
    }
    for (chunk_index, chunk) in entries.chunks(PUBLISH_CHUNK).enumerate() {
        let first = (chunk_index * PUBLISH_CHUNK) as i64;
        let ns: Vec<i64> = (first..first + chunk.len() as i64).collect();
        let removes: Vec<bool> = chunk.iter().map(|e| e.remove).collect();
        let matches: Vec<&str> = chunk.iter().map(|e| e.kind.as_str()).collect();
        let los: Vec<&str> = chunk.iter().map(|e| e.lo.as_str()).collect();
        let his: Vec<Option<&str>> = chunk.iter().map(|e| e.hi.as_deref()).collect();
        let reasons: Vec<&str> = chunk.iter().map(|e| e.reason.as_str()).collect();
        let lines: Vec<i64> = chunk
            .iter()
            .map(|e| i64::try_from(e.line).unwrap_or(i64::MAX))
            .collect();
        tx.execute(
            "INSERT INTO central_list_entries (name, version, n, remove, match, lo, hi, reason, line)
             SELECT $1, $2, r.n, r.remove, r.match, r.lo, r.hi, r.reason, r.line
             FROM unnest($3::bigint[], $4::bool[], $5::text[], $6::text[], $7::text[], $8::text[],
                         $9::bigint[]) AS r(n, remove, match, lo, hi, reason, line)",
            &[
                &name, &version, &ns, &removes, &matches, &los, &his, &reasons, &lines,
            ],
        )
        .map_err(err)?;
    }
    let added = entries.iter().filter(|e| !e.remove).count() as i64;
    if mode == ImportMode::Replace {
        tx.execute(
            "INSERT INTO central_list_active (name, match, lo, hi, reason, line, added_version)
             SELECT name, match, lo, hi, reason, line, version FROM central_list_entries
             WHERE name = $1 AND version = $2 AND NOT remove ORDER BY n",
            &[&name, &version],
        )
        .map_err(err)?;
    } else {
        // A delta's lines apply in file order: an add and a later remove of one entry cancel.
        for e in entries {
            let line = i64::try_from(e.line).unwrap_or(i64::MAX);
            if e.remove {
                let n = tx
                    .execute(
                        "DELETE FROM central_list_active
                         WHERE name = $1 AND match = $2 AND lo = $3 AND hi IS NOT DISTINCT FROM $4",
                        &[&name, &e.kind.as_str(), &e.lo, &e.hi],
                    )
                    .map_err(err)? as i64;
                if n == 0 {
                    unmatched += 1;
                }
                removed += n;
            } else {
                tx.execute(
                    "INSERT INTO central_list_active (name, match, lo, hi, reason, line, added_version)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    &[&name, &e.kind.as_str(), &e.lo, &e.hi, &e.reason, &line, &version],
                )
                .map_err(err)?;
            }
        }
    }
    let active: i64 = tx
        .query_one(
            "SELECT count(*) FROM central_list_active WHERE name = $1",
            &[&name],
        )
        .map_err(err)?
        .get(0);
    tx.commit().map_err(err)?;
    Ok(Published {
        name: name.to_owned(),
        kind: kind.as_str().to_owned(),
        version,
        mode: mode_text.to_owned(),
        added,
        removed,
        unmatched_removes: unmatched,
        active,
    })
}

/// Removes the central list `name` as its next version (mode `remove`): stations that took it
/// remove their copy at their next pull. Returns that version, or `None` when there is no
/// such list (or it is already removed).
pub(crate) fn remove(
    client: &mut Client,
    target: &Target,
    name: &str,
) -> Result<Option<i64>, SyncError> {
    let err = |e| target.error("removing the list", e);
    let mut tx = client.transaction().map_err(err)?;
    let live: Option<bool> = tx
        .query_opt(
            "SELECT removed FROM central_lists WHERE name = $1 FOR UPDATE",
            &[&name],
        )
        .map_err(err)?
        .map(|r| r.get(0));
    if live != Some(false) {
        return Ok(None);
    }
    let version = next_version(&mut tx, target, name, None)?;
    tx.execute(
        "INSERT INTO central_list_versions (name, version, mode, source, entries)
         VALUES ($1, $2, 'remove', '', 0)",
        &[&name, &version],
    )
    .map_err(err)?;
    tx.execute("DELETE FROM central_list_active WHERE name = $1", &[&name])
        .map_err(err)?;
    tx.execute(
        "UPDATE central_lists SET removed = true WHERE name = $1",
        &[&name],
    )
    .map_err(err)?;
    tx.commit().map_err(err)?;
    Ok(Some(version))
}

/// Locks (or creates) the row of `name` and moves it to its next version, which is returned.
/// With `kind`, an existing list must have it, and a removed list comes back.
fn next_version(
    tx: &mut postgres::Transaction<'_>,
    target: &Target,
    name: &str,
    kind: Option<ListKind>,
) -> Result<i64, SyncError> {
    let err = |e| target.error("publishing the list", e);
    let row = tx
        .query_opt(
            "SELECT kind, version, removed FROM central_lists WHERE name = $1 FOR UPDATE",
            &[&name],
        )
        .map_err(err)?;
    match (row, kind) {
        (Some(row), kind) => {
            let (stored, version, removed): (String, i64, bool) =
                (row.get(0), row.get(1), row.get(2));
            let kind_text = match kind {
                // A removed list's name is free for another kind.
                Some(kind) if stored != kind.as_str() && !removed => {
                    return Err(SyncError::CentralListKind {
                        server: target.server.clone(),
                        name: name.to_owned(),
                        stored,
                        requested: kind.as_str(),
                    });
                }
                Some(kind) => kind.as_str().to_owned(),
                None => stored,
            };
            tx.execute(
                "UPDATE central_lists SET kind = $2, version = $3, removed = false, updated = now()
                 WHERE name = $1",
                &[&name, &kind_text, &(version + 1)],
            )
            .map_err(err)?;
            Ok(version + 1)
        }
        (None, Some(kind)) => {
            tx.execute(
                "INSERT INTO central_lists (name, kind, version) VALUES ($1, $2, 1)",
                &[&name, &kind.as_str()],
            )
            .map_err(err)?;
            Ok(1)
        }
        (None, None) => Ok(0),
    }
}

/// One central list as `central list ls` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CentralList {
    pub name: String,
    pub kind: String,
    pub version: i64,
    pub removed: bool,
    pub active: i64,
    pub updated: String,
    /// Per station that pulled it: the version it holds and the error of its last pull.
    pub stations: Vec<StationCopy>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct StationCopy {
    pub station: String,
    pub version: i64,
    pub error: Option<String>,
    pub pulled: String,
}

/// Every central list with its active entries and which version each station holds.
pub(crate) fn list(client: &mut Client) -> Result<Vec<CentralList>, postgres::Error> {
    let mut lists: Vec<CentralList> = client
        .query(
            "SELECT l.name, l.kind, l.version, l.removed, l.updated::text,
                (SELECT count(*) FROM central_list_active a WHERE a.name = l.name)
             FROM central_lists l ORDER BY l.name",
            &[],
        )?
        .iter()
        .map(|r| CentralList {
            name: r.get(0),
            kind: r.get(1),
            version: r.get(2),
            removed: r.get(3),
            updated: r.get(4),
            active: r.get(5),
            stations: Vec::new(),
        })
        .collect();
    for row in client.query(
        "SELECT name, station, version, error, pulled::text FROM central_list_pulls
         ORDER BY name, station",
        &[],
    )? {
        let name: String = row.get(0);
        if let Some(l) = lists.iter_mut().find(|l| l.name == name) {
            l.stations.push(StationCopy {
                station: row.get(1),
                version: row.get(2),
                error: row.get(3),
                pulled: row.get(4),
            });
        }
    }
    Ok(lists)
}

/// Recall progress across every desk: per live central recall list, its exact serial and IMEI
/// entries, and how many of them a unit not cancelled holds at any desk (and at each desk),
/// the same count a desk keeps for its own units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct RecallProgress {
    pub list: String,
    pub version: i64,
    pub found: i64,
    pub total: i64,
    pub by_station: Vec<(String, i64)>,
}

pub(crate) fn recall_progress(client: &mut Client) -> Result<Vec<RecallProgress>, postgres::Error> {
    let mut out: Vec<RecallProgress> = client
        .query(
            "WITH entries AS (
                SELECT a.name, a.match, a.lo FROM central_list_active a
                JOIN central_lists l ON l.name = a.name
                WHERE l.kind = 'recall' AND NOT l.removed AND a.match IN ('serial', 'imei')
                GROUP BY a.name, a.match, a.lo
             )
             SELECT l.name, l.version,
                count(e.lo) FILTER (WHERE EXISTS (
                    SELECT 1 FROM central_identifiers i
                    JOIN central_units u ON u.station = i.station AND u.id = i.unit_id
                    WHERE i.kind = e.match AND i.key = e.lo AND u.status <> 'cancelled')),
                count(e.lo)
             FROM central_lists l LEFT JOIN entries e ON e.name = l.name
             WHERE l.kind = 'recall' AND NOT l.removed
             GROUP BY l.name, l.version ORDER BY l.name",
            &[],
        )?
        .iter()
        .map(|r| RecallProgress {
            list: r.get(0),
            version: r.get(1),
            found: r.get(2),
            total: r.get(3),
            by_station: Vec::new(),
        })
        .collect();
    for row in client.query(
        "SELECT a.name, i.station, count(DISTINCT (a.match, a.lo))
         FROM central_list_active a
         JOIN central_lists l ON l.name = a.name
         JOIN central_identifiers i ON i.kind = a.match AND i.key = a.lo
         JOIN central_units u ON u.station = i.station AND u.id = i.unit_id
         WHERE l.kind = 'recall' AND NOT l.removed AND a.match IN ('serial', 'imei')
           AND u.status <> 'cancelled'
         GROUP BY a.name, i.station ORDER BY a.name, i.station",
        &[],
    )? {
        let name: String = row.get(0);
        if let Some(p) = out.iter_mut().find(|p| p.list == name) {
            p.by_station.push((row.get(1), row.get(2)));
        }
    }
    Ok(out)
}

/// What one pull changed at the station.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Pulled {
    /// Lists imported or removed, as `name vN`.
    pub taken: Vec<String>,
    /// Lists that could not be taken, with why.
    pub refused: Vec<(String, String)>,
}

/// A central list's head as a pull sees it.
struct Head {
    name: String,
    kind: ListKind,
    version: i64,
    removed: bool,
}

/// Takes every central list version this station does not hold into `store`, then tells the
/// server which versions the station holds. Reads run in one repeatable-read transaction, so
/// the versions and entries taken are one consistent state of the server.
pub(crate) fn pull(
    client: &mut Client,
    target: &Target,
    station: &str,
    store: &mut Store,
) -> Result<Pulled, SyncError> {
    let err = |e| target.error("pulling central lists", e);
    let held: HashMap<String, (i64, Option<String>)> = store
        .central_lists_pulled(Some(&target.key))?
        .into_iter()
        .map(|p| (p.name, (p.central_version, p.error)))
        .collect();
    let local: HashMap<String, ListKind> = store
        .lists()?
        .into_iter()
        .map(|l| (l.name, l.kind))
        .collect();
    let mut pulled = Pulled::default();
    let mut report: Vec<(String, i64, Option<String>)> = Vec::new();
    {
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(err)?;
        let heads: Vec<Head> = tx
            .query(
                "SELECT name, kind, version, removed FROM central_lists ORDER BY name",
                &[],
            )
            .map_err(err)?
            .iter()
            .filter_map(|r| {
                let kind: String = r.get(1);
                Some(Head {
                    name: r.get(0),
                    kind: ListKind::parse(&kind)?,
                    version: r.get(2),
                    removed: r.get(3),
                })
            })
            .collect();
        for head in heads {
            let (have, had_error) = held.get(&head.name).cloned().unwrap_or((0, None));
            if head.version <= have {
                continue;
            }
            let origin = CentralOrigin {
                url: &target.key,
                version: head.version,
            };
            let now = clock::now_ms();
            if head.removed {
                // Only a copy this station took from the server is removed; a list of its own
                // with the same name is not the server's to delete.
                if have > 0 {
                    store.remove_central_list(&head.name, now, origin)?;
                } else {
                    store.central_list_seen(origin, &head.name, now)?;
                }
                pulled
                    .taken
                    .push(format!("{} v{} (removed)", head.name, head.version));
                report.push((head.name, head.version, None));
                continue;
            }
            if let Some(kind) = local.get(&head.name)
                && *kind != head.kind
            {
                let why = format!(
                    "a local list {} exists with kind {}; the central list is {}",
                    head.name, kind, head.kind
                );
                if had_error.as_deref() != Some(why.as_str()) {
                    tracing::warn!(list = %crate::term::escape(&head.name), reason = %crate::term::escape(&why), "cannot take a central list");
                }
                store.central_list_refused(&target.key, &head.name, &why, now)?;
                pulled.refused.push((head.name.clone(), why.clone()));
                report.push((head.name, have, Some(why)));
                continue;
            }
            let modes: Vec<(i64, String)> = tx
                .query(
                    "SELECT version, mode FROM central_list_versions
                     WHERE name = $1 AND version > $2 AND version <= $3 ORDER BY version",
                    &[&head.name, &have, &head.version],
                )
                .map_err(err)?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            let deltas_only = have > 0
                && local.contains_key(&head.name)
                && modes.len() as i64 == head.version - have
                && modes.iter().all(|(_, m)| m == "delta");
            if deltas_only {
                for (version, _) in &modes {
                    let entries = entries_of(&mut tx, target, &head.name, Some(*version))?;
                    store.import_central_list(
                        head.kind,
                        &head.name,
                        &entries,
                        ImportMode::Delta,
                        clock::now_ms(),
                        CentralOrigin {
                            url: &target.key,
                            version: *version,
                        },
                    )?;
                }
            } else {
                let entries = entries_of(&mut tx, target, &head.name, None)?;
                store.import_central_list(
                    head.kind,
                    &head.name,
                    &entries,
                    ImportMode::Replace,
                    now,
                    origin,
                )?;
            }
            tracing::info!(list = %crate::term::escape(&head.name), version = head.version, "took a central list");
            pulled
                .taken
                .push(format!("{} v{}", head.name, head.version));
            report.push((head.name, head.version, None));
        }
        tx.commit().map_err(err)?;
    }
    if !report.is_empty() {
        let mut tx = client.transaction().map_err(err)?;
        for (name, version, error) in &report {
            tx.execute(
                "INSERT INTO central_list_pulls (station, name, version, error) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (station, name) DO UPDATE SET version = $3, error = $4, pulled = now()",
                &[&station, name, version, error],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
    }
    Ok(pulled)
}

/// The entries of one version of `name` (in file order), or with `None` the list's active
/// entries (as one full list).
fn entries_of(
    tx: &mut postgres::Transaction<'_>,
    target: &Target,
    name: &str,
    version: Option<i64>,
) -> Result<Vec<Entry>, SyncError> {
    let err = |e| target.error("pulling central lists", e);
    let rows = match version {
        Some(version) => tx.query(
            "SELECT remove, match, lo, hi, reason, line FROM central_list_entries
             WHERE name = $1 AND version = $2 ORDER BY n",
            &[&name, &version],
        ),
        None => tx.query(
            "SELECT false, match, lo, hi, reason, line FROM central_list_active
             WHERE name = $1 ORDER BY match, lo",
            &[&name],
        ),
    }
    .map_err(err)?;
    let mut entries = Vec::with_capacity(rows.len());
    for r in rows {
        let match_text: String = r.get(1);
        // The server's rows were written by a scanstation, but a server is still outside input:
        // a kind this binary does not know stops the pull instead of being guessed.
        let kind = MatchKind::parse(&match_text).ok_or_else(|| SyncError::Refused {
            server: target.server.clone(),
            message: format!(
                "central list {name:?} has an entry of unknown kind {match_text:?}; upgrade this station"
            ),
        })?;
        entries.push(Entry {
            line: usize::try_from(r.get::<_, i64>(5)).unwrap_or(0),
            kind,
            lo: r.get(2),
            hi: r.get(3),
            reason: r.get(4),
            remove: r.get(0),
        });
    }
    Ok(entries)
}
