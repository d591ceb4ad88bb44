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
];
