//! The cross-desk conflicts pulled from the central server (`sync`), kept locally so the station
//! can tell the operator about them while it decides, without a network call.

use rusqlite::params;

use super::{Store, StoreError, Tx};
use crate::ident::IdKind;

/// One conflict as the central server reported it: the identifier's kind and key, and which
/// desks and units hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossDesk {
    pub kind: IdKind,
    pub key: String,
    pub note: String,
}

impl Store {
    /// Replaces the kept conflicts with `conflicts`, in one transaction, so the station never
    /// sees half of a pull. Returns how many are kept. When the pull holds what is kept
    /// already nothing is written: a write would take the store's lock that the desk's next
    /// acknowledgement may be waiting for, after every push.
    pub fn replace_cross_desk(
        &self,
        conflicts: &[(String, String, String)],
        now_ms: i64,
    ) -> Result<usize, StoreError> {
        let mut wanted: Vec<(&str, &str, &str)> = conflicts
            .iter()
            .filter(|(kind, _, _)| IdKind::parse(kind).is_some())
            .map(|(kind, key, note)| (kind.as_str(), key.as_str(), note.as_str()))
            .collect();
        wanted.sort_unstable();
        wanted.dedup_by(|a, b| (a.0, a.1) == (b.0, b.1));
        let kept: Vec<(String, String, String)> = self
            .conn
            .prepare_cached("SELECT kind, key, note FROM cross_desk_conflicts ORDER BY kind, key")
            .and_then(|mut stmt| {
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect()
            })
            .map_err(|e| self.query_err(e))?;
        if kept.len() == wanted.len()
            && kept
                .iter()
                .zip(&wanted)
                .all(|(k, w)| (k.0.as_str(), k.1.as_str(), k.2.as_str()) == *w)
        {
            return Ok(kept.len());
        }
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(|e| self.query_err(e))?;
        tx.execute("DELETE FROM cross_desk_conflicts", [])
            .map_err(|e| self.query_err(e))?;
        let mut kept = 0;
        {
            let mut insert = tx
                .prepare(
                    "INSERT OR REPLACE INTO cross_desk_conflicts (kind, key, note, pulled_ms)
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(|e| self.query_err(e))?;
            for (kind, key, note) in conflicts {
                // Only the kinds this station pairs on; anything else from the server is
                // skipped rather than trusted.
                if IdKind::parse(kind).is_none() {
                    continue;
                }
                insert
                    .execute(params![kind, key, note, now_ms])
                    .map_err(|e| self.query_err(e))?;
                kept += 1;
            }
        }
        tx.commit().map_err(|e| self.query_err(e))?;
        Ok(kept)
    }
}

impl Tx<'_> {
    /// The kept cross-desk conflicts on any of `keys`.
    pub fn cross_desk(&self, keys: &[(IdKind, String)]) -> Result<Vec<CrossDesk>, StoreError> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT note FROM cross_desk_conflicts WHERE kind = ?1 AND key = ?2")
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for (kind, key) in keys {
            let notes = stmt
                .query_map(params![kind.as_str(), key], |r| r.get::<_, String>(0))
                .map_err(|e| self.err(e))?;
            for note in notes {
                out.push(CrossDesk {
                    kind: *kind,
                    key: key.clone(),
                    note: note.map_err(|e| self.err(e))?,
                });
            }
        }
        Ok(out)
    }
}
