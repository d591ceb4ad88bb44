//! The schema, one migration per entry. **Never edit a migration that has shipped; add a new one.**
//! `PRAGMA user_version` holds the number of migrations applied: migration `v` (1-based) is
//! `MIGRATIONS[v - 1]`, and [`apply`] is the one way it is run, by `Store::open` and by the
//! schema tests below that build a database as an older scanstation left it.

use rusqlite::Transaction;

/// Runs migration `version` (1-based) inside `tx` and records it in `PRAGMA user_version`, so the
/// schema change and its version number commit together or not at all.
pub(super) fn apply(tx: &Transaction<'_>, version: usize) -> rusqlite::Result<()> {
    let Some(sql) = version.checked_sub(1).and_then(|i| MIGRATIONS.get(i)) else {
        return Err(rusqlite::Error::InvalidQuery);
    };
    tx.execute_batch(sql)?;
    if version == super::chain::CHAIN_MIGRATION {
        super::chain::start(tx)?;
    }
    tx.pragma_update(
        None,
        "user_version",
        i64::try_from(version).unwrap_or(i64::MAX),
    )
}

pub(super) const MIGRATIONS: &[&str] = &[
    // 1: TAC lookup. Imported rows and operator overrides live apart because the Osmocom data is
    // CC-BY-SA: local entries must stay separable from it, and they win on lookup.
    "CREATE TABLE tac (
        tac TEXT PRIMARY KEY NOT NULL CHECK (length(tac) = 8),
        brand TEXT NOT NULL,
        model TEXT NOT NULL,
        aka TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL
    );
    CREATE TABLE tac_local (
        tac TEXT PRIMARY KEY NOT NULL CHECK (length(tac) = 8),
        brand TEXT NOT NULL,
        model TEXT NOT NULL
    );
    CREATE TABLE tac_imports (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        notice TEXT,
        imported INTEGER NOT NULL,
        skipped INTEGER NOT NULL,
        imported_at TEXT NOT NULL
    );",
    // 2: scans, units and their typed identifiers.
    // `scans` is append-only (triggers enforce it): every raw scan, rejects included, is kept.
    // A unit row exists from its first scan ('open'), so every acknowledged scan can name it.
    "CREATE TABLE units (
        id INTEGER PRIMARY KEY,
        opened_ms INTEGER NOT NULL,
        closed_ms INTEGER,
        status TEXT NOT NULL CHECK (status IN ('open', 'ok', 'flagged', 'cancelled')),
        close_reason TEXT,
        complete INTEGER NOT NULL DEFAULT 0,
        flags TEXT NOT NULL DEFAULT '[]'
    );
    CREATE TABLE scans (
        id INTEGER PRIMARY KEY,
        at_ms INTEGER NOT NULL,
        source TEXT NOT NULL,
        raw BLOB NOT NULL,
        symbology TEXT,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        valid INTEGER NOT NULL,
        reason_code TEXT,
        reason TEXT,
        outcome TEXT NOT NULL,
        unit_id INTEGER REFERENCES units(id)
    );
    CREATE INDEX scans_unit ON scans(unit_id);
    CREATE INDEX scans_at ON scans(at_ms);
    CREATE INDEX scans_value ON scans(value);
    CREATE TRIGGER scans_no_update BEFORE UPDATE ON scans
        BEGIN SELECT RAISE(ABORT, 'scans are append-only'); END;
    CREATE TRIGGER scans_no_delete BEFORE DELETE ON scans
        BEGIN SELECT RAISE(ABORT, 'scans are append-only'); END;
    CREATE TABLE unit_identifiers (
        id INTEGER PRIMARY KEY,
        unit_id INTEGER NOT NULL REFERENCES units(id),
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        key TEXT NOT NULL,
        slot INTEGER NOT NULL,
        scan_id INTEGER NOT NULL REFERENCES scans(id),
        UNIQUE (unit_id, kind, key),
        UNIQUE (unit_id, kind, slot)
    );
    CREATE INDEX unit_identifiers_key ON unit_identifiers(key, kind);",
    // 3: recall, blocklist, expected and shipped lists (src/lists). Entries are never updated in
    // place except to set removed_version, so every version of a list can be reproduced.
    // list_entries.list_id has no REFERENCES clause on purpose: with foreign keys on, deleting a
    // list would make SQLite search the child table with a full index it does not have (the
    // indexes below are partial), a scan of millions of rows; remove_list deletes children first.
    // The per-list columns after updated_ms let matching skip kinds a list does not hold and bound
    // range lookups: they only grow between full imports, so they never hide an entry.
    "CREATE TABLE lists (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('recall', 'blocklist', 'expected', 'shipped')),
        version INTEGER NOT NULL,
        active INTEGER NOT NULL,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        match_mask INTEGER NOT NULL DEFAULT 0,
        imei_span INTEGER NOT NULL DEFAULT 0,
        date_span INTEGER NOT NULL DEFAULT 0,
        prefix_max INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE list_entries (
        id INTEGER PRIMARY KEY,
        list_id INTEGER NOT NULL,
        match TEXT NOT NULL,
        lo TEXT NOT NULL,
        hi TEXT,
        reason TEXT NOT NULL,
        line INTEGER NOT NULL,
        added_version INTEGER NOT NULL,
        removed_version INTEGER
    );
    CREATE INDEX list_entries_active ON list_entries(list_id, match, lo)
        WHERE removed_version IS NULL;
    CREATE INDEX list_entries_removed ON list_entries(list_id)
        WHERE removed_version IS NOT NULL;
    CREATE TABLE list_imports (
        id INTEGER PRIMARY KEY,
        list_id INTEGER NOT NULL,
        version INTEGER NOT NULL,
        mode TEXT NOT NULL CHECK (mode IN ('replace', 'delta')),
        imported_ms INTEGER NOT NULL,
        added INTEGER NOT NULL,
        removed INTEGER NOT NULL,
        unmatched_removes INTEGER NOT NULL,
        UNIQUE (list_id, version)
    );",
    // 4: desk modes and decisions. Every unit and scan records the mode it was made in and the
    // decision with its reason; a decision made by a list also records the list and its version,
    // so it can be reproduced after the list changes.
    "ALTER TABLE units ADD COLUMN mode TEXT;
    ALTER TABLE units ADD COLUMN decision TEXT;
    ALTER TABLE units ADD COLUMN decision_reason TEXT;
    ALTER TABLE units ADD COLUMN decision_list TEXT;
    ALTER TABLE units ADD COLUMN decision_list_version INTEGER;
    ALTER TABLE scans ADD COLUMN mode TEXT;
    ALTER TABLE scans ADD COLUMN decision TEXT;
    ALTER TABLE scans ADD COLUMN decision_reason TEXT;
    CREATE INDEX units_mode ON units(mode, opened_ms);",
    // 5: camera records. `invalid` lists the values on a unit that failed validation (an IMEI
    // whose check digit fails), so the record shows which one is bad; `amends` counts how often
    // a recorded camera unit took values read later on the same label. `evidence` holds one
    // JPEG crop of the label per camera unit; it is replaced when a better frame comes, so it
    // is not part of the append-only history.
    "ALTER TABLE units ADD COLUMN invalid TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE units ADD COLUMN amends INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE evidence (
        unit_id INTEGER PRIMARY KEY REFERENCES units(id),
        at_ms INTEGER NOT NULL,
        frame TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        symbols INTEGER NOT NULL,
        sharpness REAL NOT NULL,
        jpeg BLOB NOT NULL
    );",
    // 6: recall progress kept as it happens instead of recounted. Counting every entry of a
    // million-entry recall list against every unit after each recall unit took about 350 ms of
    // the event loop. `recall_found` holds the active exact (serial, imei) entries of recall
    // lists that a unit not cancelled holds, and `lists.recall_found` / `lists.recall_total`
    // count them, so progress is one read of `lists`.
    //
    // The triggers keep `recall_found` true whichever statement changes a unit's identifiers
    // (added on scan, rewritten on close, removed by UNDO or CANCEL) or cancels a unit, in the
    // transaction that makes the change; each costs a few indexed lookups. The CROSS JOINs fix
    // the join order (lists first, then the active-entry index by list, match and value):
    // left to itself the planner scans the whole entry index, 1M rows for every identifier. List imports and
    // removals update it in `store::lists` (set-based, so a million-entry import does not fire
    // a trigger per entry). The backfill makes an existing database's counts what the old
    // recount gave.
    "CREATE TABLE recall_found (
        entry_id INTEGER PRIMARY KEY,
        list_id INTEGER NOT NULL
    );
    CREATE INDEX recall_found_list ON recall_found(list_id);
    ALTER TABLE lists ADD COLUMN recall_found INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE lists ADD COLUMN recall_total INTEGER NOT NULL DEFAULT 0;
    INSERT INTO recall_found (entry_id, list_id)
        SELECT e.id, e.list_id FROM lists l JOIN list_entries e ON e.list_id = l.id
        WHERE l.kind = 'recall' AND e.match IN ('serial', 'imei') AND e.removed_version IS NULL
          AND EXISTS (
            SELECT 1 FROM unit_identifiers ui JOIN units u ON u.id = ui.unit_id
            WHERE ui.key = e.lo AND ui.kind = e.match AND u.status != 'cancelled');
    UPDATE lists SET
        recall_found = (SELECT COUNT(*) FROM recall_found f WHERE f.list_id = lists.id),
        recall_total = (SELECT COUNT(*) FROM list_entries e
                        WHERE e.list_id = lists.id AND e.match IN ('serial', 'imei')
                          AND e.removed_version IS NULL)
        WHERE kind = 'recall';
    CREATE TRIGGER recall_found_counted AFTER INSERT ON recall_found BEGIN
        UPDATE lists SET recall_found = recall_found + 1 WHERE id = NEW.list_id;
    END;
    CREATE TRIGGER recall_found_uncounted AFTER DELETE ON recall_found BEGIN
        UPDATE lists SET recall_found = recall_found - 1 WHERE id = OLD.list_id;
    END;
    CREATE TRIGGER recall_seen AFTER INSERT ON unit_identifiers
        WHEN NEW.kind IN ('serial', 'imei')
          AND EXISTS (SELECT 1 FROM units WHERE id = NEW.unit_id AND status != 'cancelled')
    BEGIN
        INSERT OR IGNORE INTO recall_found (entry_id, list_id)
            SELECT e.id, e.list_id FROM lists l CROSS JOIN list_entries e
            WHERE e.list_id = l.id AND l.kind = 'recall' AND e.match = NEW.kind AND e.lo = NEW.key
              AND e.removed_version IS NULL
              AND NOT EXISTS (SELECT 1 FROM recall_found f WHERE f.entry_id = e.id);
    END;
    CREATE TRIGGER recall_unseen AFTER DELETE ON unit_identifiers
        WHEN OLD.kind IN ('serial', 'imei')
          AND NOT EXISTS (
            SELECT 1 FROM unit_identifiers ui JOIN units u ON u.id = ui.unit_id
            WHERE ui.key = OLD.key AND ui.kind = OLD.kind AND u.status != 'cancelled')
    BEGIN
        DELETE FROM recall_found WHERE entry_id IN (
            SELECT e.id FROM lists l CROSS JOIN list_entries e
            WHERE e.list_id = l.id AND l.kind = 'recall' AND e.match = OLD.kind AND e.lo = OLD.key
              AND e.removed_version IS NULL);
    END;
    CREATE TRIGGER recall_unit_cancelled AFTER UPDATE OF status ON units
        WHEN NEW.status = 'cancelled' AND OLD.status != 'cancelled'
    BEGIN
        DELETE FROM recall_found WHERE entry_id IN (
            SELECT e.id FROM unit_identifiers ui
                CROSS JOIN lists l CROSS JOIN list_entries e
            WHERE l.kind = 'recall' AND e.list_id = l.id AND e.match = ui.kind AND e.lo = ui.key
              AND ui.unit_id = NEW.id AND ui.kind IN ('serial', 'imei')
              AND NOT EXISTS (
                SELECT 1 FROM unit_identifiers o JOIN units u ON u.id = o.unit_id
                WHERE o.key = ui.key AND o.kind = ui.kind AND u.status != 'cancelled'));
    END;
    CREATE TRIGGER recall_unit_restored AFTER UPDATE OF status ON units
        WHEN OLD.status = 'cancelled' AND NEW.status != 'cancelled'
    BEGIN
        INSERT OR IGNORE INTO recall_found (entry_id, list_id)
            SELECT e.id, e.list_id FROM unit_identifiers ui
                CROSS JOIN lists l CROSS JOIN list_entries e
            WHERE l.kind = 'recall' AND e.list_id = l.id AND e.match = ui.kind AND e.lo = ui.key
              AND e.removed_version IS NULL AND ui.unit_id = NEW.id AND ui.kind IN ('serial', 'imei')
              AND NOT EXISTS (SELECT 1 FROM recall_found f WHERE f.entry_id = e.id);
    END;",
    // 7: `INSERT OR REPLACE` (or `REPLACE INTO`) with the id of a stored scan deletes that scan
    // to make room, and SQLite fires no DELETE trigger for it unless recursive triggers are on,
    // so the triggers of migration 2 let it rewrite a scan. This refuses the insert before the
    // conflict is resolved. An insert without an id sees NEW.id = -1, which no scan has.
    "CREATE TRIGGER scans_no_replace BEFORE INSERT ON scans
        WHEN EXISTS (SELECT 1 FROM scans WHERE id = NEW.id)
        BEGIN SELECT RAISE(ABORT, 'scans are append-only'); END;",
    // 8: the webhook outbox. Each committed event a webhook wants is written here in the same
    // transaction as its unit or scan, so a receiver or a station that goes down loses nothing:
    // the delivery threads send the rows in id order and keep, per URL, how far they got.
    // AUTOINCREMENT because delivered rows are deleted: a plain rowid would hand a deleted
    // top id out again, and an id is a delivery's idempotency key (with `station.uid`), which
    // must never name two different bodies. `station.uid` makes those keys unique per database.
    "CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (kind IN ('unit', 'scan')),
        body TEXT NOT NULL,
        created_ms INTEGER NOT NULL
    );
    CREATE TABLE webhook_state (
        url TEXT PRIMARY KEY NOT NULL,
        delivered_to INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        last_attempt_ms INTEGER,
        last_success_ms INTEGER,
        next_attempt_ms INTEGER,
        added_ms INTEGER NOT NULL
    );
    CREATE TABLE station (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        uid TEXT NOT NULL
    );
    INSERT INTO station (id, uid) VALUES (1, lower(hex(randomblob(16))));",
    // 9: the ledger (src/store/chain.rs): one hash-chained row per scan, unit change and list
    // version, written in the transaction that records it. `apply` follows this migration with
    // `chain::start`, which writes the genesis row and chains the rows the store already held.
    // A scan's row keeps no body (it is rebuilt from `scans`, which never changes); units and
    // list versions keep theirs, since units change and list versions go with their list.
    "CREATE TABLE ledger (
        seq INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('genesis', 'scan', 'unit', 'list')),
        ref_id INTEGER NOT NULL,
        event TEXT NOT NULL,
        body TEXT,
        hash BLOB NOT NULL CHECK (length(hash) = 32)
    );
    CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
        BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
    CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
        BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
    CREATE TRIGGER ledger_no_replace BEFORE INSERT ON ledger
        WHEN EXISTS (SELECT 1 FROM ledger WHERE seq = NEW.seq)
        BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;",
    // 10: where each central PostgreSQL server's copy of the ledger stands (src/sync). `url` is
    // the server's URL without its password; `pushed_seq` is the last ledger row the server
    // acknowledged (committed), which only says how far the last push got: the server's own
    // head is the truth at every push, so a lost update here costs nothing but a re-check.
    "CREATE TABLE sync_state (
        url TEXT PRIMARY KEY NOT NULL,
        station TEXT NOT NULL,
        pushed_seq INTEGER NOT NULL DEFAULT 0,
        last_push_ms INTEGER,
        last_error TEXT,
        last_attempt_ms INTEGER,
        next_attempt_ms INTEGER
    );",
    // 11: the cross-desk conflicts the central server knows (src/sync pulls them after a
    // push), kept here so the station tells the operator when a unit holds one of them without
    // asking the network while it decides. Replaced whole at each pull; `note` says which
    // desks and units hold the value.
    "CREATE TABLE cross_desk_conflicts (
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        note TEXT NOT NULL,
        pulled_ms INTEGER NOT NULL,
        PRIMARY KEY (kind, key)
    );",
    // 12: the lists this station took from a central server (src/sync/lists.rs): per server
    // and list, the central version it holds and the local version that import made, so a
    // pull fetches only what is newer. `error` keeps why the last version could not be taken
    // (a local list of the same name and another kind); `sync status` shows it.
    "CREATE TABLE central_lists_pulled (
        url TEXT NOT NULL,
        name TEXT NOT NULL,
        central_version INTEGER NOT NULL,
        local_version INTEGER,
        pulled_ms INTEGER NOT NULL,
        error TEXT,
        PRIMARY KEY (url, name)
    );",
];

#[cfg(test)]
mod tests {
    use super::super::chain::CHAIN_MIGRATION;
    use super::{MIGRATIONS, apply};
    use crate::ident::tac::TacLookup;
    use crate::lists::ListKind;
    use crate::store::{Store, StoreError};
    use rusqlite::Connection;
    use rusqlite::types::Value;

    /// Representative rows as a scanstation at each version wrote them: `SEEDS[v - 1]` runs
    /// right after migration `v`, using only the tables and columns that existed then. A new
    /// migration needs a new seed (the length is checked), so every upgrade path is tested
    /// with data in it.
    const SEEDS: &[&str] = &[
        // 1: TAC tables.
        "INSERT INTO tac (tac, brand, model, aka, source)
             VALUES ('35417803', 'Apple', 'iPhone 15', '', 'osmocom');
         INSERT INTO tac_local (tac, brand, model) VALUES ('49015420', 'Local', 'Handset');
         INSERT INTO tac_imports (source, notice, imported, skipped, imported_at)
             VALUES ('tacdb.csv', 'CC-BY-SA 3.0', 1, 2, '2025-01-01T00:00:00.000Z');",
        // 2: a closed unit with two scans and identifiers, an open unit, a rejected scan.
        "INSERT INTO units (id, opened_ms, closed_ms, status, close_reason, complete, flags)
             VALUES (1, 1000, 2000, 'ok', 'complete', 1, '[]'),
                    (2, 3000, NULL, 'open', NULL, 0, '[]');
         INSERT INTO scans (id, at_ms, source, raw, symbology, kind, value, valid, reason_code,
                            reason, outcome, unit_id)
             VALUES (1, 1000, 'stdin', CAST('SC02XG1ABJGH5' AS BLOB), ']C0', 'serial',
                     'C02XG1ABJGH5', 1, NULL, NULL, 'added', 1),
                    (2, 1500, 'serial:/dev/ttyACM0', CAST('354178036859789' AS BLOB), NULL,
                     'imei', '354178036859789', 1, NULL, NULL, 'added', 1),
                    (3, 3000, 'stdin', x'ff00fe', NULL, 'unknown', '', 0, 'not_utf8',
                     'not UTF-8: byte 0xFF at position 0', 'rejected', NULL);
         INSERT INTO unit_identifiers (unit_id, kind, value, key, slot, scan_id)
             VALUES (1, 'serial', 'C02XG1ABJGH5', 'C02XG1ABJGH5', 1, 1),
                    (1, 'imei', '354178036859789', '35417803685978', 1, 2);",
        // 3: a recall list with an entry that unit 1 holds and one removed in version 2.
        "INSERT INTO lists (id, name, kind, version, active, created_ms, updated_ms)
             VALUES (1, 'battery-2026', 'recall', 2, 2, 100, 200);
         INSERT INTO list_entries (list_id, match, lo, hi, reason, line, added_version,
                                   removed_version)
             VALUES (1, 'serial', 'C02XG1ABJGH5', NULL, 'battery may swell', 2, 1, NULL),
                    (1, 'imei', '35417803685978', NULL, 'battery may swell', 3, 1, NULL),
                    (1, 'serial', 'OLD0001', NULL, 'withdrawn', 4, 1, 2),
                    (1, 'imei_range', '35209900000000', '35209900999999', 'batch', 5, 2, NULL);
         INSERT INTO list_imports (list_id, version, mode, imported_ms, added, removed,
                                   unmatched_removes)
             VALUES (1, 1, 'replace', 100, 3, 0, 0), (1, 2, 'delta', 200, 1, 1, 0);",
        // 4: a unit and a scan with their mode and decision.
        "INSERT INTO units (id, opened_ms, closed_ms, status, close_reason, complete, flags, mode,
                            decision, decision_reason, decision_list, decision_list_version)
             VALUES (3, 4000, 5000, 'flagged', 'complete', 1,
                     '[{\"code\":\"duplicate\",\"message\":\"already registered as unit 1\"}]',
                     'recall', 'recall-hit', 'battery may swell', 'battery-2026', 2);
         INSERT INTO scans (id, at_ms, source, raw, kind, value, valid, outcome, unit_id, mode,
                            decision, decision_reason)
             VALUES (4, 4000, 'stdin', CAST('R58M315CL4T' AS BLOB), 'serial', 'R58M315CL4T', 1,
                     'added', 3, 'recall', 'recall-hit', 'battery may swell');
         INSERT INTO unit_identifiers (unit_id, kind, value, key, slot, scan_id)
             VALUES (3, 'serial', 'R58M315CL4T', 'R58M315CL4T', 1, 4);",
        // 5: a camera unit with an invalid IMEI, an amend and its label picture.
        "INSERT INTO units (id, opened_ms, closed_ms, status, close_reason, complete, flags,
                            invalid, amends)
             VALUES (4, 6000, 6500, 'flagged', 'label', 0, '[]',
                     '[{\"kind\":\"imei\",\"value\":\"354178036859788\",\"scan_id\":5,\"reason\":\"bad check digit\"}]',
                     1);
         INSERT INTO scans (id, at_ms, source, raw, kind, value, valid, reason_code, reason,
                            outcome, unit_id)
             VALUES (5, 6000, 'replay:frames', CAST('354178036859788' AS BLOB), 'imei',
                     '354178036859788', 0, 'bad_check_digit', 'bad check digit', 'flagged', 4);
         INSERT INTO evidence (unit_id, at_ms, frame, width, height, symbols, sharpness, jpeg)
             VALUES (4, 6000, 'frame-0001.png', 640, 480, 3, 12.5, x'ffd8ffd9');",
        // 6: a unit written after the triggers existed, holding the recalled IMEI too.
        "INSERT INTO units (id, opened_ms, closed_ms, status, close_reason, complete, flags)
             VALUES (5, 7000, 7100, 'ok', 'complete', 1, '[]');
         INSERT INTO scans (id, at_ms, source, raw, kind, value, valid, outcome, unit_id)
             VALUES (6, 7000, 'stdin', CAST('354178036859789' AS BLOB), 'imei',
                     '354178036859789', 1, 'added', 5);
         INSERT INTO unit_identifiers (unit_id, kind, value, key, slot, scan_id)
             VALUES (5, 'imei', '354178036859789', '35417803685978', 1, 6);",
        // 7: a scan appended without an id of its own.
        "INSERT INTO scans (at_ms, source, raw, kind, value, valid, outcome)
             VALUES (8000, 'stdin', CAST('SCANSTATION:NEXT' AS BLOB), 'control',
                     'SCANSTATION:NEXT', 1, 'control');",
        // 8: an undelivered unit event and a webhook that delivered nothing yet.
        "INSERT INTO outbox (kind, body, created_ms)
             VALUES ('unit', '{\"event\":\"unit\",\"id\":5}', 7100);
         INSERT INTO webhook_state (url, delivered_to, attempts, last_error, last_attempt_ms,
                                    next_attempt_ms, added_ms)
             VALUES ('http://127.0.0.1:9/hook', 0, 2, 'connection refused', 7200, 7700, 7000);",
        // 9: nothing that the chain covers (a version-9 station chains every such row in Rust,
        // which SQL cannot imitate); a local TAC entry, which is reference data, not history.
        "INSERT INTO tac_local (tac, brand, model) VALUES ('35209900', 'Bench', 'Handset');",
        // 10: a server that took the genesis row, then went away.
        "INSERT INTO sync_state (url, station, pushed_seq, last_push_ms, last_error,
                                 last_attempt_ms, next_attempt_ms)
             VALUES ('postgres://scan@127.0.0.1:5432/central', 'desk1', 1, 9000,
                     'cannot reach PostgreSQL at 127.0.0.1:5432/central', 9500, 10000);",
        // 11: a conflict pulled from the central server.
        "INSERT INTO cross_desk_conflicts (kind, key, note, pulled_ms)
             VALUES ('imei', '35417803685978', 'desk1 unit 1 (serial C02XG1ABJGH5), desk2 unit 4 (serial R58M315CL4T)', 11000);",
        // 12: a recall list taken from a central server, and one it could not take.
        "INSERT INTO central_lists_pulled (url, name, central_version, local_version, pulled_ms, error)
             VALUES ('postgres://scan@127.0.0.1:5432/central', 'recall-2026', 2, 2, 12000, NULL),
                    ('postgres://scan@127.0.0.1:5432/central', 'blocked', 1, NULL, 12000,
                     'a local list blocked exists with kind recall');",
    ];

    /// The schema the current code ends with: every table with its columns, every index and
    /// every trigger, by name. A migration that changes it changes this list in the same commit.
    const SCHEMA: &[(&str, &str)] = &[
        ("index", "list_entries_active"),
        ("index", "list_entries_removed"),
        ("index", "recall_found_list"),
        ("index", "scans_at"),
        ("index", "scans_unit"),
        ("index", "scans_value"),
        ("index", "sqlite_autoindex_central_lists_pulled_1"),
        ("index", "sqlite_autoindex_cross_desk_conflicts_1"),
        ("index", "sqlite_autoindex_list_imports_1"),
        ("index", "sqlite_autoindex_lists_1"),
        ("index", "sqlite_autoindex_sync_state_1"),
        ("index", "sqlite_autoindex_tac_1"),
        ("index", "sqlite_autoindex_tac_local_1"),
        ("index", "sqlite_autoindex_unit_identifiers_1"),
        ("index", "sqlite_autoindex_unit_identifiers_2"),
        ("index", "sqlite_autoindex_webhook_state_1"),
        ("index", "unit_identifiers_key"),
        ("index", "units_mode"),
        (
            "table",
            "central_lists_pulled(url, name, central_version, local_version, pulled_ms, error)",
        ),
        ("table", "cross_desk_conflicts(kind, key, note, pulled_ms)"),
        (
            "table",
            "evidence(unit_id, at_ms, frame, width, height, symbols, sharpness, jpeg)",
        ),
        ("table", "ledger(seq, kind, ref_id, event, body, hash)"),
        (
            "table",
            "list_entries(id, list_id, match, lo, hi, reason, line, added_version, removed_version)",
        ),
        (
            "table",
            "list_imports(id, list_id, version, mode, imported_ms, added, removed, unmatched_removes)",
        ),
        (
            "table",
            "lists(id, name, kind, version, active, created_ms, updated_ms, match_mask, imei_span, \
             date_span, prefix_max, recall_found, recall_total)",
        ),
        ("table", "outbox(id, kind, body, created_ms)"),
        ("table", "recall_found(entry_id, list_id)"),
        (
            "table",
            "scans(id, at_ms, source, raw, symbology, kind, value, valid, reason_code, reason, \
             outcome, unit_id, mode, decision, decision_reason)",
        ),
        ("table", "sqlite_sequence(name, seq)"),
        ("table", "station(id, uid)"),
        (
            "table",
            "sync_state(url, station, pushed_seq, last_push_ms, last_error, last_attempt_ms, \
             next_attempt_ms)",
        ),
        ("table", "tac(tac, brand, model, aka, source)"),
        (
            "table",
            "tac_imports(id, source, notice, imported, skipped, imported_at)",
        ),
        ("table", "tac_local(tac, brand, model)"),
        (
            "table",
            "unit_identifiers(id, unit_id, kind, value, key, slot, scan_id)",
        ),
        (
            "table",
            "units(id, opened_ms, closed_ms, status, close_reason, complete, flags, mode, decision, \
             decision_reason, decision_list, decision_list_version, invalid, amends)",
        ),
        (
            "table",
            "webhook_state(url, delivered_to, attempts, last_error, last_attempt_ms, \
             last_success_ms, next_attempt_ms, added_ms)",
        ),
        ("trigger", "ledger_no_delete"),
        ("trigger", "ledger_no_replace"),
        ("trigger", "ledger_no_update"),
        ("trigger", "recall_found_counted"),
        ("trigger", "recall_found_uncounted"),
        ("trigger", "recall_seen"),
        ("trigger", "recall_unit_cancelled"),
        ("trigger", "recall_unit_restored"),
        ("trigger", "recall_unseen"),
        ("trigger", "scans_no_delete"),
        ("trigger", "scans_no_replace"),
        ("trigger", "scans_no_update"),
    ];

    /// The schema by name: `(type, name)`, tables as `name(col, col, ...)`, sorted.
    fn schema(conn: &Connection) -> Vec<(String, String)> {
        let mut stmt = conn
            .prepare("SELECT type, name FROM sqlite_master ORDER BY type, name")
            .expect("prepare");
        let objects: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        objects
            .into_iter()
            .map(|(kind, name)| {
                if kind != "table" {
                    return (kind, name);
                }
                let columns = columns(conn, &name).join(", ");
                (kind, format!("{name}({columns})"))
            })
            .collect()
    }

    /// Every object's type, name, table and SQL text, for comparing two databases exactly.
    fn master(conn: &Connection) -> Vec<(String, String, String, Option<String>)> {
        let mut stmt = conn
            .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
            .expect("prepare");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    fn columns(conn: &Connection, table: &str) -> Vec<String> {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
            ))
            .expect("prepare");
        stmt.query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("columns")
    }

    type Rows = Vec<(String, Vec<String>, Vec<Vec<Value>>)>;

    /// Every row of every table, as `(table, columns, rows)`.
    fn contents(conn: &Connection) -> Rows {
        let tables: Vec<String> = {
            let mut stmt = conn
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                .expect("prepare");
            stmt.query_map([], |r| r.get(0))
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("tables")
        };
        tables
            .into_iter()
            .map(|table| {
                let cols = columns(conn, &table);
                let rows = select(conn, &table, &cols);
                (table, cols, rows)
            })
            .collect()
    }

    fn select(conn: &Connection, table: &str, cols: &[String]) -> Vec<Vec<Value>> {
        let list = cols.join(", ");
        let mut stmt = conn
            .prepare(&format!("SELECT {list} FROM {table} ORDER BY rowid"))
            .expect("prepare");
        stmt.query_map([], |r| {
            (0..cols.len())
                .map(|i| r.get::<_, Value>(i))
                .collect::<Result<Vec<_>, _>>()
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
    }

    /// A database as a scanstation of schema `version` left it: migrations 1..=version applied
    /// with [`apply`], each followed by the rows that version wrote.
    fn database_at(path: &std::path::Path, version: usize) -> Connection {
        let mut conn = Connection::open(path).expect("open");
        for v in 1..=version {
            let tx = conn.transaction().expect("begin");
            apply(&tx, v).expect("migration");
            tx.execute_batch(SEEDS[v - 1]).expect("seed");
            tx.commit().expect("commit");
        }
        conn
    }

    #[test]
    fn every_migration_has_seed_rows() {
        assert_eq!(
            SEEDS.len(),
            MIGRATIONS.len(),
            "add the new version's rows to SEEDS"
        );
    }

    #[test]
    fn a_new_database_has_the_current_schema() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("new.db")).expect("create");
        assert_eq!(
            store.schema_version().expect("version"),
            MIGRATIONS.len() as i64
        );
        let want: Vec<(String, String)> = SCHEMA
            .iter()
            .map(|(k, n)| ((*k).to_owned(), (*n).to_owned()))
            .collect();
        assert_eq!(schema(&store.conn), want);
    }

    /// From each earlier version (0: an empty file) the current code reaches the same schema as a
    /// new database, keeps every row each earlier version wrote, and reads them back.
    #[test]
    fn every_earlier_version_upgrades_with_its_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fresh = Store::open(&dir.path().join("fresh.db")).expect("fresh");
        let want = master(&fresh.conn);
        for version in 0..=MIGRATIONS.len() {
            let path = dir.path().join(format!("v{version}.db"));
            let before = {
                let conn = database_at(&path, version);
                let version_read: i64 = conn
                    .query_row("PRAGMA user_version", [], |r| r.get(0))
                    .expect("version");
                assert_eq!(version_read, version as i64);
                contents(&conn)
            };
            let store = Store::open(&path).unwrap_or_else(|e| panic!("from {version}: {e}"));
            assert_eq!(
                store.schema_version().expect("version"),
                MIGRATIONS.len() as i64,
                "from {version}"
            );
            assert_eq!(master(&store.conn), want, "schema from version {version}");
            // Every row and every column an older version wrote is still there, unchanged.
            for (table, cols, rows) in &before {
                assert_eq!(
                    &select(&store.conn, table, cols),
                    rows,
                    "{table} from version {version}"
                );
            }
            read_back(&store, version);
        }
    }

    /// What the station's own reads make of the rows written at `version` and before.
    fn read_back(store: &Store, version: usize) {
        let tacs = store.load_tacs().expect("tacs");
        if version >= 1 {
            let apple = tacs.lookup("35417803").expect("imported TAC");
            assert_eq!(
                (apple.brand.as_str(), apple.model.as_str()),
                ("Apple", "iPhone 15")
            );
            assert!(tacs.lookup("49015420").is_some(), "local TAC");
        } else {
            assert!(tacs.lookup("35417803").is_none());
        }
        if version >= 2 {
            let scan = store.scan(1).expect("read").expect("scan 1");
            assert_eq!((scan.value.as_str(), scan.unit), ("C02XG1ABJGH5", Some(1)));
            let rejected = store.scan(3).expect("read").expect("scan 3");
            assert_eq!(rejected.raw, b"\xff\x00\xfe");
            let unit = store.unit(1).expect("read").expect("unit 1");
            assert_eq!(unit.values(crate::ident::IdKind::Serial), ["C02XG1ABJGH5"]);
            assert_eq!(unit.values(crate::ident::IdKind::Imei), ["354178036859789"]);
        }
        assert_eq!(
            store.count("scans").expect("count"),
            [0, 0, 3, 3, 4, 5, 6, 7, 7, 7, 7, 7, 7][version]
        );
        let lists = store.lists().expect("lists");
        if version >= 3 {
            assert_eq!(lists.len(), 1);
            assert_eq!((lists[0].kind, lists[0].version), (ListKind::Recall, 2));
            let (_, entries) = store
                .list_entries("battery-2026")
                .expect("read")
                .expect("list");
            assert_eq!(entries.len(), 3, "active entries only");
            // Migration 6 counts the recall entries held by units, from whichever version.
            assert_eq!(
                store.recall_progress().expect("progress"),
                store.recall_progress_recount().expect("recount")
            );
            assert_eq!(
                store.recall_progress().expect("progress"),
                vec![("battery-2026".to_owned(), 2, 2)]
            );
        } else {
            assert!(lists.is_empty());
        }
        if version >= 4 {
            let unit = store.unit(3).expect("read").expect("unit 3");
            assert_eq!(unit.decision.map(|v| v.as_str()), Some("recall-hit"));
            assert_eq!(unit.decision_list_version, Some(2));
            assert_eq!(unit.flags.len(), 1);
        }
        if version >= 5 {
            let unit = store.unit(4).expect("read").expect("unit 4");
            assert_eq!((unit.invalid.len(), unit.amends), (1, 1));
            let picture = store.evidence(4).expect("read").expect("picture");
            assert_eq!(picture.jpeg, [0xff, 0xd8, 0xff, 0xd9]);
        }
        if version >= 8 {
            let url = "http://127.0.0.1:9/hook";
            let status = store
                .webhook_status(&[(url.to_owned(), crate::store::OutboxKinds::UNITS)])
                .expect("status");
            assert_eq!((status[0].delivered_to, status[0].backlog), (0, 1));
            assert_eq!(status[0].attempts, 2);
            assert_eq!(status[0].oldest_undelivered_ms, Some(7100));
        }
        let synced = store.sync_status().expect("sync status");
        if version >= 10 {
            assert_eq!(synced.len(), 1);
            assert_eq!(
                (synced[0].station.as_str(), synced[0].pushed_seq),
                ("desk1", 1)
            );
            assert!(synced[0].last_error.is_some());
        } else {
            assert!(synced.is_empty());
        }
        // Every database reaching the current schema has a whole chain: the rows it held before
        // the chain are chained as found, after a genesis row that counts them.
        let verified = store.verify().expect("verify");
        assert!(verified.ok, "from {version}: {verified:?}");
        let started = verified.started.expect("genesis");
        let before = [0, 0, 3, 3, 4, 5, 6, 7, 7, 7][version.min(CHAIN_MIGRATION - 1)];
        assert_eq!(started["before_chain"]["scans"], before, "from {version}");
        // Every database reaching the current schema has its own id for idempotency keys.
        assert_eq!(store.station_uid().expect("uid").len(), 32);
    }

    #[test]
    fn a_database_from_a_newer_scanstation_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("future.db");
        let newer = MIGRATIONS.len() as i64 + 1;
        {
            let conn = database_at(&path, MIGRATIONS.len());
            conn.pragma_update(None, "user_version", newer)
                .expect("version");
        }
        let before = contents(&Connection::open(&path).expect("open"));
        for result in [
            Store::open(&path).map(|_| ()),
            Store::open_read_only(&path).map(|_| ()),
        ] {
            match result {
                Err(StoreError::TooNew { found, known, .. }) => {
                    assert_eq!((found, known), (newer, MIGRATIONS.len()));
                }
                other => panic!("expected TooNew, got {other:?}"),
            }
        }
        let err = Store::open(&path).err().expect("refused");
        assert_eq!(
            err.to_string(),
            format!(
                "database {} is newer (schema {newer}) than this scanstation understands (schema {})",
                path.display(),
                MIGRATIONS.len()
            )
        );
        let conn = Connection::open(&path).expect("reopen");
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(version, newer);
        assert_eq!(contents(&conn), before, "nothing was migrated or written");
    }

    #[test]
    fn a_negative_schema_version_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("odd.db");
        Connection::open(&path)
            .expect("create")
            .pragma_update(None, "user_version", -3)
            .expect("version");
        match Store::open(&path) {
            Err(StoreError::BadVersion { found: -3, .. }) => {}
            other => panic!("expected BadVersion, got {:?}", other.map(|_| ())),
        }
    }

    /// `scans` is append-only (migrations 2 and 7): every raw scan stays exactly as it arrived.
    /// No other table has such triggers; units, identifiers and lists change by design.
    #[test]
    fn scans_refuse_update_and_delete() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("scans.db");
        drop(database_at(&path, MIGRATIONS.len()));
        let store = Store::open(&path).expect("open");
        let before = contents(&store.conn);
        for column in columns(&store.conn, "scans") {
            let err = store
                .conn
                .execute(
                    &format!("UPDATE scans SET {column} = {column} WHERE id = 1"),
                    [],
                )
                .expect_err(&column);
            assert!(
                err.to_string().contains("scans are append-only"),
                "{column}: {err}"
            );
        }
        for sql in [
            "UPDATE scans SET value = 'X' WHERE id = 1",
            "UPDATE scans SET unit_id = 2",
            "DELETE FROM scans WHERE id = 3",
            "DELETE FROM scans",
            "INSERT OR REPLACE INTO scans (id, at_ms, source, raw, kind, value, valid, outcome)
                 VALUES (1, 0, 'x', x'00', 'serial', 'X', 1, 'added')",
            "REPLACE INTO scans (id, at_ms, source, raw, kind, value, valid, outcome)
                 VALUES (2, 0, 'x', x'00', 'serial', 'X', 1, 'added')",
            "INSERT INTO scans (id, at_ms, source, raw, kind, value, valid, outcome)
                 VALUES (3, 0, 'x', x'00', 'serial', 'X', 1, 'added')
                 ON CONFLICT (id) DO UPDATE SET value = 'X'",
        ] {
            let err = store.conn.execute(sql, []).expect_err(sql);
            assert!(
                err.to_string().contains("scans are append-only"),
                "{sql}: {err}"
            );
        }
        assert_eq!(contents(&store.conn), before, "every scan is unchanged");
        // Appending is what the table is for, with a new id or none.
        for sql in [
            "INSERT INTO scans (id, at_ms, source, raw, kind, value, valid, outcome)
                 VALUES (100, 9000, 'stdin', x'41', 'unknown', 'A', 0, 'rejected')",
            "INSERT INTO scans (at_ms, source, raw, kind, value, valid, outcome)
                 VALUES (9001, 'stdin', x'42', 'unknown', 'B', 0, 'rejected')",
        ] {
            store.conn.execute(sql, []).expect(sql);
        }
    }

    /// Defect 8 (issue 9): a database that already holds recall lists and units gets the same
    /// progress from the kept counts of migration 6 as the old full recount gave.
    #[test]
    fn defect8_migration_backfills_recall_progress() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.db");
        {
            let conn = rusqlite::Connection::open(&path).expect("open");
            for sql in &MIGRATIONS[..5] {
                conn.execute_batch(sql).expect("old migration");
            }
            conn.pragma_update(None, "user_version", 5)
                .expect("version");
            conn.execute_batch(
                "INSERT INTO lists (id, name, kind, version, active, created_ms, updated_ms)
                     VALUES (1, 'r1', 'recall', 2, 4, 0, 0), (2, 'r2', 'recall', 1, 2, 0, 0),
                            (3, 'b', 'blocklist', 1, 1, 0, 0);
                 INSERT INTO list_entries (list_id, match, lo, hi, reason, line, added_version, removed_version)
                     VALUES (1, 'serial', 'C02XG1ABJGH5', NULL, '', 2, 1, NULL),
                            (1, 'serial', 'R58M315CL4T', NULL, '', 3, 1, 2),
                            (1, 'imei', '35417803685978', NULL, '', 4, 1, NULL),
                            (1, 'imei', '49015420323751', NULL, '', 5, 2, NULL),
                            (1, 'tac', '35417803', NULL, '', 6, 1, NULL),
                            (2, 'serial', 'R58M315CL4T', NULL, '', 2, 1, NULL),
                            (2, 'imei', '35209900176148', NULL, '', 3, 1, NULL),
                            (3, 'serial', 'C02XG1ABJGH5', NULL, '', 2, 1, NULL);
                 INSERT INTO units (id, opened_ms, status) VALUES
                     (1, 0, 'ok'), (2, 0, 'open'), (3, 0, 'cancelled'), (4, 0, 'flagged');
                 INSERT INTO scans (id, at_ms, source, raw, kind, value, valid, outcome, unit_id)
                     VALUES (1, 0, 'test', x'00', 'serial', 'x', 1, 'added', 1);
                 INSERT INTO unit_identifiers (unit_id, kind, value, key, slot, scan_id) VALUES
                     (1, 'serial', 'C02XG1ABJGH5', 'C02XG1ABJGH5', 1, 1),
                     (1, 'imei', '354178036859789', '35417803685978', 1, 1),
                     (2, 'serial', 'R58M315CL4T', 'R58M315CL4T', 1, 1),
                     (3, 'imei', '352099001761481', '35209900176148', 1, 1),
                     (4, 'imei', '354178036859789', '35417803685978', 1, 1);",
            )
            .expect("old data");
        }
        let store = Store::open(&path).expect("migrate");
        assert_eq!(
            store.schema_version().expect("version"),
            MIGRATIONS.len() as i64
        );
        let want = vec![("r1".to_owned(), 2, 3), ("r2".to_owned(), 1, 2)];
        assert_eq!(store.recall_progress_recount().expect("recount"), want);
        assert_eq!(store.recall_progress().expect("progress"), want);
    }
}
