//! The schema, one migration per entry. **Never edit a migration that has shipped; add a new one.**
//! `PRAGMA user_version` holds the number of migrations applied.

pub const MIGRATIONS: &[&str] = &[
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
];

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;
    use crate::store::Store;

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
        assert_eq!(store.schema_version().expect("version"), 6);
        let want = vec![("r1".to_owned(), 2, 3), ("r2".to_owned(), 1, 2)];
        assert_eq!(store.recall_progress_recount().expect("recount"), want);
        assert_eq!(store.recall_progress().expect("progress"), want);
    }
}
