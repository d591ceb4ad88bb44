//! AIM symbology identifiers (ISO/IEC 15424): the `]Cm` prefix a scanner or decoder puts before the data.
//!
//! The prefix tells the station which symbology was read and whether the data is a GS1 element string,
//! so the classifier can resolve ambiguous strings from context instead of guessing.

use std::fmt;

/// The symbology family named by an AIM identifier's code character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Symbology {
    Code39,
    Code128,
    DataMatrix,
    Qr,
    /// EAN-13, EAN-8, UPC-A and UPC-E all share the `E` code character.
    EanUpc,
    Itf,
    Pdf417,
    DataBar,
    Aztec,
    Codabar,
    Code93,
    Other,
}

/// A parsed AIM identifier such as `]C1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Aim {
    pub code: u8,
    pub modifier: u8,
}

impl Aim {
    /// Builds an identifier from its two characters, rejecting anything that is not ASCII alphanumeric.
    pub fn new(code: u8, modifier: u8) -> Option<Aim> {
        (code.is_ascii_alphabetic() && modifier.is_ascii_alphanumeric())
            .then_some(Aim { code, modifier })
    }

    /// Parses `]Cm` text (exactly three characters).
    pub fn parse(text: &str) -> Option<Aim> {
        match text.as_bytes() {
            [b']', code, modifier] => Aim::new(*code, *modifier),
            _ => None,
        }
    }

    pub fn symbology(self) -> Symbology {
        match self.code {
            b'A' => Symbology::Code39,
            b'C' => Symbology::Code128,
            b'd' => Symbology::DataMatrix,
            b'Q' => Symbology::Qr,
            b'E' => Symbology::EanUpc,
            b'I' => Symbology::Itf,
            b'L' => Symbology::Pdf417,
            b'e' => Symbology::DataBar,
            b'z' => Symbology::Aztec,
            b'F' => Symbology::Codabar,
            b'G' => Symbology::Code93,
            _ => Symbology::Other,
        }
    }

    /// True when the identifier says the data is a GS1 element string (FNC1 in first position).
    pub fn is_gs1(self) -> bool {
        matches!(
            (self.code, self.modifier),
            (b'C', b'1') | (b'd', b'2') | (b'Q', b'3') | (b'e', b'0') | (b'J', b'1') | (b'z', b'1')
        )
    }
}

impl fmt::Display for Aim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "]{}{}", self.code as char, self.modifier as char)
    }
}

/// Splits a leading AIM identifier off `text`, if there is one.
pub fn split_aim(text: &str) -> (Option<Aim>, &str) {
    match text.as_bytes() {
        [b']', code, modifier, ..] => match Aim::new(*code, *modifier) {
            // The three prefix bytes are ASCII, so slicing at 3 is on a char boundary.
            Some(aim) => (Some(aim), text.get(3..).unwrap_or("")),
            None => (None, text),
        },
        _ => (None, text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_known_prefixes() {
        let (aim, rest) = split_aim("]C10109506000134352");
        let aim = aim.expect("prefix");
        assert!(aim.is_gs1());
        assert_eq!(aim.symbology(), Symbology::Code128);
        assert_eq!(rest, "0109506000134352");
        assert_eq!(aim.to_string(), "]C1");
        assert!(Aim::parse("]d2").is_some_and(Aim::is_gs1));
        assert!(Aim::parse("]Q3").is_some_and(Aim::is_gs1));
        assert!(!Aim::parse("]C0").is_some_and(Aim::is_gs1));
    }

    #[test]
    fn leaves_non_prefixes_alone() {
        assert_eq!(split_aim("]"), (None, "]"));
        assert_eq!(split_aim("]é1"), (None, "]é1"));
        assert_eq!(split_aim("ABC"), (None, "ABC"));
    }
}
