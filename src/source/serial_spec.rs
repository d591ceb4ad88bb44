//! The `serial:PATH[@BAUD]` source spec, parsed here so that the config reads it the same way
//! with or without the `serial` feature (a build without it still has to name a bad spec).

use std::path::PathBuf;

/// What is wrong with a `serial:PATH[@BAUD]` source spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("serial source spec {spec:?} has an empty device path (expected PATH[@BAUD])")]
    EmptyPath { spec: String },
    #[error(
        "serial source spec {spec:?} has a bad baud rate {baud:?} (expected a whole number from 1 to {max})",
        max = u32::MAX
    )]
    BadBaud { spec: String, baud: String },
}

/// Parses the part after `serial:` of a source spec: `PATH[@BAUD]`, e.g. `/dev/scanner@115200`.
///
/// The text after the last `@` is always read as the baud rate, so a path that itself contains
/// `@` needs an explicit baud rate after it. The baud rate is digits only (no sign, no spaces),
/// and a path of nothing but spaces is empty.
pub fn parse_spec(spec: &str) -> Result<(PathBuf, Option<u32>), SpecError> {
    let (path, baud) = match spec.rsplit_once('@') {
        Some((path, baud)) => {
            let parsed = baud
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| baud.parse::<u32>().ok())
                .flatten()
                .filter(|b| *b > 0);
            let Some(parsed) = parsed else {
                return Err(SpecError::BadBaud {
                    spec: spec.to_owned(),
                    baud: baud.to_owned(),
                });
            };
            (path, Some(parsed))
        }
        None => (spec, None),
    };
    if path.trim().is_empty() {
        return Err(SpecError::EmptyPath {
            spec: spec.to_owned(),
        });
    }
    Ok((PathBuf::from(path), baud))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_with_and_without_baud() {
        assert_eq!(
            parse_spec("/dev/scanner@115200"),
            Ok((PathBuf::from("/dev/scanner"), Some(115_200)))
        );
        assert_eq!(
            parse_spec("/dev/ttyACM0"),
            Ok((PathBuf::from("/dev/ttyACM0"), None))
        );
        assert_eq!(
            parse_spec("/dev/odd@name@9600"),
            Ok((PathBuf::from("/dev/odd@name"), Some(9600)))
        );
    }

    #[test]
    fn spec_errors_say_what_is_wrong() {
        for bad in ["", "   ", "@9600", " \t@9600"] {
            let err = parse_spec(bad).err();
            assert!(
                matches!(err, Some(SpecError::EmptyPath { .. })),
                "{bad:?}: {err:?}"
            );
        }
        for (bad, baud) in [
            ("/dev/x@", ""),
            ("/dev/x@fast", "fast"),
            ("/dev/x@0", "0"),
            ("/dev/x@-9600", "-9600"),
            ("/dev/x@+9600", "+9600"),
            ("/dev/x@ 9600", " 9600"),
            ("/dev/x@9600 ", "9600 "),
            ("/dev/x@99999999999", "99999999999"),
        ] {
            assert_eq!(
                parse_spec(bad),
                Err(SpecError::BadBaud {
                    spec: bad.to_owned(),
                    baud: baud.to_owned()
                })
            );
        }
        let msg = parse_spec("/dev/x@fast").err().map(|e| e.to_string());
        assert_eq!(
            msg.as_deref(),
            Some(
                "serial source spec \"/dev/x@fast\" has a bad baud rate \"fast\" (expected a whole number from 1 to 4294967295)"
            )
        );
        let msg = parse_spec("").err().map(|e| e.to_string());
        assert_eq!(
            msg.as_deref(),
            Some("serial source spec \"\" has an empty device path (expected PATH[@BAUD])")
        );
    }
}
