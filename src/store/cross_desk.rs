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
    /// sees half of a pull. Returns how many are kept.
    pub fn replace_cross_desk(
        &self,
        conflicts: &[(String, String, String)],
        now_ms: i64,
    ) -> Result<usize, StoreError> {
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
