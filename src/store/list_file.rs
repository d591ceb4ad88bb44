//! Importing a list file into the store: read, parse (pure, in `crate::lists`), then one
//! transaction. It lives with the store because it writes; `lists` only reads text.

use std::path::{Path, PathBuf};

use super::{Store, StoreError};
use crate::lists::{ImportMode, ImportReport, LineError, ListKind, ParsedList, parse};

/// The most bad lines a [`ListError::BadLines`] message lists; the rest are counted.
pub const MAX_LISTED_ERRORS: usize = 100;

/// Why a list file could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("cannot read the list file {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", bad_lines_message(.path, .errors))]
    BadLines {
        path: PathBuf,
        errors: Vec<LineError>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn bad_lines_message(path: &Path, errors: &[LineError]) -> String {
    let mut out = format!(
        "{}: {} bad line{}, nothing imported (fix them or skip bad lines):",
        path.display(),
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    );
    for e in errors.iter().take(MAX_LISTED_ERRORS) {
        out.push_str(&format!("\n{}:{}: {}", path.display(), e.line, e.message));
    }
    if errors.len() > MAX_LISTED_ERRORS {
        out.push_str(&format!(
            "\n... and {} more",
            errors.len() - MAX_LISTED_ERRORS
        ));
    }
    out
}

/// Parses the list file at `path` and imports it into the list `name` in one transaction.
///
/// With `skip_bad_lines` false, any bad line fails the import and nothing changes. With it set,
/// the good lines are imported and the bad ones returned beside the report; a file with bad lines
/// and no good line at all still fails, so a mangled full file cannot empty a list.
pub fn import_file(
    store: &mut Store,
    kind: ListKind,
    name: &str,
    path: &Path,
    skip_bad_lines: bool,
    now_ms: i64,
) -> Result<(ImportReport, Vec<LineError>), ListError> {
    let file = std::fs::File::open(path).map_err(|source| ListError::Read {
        path: path.to_owned(),
        source,
    })?;
    import_reader(
        store,
        kind,
        name,
        path,
        std::io::BufReader::new(file),
        skip_bad_lines,
        now_ms,
    )
}

/// [`import_file`] for a list that arrives as bytes (an HTTP upload); `origin` names it in
/// line errors the way a path would.
pub fn import_reader(
    store: &mut Store,
    kind: ListKind,
    name: &str,
    origin: &Path,
    reader: impl std::io::BufRead,
    skip_bad_lines: bool,
    now_ms: i64,
) -> Result<(ImportReport, Vec<LineError>), ListError> {
    let (parsed, mode) = parse_checked(origin, reader, skip_bad_lines)?;
    let report = store.import_list(kind, name, &parsed.entries, mode, now_ms)?;
    Ok((report, parsed.errors))
}

/// Parses a list and applies the bad-line rule of [`import_file`]: the parsed list (its
/// skipped bad lines in `errors`) and whether it replaces the list or is a delta. The central
/// `list import` publishes with the same rule, so a file means the same at a desk and centrally.
pub fn parse_checked(
    origin: &Path,
    reader: impl std::io::BufRead,
    skip_bad_lines: bool,
) -> Result<(ParsedList, ImportMode), ListError> {
    let parsed = parse(reader);
    if !parsed.errors.is_empty() && (!skip_bad_lines || parsed.entries.is_empty()) {
        return Err(ListError::BadLines {
            path: origin.to_owned(),
            errors: parsed.errors,
        });
    }
    let mode = if parsed.delta {
        ImportMode::Delta
    } else {
        ImportMode::Replace
    };
    Ok((parsed, mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_message_names_file_and_lines_and_caps_the_list() {
        let errors: Vec<LineError> = (1..=150)
            .map(|line| LineError {
                line,
                message: "bad".to_owned(),
            })
            .collect();
        let err = ListError::BadLines {
            path: PathBuf::from("recall.csv"),
            errors,
        };
        let text = err.to_string();
        assert!(text.starts_with("recall.csv: 150 bad lines, nothing imported"));
        assert!(text.contains("\nrecall.csv:1: bad\n"));
        assert!(text.contains("\nrecall.csv:100: bad\n"));
        assert!(!text.contains("recall.csv:101:"));
        assert!(text.ends_with("\n... and 50 more"));
    }
}
