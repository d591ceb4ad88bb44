//! Station control barcodes: `SCANSTATION:NEXT` and friends, printed on the desk card.

use std::fmt;

/// The prefix every control barcode starts with.
pub const PREFIX: &str = "SCANSTATION:";

/// The desk modes, as named in `SCANSTATION:MODE:...` barcodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Intake,
    Returns,
    Recall,
    Audit,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Intake, Mode::Returns, Mode::Recall, Mode::Audit];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Intake => "intake",
            Mode::Returns => "returns",
            Mode::Recall => "recall",
            Mode::Audit => "audit",
        }
    }

    /// Parses a mode name in any letter case.
    pub fn parse(name: &str) -> Option<Mode> {
        Mode::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Mode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A command carried by a control barcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Control {
    /// Close the unit being built now.
    Next,
    /// Drop the unit being built now.
    Cancel,
    /// Remove the last scan from the unit being built now.
    Undo,
    /// Switch the desk mode.
    Mode(Mode),
}

impl Control {
    /// Every control barcode, in the order the desk card prints them.
    pub fn all() -> Vec<Control> {
        let mut all = vec![Control::Next, Control::Cancel, Control::Undo];
        all.extend(Mode::ALL.into_iter().map(Control::Mode));
        all
    }

    /// Parses the text after [`PREFIX`].
    pub fn parse(command: &str) -> Option<Control> {
        match command {
            "NEXT" => Some(Control::Next),
            "CANCEL" => Some(Control::Cancel),
            "UNDO" => Some(Control::Undo),
            _ => command
                .strip_prefix("MODE:")
                .and_then(Mode::parse)
                .map(Control::Mode),
        }
    }

    /// What the card prints under the barcode.
    pub fn caption(self) -> String {
        match self {
            Control::Next => "NEXT UNIT: close the unit now".to_owned(),
            Control::Cancel => "CANCEL: drop the unit being scanned".to_owned(),
            Control::Undo => "UNDO: remove the last scan".to_owned(),
            Control::Mode(m) => format!("MODE {}", m.as_str().to_ascii_uppercase()),
        }
    }
}

impl fmt::Display for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Control::Next => write!(f, "{PREFIX}NEXT"),
            Control::Cancel => write!(f, "{PREFIX}CANCEL"),
            Control::Undo => write!(f, "{PREFIX}UNDO"),
            Control::Mode(m) => write!(f, "{PREFIX}MODE:{}", m.as_str().to_ascii_uppercase()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_control() {
        for control in Control::all() {
            let text = control.to_string();
            let command = text.strip_prefix(PREFIX).expect("prefix");
            assert_eq!(Control::parse(command), Some(control), "{text}");
        }
        assert_eq!(Control::parse("NOPE"), None);
        assert_eq!(Control::parse("MODE:SLEEP"), None);
    }
}
