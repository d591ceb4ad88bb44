//! `error`: an error shown with its causes, for the places that log an error instead of
//! returning it.
//!
//! Error messages in this crate say what failed and where, and chain the underlying cause with
//! `source()` instead of repeating it in the text, so each cause is printed exactly once. A plain
//! `{}` of such an error shows only its own message; [`Chain`] shows the message and every cause
//! after it, separated by ": ", the same form `cli::main` prints (anyhow's `{:#}`).

use std::error::Error;
use std::fmt;

/// Displays an error followed by each of its causes: `what: cause: deeper cause`.
pub(crate) struct Chain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = self.0.to_string();
        let mut cause = self.0.source();
        while let Some(err) = cause {
            // Some errors of other crates (`image`'s) show their source in their own message
            // as well; a cause already on the line is not printed twice.
            let more = err.to_string();
            if !text.contains(&more) {
                text.push_str(": ");
                text.push_str(&more);
            }
            cause = err.source();
        }
        f.write_str(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::Chain;
    use crate::store::StoreError;

    #[test]
    fn each_cause_is_shown_once_after_the_message() {
        let err = StoreError::CreateDir {
            path: "/x/y".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "Not a directory"),
        };
        assert_eq!(
            Chain(&err).to_string(),
            "cannot create the database directory /x/y: Not a directory"
        );
        assert_eq!(err.to_string(), "cannot create the database directory /x/y");
    }
}
