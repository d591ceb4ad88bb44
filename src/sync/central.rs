//! The central PostgreSQL schema, created and migrated by the stations themselves.
//!
//! Like the local store, the schema is a list of numbered migrations; the number applied is the
//! one row of `central_schema`. A station runs the migrations it knows at every connection,
//! under a transaction-level advisory lock so that two stations starting together do not both
//! apply one; a server with a number higher than this binary knows is refused, since this
//! binary cannot tell what the newer schema expects of it. **Never edit a shipped migration.**
//!
//! The server does not trust the stations: the `ledger` trigger checks every row's sequence
//! number and hash against the station's head before it is stored, and refuses a gap or a
//! broken hash with SQLSTATE `SS001` (see `REFUSED`). The same trigger keeps the content views
//! (`central_scans`, `central_units`, `central_identifiers`) in the same transaction, from the
//! row's JSON body, so the views can never hold what the chain does not.

use postgres::Client;

/// The SQLSTATE the central triggers raise when they refuse a row; the message says why.
pub(crate) const REFUSED: &str = "SS001";

/// The advisory lock key that serialises migrations (any fixed number: "scanstat" in ASCII).
const MIGRATION_LOCK: i64 = 0x7363_616e_7374_6174;

/// The tables a scanstation central database has; one of them without `central_schema` means
/// the database belongs to something else.
const OURS: &[&str] = &[
    "stations",
    "ledger",
    "central_scans",
    "central_units",
    "central_identifiers",
];

/// Migration `v` is `MIGRATIONS[v - 1]`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the stations and their chains. The trigger is the server's own check of each row: it
    // must follow a row the station's chain holds (or be row 1), and its hash must be the one
    // over that row's hash and its content (the formula of src/store/chain.rs). A row the
    // server already holds with the same hash is skipped (returns NULL), so a batch re-sent
    // after a lost acknowledgement is harmless; the same sequence number with another hash is
    // refused. The ledger's foreign key keeps out a station that is not registered.
    r#"
    CREATE TABLE stations (
        name text PRIMARY KEY,
        uid text UNIQUE NOT NULL,
        head_seq bigint NOT NULL DEFAULT 0,
        head_hash bytea,
        first_push timestamptz,
        last_push timestamptz
    );
    CREATE TABLE ledger (
        station text NOT NULL REFERENCES stations (name),
        seq bigint NOT NULL,
        kind text NOT NULL,
        ref_id bigint NOT NULL,
        event text NOT NULL,
        body text NOT NULL,
        hash bytea NOT NULL,
        received timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (station, seq)
    );
    CREATE FUNCTION central_ledger_check() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        have bytea;
        prev bytea;
        ends bigint;
    BEGIN
        SELECT hash INTO have FROM ledger WHERE station = NEW.station AND seq = NEW.seq;
        IF FOUND THEN
            IF have = NEW.hash THEN
                RETURN NULL;
            END IF;
            RAISE EXCEPTION 'station % sent row % with another hash than the central copy holds', NEW.station, NEW.seq
                USING ERRCODE = 'SS001';
        END IF;
        IF NEW.seq = 1 THEN
            prev := decode(repeat('00', 32), 'hex');
        ELSE
            -- A row-level BEFORE trigger sees the rows the same statement inserted before
            -- this one, so a batch chains on itself.
            SELECT hash INTO prev FROM ledger WHERE station = NEW.station AND seq = NEW.seq - 1;
        END IF;
        IF prev IS NULL THEN
            SELECT coalesce(max(seq), 0) INTO ends FROM ledger WHERE station = NEW.station;
            RAISE EXCEPTION 'gap: station % sent row % but the central chain ends at %', NEW.station, NEW.seq, ends
                USING ERRCODE = 'SS001';
        END IF;
        IF sha256(prev || convert_to(NEW.kind || E'\n' || NEW.ref_id::text || E'\n' || NEW.event || E'\n' || NEW.body, 'UTF8')) <> NEW.hash THEN
            RAISE EXCEPTION 'broken hash at station % row %', NEW.station, NEW.seq USING ERRCODE = 'SS001';
        END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER ledger_check BEFORE INSERT ON ledger
        FOR EACH ROW EXECUTE FUNCTION central_ledger_check();
    -- The head moves once per statement, not per row: a row updated thousands of times in
    -- one transaction leaves thousands of versions for every later lookup to walk.
    CREATE FUNCTION central_ledger_head() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE stations s SET head_seq = n.seq, head_hash = n.hash, last_push = now(),
            first_push = coalesce(s.first_push, now())
        FROM (SELECT DISTINCT ON (station) station, seq, hash FROM new_rows
              ORDER BY station, seq DESC) n
        WHERE s.name = n.station AND n.seq > s.head_seq;
        RETURN NULL;
    END $$;
    CREATE TRIGGER ledger_head AFTER INSERT ON ledger REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION central_ledger_head();
    CREATE FUNCTION central_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the central ledger is append-only' USING ERRCODE = 'SS001';
    END $$;
    CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger
        FOR EACH ROW EXECUTE FUNCTION central_ledger_append_only();
    "#,
    // 2: the content views the central commands query (documented in ARCHITECTURE.md), kept by
    // an AFTER trigger from each stored row's body, and filled from the rows already held.
    // A body is canonical JSON (src/store/chain.rs); jsonb cannot hold U+0000, so an escaped NUL
    // in a scanned value is shown as U+FFFD in the views (the ledger keeps the exact body).
    r#"
    CREATE TABLE central_scans (
        station text NOT NULL,
        id bigint NOT NULL,
        at_ms bigint,
        source text,
        kind text,
        value text,
        valid boolean,
        reason_code text,
        outcome text,
        unit_id bigint,
        mode text,
        decision text,
        decision_reason text,
        seq bigint NOT NULL,
        PRIMARY KEY (station, id)
    );
    CREATE INDEX central_scans_value ON central_scans (value);
    CREATE TABLE central_units (
        station text NOT NULL,
        id bigint NOT NULL,
        status text,
        decision text,
        decision_reason text,
        opened_ms bigint,
        closed_ms bigint,
        mode text,
        event text NOT NULL,
        body jsonb NOT NULL,
        seq bigint NOT NULL,
        PRIMARY KEY (station, id)
    );
    CREATE TABLE central_identifiers (
        station text NOT NULL,
        unit_id bigint NOT NULL,
        kind text NOT NULL,
        key text NOT NULL,
        value text NOT NULL,
        slot bigint,
        scan_id bigint
    );
    CREATE INDEX central_identifiers_key ON central_identifiers (kind, key);
    CREATE INDEX central_identifiers_unit ON central_identifiers (station, unit_id);
    CREATE FUNCTION central_apply(st text, seq bigint, kind text, event text, body text)
    RETURNS void LANGUAGE plpgsql AS $$
    DECLARE
        j jsonb;
        u jsonb;
    BEGIN
        IF kind NOT IN ('scan', 'unit') THEN
            RETURN;
        END IF;
        IF strpos(body, '\u0000') > 0 THEN
            body := replace(body, '\u0000', '\ufffd');
        END IF;
        j := body::jsonb;
        IF kind = 'scan' THEN
            INSERT INTO central_scans (station, id, at_ms, source, kind, value, valid, reason_code,
                                       outcome, unit_id, mode, decision, decision_reason, seq)
            VALUES (st, (j->>'id')::bigint, (j->>'at_ms')::bigint, j->>'source', j->>'kind',
                    j->>'value', (j->>'valid')::bigint <> 0, j->>'reason_code', j->>'outcome',
                    (j->>'unit_id')::bigint, j->>'mode', j->>'decision', j->>'decision_reason', seq)
            ON CONFLICT (station, id) DO NOTHING;
        ELSE
            u := j->'unit';
            INSERT INTO central_units (station, id, status, decision, decision_reason, opened_ms,
                                       closed_ms, mode, event, body, seq)
            VALUES (st, (u->>'id')::bigint, u->>'status', u->>'decision', u->>'decision_reason',
                    (u->>'opened_ms')::bigint, (u->>'closed_ms')::bigint, u->>'mode', event, j, seq)
            ON CONFLICT (station, id) DO UPDATE SET status = EXCLUDED.status,
                decision = EXCLUDED.decision, decision_reason = EXCLUDED.decision_reason,
                opened_ms = EXCLUDED.opened_ms, closed_ms = EXCLUDED.closed_ms,
                mode = EXCLUDED.mode, event = EXCLUDED.event, body = EXCLUDED.body,
                seq = EXCLUDED.seq;
            DELETE FROM central_identifiers WHERE station = st AND unit_id = (u->>'id')::bigint;
            INSERT INTO central_identifiers (station, unit_id, kind, key, value, slot, scan_id)
            SELECT st, (u->>'id')::bigint, i->>'kind', i->>'key', i->>'value',
                   (i->>'slot')::bigint, (i->>'scan_id')::bigint
            FROM jsonb_array_elements(j->'identifiers') AS i;
        END IF;
    END $$;
    CREATE FUNCTION central_ledger_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM central_apply(NEW.station, NEW.seq, NEW.kind, NEW.event, NEW.body);
        RETURN NULL;
    END $$;
    CREATE TRIGGER ledger_apply AFTER INSERT ON ledger
        FOR EACH ROW EXECUTE FUNCTION central_ledger_apply();
    SELECT central_apply(station, seq, kind, event, body) FROM ledger ORDER BY station, seq;
    "#,
    // 3: lists published centrally (src/sync/lists.rs). Every version is kept with the entries
    // it was made of, in file order (`central_list_entries`), so a station can replay deltas
    // and anyone can see what a version said; `central_list_active` is the list as its latest
    // version leaves it, which a station new to the list takes whole and the recall progress
    // counts against. `central_list_pulls` is what each station last took, so the central
    // side sees a desk still on an old version.
    r#"
    CREATE TABLE central_lists (
        name text PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('recall', 'blocklist', 'expected', 'shipped')),
        version bigint NOT NULL,
        removed boolean NOT NULL DEFAULT false,
        updated timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE central_list_versions (
        name text NOT NULL REFERENCES central_lists (name),
        version bigint NOT NULL,
        mode text NOT NULL CHECK (mode IN ('replace', 'delta', 'remove')),
        source text NOT NULL,
        sha256 bytea,
        entries bigint NOT NULL,
        published timestamptz NOT NULL DEFAULT now(),
        published_by text NOT NULL DEFAULT current_user,
        PRIMARY KEY (name, version)
    );
    CREATE TABLE central_list_entries (
        name text NOT NULL,
        version bigint NOT NULL,
        n bigint NOT NULL,
        remove boolean NOT NULL,
        match text NOT NULL,
        lo text NOT NULL,
        hi text,
        reason text NOT NULL,
        line bigint NOT NULL,
        PRIMARY KEY (name, version, n),
        FOREIGN KEY (name, version) REFERENCES central_list_versions (name, version)
    );
    CREATE TABLE central_list_active (
        name text NOT NULL REFERENCES central_lists (name),
        match text NOT NULL,
        lo text NOT NULL,
        hi text,
        reason text NOT NULL,
        line bigint NOT NULL,
        added_version bigint NOT NULL
    );
    CREATE INDEX central_list_active_key ON central_list_active (name, match, lo);
    CREATE TABLE central_list_pulls (
        station text NOT NULL REFERENCES stations (name),
        name text NOT NULL REFERENCES central_lists (name),
        version bigint NOT NULL,
        error text,
        pulled timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (station, name)
    );
    "#,
];

/// Why the central schema could not be checked or brought up to date.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SchemaError {
    #[error("central schema {found} is newer than this scanstation's {known}: upgrade scanstation")]
    Newer { found: i64, known: usize },
    #[error("it has a table {table} but no central_schema version")]
    Foreign { table: String },
    #[error("central migration {version} failed")]
    Migrate {
        version: usize,
        #[source]
        source: postgres::Error,
    },
    #[error(transparent)]
    Db(#[from] postgres::Error),
}

/// Brings the central schema up to `MIGRATIONS.len()` (or `upto`, for tests that build an
/// older server), returning the version found before.
pub(crate) fn migrate(client: &mut Client, upto: usize) -> Result<i64, SchemaError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    let has_version: bool = tx
        .query_one("SELECT to_regclass('central_schema') IS NOT NULL", &[])?
        .get(0);
    let found: i64 = if has_version {
        tx.query_one(
            "SELECT coalesce(max(version), 0)::bigint FROM central_schema",
            &[],
        )?
        .get(0)
    } else {
        for table in OURS {
            let exists: bool = tx
                .query_one("SELECT to_regclass($1) IS NOT NULL", &[table])?
                .get(0);
            if exists {
                return Err(SchemaError::Foreign {
                    table: (*table).to_owned(),
                });
            }
        }
        tx.batch_execute(
            "CREATE TABLE central_schema (version bigint NOT NULL);
             INSERT INTO central_schema (version) VALUES (0);",
        )?;
        0
    };
    let known = MIGRATIONS.len();
    if found > known as i64 {
        return Err(SchemaError::Newer { found, known });
    }
    let upto = upto.min(known);
    let first = usize::try_from(found).unwrap_or(0) + 1;
    for version in first..=upto {
        let sql = MIGRATIONS[version - 1];
        tx.batch_execute(sql)
            .map_err(|source| SchemaError::Migrate { version, source })?;
        let v = version as i64;
        tx.execute("UPDATE central_schema SET version = $1", &[&v])
            .map_err(|source| SchemaError::Migrate { version, source })?;
    }
    tx.commit()?;
    Ok(found)
}
