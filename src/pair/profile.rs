//! Unit profiles: which identifiers a unit must hold before it counts as complete.

use crate::ident::IdKind;

/// How many values of a kind one unit holds: 2 for IMEI (dual SIM), 1 for every other kind.
pub fn capacity(kind: IdKind) -> usize {
    match kind {
        IdKind::Imei => 2,
        IdKind::Serial
        | IdKind::Meid
        | IdKind::Esn
        | IdKind::Iccid
        | IdKind::Eid
        | IdKind::Gtin
        | IdKind::Part => 1,
    }
}

/// Why a profile spec such as `serial+imei+imei` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("empty profile: name at least one kind, e.g. serial+imei+imei")]
    Empty,
    #[error(
        "unknown kind {0:?} in profile: use serial, imei, meid, esn, iccid, eid, gtin or part joined by '+'"
    )]
    UnknownKind(String),
    #[error("profile asks for {count} {} values but a unit holds at most {capacity}", .kind.as_str())]
    TooMany {
        kind: IdKind,
        count: usize,
        capacity: usize,
    },
}

/// Which identifiers make a unit complete. Default: one serial and two IMEIs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Each kind at most once, with how many values of it a complete unit holds.
    pub required: Vec<(IdKind, usize)>,
}

impl Default for Profile {
    fn default() -> Profile {
        Profile {
            required: vec![(IdKind::Serial, 1), (IdKind::Imei, 2)],
        }
    }
}

impl Profile {
    /// Parses "serial+imei+imei" (kinds joined by '+', a kind repeated counts twice).
    ///
    /// Words are trimmed and matched in any letter case, since the spec comes from a
    /// config file or the command line where people type freely.
    pub fn parse(spec: &str) -> Result<Profile, ProfileError> {
        if spec.trim().is_empty() {
            return Err(ProfileError::Empty);
        }
        let mut required: Vec<(IdKind, usize)> = Vec::new();
        for word in spec.split('+') {
            let word = word.trim();
            let kind = IdKind::parse(&word.to_ascii_lowercase())
                .ok_or_else(|| ProfileError::UnknownKind(word.to_owned()))?;
            match required.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, count)) => *count += 1,
                None => required.push((kind, 1)),
            }
        }
        // A requirement above capacity could never be met, so every unit would close incomplete.
        if let Some(&(kind, count)) = required.iter().find(|(k, n)| *n > capacity(*k)) {
            return Err(ProfileError::TooMany {
                kind,
                count,
                capacity: capacity(kind),
            });
        }
        Ok(Profile { required })
    }

    /// Writes the spec back in the form [`Profile::parse`] reads.
    pub fn to_spec(&self) -> String {
        let mut out = String::new();
        for &(kind, count) in &self.required {
            for _ in 0..count {
                if !out.is_empty() {
                    out.push('+');
                }
                out.push_str(kind.as_str());
            }
        }
        out
    }

    /// How many values of `kind` a complete unit holds (0 when the profile does not ask for it).
    pub fn wanted(&self, kind: IdKind) -> usize {
        self.required
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, n)| *n)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_default_spec() {
        let p = Profile::parse("serial+imei+imei").expect("valid spec");
        assert_eq!(p, Profile::default());
        assert_eq!(p.to_spec(), "serial+imei+imei");
        assert_eq!(p.wanted(IdKind::Imei), 2);
        assert_eq!(p.wanted(IdKind::Eid), 0);
    }

    #[test]
    fn parses_case_and_spaces_and_round_trips() {
        let p = Profile::parse(" Serial + EID + imei ").expect("valid spec");
        assert_eq!(
            p.required,
            vec![(IdKind::Serial, 1), (IdKind::Eid, 1), (IdKind::Imei, 1)]
        );
        assert_eq!(p.to_spec(), "serial+eid+imei");
        assert_eq!(Profile::parse(&p.to_spec()), Ok(p));
    }

    #[test]
    fn rejects_unknown_kinds_by_name() {
        let err = Profile::parse("serial+imsi").expect_err("imsi is not a kind");
        assert_eq!(err, ProfileError::UnknownKind("imsi".to_owned()));
        assert!(err.to_string().contains("\"imsi\""), "{err}");
        assert_eq!(
            Profile::parse("serial++imei"),
            Err(ProfileError::UnknownKind(String::new()))
        );
        assert_eq!(Profile::parse("  "), Err(ProfileError::Empty));
    }

    #[test]
    fn rejects_more_than_capacity() {
        let err = Profile::parse("imei+imei+imei").expect_err("three IMEIs never fit");
        assert_eq!(
            err,
            ProfileError::TooMany {
                kind: IdKind::Imei,
                count: 3,
                capacity: 2
            }
        );
        assert_eq!(
            err.to_string(),
            "profile asks for 3 imei values but a unit holds at most 2"
        );
        assert!(Profile::parse("serial+serial").is_err());
    }

    #[test]
    fn capacity_is_two_for_imei_only() {
        assert_eq!(capacity(IdKind::Imei), 2);
        for kind in [
            IdKind::Serial,
            IdKind::Meid,
            IdKind::Esn,
            IdKind::Iccid,
            IdKind::Eid,
            IdKind::Gtin,
            IdKind::Part,
        ] {
            assert_eq!(capacity(kind), 1, "{kind:?}");
        }
    }
}
