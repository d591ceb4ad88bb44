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
];
