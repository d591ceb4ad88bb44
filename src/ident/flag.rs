//! Flags: what a person should look at on a unit, with a stable code and a one-line reason.
//!
//! Pairing raises some (a conflict inside the unit, an invalid value), the store comparison
//! others (a duplicate of a stored unit), and `consistency` the rest (identifiers of two
//! brands). They are one type from the moment they are raised to the row that stores them, so
//! a code can never be spelt two ways.

use serde::{Deserialize, Serialize};

string_enum! {
    /// The stable code of a flag, as stored in unit rows and printed in events.
    pub enum FlagCode {
        /// The unit holds an identifier a stored unit also holds, with nothing contradicting.
        Duplicate = "duplicate",
        /// The unit and a stored unit share an identifier but disagree on another.
        Conflict = "conflict",
        /// A value on the unit failed validation (say an IMEI whose check digit fails).
        InvalidScan = "invalid_scan",
        /// The unit's two IMEIs have different TACs, which one device does not have.
        TacMismatch = "tac_mismatch",
        /// The station stopped before the unit was closed.
        Interrupted = "interrupted",
        /// More values of a kind were read than one unit can hold.
        OverCapacity = "over_capacity",
        /// The unit closed without everything the profile requires.
        Incomplete = "incomplete",
        /// IMEIs whose TACs name different brands.
        ImeiBrandMismatch = "imei_brand_mismatch",
        /// IMEIs whose TACs name different models of one brand.
        ImeiModelMismatch = "imei_model_mismatch",
        /// A serial whose shape belongs to another brand than the TAC's.
        SerialBrandMismatch = "serial_brand_mismatch",
        /// A GTIN whose company prefix belongs to another brand than the TAC's.
        GtinBrandMismatch = "gtin_brand_mismatch",
        /// An identifier the central server lists in a cross-desk conflict (the same IMEI or
        /// serial on units at two desks that cannot be one device).
        CrossDeskConflict = "cross_desk_conflict",
    }
}

impl FlagCode {
    /// The codes of `consistency`: identifiers of one unit that contradict each other, which
    /// every desk mode holds for a person (a relabelled or counterfeit box).
    pub fn is_consistency(self) -> bool {
        matches!(
            self,
            FlagCode::ImeiBrandMismatch
                | FlagCode::ImeiModelMismatch
                | FlagCode::SerialBrandMismatch
                | FlagCode::GtinBrandMismatch
        )
    }
}

/// Something a person should look at: a stable code and a one-line message saying why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    pub code: FlagCode,
    pub message: String,
}

impl Flag {
    pub fn new(code: FlagCode, message: impl Into<String>) -> Flag {
        Flag {
            code,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_their_names_and_json() {
        for &code in FlagCode::ALL {
            assert_eq!(FlagCode::parse(code.as_str()), Some(code));
            let json = serde_json::to_string(&Flag::new(code, "why")).expect("serialise");
            let back: Flag = serde_json::from_str(&json).expect("parse");
            assert_eq!(back.code, code);
        }
        assert!(serde_json::from_str::<Flag>(r#"{"code":"nonsense","message":""}"#).is_err());
    }
}
