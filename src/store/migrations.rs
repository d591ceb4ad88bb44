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
];
